// SPDX-License-Identifier: GPL-2.0
/*
 * aurora CLI: the verbs of the watching agent and of boot-time unlock.
 *
 *   aurora agent [--once] [--interval SECONDS] [--retries N]
 *   aurora attach <name> [--tab FILE]
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

enum { A_ONCE = 1, A_INTERVAL, A_RETRIES };

static const struct aur_cli_opt agent_opts[] = {
	{ "once", no_argument, A_ONCE,
	  "  --once            one pass, then exit: 0 every verdict reached, 5 a KMS\n"
	  "                    could not be reached for some volume, 1 other errors\n" },
	{ "interval", required_argument, A_INTERVAL,
	  "  --interval S      seconds between passes (default: 'interval' in the\n"
	  "                    configuration file, else 300)\n" },
	{ "retries", required_argument, A_RETRIES,
	  "  --retries N       extra attempts on a transient KMS failure (default 4)\n" },
	{ NULL, 0, 0, NULL }
};

struct agent_args {
	bool once;
	uint64_t interval, retries;
};

static int agent_opt(int val, const char *arg, void *ctx)
{
	struct agent_args *a = ctx;

	switch (val) {
	case A_ONCE:
		a->once = true;
		break;
	case A_INTERVAL:
		if (aur_parse_u64(arg, &a->interval) || !a->interval || a->interval > 86400) {
			fprintf(stderr, "aurora agent: --interval takes 1..86400 seconds, not \"%s\"\n",
				arg);
			return AUR_EXIT_USAGE;
		}
		break;
	default:	/* A_RETRIES */
		if (aur_parse_u64(arg, &a->retries) || a->retries > 20) {
			fprintf(stderr, "aurora agent: --retries takes 0..20, not \"%s\"\n", arg);
			return AUR_EXIT_USAGE;
		}
		break;
	}
	return 0;
}

static int cmd_agent(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct agent_args a = { .retries = 4 };
	struct aur_watch_opts o;
	struct aur_kms *kms = NULL;
	bool once;
	uint64_t interval, retries;
	int r;

	r = aur_cli_parse(cmd, argc, argv, agent_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	once = a.once;
	interval = a.interval;
	retries = a.retries;
	if (optind != argc) {
		fprintf(stderr, "aurora agent: unexpected argument \"%s\"\nTry 'aurora agent --help'.\n",
			argv[optind]);
		return AUR_EXIT_USAGE;
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;

	aur_watch_opts_default(&o);
	o.interval = interval ? (unsigned int)interval :
		     (aur_cli.cfg.interval ? aur_cli.cfg.interval : 300);
	o.retries = (unsigned int)retries;
	/* Never back off for longer than the interval itself. */
	if (o.backoff_max_ms > o.interval * 1000u)
		o.backoff_max_ms = o.interval * 1000u;

	if (!once) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		aur_log_init("aurora-agent", !isatty(2), aur_cli.verbose ? AUR_LOG_DEBUG : AUR_LOG_INFO);
		r = aur_watch_run(kms, &o, &stop_flag);
		aur_kms_destroy(kms);
		return r ? AUR_EXIT_FAILURE : 0;
	} else {
		struct aur_watch_result *res = NULL;
		struct json_object *arr = NULL;
		struct aur_error err;
		size_t n = 0, i;
		int rc = 0;

		aur_error_clear(&err);
		if (aur_watch_pass(kms, &o, NULL, &res, &n, &err) < 0) {
			fprintf(stderr, "aurora agent: %s\n", err.msg);
			aur_kms_destroy(kms);
			return err.exit_code ? err.exit_code : AUR_EXIT_FAILURE;
		}
		if (aur_cli.json)
			arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			const struct aur_watch_result *x = &res[i];

			if (x->outcome == AUR_WATCH_TRANSIENT && rc == 0)
				rc = AUR_EXIT_KMS_UNAVAIL;
			if (x->outcome == AUR_WATCH_ERROR)
				rc = AUR_EXIT_FAILURE;
			if (arr) {
				struct json_object *j = json_object_new_object();

				json_object_object_add(j, "name", json_object_new_string(x->name));
				json_object_object_add(j, "uuid", json_object_new_string(x->uuid));
				json_object_object_add(j, "device", json_object_new_string(x->device));
				json_object_object_add(j, "outcome",
						       json_object_new_string(aur_watch_outcome_name(x->outcome)));
				json_object_object_add(j, "reason", json_object_new_string(x->reason));
				json_object_object_add(j, "attempts", json_object_new_int((int)x->attempts));
				json_object_object_add(j, "message", json_object_new_string(x->message));
				json_object_array_add(arr, j);
			} else {
				printf("%s %s %s%s%s\n", x->name, x->uuid[0] ? x->uuid : "-",
				       aur_watch_outcome_name(x->outcome), x->reason[0] ? " " : "",
				       x->reason);
			}
		}
		if (arr) {
			printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(arr);
		}
		free(res);
		aur_kms_destroy(kms);
		return rc;
	}
}

