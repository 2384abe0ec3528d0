/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the one parser of KMS ARNs,
 * "arn:<partition>:kms:<region>:<account>:<resource>" (resource "key/<id>"
 * or "alias/<name>").  Stand-alone: the AWS provider builds with it alone.
 */
#ifndef AURORA_ARN_H
#define AURORA_ARN_H

#include "kms/kms.h"

#define AUR_ARN_PARTITION_MAX	32

/* Which part of an ARN is wrong (the first one, in text order). */
enum aur_arn_bad {
	AUR_ARN_OK = 0,
	AUR_ARN_BAD_SERVICE,		/* not "arn:<partition>:kms:" */
	AUR_ARN_BAD_REGION,		/* missing, empty or too long */
	AUR_ARN_BAD_ACCOUNT,		/* missing, empty or too long */
	AUR_ARN_BAD_RESOURCE,		/* empty or too long */
};

struct aur_arn {
	char partition[AUR_ARN_PARTITION_MAX];
	char region[AUR_REGION_MAX];
	char account[AUR_ACCOUNT_MAX];
	char resource[AUR_ARN_MAX + 8];	/* "alias/" and a name of up to 255 */
};

/* Split @s into @a: AUR_ARN_OK or the first bad part (@a then undefined). */
enum aur_arn_bad aur_arn_parse(const char *s, struct aur_arn *a);

#endif /* AURORA_ARN_H */
