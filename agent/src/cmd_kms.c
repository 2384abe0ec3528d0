// SPDX-License-Identifier: GPL-2.0
/*
 * aurora CLI: `aurora kms <operation>`, the KMS operations as AWS KMS names
 * them.  Each operation is a row of kms_ops[]: its name, its line in
 * --help, whether it manages the embedded KMS, and its handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_kms.h"


enum {
	K_KEYID = 2000, K_DESC, K_ALIAS, K_TARGET, K_ACCOUNTS, K_GRANTEE, K_BLOB, K_BLOBFILE,
	K_CTX, K_SRCKEY, K_SRCCTX, K_DSTKEY, K_DSTCTX, K_PTOUT, K_DAYS, K_NBYTES, K_SPEC, K_PERIOD,
	K_PASSFD, K_PBKDF_MEM, K_PBKDF_TIME, K_PBKDF_PAR, K_FORCE
};

/* Listed in --help with their operations (kms_ops[]), not one by one. */
static const struct aur_cli_opt kms_opts[] = {
	{ "key-id", required_argument, K_KEYID, NULL },
	{ "description", required_argument, K_DESC, NULL },
	{ "alias-name", required_argument, K_ALIAS, NULL },
	{ "target-key-id", required_argument, K_TARGET, NULL },
	{ "allowed-accounts", required_argument, K_ACCOUNTS, NULL },
	{ "grantee-account", required_argument, K_GRANTEE, NULL },
	{ "ciphertext-blob", required_argument, K_BLOB, NULL },
	{ "ciphertext-file", required_argument, K_BLOBFILE, NULL },
	{ "encryption-context", required_argument, K_CTX, NULL },
	{ "source-key-id", required_argument, K_SRCKEY, NULL },
	{ "source-encryption-context", required_argument, K_SRCCTX, NULL },
	{ "destination-key-id", required_argument, K_DSTKEY, NULL },
	{ "destination-encryption-context", required_argument, K_DSTCTX, NULL },
	{ "plaintext-out", required_argument, K_PTOUT, NULL },
	{ "pending-window-in-days", required_argument, K_DAYS, NULL },
	{ "number-of-bytes", required_argument, K_NBYTES, NULL },
	{ "key-spec", required_argument, K_SPEC, NULL },
	{ "rotation-period-in-days", required_argument, K_PERIOD, NULL },
	{ "passphrase-fd", required_argument, K_PASSFD, NULL },
	{ "pbkdf-memory", required_argument, K_PBKDF_MEM, NULL },
	{ "pbkdf-time", required_argument, K_PBKDF_TIME, NULL },
	{ "pbkdf-parallel", required_argument, K_PBKDF_PAR, NULL },
	{ "force", no_argument, K_FORCE, NULL },
	{ NULL, 0, 0, NULL }
};

static int kms_opt(int val, const char *arg, void *ctx)
{
	struct kargs *a = ctx;

	switch (val) {
	case K_KEYID: a->key_id = arg; break;
	case K_DESC: a->description = arg; break;
	case K_ALIAS: a->alias = arg; break;
	case K_TARGET: a->target = arg; break;
	case K_ACCOUNTS: a->accounts = arg; break;
	case K_GRANTEE: a->grantee = arg; break;
	case K_BLOB: a->blob_b64 = arg; break;
	case K_BLOBFILE: a->blob_file = arg; break;
	case K_CTX: a->ctx = arg; break;
	case K_SRCKEY: a->src_key = arg; break;
	case K_SRCCTX: a->src_ctx = arg; break;
	case K_DSTKEY: a->dst_key = arg; break;
	case K_DSTCTX: a->dst_ctx = arg; break;
	case K_PTOUT: a->plaintext_out = arg; break;
	case K_SPEC: a->key_spec = arg; break;
	case K_DAYS:
		if (aur_parse_u64(arg, &a->days) || a->days > 1000)
			return aur_cli_fail_usage("kms", "--pending-window-in-days: bad number \"%s\"", arg);
		a->have_days = true;
		break;
	case K_NBYTES:
		if (aur_parse_u64(arg, &a->nbytes) || a->nbytes < 1 || a->nbytes > AUR_DATA_KEY_MAX)
			return aur_cli_fail_usage("kms", "--number-of-bytes must be 1..1024, not \"%s\"", arg);
		a->have_nbytes = true;
		break;
	case K_PASSFD: {
		uint64_t fd;

		if (aur_parse_u64(arg, &fd) || fd > 1023)
			return aur_cli_fail_usage("kms", "--passphrase-fd: bad file descriptor \"%s\"", arg);
		a->pass_fd = (int)fd;
		a->have_pass_fd = true;
		break;
	}
	case K_PBKDF_MEM:
		if (aur_parse_u64(arg, &a->pbkdf_memory) || a->pbkdf_memory < 1024 ||
		    a->pbkdf_memory > 4194304)
			return aur_cli_fail_usage("kms", "--pbkdf-memory: KiB from 1024 to 4194304, not \"%s\"", arg);
		break;
	case K_PBKDF_TIME:
		if (aur_parse_u64(arg, &a->pbkdf_time) || a->pbkdf_time < 1 || a->pbkdf_time > 64)
			return aur_cli_fail_usage("kms", "--pbkdf-time: passes from 1 to 64, not \"%s\"", arg);
		break;
	case K_PBKDF_PAR:
		if (aur_parse_u64(arg, &a->pbkdf_parallel) || a->pbkdf_parallel < 1 ||
		    a->pbkdf_parallel > 16)
			return aur_cli_fail_usage("kms", "--pbkdf-parallel: 1 to 16, not \"%s\"", arg);
		break;
	case K_FORCE:
		a->force = true;
		break;
	default:	/* K_PERIOD */
		if (aur_parse_u64(arg, &a->period) || a->period > 100000)
			return aur_cli_fail_usage("kms", "--rotation-period-in-days: bad number \"%s\"", arg);
		a->have_period = true;
		break;
	}
	return 0;
}

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
	int fd, n, r = 0;

	n = aur_base64_encode(pt->data, pt->len, b64, sizeof(b64) - 1);
	if (n < 0)
		return -EINVAL;
	b64[n] = '\n';
	b64[n + 1] = '\0';
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

