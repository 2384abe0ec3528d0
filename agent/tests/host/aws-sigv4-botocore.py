#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: aurora's SigV4 signer (agent/lib/kms/aws/sigv4.c, URL split by
agent/lib/kms/aws/http.c) against botocore's SigV4Auth, which nobody here wrote.

Builds aws_sigv4_driver.c, feeds it generated requests (methods, paths with
dot segments and escapes, query strings, headers with odd spacing and
repeated names, unsigned headers, empty and non-empty bodies, with and
without session token, fixed timestamps) and compares the canonical request,
string to sign, signature and Authorization value with botocore's.
Flat KTAP on stdout; exit status 1 on any mismatch.
"""
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.normpath(os.path.join(HERE, "..", ".."))
LIB = os.path.join(AGENT, "lib")

try:
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    print("1..0 # SKIP botocore not installed")
    sys.exit(0)

CFLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-Wformat=2", "-Wshadow",
          "-D_FORTIFY_SOURCE=2", "-O1", "-g", "-fsanitize=address,undefined",
          "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined"]


def build(tmp):
    exe = os.path.join(tmp, "sigv4_driver")
    cc = os.environ.get("CC", "gcc")
    srcs = [os.path.join(HERE, "aws_sigv4_driver.c")] + [
        os.path.join(LIB, f) for f in ("kms/aws/sigv4.c", "kms/aws/http.c", "util/secmem.c")]
    cmd = [cc] + CFLAGS + ["-I", os.path.join(AGENT, "include"), "-I", LIB,
                        "-I", os.path.join(AGENT, "..", "include"), "-o", exe] + srcs + [
        "-ljson-c", "-lcurl", "-lcrypto", "-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(r.stderr)
        return None
    return exe


class Recorder(SigV4Auth):
    def string_to_sign(self, request, canonical_request):
        self.cr = canonical_request
        self.sts = super().string_to_sign(request, canonical_request)
        return self.sts

    def signature(self, string_to_sign, request):
        self.sig = super().signature(string_to_sign, request)
        return self.sig


def botocore_sign(spec):
    ts = datetime.datetime.strptime(spec["amz_date"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *a, **k: ts
    body = bytes.fromhex(spec["body_hex"])
    req = AWSRequest(method=spec["method"], url=spec["url"], data=body)
    for name, value in spec["headers"]:
        req.headers[name] = value        # appends: repeated names kept
    creds = Credentials(spec["access_key"], spec["secret_key"], spec["token"])
    auth = Recorder(creds, spec["service"], spec["region"])
    auth.add_auth(req)
    return {"canonical_request": auth.cr, "string_to_sign": auth.sts,
            "signature": auth.sig, "authorization": req.headers["Authorization"]}


METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "post", "Get"]
HOSTS = [("https", "kms.us-east-1.amazonaws.com"),
         ("https", "KMS.eu-west-1.AmazonAWS.com"),
         ("http", "127.0.0.1:4566"), ("http", "localhost:8080"),
         ("https", "example.com:443"), ("http", "example.com:80"),
         ("https", "example.com:80"), ("http", "Example.Amazon.COM"),
         ("https", "[::1]:8443"), ("https", "kms-fips.us-gov-west-1.amazonaws.com")]
PATHS = ["", "/", "/a/b", "/a/./b/../c", "//double//slash/", "/%20encoded",
         "/a%2Fb", "/unicode%C3%A9", "/~tilde/x-y_z.w", "/a+b=c", "/trailing/",
         "/..", "/a/b/..", "/a/b/../", "/!$'()*,;:@", "/./", "/a/../../b",
         "/x/%7E/%2e%2e/y", "/UPPER/lower/09"]
QUERIES = ["", "a=1", "b=2&a=1", "a=2&a=1", "flag", "x=&y", "k=v%20w",
           "Action=ListUsers&Version=2010-05-08", "z=1&A=2&a=3", "a=b=c",
           "a&&b", "Param2=value2&Param1=value1", "%41=1&A=2", "q=%2B%2f"]
HNAMES = ["Content-Type", "X-Amz-Target", "X-Custom", "x-custom", "X-CUSTOM",
          "My-Header1", "User-Agent", "Expect", "X-Amz-Date", "Authorization",
          "X-Amz-Security-Token", "Host", "Transfer-Encoding", "X-Amzn-Trace-Id",
          "Connection", "Keep-Alive", "x-amz-meta-Odd", "Content-Length",
          "X-Amz-Content-SHA256", "Accept"]
HVALUES = ["value", "  leading", "trailing  ", "in   between   spaces",
           "tabs\tand\t\tmore", "", "   ", "a,b", "application/x-amz-json-1.1",
           "TrentService.Decrypt", "Mixed Case Value", " x  y\t z ",
           "\"quoted  string\"", "sub.example.com:9000", "12345"]
BODIES = [b"", b"{}", b'{"KeyId":"alias/aurora","NumberOfBytes":64}',
          b"Action=ListUsers&Version=2010-05-08", bytes(range(256)),
          b"\x00\x01\x02", b" " * 3000]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"]
SERVICES = ["kms", "kms", "kms", "iam", "service"]
TOKENS = [None, None, "", "FwoGZXIvYXdzEJr//////////wEaDAZkLAMQ+bdlCDQ2pZ/token==",
          "IQoJb3JpZ2luX2VjEA0aCXVzLWVhc3QtMSJHMEUCIQ" * 8]


def fixed_specs():
    base = {"access_key": "AKIDEXAMPLE",
            "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "token": None, "amz_date": "20150830T123600Z",
            "region": "us-east-1", "service": "service", "body_hex": ""}
    yield dict(base, method="GET", url="https://example.amazonaws.com/",
               headers=[])
    yield dict(base, method="GET", url="https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
               service="iam",
               headers=[["Content-Type", "application/x-www-form-urlencoded; charset=utf-8"]])
    yield dict(base, method="POST", url="https://kms.us-east-1.amazonaws.com/",
               service="kms", token="session-token-example",
               body_hex=b'{"KeyId":"alias/aurora"}'.hex(),
               headers=[["Content-Type", "application/x-amz-json-1.1"],
                        ["X-Amz-Target", "TrentService.DescribeKey"]])


def random_specs(rng, n):
    for _ in range(n):
        scheme, host = rng.choice(HOSTS)
        url = f"{scheme}://{host}{rng.choice(PATHS)}"
        q = rng.choice(QUERIES)
        if q:
            url += "?" + q
        hdrs = [[rng.choice(HNAMES), rng.choice(HVALUES)]
                for _ in range(rng.randint(0, 7))]
        ts = datetime.datetime(2000, 1, 1) + datetime.timedelta(
            seconds=rng.randint(0, 35 * 365 * 86400))
        secret = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+")
                         for _ in range(40))
        yield {"method": rng.choice(METHODS), "url": url, "headers": hdrs,
               "body_hex": rng.choice(BODIES).hex(),
               "region": rng.choice(REGIONS), "service": rng.choice(SERVICES),
               "access_key": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
               "secret_key": secret, "token": rng.choice(TOKENS),
               "amz_date": ts.strftime("%Y%m%dT%H%M%SZ")}


def main():
    seed = int(os.environ.get("AUR_SIGV4_SEED", "20261129"))
    count = int(os.environ.get("AUR_SIGV4_COUNT", "400"))
    rng = random.Random(seed)
    specs = list(fixed_specs()) + list(random_specs(rng, count))
    tmp = tempfile.mkdtemp(prefix="aur-sigv4-")
    try:
        exe = build(tmp)
        print(f"1..{len(specs) + 1}")
        if not exe:
            print("not ok 1 - build the C signer driver")
            return 1
        print("ok 1 - build the C signer driver")
        inp = "".join(json.dumps(s) + "\n" for s in specs)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:halt_on_error=1",
                   UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        r = subprocess.run([exe], input=inp, capture_output=True, text=True, env=env)
        outs = r.stdout.splitlines()
        failed = 0
        for i, spec in enumerate(specs):
            n = i + 2
            desc = f"{spec['method']} {spec['url']} ({len(spec['headers'])} headers, " \
                   f"body {len(spec['body_hex']) // 2}, token {'yes' if spec['token'] else 'no'})"
            want = botocore_sign(spec)
            try:
                got = json.loads(outs[i])
            except (IndexError, ValueError):
                got = {"error": "no output"}
            bad = [k for k in want if got.get(k) != want[k]]
            if bad:
                failed += 1
                print(f"not ok {n} - {desc}")
                for k in bad:
                    print(f"# {k}: want {want[k]!r}")
                    print(f"# {k}: got  {got.get(k, got.get('error'))!r}")
            else:
                print(f"ok {n} - {desc}")
        if r.returncode:
            print(f"# driver exit status {r.returncode}: {r.stderr.strip()}")
            return 1
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
