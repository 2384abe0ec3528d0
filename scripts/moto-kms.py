#!/usr/bin/env python3
"""Start moto's KMS server on a free loopback port for the guest's AWS
provider tests, create the CMKs they use, and print the port.

Usage: moto-kms.py PIDFILE  (prints the port on stdout, keeps running in
the background until killed through PIDFILE)

CMKs (us-east-1, moto's account 123456789012):
  alias/aurora-guest        enabled
  alias/aurora-guest-off    created enabled; tests disable it through the KMS
"""
import os
import socket
import subprocess
import sys
import time

import boto3


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    pidfile = sys.argv[1]
    port = free_port()
    log = open(pidfile + '.log', 'w')
    # moto with AWS's key-state rules on Decrypt & co (moto-strict.py)
    strict = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'moto-strict.py')
    proc = subprocess.Popen([sys.executable, strict, '-H', '127.0.0.1', '-p', str(port)],
                            stdout=log, stderr=log, start_new_session=True)
    with open(pidfile, 'w') as f:
        f.write(str(proc.pid))
    kms = boto3.client('kms', region_name='us-east-1', endpoint_url=f'http://127.0.0.1:{port}',
                       aws_access_key_id='testing', aws_secret_access_key='testing')
    for _ in range(100):
        try:
            kms.list_keys()
            break
        except Exception:
            time.sleep(0.1)
    else:
        proc.kill()
        sys.exit('moto-kms: moto did not start')
    for alias in ('alias/aurora-guest', 'alias/aurora-guest-off'):
        k = kms.create_key(Description=f'dm-aurora guest test CMK ({alias})')
        kms.create_alias(AliasName=alias, TargetKeyId=k['KeyMetadata']['KeyId'])
    print(port)


if __name__ == '__main__':
    os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')
    main()
