// SPDX-License-Identifier: GPL-2.0
/* aurora CLI: the volume verbs: format, open, close, status. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ------------------------------------------------------------------ */
/* format                                                             */

enum { F_KEY = 1, F_SECTOR, F_FORCE, F_YES };

static const struct aur_cli_opt format_opts[] = {
	{ "kms-key-id", required_argument, F_KEY,
	  "  --kms-key-id KEY   CMK: key id, key ARN, alias/NAME or alias ARN; another\n"
	  "                     account's CMK by ARN. Default: alias/aurora/default of the\n"
	  "                     account and region (created on first use)\n" },
	{ "sector-size", required_argument, F_SECTOR,
	  "  --sector-size N    encryption sector size: 512 (default), 1024, 2048, 4096\n" },
	{ "force", no_argument, F_FORCE,
	  "  --force            format even over a filesystem, LUKS or aurora signature\n" },
	{ "yes", no_argument, F_YES,
	  "  --yes              do not ask for confirmation (required when not on a terminal)\n" },
	{ NULL, 0, 0, NULL }
};

struct format_args {
	struct aur_format_opts o;
	bool yes;
};

static int format_opt(int val, const char *arg, void *ctx)
{
	struct format_args *a = ctx;
	uint64_t v;

	switch (val) {
	case F_KEY:
		a->o.kms_key_id = arg;
		break;
	case F_SECTOR:
		if (aur_parse_u64(arg, &v) || (v != 512 && v != 1024 && v != 2048 && v != 4096))
			return aur_cli_fail_usage("format", "--sector-size must be 512, 1024, 2048 or 4096, not \"%s\"", arg);
		a->o.sector_size = (unsigned int)v;
		break;
	case F_FORCE:
		a->o.force = true;
		break;
	default:
		a->yes = true;
		break;
	}
	return 0;
}

/* Ask on the terminal: 0 when confirmed, else the exit code. */
static int confirm_format(const char *device)
{
	char line[16];

	if (!isatty(STDIN_FILENO))
		return aur_cli_fail_usage("format", "not on a terminal: add --yes to confirm formatting %s",
					  device);
	fprintf(stderr, "This makes %s a new aurora volume; its header area is overwritten.\n"
		"Type YES to continue: ", device);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "YES\n")) {
		fprintf(stderr, "aurora: not confirmed\n");
		return AUR_EXIT_USAGE;
	}
	return 0;
}

static int cmd_format(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct format_args a = { 0 };
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	struct aur_hdr hdr, *h = &hdr;
	const char *device;
	int r;

	r = aur_cli_parse(cmd, argc, argv, format_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 1)
		return aur_cli_fail_usage("format", "expected exactly one <device>");
	device = argv[optind];
	if (!a.yes) {
		r = confirm_format(device);
		if (r)
			return r;
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = aur_volume_format(kms, device, &a.o, h, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "device", json_object_new_string(device));
		json_object_object_add(j, "uuid", json_object_new_string(h->uuid));
		json_object_object_add(j, "key_arn", json_object_new_string(h->cmk_arn));
		json_object_object_add(j, "key_id", json_object_new_string(h->cmk_named));
		json_object_object_add(j, "sector_size", json_object_new_int(h->sector_size));
		json_object_object_add(j, "data_offset", json_object_new_int64((int64_t)h->data_offset));
		json_object_object_add(j, "data_size", json_object_new_int64((int64_t)h->data_size));
		aur_cli_print_json(j);
	} else {
		printf("formatted %s: volume %s, CMK %s, %" PRIu64 " bytes of data\n",
		       device, h->uuid, h->cmk_arn, h->data_size);
	}
	aur_hdr_free(h);
	return 0;
}

/* ------------------------------------------------------------------ */
/* open / close                                                       */

static const struct aur_cli_opt open_opts[] = {
	{ "read-only", no_argument, 'r',
	  "  --read-only        create a read-only mapping\n" },
	{ NULL, 0, 0, NULL }
};

static int open_opt(int val, const char *arg, void *ctx)
{
	*(unsigned int *)ctx |= AUR_OPEN_READ_ONLY;
	return 0;
}

