// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the command-line interface, a thin layer over libaurora.
 * See Documentation/aurora.md for commands, configuration and exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "config.h"
#include "keyring.h"
#include "kms_local.h"
#include "volume.h"

#define AURORA_VERSION "0.1"

struct aur_cli_globals aur_cli;
#define G aur_cli

static const char NOCHANGE[] =
	"Encryption cannot be removed from a volume and a volume's CMK cannot be changed:\n"
	"no aurora command does either. To move data to another CMK or to plain storage,\n"
	"restore a backup into a new volume.\n";

#define GLOBAL_HELP aur_cli_global_help
const char aur_cli_global_help[] =
	"Global options (anywhere on the command line):\n"
	"  --config FILE     configuration file (default $AURORA_CONF, else /etc/aurora/aurora.conf)\n"
	"  --keystore DIR    embedded KMS keystore (default /var/lib/aurora/kms)\n"
	"  --account ID      caller's 12-digit account\n"
	"  --region NAME     caller's region\n"
	"  --json            machine-readable output\n"
	"  -v, --verbose     debug messages\n"
	"  -h, --help        help for the command\n";

static void usage_main(FILE *f)
{
	fprintf(f,
		"Usage: aurora [global options] <command> [options]\n\n"
		"Commands:\n"
		"  format <device>          create an encrypted aurora volume (new DEK from the KMS)\n"
		"  open <device> <name>     unwrap the DEK and create /dev/mapper/<name>\n"
		"  close <name>             remove the mapping and revoke its kernel key\n"
		"  status [<name|device>]   volume, CMK, header and kernel state\n"
		"  kms <operation> ...      the embedded KMS (aurora kms --help)\n"
		"  version                  print the version\n"
		"%s\n%s\n%s\n"
		"Exit codes: 0 ok, 1 failure, 2 usage/configuration, 3 header (none, damaged,\n"
		"unsupported), 4 KMS refused (key disabled, deleted, access denied, bad blob),\n"
		"5 KMS unavailable (retry), 6 volume terminal (restore from a backup),\n"
		"7 busy or existing data (see --force), 8 not found, 9 kernel (device-mapper,\n"
		"keyring, module).\n",
		aur_cli_extra_help ? aur_cli_extra_help : "", GLOBAL_HELP, NOCHANGE);
}

#define GLOBAL_OPTS AUR_CLI_GLOBAL_OPTS

/* Handle a global option; 1 if handled, -1 for help. */
int aur_cli_global_opt(int c)
{
	switch (c) {
	case AUR_OPT_CONFIG: G.config_path = optarg; return 1;
	case AUR_OPT_KEYSTORE: G.keystore = optarg; return 1;
	case AUR_OPT_ACCOUNT: G.account = optarg; return 1;
	case AUR_OPT_REGION: G.region = optarg; return 1;
	case AUR_OPT_JSON: G.json = true; return 1;
	case 'v': G.verbose = true; aur_log_set_level(AUR_LOG_DEBUG); return 1;
	case 'h': return -1;
	default: return 0;
	}
}

static int fail_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aurora %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'aurora %s --help'.\n", cmd);
	return AUR_EXIT_USAGE;
}

