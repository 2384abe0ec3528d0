/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora CLI: the command table and what the cmd_*.c files share.
 *
 * Every verb is one struct aur_cli_cmd in the table of its group
 * (cmd_volume.c, cmd_kms.c, cmd_agent.c; a new group adds a table and one
 * line in main.c).  The table is the one source of a verb's options (for
 * getopt_long), its --help, its line in `aurora --help` and of
 * `aurora help --list`, which tests/host/man.sh checks against aurora(8).
 */
#ifndef AURORA_CLI_H
#define AURORA_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "aurora/aurora.h"

struct aur_cli_globals {
	const char *config_path;	/* --config */
	const char *keystore, *account, *region;	/* overrides */
	bool json, verbose;
	struct aur_config cfg;		/* filled by aur_cli_load_config() */
};
extern struct aur_cli_globals aur_cli;

/* One option of a verb: getopt_long's view plus its lines in --help. */
struct aur_cli_opt {
	const char *name;		/* long name, without "--" */
	int has_arg;			/* no_argument or required_argument */
	int val;			/* what getopt_long returns for it */
	const char *help;		/* its --help lines, laid out; NULL: not listed */
};

/* Help ends with the note that encryption and a volume's CMK never change. */
#define AUR_CLI_NOCHANGE	0x1
/* An invalid option prints the whole help to stderr (else one line). */
#define AUR_CLI_HELP_ON_ERROR	0x2

struct aur_cli_cmd {
	const char *name;		/* the verb */
	const char *list;		/* its lines in `aurora --help`, laid out */
	const char *usage;		/* after "Usage: aurora " in --help */
	const char *description;	/* --help text before the options */
	const struct aur_cli_opt *opts;	/* ends with a NULL name; NULL: none */
	const char *epilogue;		/* --help text after the options, or NULL */
	/* Sub-operations listed in --help between description and options. */
	void (*help_subs)(FILE *f);
	unsigned int flags;		/* AUR_CLI_* */
	/* argv[0] is the verb; getopt is re-initialised.  The exit code. */
	int (*run)(const struct aur_cli_cmd *cmd, int argc, char **argv);
};

/* The groups' tables, each ending with a NULL name. */
extern const struct aur_cli_cmd aur_cli_volume_cmds[];
extern const struct aur_cli_cmd aur_cli_kms_cmds[];
extern const struct aur_cli_cmd aur_cli_agent_cmds[];
extern const struct aur_cli_cmd aur_cli_backup_cmds[];

extern const char aur_cli_global_help[];
extern const char aur_cli_nochange[];

/* The global options (--config ... --help) into @lo: how many (at most @max). */
size_t aur_cli_global_options(struct option *lo, size_t max);
/* Handle global option @c (optarg set by getopt): 1 handled, -1 --help, 0 not global. */
int aur_cli_global_opt(int c);
/* "kms <operation>" lines of `aurora help --list`. */
void aur_cli_kms_list_ops(FILE *f);

/* Print @cmd's --help to @f. */
void aur_cli_help(const struct aur_cli_cmd *cmd, FILE *f);

/* What aur_cli_parse() returns when the command goes on with argv[optind..]. */
#define AUR_CLI_GO_ON	(-1)
/*
 * getopt_long over @cmd's options and the global ones.  Each of the
 * command's own goes to @on_opt (optarg as @arg), which returns 0 or an exit
 * code that ends parsing.  Returns AUR_CLI_GO_ON, or the exit code to return
 * (0 after --help, which is printed here).
 */
int aur_cli_parse(const struct aur_cli_cmd *cmd, int argc, char **argv,
		  int (*on_opt)(int val, const char *arg, void *ctx), void *ctx);

/* "aurora <cmd>: <message>\nTry 'aurora <cmd> --help'." on stderr: AUR_EXIT_USAGE. */
int aur_cli_fail_usage(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report a library error (stderr; also JSON on stdout with --json): its exit code. */
int aur_cli_report(const struct aur_error *e);
/* Print @o pretty to stdout and put it. */
void aur_cli_print_json(struct json_object *o);
/* Configuration file plus command-line overrides; returns an exit code. */
int aur_cli_load_config(void);
/* aur_cli_load_config() then the configured KMS provider; exit code. */
int aur_cli_open_kms(struct aur_kms **kms);

#endif /* AURORA_CLI_H */
