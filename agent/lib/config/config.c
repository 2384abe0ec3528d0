// SPDX-License-Identifier: GPL-2.0
/* aurora: configuration file (see config.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "kms/aws/kms_aws.h"
#include "kms/local/kms_local.h"
#include "util/util.h"

void aur_config_defaults(struct aur_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	aur_strcpy(cfg->provider, sizeof(cfg->provider), "local");
	aur_strcpy(cfg->account, sizeof(cfg->account), AUR_ACCOUNT_DEFAULT);
	aur_strcpy(cfg->region, sizeof(cfg->region), AUR_REGION_DEFAULT);
	aur_strcpy(cfg->keystore, sizeof(cfg->keystore), AUR_KEYSTORE_DEFAULT);
	cfg->interval = 300;
	cfg->connect_timeout = 5;
	cfg->timeout = 15;
	cfg->confirm_passes = 3;
	cfg->recovery_window = 7 * 86400;
	cfg->max_unverified = 15 * 60;
}

#define DURATION_MAX	(10ull * 366 * 86400)

int aur_parse_duration(const char *s, uint64_t *out)
{
	char num[24];
	size_t n = s ? strlen(s) : 0;
	uint64_t mult = 1, x;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		if (!isdigit((unsigned char)num[n - 1]))
			return -EINVAL;
		n++;
		break;
	}
	num[n - 1] = '\0';
	if (aur_parse_u64(num, &x) || x > DURATION_MAX / mult)
		return -EINVAL;
	*out = x * mult;
	return 0;
}

bool aur_account_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != 12)
		return false;
	for (i = 0; i < 12; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool aur_region_valid(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n >= AUR_REGION_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static int set_uint(unsigned int *dst, const char *v, unsigned int min, unsigned int max)
{
	uint64_t x;

	if (aur_parse_u64(v, &x) || x < min || x > max)
		return -EINVAL;
	*dst = (unsigned int)x;
	return 0;
}

static int set_kv(struct aur_config *cfg, const char *k, const char *v, char *why, size_t whylen)
{
	int r;

	if (!strcmp(k, "provider")) {
		if (strcmp(v, "local") && strcmp(v, "aws")) {
			snprintf(why, whylen, "provider must be \"local\" or \"aws\"");
			return -EINVAL;
		}
		return aur_strcpy(cfg->provider, sizeof(cfg->provider), v);
	}
	if (!strcmp(k, "account")) {
		if (!aur_account_valid(v)) {
			snprintf(why, whylen, "account must be 12 digits");
			return -EINVAL;
		}
		return aur_strcpy(cfg->account, sizeof(cfg->account), v);
	}
	if (!strcmp(k, "region")) {
		if (!aur_region_valid(v)) {
			snprintf(why, whylen, "region must be lower-case letters, digits and '-'");
			return -EINVAL;
		}
		return aur_strcpy(cfg->region, sizeof(cfg->region), v);
	}
	if (!strcmp(k, "keystore")) {
		if (v[0] != '/') {
			snprintf(why, whylen, "keystore must be an absolute path");
			return -EINVAL;
		}
		r = aur_strcpy(cfg->keystore, sizeof(cfg->keystore), v);
		goto len;
	}
	if (!strcmp(k, "interval")) {
		r = set_uint(&cfg->interval, v, 1, 7 * 86400);
		if (r)
			snprintf(why, whylen, "interval must be 1..604800 seconds");
		return r;
	}
	if (!strcmp(k, "connect_timeout")) {
		r = set_uint(&cfg->connect_timeout, v, 1, 600);
		if (r)
			snprintf(why, whylen, "connect_timeout must be 1..600 seconds");
		return r;
	}
	if (!strcmp(k, "timeout")) {
		r = set_uint(&cfg->timeout, v, 1, 3600);
		if (r)
			snprintf(why, whylen, "timeout must be 1..3600 seconds");
		return r;
	}
	if (!strcmp(k, "confirm_passes")) {
		r = set_uint(&cfg->confirm_passes, v, 1, 1000);
		if (r)
			snprintf(why, whylen, "confirm_passes must be 1..1000");
		return r;
	}
	if (!strcmp(k, "recovery_window") || !strcmp(k, "max_unverified")) {
		uint64_t d;

		if (aur_parse_duration(v, &d)) {
			snprintf(why, whylen, "%s must be a duration: a number with an optional "
				 "s, m, h or d suffix (at most 10 years)", k);
			return -EINVAL;
		}
		if (!strcmp(k, "recovery_window"))
			cfg->recovery_window = d;
		else
			cfg->max_unverified = d;
		return 0;
	}
	if (!strcmp(k, "endpoint")) {
		if (!aur_str_has_prefix(v, "https://") && !aur_str_has_prefix(v, "http://")) {
			snprintf(why, whylen, "endpoint must be an http:// or https:// URL");
			return -EINVAL;
		}
		r = aur_strcpy(cfg->endpoint, sizeof(cfg->endpoint), v);
		goto len;
	}
	if (!strcmp(k, "ca_bundle")) {
		r = aur_strcpy(cfg->ca_bundle, sizeof(cfg->ca_bundle), v);
		goto len;
	}
	if (!strcmp(k, "profile")) {
		r = aur_strcpy(cfg->profile, sizeof(cfg->profile), v);
		goto len;
	}
	snprintf(why, whylen, "unknown key \"%.64s\"", k);
	return -EINVAL;
len:
	if (r)
		snprintf(why, whylen, "value too long");
	return r;
}

int aur_config_parse(struct aur_config *cfg, const char *text, size_t len,
		     char *err, size_t errlen)
{
	size_t pos = 0;
	unsigned int lineno = 0;
	char line[PATH_MAX + 64];

	if (len > AUR_CONF_MAX_SIZE) {
		snprintf(err, errlen, "configuration file larger than %d bytes", AUR_CONF_MAX_SIZE);
		return -EFBIG;
	}
	while (pos < len) {
		size_t end = pos, n;
		char *l, *eq, *k, *v, why[128] = "";

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "line %u: too long", lineno);
			return -EINVAL;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n)) {
			snprintf(err, errlen, "line %u: NUL byte", lineno);
			return -EINVAL;
		}
		l = aur_strtrim(line);
		if (!*l || *l == '#')
			continue;
		eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "line %u: expected \"key = value\"", lineno);
			return -EINVAL;
		}
		*eq = '\0';
		k = aur_strtrim(l);
		v = aur_strtrim(eq + 1);
		/* A trailing comment after the value. */
		{
			char *hash = strstr(v, " #");

			if (!hash)
				hash = strstr(v, "\t#");
			if (hash) {
				*hash = '\0';
				v = aur_strtrim(v);
			}
		}
		if (!*k || !*v) {
			snprintf(err, errlen, "line %u: empty key or value", lineno);
			return -EINVAL;
		}
		if (set_kv(cfg, k, v, why, sizeof(why))) {
			snprintf(err, errlen, "line %u: %s", lineno, why[0] ? why : "invalid value");
			return -EINVAL;
		}
	}
	return 0;
}