static int tab_opt(int val, const char *arg, void *ctx)
{
	*(const char **)ctx = arg;
	return 0;
}

static const struct aur_cli_opt attach_opts[] = {
	{ "tab", required_argument, 1, NULL },
	{ NULL, 0, 0, NULL }
};

static int cmd_attach(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	const char *tabpath = AUR_TAB_DEFAULT;
	const struct aur_tab_entry *e;
	struct aur_open_volume ov;
	struct aur_kms *kms = NULL;
	struct aur_error err;
	struct aur_tab tab;
	char msg[512], dev[PATH_MAX];
	int r;

	r = aur_cli_parse(cmd, argc, argv, tab_opt, &tabpath);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (optind + 1 != argc) {
		fprintf(stderr, "aurora attach: expected exactly one <name>\nTry 'aurora attach --help'.\n");
		return AUR_EXIT_USAGE;
	}
	if (aur_tab_load(&tab, tabpath, msg, sizeof(msg))) {
		fprintf(stderr, "aurora attach: %s\n", msg);
		return AUR_EXIT_USAGE;
	}
	e = aur_tab_find(&tab, argv[optind]);
	if (!e) {
		fprintf(stderr, "aurora attach: %s lists no volume \"%s\"\n", tabpath, argv[optind]);
		aur_tab_free(&tab);
		return AUR_EXIT_NOT_FOUND;
	}
	aur_error_clear(&err);
	if (aur_volume_get_open(e->name, &ov, &err) == 0) {
		printf("%s is already open\n", e->name);
		aur_tab_free(&tab);
		return 0;
	}
	r = aur_tab_resolve(e, dev, sizeof(dev), msg, sizeof(msg));
	if (r) {
		fprintf(stderr, "aurora attach: %s: %s\n", e->name, msg);
		aur_tab_free(&tab);
		return AUR_EXIT_NOT_FOUND;
	}
	r = aur_cli_open_kms(&kms);
	if (r) {
		aur_tab_free(&tab);
		return r;
	}
	aur_error_clear(&err);
	r = aur_volume_open(kms, dev, e->name, e->read_only ? AUR_OPEN_READ_ONLY : 0, &err);
	aur_kms_destroy(kms);
	if (r < 0) {
		fprintf(stderr, "aurora attach: %s: %s\n", e->name, err.msg);
		aur_tab_free(&tab);
		return err.exit_code ? err.exit_code : AUR_EXIT_FAILURE;
	}
	printf("%s: %s opened as /dev/mapper/%s\n", e->name, dev, e->name);
	aur_tab_free(&tab);
	return 0;
}

static const char agent_list[] =
	"  agent [--once] [--interval S]  watch the CMK of every open volume; a CMK\n"
	"                                 lost for good makes its volume terminal\n";

static const char agent_description[] =
	"Check the CMK of every open aurora volume: DescribeKey, then a trial unwrap\n"
	"of the volume's data key.  When access to the CMK is lost for good (disabled,\n"
	"pending deletion, deleted, access revoked, the data key no longer unwraps)\n"
	"the volume is made terminal: state persisted in its header, the kernel\n"
	"target told (every I/O then fails with EIO), its kernel key revoked.  A KMS\n"
	"that times out, throttles or answers 5xx is retried with backoff and never\n"
	"makes a volume terminal.  Re-enabling a CMK afterwards revives nothing:\n"
	"restore the volume from a backup.\n\n";

static const char attach_list[] =
	"  attach <name> [--tab FILE]     open the volume /etc/auroratab lists as <name>\n";

static const char attach_description[] =
	"Open the volume that /etc/auroratab (or FILE) lists as <name>, as\n"
	"'aurora open <device> <name>' would, with the entry's options (read-only).\n"
	"A device given as UUID=<uuid> is found by its aurora header.  Used by\n"
	"aurora@<name>.service at boot; succeeds at once when <name> is open.\n\n";

const struct aur_cli_cmd aur_cli_agent_cmds[] = {
	{ .name = "agent", .list = agent_list,
	  .usage = "agent [--once] [--interval SECONDS] [--retries N] [global options]",
	  .description = agent_description, .opts = agent_opts,
	  .flags = AUR_CLI_HELP_ON_ERROR, .run = cmd_agent },
	{ .name = "attach", .list = attach_list,
	  .usage = "attach <name> [--tab FILE] [global options]",
	  .description = attach_description, .opts = attach_opts,
	  .flags = AUR_CLI_HELP_ON_ERROR, .run = cmd_attach },
	{ .name = NULL }
};
