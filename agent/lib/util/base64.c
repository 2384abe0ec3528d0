// SPDX-License-Identifier: GPL-2.0
/* aurora: the one base64 codec (see base64.h). */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/base64.h"

static int b64v(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long aur_b64_decoded_len(const char *s, size_t len)
{
	size_t pad = 0;

	if (len % 4 || len > (size_t)LONG_MAX / 2)
		return -1;
	if (len && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	return (long)(len / 4 * 3 - pad);
}

long aur_b64_decode(const char *s, size_t len, uint8_t *out, size_t outlen)
{
	long n = aur_b64_decoded_len(s, len);
	size_t o = 0;

	if (n < 0 || (size_t)n > outlen)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		bool last = i + 4 == len;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];

			if (c == '=' && last && k >= 2 &&
			    (k == 3 || s[i + 3] == '=')) {
				v[k] = -2;
			} else {
				v[k] = b64v(c);
				if (v[k] < 0)
					return -1;
			}
		}
		out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
		if (v[2] == -2) {
			if (v[1] & 15)		/* non-canonical padding bits */
				return -1;
			break;
		}
		out[o++] = (uint8_t)((v[1] & 15) << 4 | v[2] >> 2);
		if (v[3] == -2) {
			if (v[2] & 3)
				return -1;
			break;
		}
		out[o++] = (uint8_t)((v[2] & 3) << 6 | v[3]);
	}
	return (long)o == n ? n : -1;
}

int aur_base64_decode(const char *in, uint8_t *out, size_t outsize)
{
	long n = aur_b64_decode(in, strlen(in), out, outsize);

	return n < 0 || n > INT_MAX ? -1 : (int)n;
}

int aur_base64_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
	if (len > INT_MAX / 2 || outsize < aur_base64_encoded_size(len))
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}
