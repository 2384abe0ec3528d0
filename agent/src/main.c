// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the command-line interface, a thin layer over libaurora.
 * See Documentation/aurora.md and aurora(8) for commands, configuration
 * and exit codes; cli.h for how a verb is added.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

#define AURORA_VERSION "0.1"

static int cmd_version(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	printf("aurora %s\n", AURORA_VERSION);
	return 0;
}

static const struct aur_cli_cmd main_cmds[] = {
	{
		.name = "version",
		.list = "  version                  print the version\n",
		.usage = "version",
		.description = "Print the version.\n\n",
		.run = cmd_version,
	},
	{ .name = NULL }
};

/* Every group's table, in the order of `aurora --help`. */
static const struct aur_cli_cmd *const groups[] = {
	aur_cli_volume_cmds, aur_cli_kms_cmds, main_cmds, aur_cli_agent_cmds,
	aur_cli_backup_cmds,
};
#define N_GROUPS	(sizeof(groups) / sizeof(groups[0]))

static const struct aur_cli_cmd *find_cmd(const char *name)
{
	const struct aur_cli_cmd *c;
	size_t g;

	for (g = 0; g < N_GROUPS; g++)
		for (c = groups[g]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

static void usage_main(FILE *f)
{
	const struct aur_cli_cmd *c;
	size_t g;

	fprintf(f, "Usage: aurora [global options] <command> [options]\n\nCommands:\n");
	for (g = 0; g < N_GROUPS; g++)
		for (c = groups[g]; c->name; c++)
			fputs(c->list, f);
	fprintf(f,
		"\n%s\n%s\n"
		"Exit codes: 0 ok, 1 failure, 2 usage/configuration, 3 header (none, damaged,\n"
		"unsupported), 4 KMS refused (key disabled, deleted, access denied, bad blob),\n"
		"5 KMS unavailable (retry), 6 volume terminal (restore from a backup),\n"
		"7 busy or existing data (see --force), 8 not found, 9 kernel (device-mapper,\n"
		"keyring, module).\n",
		aur_cli_global_help, aur_cli_nochange);
}

/*
 * `aurora help --list`: every verb and its options, one per line
 * ("format", "format --force", ...), for tests/host/man.sh to hold the
 * man page to the table.  Sub-operations (kms) come from their tables.
 */
static void list_cmds(void)
{
	const struct aur_cli_cmd *c;
	const struct aur_cli_opt *o;
	size_t g;

	for (g = 0; g < N_GROUPS; g++) {
		for (c = groups[g]; c->name; c++) {
			printf("%s\n", c->name);
			for (o = c->opts; o && o->name; o++)
				printf("%s --%s\n", c->name, o->name);
		}
	}
	aur_cli_kms_list_ops(stdout);
}

int main(int argc, char **argv)
{
	const struct aur_cli_cmd *cmd;
	struct option lo[16];
	size_t n = 0;
	int c;

	aur_log_init("aurora", false, AUR_LOG_INFO);
	if (aur_secmem_harden_process())
		aur_warn("cannot disable core dumps: %s", strerror(errno));
	aur_dm_init_logging();
	umask(077);

	lo[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	n += aur_cli_global_options(lo + n, sizeof(lo) / sizeof(lo[0]) - n - 1);
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = getopt_long(argc, argv, "+hvV", lo, NULL)) != -1) {
		int r;

		if (c == 'V')
			return cmd_version(NULL, 0, NULL);
		r = aur_cli_global_opt(c);
		if (r < 0) {
			usage_main(stdout);
			return 0;
		}
		if (!r) {
			usage_main(stderr);
			return AUR_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage_main(stderr);
		return AUR_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* full getopt re-initialisation: permute from here on */
	if (!strcmp(argv[0], "help")) {
		if (argc > 1 && !strcmp(argv[1], "--list"))
			list_cmds();
		else
			usage_main(stdout);
		return 0;
	}
	cmd = find_cmd(argv[0]);
	if (!cmd) {
		fprintf(stderr, "aurora: unknown command \"%s\"\n", argv[0]);
		usage_main(stderr);
		return AUR_EXIT_USAGE;
	}
	return cmd->run(cmd, argc, argv);
}