static int report(const struct aur_error *e)
{
	if (G.json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "error", json_object_new_string(e->msg));
		json_object_object_add(o, "exit_code", json_object_new_int(e->exit_code));
		if (e->kms_code)
			json_object_object_add(o, "kms_error",
					       json_object_new_string(aur_kms_err_name(e->kms_code)));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	fprintf(stderr, "aurora: error: %s\n", e->msg);
	return e->exit_code ? e->exit_code : AUR_EXIT_FAILURE;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int aur_cli_load_config(void)
{
	char err[512];

	if (aur_config_load(&G.cfg, G.config_path, err, sizeof(err))) {
		fprintf(stderr, "aurora: configuration: %s\n", err);
		return AUR_EXIT_USAGE;
	}
	if (G.keystore) {
		if (G.keystore[0] != '/' || aur_strcpy(G.cfg.keystore, sizeof(G.cfg.keystore), G.keystore)) {
			fprintf(stderr, "aurora: --keystore must be an absolute path\n");
			return AUR_EXIT_USAGE;
		}
	}
	if (G.account) {
		if (!aur_account_valid(G.account)) {
			fprintf(stderr, "aurora: --account must be 12 digits\n");
			return AUR_EXIT_USAGE;
		}
		strcpy(G.cfg.account, G.account);
	}
	if (G.region) {
		if (!aur_region_valid(G.region)) {
			fprintf(stderr, "aurora: --region must be lower-case letters, digits and '-'\n");
			return AUR_EXIT_USAGE;
		}
		strcpy(G.cfg.region, G.region);
	}
	return 0;
}

int aur_cli_open_kms(struct aur_kms **kms)
{
	struct aur_kms_status st;
	int r = aur_cli_load_config();

	if (r)
		return r;
	if (aur_kms_open(&G.cfg, kms, &st)) {
		fprintf(stderr, "aurora: KMS provider %s: %s\n", G.cfg.provider, st.message);
		return st.code == AUR_KMS_E_INVALID_ARG ? AUR_EXIT_USAGE : AUR_EXIT_FAILURE;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* format                                                             */

static const char FORMAT_HELP[] =
	"Usage: aurora format <device> [options]\n\n"
	"Create an aurora volume on <device>: a new 512-bit data key (DEK) from the KMS\n"
	"(GenerateDataKey), wrapped by the CMK and bound to the volume's UUID and region;\n"
	"the header (two copies) is written and the DEK wiped. Existing data is NOT\n"
	"encrypted in place and the data area is not erased.\n\n"
	"  --kms-key-id KEY   CMK: key id, key ARN, alias/NAME or alias ARN; another\n"
	"                     account's CMK by ARN. Default: alias/aurora/default of the\n"
	"                     account and region (created on first use)\n"
	"  --sector-size N    encryption sector size: 512 (default), 1024, 2048, 4096\n"
	"  --force            format even over a filesystem, LUKS or aurora signature\n"
	"  --yes              do not ask for confirmation (required when not on a terminal)\n\n";

static int cmd_format(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "kms-key-id", required_argument, NULL, 'k' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "yes", no_argument, NULL, 'y' },
		GLOBAL_OPTS, { NULL, 0, NULL, 0 }
	};
	struct aur_format_opts o = { 0 };
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	struct aur_hdr h;
	bool yes = false;
	uint64_t v;
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		switch (c) {
		case 'k': o.kms_key_id = optarg; break;
		case 's':
			if (aur_parse_u64(optarg, &v) || (v != 512 && v != 1024 && v != 2048 && v != 4096))
				return fail_usage("format", "--sector-size must be 512, 1024, 2048 or 4096, not \"%s\"", optarg);
			o.sector_size = (unsigned int)v;
			break;
		case 'f': o.force = true; break;
		case 'y': yes = true; break;
		default:
			r = aur_cli_global_opt(c);
			if (r < 0) {
				printf("%s%s\n%s", FORMAT_HELP, GLOBAL_HELP, NOCHANGE);
				return 0;
			}
			if (!r)
				return fail_usage("format", "invalid option%s", "");
		}
	}
	if (argc - optind != 1)
		return fail_usage("format", "expected exactly one <device>%s", "");
	if (!yes) {
		char line[16];

		if (!isatty(STDIN_FILENO))
			return fail_usage("format", "not on a terminal: add --yes to confirm formatting %s",
					  argv[optind]);
		fprintf(stderr, "This makes %s a new aurora volume; its header area is overwritten.\n"
			"Type YES to continue: ", argv[optind]);
		if (!fgets(line, sizeof(line), stdin) || strcmp(line, "YES\n")) {
			fprintf(stderr, "aurora: not confirmed\n");
			return AUR_EXIT_USAGE;
		}
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	if (aur_volume_format(kms, argv[optind], &o, &h, &e)) {
		aur_kms_destroy(kms);
		return report(&e);
	}
	aur_kms_destroy(kms);
	if (G.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "device", json_object_new_string(argv[optind]));
		json_object_object_add(j, "uuid", json_object_new_string(h.uuid));
		json_object_object_add(j, "key_arn", json_object_new_string(h.cmk_arn));
		json_object_object_add(j, "key_id", json_object_new_string(h.cmk_named));
		json_object_object_add(j, "sector_size", json_object_new_int(h.sector_size));
		json_object_object_add(j, "data_offset", json_object_new_int64((int64_t)h.data_offset));
		json_object_object_add(j, "data_size", json_object_new_int64((int64_t)h.data_size));
		print_json(j);
	} else {
		printf("formatted %s: volume %s, CMK %s, %" PRIu64 " bytes of data\n",
		       argv[optind], h.uuid, h.cmk_arn, h.data_size);
	}
	aur_hdr_free(&h);
	return 0;
}

/* ------------------------------------------------------------------ */
/* open / close                                                       */

static const char OPEN_HELP[] =
	"Usage: aurora open <device> <name> [--read-only]\n\n"
	"Verify the header, unwrap the DEK with the KMS (Decrypt, bound to the volume's\n"
	"encryption context), load it as the logon key aurora:<uuid> in the kernel keyring,\n"
	"and create /dev/mapper/<name> (target aurora). The DEK is wiped from memory.\n"
	"A terminal volume is refused: restore it from a backup. On any failure nothing\n"
	"is left behind (no key, no mapping).\n\n"
	"  --read-only        create a read-only mapping\n\n";

static const char CLOSE_HELP[] =
	"Usage: aurora close <name>\n\n"
	"Remove /dev/mapper/<name> and revoke and unlink its kernel key.\n\n";

static int cmd_open(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "read-only", no_argument, NULL, 'r' },
		GLOBAL_OPTS, { NULL, 0, NULL, 0 }
	};
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	unsigned int flags = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		if (c == 'r') {
			flags |= AUR_OPEN_READ_ONLY;
			continue;
		}
		r = aur_cli_global_opt(c);
		if (r < 0) {
			printf("%s%s", OPEN_HELP, GLOBAL_HELP);
			return 0;
		}
		if (!r)
			return fail_usage("open", "invalid option%s", "");
	}
	if (argc - optind != 2)
		return fail_usage("open", "expected <device> <name>%s", "");
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = aur_volume_open(kms, argv[optind], argv[optind + 1], flags, &e);
	aur_kms_destroy(kms);
	if (r)
		return report(&e);
	if (G.json) {
		struct json_object *j = json_object_new_object();
		char p[AUR_DM_NAME_MAX + 16];

		snprintf(p, sizeof(p), "/dev/mapper/%s", argv[optind + 1]);
		json_object_object_add(j, "name", json_object_new_string(argv[optind + 1]));
		json_object_object_add(j, "path", json_object_new_string(p));
		print_json(j);
	} else {
		printf("opened %s as /dev/mapper/%s\n", argv[optind], argv[optind + 1]);
	}
	return 0;
}

