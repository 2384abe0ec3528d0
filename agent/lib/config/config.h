/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the configuration file /etc/aurora/aurora.conf.
 *
 *   # comment
 *   provider = local            # local | aws
 *   account  = 111122223333     # the caller's account (12 digits)
 *   region   = us-east-1
 *   keystore = /var/lib/aurora/kms
 *   interval = 300              # seconds between CMK checks (aurora agent)
 *   endpoint = https://...      # aws provider: KMS endpoint override
 *   ca_bundle = /path/ca.pem    # aws provider: CA bundle for TLS
 *
 * One `key = value` per line; unknown keys and malformed lines are errors
 * naming the line.  The path is --config, else $AURORA_CONF, else the default.
 */
#ifndef AURORA_CONFIG_H
#define AURORA_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "kms/kms.h"

#define AUR_CONF_DEFAULT	"/etc/aurora/aurora.conf"
#define AUR_KEYSTORE_DEFAULT	"/var/lib/aurora/kms"
#define AUR_ACCOUNT_DEFAULT	"000000000000"
#define AUR_REGION_DEFAULT	"us-east-1"
#define AUR_CONF_MAX_SIZE	(64 * 1024)

struct aur_config {
	char path[PATH_MAX];		/* file read, "" if none */
	char provider[16];		/* "local" or "aws" */
	char account[AUR_ACCOUNT_MAX];
	char region[AUR_REGION_MAX];
	char keystore[PATH_MAX];
	unsigned int interval;		/* seconds */
	char endpoint[512];
	char ca_bundle[PATH_MAX];
	char profile[64];		/* aws shared-credentials profile */
	unsigned int connect_timeout;	/* seconds, aws */
	unsigned int timeout;		/* seconds, aws */
};

void aur_config_defaults(struct aur_config *cfg);
/* Parse text (for tests and the fuzzer); err names the line. */
int aur_config_parse(struct aur_config *cfg, const char *text, size_t len,
		     char *err, size_t errlen);
/*
 * Load: @path explicit (must exist), else $AURORA_CONF (must exist), else
 * the default file if present.  Defaults fill what the file leaves out.
 */
int aur_config_load(struct aur_config *cfg, const char *path, char *err, size_t errlen);

bool aur_account_valid(const char *s);
bool aur_region_valid(const char *s);

/*
 * Instantiate the configured KMS provider.  "local" is kms_local.c; "aws"
 * is kms_aws.c (issue 6), configured from region, account, endpoint,
 * ca_bundle, profile and the timeouts.  Returns 0 or a negative errno with
 * a message in @st.
 */
int aur_kms_open(const struct aur_config *cfg, struct aur_kms **out,
		 struct aur_kms_status *st);

#endif /* AURORA_CONFIG_H */
