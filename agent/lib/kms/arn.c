// SPDX-License-Identifier: GPL-2.0
/* aurora: the one KMS ARN parser (see arn.h). */
#include <string.h>

#include "kms/arn.h"

/*
 * Copy the field that starts at *@p and ends before the next ':' (or at the
 * end of the string when @last) into @dst; advance *@p past it.
 */
static bool take_field(const char **p, bool last, char *dst, size_t size)
{
	const char *end = last ? *p + strlen(*p) : strchr(*p, ':');
	size_t n;

	if (!end)
		return false;
	n = (size_t)(end - *p);
	if (n == 0 || n >= size)
		return false;
	memcpy(dst, *p, n);
	dst[n] = '\0';
	*p = last ? end : end + 1;
	return true;
}

enum aur_arn_bad aur_arn_parse(const char *s, struct aur_arn *a)
{
	char service[8];
	const char *p = s;

	if (!s || strncmp(s, "arn:", 4))
		return AUR_ARN_BAD_SERVICE;
	p += 4;
	if (!take_field(&p, false, a->partition, sizeof(a->partition)) ||
	    !take_field(&p, false, service, sizeof(service)) || strcmp(service, "kms"))
		return AUR_ARN_BAD_SERVICE;
	if (!take_field(&p, false, a->region, sizeof(a->region)))
		return AUR_ARN_BAD_REGION;
	if (!take_field(&p, false, a->account, sizeof(a->account)))
		return AUR_ARN_BAD_ACCOUNT;
	if (!take_field(&p, true, a->resource, sizeof(a->resource)))
		return AUR_ARN_BAD_RESOURCE;
	return AUR_ARN_OK;
}
