#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host test: fault injection for the AWS KMS provider.

A local test server on 127.0.0.1:<free port> answers the provider's
requests according to the scenario named in the endpoint's path: delays
(timeout), connection resets, 500/503, throttling (then success), garbage,
truncated or oversized replies, each AWS error type.  The provider's
classification (definitive / transient), its retry counts (seen by the
server, not only reported by the provider) and its time bounds must match
Documentation/aws-kms.md.  Every request the server receives is also checked
with botocore's SigV4 signer (headers as received on the wire).

Flat KTAP on stdout, exit 1 on any failure.
"""
import base64
import datetime
import json
import os
import socket
import socketserver
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_hostlib as H  # noqa: E402

try:
    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError:
    botocore = None

ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
META = {"KeyMetadata": {"AWSAccountId": "111122223333",
                        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
                        "Arn": ARN, "CreationDate": 1.7e9, "Enabled": True,
                        "Description": "", "KeyUsage": "ENCRYPT_DECRYPT",
                        "KeyState": "Enabled", "Origin": "AWS_KMS"}}
SECRET = "faultsecret/key+x"
TOKEN = "fault-session-token"


class State:
    lock = threading.Lock()
    counts = {}
    sig_bad = []
    sig_ok = 0
    token_seen = 0


def verify_sigv4(method, path, headers, body):
    """Recompute the signature with botocore from what came over the wire."""
    if botocore is None:
        return True
    auth = headers.get("authorization", "")
    try:
        signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
        sig = auth.split("Signature=")[1].strip()
        scope = auth.split("Credential=")[1].split(",")[0].split("/")
    except IndexError:
        return False
    ts = datetime.datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *a, **k: ts
    req = AWSRequest(method=method, url=f"http://{headers['host']}{path}", data=body)
    for h in signed:
        if h != "x-amz-date" and h != "x-amz-security-token":
            req.headers[h] = headers[h]
    token = headers.get("x-amz-security-token")
    creds = Credentials(scope[0], SECRET, token)
    s = SigV4Auth(creds, scope[3], scope[2])
    s.add_auth(req)
    want = req.headers["Authorization"].split("Signature=")[1]
    return want == sig and "x-amz-date" in signed and \
        (token is None or "x-amz-security-token" in signed)


def reply(sock, status, body, ctype="application/x-amz-json-1.1", extra=""):
    if isinstance(body, str):
        body = body.encode()
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests",
              500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "X")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n")
    sock.sendall(head.encode() + body)


def err_body(t, msg="injected"):
    return json.dumps({"__type": t, "message": msg})


class Handler(socketserver.BaseRequestHandler):
    def read_request(self):
        s = self.request
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return method, path, headers, body

    def handle(self):
        r = self.read_request()
        if not r:
            return
        method, path, headers, body = r
        scen = path.strip("/").split("/")[0]
        name = scen.split(".")[0]
        with State.lock:
            State.counts[scen] = State.counts.get(scen, 0) + 1
            n = State.counts[scen]
            ok = (method == "POST" and
                  headers.get("content-type") == "application/x-amz-json-1.1" and
                  headers.get("x-amz-target", "").startswith("TrentService.") and
                  verify_sigv4(method, path, headers, body))
            if ok:
                State.sig_ok += 1
            else:
                State.sig_bad.append((scen, headers))
            if headers.get("x-amz-security-token") == TOKEN:
                State.token_seen += 1
        op = headers.get("x-amz-target", "").split(".")[-1]
        s = self.request
        good = json.dumps(META)
        if op == "GenerateDataKey":
            req = json.loads(body or b"{}")
            good = json.dumps({"KeyId": ARN, "CiphertextBlob": base64.b64encode(b"w" * 150).decode(),
                               "Plaintext": base64.b64encode(b"k" * int(req.get("NumberOfBytes", 0))).decode()})
        elif op == "Decrypt":
            good = json.dumps({"KeyId": ARN, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
                               "Plaintext": base64.b64encode(b"d" * 64).decode()})
        elif op == "ReEncrypt":
            good = json.dumps({"KeyId": ARN, "SourceKeyId": ARN,
                               "CiphertextBlob": base64.b64encode(b"r" * 170).decode()})
        if name == "ok":
            reply(s, 200, good)
        elif name == "delay":
            time.sleep(6)
            try:
                reply(s, 200, good)
            except OSError:
                pass
        elif name == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        elif name == "e500":
            reply(s, 500, err_body("KMSInternalException"))
        elif name == "e503":
            reply(s, 503, "", ctype="text/plain")
        elif name == "e500denied":
            reply(s, 500, err_body("AccessDeniedException"))
        elif name == "throttleonce":
            if n == 1:
                reply(s, 400, err_body("ThrottlingException", "Rate exceeded"))
            else:
                reply(s, 200, good)
        elif name == "throttle":
            reply(s, 400, err_body("ThrottlingException", "Rate exceeded"))
        elif name == "e429":
            reply(s, 429, "")
        elif name == "deptimeout":
            if n == 1:
                reply(s, 500, err_body("com.amazonaws.kms#DependencyTimeoutException"))
            else:
                reply(s, 200, good)
        elif name == "type":
            reply(s, 400, err_body(scen.split(".", 2)[2].replace("~", "#")))
        elif name == "typehdr":
            reply(s, 400, "{}", extra="x-amzn-ErrorType: NotFoundException:http://internal.amazon.com/\r\n")
        elif name == "garbage":
            reply(s, 200, "this is not JSON at all <html>")
        elif name == "trailing":
            reply(s, 200, good + " garbage")
        elif name == "notobject":
            reply(s, 200, "[1,2,3]")
        elif name == "truncjson":
            reply(s, 200, good[:len(good) // 2])
        elif name == "empty":
            reply(s, 200, "")
        elif name == "short":
            b = good.encode()
            s.sendall(f"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                      f"Content-Length: {len(b) + 500}\r\nConnection: close\r\n\r\n".encode() + b)
            s.shutdown(socket.SHUT_WR)
        elif name == "huge":
            reply(s, 200, '{"KeyMetadata":"' + "A" * (1 << 20) + '"}')
        elif name == "hugestream":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                      b"Connection: close\r\n\r\n")
            try:
                for _ in range(64):
                    s.sendall(b"A" * 16384)
            except OSError:
                pass
        elif name == "nothttp":
            s.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        elif name == "e400html":
            reply(s, 400, "<html>bad</html>", ctype="text/html")
        elif name == "e403html":
            reply(s, 403, "<html>Forbidden</html>", ctype="text/html")
        elif name == "xml403":
            reply(s, 403, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
                  "</Code><Message>The request signature we calculated does not match the signature "
                  "you provided.</Message></Error>", ctype="application/xml")
        elif name == "deepjson":
            reply(s, 200, "[" * 5000 + "]" * 5000)
        elif name == "shortkey":
            req = json.loads(body or b"{}")
            reply(s, 200, json.dumps({"KeyId": ARN, "CiphertextBlob": base64.b64encode(b"w" * 150).decode(),
                                      "Plaintext": base64.b64encode(b"k" * (int(req.get("NumberOfBytes", 64)) // 2)).decode()}))
        elif name == "badb64":
            reply(s, 200, json.dumps({"KeyId": ARN, "CiphertextBlob": base64.b64encode(b"w" * 150).decode(),
                                      "Plaintext": "not*base64!"}))
        elif name == "nometa":
            reply(s, 200, "{}")
        else:
            reply(s, 404, "{}")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


# (scenario, op, expected result, definitive, transient, attempts, server count)
CASES = [
    ("ok", "describe", "OK", 0, 0, 1, 1),
    ("throttleonce", "describe", "OK", 0, 0, 2, 2),
    ("deptimeout", "describe", "OK", 0, 0, 2, 2),
    ("throttle", "describe", "ThrottlingException", 0, 1, 4, 4),
    ("e429", "describe", "ThrottlingException", 0, 1, 4, 4),
    ("e500", "describe", "ServiceUnavailable", 0, 1, 4, 4),
    ("e503", "describe", "ServiceUnavailable", 0, 1, 4, 4),
    ("e500denied", "describe", "ServiceUnavailable", 0, 1, 4, 4),
    ("reset", "describe", "ServiceUnavailable", 0, 1, 4, 4),
    ("delay", "describe", "ServiceUnavailable", 0, 1, 4, 4),
    ("type.DisabledException", "describe", "DisabledException", 1, 0, 1, 1),
    ("type.KMSInvalidStateException", "describe", "KMSInvalidStateException", 1, 0, 1, 1),
    ("type.NotFoundException", "describe", "NotFoundException", 1, 0, 1, 1),
    ("type.AccessDeniedException", "describe", "AccessDeniedException", 1, 0, 1, 1),
    ("type.IncorrectKeyException", "decrypt", "IncorrectKeyException", 1, 0, 1, 1),
    ("type.InvalidCiphertextException", "decrypt", "InvalidCiphertextException", 1, 0, 1, 1),
    ("type.com.amazonaws.kms~DisabledException", "generate", "DisabledException", 1, 0, 1, 1),
    ("type.com.amazon.coral.service~AccessDeniedException", "describe", "AccessDeniedException", 1, 0, 1, 1),
    ("type.ValidationException", "describe", "ValidationException", 0, 0, 1, 1),
    ("type.ExpiredTokenException", "describe", "CredentialsError", 0, 0, 1, 1),
    ("type.UnrecognizedClientException", "describe", "CredentialsError", 0, 0, 1, 1),
    ("type.InvalidSignatureException", "decrypt", "CredentialsError", 0, 0, 1, 1),
    ("xml403", "describe", "CredentialsError", 0, 0, 1, 1),
    ("e403html", "decrypt", "CredentialsError", 0, 0, 1, 1),
    ("type.SomethingNewException", "describe", "ProtocolError", 0, 1, 1, 1),
    ("typehdr", "describe", "NotFoundException", 1, 0, 1, 1),
    ("garbage", "describe", "ProtocolError", 0, 1, 1, 1),
    ("trailing", "describe", "ProtocolError", 0, 1, 1, 1),
    ("notobject", "describe", "ProtocolError", 0, 1, 1, 1),
    ("truncjson", "describe", "ProtocolError", 0, 1, 1, 1),
    ("empty", "describe", "ProtocolError", 0, 1, 1, 1),
    ("short", "describe", "ProtocolError", 0, 1, 1, 1),
    ("huge", "describe", "ProtocolError", 0, 1, 1, 1),
    ("hugestream", "describe", "ProtocolError", 0, 1, 1, 1),
    ("nothttp", "describe", "ProtocolError", 0, 1, 1, 1),
    ("e400html", "describe", "ProtocolError", 0, 1, 1, 1),
    ("deepjson", "describe", "ProtocolError", 0, 1, 1, 1),
    ("nometa", "describe", "ProtocolError", 0, 1, 1, 1),
    ("ok", "generate", "OK", 0, 0, 1, 1),
    ("ok", "decrypt", "OK", 0, 0, 1, 1),
    ("ok", "reencrypt", "OK", 0, 0, 1, 1),
    ("shortkey", "generate", "ProtocolError", 0, 1, 1, 1),
    ("badb64", "decrypt", "ProtocolError", 0, 1, 1, 1),
]
EXTRA = 9


def main():
    t = H.Ktap(len(CASES) + EXTRA)
    tmp = tempfile.mkdtemp(prefix="aur-aws-fault-")
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        exe = H.build_driver(tmp)
        t.check(exe is not None, "build the provider test driver (ASan+UBSan)")
        if not exe:
            return t.finish()
        env = H.clean_env(HOME=tmp, AWS_ACCESS_KEY_ID="AKIAFAULTTEST",
                          AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
        base = {"region": "eu-west-1", "max_attempts": "4", "retry_base_ms": "20",
                "retry_max_delay_ms": "80", "connect_timeout_ms": "2500",
                "timeout_ms": "2500", "max_response": "65536"}
        d = H.Driver(exe, base, env)
        blob = os.path.join(tmp, "blob")
        open(blob, "wb").write(b"w" * 150)
        args = {"describe": ["describe", "alias/aurora"],
                "generate": ["generate", "alias/aurora", 64, "volume=v1", os.path.join(tmp, "out")],
                "decrypt": ["decrypt", "-", "volume=v1", blob],
                "reencrypt": ["reencrypt", "-", "volume=v1", blob, "alias/dst", "volume=v2",
                              os.path.join(tmp, "out2")]}
        for i, (scen, op, res, defin, trans, att, cnt) in enumerate(CASES):
            path = f"{scen}.{i}"
            if scen.startswith("type."):
                path = f"type.{i}.{scen[5:]}"
            opts = dict(base, endpoint_url=f"http://127.0.0.1:{port}/{path}/")
            t0 = time.time()
            r = d.run(*args[op], opts=opts)
            el = time.time() - t0
            with State.lock:
                seen = State.counts.get(path, 0)
            got = (r.get("result"), int(r.get("definitive", -1)), int(r.get("transient", -1)),
                   int(r.get("attempts", -1)), seen)
            want = (res, defin, trans, att, cnt)
            t.check(got == want and el < 20 and not r["stderr"],
                    f"{scen} ({op}): {res}, definitive={defin}, transient={trans}, "
                    f"{att} attempt(s), server saw {cnt}",
                    f"got {got} in {el:.1f}s: {r.get('message')}\n{r['stderr'][-1500:]}")

        # Scenario names with a dot carry the AWS type after the index.
        # Connection refused: nothing listens on that port.
        dead = H.free_port()
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"http://127.0.0.1:{dead}/"))
        t.check(r.get("result") == "ServiceUnavailable" and r.get("attempts") == "4" and
                r.get("transient") == "1", "connection refused: transient, retried to the bound", r)
        # Retry bound in time: a budget smaller than the first backoff stops at once.
        p = "e503.budget"
        t0 = time.time()
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"http://127.0.0.1:{port}/{p}/",
                                              retry_base_ms="2000", retry_max_delay_ms="5000",
                                              retry_budget_ms="500"))
        el = time.time() - t0
        t.check(r.get("attempts") == "1" and State.counts.get(p) == 1 and el < 1.5,
                "retry budget bounds the total time (no wait beyond it)", (r, el))
        # Timeouts bound a hung server (it waits 6 s): 2 attempts x 0.7 s + backoff.
        # (Only here 0.7 s: elsewhere the timeout is generous, so that a loaded
        # machine's slow answer is never taken for a hung server.)
        p = "delay.bound"
        t0 = time.time()
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"http://127.0.0.1:{port}/{p}/",
                                              max_attempts="2", timeout_ms="700"))
        el = time.time() - t0
        t.check(r.get("attempts") == "2" and 1.3 < el < 5.0,
                "total timeout per attempt bounds a hung server", (r, el))
        # Backoff grows: 4 attempts with base 200 ms wait at least 100+200+400 ms.
        p = "e503.backoff"
        t0 = time.time()
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"http://127.0.0.1:{port}/{p}/",
                                              retry_base_ms="200", retry_max_delay_ms="10000"))
        el = time.time() - t0
        t.check(r.get("attempts") == "4" and 0.7 <= el < 6.0,
                "exponential backoff between attempts (equal jitter)", (r, el))
        # max_attempts=1: no retry at all.
        p = "throttle.single"
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"http://127.0.0.1:{port}/{p}/",
                                              max_attempts="1"))
        t.check(r.get("attempts") == "1" and State.counts.get(p) == 1,
                "max_attempts=1 sends exactly one request", r)
        # https endpoint on a plain-HTTP server: TLS fails, never downgraded.
        r = d.run("describe", "k", opts=dict(base, endpoint_url=f"https://127.0.0.1:{port}/ok.tls/",
                                              max_attempts="2"))
        t.check(r["rc"] == 3 and r.get("result") == "ServiceUnavailable" and
                State.counts.get("ok.tls") is None,
                "https:// endpoint never falls back to plain HTTP", r)
        with State.lock:
            bad = list(State.sig_bad)
            nok = State.sig_ok
            tok = State.token_seen
        t.check(not bad and nok > 50,
                f"all {nok} requests on the wire carry a valid SigV4 signature (botocore)",
                "\n".join(f"{s}: {h}" for s, h in bad[:3]))
        t.check(tok == nok + len(bad), "the session token was sent (and signed) on every request",
                (tok, nok))
        return t.finish()
    finally:
        srv.shutdown()
        srv.server_close()
        H.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