static int cmd_open(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	unsigned int flags = 0;
	int r;

	r = aur_cli_parse(cmd, argc, argv, open_opt, &flags);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 2)
		return aur_cli_fail_usage("open", "expected <device> <name>");
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = aur_volume_open(kms, argv[optind], argv[optind + 1], flags, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();
		char p[AUR_DM_NAME_MAX + 16];

		snprintf(p, sizeof(p), "/dev/mapper/%s", argv[optind + 1]);
		json_object_object_add(j, "name", json_object_new_string(argv[optind + 1]));
		json_object_object_add(j, "path", json_object_new_string(p));
		aur_cli_print_json(j);
	} else {
		printf("opened %s as /dev/mapper/%s\n", argv[optind], argv[optind + 1]);
	}
	return 0;
}

static int cmd_close(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct aur_error e = { 0 };
	int r;

	r = aur_cli_parse(cmd, argc, argv, NULL, NULL);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 1)
		return aur_cli_fail_usage("close", "expected exactly one <name>");
	if (aur_volume_close(argv[optind], &e))
		return aur_cli_report(&e);
	if (!aur_cli.json)
		printf("closed %s\n", argv[optind]);
	else
		aur_cli_print_json(json_object_new_object());
	return 0;
}

/* ------------------------------------------------------------------ */
/* status                                                             */

static struct json_object *hdr_json(const struct aur_hdr_read *r)
{
	const struct aur_hdr *h = &r->hdr;
	struct json_object *o = json_object_new_object(), *k = json_object_new_object(), *c;
	char ts[32];
	size_t i;

	json_object_object_add(o, "uuid", json_object_new_string(h->uuid));
	json_object_object_add(o, "state", json_object_new_string(aur_vol_state_name(h->state)));
	if (h->state == AUR_VOL_TERMINAL) {
		aur_time_iso(h->terminal_time, ts);
		json_object_object_add(o, "terminal_reason", json_object_new_string(h->terminal_reason));
		json_object_object_add(o, "terminal_time", json_object_new_string(ts));
	}
	if (h->state == AUR_VOL_INACCESSIBLE) {
		aur_time_iso(h->inaccessible_since, ts);
		json_object_object_add(o, "state_since", json_object_new_string(ts));
		json_object_object_add(o, "state_reason",
				       json_object_new_string(h->inaccessible_reason));
		aur_time_iso(h->recoverable_until, ts);
		json_object_object_add(o, "recoverable_until", json_object_new_string(ts));
	} else if (h->state == AUR_VOL_TERMINAL) {
		aur_time_iso(h->terminal_time, ts);
		json_object_object_add(o, "state_since", json_object_new_string(ts));
		json_object_object_add(o, "state_reason", json_object_new_string(h->terminal_reason));
	}
	json_object_object_add(o, "seqid", json_object_new_int64((int64_t)h->seqid));
	c = json_object_new_array();
	for (i = 0; i < AUR_HDR_COPIES; i++) {
		struct json_object *x = json_object_new_object();

		json_object_object_add(x, "valid", json_object_new_boolean(r->valid[i]));
		json_object_object_add(x, "seqid", json_object_new_int64((int64_t)r->seq[i]));
		if (!r->valid[i])
			json_object_object_add(x, "error", json_object_new_string(r->err[i]));
		json_object_array_add(c, x);
	}
	json_object_object_add(o, "copies", c);
	json_object_object_add(o, "cipher", json_object_new_string(h->cipher));
	json_object_object_add(o, "key_size", json_object_new_int(h->key_bits));
	json_object_object_add(o, "sector_size", json_object_new_int(h->sector_size));
	json_object_object_add(o, "data_offset", json_object_new_int64((int64_t)h->data_offset));
	json_object_object_add(o, "data_size", json_object_new_int64((int64_t)h->data_size));
	aur_time_iso(h->created, ts);
	json_object_object_add(o, "created", json_object_new_string(ts));
	json_object_object_add(k, "provider", json_object_new_string(h->provider));
	json_object_object_add(k, "key_id", json_object_new_string(h->cmk_named));
	json_object_object_add(k, "key_arn", json_object_new_string(h->cmk_arn));
	json_object_object_add(k, "account", json_object_new_string(h->cmk_account));
	json_object_object_add(k, "region", json_object_new_string(h->cmk_region));
	if (h->cmk_partition[0])
		json_object_object_add(k, "partition", json_object_new_string(h->cmk_partition));
	if (h->caller_account[0])
		json_object_object_add(k, "caller_account", json_object_new_string(h->caller_account));
	if (h->keystore_id[0])
		json_object_object_add(k, "keystore_id", json_object_new_string(h->keystore_id));
	c = json_object_new_object();
	for (i = 0; i < h->ctx.n; i++)
		json_object_object_add(c, h->ctx.kv[i].key, json_object_new_string(h->ctx.kv[i].value));
	json_object_object_add(k, "encryption_context", c);
	json_object_object_add(o, "kms", k);
	if (h->restored_from[0] || h->copied_from[0]) {
		c = json_object_new_object();
		if (h->restored_from[0])
			json_object_object_add(c, "restored_from", json_object_new_string(h->restored_from));
		if (h->copied_from[0])
			json_object_object_add(c, "copied_from", json_object_new_string(h->copied_from));
		json_object_object_add(o, "lineage", c);
	}
	return o;
}

