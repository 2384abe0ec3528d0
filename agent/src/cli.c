// SPDX-License-Identifier: GPL-2.0
/*
 * aurora CLI: what every verb shares: global options, option parsing from
 * the command table, --help from the table, error reports, configuration.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct aur_cli_globals aur_cli;

const char aur_cli_global_help[] =
	"Global options (anywhere on the command line):\n"
	"  --config FILE     configuration file (default $AURORA_CONF, else /etc/aurora/aurora.conf)\n"
	"  --keystore DIR    embedded KMS keystore (default /var/lib/aurora/kms)\n"
	"  --account ID      caller's 12-digit account\n"
	"  --region NAME     caller's region\n"
	"  --json            machine-readable output\n"
	"  -v, --verbose     debug messages\n"
	"  -h, --help        help for the command\n";

const char aur_cli_nochange[] =
	"Encryption cannot be removed from a volume and a volume's CMK cannot be changed:\n"
	"no aurora command does either. To move data to another CMK or to plain storage,\n"
	"restore a backup into a new volume.\n";

/* getopt_long option codes of the global options. */
enum { OPT_CONFIG = 1000, OPT_KEYSTORE, OPT_ACCOUNT, OPT_REGION, OPT_JSON };

static const struct option global_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "keystore", required_argument, NULL, OPT_KEYSTORE },
	{ "account", required_argument, NULL, OPT_ACCOUNT },
	{ "region", required_argument, NULL, OPT_REGION },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};
#define N_GLOBAL	(sizeof(global_opts) / sizeof(global_opts[0]))
#define MAX_OPTS	32

size_t aur_cli_global_options(struct option *lo, size_t max)
{
	size_t i;

	for (i = 0; i < N_GLOBAL && i < max; i++)
		lo[i] = global_opts[i];
	return i;
}

int aur_cli_global_opt(int c)
{
	switch (c) {
	case OPT_CONFIG: aur_cli.config_path = optarg; return 1;
	case OPT_KEYSTORE: aur_cli.keystore = optarg; return 1;
	case OPT_ACCOUNT: aur_cli.account = optarg; return 1;
	case OPT_REGION: aur_cli.region = optarg; return 1;
	case OPT_JSON: aur_cli.json = true; return 1;
	case 'v': aur_cli.verbose = true; aur_log_set_level(AUR_LOG_DEBUG); return 1;
	case 'h': return -1;
	default: return 0;
	}
}

void aur_cli_help(const struct aur_cli_cmd *cmd, FILE *f)
{
	const struct aur_cli_opt *o;
	bool listed = false;

	fprintf(f, "Usage: aurora %s\n\n%s", cmd->usage, cmd->description);
	if (cmd->help_subs) {
		cmd->help_subs(f);
		fputc('\n', f);
	}
	for (o = cmd->opts; o && o->name; o++) {
		if (o->help) {
			fputs(o->help, f);
			listed = true;
		}
	}
	if (listed)
		fputc('\n', f);
	if (cmd->epilogue)
		fputs(cmd->epilogue, f);
	fputs(aur_cli_global_help, f);
	if (cmd->flags & AUR_CLI_NOCHANGE)
		fprintf(f, "\n%s", aur_cli_nochange);
}

int aur_cli_parse(const struct aur_cli_cmd *cmd, int argc, char **argv,
		  int (*on_opt)(int val, const char *arg, void *ctx), void *ctx)
{
	struct option lo[MAX_OPTS + N_GLOBAL + 1];
	const struct aur_cli_opt *o;
	size_t n = 0;
	int c, r;

	for (o = cmd->opts; o && o->name && n < MAX_OPTS; o++, n++)
		lo[n] = (struct option){ o->name, o->has_arg, NULL, o->val };
	n += aur_cli_global_options(lo + n, N_GLOBAL);
	lo[n] = (struct option){ NULL, 0, NULL, 0 };

	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		r = aur_cli_global_opt(c);
		if (r < 0) {
			aur_cli_help(cmd, stdout);
			return 0;
		}
		if (r > 0)
			continue;
		for (o = cmd->opts; o && o->name && o->val != c; o++)
			;
		if (o && o->name && on_opt) {
			r = on_opt(c, optarg, ctx);
			if (r)
				return r;
			continue;
		}
		if (cmd->flags & AUR_CLI_HELP_ON_ERROR) {
			aur_cli_help(cmd, stderr);
			return AUR_EXIT_USAGE;
		}
		return aur_cli_fail_usage(cmd->name, "invalid option");
	}
	return AUR_CLI_GO_ON;
}

int aur_cli_fail_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aurora %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'aurora %s --help'.\n", cmd);
	return AUR_EXIT_USAGE;
}

int aur_cli_report(const struct aur_error *e)
{
	if (aur_cli.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(e->msg));
		json_object_object_add(o, "exit_code", json_object_new_int(e->exit_code));
		if (e->kms_code)
			json_object_object_add(o, "kms_error",
					       json_object_new_string(aur_kms_err_name(e->kms_code)));
		aur_cli_print_json(o);
	}
	fprintf(stderr, "aurora: error: %s\n", e->msg);
	return e->exit_code ? e->exit_code : AUR_EXIT_FAILURE;
}

void aur_cli_print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int aur_cli_load_config(void)
{
	struct aur_config *cfg = &aur_cli.cfg;
	char err[512];

	if (aur_config_load(cfg, aur_cli.config_path, err, sizeof(err))) {
		fprintf(stderr, "aurora: configuration: %s\n", err);
		return AUR_EXIT_USAGE;
	}
	if (aur_cli.keystore) {
		if (aur_cli.keystore[0] != '/' ||
		    aur_strcpy(cfg->keystore, sizeof(cfg->keystore), aur_cli.keystore)) {
			fprintf(stderr, "aurora: --keystore must be an absolute path\n");
			return AUR_EXIT_USAGE;
		}
	}
	if (aur_cli.account) {
		if (!aur_account_valid(aur_cli.account)) {
			fprintf(stderr, "aurora: --account must be 12 digits\n");
			return AUR_EXIT_USAGE;
		}
		aur_strcpy(cfg->account, sizeof(cfg->account), aur_cli.account);
	}
	if (aur_cli.region) {
		if (!aur_region_valid(aur_cli.region)) {
			fprintf(stderr, "aurora: --region must be lower-case letters, digits and '-'\n");
			return AUR_EXIT_USAGE;
		}
		aur_strcpy(cfg->region, sizeof(cfg->region), aur_cli.region);
	}
	return 0;
}

int aur_cli_open_kms(struct aur_kms **kms)
{
	struct aur_kms_status st;
	int r = aur_cli_load_config();

	if (r)
		return r;
	if (aur_kms_open(&aur_cli.cfg, kms, &st)) {
		fprintf(stderr, "aurora: KMS provider %s: %s\n", aur_cli.cfg.provider, st.message);
		return st.code == AUR_KMS_E_INVALID_ARG ? AUR_EXIT_USAGE : AUR_EXIT_FAILURE;
	}
	return 0;
}
