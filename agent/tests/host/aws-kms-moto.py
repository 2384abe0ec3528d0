#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: the AWS KMS provider (agent/lib/kms/aws/client.c) against moto's KMS
server, which nobody here wrote.  moto runs on 127.0.0.1:<free port>,
started and stopped by this test; keys and aliases are made with boto3;
blobs are cross-checked with boto3 in both directions.  Plain http:// is
used because the endpoint says so (the provider never downgrades https).

moto does not enforce key state on Decrypt or GenerateDataKey: disabled
and pending-deletion keys are checked through DescribeKey only.  Flat KTAP on stdout, exit 1 on any failure.
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_hostlib as H  # noqa: E402

PLAN = 44


def main():
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        print("1..0 # SKIP boto3 or moto not installed")
        return 0
    t = H.Ktap(PLAN)
    tmp = tempfile.mkdtemp(prefix="aur-aws-moto-")
    port = H.free_port()
    url = f"http://127.0.0.1:{port}"
    env = H.clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_SESSION_TOKEN="testing-session-token",
                      HOME=tmp)
    srv = H.MotoServer(tmp, port)
    try:
        exe = H.build_driver(tmp)
        t.check(exe is not None, "build the provider test driver (ASan+UBSan)")
        up = srv.wait_up()
        t.check(up, f"moto server up on 127.0.0.1:{port}")
        if not exe or not up:
            return t.finish()

        for k in H.PROXY_VARS:
            os.environ.pop(k, None)
        kms = boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        k1 = kms.create_key(Description="aurora volume CMK")["KeyMetadata"]
        k2 = kms.create_key(Description="aurora destination CMK")["KeyMetadata"]
        k3 = kms.create_key(Description="to be deleted")["KeyMetadata"]
        kms.create_alias(AliasName="alias/aurora-test", TargetKeyId=k1["KeyId"])
        kms.create_alias(AliasName="alias/aurora-dst", TargetKeyId=k2["KeyId"])
        d = H.Driver(exe, {"endpoint_url": url, "region": "us-east-1",
                           "max_attempts": "2", "retry_base_ms": "10"}, env)

        # DescribeKey by id, alias name, key ARN, alias ARN.
        r = d.run("describe", k1["KeyId"])
        t.check(r["rc"] == 0 and r.get("result") == "OK", "DescribeKey by key id", r)
        t.check(r.get("arn") == k1["Arn"] and r.get("key_id") == k1["KeyId"],
                "DescribeKey: Arn and KeyId as boto3 sees them", r)
        t.check(r.get("account") == k1["AWSAccountId"] and r.get("region") == "us-east-1",
                "DescribeKey: account and region parsed from the ARN", r)
        t.check(r.get("state") == "Enabled" and r.get("enabled") == "1",
                "DescribeKey: Enabled key", r)
        t.check(r.get("creation") == str(int(k1["CreationDate"].timestamp())),
                "DescribeKey: CreationDate", r)
        r = d.run("describe", "alias/aurora-test")
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"],
                "DescribeKey by alias name", r)
        r = d.run("describe", k1["Arn"])
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"],
                "DescribeKey by key ARN", r)
        alias_arn = k1["Arn"].split(":key/")[0] + ":alias/aurora-test"
        r = d.run("describe", alias_arn)
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"],
                "DescribeKey by alias ARN", r)
        r = d.run("describe", "alias/no-such-alias")
        t.check(r.get("result") == "NotFoundException" and r.get("definitive") == "1"
                and r.get("attempts") == "1",
                "DescribeKey of a missing alias: NotFoundException, definitive, not retried", r)

        # GenerateDataKey with an encryption context.
        ctx = "volume=vol-0001,host=storage-7"
        ctx_d = {"volume": "vol-0001", "host": "storage-7"}
        b1 = os.path.join(tmp, "b1")
        r = d.run("generate", "alias/aurora-test", 64, ctx, b1)
        t.check(r.get("result") == "OK" and r.get("plaintext_len") == "64",
                "GenerateDataKey 64 bytes with EncryptionContext", r)
        pt = r.get("plaintext", "")
        t.check(r.get("arn") == k1["Arn"], "GenerateDataKey: KeyId is the CMK's ARN", r)
        blob1 = open(b1, "rb").read() if os.path.exists(b1) else b""
        try:
            got = kms.decrypt(CiphertextBlob=blob1, EncryptionContext=ctx_d)["Plaintext"].hex()
        except Exception as e:  # noqa: BLE001
            got = repr(e)
        t.check(got == pt and len(pt) == 128, "boto3 decrypts our wrapped DEK to the same key",
                f"boto3 {got[:20]}... ours {pt[:20]}...")

        # Decrypt.
        r = d.run("decrypt", "-", ctx, b1)
        t.check(r.get("result") == "OK" and r.get("plaintext") == pt,
                "Decrypt without KeyId returns the same DEK", r)
        r = d.run("decrypt", k1["Arn"], "host=storage-7,volume=vol-0001", b1)
        t.check(r.get("result") == "OK" and r.get("plaintext") == pt and r.get("arn") == k1["Arn"],
                "Decrypt with KeyId, context in another order", r)
        r = d.run("decrypt", "alias/aurora-test", ctx, b1)
        t.check(r.get("result") == "OK" and r.get("plaintext") == pt,
                "Decrypt naming the CMK by alias", r)
        r = d.run("decrypt", "-", "volume=vol-0002,host=storage-7", b1)
        t.check(r.get("result") == "InvalidCiphertextException" and r.get("definitive") == "1"
                and r.get("attempts") == "1",
                "Decrypt with the wrong context: InvalidCiphertextException, definitive, not retried", r)
        r = d.run("decrypt", "-", "-", b1)
        t.check(r.get("result") == "InvalidCiphertextException",
                "Decrypt without the context: InvalidCiphertextException", r)
        r = d.run("decrypt", k2["KeyId"], ctx, b1)
        t.check(r["rc"] == 3 and r.get("definitive") == "1" and r.get("attempts") == "1" and
                r.get("result") in ("IncorrectKeyException", "AccessDeniedException"),
                "Decrypt naming another CMK fails definitively (moto: AccessDenied, AWS: IncorrectKey)", r)
        bad = os.path.join(tmp, "bad")
        open(bad, "wb").write(b"\x01" * 100)
        r = d.run("decrypt", "-", ctx, bad)
        t.check(r["rc"] == 3 and r.get("transient") == "0",
                "Decrypt of garbage ciphertext fails, not as transient", r)

        # A blob boto3 made, unwrapped by us.
        g = kms.generate_data_key(KeyId="alias/aurora-test", NumberOfBytes=64,
                                  EncryptionContext={"volume": "vol-9"})
        b0 = os.path.join(tmp, "b0")
        open(b0, "wb").write(g["CiphertextBlob"])
        r = d.run("decrypt", "-", "volume=vol-9", b0)
        t.check(r.get("result") == "OK" and r.get("plaintext") == g["Plaintext"].hex(),
                "Decrypt of a blob boto3 generated", r)

        # ReEncrypt to another CMK and context.
        b2 = os.path.join(tmp, "b2")
        r = d.run("reencrypt", "-", ctx, b1, "alias/aurora-dst", "volume=vol-0001,copy=eu", b2)
        t.check(r.get("result") == "OK" and r.get("arn") == k2["Arn"],
                "ReEncrypt to another CMK: KeyId is the destination ARN", r)
        blob2 = open(b2, "rb").read() if os.path.exists(b2) else b""
        try:
            got = kms.decrypt(CiphertextBlob=blob2,
                              EncryptionContext={"volume": "vol-0001", "copy": "eu"})
            got = (got["Plaintext"].hex(), got["KeyId"])
        except Exception as e:  # noqa: BLE001
            got = (repr(e), None)
        t.check(got == (pt, k2["Arn"]), "boto3 unwraps the re-encrypted blob under the new CMK", got)
        r = d.run("decrypt", "-", "copy=eu,volume=vol-0001", b2)
        t.check(r.get("result") == "OK" and r.get("plaintext") == pt,
                "Decrypt of the re-encrypted blob returns the same DEK", r)
        r = d.run("reencrypt", k1["KeyId"], "volume=wrong", b1, "alias/aurora-dst", "-", b2)
        t.check(r.get("result") == "InvalidCiphertextException" and r.get("definitive") == "1",
                "ReEncrypt with the wrong source context: InvalidCiphertextException", r)

        # Encrypt (aurora copy): Decrypt here, Encrypt under a CMK of another region,
        # the request routed by the ARN's region.
        kw = boto3.client("kms", endpoint_url=url, region_name="eu-west-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        k4 = kw.create_key(Description="aurora copy CMK in eu-west-1")["KeyMetadata"]
        b4 = os.path.join(tmp, "b4")
        r = d.run("encrypt", ctx, b1, k4["Arn"], "volume=vol-0002,region=eu-west-1", b4)
        t.check(r.get("result") == "OK" and r.get("arn") == k4["Arn"],
                "Encrypt under a CMK of eu-west-1: KeyId is its ARN", r)
        blob4 = open(b4, "rb").read() if os.path.exists(b4) else b""
        try:
            got = kw.decrypt(CiphertextBlob=blob4,
                             EncryptionContext={"volume": "vol-0002", "region": "eu-west-1"})
            got = (got["Plaintext"].hex(), got["KeyId"])
        except Exception as e:  # noqa: BLE001
            got = (repr(e), None)
        t.check(got == (pt, k4["Arn"]), "boto3 in eu-west-1 unwraps the Encrypt blob to the DEK", got)
        try:
            kms.decrypt(CiphertextBlob=blob4,
                        EncryptionContext={"volume": "vol-0002", "region": "eu-west-1"})
            got = "decrypted in us-east-1"
        except Exception as e:  # noqa: BLE001
            got = type(e).__name__
        t.check(got != "decrypted in us-east-1", "the eu-west-1 blob is not usable in us-east-1", got)
        # (moto does not refuse Encrypt under a disabled key; a missing one it does.)
        gone = k4["Arn"].rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
        r = d.run("encrypt", ctx, b1, gone, "-", b4)
        t.check(r["rc"] == 3 and r.get("result") == "NotFoundException",
                "Encrypt under a missing CMK of eu-west-1: NotFoundException", r)

        # Key state through DescribeKey.
        kms.disable_key(KeyId=k1["KeyId"])
        r = d.run("describe", "alias/aurora-test")
        t.check(r.get("result") == "OK" and r.get("state") == "Disabled" and r.get("enabled") == "0",
                "DescribeKey reports the disabled key", r)
        kms.enable_key(KeyId=k1["KeyId"])
        r = d.run("describe", "alias/aurora-test")
        t.check(r.get("state") == "Enabled" and r.get("enabled") == "1",
                "DescribeKey reports the key enabled again", r)
        dd = kms.schedule_key_deletion(KeyId=k3["KeyId"], PendingWindowInDays=7)["DeletionDate"]
        r = d.run("describe", k3["KeyId"])
        t.check(r.get("state") == "PendingDeletion" and r.get("enabled") == "0",
                "DescribeKey reports PendingDeletion", r)
        t.check(r.get("deletion") == str(int(dd.timestamp())),
                "DescribeKey: DeletionDate as boto3 sees it", (r, int(dd.timestamp())))

        # Sizes.
        r = d.run("generate", "alias/aurora-test", 32, "-", os.path.join(tmp, "b4"))
        t.check(r.get("result") == "OK" and r.get("plaintext_len") == "32",
                "GenerateDataKey 32 bytes, no context", r)
        r = d.run("generate", "alias/aurora-test", 0, "-", os.path.join(tmp, "b5"))
        t.check(r.get("result") == "ValidationException" and r.get("attempts") == "0",
                "GenerateDataKey 0 bytes refused locally", r)

        # Configuration paths.
        r = d.run("via-config", "us-east-1", url, "describe", "alias/aurora-test")
        t.check(r.get("result") == "OK" and r.get("provider") == "aws" and
                r.get("key_id") == k1["KeyId"],
                "aur_kms_aws_new(struct aur_config) entry point works", r)
        creds = os.path.join(tmp, "credentials")
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = x\n\n"
                    "# comment\n[aurora]\n  aws_access_key_id=AKIAURORA  \n"
                    "aws_secret_access_key = secret/with+chars\n")
        fenv = H.clean_env(HOME=tmp, AWS_SHARED_CREDENTIALS_FILE=creds)
        r = d.run("describe", "alias/aurora-test",
                  opts=dict(d.opts, profile="aurora"), env=fenv)
        t.check(r.get("result") == "OK", "credentials from a shared credentials file profile", r)
        r = d.run("describe", "alias/aurora-test", env=H.clean_env(HOME=tmp, AWS_PROFILE="aurora",
                  AWS_SHARED_CREDENTIALS_FILE=creds))
        t.check(r.get("result") == "OK", "profile from AWS_PROFILE", r)
        # Credentials are loaded for every call (they may appear or rotate):
        # none anywhere is the call's CredentialsError, no request sent.
        r = d.run("describe", "alias/aurora-test",
                  env=H.clean_env(HOME=tmp, AWS_EC2_METADATA_DISABLED="true"))
        t.check(r["rc"] == 3 and r.get("result") == "CredentialsError" and
                r.get("definitive") == "0" and r.get("attempts") == "0"
                and "secret" not in r.get("message", "").lower().replace("aws_secret_access_key", ""),
                "no credentials: CredentialsError at the call, no request, not definitive", r)
        r = d.run("describe", "alias/aurora-test",
                  opts=dict(d.opts, profile="missing"), env=fenv)
        t.check(r["rc"] == 3 and "missing" in r.get("message", ""),
                "a missing profile is named in the error", r)
        r = d.run("describe", "alias/aurora-test", env=H.clean_env(
            HOME=tmp, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
            AWS_ENDPOINT_URL_KMS=url, AWS_REGION="us-east-1"), opts={})
        t.check(r.get("result") == "OK" and r.get("endpoint") == url,
                "region and endpoint from AWS_REGION and AWS_ENDPOINT_URL_KMS", r)
        r = d.run("describe", "alias/aurora-test", opts=dict(d.opts, endpoint_url="ftp://127.0.0.1/"))
        t.check(r["rc"] == 3 and r.get("new") == "1", "an ftp:// endpoint is refused", r)

        # Nothing secret in what the driver printed besides the test DEKs.
        r = d.run("describe", "alias/aurora-test", env=H.clean_env(
            HOME=tmp, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="SECRETVALUE123",
            AWS_SESSION_TOKEN="TOKENVALUE456"))
        blob = str(r)
        t.check(r.get("result") == "OK" and "SECRETVALUE123" not in blob and "TOKENVALUE456" not in blob,
                "the secret key and the session token never appear in output", r)
        return t.finish()
    finally:
        srv.stop()
        H.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