static void print_hdr(const struct aur_hdr_read *r)
{
	const struct aur_hdr *h = &r->hdr;
	char ts[32];
	int i;

	printf("  volume:     %s\n", h->uuid);
	if (h->state == AUR_VOL_TERMINAL) {
		aur_time_iso(h->terminal_time, ts);
		printf("  state:      TERMINAL since %s (%s): restore from a backup (aurora restore)\n",
		       ts, h->terminal_reason);
	} else if (h->state == AUR_VOL_INACCESSIBLE) {
		char until[32];

		aur_time_iso(h->inaccessible_since, ts);
		aur_time_iso(h->recoverable_until, until);
		printf("  state:      INACCESSIBLE since %s (%s), recoverable until %s\n", ts,
		       h->inaccessible_reason, until);
	} else {
		printf("  state:      active\n");
	}
	printf("  cmk:        %s (named %s; provider %s)\n", h->cmk_arn, h->cmk_named, h->provider);
	if (h->caller_account[0] || h->keystore_id[0])
		printf("  formatted:  by account %s%s%s\n", h->caller_account[0] ? h->caller_account : "?",
		       h->keystore_id[0] ? ", keystore " : "", h->keystore_id);
	printf("  cipher:     %s, %u-bit key, %u-byte sectors\n", h->cipher, h->key_bits, h->sector_size);
	printf("  data:       offset %" PRIu64 ", %" PRIu64 " bytes\n", h->data_offset, h->data_size);
	aur_time_iso(h->created, ts);
	printf("  created:    %s\n", ts);
	printf("  header:     sequence %" PRIu64, h->seqid);
	for (i = 0; i < AUR_HDR_COPIES; i++)
		printf(", copy %d %s", i, r->valid[i] ? (r->seq[i] == h->seqid ? "ok" : "stale") : "INVALID");
	printf("%s\n", r->need_repair ? " (repaired on next write)" : "");
}

/* The agent's per-pass record: last verdict, and whether it is too old. */
static void verification_json(struct json_object *o, const char *uuid)
{
	struct aur_pass_state ps;
	int64_t now = aur_now(), age;
	char ts[32];

	if (aur_pass_state_read(NULL, uuid, &ps)) {
		json_object_object_add(o, "verification", json_object_new_string("none"));
		json_object_object_add(o, "last_verified", NULL);
		return;
	}
	json_object_object_add(o, "verification",
			       json_object_new_string(ps.verification[0] ? ps.verification : "none"));
	if (ps.last_verified) {
		aur_time_iso(ps.last_verified, ts);
		json_object_object_add(o, "last_verified", json_object_new_string(ts));
	} else {
		json_object_object_add(o, "last_verified", NULL);
	}
	if (ps.reason[0] && strcmp(ps.reason, "-"))
		json_object_object_add(o, "verification_reason", json_object_new_string(ps.reason));
	json_object_object_add(o, "lost_passes", json_object_new_int((int)ps.lost_passes));
	age = aur_pass_state_unverified_for(&ps, now);
	json_object_object_add(o, "unverified",
			       json_object_new_boolean(aur_cli.cfg.max_unverified &&
						       age > (int64_t)aur_cli.cfg.max_unverified));
}

