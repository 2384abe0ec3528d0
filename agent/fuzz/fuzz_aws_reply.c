// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the AWS KMS provider's reply parser.
 *
 * Input: byte 0 picks the HTTP status, byte 1 bit 0 says whether bytes
 * 2..33 also serve as an x-amzn-ErrorType header; the rest is the body.
 * Every reply is classified and, when accepted, run through every
 * extractor (DescribeKey metadata, Plaintext into secmem, CiphertextBlob).
 * Invariants checked: a 5xx or 2xx reply is never a definitive answer; a
 * decoded Plaintext has the requested length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kms/aws/kms_aws.h"

static const long statuses[] = { 200, 400, 403, 404, 429, 500, 502, 503 };
static struct aur_blob blob;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_kms_status st;
	struct aur_kms_key_info info;
	struct aur_secret *s = NULL;
	struct json_object *o = NULL;
	char hdr[33];
	const char *body;
	size_t len;
	long status;
	enum aur_kms_err e;

	if (size < 2)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	hdr[0] = 0;
	if ((data[1] & 1) && size >= 34) {
		memcpy(hdr, data + 2, 32);
		hdr[32] = 0;
	}
	body = (const char *)data + 2;
	len = size - 2;

	e = aur_kms_aws_parse_reply("Fuzz", status, hdr[0] ? hdr : NULL, body, len, &o, &st);
	if ((status >= 500 || status < 300) && aur_kms_err_is_definitive(e))
		abort();
	if (e != AUR_KMS_OK) {
		if (o)
			abort();
		return 0;
	}
	(void)aur_kms_aws_parse_key_metadata(o, &info, &st);
	(void)aur_kms_aws_take_blob(o, "CiphertextBlob", &blob, &st);
	if (aur_kms_aws_take_plaintext(o, 64, &s, &st) == AUR_KMS_OK) {
		if (!s || s->len != 64)
			abort();
		aur_secret_free(s);
		s = NULL;
	}
	if (aur_kms_aws_take_plaintext(o, 0, &s, &st) == AUR_KMS_OK)
		aur_secret_free(s);
	json_object_put(o);
	return 0;
}