static int cmd_close(int argc, char **argv)
{
	static const struct option lo[] = { GLOBAL_OPTS, { NULL, 0, NULL, 0 } };
	struct aur_error e = { 0 };
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		r = aur_cli_global_opt(c);
		if (r < 0) {
			printf("%s%s", CLOSE_HELP, GLOBAL_HELP);
			return 0;
		}
		if (!r)
			return fail_usage("close", "invalid option%s", "");
	}
	if (argc - optind != 1)
		return fail_usage("close", "expected exactly one <name>%s", "");
	if (aur_volume_close(argv[optind], &e))
		return report(&e);
	if (!G.json)
		printf("closed %s\n", argv[optind]);
	else
		print_json(json_object_new_object());
	return 0;
}

/* ------------------------------------------------------------------ */
/* status                                                             */

static const char STATUS_HELP[] =
	"Usage: aurora status [<name|device>] [--json]\n\n"
	"Without an argument: every open aurora volume. With a mapping name or a device\n"
	"(a path): the volume's header (copies, sequence, state), its CMK, and the\n"
	"kernel's view (mapping, target status, key present).\n\n";

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
		printf("  state:      TERMINAL since %s (%s): restore from a backup\n", ts,
		       h->terminal_reason);
	} else {
		printf("  state:      active\n");
	}
	printf("  cmk:        %s (named %s; provider %s)\n", h->cmk_arn, h->cmk_named, h->provider);
	printf("  cipher:     %s, %u-bit key, %u-byte sectors\n", h->cipher, h->key_bits, h->sector_size);
	printf("  data:       offset %" PRIu64 ", %" PRIu64 " bytes\n", h->data_offset, h->data_size);
	aur_time_iso(h->created, ts);
	printf("  created:    %s\n", ts);
	printf("  header:     sequence %" PRIu64, h->seqid);
	for (i = 0; i < AUR_HDR_COPIES; i++)
		printf(", copy %d %s", i, r->valid[i] ? (r->seq[i] == h->seqid ? "ok" : "stale") : "INVALID");
	printf("%s\n", r->need_repair ? " (repaired on next write)" : "");
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
	printf("  kernel:     %s%s%s; keyring key %s; target status \"%s\"\n",
	       v->kernel_terminal ? "TERMINAL " : "active", v->kernel_terminal ? v->kernel_reason : "",
	       "", key ? "present" : "absent", v->dm.status);
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
	int rc = 0;

	memset(&v, 0, sizeof(v));
	aur_hdr_init(&hr.hdr);
	if (strchr(arg, '/')) {
		device = arg;
		if (aur_volume_read_header(device, &hr, &e))
			return report(&e);
		have_hdr = true;
		if (aur_dm_available() && aur_volume_find_open(hr.hdr.uuid, &v) == 0)
			mapped = true;
	} else {
		if (!aur_dm_available()) {
			aur_error_set(&e, AUR_EXIT_KERNEL, "device-mapper is not available");
			return report(&e);
		}
		if (aur_volume_get_open(arg, &v, &e)) {
			/* What aurora@<name>.service is waiting for (aurora-attach). */
			char p[PATH_MAX], line[512];
			FILE *f;

			snprintf(p, sizeof(p), "/run/aurora/attach/%s", arg);
			f = strchr(arg, '/') ? NULL : fopen(p, "re");
			if (f && fgets(line, sizeof(line), f))
				printf("%s: not open; aurora@%s.service: %s", arg, arg, line);
			if (f)
				fclose(f);
			return report(&e);
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
	if (G.json) {
		j = have_hdr ? hdr_json(&hr) : json_object_new_object();
		if (device)
			json_object_object_add(j, "device", json_object_new_string(device));
		json_object_object_add(j, "mapping", mapped ? open_json(&v, key) : NULL);
		print_json(j);
	} else {
		printf("%s:\n", mapped ? v.name : device);
		if (have_hdr)
			print_hdr(&hr);
		else
			printf("  header:     unreadable (%s)\n", e.msg);
		if (mapped)
			print_open(&v, key);
		else
			printf("  mapping:    not open\n");
	}
	if (have_hdr && hr.hdr.state == AUR_VOL_TERMINAL)
		rc = 0;
	aur_hdr_free(&hr.hdr);
	return rc;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option lo[] = { GLOBAL_OPTS, { NULL, 0, NULL, 0 } };
	struct aur_open_volume *vols = NULL;
	struct aur_error e = { 0 };
	size_t n = 0, i;
	int c, r;

	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		r = aur_cli_global_opt(c);
		if (r < 0) {
			printf("%s%s", STATUS_HELP, GLOBAL_HELP);
			return 0;
		}
		if (!r)
			return fail_usage("status", "invalid option%s", "");
	}
	if (argc - optind > 1)
		return fail_usage("status", "expected at most one <name|device>%s", "");
	if (argc - optind == 1)
		return status_one(argv[optind]);
	if (!aur_dm_available()) {
		aur_error_set(&e, AUR_EXIT_KERNEL, "device-mapper is not available");
		return report(&e);
	}
	if (aur_volume_list_open(&vols, &n, &e))
		return report(&e);
	if (G.json) {
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
			json_object_object_add(x, "device", json_object_new_string(vols[i].device));
			json_object_object_add(x, "mapping",
					       open_json(&vols[i], aur_keyring_find(vols[i].uuid, &s) == 0));
			json_object_array_add(arr, x);
		}
		json_object_object_add(o, "volumes", arr);
		print_json(o);
	} else {
		if (!n)
			printf("no open aurora volumes\n");
		for (i = 0; i < n; i++) {
			int32_t s;

			printf("%s: volume %s on %s, %s\n", vols[i].name, vols[i].uuid,
			       vols[i].device[0] ? vols[i].device : "?",
			       vols[i].kernel_terminal ? "TERMINAL" : "active");
			(void)s;
		}
	}
	free(vols);
	return 0;
}