static void print_verification(const char *uuid)
{
	struct aur_pass_state ps;
	int64_t age;
	char ts[32];

	if (aur_pass_state_read(NULL, uuid, &ps)) {
		printf("  verified:   never (no agent pass recorded)\n");
		return;
	}
	age = aur_pass_state_unverified_for(&ps, aur_now());
	if (ps.last_verified)
		aur_time_iso(ps.last_verified, ts);
	printf("  verified:   %s%s; last pass: %s%s%s%s\n", ps.last_verified ? "last verdict " : "never",
	       ps.last_verified ? ts : "", ps.verification[0] ? ps.verification : "none",
	       ps.reason[0] && strcmp(ps.reason, "-") ? " (" : "",
	       ps.reason[0] && strcmp(ps.reason, "-") ? ps.reason : "",
	       ps.reason[0] && strcmp(ps.reason, "-") ? ")" : "");
	if (aur_cli.cfg.max_unverified && age > (int64_t)aur_cli.cfg.max_unverified)
		printf("  WARNING:    UNVERIFIED for %lld s (max_unverified %llu s)\n", (long long)age,
		       (unsigned long long)aur_cli.cfg.max_unverified);
}

static struct json_object *open_json(const struct aur_open_volume *v, bool key)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(v->name));
	json_object_object_add(o, "device", json_object_new_string(v->device));
	json_object_object_add(o, "suspended", json_object_new_boolean(v->dm.suspended));
	json_object_object_add(o, "read_only", json_object_new_boolean(v->dm.read_only));
	json_object_object_add(o, "open_count", json_object_new_int(v->dm.open_count));
	json_object_object_add(o, "target_status", json_object_new_string(v->dm.status));
	json_object_object_add(o, "terminal", json_object_new_boolean(v->kernel_terminal));
	json_object_object_add(o, "inaccessible", json_object_new_boolean(v->kernel_inaccessible));
	if (v->kernel_inaccessible)
		json_object_object_add(o, "inaccessible_reason",
				       json_object_new_string(v->kernel_reason));
	if (v->kernel_terminal)
		json_object_object_add(o, "terminal_reason", json_object_new_string(v->kernel_reason));
	json_object_object_add(o, "key_loaded", json_object_new_boolean(v->key_loaded));
	json_object_object_add(o, "key_present", json_object_new_boolean(key));
	return o;
}

static void print_open(const struct aur_open_volume *v, bool key)
{
	printf("  mapping:    /dev/mapper/%s on %s%s%s%s\n", v->name, v->device[0] ? v->device : "?",
	       v->dm.suspended ? ", suspended" : "", v->dm.read_only ? ", read-only" : "",
	       v->dm.open_count ? ", in use" : "");
	printf("  kernel:     %s%s; keyring key %s; target status \"%s\"\n",
	       v->kernel_terminal ? "TERMINAL " : v->kernel_inaccessible ? "INACCESSIBLE " : "active",
	       v->kernel_terminal || v->kernel_inaccessible ? v->kernel_reason : "",
	       key ? "present" : "absent", v->dm.status);
}

static int status_one(const char *arg)
{
	struct aur_open_volume v;
	struct aur_hdr_read hr;
	struct aur_error e = { 0 };
	bool mapped = false, have_hdr = false, key = false;
	const char *device = NULL;
	struct json_object *j = NULL;
	int32_t serial;

	memset(&v, 0, sizeof(v));
	aur_hdr_init(&hr.hdr);
	if (strchr(arg, '/')) {
		device = arg;
		if (aur_volume_read_header(device, &hr, &e))
			return aur_cli_report(&e);
		have_hdr = true;
		if (aur_dm_available() && aur_volume_find_open(hr.hdr.uuid, &v) == 0)
			mapped = true;
	} else {
		if (!aur_dm_available()) {
			aur_error_set(&e, AUR_EXIT_KERNEL, "device-mapper is not available");
			return aur_cli_report(&e);
		}
		if (aur_volume_get_open(arg, &v, &e)) {
			/* What aurora@<name>.service waits for (aurora-attach). */
			char p[PATH_MAX], line[512];
			FILE *f = NULL;

			if (!strchr(arg, '/') &&
			    snprintf(p, sizeof(p), "/run/aurora/attach/%s", arg) < (int)sizeof(p))
				f = fopen(p, "re");
			if (f && fgets(line, sizeof(line), f))
				printf("%s: not open; aurora@%s.service: %s", arg, arg, line);
			if (f)
				fclose(f);
			return aur_cli_report(&e);
		}
		mapped = true;
		if (v.device[0]) {
			device = v.device;
			if (aur_volume_read_header(device, &hr, &e) == 0)
				have_hdr = true;
			else
				aur_warn("%s", e.msg);
		}
	}
	if (mapped && v.uuid[0])
		key = aur_keyring_find(v.uuid, &serial) == 0;
	if (aur_cli.json) {
		j = have_hdr ? hdr_json(&hr) : json_object_new_object();
		if (!have_hdr)
			json_object_object_add(j, "header_error", json_object_new_string(e.msg));
		if (have_hdr || v.uuid[0])
			verification_json(j, have_hdr ? hr.hdr.uuid : v.uuid);
		if (device)
			json_object_object_add(j, "device", json_object_new_string(device));
		json_object_object_add(j, "mapping", mapped ? open_json(&v, key) : NULL);
		aur_cli_print_json(j);
	} else {
		printf("%s:\n", mapped ? v.name : device);
		if (have_hdr)
			print_hdr(&hr);
		else
			printf("  header:     unreadable (%s)\n", e.msg);
		if (have_hdr || v.uuid[0])
			print_verification(have_hdr ? hr.hdr.uuid : v.uuid);
		if (mapped)
			print_open(&v, key);
		else
			printf("  mapping:    not open\n");
	}
	aur_hdr_free(&hr.hdr);
	return 0;
}