int aur_config_load(struct aur_config *cfg, const char *path, char *err, size_t errlen)
{
	const char *env = getenv("AURORA_CONF");
	bool must = true;
	char *text = NULL;
	size_t len = 0;
	int r;

	aur_config_defaults(cfg);
	/*
	 * AWS_REGION, else AWS_DEFAULT_REGION, is the region when the file
	 * has no `region` line (as for the AWS CLI and SDKs); the file wins.
	 */
	{
		const char *names[] = { "AWS_REGION", "AWS_DEFAULT_REGION" };

		for (size_t i = 0; i < 2; i++) {
			const char *reg = getenv(names[i]);

			if (!reg || !*reg)
				continue;
			if (!aur_region_valid(reg)) {
				snprintf(err, errlen, "%s: bad region (lower-case letters, digits and '-')",
					 names[i]);
				return -EINVAL;
			}
			aur_strcpy(cfg->region, sizeof(cfg->region), reg);
			break;
		}
	}
	if (!path || !*path)
		path = (env && *env) ? env : NULL;
	if (!path) {
		path = AUR_CONF_DEFAULT;
		must = false;
	}
	r = aur_read_file(path, AUR_CONF_MAX_SIZE, &text, &len);
	if (r == -ENOENT && !must)
		return 0;
	if (r) {
		snprintf(err, errlen, "%s: %s", path,
			 r == -EFBIG ? "file too large" : strerror(-r));
		return r;
	}
	aur_strcpy(cfg->path, sizeof(cfg->path), path);
	{
		char e2[200] = "";

		r = aur_config_parse(cfg, text, len, e2, sizeof(e2));
		if (r)
			snprintf(err, errlen, "%s: %s", path, e2);
	}
	free(text);
	return r;
}

int aur_kms_open(const struct aur_config *cfg, struct aur_kms **out,
		 struct aur_kms_status *st)
{
	memset(st, 0, sizeof(*st));
	*out = NULL;
	if (!strcmp(cfg->provider, "local")) {
		struct aur_kms_local_opts o = {
			.keystore = cfg->keystore,
			.account = cfg->account,
			.region = cfg->region,
		};

		return aur_kms_local_new(&o, out, st);
	}
	if (!strcmp(cfg->provider, "aws")) {
		return aur_kms_aws_new(cfg, out, st);
	}
	st->code = AUR_KMS_E_INVALID_ARG;
	snprintf(st->message, sizeof(st->message), "unknown KMS provider \"%s\"", cfg->provider);
	return -EINVAL;
}
