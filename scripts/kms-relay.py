#!/usr/bin/env python3
"""Carry the guest's HTTP requests to a KMS endpoint on the host's loopback.

The guest has no network: a virtio-serial port (name aurora.kms) is its only
path out.  In the guest, socat listens on 127.0.0.1:<port> and copies each
TCP connection onto the port, one connection at a time.  Here we read that
byte stream as a sequence of HTTP/1.1 requests (each framed by its headers
and Content-Length), send each to the target (http://127.0.0.1:<port>,
e.g. moto) and write the framed response back.  Only loopback addresses
are used at both ends.

Usage: kms-relay.py SOCKET-PATH TARGET-PORT [LOG [GATE]]
While the file GATE exists the KMS is unreachable: each request is read and
swallowed, no answer (a black hole: the client times out; no late answer is
ever sent, so the byte stream stays in step).

Fault injection from the guest (tests/guest/52-aws-faults.sh): a request
for the path /__aurora_fault/<mode> is answered here (200, never forwarded)
and sets how every later request is answered, until the next such request:
  none      forwarded (the default)
  throttle  400 ThrottlingException
  5xx       503 ServiceUnavailableException and 500 KMSInternalException,
            in turn
  timeout   swallowed: no answer, the client times out (as with GATE)
  reset     the connection breaks: a few bytes that are not HTTP instead of
            an answer (the guest's bridge cannot send a TCP reset; the
            client sees its connection fail mid-reply, as after one)

Region gate (tests/guest/76-copy-aws.sh): a request for the path
/__aurora_region/<region> is answered here (200, never forwarded); from
then on only requests signed for <region> (the region of the SigV4
credential scope in their Authorization header) reach the KMS, every other
one gets the 'reset' answer above: that region's KMS is unreachable.
/__aurora_region/any lifts the gate.

The relay listens on SOCKET-PATH; QEMU connects to it, once per guest boot
(the harness may boot twice); it runs until killed.
"""
import http.client
import os
import socket
import sys

MAX_BODY = 1 << 20
FAULT_PATH = '/__aurora_fault/'
FAULTS = ('none', 'throttle', '5xx', 'timeout', 'reset')
fault = {'mode': 'none', 'n': 0}
REGION_PATH = '/__aurora_region/'
gate_region = {'only': None}


def fault_reply(mode):
    """The bytes that answer a request under @mode, or None (no answer)."""
    if mode == 'timeout':
        return None
    if mode == 'reset':
        return b'\x15\x03\x03\x00\x02\x02\x50'
    if mode == 'throttle':
        status, reason, typ = 400, 'Bad Request', 'ThrottlingException'
    else:
        fault['n'] += 1
        status, reason, typ = ((503, 'Service Unavailable', 'ServiceUnavailableException')
                               if fault['n'] % 2 else
                               (500, 'Internal Server Error', 'KMSInternalException'))
    body = ('{"__type":"%s","message":"injected by kms-relay"}' % typ).encode()
    return (f'HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.1\r\n'
            f'Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n').encode() + body


def signed_region(headers):
    """The region of a request's SigV4 credential scope, or None."""
    for k, v in headers:
        if k.lower() != 'authorization':
            continue
        i = v.find('Credential=')
        if i < 0:
            return None
        scope = v[i + len('Credential='):].split(',', 1)[0].split('/')
        return scope[2] if len(scope) >= 5 else None
    return None


def read_request(f):
    line = f.readline(8192)
    if not line:
        return None
    while line in (b'\r\n', b'\n'):
        line = f.readline(8192)
        if not line:
            return None
    method, path, _ = line.decode('latin-1').split(' ', 2)
    headers = []
    length = 0
    while True:
        h = f.readline(8192)
        if not h or h in (b'\r\n', b'\n'):
            break
        k, v = h.decode('latin-1').split(':', 1)
        headers.append((k.strip(), v.strip()))
        if k.strip().lower() == 'content-length':
            length = int(v.strip())
    if length > MAX_BODY:
        raise ValueError('request too large')
    body = f.read(length) if length else b''
    return method, path, headers, body


def main():
    sock_path, port = sys.argv[1], int(sys.argv[2])
    log = open(sys.argv[3], 'a') if len(sys.argv) > 3 else sys.stderr
    gate = sys.argv[4] if len(sys.argv) > 4 else None
    try:
        os.unlink(sock_path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    while True:
        conn, _ = srv.accept()
        serve(conn, port, log, gate)
        conn.close()


def serve(conn, port, log, gate=None):
    f = conn.makefile('rb')
    while True:
        try:
            req = read_request(f)
        except (ValueError, OSError) as e:
            print(f'kms-relay: bad request stream: {e}', file=log, flush=True)
            return
        if req is None:
            return
        method, path, headers, body = req
        if path.startswith(FAULT_PATH):
            mode = path[len(FAULT_PATH):]
            ok = mode in FAULTS
            if ok:
                fault['mode'] = mode
            msg = f'fault {mode}' if ok else f'unknown fault {mode}'
            print(f'kms-relay: {msg}', file=log, flush=True)
            try:
                conn.sendall((f'HTTP/1.1 {200 if ok else 400} X\r\nContent-Length: {len(msg)}\r\n'
                              f'Connection: keep-alive\r\n\r\n{msg}').encode())
            except OSError:
                return
            continue
        if path.startswith(REGION_PATH):
            r = path[len(REGION_PATH):]
            ok = r == 'any' or (r and all(c.isalnum() or c == '-' for c in r))
            if ok:
                gate_region['only'] = None if r == 'any' else r
            msg = f'region {r}' if ok else f'bad region {r}'
            print(f'kms-relay: {msg}', file=log, flush=True)
            try:
                conn.sendall((f'HTTP/1.1 {200 if ok else 400} X\r\nContent-Length: {len(msg)}\r\n'
                              f'Connection: keep-alive\r\n\r\n{msg}').encode())
            except OSError:
                return
            continue
        if gate_region['only'] and signed_region(headers) != gate_region['only']:
            print(f'kms-relay: {method} {path} signed for {signed_region(headers)} -> '
                  f'unreachable (only {gate_region["only"]})', file=log, flush=True)
            try:
                conn.sendall(fault_reply('reset'))
            except OSError:
                return
            continue
        if fault['mode'] != 'none':
            data = fault_reply(fault['mode'])
            print(f'kms-relay: {method} {path} -> fault {fault["mode"]}', file=log, flush=True)
            if data is not None:
                try:
                    conn.sendall(data)
                except OSError:
                    return
            continue
        if gate and os.path.exists(gate):
            print(f'kms-relay: {method} {path} dropped (KMS unreachable: {gate} exists)', file=log, flush=True)
            continue
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
            hdrs = {k: v for k, v in headers if k.lower() not in ('connection',)}
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            status, reason, rh = r.status, r.reason, r.getheaders()
            c.close()
        except OSError as e:
            status, reason, rh, data = 502, 'Bad Gateway', [], str(e).encode()
        out = [f'HTTP/1.1 {status} {reason}\r\n'.encode()]
        for k, v in rh:
            if k.lower() in ('content-length', 'connection', 'transfer-encoding'):
                continue
            out.append(f'{k}: {v}\r\n'.encode('latin-1'))
        out.append(f'Content-Length: {len(data)}\r\nConnection: keep-alive\r\n\r\n'.encode())
        try:
            conn.sendall(b''.join(out) + data)
        except OSError:
            return
        print(f'kms-relay: {method} {path} -> {status} ({len(data)} bytes)', file=log, flush=True)


if __name__ == '__main__':
    main()