static int status_all(void)
{
	struct aur_open_volume *vols = NULL;
	struct aur_error e = { 0 };
	size_t n = 0, i;

	if (!aur_dm_available()) {
		aur_error_set(&e, AUR_EXIT_KERNEL, "device-mapper is not available");
		return aur_cli_report(&e);
	}
	if (aur_volume_list_open(&vols, &n, &e))
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *arr = json_object_new_array(), *o = json_object_new_object();

		for (i = 0; i < n; i++) {
			struct aur_hdr_read hr;
			struct json_object *x = NULL;
			int32_t s;

			if (vols[i].device[0] && aur_volume_read_header(vols[i].device, &hr, NULL) == 0) {
				x = hdr_json(&hr);
				aur_hdr_free(&hr.hdr);
			} else {
				x = json_object_new_object();
			}
			if (vols[i].uuid[0])
				verification_json(x, vols[i].uuid);
			json_object_object_add(x, "device", json_object_new_string(vols[i].device));
			json_object_object_add(x, "mapping",
					       open_json(&vols[i], aur_keyring_find(vols[i].uuid, &s) == 0));
			json_object_array_add(arr, x);
		}
		json_object_object_add(o, "volumes", arr);
		aur_cli_print_json(o);
	} else {
		if (!n)
			printf("no open aurora volumes\n");
		for (i = 0; i < n; i++) {
			struct aur_pass_state ps;
			struct aur_hdr_read hr;
			const char *hs = "header unreadable";
			bool unv = false;

			if (vols[i].device[0] && aur_volume_read_header(vols[i].device, &hr, NULL) == 0) {
				hs = aur_vol_state_name(hr.hdr.state);
				aur_hdr_free(&hr.hdr);
			}
			if (aur_pass_state_read(NULL, vols[i].uuid, &ps) == 0)
				unv = aur_cli.cfg.max_unverified &&
				      aur_pass_state_unverified_for(&ps, aur_now()) >
				      (int64_t)aur_cli.cfg.max_unverified;
			printf("%s: volume %s on %s, %s (kernel %s)%s\n", vols[i].name, vols[i].uuid,
			       vols[i].device[0] ? vols[i].device : "?", hs,
			       vols[i].kernel_terminal ? "TERMINAL" :
			       vols[i].kernel_inaccessible ? "INACCESSIBLE" : "active",
			       unv ? ", UNVERIFIED" : "");
		}
	}
	free(vols);
	return 0;
}

static int cmd_status(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	int r = aur_cli_parse(cmd, argc, argv, NULL, NULL);

	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind > 1)
		return aur_cli_fail_usage("status", "expected at most one <name|device>");
	if (argc - optind == 1)
		return status_one(argv[optind]);
	return status_all();
}

/* ------------------------------------------------------------------ */
/* recover                                                            */

