/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: AWS credentials, from the places an AWS user expects.
 *
 * Order (the AWS SDKs' default chain), reloaded for every KMS call (a file
 * or the environment may change; instance credentials expire):
 *  1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *     (+ AWS_SESSION_TOKEN), unless a profile was named explicitly in the
 *     configuration (an explicit profile wins, as with `aws --profile`);
 *  2. the shared credentials file: the configured path, else
 *     AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials; section = the
 *     configured profile, else AWS_PROFILE, else "default"; keys
 *     aws_access_key_id, aws_secret_access_key, aws_session_token;
 *  3. the shared config file: AWS_CONFIG_FILE, else ~/.aws/config, section
 *     [profile <name>] ([default] for "default"), the same static keys;
 *  4. (no explicit profile) the EC2 instance metadata service, IMDSv2:
 *     a session token (PUT /latest/api/token), the role
 *     (GET /latest/meta-data/iam/security-credentials/), its credentials
 *     (.../<role>: AccessKeyId, SecretAccessKey, Token, Expiration).
 *     AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254,
 *     AWS_EC2_METADATA_DISABLED=true turns it off; 1 s to connect.
 *
 * Never from argv.  The secret key and the session token are kept in locked
 * secret memory and are never logged: error messages name the source and
 * the missing key, never a value.
 */
#ifndef AURORA_AWS_CREDS_H
#define AURORA_AWS_CREDS_H

#include <stddef.h>
#include <stdint.h>

#include "util/secmem.h"

#define AUR_AWS_ACCESS_KEY_MAX	128

struct aur_aws_creds {
	char access_key[AUR_AWS_ACCESS_KEY_MAX];
	struct aur_secret *secret_key;		/* not NUL-terminated; ->len */
	struct aur_secret *session_token;	/* NUL-terminated, or NULL */
	char source[160];			/* "environment", "file:profile",
						 * "config:profile",
						 * "instance-metadata:role" */
	int64_t expiration;			/* seconds since the epoch; 0: none */
};

/* Refresh instance credentials this long before they expire. */
#define AUR_AWS_CREDS_REFRESH_MARGIN	300

/*
 * Load credentials from sources 1-3 (see above).  @profile and @file may be
 * NULL.  Returns 0, -ENOENT when none were found, -EINVAL on a malformed
 * file or incomplete pair, -ENOMEM; @err (may be NULL) gets a message
 * without any secret.
 */
int aur_aws_creds_load_static(struct aur_aws_creds *c, const char *profile,
			      const char *file, char *err, size_t errlen);
/* The whole chain, 1-4, without caching. */
int aur_aws_creds_load(struct aur_aws_creds *c, const char *profile,
		       const char *file, char *err, size_t errlen);
/* Source 4 only (imds.c): 0, -ENOENT (none, disabled, unreachable), -EINVAL, -ENOMEM. */
int aur_aws_imds_fetch(struct aur_aws_creds *c, long connect_ms, long total_ms,
		       char *err, size_t errlen);
/* Parse the role credentials JSON (for the fuzzer and tests): 0 or -EINVAL/-ENOMEM. */
int aur_aws_imds_parse(const char *text, size_t len, struct aur_aws_creds *c,
		       char *err, size_t errlen);
/* Deep copy (the secrets into new locked memory): 0 or -ENOMEM. */
int aur_aws_creds_copy(struct aur_aws_creds *dst, const struct aur_aws_creds *src);
void aur_aws_creds_clear(struct aur_aws_creds *c);

#endif /* AURORA_AWS_CREDS_H */
