# SPDX-License-Identifier: GPL-2.0
"""Shared helpers for the aws-*.py host tests (not a test itself: not
executable).  Builds aws_kms_driver.c against the provider sources, runs it,
parses its key=value output, prints flat KTAP."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.environ.get("AURORA_SRC") or os.path.normpath(os.path.join(HERE, "..", ".."))
LIB = os.path.join(AGENT, "lib")
TOP_INCLUDE = os.path.normpath(os.path.join(AGENT, "..", "include"))  # shared with the kernel
INCLUDES = ["-I", os.path.join(AGENT, "include"), "-I", LIB, "-I", TOP_INCLUDE]

CFLAGS = ["-std=gnu11", "-g", "-Wall", "-Wextra", "-Werror", "-Wformat=2",
          "-Wshadow", "-Wno-unused-parameter", "-O1", "-D_FORTIFY_SOURCE=2"]
SAN = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
       "-fno-sanitize-recover=undefined"]
PROVIDER_SRCS = ["kms/aws/client.c", "kms/aws/reply.c", "kms/aws/aws_config.c",
                 "kms/aws/http.c", "kms/aws/sigv4.c", "kms/aws/aws_creds.c", "kms/aws/imds.c",
                 "util/secmem.c", "util/base64.c", "kms/kms.c", "kms/arn.c"]

# Test traffic stays on loopback: never through a proxy from the environment.
PROXY_VARS = ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in PROXY_VARS and not k.startswith("AWS_")}
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:halt_on_error=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    env.update(extra)
    return env


def build_driver(tmp, sanitize=True):
    exe = os.path.join(tmp, "aws_kms_driver")
    cc = os.environ.get("CC", "gcc")
    cmd = [cc] + CFLAGS + (SAN if sanitize else []) + INCLUDES + ["-o", exe,
           os.path.join(HERE, "aws_kms_driver.c")] + \
          [os.path.join(LIB, s) for s in PROVIDER_SRCS] + \
          ["-ljson-c", "-lcurl", "-lcrypto", "-lpthread"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write(" ".join(cmd) + "\n" + r.stderr)
        return None
    return exe


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse_out(text):
    d = {}
    for line in text.splitlines():
        if line.startswith("message="):
            d["message"] = line[len("message="):]
            continue
        for tok in line.split():
            if "=" in tok:
                k, _, v = tok.partition("=")
                d[k] = v
    return d


class Driver:
    def __init__(self, exe, opts, env):
        self.exe, self.opts, self.env = exe, opts, env

    def run(self, *args, opts=None, env=None, timeout=120):
        cmd = [self.exe]
        for k, v in (opts if opts is not None else self.opts).items():
            cmd += ["-o", f"{k}={v}"]
        cmd += [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True,
                           env=env if env is not None else self.env, timeout=timeout)
        d = parse_out(r.stdout)
        d["rc"] = r.returncode
        d["stderr"] = r.stderr
        return d


class Ktap:
    def __init__(self, plan):
        self.plan, self.n, self.failed = plan, 0, 0
        print(f"1..{plan}", flush=True)

    def check(self, cond, desc, detail=None):
        self.n += 1
        if cond:
            print(f"ok {self.n} - {desc}", flush=True)
        else:
            self.failed += 1
            print(f"not ok {self.n} - {desc}", flush=True)
            if detail is not None:
                for line in str(detail).splitlines()[:20]:
                    print(f"# {line}", flush=True)
        return cond

    def finish(self):
        while self.n < self.plan:
            self.check(False, "not reached")
        if self.n != self.plan:
            print(f"# planned {self.plan}, ran {self.n}")
            return 1
        return 1 if self.failed else 0


def rmtree(p):
    shutil.rmtree(p, ignore_errors=True)


class MotoServer:
    """moto's server on 127.0.0.1:port (its own process group), stopped by
    stop() or on SIGTERM; logs to <tmp>/moto.log."""

    def __init__(self, tmp, port, **env):
        self.port = port
        self._log = open(os.path.join(tmp, "moto.log"), "w")
        self.proc = subprocess.Popen(
            # moto with AWS's key-state rules on Decrypt & co (scripts/moto-strict.py)
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "..", "..", "..", "scripts", "moto-strict.py"),
             "-H", "127.0.0.1", "-p", str(port)],
            stdout=self._log, stderr=self._log, env=clean_env(**env),
            start_new_session=True)
        signal.signal(signal.SIGTERM, lambda *a: (self.stop(), sys.exit(1)))

    def wait_up(self, secs=30):
        """True once the port accepts connections; False if moto died or
        did not come up within secs."""
        end = time.time() + secs
        while time.time() < end and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.2)
        return False

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()
