#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: the AWS KMS provider against moto with request authentication
on (INITIAL_NO_AUTH_ACTION_COUNT): moto checks every request's SigV4
signature against the IAM user's secret and evaluates the user's IAM
policy, so the signer is verified by a server nobody here wrote, on the
wire.  (moto's IAM layer answers denials in XML rather than KMS's JSON
AccessDeniedException: the provider takes a 401/403 without a KMS JSON type
as CredentialsError, never as a definitive answer; the JSON
AccessDeniedException path is covered by aws-kms-faults.py.)  moto on 127.0.0.1:<free port>, started and stopped here.
Flat KTAP on stdout, exit 1 on any failure.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_hostlib as H  # noqa: E402

PLAN = 9
SETUP_CALLS = 7     # unauthenticated calls moto allows for the IAM setup


def main():
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        print("1..0 # SKIP boto3 or moto not installed")
        return 0
    t = H.Ktap(PLAN)
    tmp = tempfile.mkdtemp(prefix="aur-aws-auth-")
    port = H.free_port()
    url = f"http://127.0.0.1:{port}"
    srv = H.MotoServer(tmp, port, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS))
    try:
        exe = H.build_driver(tmp)
        up = srv.wait_up()
        t.check(exe is not None and up, "driver built, moto (auth on) up on 127.0.0.1")
        if not exe or not up:
            return t.finish()
        for k in H.PROXY_VARS:
            os.environ.pop(k, None)
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        pol = {"Version": "2012-10-17",
               "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
        ro = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]}
        iam.create_user(UserName="aurora")                                 # 1
        ka = iam.create_access_key(UserName="aurora")["AccessKey"]         # 2
        iam.put_user_policy(UserName="aurora", PolicyName="kms",
                            PolicyDocument=json.dumps(pol))                # 3
        iam.create_user(UserName="reader")                                 # 4
        kr = iam.create_access_key(UserName="reader")["AccessKey"]         # 5
        iam.put_user_policy(UserName="reader", PolicyName="ro",
                            PolicyDocument=json.dumps(ro))                 # 6
        kms = boto3.client("kms", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=ka["AccessKeyId"],
                           aws_secret_access_key=ka["SecretAccessKey"])
        k1 = kms.create_key(Description="auth test")["KeyMetadata"]        # 7
        kms.create_alias(AliasName="alias/auth", TargetKeyId=k1["KeyId"])  # signed

        def env_for(ak, sk):
            return H.clean_env(HOME=tmp, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
        opts = {"endpoint_url": url, "region": "us-east-1", "max_attempts": "2",
                "retry_base_ms": "10"}
        d = H.Driver(exe, opts, env_for(ka["AccessKeyId"], ka["SecretAccessKey"]))
        r = d.run("describe", "alias/auth")
        t.check(r.get("result") == "OK" and r.get("key_id") == k1["KeyId"],
                "DescribeKey accepted by moto's signature check", r)
        blob = os.path.join(tmp, "b")
        r = d.run("generate", "alias/auth", 64, "aurora:volume-uuid=u1", blob)
        t.check(r.get("result") == "OK" and r.get("plaintext_len") == "64",
                "GenerateDataKey (signed JSON body) accepted", r)
        pt = r.get("plaintext")
        r = d.run("decrypt", "-", "aurora:volume-uuid=u1", blob)
        t.check(r.get("result") == "OK" and r.get("plaintext") == pt,
                "Decrypt accepted, same DEK", r)
        r2 = d.run("reencrypt", "-", "aurora:volume-uuid=u1", blob, "alias/auth",
                   "aurora:volume-uuid=u2", os.path.join(tmp, "b2"))
        t.check(r2.get("result") == "OK", "ReEncrypt accepted", r2)

        r = d.run("describe", "alias/auth",
                  env=env_for(ka["AccessKeyId"], ka["SecretAccessKey"][:-1] + "x"))
        t.check(r["rc"] == 3 and r.get("definitive") == "0" and r.get("http") == "403" and
                r.get("result") == "CredentialsError" and "SignatureDoesNotMatch" in r.get("message", ""),
                "a wrong secret key is rejected (HTTP 403 SignatureDoesNotMatch): CredentialsError, "
                "never a definitive answer", r)
        r = d.run("describe", "alias/auth", env=env_for("AKIANOSUCHKEY0000000", "x"))
        t.check(r["rc"] == 3 and r.get("definitive") == "0" and r.get("result") == "CredentialsError",
                "an unknown access key is rejected: CredentialsError, never a definitive answer", r)

        rd = H.Driver(exe, opts, env_for(kr["AccessKeyId"], kr["SecretAccessKey"]))
        r = rd.run("describe", "alias/auth")
        t.check(r.get("result") == "OK", "a DescribeKey-only user can describe", r)
        r = rd.run("decrypt", "-", "aurora:volume-uuid=u1", blob)
        # moto's IAM layer answers in XML (<Code>AccessDenied</Code>, HTTP 403),
        # not in KMS's JSON (AccessDeniedException): a reply that is not the
        # KMS wire format is never taken as a revocation.
        t.check(r["rc"] == 3 and r.get("http") == "403" and r.get("definitive") == "0" and
                r.get("attempts") == "1",
                "Decrypt without kms:Decrypt: refused; moto's XML denial is not definitive", r)
        return t.finish()
    finally:
        srv.stop()
        H.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