struct json_object *kms_cli_info_json(const struct aur_kms_key_info *i)
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

void kms_cli_print_info(const struct aur_kms_key_info *i)
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

int kms_cli_err(const char *op, const struct aur_kms_status *st)
{
	struct aur_error e = { 0 };

	aur_error_from_kms(&e, op, st);
	return aur_cli_report(&e);
}

int kms_cli_need(const char *op, const char *what, const char *v)
{
	if (v && *v)
		return 0;
	fprintf(stderr, "aurora kms %s: %s is required\nTry 'aurora kms --help'.\n", op, what);
	return AUR_EXIT_USAGE;
}

static int op_describe(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_key_detail d;
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	bool local = aur_kms_is_local(kms);
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
		return r;
	if (local) {
		if (aur_kms_local_describe_ex(kms, a->key_id, &d, &st))
			return kms_cli_err("DescribeKey", &st);
	} else {
		memset(&d, 0, sizeof(d));
		if (aur_kms_describe_key(kms, a->key_id, &d.info, &st))
			return kms_cli_err("DescribeKey", &st);
	}
	if (aur_cli.json) {
		j = json_object_new_object();
		struct json_object *m = kms_cli_info_json(&d.info);

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
		aur_cli_print_json(j);
	} else {
		kms_cli_print_info(&d.info);
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

static int op_generate(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_enc_ctx ctx;
	struct aur_secret *pt = NULL;
	struct aur_blob *b = calloc(1, sizeof(*b));
	char arn[AUR_ARN_MAX] = "", b64[4 * (AUR_BLOB_MAX / 3) + 8];
	size_t nb = 32;
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if (!b)
		return AUR_EXIT_FAILURE;
	if (parse_ctx(a->ctx, &ctx)) {
		free(b);
		return aur_cli_fail_usage("kms generate-data-key", "bad --encryption-context (k=v,...)");
	}
	if (a->key_spec) {
		if (!strcmp(a->key_spec, "AES_256"))
			nb = 32;
		else if (!strcmp(a->key_spec, "AES_128"))
			nb = 16;
		else {
			free(b);
			return aur_cli_fail_usage("kms generate-data-key", "--key-spec is AES_256 or AES_128");
		}
	}
	if (a->have_nbytes)
		nb = (size_t)a->nbytes;
	if (aur_kms_generate_data_key(kms, a->key_id, &ctx, nb, &pt, b, arn, &st)) {
		free(b);
		return kms_cli_err("GenerateDataKey", &st);
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
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "CiphertextBlob", json_object_new_string(b64));
		json_object_object_add(j, "KeyId", json_object_new_string(arn));
		aur_cli_print_json(j);
	} else if (!a->plaintext_out || strcmp(a->plaintext_out, "-")) {
		printf("KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
	} else {
		fprintf(stderr, "KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
	}
	return 0;
}

static int op_decrypt(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_enc_ctx ctx;
	struct aur_secret *pt = NULL;
	struct aur_blob *b = calloc(1, sizeof(*b));
	char arn[AUR_ARN_MAX] = "";
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if (!b)
		return AUR_EXIT_FAILURE;
	if (parse_ctx(a->ctx, &ctx) || read_blob(a, b)) {
		free(b);
		return aur_cli_fail_usage("kms decrypt", "need a valid --ciphertext-blob or --ciphertext-file and k=v,... context");
	}
	r = aur_kms_decrypt(kms, a->key_id, &ctx, b, &pt, arn, &st);
	free(b);
	if (r)
		return kms_cli_err("Decrypt", &st);
	if (a->plaintext_out && (r = write_plaintext(a->plaintext_out, pt))) {
		aur_secret_free(pt);
		fprintf(stderr, "aurora: cannot write the plaintext to %s: %s\n", a->plaintext_out, strerror(-r));
		return AUR_EXIT_FAILURE;
	}
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "KeyId", json_object_new_string(arn));
		json_object_object_add(j, "PlaintextBytes", json_object_new_int((int)pt->len));
		aur_cli_print_json(j);
	} else if (!a->plaintext_out || strcmp(a->plaintext_out, "-")) {
		printf("KeyId: %s\nDecrypted %zu bytes%s\n", arn, pt->len,
		       a->plaintext_out ? "" : " (not shown: use --plaintext-out)");
	}
	aur_secret_free(pt);
	return 0;
}

static int op_reencrypt(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_enc_ctx sc, dc;
	struct aur_blob *b = calloc(1, sizeof(*b)), *out = calloc(1, sizeof(*out));
	char arn[AUR_ARN_MAX] = "", b64[4 * (AUR_BLOB_MAX / 3) + 8];
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if (!b || !out || parse_ctx(a->src_ctx, &sc) || parse_ctx(a->dst_ctx, &dc) ||
	    read_blob(a, b) || !a->dst_key) {
		free(b);
		free(out);
		return aur_cli_fail_usage("kms re-encrypt", "need a blob, --destination-key-id and valid contexts");
	}
	r = aur_kms_re_encrypt(kms, a->src_key, &sc, b, a->dst_key, &dc, out, arn, &st);
	free(b);
	if (r) {
		free(out);
		return kms_cli_err("ReEncrypt", &st);
	}
	aur_base64_encode(out->data, out->len, b64, sizeof(b64));
	free(out);
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "CiphertextBlob", json_object_new_string(b64));
		json_object_object_add(j, "KeyId", json_object_new_string(arn));
		aur_cli_print_json(j);
	} else {
		printf("KeyId:          %s\nCiphertextBlob: %s\n", arn, b64);
	}
	return 0;
}

