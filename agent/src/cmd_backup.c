// SPDX-License-Identifier: GPL-2.0
/* aurora CLI: backup, backup verify, restore, copy, header backup/restore. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aurora/backup.h"
#include "cli.h"

enum { B_FORCE = 1, B_CHUNK, B_KEY, B_YES, B_QUIET, B_PLAIN, B_NEWKEY, B_TMPDIR };

/*
 * Output to a pipe whose reader may go away (an upload that fails): a write
 * must fail with EPIPE, not kill us, so that the error is reported and a
 * temporary snapshot removed.
 */
static void pipe_errors_not_fatal(const char *file)
{
	if (!strcmp(file, "-"))
		signal(SIGPIPE, SIG_IGN);
}

struct bk_args {
	struct aur_backup_opts bo;
	struct aur_restore_opts ro;
	bool force, quiet, plaintext, new_data_key;
	const char *tmpdir;
};

static int bk_opt(int val, const char *arg, void *ctx)
{
	struct bk_args *a = ctx;
	uint64_t v;

	switch (val) {
	case B_FORCE:
		a->force = a->bo.force = true;
		break;
	case B_CHUNK:
		if (aur_parse_u64(arg, &v) || v % 4096 || v < AUR_BACKUP_CHUNK_MIN ||
		    v > AUR_BACKUP_CHUNK_MAX)
			return aur_cli_fail_usage("backup", "--chunk-size must be a multiple of 4096 "
						  "from %u to %u, not \"%s\"", AUR_BACKUP_CHUNK_MIN,
						  AUR_BACKUP_CHUNK_MAX, arg);
		a->bo.chunk_size = (uint32_t)v;
		break;
	case B_KEY:
		a->ro.kms_key_id = arg;
		break;
	case B_YES:
		a->ro.yes = true;
		break;
	case B_PLAIN:
		a->plaintext = true;
		break;
	case B_NEWKEY:
		a->new_data_key = true;
		break;
	case B_TMPDIR:
		a->tmpdir = arg;
		break;
	default:
		a->quiet = true;
		break;
	}
	return 0;
}

static void info_json(struct json_object *j, const struct aur_backup_info *in)
{
	json_object_object_add(j, "kind", json_object_new_string(in->kind));
	json_object_object_add(j, "volume_uuid", json_object_new_string(in->uuid));
	json_object_object_add(j, "cmk_arn", json_object_new_string(in->cmk_arn));
	json_object_object_add(j, "cmk_region", json_object_new_string(in->cmk_region));
	json_object_object_add(j, "provider", json_object_new_string(in->provider));
	json_object_object_add(j, "source_state", json_object_new_string(in->source_state));
	json_object_object_add(j, "created", json_object_new_string(in->created));
	json_object_object_add(j, "chunk_size", json_object_new_int64(in->chunk_size));
	json_object_object_add(j, "data_offset", json_object_new_int64((int64_t)in->data_offset));
	json_object_object_add(j, "data_size", json_object_new_int64((int64_t)in->data_size));
	json_object_object_add(j, "chunks", json_object_new_int64((int64_t)in->chunks));
	json_object_object_add(j, "data_chunks", json_object_new_int64((int64_t)in->data_chunks));
	json_object_object_add(j, "file_bytes", json_object_new_int64((int64_t)in->file_bytes));
	json_object_object_add(j, "sha256", json_object_new_string(in->file_sha256));
}

/* A summary on stderr when the backup itself may be on stdout. */
static void info_text(FILE *f, const char *verb, const char *file, const struct aur_backup_info *in)
{
	fprintf(f, "%s %s: volume %s (%s at backup time), CMK %s, %" PRIu64 " bytes of data in %"
		PRIu64 " chunks (%" PRIu64 " stored, %" PRIu64 " holes), file %" PRIu64
		" bytes, SHA-256 %s\n", verb, file, in->uuid, in->source_state, in->cmk_arn,
		in->data_size, in->chunks, in->data_chunks, in->chunks - in->data_chunks,
		in->file_bytes, in->file_sha256);
}

