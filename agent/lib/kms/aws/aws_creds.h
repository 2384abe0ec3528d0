/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: AWS credentials, from the places an AWS user expects.
 *
 * Order (as the AWS CLI and SDKs):
 *  1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *     (+ AWS_SESSION_TOKEN), unless a profile was named explicitly in the
 *     configuration (an explicit profile wins, as with `aws --profile`);
 *  2. the shared credentials file: the configured path, else
 *     AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; section = the
 *     configured profile, else AWS_PROFILE, else "default"; keys
 *     aws_access_key_id, aws_secret_access_key, aws_session_token.
 *
 * Never from argv.  The secret key and the session token are kept in locked
 * secret memory and are never logged: error messages name the source and
 * the missing key, never a value.
 */
#ifndef AURORA_AWS_CREDS_H
#define AURORA_AWS_CREDS_H

#include <stddef.h>

#include "util/secmem.h"

#define AUR_AWS_ACCESS_KEY_MAX	128

struct aur_aws_creds {
	char access_key[AUR_AWS_ACCESS_KEY_MAX];
	struct aur_secret *secret_key;		/* not NUL-terminated; ->len */
	struct aur_secret *session_token;	/* NUL-terminated, or NULL */
	char source[160];			/* "environment", "file:profile" */
};

/*
 * Load credentials.  @profile and @file may be NULL (see above).
 * Returns 0, -ENOENT when none were found, -EINVAL on a malformed file or
 * incomplete pair, -ENOMEM; @err (may be NULL) gets a message without any
 * secret.
 */
int aur_aws_creds_load(struct aur_aws_creds *c, const char *profile,
		       const char *file, char *err, size_t errlen);
void aur_aws_creds_clear(struct aur_aws_creds *c);

#endif /* AURORA_AWS_CREDS_H */
