// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness for the embedded KMS keystore.json parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/local/kms_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	char *text;

	if (size > (1u << 20))
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	aur_kms_local_parse_keystore(text, size, err, sizeof(err));
	free(text);
	return 0;
}