/* ------------------------------------------------------------------ */
/* kms                                                                */

static const char KMS_HELP[] =
	"Usage: aurora kms <operation> [options]\n\n"
	"The KMS operations, named as AWS KMS names them. A CMK (--key-id) is a key id,\n"
	"key ARN, alias/NAME or alias ARN; another account's CMK only by ARN and only when\n"
	"its key policy allows the caller's account (--account).\n\n"
	"  create-key [--description TEXT]\n"
	"  describe-key --key-id KEY\n"
	"  list-keys\n"
	"  create-alias --alias-name alias/NAME --target-key-id KEY\n"
	"  delete-alias --alias-name alias/NAME\n"
	"  list-aliases [--key-id KEY]\n"
	"  enable-key --key-id KEY | disable-key --key-id KEY\n"
	"  schedule-key-deletion --key-id KEY [--pending-window-in-days 7..30 (30)]\n"
	"  cancel-key-deletion --key-id KEY            (the key returns Disabled)\n"
	"  enable-key-rotation --key-id KEY [--rotation-period-in-days 90..2560 (365)]\n"
	"  disable-key-rotation --key-id KEY\n"
	"  rotate-key-on-demand --key-id KEY           (old material is kept: old blobs unwrap)\n"
	"  get-key-policy --key-id KEY\n"
	"  put-key-policy --key-id KEY --allowed-accounts ID[,ID...]\n"
	"  grant-access --key-id KEY --grantee-account ID\n"
	"  revoke-access --key-id KEY --grantee-account ID\n"
	"  generate-data-key [--key-id KEY] [--number-of-bytes N | --key-spec AES_256|AES_128]\n"
	"                    [--encryption-context k=v,...] [--plaintext-out FILE|-]\n"
	"  decrypt --ciphertext-blob B64 | --ciphertext-file FILE [--key-id KEY]\n"
	"          [--encryption-context k=v,...] [--plaintext-out FILE|-]\n"
	"  re-encrypt --ciphertext-blob B64 | --ciphertext-file FILE [--source-key-id KEY]\n"
	"          [--source-encryption-context k=v,...] --destination-key-id KEY\n"
	"          [--destination-encryption-context k=v,...]\n\n"
	"Plaintext data keys are written only where --plaintext-out says (a new 0600\n"
	"file, or - for standard output), never by default. Management operations\n"
	"(everything but describe-key, generate-data-key, decrypt, re-encrypt) need the\n"
	"embedded (local) provider. Every operation is audited in <keystore>/audit.log.\n\n";

struct kargs {
	const char *key_id, *description, *alias, *target, *accounts, *grantee;
	const char *blob_b64, *blob_file, *ctx, *src_key, *src_ctx, *dst_key, *dst_ctx;
	const char *plaintext_out, *key_spec;
	uint64_t days, nbytes, period;
	bool have_days, have_nbytes, have_period;
};

enum {
	K_KEYID = 2000, K_DESC, K_ALIAS, K_TARGET, K_ACCOUNTS, K_GRANTEE, K_BLOB, K_BLOBFILE,
	K_CTX, K_SRCKEY, K_SRCCTX, K_DSTKEY, K_DSTCTX, K_PTOUT, K_DAYS, K_NBYTES, K_SPEC, K_PERIOD
};

static int parse_ctx(const char *s, struct aur_enc_ctx *ctx)
{
	char buf[2048], *save = NULL, *tok;

	memset(ctx, 0, sizeof(*ctx));
	if (!s || !*s)
		return 0;
	if (aur_strcpy(buf, sizeof(buf), s))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			return -EINVAL;
		*eq = '\0';
		if (aur_enc_ctx_set(ctx, tok, eq + 1))
			return -EINVAL;
	}
	return 0;
}

static int read_blob(const struct kargs *a, struct aur_blob *b)
{
	char *text = NULL;
	size_t len = 0;
	int n;

	memset(b, 0, sizeof(*b));
	if (a->blob_file) {
		if (aur_read_file(a->blob_file, AUR_BLOB_MAX * 2, &text, &len))
			return -ENOENT;
		/* base64 text (as printed) or raw bytes */
		{
			char *t = aur_strtrim(text);

			n = aur_base64_decode(t, b->data, sizeof(b->data));
			if (n <= 0 && len <= sizeof(b->data)) {
				memcpy(b->data, text, len);
				n = (int)len;
			}
		}
		free(text);
	} else if (a->blob_b64) {
		n = aur_base64_decode(a->blob_b64, b->data, sizeof(b->data));
	} else {
		return -EINVAL;
	}
	if (n <= 0)
		return -EINVAL;
	b->len = (size_t)n;
	return 0;
}

static int write_plaintext(const char *dest, const struct aur_secret *pt)
{
	char b64[4 * ((AUR_DATA_KEY_MAX + 2) / 3) + 2];
	int fd, r = 0;

	if (aur_base64_encode(pt->data, pt->len, b64, sizeof(b64)) < 0)
		return -EINVAL;
	strcat(b64, "\n");
	if (!strcmp(dest, "-")) {
		fd = STDOUT_FILENO;
	} else {
		fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			explicit_bzero(b64, sizeof(b64));
			return -errno;
		}
	}
	if (write(fd, b64, strlen(b64)) != (ssize_t)strlen(b64))
		r = -EIO;
	if (fd != STDOUT_FILENO)
		close(fd);
	explicit_bzero(b64, sizeof(b64));
	return r;
}

