// SPDX-License-Identifier: GPL-2.0
/* aurora: the AWS KMS provider's settings (see kms_aws.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kms/aws/http.h"
#include "kms/aws/kms_aws.h"

void aur_kms_aws_config_init(struct aur_kms_aws_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout_ms = 3000;
	cfg->timeout_ms = 10000;
	cfg->max_attempts = 5;
	cfg->retry_base_ms = 100;
	cfg->retry_max_delay_ms = 5000;
	cfg->retry_budget_ms = 30000;
	cfg->max_response = AUR_HTTP_DEFAULT_MAX_RESPONSE;
}

static int set_str(char *dst, size_t dlen, const char *v)
{
	if (strlen(v) >= dlen)
		return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int set_long(long *dst, const char *v, long min, long max)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max)
		return -EINVAL;
	*dst = x;
	return 0;
}

/* The string options, and where each goes. */
static const struct {
	const char *name;
	size_t off, size;
} str_opts[] = {
#define STR_OPT(n, f) { n, offsetof(struct aur_kms_aws_config, f), \
			sizeof(((struct aur_kms_aws_config *)0)->f) }
	STR_OPT("region", region),
	STR_OPT("endpoint_url", endpoint),
	STR_OPT("endpoint", endpoint),
	STR_OPT("ca_bundle", ca_bundle),
	STR_OPT("profile", profile),
	STR_OPT("credentials_file", credentials_file),
	STR_OPT("account", account),
	STR_OPT("proxy", proxy),
#undef STR_OPT
};

/* The numeric options (all long in the structure) and their ranges. */
static const struct {
	const char *name;
	size_t off;
	long min, max;
} long_opts[] = {
	{ "connect_timeout_ms", offsetof(struct aur_kms_aws_config, connect_timeout_ms), 1, 600000 },
	{ "timeout_ms", offsetof(struct aur_kms_aws_config, timeout_ms), 1, 3600000 },
	{ "retry_base_ms", offsetof(struct aur_kms_aws_config, retry_base_ms), 0, 600000 },
	{ "retry_max_delay_ms", offsetof(struct aur_kms_aws_config, retry_max_delay_ms), 0, 600000 },
	{ "retry_budget_ms", offsetof(struct aur_kms_aws_config, retry_budget_ms), 0, 3600000 },
};

int aur_kms_aws_config_set(struct aur_kms_aws_config *cfg, const char *name,
			   const char *value)
{
	char *base = (char *)cfg;
	size_t i;
	long x;
	int r;

	if (!cfg || !name || !value)
		return -EINVAL;
	for (i = 0; i < sizeof(str_opts) / sizeof(str_opts[0]); i++)
		if (!strcmp(name, str_opts[i].name))
			return set_str(base + str_opts[i].off, str_opts[i].size, value);
	for (i = 0; i < sizeof(long_opts) / sizeof(long_opts[0]); i++)
		if (!strcmp(name, long_opts[i].name))
			return set_long((long *)(void *)(base + long_opts[i].off), value,
					long_opts[i].min, long_opts[i].max);
	if (!strcmp(name, "max_attempts")) {
		r = set_long(&x, value, 1, 100);
		if (!r)
			cfg->max_attempts = (unsigned int)x;
		return r;
	}
	if (!strcmp(name, "max_response")) {
		r = set_long(&x, value, 1024, 16L << 20);
		if (!r)
			cfg->max_response = (size_t)x;
		return r;
	}
	return -ENOENT;
}
