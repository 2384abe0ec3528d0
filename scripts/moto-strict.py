#!/usr/bin/env python3
"""moto's server, with AWS KMS's key-state rules on the cryptographic calls.

moto (5.x) answers Decrypt, Encrypt, ReEncrypt and GenerateDataKey even when the CMK
is Disabled or PendingDeletion; AWS refuses them (DisabledException,
KMSInvalidStateException).  The agent's verdicts rest on what Decrypt says
(Documentation/aurora.md, "Verdicts"), so the stand-in must say it too.
Same arguments as `python3 -m moto.server`.
"""
import sys

from moto.core.exceptions import JsonRESTError
from moto.kms import models


class DisabledException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("DisabledException", message)


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("KMSInvalidStateException", message)


def require_enabled(backend, key_id):
    key = backend.keys.get(key_id)
    if key is None:
        return
    if key.key_state == "Disabled":
        raise DisabledException(f"{key.arn} is disabled.")
    if key.key_state != "Enabled":
        raise KMSInvalidStateException(f"{key.arn} is {key.key_state}.")


_decrypt = models.KmsBackend.decrypt
_re_encrypt = models.KmsBackend.re_encrypt
_generate_data_key = models.KmsBackend.generate_data_key
_encrypt = models.KmsBackend.encrypt


def decrypt(self, ciphertext_blob, encryption_context, key_id=None):
    plaintext, arn = _decrypt(self, ciphertext_blob=ciphertext_blob,
                              encryption_context=encryption_context, key_id=key_id)
    require_enabled(self, self.any_id_to_key_id(arn))
    return plaintext, arn


def re_encrypt(self, ciphertext_blob, source_encryption_context, destination_key_id,
               destination_encryption_context):
    require_enabled(self, self.any_id_to_key_id(destination_key_id))
    out = _re_encrypt(self, ciphertext_blob=ciphertext_blob,
                      source_encryption_context=source_encryption_context,
                      destination_key_id=destination_key_id,
                      destination_encryption_context=destination_encryption_context)
    require_enabled(self, self.any_id_to_key_id(out[1]))
    return out


def generate_data_key(self, key_id, *args, **kwargs):
    require_enabled(self, self.any_id_to_key_id(key_id))
    return _generate_data_key(self, key_id, *args, **kwargs)


def encrypt(self, key_id, plaintext, encryption_context):
    require_enabled(self, self.any_id_to_key_id(key_id))
    return _encrypt(self, key_id=key_id, plaintext=plaintext,
                    encryption_context=encryption_context)


models.KmsBackend.decrypt = decrypt
models.KmsBackend.encrypt = encrypt
models.KmsBackend.re_encrypt = re_encrypt
models.KmsBackend.generate_data_key = generate_data_key

if __name__ == "__main__":
    from moto.server import main
    main(sys.argv[1:])