static int cmd_backup(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct bk_args a = { 0 };
	struct aur_backup_info in;
	struct aur_error e = { 0 };
	bool verify, to_stdout;
	int r;

	r = aur_cli_parse(cmd, argc, argv, bk_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	verify = argc - optind >= 1 && !strcmp(argv[optind], "verify");
	if (argc - optind != 2)
		return aur_cli_fail_usage("backup", verify ? "expected: backup verify <file>" :
					  "expected: backup <source> <file>  or  backup verify <file>");
	a.bo.progress = !a.quiet;
	if (!verify)
		pipe_errors_not_fatal(argv[optind + 1]);
	if (verify)
		r = aur_backup_verify(argv[optind + 1], !a.quiet, &in, &e);
	else
		r = aur_backup_create(argv[optind], argv[optind + 1], &a.bo, &in, &e);
	if (r)
		return aur_cli_report(&e);
	to_stdout = !verify && !strcmp(argv[optind + 1], "-");
	if (aur_cli.json && !to_stdout) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", json_object_new_string(argv[optind + 1]));
		json_object_object_add(j, "verified", json_object_new_boolean(1));
		info_json(j, &in);
		aur_cli_print_json(j);
	} else if (!a.quiet) {
		info_text(to_stdout ? stderr : stdout, verify ? "verified" : "backed up to",
			  argv[optind + 1], &in);
	}
	return 0;
}

/* restore --plaintext: takes over (and destroys) @kms. */
static int restore_plaintext(struct aur_kms *kms, struct bk_args *a, const char *image,
			     const char *device)
{
	struct aur_error e = { 0 };
	struct aur_hdr h;
	int r;

	r = aur_restore_plaintext(kms, image, device, &a->ro, &h, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "device", json_object_new_string(device));
		json_object_object_add(j, "uuid", json_object_new_string(h.uuid));
		json_object_object_add(j, "key_arn", json_object_new_string(h.cmk_arn));
		json_object_object_add(j, "restored_from", json_object_new_string(h.restored_from));
		json_object_object_add(j, "data_size", json_object_new_int64((int64_t)h.data_size));
		aur_cli_print_json(j);
	} else {
		printf("restored plaintext image %s onto %s: new encrypted volume %s, CMK %s\n",
		       image, device, h.uuid, h.cmk_arn);
	}
	aur_hdr_free(&h);
	return 0;
}

static int cmd_restore(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct bk_args a = { 0 };
	struct aur_backup_info in;
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	struct aur_hdr h;
	int r;

	r = aur_cli_parse(cmd, argc, argv, bk_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 2)
		return aur_cli_fail_usage("restore", a.plaintext ?
					  "expected: restore --plaintext <image> <device> --kms-key-id KEY" :
					  "expected: restore <file> <device>");
	if (a.plaintext && (!a.ro.kms_key_id || !*a.ro.kms_key_id))
		return aur_cli_fail_usage("restore", "--plaintext needs --kms-key-id: the CMK of the "
					  "new encrypted volume");
	a.ro.progress = !a.quiet;
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	if (a.plaintext)
		return restore_plaintext(kms, &a, argv[optind], argv[optind + 1]);
	r = aur_backup_restore(kms, argv[optind], argv[optind + 1], &a.ro, &in, &h, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "device", json_object_new_string(argv[optind + 1]));
		json_object_object_add(j, "uuid", json_object_new_string(h.uuid));
		json_object_object_add(j, "key_arn", json_object_new_string(h.cmk_arn));
		json_object_object_add(j, "restored_from", json_object_new_string(h.restored_from));
		info_json(j, &in);
		aur_cli_print_json(j);
	} else {
		printf("restored %s onto %s: new volume %s (restored from %s), CMK %s\n",
		       argv[optind], argv[optind + 1], h.uuid, h.restored_from, h.cmk_arn);
	}
	aur_hdr_free(&h);
	return 0;
}