static struct json_object *info_json(const struct aur_kms_key_info *i)
{
	struct json_object *o = json_object_new_object();
	char ts[32];

	json_object_object_add(o, "KeyId", json_object_new_string(i->key_id));
	json_object_object_add(o, "Arn", json_object_new_string(i->arn));
	json_object_object_add(o, "AWSAccountId", json_object_new_string(i->account));
	json_object_object_add(o, "Region", json_object_new_string(i->region));
	json_object_object_add(o, "KeyState", json_object_new_string(aur_key_state_name(i->state)));
	json_object_object_add(o, "Enabled", json_object_new_boolean(i->enabled));
	json_object_object_add(o, "Description", json_object_new_string(i->description));
	aur_time_iso(i->creation_date, ts);
	json_object_object_add(o, "CreationDate", json_object_new_string(ts));
	if (i->deletion_date) {
		aur_time_iso(i->deletion_date, ts);
		json_object_object_add(o, "DeletionDate", json_object_new_string(ts));
	}
	return o;
}

static void print_info(const struct aur_kms_key_info *i)
{
	char ts[32];

	printf("KeyId:        %s\nArn:          %s\nAccount:      %s\nRegion:       %s\n"
	       "KeyState:     %s\nDescription:  %s\n",
	       i->key_id, i->arn, i->account, i->region, aur_key_state_name(i->state), i->description);
	aur_time_iso(i->creation_date, ts);
	printf("CreationDate: %s\n", ts);
	if (i->deletion_date) {
		aur_time_iso(i->deletion_date, ts);
		printf("DeletionDate: %s\n", ts);
	}
}

static int kms_err(const char *op, const struct aur_kms_status *st)
{
	struct aur_error e = { 0 };

	aur_error_set(&e, aur_exit_from_kms(st->code), "%s: %s: %s", op,
		      aur_kms_err_name(st->code), st->message);
	e.kms_code = st->code;
	return report(&e);
}

static int need(const char *op, const char *what, const char *v)
{
	if (v && *v)
		return 0;
	fprintf(stderr, "aurora kms %s: %s is required\nTry 'aurora kms --help'.\n", op, what);
	return AUR_EXIT_USAGE;
}

