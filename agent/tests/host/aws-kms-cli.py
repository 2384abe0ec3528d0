#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: the aurora CLI with `provider = aws` against moto's KMS server
(127.0.0.1:<free port>, started and stopped here).  `aurora format` writes a
volume image whose DEK moto generated; the header path of `aurora open`
(read header, Decrypt bound to the volume's encryption context, CMK check)
runs through aws_volume_driver.c, which takes the provider from the same
configuration file; boto3 cross-checks the wrapped DEK.  Device-mapper is
not needed (the guest tests cover the mapping).  Flat KTAP on stdout.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_hostlib as H  # noqa: E402

PLAN = 16


def build_volume_driver(tmp):
    lib = os.path.join(H.AGENT, "libaurora.a")
    if not os.path.exists(lib):
        sys.stderr.write(f"{lib} missing: run make in agent/ first\n")
        return None
    exe = os.path.join(tmp, "aws_volume_driver")
    cmd = [os.environ.get("CC", "gcc")] + H.CFLAGS + H.INCLUDES + ["-o", exe,
           os.path.join(H.HERE, "aws_volume_driver.c"), lib,
           "-ldevmapper", "-lkeyutils", "-ljson-c", "-lcurl", "-lcrypto", "-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(" ".join(cmd) + "\n" + r.stderr)
        return None
    return exe


def parse(text):
    d = {"ctx": {}}
    for line in text.splitlines():
        if line.startswith("ctx="):
            k, _, v = line[4:].partition("=")
            d["ctx"][k] = v
            continue
        for tok in line.split():
            k, _, v = tok.partition("=")
            d[k] = v
    return d


def main():
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        print("1..0 # SKIP boto3 or moto not installed")
        return 0
    t = H.Ktap(PLAN)
    tmp = tempfile.mkdtemp(prefix="aur-aws-cli-")
    port = H.free_port()
    url = f"http://127.0.0.1:{port}"
    cli = None
    for c in (os.environ.get("AURORA_BIN"), os.environ.get("AURORA_PLAIN_BIN"),
              os.path.join(H.AGENT, "aurora")):
        if c and os.access(c, os.X_OK):
            cli = c
            break
    srv = H.MotoServer(tmp, port)
    try:
        drv = build_volume_driver(tmp)
        t.check(cli is not None and drv is not None,
                f"aurora CLI ({cli}) and the volume driver (libaurora.a) are built")
        up = srv.wait_up()
        t.check(up, f"moto server up on 127.0.0.1:{port}")
        if not cli or not drv or not up:
            return t.finish()
        for k in H.PROXY_VARS:
            os.environ.pop(k, None)
        kms = boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        k1 = kms.create_key(Description="aurora CLI test")["KeyMetadata"]
        kms.create_alias(AliasName="alias/aurora-cli", TargetKeyId=k1["KeyId"])

        conf = os.path.join(tmp, "aurora.conf")
        with open(conf, "w") as f:
            f.write(f"provider = aws\naccount = 123456789012\nregion = us-east-1\n"
                    f"endpoint = {url}\nconnect_timeout = 2\ntimeout = 5\n")
        env = H.clean_env(HOME=tmp, AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="SECRETXYZ-cli-test",
                          AURORA_CONF=conf)
        img = os.path.join(tmp, "vol.img")
        with open(img, "wb") as f:
            f.truncate(16 << 20)

        def run(args, e=env):
            return subprocess.run([cli, "--config", conf] + args, capture_output=True,
                                  text=True, env=e, timeout=120)

        r = run(["-v", "format", img, "--kms-key-id", "alias/aurora-cli", "--yes"])
        t.check(r.returncode == 0 and k1["Arn"] in r.stdout + r.stderr,
                "aurora format through provider aws: DEK from moto, CMK ARN reported",
                r.stdout + r.stderr)
        t.check("SECRETXYZ" not in r.stdout + r.stderr,
                "the secret key does not appear in the CLI's verbose output")

        def drive(op):
            p = subprocess.run([drv, conf, img, op], capture_output=True, text=True,
                               env=env, timeout=120)
            d = parse(p.stdout)
            d["rc"] = p.returncode
            d["err"] = p.stderr
            return d

        d = drive("unwrap")
        t.check(d.get("provider") == "aws" and d.get("hdr_provider") == "aws" and
                d.get("cmk_arn") == k1["Arn"] and d.get("cmk_region") == "us-east-1",
                "header names provider aws, the CMK's ARN and region", d)
        t.check(d.get("result") == "OK" and d.get("plaintext_len") == "64" and
                d.get("arn") == k1["Arn"],
                "header path of open: Decrypt of the header's DEK with its context", d)
        t.check(d["ctx"].get("aurora:volume-uuid") == d.get("uuid"),
                "the DEK is bound to the volume's UUID", d["ctx"])
        try:
            g = kms.decrypt(CiphertextBlob=bytes.fromhex(d.get("wrapped", "")),
                            EncryptionContext=d["ctx"])
            got = (g["Plaintext"].hex(), g["KeyId"])
        except Exception as e:  # noqa: BLE001
            got = (repr(e), None)
        t.check(got == (d.get("plaintext"), k1["Arn"]),
                "boto3 unwraps the header's DEK to the same key", got)
        wrong = dict(d["ctx"])
        wrong["aurora:volume-uuid"] = "00000000-0000-0000-0000-000000000000"
        try:
            kms.decrypt(CiphertextBlob=bytes.fromhex(d.get("wrapped", "")),
                        EncryptionContext=wrong)
            bad = "decrypted"
        except kms.exceptions.InvalidCiphertextException:
            bad = "InvalidCiphertextException"
        except Exception as e:  # noqa: BLE001
            bad = repr(e)
        t.check(bad == "InvalidCiphertextException",
                "the DEK does not unwrap under another volume's context", bad)

        d = drive("check")
        t.check(d.get("verdict") == "OK", "CMK check through the provider: OK", d)
        kms.disable_key(KeyId=k1["KeyId"])
        d = drive("check")
        t.check(d.get("verdict") == "LOST", "CMK disabled: check says LOST (definitive)", d)
        kms.enable_key(KeyId=k1["KeyId"])
        d = drive("check")
        t.check(d.get("verdict") == "OK", "CMK enabled again: check says OK", d)

        img2 = os.path.join(tmp, "vol2.img")
        with open(img2, "wb") as f:
            f.truncate(16 << 20)
        r = run(["format", img2, "--kms-key-id", "alias/does-not-exist", "--yes"])
        t.check(r.returncode == 4 and "NotFoundException" in r.stdout + r.stderr,
                "format under a missing alias: exit 4 (KMS refused), NotFoundException",
                (r.returncode, r.stdout + r.stderr))
        t.check(open(img2, "rb").read(8) == b"\0" * 8, "and nothing was written to the image")

        dead = os.path.join(tmp, "dead.conf")
        with open(dead, "w") as f:
            f.write(f"provider = aws\naccount = 123456789012\nregion = us-east-1\n"
                    f"endpoint = http://127.0.0.1:{H.free_port()}\nconnect_timeout = 1\n"
                    f"timeout = 2\n")
        t0 = time.time()
        r = subprocess.run([cli, "--config", dead, "format", img2, "--kms-key-id",
                            "alias/aurora-cli", "--yes"], capture_output=True, text=True,
                           env=env, timeout=120)
        el = time.time() - t0
        t.check(r.returncode == 5 and el < 40,
                "KMS unreachable: exit 5 (unavailable, retry) within the retry budget",
                (r.returncode, el, r.stdout + r.stderr))
        # No credentials anywhere (the instance metadata service turned off:
        # the test host's link-local address is not an EC2 one).  The chain
        # is tried at each call, so this is the call's CredentialsError
        # (exit 10 once the CLI maps it to AUR_EXIT_CONFIG, 5 until then):
        # never a KMS refusal (4), never anything written.
        r = run(["format", img2, "--kms-key-id", "alias/aurora-cli", "--yes"],
                e=H.clean_env(HOME=tmp, AWS_EC2_METADATA_DISABLED="true"))
        t.check(r.returncode not in (0, 4, 6) and "CredentialsError" in r.stderr and
                "no AWS credentials" in r.stderr,
                "no credentials: CredentialsError naming the sources, never a KMS refusal",
                (r.returncode, r.stdout + r.stderr))
        return t.finish()
    finally:
        srv.stop()
        H.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