static int cmd_copy(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct bk_args a = { 0 };
	struct aur_copy_opts co = { 0 };
	struct aur_backup_info in;
	struct aur_error e = { 0 };
	struct aur_kms *kms = NULL;
	struct aur_hdr h;
	bool to_stdout;
	int r;

	r = aur_cli_parse(cmd, argc, argv, bk_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (argc - optind != 2)
		return aur_cli_fail_usage("copy", "expected: copy <file> <dest> --kms-key-id KEY");
	if (!a.ro.kms_key_id || !*a.ro.kms_key_id)
		return aur_cli_fail_usage("copy", "--kms-key-id is required: a CMK of the "
					  "destination region");
	co.kms_key_id = a.ro.kms_key_id;
	co.force = a.force || a.ro.yes;
	co.new_data_key = a.new_data_key;
	co.tmpdir = a.tmpdir;
	if (a.tmpdir && !a.new_data_key)
		return aur_cli_fail_usage("copy", "--tmpdir is for --new-data-key only");
	co.progress = !a.quiet;
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	pipe_errors_not_fatal(argv[optind + 1]);
	r = aur_backup_copy(kms, argv[optind], argv[optind + 1], &co, &in, &h, &e);
	aur_kms_destroy(kms);
	if (r)
		return aur_cli_report(&e);
	to_stdout = !strcmp(argv[optind + 1], "-");
	if (aur_cli.json && !to_stdout) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", json_object_new_string(argv[optind + 1]));
		json_object_object_add(j, "copied_from", json_object_new_string(h.copied_from));
		json_object_object_add(j, "new_data_key", json_object_new_boolean(a.new_data_key));
		info_json(j, &in);
		aur_cli_print_json(j);
	} else if (!a.quiet) {
		fprintf(to_stdout ? stderr : stdout,
			"copied %s to %s: volume %s (copied from %s), CMK %s in %s%s, SHA-256 %s\n",
			argv[optind], argv[optind + 1], h.uuid, h.copied_from, h.cmk_arn,
			h.cmk_region, a.new_data_key ? ", re-encrypted under a new data key" : "",
			in.file_sha256);
	}
	aur_hdr_free(&h);
	return 0;
}

static int cmd_header(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct bk_args a = { 0 };
	struct aur_backup_info in;
	struct aur_error e = { 0 };
	const char *op;
	int r;

	r = aur_cli_parse(cmd, argc, argv, bk_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	op = argc - optind >= 1 ? argv[optind] : "";
	if (argc - optind != 3 || (strcmp(op, "backup") && strcmp(op, "restore")))
		return aur_cli_fail_usage("header", "expected: header backup <device> <file>  or  "
					  "header restore <file> <device>");
	if (!strcmp(op, "backup"))
		r = aur_header_backup(argv[optind + 1], argv[optind + 2], a.force, &in, &e);
	else
		r = aur_header_restore(argv[optind + 1], argv[optind + 2], a.force, &in, &e);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		info_json(j, &in);
		aur_cli_print_json(j);
	} else if (!strcmp(op, "backup")) {
		fprintf(strcmp(argv[optind + 2], "-") ? stdout : stderr,
			"header of volume %s (%s) saved to %s\n", in.uuid, in.source_state,
			argv[optind + 2]);
	} else {
		printf("header of volume %s written to %s\n", in.uuid, argv[optind + 2]);
	}
	return 0;
}


static int cmd_snapshot(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct aur_error e = { 0 };
	struct aur_snapshot sn, *all = NULL;
	const char *op;
	size_t n = 0, i;
	int r, nargs;

	r = aur_cli_parse(cmd, argc, argv, NULL, NULL);
	if (r != AUR_CLI_GO_ON)
		return r;
	op = argc - optind >= 1 ? argv[optind] : "";
	nargs = argc - optind - 1;
	if (!strcmp(op, "create") && nargs == 2) {
		r = aur_snapshot_create(argv[optind + 1], argv[optind + 2], &sn, &e);
		if (r)
			return aur_cli_report(&e);
		printf("snapshot %s/%s of volume %s (%s/%s): ciphertext under the same data key%s%s\n",
		       sn.vg, sn.lv, argv[optind + 1], sn.vg, sn.origin,
		       sn.dm_path[0] ? ", device " : "", sn.dm_path);
		return 0;
	}
	if (!strcmp(op, "delete") && nargs == 1) {
		r = aur_snapshot_delete(argv[optind + 1], &e);
		if (r)
			return aur_cli_report(&e);
		printf("deleted snapshot %s\n", argv[optind + 1]);
		return 0;
	}
	if (strcmp(op, "list") || nargs != 0)
		return aur_cli_fail_usage("snapshot", "expected: snapshot create <name> <snap>, "
					  "snapshot list, or snapshot delete <snap>");
	r = aur_snapshot_list(&all, &n, &e);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *a = json_object_new_array();

		for (i = 0; i < n; i++) {
			struct json_object *j = json_object_new_object();

			json_object_object_add(j, "vg", json_object_new_string(all[i].vg));
			json_object_object_add(j, "snapshot", json_object_new_string(all[i].lv));
			json_object_object_add(j, "origin", json_object_new_string(all[i].origin));
			json_object_object_add(j, "volume_uuid", json_object_new_string(all[i].volume_uuid));
			json_object_object_add(j, "time", json_object_new_string(all[i].time));
			json_object_object_add(j, "active", json_object_new_boolean(all[i].active));
			json_object_object_add(j, "device", json_object_new_string(all[i].dm_path));
			json_object_array_add(a, j);
		}
		aur_cli_print_json(a);
	} else {
		for (i = 0; i < n; i++)
			printf("%s/%s  origin %s  volume %s  %s  %s\n", all[i].vg, all[i].lv,
			       all[i].origin, all[i].volume_uuid[0] ? all[i].volume_uuid : "?",
			       all[i].time, all[i].active ? all[i].dm_path : "inactive");
	}
	free(all);
	return 0;
}