struct kms_op {
	const char *name;
	const char *help;		/* its lines in `aurora kms --help`, or NULL */
	bool manage;			/* the embedded (local) provider only */
	int (*run)(struct aur_kms *kms, const char *op, struct kargs *a);
};

static const struct kms_op kms_ops[] = {
	{ "create-key", "  create-key [--description TEXT]\n", true, kms_op_create_key },
	{ "describe-key", "  describe-key --key-id KEY\n", false, op_describe },
	{ "list-keys", "  list-keys\n", true, kms_op_list_keys },
	{ "create-alias", "  create-alias --alias-name alias/NAME --target-key-id KEY\n", true, kms_op_alias },
	{ "delete-alias", "  delete-alias --alias-name alias/NAME\n", true, kms_op_alias },
	{ "list-aliases", "  list-aliases [--key-id KEY]\n", true, kms_op_list_aliases },
	{ "enable-key", "  enable-key --key-id KEY | disable-key --key-id KEY\n", true, kms_op_key_state },
	{ "disable-key", NULL, true, kms_op_key_state },
	{ "schedule-key-deletion",
	  "  schedule-key-deletion --key-id KEY [--pending-window-in-days 7..30 (30)]\n",
	  true, kms_op_schedule_deletion },
	{ "cancel-key-deletion",
	  "  cancel-key-deletion --key-id KEY            (the key returns Disabled)\n",
	  true, kms_op_key_state },
	{ "enable-key-rotation",
	  "  enable-key-rotation --key-id KEY [--rotation-period-in-days 90..2560 (365)]\n",
	  true, kms_op_enable_rotation },
	{ "disable-key-rotation", "  disable-key-rotation --key-id KEY\n", true, kms_op_key_state },
	{ "rotate-key-on-demand",
	  "  rotate-key-on-demand --key-id KEY           (old material is kept: old blobs unwrap)\n",
	  true, kms_op_rotate },
	{ "get-key-policy", "  get-key-policy --key-id KEY\n", true, kms_op_policy },
	{ "put-key-policy", "  put-key-policy --key-id KEY --allowed-accounts ID[,ID...]\n", true, kms_op_policy },
	{ "grant-access", "  grant-access --key-id KEY --grantee-account ID\n", true, kms_op_access },
	{ "revoke-access", "  revoke-access --key-id KEY --grantee-account ID\n", true, kms_op_access },
	{ "generate-data-key",
	  "  generate-data-key [--key-id KEY] [--number-of-bytes N | --key-spec AES_256|AES_128]\n"
	  "                    [--encryption-context k=v,...] [--plaintext-out FILE|-]\n",
	  false, op_generate },
	{ "decrypt",
	  "  decrypt --ciphertext-blob B64 | --ciphertext-file FILE [--key-id KEY]\n"
	  "          [--encryption-context k=v,...] [--plaintext-out FILE|-]\n",
	  false, op_decrypt },
	{ "re-encrypt",
	  "  re-encrypt --ciphertext-blob B64 | --ciphertext-file FILE [--source-key-id KEY]\n"
	  "          [--source-encryption-context k=v,...] --destination-key-id KEY\n"
	  "          [--destination-encryption-context k=v,...]\n",
	  false, op_reencrypt },
	{ "export-keystore",
	  "  export-keystore FILE [--passphrase-fd N] [--pbkdf-memory KIB] [--pbkdf-time N]\n"
	  "          [--pbkdf-parallel N] [--force]   keystore + master key, under a passphrase\n",
	  true, kms_op_export_keystore },
	{ "import-keystore",
	  "  import-keystore FILE [--passphrase-fd N] [--force]   into an empty or the same keystore\n",
	  true, kms_op_import_keystore },
};
#define N_KMS_OPS	(sizeof(kms_ops) / sizeof(kms_ops[0]))

