/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the one base64 codec (RFC 4648, standard alphabet, padded).
 *
 * Decoding is strict everywhere: the length is a multiple of four, padding
 * only at the very end, no white space, and the unused bits before the
 * padding are zero (one text per byte string).  Stand-alone (OpenSSL only),
 * so the AWS provider builds without the rest of util/.
 */
#ifndef AURORA_BASE64_H
#define AURORA_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "aurora/aurora.h"

/* Length @s (@len characters) decodes to, or -1 when @len is impossible. */
long aur_b64_decoded_len(const char *s, size_t len);
/* Decode @len characters of @s into @out: the decoded length or -1. */
long aur_b64_decode(const char *s, size_t len, uint8_t *out, size_t outlen);

#endif /* AURORA_BASE64_H */
