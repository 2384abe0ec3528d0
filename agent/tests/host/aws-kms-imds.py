#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: the AWS provider's credentials chain and region routing (issue
16), against moto with request authentication on (every request's SigV4
signature is checked against the IAM user's secret, see aws-kms-moto-auth.py)
and a small instance metadata service stand-in (IMDSv2) on 127.0.0.1:
  - IMDSv2: a token is fetched first (PUT with the TTL header) and every GET
    carries it (the stand-in refuses GETs without it); the role's
    credentials sign requests moto accepts;
  - credentials far from expiry are fetched once per provider; credentials
    within 5 minutes of expiry (or expired) are fetched again for every call;
  - the environment comes before the instance metadata;
  - AWS_EC2_METADATA_DISABLED=true, or no metadata service: CredentialsError
    at once, never definitive;
  - a refused signature (moto's XML 403) is CredentialsError naming where the
    credentials came from;
  - a key ARN of another region than the configured one is signed for the
    ARN's region (moto keeps keys per region, selected by the signing
    region: without routing the key is NotFound).
Flat KTAP on stdout, exit 1 on any failure.
"""
import datetime
import http.server
import json
import os
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_hostlib as H  # noqa: E402

PLAN = 18
SETUP_CALLS = 5     # unauthenticated calls moto allows for the IAM setup


class Imds:
    lock = threading.Lock()
    creds = {}          # AccessKeyId, SecretAccessKey
    expires_in = 3600
    tokens = set()
    puts = 0
    role_gets = 0
    cred_gets = 0
    untokened = 0


class ImdsHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body):
        b = body.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_PUT(self):
        if self.path != "/latest/api/token" or \
                not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.send(400, "missing TTL")
        with Imds.lock:
            Imds.puts += 1
            tok = f"imds-token-{Imds.puts}"
            Imds.tokens.add(tok)
        self.send(200, tok)

    def do_GET(self):
        with Imds.lock:
            if self.headers.get("X-aws-ec2-metadata-token") not in Imds.tokens:
                Imds.untokened += 1
                return self.send(401, "")
            base = "/latest/meta-data/iam/security-credentials/"
            if self.path == base:
                Imds.role_gets += 1
                return self.send(200, "aurora-role")
            if self.path == base + "aurora-role":
                Imds.cred_gets += 1
                exp = datetime.datetime.now(datetime.timezone.utc) + \
                    datetime.timedelta(seconds=Imds.expires_in)
                return self.send(200, json.dumps({
                    "Code": "Success", "Type": "AWS-HMAC",
                    "LastUpdated": "2026-01-01T00:00:00Z",
                    "AccessKeyId": Imds.creds["AccessKeyId"],
                    "SecretAccessKey": Imds.creds["SecretAccessKey"],
                    "Token": Imds.creds["Token"],
                    "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ")}))
        self.send(404, "")


def reset(expires_in, creds):
    with Imds.lock:
        Imds.expires_in = expires_in
        Imds.creds = creds
        Imds.puts = Imds.role_gets = Imds.cred_gets = Imds.untokened = 0


def main():
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        print("1..0 # SKIP boto3 or moto not installed")
        return 0
    t = H.Ktap(PLAN)
    tmp = tempfile.mkdtemp(prefix="aur-aws-imds-")
    port = H.free_port()
    url = f"http://127.0.0.1:{port}"
    srv = H.MotoServer(tmp, port, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS))
    imds = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ImdsHandler)
    imds_url = f"http://127.0.0.1:{imds.server_address[1]}"
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    try:
        exe = H.build_driver(tmp)
        up = srv.wait_up()
        t.check(exe is not None and up, "driver built, moto (auth on) and IMDS stand-in up")
        if not exe or not up:
            return t.finish()
        for k in H.PROXY_VARS:
            os.environ.pop(k, None)
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        pol = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": ["kms:*", "sts:AssumeRole"],
                              "Resource": "*"}]}
        trust = {"Version": "2012-10-17",
                 "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                "Principal": {"AWS": "*"}}]}
        iam.create_user(UserName="aurora")                                 # 1
        ka = iam.create_access_key(UserName="aurora")["AccessKey"]         # 2
        iam.put_user_policy(UserName="aurora", PolicyName="kms",
                            PolicyDocument=json.dumps(pol))                # 3
        role = iam.create_role(RoleName="aurora-role",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]  # 4
        iam.put_role_policy(RoleName="aurora-role", PolicyName="kms",
                            PolicyDocument=json.dumps(pol))                # 5
        kms = boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=ka["AccessKeyId"],
                           aws_secret_access_key=ka["SecretAccessKey"])
        k1 = kms.create_key(Description="imds test")["KeyMetadata"]
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=ka["AccessKeyId"],
                           aws_secret_access_key=ka["SecretAccessKey"])
        rc = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="i-0aurora")["Credentials"]
        # The instance role's temporary credentials, as IMDS serves them.
        good = {"AccessKeyId": rc["AccessKeyId"], "SecretAccessKey": rc["SecretAccessKey"],
                "Token": rc["SessionToken"]}

        home = os.path.join(tmp, "home")
        os.mkdir(home)
        env = H.clean_env(HOME=home, AWS_EC2_METADATA_SERVICE_ENDPOINT=imds_url)
        opts = {"endpoint_url": url, "region": "us-east-1", "max_attempts": "2",
                "retry_base_ms": "10"}
        d = H.Driver(exe, opts, env)

        reset(3600, good)
        r = d.run("describe-n", 3, k1["KeyId"])
        t.check(r.get("result") == "OK" and r.get("ok") == "3",
                "3 DescribeKey calls signed with the instance role's credentials: moto accepts",
                r)
        t.check(Imds.puts >= 1 and Imds.untokened == 0,
                "IMDSv2: a token first (PUT with the TTL header), every GET carries it",
                vars(Imds))
        t.check(Imds.cred_gets == 1,
                f"credentials valid for an hour: fetched once for 3 calls ({Imds.cred_gets})")

        reset(120, good)
        r = d.run("describe-n", 3, k1["KeyId"])
        t.check(r.get("result") == "OK" and Imds.cred_gets == 3,
                f"credentials within 5 min of expiry: fetched again for every call "
                f"({Imds.cred_gets})", r)
        reset(-60, good)
        r = d.run("describe-n", 2, k1["KeyId"])
        t.check(Imds.cred_gets == 2,
                f"expired credentials are never reused ({Imds.cred_gets} fetches)", r)

        reset(3600, good)
        r = d.run("describe", k1["KeyId"],
                  env=dict(env, AWS_ACCESS_KEY_ID=ka["AccessKeyId"],
                           AWS_SECRET_ACCESS_KEY=ka["SecretAccessKey"]))
        t.check(r.get("result") == "OK" and Imds.puts == 0 and Imds.cred_gets == 0,
                "the environment's credentials come first: the metadata service is not asked",
                r)
        cfgfile = os.path.join(tmp, "config")
        with open(cfgfile, "w") as f:
            f.write(f"[default]\naws_access_key_id = {ka['AccessKeyId']}\n"
                    f"aws_secret_access_key = {ka['SecretAccessKey']}\n")
        r = d.run("describe", k1["KeyId"], env=dict(env, AWS_CONFIG_FILE=cfgfile))
        t.check(r.get("result") == "OK" and Imds.cred_gets == 0,
                "the shared config file's [default] keys come before the metadata service", r)

        r = d.run("describe", k1["KeyId"], env=dict(env, AWS_EC2_METADATA_DISABLED="true"))
        t.check(r.get("result") == "CredentialsError" and r.get("definitive") == "0" and
                Imds.puts == 0, "AWS_EC2_METADATA_DISABLED=true: CredentialsError, not asked", r)
        t0 = time.time()
        r = d.run("describe", k1["KeyId"],
                  env=dict(env, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{H.free_port()}"))
        el = time.time() - t0
        t.check(r.get("result") == "CredentialsError" and r.get("definitive") == "0" and
                r.get("attempts") == "0" and el < 10,
                f"no metadata service: CredentialsError, no KMS request ({el:.1f}s)", r)

        reset(3600, dict(good, SecretAccessKey=good["SecretAccessKey"][:-1] + "x"))
        r = d.run("describe", k1["KeyId"])
        t.check(r.get("result") == "CredentialsError" and r.get("definitive") == "0" and
                r.get("http") == "403" and "instance-metadata:aurora-role" in r.get("message", "")
                and "not an answer about the CMK" in r.get("message", ""),
                "a refused signature: CredentialsError naming the credentials' source", r)
        r = d.run("describe", k1["KeyId"],
                  env=dict(env, AWS_ACCESS_KEY_ID="AKIANOSUCHKEY0000000",
                           AWS_SECRET_ACCESS_KEY="x"))
        t.check(r.get("result") == "CredentialsError" and "environment" in r.get("message", ""),
                "an unknown access key: CredentialsError, credentials from the environment", r)

        # Region routing: moto keeps keys per region, chosen by the signing region.
        reset(3600, good)
        ropts = dict(opts, region="eu-west-1")
        r = d.run("describe", k1["Arn"], opts=ropts)
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"] and
                r.get("region") == "us-east-1",
                "config region eu-west-1, key ARN in us-east-1: signed for us-east-1, found", r)
        r = d.run("describe", k1["KeyId"], opts=ropts)
        t.check(r.get("result") == "NotFoundException",
                "a bare key id goes to the configured region (eu-west-1): not there", r)
        blob = os.path.join(tmp, "blob")
        r = d.run("generate", k1["Arn"], 64, "aurora:volume-uuid=u1", blob, opts=ropts)
        t.check(r.get("result") == "OK", "GenerateDataKey by ARN across regions", r)
        r = d.run("decrypt", k1["Arn"], "aurora:volume-uuid=u1", blob, opts=ropts)
        t.check(r.get("result") == "OK", "Decrypt by ARN across regions", r)
        kw = boto3.client("kms", endpoint_url=url, region_name="eu-west-1",
                          aws_access_key_id=ka["AccessKeyId"],
                          aws_secret_access_key=ka["SecretAccessKey"])
        k2 = kw.create_key(Description="eu")["KeyMetadata"]
        r = d.run("describe", k2["Arn"])
        t.check(r.get("result") == "OK" and r.get("region") == "eu-west-1",
                "config region us-east-1, key ARN in eu-west-1: found", r)
        r = d.run("via-config", "ap-south-1", url, "describe", k1["Arn"], env=dict(
            env, AWS_ACCESS_KEY_ID=ka["AccessKeyId"], AWS_SECRET_ACCESS_KEY=ka["SecretAccessKey"]))
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"],
                "through aurora.conf (region ap-south-1, endpoint): the ARN's region still wins", r)
        return t.finish()
    finally:
        imds.shutdown()
        srv.stop()
        H.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