static void kms_help_ops(FILE *f)
{
	size_t i;

	for (i = 0; i < N_KMS_OPS; i++)
		if (kms_ops[i].help)
			fputs(kms_ops[i].help, f);
}

void aur_cli_kms_list_ops(FILE *f)
{
	size_t i;

	for (i = 0; i < N_KMS_OPS; i++)
		fprintf(f, "kms %s\n", kms_ops[i].name);
}

static int kms_dispatch(struct aur_kms *kms, const char *op, struct kargs *a)
{
	const struct kms_op *o = NULL;
	size_t i;

	for (i = 0; i < N_KMS_OPS && !o; i++)
		if (!strcmp(kms_ops[i].name, op))
			o = &kms_ops[i];
	if ((!o || o->manage) && !aur_kms_is_local(kms)) {
		fprintf(stderr, "aurora kms %s: only the embedded (local) KMS is managed by aurora; "
			"use the KMS's own tools for provider \"%s\"\n", op, aur_kms_provider_name(kms));
		return AUR_EXIT_USAGE;
	}
	if (!o) {
		fprintf(stderr, "aurora kms: unknown operation \"%s\"\nTry 'aurora kms --help'.\n", op);
		return AUR_EXIT_USAGE;
	}
	return o->run(kms, op, a);
}

static int cmd_kms(const struct aur_cli_cmd *cmd, int argc, char **argv)
{
	struct aur_kms *kms = NULL;
	struct kargs a = { 0 };
	const char *op;
	int r;

	r = aur_cli_parse(cmd, argc, argv, kms_opt, &a);
	if (r != AUR_CLI_GO_ON)
		return r;
	if (optind >= argc)
		return aur_cli_fail_usage("kms", "missing operation");
	op = argv[optind];
	if (!strcmp(op, "export-keystore") || !strcmp(op, "import-keystore")) {
		if (optind + 2 != argc)
			return aur_cli_fail_usage("kms", "expected: kms %s FILE", op);
		a.file = argv[optind + 1];
	} else if (optind + 1 < argc) {
		return aur_cli_fail_usage("kms", "unexpected argument \"%s\"", argv[optind + 1]);
	}
	if (!strcmp(op, "help")) {
		aur_cli_help(cmd, stdout);
		return 0;
	}
	r = aur_cli_open_kms(&kms);
	if (r)
		return r;
	r = kms_dispatch(kms, op, &a);
	aur_kms_destroy(kms);
	return r;
}

static const char kms_list[] =
	"  kms <operation> ...      the embedded KMS (aurora kms --help)\n";

static const char kms_description[] =
	"The KMS operations, named as AWS KMS names them. A CMK (--key-id) is a key id,\n"
	"key ARN, alias/NAME or alias ARN; another account's CMK only by ARN and only when\n"
	"its key policy allows the caller's account (--account).\n\n";

static const char kms_epilogue[] =
	"Plaintext data keys are written only where --plaintext-out says (a new 0600\n"
	"file, or - for standard output), never by default. Management operations\n"
	"(everything but describe-key, generate-data-key, decrypt, re-encrypt) need the\n"
	"embedded (local) provider. Every operation is audited in <keystore>/audit.log.\n\n";

const struct aur_cli_cmd aur_cli_kms_cmds[] = {
	{ .name = "kms", .list = kms_list, .usage = "kms <operation> [options]",
	  .description = kms_description, .help_subs = kms_help_ops, .opts = kms_opts,
	  .epilogue = kms_epilogue, .run = cmd_kms },
	{ .name = NULL }
};
