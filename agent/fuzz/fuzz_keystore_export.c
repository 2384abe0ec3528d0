// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the keystore export file (kms export-keystore): the
 * header parser, and the payload parser run on the bytes that follow the
 * header as if they were the decrypted payload (no Argon2id, no key).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/local/kms_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_ksx_hdr h;
	char err[300];
	size_t off, len;
	uint8_t *copy;

	if (size > (1u << 20))
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);	/* exact-size buffer: ASan sees any overread */
	aur_kms_local_parse_export(copy, size, &h, err, sizeof(err));
	if (size > AUR_KSX_HDR &&
	    aur_kms_local_parse_export_payload(copy + AUR_KSX_HDR, size - AUR_KSX_HDR, &off, &len,
					       err, sizeof(err)) == 0 &&
	    (off + len != size - AUR_KSX_HDR))
		abort();
	free(copy);
	return 0;
}
