/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora CLI: what other files in src/ may use to add commands (e.g. the
 * watching agent's `aurora agent`).  Such a file defines aur_cli_extra();
 * aurora.c calls it for any command it does not know itself.
 */
#ifndef AURORA_CLI_H
#define AURORA_CLI_H

#include <stdbool.h>

#include "config/config.h"

struct aur_cli_globals {
	const char *config_path;	/* --config */
	const char *keystore, *account, *region;	/* overrides */
	bool json, verbose;
	struct aur_config cfg;		/* filled by aur_cli_load_config() */
};
extern struct aur_cli_globals aur_cli;

/* getopt_long option codes of the global options (see GLOBAL_OPTS). */
enum { AUR_OPT_CONFIG = 1000, AUR_OPT_KEYSTORE, AUR_OPT_ACCOUNT, AUR_OPT_REGION, AUR_OPT_JSON };
#define AUR_CLI_GLOBAL_OPTS						\
	{ "config", required_argument, NULL, AUR_OPT_CONFIG },		\
	{ "keystore", required_argument, NULL, AUR_OPT_KEYSTORE },	\
	{ "account", required_argument, NULL, AUR_OPT_ACCOUNT },	\
	{ "region", required_argument, NULL, AUR_OPT_REGION },		\
	{ "json", no_argument, NULL, AUR_OPT_JSON },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "help", no_argument, NULL, 'h' }
extern const char aur_cli_global_help[];

/* Handle global option @c (optarg set by getopt): 1 handled, -1 --help, 0 not global. */
int aur_cli_global_opt(int c);
/* Configuration file plus command-line overrides; returns an exit code. */
int aur_cli_load_config(void);
/* aur_cli_load_config() then the configured KMS provider; exit code. */
int aur_cli_open_kms(struct aur_kms **kms);

/*
 * Optional: commands defined outside aurora.c.  argv[0] is the command;
 * getopt is re-initialised (optind = 0).  Return the exit code, or -1 when
 * @cmd is not yours.
 */
int aur_cli_extra(const char *cmd, int argc, char **argv) __attribute__((weak));
/* Optional: lines for the top-level help, e.g. "  agent ...  watch CMKs\n". */
extern const char aur_cli_extra_help[] __attribute__((weak));

#endif /* AURORA_CLI_H */
