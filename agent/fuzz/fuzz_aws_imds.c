// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the instance metadata (IMDSv2) role credentials parser
 * (aur_aws_imds_parse, lib/kms/aws/imds.c).  Invariants: on success the
 * access key id is a non-empty string, the secret key and the session token
 * are in locked memory, the token NUL-terminated, and an expiry is set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kms/aws/aws_creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_aws_creds c;
	char err[200];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (!aur_aws_imds_parse(text, size, &c, err, sizeof(err))) {
		if (!c.access_key[0] || !c.secret_key || !c.secret_key->len ||
		    !c.session_token || c.session_token->data[c.session_token->len] != 0 ||
		    !c.expiration)
			abort();
		aur_aws_creds_clear(&c);
	}
	free(text);
	return 0;
}