/* ------------------------------------------------------------------ */

static const struct aur_cli_opt backup_opts[] = {
	{ "chunk-size", required_argument, B_CHUNK,
	  "  --chunk-size N     bytes per chunk (multiple of 4096, 65536..67108864;\n"
	  "                     default 1048576)\n" },
	{ "force", no_argument, B_FORCE,
	  "  --force            overwrite an existing <file>\n" },
	{ "quiet", no_argument, B_QUIET,
	  "  --quiet            no progress line, no summary\n" },
	{ NULL, 0, 0, NULL }
};

static const struct aur_cli_opt restore_opts[] = {
	{ "kms-key-id", required_argument, B_KEY,
	  "  --kms-key-id KEY   CMK for the new volume (key id, ARN, alias); default: the\n"
	  "                     backup's CMK; required with --plaintext\n" },
	{ "plaintext", no_argument, B_PLAIN,
	  "  --plaintext        <file> is an unencrypted image (file or block device),\n"
	  "                     encrypted onto <device> through a dm-aurora mapping\n" },
	{ "yes", no_argument, B_YES,
	  "  --yes              overwrite a device holding a filesystem or another volume\n" },
	{ "quiet", no_argument, B_QUIET,
	  "  --quiet            no progress line\n" },
	{ NULL, 0, 0, NULL }
};

static const struct aur_cli_opt copy_opts[] = {
	{ "kms-key-id", required_argument, B_KEY,
	  "  --kms-key-id KEY   the destination CMK: key ARN (or alias ARN) of another\n"
	  "                     region than the backup's CMK (required)\n" },
	{ "yes", no_argument, B_YES,
	  "  --yes              overwrite an existing <dest>\n" },
	{ "force", no_argument, B_FORCE,
	  "  --force            the same as --yes\n" },
	{ "new-data-key", no_argument, B_NEWKEY,
	  "  --new-data-key     re-encrypt the data under a fresh data key generated under\n"
	  "                     KEY (any region), through two temporary dm-aurora mappings\n" },
	{ "tmpdir", required_argument, B_TMPDIR,
	  "  --tmpdir DIR       temporary files of --new-data-key (ciphertext only, about\n"
	  "                     two chunks); default: <dest>'s directory\n" },
	{ "quiet", no_argument, B_QUIET,
	  "  --quiet            no progress line, no summary\n" },
	{ NULL, 0, 0, NULL }
};

static const struct aur_cli_opt header_opts[] = {
	{ "force", no_argument, B_FORCE,
	  "  --force            backup: overwrite <file>; restore: write over another\n"
	  "                     volume's header or a signature\n" },
	{ NULL, 0, 0, NULL }
};

static const char backup_list[] =
	"  backup <source> <file>   back up a closed volume's header and ciphertext\n"
	"  backup verify <file>     check a backup's hashes (no key needed)\n";

static const char backup_description[] =
	"Copy the header and the ciphertext of closed volume <source> (a device or image\n"
	"holding an aurora header) into <file> (\"-\": standard output). Nothing is\n"
	"decrypted and no key is needed. Chunks that read as zeros (unallocated thin\n"
	"storage) are recorded as holes. Every chunk has a SHA-256, and the file ends with\n"
	"a whole-file SHA-256 (Documentation/backup.md). A progress line goes to stderr\n"
	"when it is a terminal.\n"
	"`backup verify <file>` reads a backup (\"-\": standard input) and checks every\n"
	"hash, without any key.\n\n";

static const char restore_list[] =
	"  restore <file> <device>  a backup onto <device> as a new volume; with\n"
	"                           --plaintext, an unencrypted image encrypted onto it\n";