static int kms_dispatch(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	bool local = aur_kms_is_local(kms);
	int r;

	if (!strcmp(op, "describe-key")) {
		struct aur_kms_key_detail d;

		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (local) {
			if (aur_kms_local_describe_ex(kms, a->key_id, &d, &st))
				return kms_err("DescribeKey", &st);
		} else {
			memset(&d, 0, sizeof(d));
			if (kms->ops->describe_key(kms, a->key_id, &d.info, &st))
				return kms_err("DescribeKey", &st);
		}
		if (G.json) {
			j = json_object_new_object();
			struct json_object *m = info_json(&d.info);

			if (local) {
				struct json_object *p = json_object_new_array();
				size_t i;

				json_object_object_add(m, "KeyRotationEnabled", json_object_new_boolean(d.rotation_enabled));
				json_object_object_add(m, "RotationPeriodInDays", json_object_new_int((int)d.rotation_period_days));
				json_object_object_add(m, "KeyMaterialVersions", json_object_new_int((int)d.material_versions));
				for (i = 0; i < d.policy.n; i++)
					json_object_array_add(p, json_object_new_string(d.policy.accounts[i]));
				json_object_object_add(m, "AllowedAccounts", p);
			}
			json_object_object_add(j, "KeyMetadata", m);
			print_json(j);
		} else {
			print_info(&d.info);
			if (local) {
				size_t i;

				printf("Rotation:     %s (every %u days), %u material version(s)\nAllowed:     ",
				       d.rotation_enabled ? "enabled" : "disabled", d.rotation_period_days,
				       d.material_versions);
				for (i = 0; i < d.policy.n; i++)
					printf(" %s", d.policy.accounts[i]);
				printf("\n");
			}
		}
		return 0;
	}
	if (!strcmp(op, "generate-data-key")) {
		struct aur_enc_ctx ctx;
		struct aur_secret *pt = NULL;
		struct aur_blob *b = calloc(1, sizeof(*b));
		char arn[AUR_ARN_MAX] = "", b64[4 * (AUR_BLOB_MAX / 3) + 8];
		size_t nb = 32;

		if (!b)
			return AUR_EXIT_FAILURE;
		if (parse_ctx(a->ctx, &ctx)) {
			free(b);
			return fail_usage("kms generate-data-key", "bad --encryption-context (k=v,...)%s", "");
		}
		if (a->key_spec) {
			if (!strcmp(a->key_spec, "AES_256"))
				nb = 32;
			else if (!strcmp(a->key_spec, "AES_128"))
				nb = 16;
			else {
				free(b);
				return fail_usage("kms generate-data-key", "--key-spec is AES_256 or AES_128%s", "");
			}
		}
		if (a->have_nbytes)
			nb = (size_t)a->nbytes;
		if (kms->ops->generate_data_key(kms, a->key_id, &ctx, nb, &pt, b, arn, &st)) {
			free(b);
			return kms_err("GenerateDataKey", &st);
		}
		if (a->plaintext_out && (r = write_plaintext(a->plaintext_out, pt))) {
			aur_secret_free(pt);
			free(b);
			fprintf(stderr, "aurora: cannot write the plaintext to %s: %s\n", a->plaintext_out, strerror(-r));
			return AUR_EXIT_FAILURE;
		}
		aur_secret_free(pt);
		aur_base64_encode(b->data, b->len, b64, sizeof(b64));
		free(b);
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "CiphertextBlob", json_object_new_string(b64));
			json_object_object_add(j, "KeyId", json_object_new_string(arn));
			print_json(j);
		} else if (!a->plaintext_out || strcmp(a->plaintext_out, "-")) {
			printf("KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
		} else {
			fprintf(stderr, "KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
		}
		return 0;
	}
	if (!strcmp(op, "decrypt")) {
		struct aur_enc_ctx ctx;
		struct aur_secret *pt = NULL;
		struct aur_blob *b = calloc(1, sizeof(*b));
		char arn[AUR_ARN_MAX] = "";

		if (!b)
			return AUR_EXIT_FAILURE;
		if (parse_ctx(a->ctx, &ctx) || read_blob(a, b)) {
			free(b);
			return fail_usage("kms decrypt", "need a valid --ciphertext-blob or --ciphertext-file and k=v,... context%s", "");
		}
		r = kms->ops->decrypt(kms, a->key_id, &ctx, b, &pt, arn, &st);
		free(b);
		if (r)
			return kms_err("Decrypt", &st);
		if (a->plaintext_out && (r = write_plaintext(a->plaintext_out, pt))) {
			aur_secret_free(pt);
			fprintf(stderr, "aurora: cannot write the plaintext to %s: %s\n", a->plaintext_out, strerror(-r));
			return AUR_EXIT_FAILURE;
		}
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "KeyId", json_object_new_string(arn));
			json_object_object_add(j, "PlaintextBytes", json_object_new_int((int)pt->len));
			print_json(j);
		} else if (!a->plaintext_out || strcmp(a->plaintext_out, "-")) {
			printf("KeyId: %s\nDecrypted %zu bytes%s\n", arn, pt->len,
			       a->plaintext_out ? "" : " (not shown: use --plaintext-out)");
		}
		aur_secret_free(pt);
		return 0;
	}
	if (!strcmp(op, "re-encrypt")) {
		struct aur_enc_ctx sc, dc;
		struct aur_blob *b = calloc(1, sizeof(*b)), *out = calloc(1, sizeof(*out));
		char arn[AUR_ARN_MAX] = "", b64[4 * (AUR_BLOB_MAX / 3) + 8];

		if (!b || !out || parse_ctx(a->src_ctx, &sc) || parse_ctx(a->dst_ctx, &dc) ||
		    read_blob(a, b) || !a->dst_key) {
			free(b);
			free(out);
			return fail_usage("kms re-encrypt", "need a blob, --destination-key-id and valid contexts%s", "");
		}
		r = kms->ops->re_encrypt(kms, a->src_key, &sc, b, a->dst_key, &dc, out, arn, &st);
		free(b);
		if (r) {
			free(out);
			return kms_err("ReEncrypt", &st);
		}
		aur_base64_encode(out->data, out->len, b64, sizeof(b64));
		free(out);
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "CiphertextBlob", json_object_new_string(b64));
			json_object_object_add(j, "KeyId", json_object_new_string(arn));
			print_json(j);
		} else {
			printf("KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
		}
		return 0;
	}

	/* Management: the embedded provider only. */
	if (!local) {
		fprintf(stderr, "aurora kms %s: only the embedded (local) KMS is managed by aurora; "
			"use the KMS's own tools for provider \"%s\"\n", op, kms->ops->name);
		return AUR_EXIT_USAGE;
	}
	if (!strcmp(op, "create-key")) {
		struct aur_kms_key_info i;

		if (aur_kms_local_create_key(kms, a->description, &i, &st))
			return kms_err("CreateKey", &st);
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "KeyMetadata", info_json(&i));
			print_json(j);
		} else {
			print_info(&i);
		}
		return 0;
	}
	if (!strcmp(op, "list-keys")) {
		struct aur_kms_key_info *k;
		size_t n, i;

		if (aur_kms_local_list_keys(kms, &k, &n, &st))
			return kms_err("ListKeys", &st);
		if (G.json) {
			struct json_object *arr = json_object_new_array();

			j = json_object_new_object();
			for (i = 0; i < n; i++) {
				struct json_object *x = json_object_new_object();

				json_object_object_add(x, "KeyId", json_object_new_string(k[i].key_id));
				json_object_object_add(x, "KeyArn", json_object_new_string(k[i].arn));
				json_object_object_add(x, "KeyState", json_object_new_string(aur_key_state_name(k[i].state)));
				json_object_array_add(arr, x);
			}
			json_object_object_add(j, "Keys", arr);
			print_json(j);
		} else {
			for (i = 0; i < n; i++)
				printf("%s  %-15s  %s\n", k[i].arn, aur_key_state_name(k[i].state), k[i].description);
		}
		free(k);
		return 0;
	}
	if (!strcmp(op, "create-alias") || !strcmp(op, "delete-alias")) {
		bool create = op[0] == 'c';

		if ((r = need(op, "--alias-name", a->alias)) || (create && (r = need(op, "--target-key-id", a->target))))
			return r;
		if (create ? aur_kms_local_create_alias(kms, a->alias, a->target, &st)
			   : aur_kms_local_delete_alias(kms, a->alias, &st))
			return kms_err(create ? "CreateAlias" : "DeleteAlias", &st);
		if (G.json)
			print_json(json_object_new_object());
		return 0;
	}
	if (!strcmp(op, "list-aliases")) {
		struct aur_kms_alias *al;
		size_t n, i;

		if (aur_kms_local_list_aliases(kms, a->key_id, &al, &n, &st))
			return kms_err("ListAliases", &st);
		if (G.json) {
			struct json_object *arr = json_object_new_array();

			j = json_object_new_object();
			for (i = 0; i < n; i++) {
				struct json_object *x = json_object_new_object();

				json_object_object_add(x, "AliasName", json_object_new_string(al[i].name));
				json_object_object_add(x, "AliasArn", json_object_new_string(al[i].arn));
				json_object_object_add(x, "TargetKeyId", json_object_new_string(al[i].target_key_id));
				json_object_array_add(arr, x);
			}
			json_object_object_add(j, "Aliases", arr);
			print_json(j);
		} else {
			for (i = 0; i < n; i++)
				printf("%-32s %s\n", al[i].name, al[i].target_key_id);
		}
		free(al);
		return 0;
	}
	if (!strcmp(op, "enable-key") || !strcmp(op, "disable-key") ||
	    !strcmp(op, "cancel-key-deletion") || !strcmp(op, "disable-key-rotation")) {
		aur_kerr e;

		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (!strcmp(op, "enable-key"))
			e = aur_kms_local_enable_key(kms, a->key_id, &st);
		else if (!strcmp(op, "disable-key"))
			e = aur_kms_local_disable_key(kms, a->key_id, &st);
		else if (!strcmp(op, "cancel-key-deletion"))
			e = aur_kms_local_cancel_deletion(kms, a->key_id, &st);
		else
			e = aur_kms_local_disable_rotation(kms, a->key_id, &st);
		if (e)
			return kms_err(op, &st);
		if (G.json)
			print_json(json_object_new_object());
		return 0;
	}
	if (!strcmp(op, "schedule-key-deletion")) {
		int64_t date = 0;
		char ts[32];

		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (aur_kms_local_schedule_deletion(kms, a->key_id, a->have_days ? (unsigned int)a->days : 30,
						    &date, &st))
			return kms_err("ScheduleKeyDeletion", &st);
		aur_time_iso(date, ts);
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "KeyId", json_object_new_string(a->key_id));
			json_object_object_add(j, "DeletionDate", json_object_new_string(ts));
			json_object_object_add(j, "KeyState", json_object_new_string("PendingDeletion"));
			print_json(j);
		} else {
			printf("%s: PendingDeletion, deleted on %s\n", a->key_id, ts);
		}
		return 0;
	}
	if (!strcmp(op, "enable-key-rotation")) {
		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (aur_kms_local_enable_rotation(kms, a->key_id, a->have_period ? (unsigned int)a->period : 0, &st))
			return kms_err("EnableKeyRotation", &st);
		if (G.json)
			print_json(json_object_new_object());
		return 0;
	}
	if (!strcmp(op, "rotate-key-on-demand")) {
		unsigned int v = 0;

		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (aur_kms_local_rotate_on_demand(kms, a->key_id, &v, &st))
			return kms_err("RotateKeyOnDemand", &st);
		if (G.json) {
			j = json_object_new_object();
			json_object_object_add(j, "KeyId", json_object_new_string(a->key_id));
			json_object_object_add(j, "KeyMaterialVersion", json_object_new_int((int)v));
			print_json(j);
		} else {
			printf("%s: key material version %u\n", a->key_id, v);
		}
		return 0;
	}
	if (!strcmp(op, "get-key-policy") || !strcmp(op, "put-key-policy")) {
		struct aur_kms_policy p;
		size_t i;

		if ((r = need(op, "--key-id", a->key_id)))
			return r;
		if (op[0] == 'p') {
			char buf[1024], *save = NULL, *tok;

			if ((r = need(op, "--allowed-accounts", a->accounts)))
				return r;
			memset(&p, 0, sizeof(p));
			if (aur_strcpy(buf, sizeof(buf), a->accounts))
				return fail_usage("kms put-key-policy", "--allowed-accounts too long%s", "");
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (p.n >= AUR_POLICY_MAX || !aur_account_valid(tok))
					return fail_usage("kms put-key-policy", "bad account \"%s\"", tok);
				strcpy(p.accounts[p.n++], tok);
			}
			if (aur_kms_local_put_key_policy(kms, a->key_id, &p, &st))
				return kms_err("PutKeyPolicy", &st);
		}
		if (aur_kms_local_get_key_policy(kms, a->key_id, &p, &st))
			return kms_err("GetKeyPolicy", &st);
		if (G.json) {
			struct json_object *arr = json_object_new_array();

			j = json_object_new_object();
			for (i = 0; i < p.n; i++)
				json_object_array_add(arr, json_object_new_string(p.accounts[i]));
			json_object_object_add(j, "AllowedAccounts", arr);
			print_json(j);
		} else {
			printf("allowed accounts:");
			for (i = 0; i < p.n; i++)
				printf(" %s", p.accounts[i]);
			printf("\n");
		}
		return 0;
	}
	if (!strcmp(op, "grant-access") || !strcmp(op, "revoke-access")) {
		bool grant = op[0] == 'g';

		if ((r = need(op, "--key-id", a->key_id)) || (r = need(op, "--grantee-account", a->grantee)))
			return r;
		if (!aur_account_valid(a->grantee))
			return fail_usage("kms", "--grantee-account must be 12 digits, not \"%s\"", a->grantee);
		if (grant ? aur_kms_local_grant_account(kms, a->key_id, a->grantee, &st)
			  : aur_kms_local_revoke_account(kms, a->key_id, a->grantee, &st))
			return kms_err("PutKeyPolicy", &st);
		if (G.json)
			print_json(json_object_new_object());
		return 0;
	}
	fprintf(stderr, "aurora kms: unknown operation \"%s\"\nTry 'aurora kms --help'.\n", op);
	return AUR_EXIT_USAGE;
}