static int cmd_recover(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct aur_open_volume v;
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	struct aur_pass_state ps;
	int r;

	r = aur_cli_parse(cmd, argc, argv, NULL, NULL);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 1)
		return aur_cli_fail_usage("recover", "expected exactly one <name>");
	if (!aur_dm_available()) {
		aur_error_set(&e, AUR_EXIT_KERNEL, "device-mapper is not available");
		return aur_cli_report(&e);
	}
	if (aur_volume_get_open(argv[optind], &v, &e))
		return aur_cli_report(&e);
	if (!v.device[0]) {
		aur_error_set(&e, AUR_EXIT_NOT_FOUND, "the backing device of \"%s\" is not found",
			      v.name);
		return aur_cli_report(&e);
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = aur_volume_recover(kms, v.device, v.name, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	/* A verdict was just reached: the agent's count starts again. */
	if (v.uuid[0]) {
		aur_pass_state_read(NULL, v.uuid, &ps);
		ps.lost_passes = 0;
		ps.last_verified = ps.last_pass = aur_now();
		if (!ps.first_seen)
			ps.first_seen = ps.last_pass;
		aur_strcpy(ps.verification, sizeof(ps.verification), "ok");
		ps.reason[0] = '\0';
		aur_pass_state_write(NULL, v.uuid, &ps);
	}
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "name", json_object_new_string(v.name));
		json_object_object_add(j, "state", json_object_new_string("active"));
		aur_cli_print_json(j);
	} else {
		printf("%s: CMK usable, volume active\n", v.name);
	}
	return 0;
}

static const char recover_list[] =
	"  recover <name>           retry an inaccessible volume's CMK now; active again if usable\n";

static const char recover_description[] =
	"Ask the KMS at once for the data key of the open volume <name> (Decrypt). When\n"
	"it unwraps, a volume that is inaccessible (in its header or in the kernel) is\n"
	"brought back: the key is loaded again, the mapping suspended, given the key and\n"
	"resumed, and the header marked active. Exit 0 when the volume is active, 11\n"
	"(inaccessible) with the KMS's answer otherwise, 10 when the configuration or\n"
	"credentials do not match, 6 when the volume is terminal.\n\n";

static const char format_list[] =
	"  format <device>          create an encrypted aurora volume (new DEK from the KMS)\n";

static const char format_description[] =
	"Create an aurora volume on <device>: a new 512-bit data key (DEK) from the KMS\n"
	"(GenerateDataKey), wrapped by the CMK and bound to the volume's UUID and region;\n"
	"the header (two copies) is written and the DEK wiped. Existing data is NOT\n"
	"encrypted in place and the data area is not erased.\n\n";

static const char open_list[] =
	"  open <device> <name>     unwrap the DEK and create /dev/mapper/<name>\n";

static const char open_description[] =
	"Verify the header, unwrap the DEK with the KMS (Decrypt, bound to the volume's\n"
	"encryption context), load it as the logon key aurora:<uuid> in the kernel keyring,\n"
	"and create /dev/mapper/<name> (target aurora). The DEK is wiped from memory.\n"
	"A terminal volume is refused (exit 6): restore it from a backup (aurora restore).\n"
	"An inaccessible volume opens only when the KMS unwraps its key again (then its\n"
	"header is active again); else it is refused with exit 11. On any failure nothing\n"
	"is left behind (no key, no mapping).\n\n";

static const char close_list[] =
	"  close <name>             remove the mapping and revoke its kernel key\n";

static const char close_description[] =
	"Remove /dev/mapper/<name> and revoke and unlink its kernel key.\n\n";

static const char status_list[] =
	"  status [<name|device>]   volume, CMK, header and kernel state\n";

static const char status_description[] =
	"Without an argument: every open aurora volume. With a mapping name or a device\n"
	"(a path): the volume's header (copies, sequence, state), its CMK, and the\n"
	"kernel's view (mapping, target status, key present).\n\n";

const struct aur_cli_cmd aur_cli_volume_cmds[] = {
	{ .name = "format", .list = format_list, .usage = "format <device> [options]",
	  .description = format_description, .opts = format_opts, .flags = AUR_CLI_NOCHANGE,
	  .run = cmd_format },
	{ .name = "open", .list = open_list, .usage = "open <device> <name> [--read-only]",
	  .description = open_description, .opts = open_opts, .run = cmd_open },
	{ .name = "close", .list = close_list, .usage = "close <name>",
	  .description = close_description, .run = cmd_close },
	{ .name = "recover", .list = recover_list, .usage = "recover <name>",
	  .description = recover_description, .run = cmd_recover },
	{ .name = "status", .list = status_list, .usage = "status [<name|device>] [--json]",
	  .description = status_description, .run = cmd_status },
	{ .name = NULL }
};