static const char restore_description[] =
	"Make <device> a new volume (new UUID) holding the data of backup <file>\n"
	"(\"-\": standard input). The data key is unwrapped under the backup's CMK and\n"
	"wrapped under --kms-key-id (default: the same CMK) with the new volume's\n"
	"encryption context, by the KMS (ReEncrypt); lineage.restored_from names the\n"
	"source. This is the way out of a terminal volume: it works whatever the state of\n"
	"the source, as long as the backup's CMK can be used. A file is verified whole\n"
	"before anything is written; a corrupt chunk is refused by number. From standard\n"
	"input each chunk is checked before it is written and the header comes last: a\n"
	"failure leaves <device> with no aurora header.\n"
	"restore --plaintext <image> <device> --kms-key-id KEY: make <device> (a block\n"
	"device) a new encrypted volume holding unencrypted image <image> (a file or block\n"
	"device, the snapshot of an unencrypted volume): formatted as format does (new\n"
	"UUID, a fresh data key under KEY), the image written whole through a temporary\n"
	"dm-aurora mapping, so no plaintext reaches <device>; the header comes last.\n"
	"lineage.restored_from is \"plaintext:<image>\".\n\n";

static const char copy_list[] =
	"  copy <file> <dest>       a backup to another region (rewrapped data key;\n"
	"                           --new-data-key: re-encrypted under a fresh one)\n";

static const char copy_description[] =
	"Write <dest> (\"-\": standard output), a backup of a new volume (new UUID)\n"
	"holding the data of backup <file> (\"-\": standard input), whose data key is\n"
	"wrapped under --kms-key-id, a CMK of another region: the key is unwrapped in the\n"
	"backup CMK's region (Decrypt) and wrapped in the destination's (Encrypt) with the\n"
	"new volume's encryption context. The data stays ciphertext: the chunks are copied\n"
	"as they are. lineage.copied_from names the source volume. The copy restores and\n"
	"opens with only the destination region's KMS. A CMK of the backup's own region is\n"
	"refused (use restore --kms-key-id). A file is verified whole first.\n"
	"--new-data-key: no key shared with the source: a fresh data key is generated\n"
	"under KEY (which may then be in any region), and each chunk is decrypted through\n"
	"a temporary mapping under the old key and encrypted through a second one under\n"
	"the new key, inside the kernel (splice), via unnamed temporary files in --tmpdir\n"
	"that hold ciphertext only.\n\n";

static const char header_list[] =
	"  header backup|restore    save or put back a volume's header alone\n";

static const char header_description[] =
	"header backup <device> <file>: save both header copies of <device> into <file>\n"
	"(\"-\": standard output).\n"
	"header restore <file> <device>: write a saved header back. Refused when <device>\n"
	"holds the header of another volume (or a filesystem signature) unless --force.\n\n";

static const char snapshot_list[] =
	"  snapshot create|list|delete  thin-LVM snapshots of open volumes\n";

static const char snapshot_description[] =
	"snapshot create <name> <snap>: a crash-consistent snapshot of open volume <name>\n"
	"whose ciphertext is on an LVM thin logical volume: the mapping is suspended\n"
	"(flushed), the thin LV snapshotted as <snap> in its volume group (lvcreate -s),\n"
	"and the mapping resumed. The snapshot is ciphertext under the same data key; back\n"
	"it up with aurora backup /dev/mapper/<vg>-<snap>.\n"
	"snapshot list: every aurora snapshot (LVs tagged aurora_snapshot).\n"
	"snapshot delete <snap>: remove one (<snap> or <vg>/<snap>).\n\n";

const struct aur_cli_cmd aur_cli_backup_cmds[] = {
	{ .name = "backup", .list = backup_list,
	  .usage = "backup <source> <file> [options]  |  backup verify <file>",
	  .description = backup_description, .opts = backup_opts, .run = cmd_backup },
	{ .name = "restore", .list = restore_list,
	  .usage = "restore <file> <device> [--kms-key-id KEY] [--yes]  |  "
		   "restore --plaintext <image> <device> --kms-key-id KEY [--yes]",
	  .description = restore_description, .opts = restore_opts,
	  .flags = AUR_CLI_NOCHANGE, .run = cmd_restore },
	{ .name = "copy", .list = copy_list,
	  .usage = "copy <file> <dest> --kms-key-id KEY [--new-data-key [--tmpdir DIR]] [--yes]",
	  .description = copy_description, .opts = copy_opts,
	  .flags = AUR_CLI_NOCHANGE, .run = cmd_copy },
	{ .name = "header", .list = header_list,
	  .usage = "header backup <device> <file> | header restore <file> <device> [--force]",
	  .description = header_description, .opts = header_opts, .run = cmd_header },
	{ .name = "snapshot", .list = snapshot_list,
	  .usage = "snapshot create <name> <snap> | snapshot list | snapshot delete <snap>",
	  .description = snapshot_description, .run = cmd_snapshot },
	{ .name = NULL }
};