static int cmd_kms(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key-id", required_argument, NULL, K_KEYID },
		{ "description", required_argument, NULL, K_DESC },
		{ "alias-name", required_argument, NULL, K_ALIAS },
		{ "target-key-id", required_argument, NULL, K_TARGET },
		{ "allowed-accounts", required_argument, NULL, K_ACCOUNTS },
		{ "grantee-account", required_argument, NULL, K_GRANTEE },
		{ "ciphertext-blob", required_argument, NULL, K_BLOB },
		{ "ciphertext-file", required_argument, NULL, K_BLOBFILE },
		{ "encryption-context", required_argument, NULL, K_CTX },
		{ "source-key-id", required_argument, NULL, K_SRCKEY },
		{ "source-encryption-context", required_argument, NULL, K_SRCCTX },
		{ "destination-key-id", required_argument, NULL, K_DSTKEY },
		{ "destination-encryption-context", required_argument, NULL, K_DSTCTX },
		{ "plaintext-out", required_argument, NULL, K_PTOUT },
		{ "pending-window-in-days", required_argument, NULL, K_DAYS },
		{ "number-of-bytes", required_argument, NULL, K_NBYTES },
		{ "key-spec", required_argument, NULL, K_SPEC },
		{ "rotation-period-in-days", required_argument, NULL, K_PERIOD },
		GLOBAL_OPTS, { NULL, 0, NULL, 0 }
	};
	struct kargs a;
	struct aur_kms *kms = NULL;
	const char *op;
	int c, r;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "hv", lo, NULL)) != -1) {
		switch (c) {
		case K_KEYID: a.key_id = optarg; break;
		case K_DESC: a.description = optarg; break;
		case K_ALIAS: a.alias = optarg; break;
		case K_TARGET: a.target = optarg; break;
		case K_ACCOUNTS: a.accounts = optarg; break;
		case K_GRANTEE: a.grantee = optarg; break;
		case K_BLOB: a.blob_b64 = optarg; break;
		case K_BLOBFILE: a.blob_file = optarg; break;
		case K_CTX: a.ctx = optarg; break;
		case K_SRCKEY: a.src_key = optarg; break;
		case K_SRCCTX: a.src_ctx = optarg; break;
		case K_DSTKEY: a.dst_key = optarg; break;
		case K_DSTCTX: a.dst_ctx = optarg; break;
		case K_PTOUT: a.plaintext_out = optarg; break;
		case K_SPEC: a.key_spec = optarg; break;
		case K_DAYS:
			if (aur_parse_u64(optarg, &a.days) || a.days > 1000)
				return fail_usage("kms", "--pending-window-in-days: bad number \"%s\"", optarg);
			a.have_days = true;
			break;
		case K_NBYTES:
			if (aur_parse_u64(optarg, &a.nbytes) || a.nbytes < 1 || a.nbytes > AUR_DATA_KEY_MAX)
				return fail_usage("kms", "--number-of-bytes must be 1..1024, not \"%s\"", optarg);
			a.have_nbytes = true;
			break;
		case K_PERIOD:
			if (aur_parse_u64(optarg, &a.period) || a.period > 100000)
				return fail_usage("kms", "--rotation-period-in-days: bad number \"%s\"", optarg);
			a.have_period = true;
			break;
		default:
			r = aur_cli_global_opt(c);
			if (r < 0) {
				printf("%s%s", KMS_HELP, GLOBAL_HELP);
				return 0;
			}
			if (!r)
				return fail_usage("kms", "invalid option%s", "");
		}
	}
	if (optind >= argc)
		return fail_usage("kms", "missing operation%s", "");
	op = argv[optind];
	if (optind + 1 < argc)
		return fail_usage("kms", "unexpected argument \"%s\"", argv[optind + 1]);
	if (!strcmp(op, "help"))  {
		printf("%s%s", KMS_HELP, GLOBAL_HELP);
		return 0;
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = kms_dispatch(kms, op, &a);
	aur_kms_destroy(kms);
	return r;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "version", no_argument, NULL, 'V' },
		GLOBAL_OPTS, { NULL, 0, NULL, 0 }
	};
	const char *cmd;
	int c, r;

	aur_log_init("aurora", false, AUR_LOG_INFO);
	if (aur_secmem_harden_process())
		aur_warn("cannot disable core dumps: %s", strerror(errno));
	aur_dm_init_logging();
	umask(077);

	while ((c = getopt_long(argc, argv, "+hvV", lo, NULL)) != -1) {
		if (c == 'V') {
			printf("aurora %s\n", AURORA_VERSION);
			return 0;
		}
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
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;	/* full getopt re-initialisation: permute from here on */
	if (!strcmp(cmd, "format"))
		return cmd_format(argc, argv);
	if (!strcmp(cmd, "open"))
		return cmd_open(argc, argv);
	if (!strcmp(cmd, "close"))
		return cmd_close(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "kms"))
		return cmd_kms(argc, argv);
	if (!strcmp(cmd, "version")) {
		printf("aurora %s\n", AURORA_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		usage_main(stdout);
		return 0;
	}
	if (aur_cli_extra) {
		r = aur_cli_extra(cmd, argc, argv);
		if (r >= 0)
			return r;
	}
	fprintf(stderr, "aurora: unknown command \"%s\"\n", cmd);
	usage_main(stderr);
	return AUR_EXIT_USAGE;
}
