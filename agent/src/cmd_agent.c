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
	  "                    could not be reached for some volume, 10 configuration or\n"
	  "                    credentials do not match, 11 a volume is inaccessible,\n"
	  "                    6 a volume was made terminal, 12 a volume has had no\n"
	  "                    verdict for longer than max_unverified, 1 other errors\n" },
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

/* Which exit code of --once wins when volumes disagree. */
static int rank(int rc)
{
	switch (rc) {
	case AUR_EXIT_UNVERIFIED:	return 7;
	case AUR_EXIT_TERMINAL:		return 6;
	case AUR_EXIT_INACCESSIBLE:	return 5;
	case AUR_EXIT_FAILURE:		return 4;
	case AUR_EXIT_CONFIG:		return 3;
	case AUR_EXIT_KMS_UNAVAIL:	return 2;
	default:			return rc ? 1 : 0;
	}
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
	o.confirm_passes = aur_cli.cfg.confirm_passes;
	o.recovery_window = aur_cli.cfg.recovery_window;
	o.max_unverified = aur_cli.cfg.max_unverified;
	/* Every volume in its own thread with its own KMS handle. */
	o.cfg = &aur_cli.cfg;
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
		o.wait_all = true;
		if (aur_watch_pass(kms, &o, NULL, &res, &n, &err) < 0) {
			fprintf(stderr, "aurora agent: %s\n", err.msg);
			aur_kms_destroy(kms);
			return err.exit_code ? err.exit_code : AUR_EXIT_FAILURE;
		}
		if (aur_cli.json)
			arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			const struct aur_watch_result *x = &res[i];
			int xr = 0;

			/* The most serious wins: unverified, terminal, inaccessible, ... */
			if (x->outcome == AUR_WATCH_TRANSIENT)
				xr = x->verification && !strcmp(x->verification, "config-error") ?
				     AUR_EXIT_CONFIG : AUR_EXIT_KMS_UNAVAIL;
			if (x->outcome == AUR_WATCH_ERROR)
				xr = AUR_EXIT_FAILURE;
			if (x->outcome == AUR_WATCH_INACCESSIBLE)
				xr = AUR_EXIT_INACCESSIBLE;
			if (x->outcome == AUR_WATCH_TERMINATED)
				xr = AUR_EXIT_TERMINAL;
			if (x->unverified)
				xr = AUR_EXIT_UNVERIFIED;
			if (rank(xr) > rank(rc))
				rc = xr;
			if (arr) {
				struct json_object *j = json_object_new_object();
				char ts[32];

				json_object_object_add(j, "name", json_object_new_string(x->name));
				json_object_object_add(j, "uuid", json_object_new_string(x->uuid));
				json_object_object_add(j, "device", json_object_new_string(x->device));
				json_object_object_add(j, "outcome",
						       json_object_new_string(aur_watch_outcome_name(x->outcome)));
				json_object_object_add(j, "state",
						       json_object_new_string(aur_vol_state_name(x->state)));
				json_object_object_add(j, "verification",
						       json_object_new_string(x->verification ?
									      x->verification : "none"));
				json_object_object_add(j, "lost_passes",
						       json_object_new_int((int)x->lost_passes));
				if (x->last_verified) {
					aur_time_iso(x->last_verified, ts);
					json_object_object_add(j, "last_verified", json_object_new_string(ts));
				} else {
					json_object_object_add(j, "last_verified", NULL);
				}
				json_object_object_add(j, "unverified", json_object_new_boolean(x->unverified));
				if (x->state == AUR_VOL_INACCESSIBLE && x->recoverable_until) {
					aur_time_iso(x->recoverable_until, ts);
					json_object_object_add(j, "recoverable_until",
							       json_object_new_string(ts));
				}
				json_object_object_add(j, "reason", json_object_new_string(x->reason));
				json_object_object_add(j, "attempts", json_object_new_int((int)x->attempts));
				json_object_object_add(j, "message", json_object_new_string(x->message));
				json_object_array_add(arr, j);
			} else {
				printf("%s %s %s%s%s%s\n", x->name, x->uuid[0] ? x->uuid : "-",
				       aur_watch_outcome_name(x->outcome), x->reason[0] ? " " : "",
				       x->reason, x->unverified ? " UNVERIFIED" : "");
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
	"  agent [--once] [--interval S]  watch the CMK of every open volume: a confirmed\n"
	"                                 loss makes it inaccessible, then terminal\n";

static const char agent_description[] =
	"Check the CMK of every open aurora volume, each in its own thread: DescribeKey\n"
	"and a trial unwrap (Decrypt) of the volume's own data key.  Only a Decrypt that\n"
	"fails definitively (disabled, pending deletion, not found, access denied) is\n"
	"Lost; confirm_passes Lost passes in a row make the volume INACCESSIBLE (header,\n"
	"kernel target: I/O fails with EIO, kernel key revoked).  While inaccessible the\n"
	"agent keeps checking: when access comes back within recovery_window it unwraps\n"
	"the key again and the volume is active again, data intact; when the window\n"
	"ends with the CMK still lost, the volume is TERMINAL (restore from a backup).\n"
	"Timeouts, throttling, 5xx, configuration and credential errors are never a\n"
	"verdict.  A volume with no verdict for longer than max_unverified is warned\n"
	"about every interval.  Knobs in aurora.conf: see aurora(8).\n\n";

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
