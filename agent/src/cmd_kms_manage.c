// SPDX-License-Identifier: GPL-2.0
/*
 * aurora CLI: `aurora kms` operations that manage the embedded KMS (keys,
 * aliases, state, rotation, key policy).  Rows of kms_ops[] in cmd_kms.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cmd_kms.h"

int kms_op_create_key(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_key_info i;
	struct aur_kms_status st = { 0 };
	struct json_object *j;

	if (aur_kms_local_create_key(kms, a->description, &i, &st))
		return kms_cli_err("CreateKey", &st);
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "KeyMetadata", kms_cli_info_json(&i));
		aur_cli_print_json(j);
	} else {
		kms_cli_print_info(&i);
	}
	return 0;
}


int kms_op_list_keys(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_key_info *k;
	size_t n, i;
	struct aur_kms_status st = { 0 };
	struct json_object *j;

	if (aur_kms_local_list_keys(kms, &k, &n, &st))
		return kms_cli_err("ListKeys", &st);
	if (aur_cli.json) {
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
		aur_cli_print_json(j);
	} else {
		for (i = 0; i < n; i++)
			printf("%s  %-15s  %s\n", k[i].arn, aur_key_state_name(k[i].state), k[i].description);
	}
	free(k);
	return 0;
}


int kms_op_alias(struct aur_kms *kms, const char *op, struct kargs *a)
{
	bool create = op[0] == 'c';
	struct aur_kms_status st = { 0 };
	int r;

	if ((r = kms_cli_need(op, "--alias-name", a->alias)) || (create && (r = kms_cli_need(op, "--target-key-id", a->target))))
		return r;
	if (create ? aur_kms_local_create_alias(kms, a->alias, a->target, &st)
		   : aur_kms_local_delete_alias(kms, a->alias, &st))
		return kms_cli_err(create ? "CreateAlias" : "DeleteAlias", &st);
	if (aur_cli.json)
		aur_cli_print_json(json_object_new_object());
	return 0;
}


int kms_op_list_aliases(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_alias *al;
	size_t n, i;
	struct aur_kms_status st = { 0 };
	struct json_object *j;

	if (aur_kms_local_list_aliases(kms, a->key_id, &al, &n, &st))
		return kms_cli_err("ListAliases", &st);
	if (aur_cli.json) {
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
		aur_cli_print_json(j);
	} else {
		for (i = 0; i < n; i++)
			printf("%-32s %s\n", al[i].name, al[i].target_key_id);
	}
	free(al);
	return 0;
}


int kms_op_key_state(struct aur_kms *kms, const char *op, struct kargs *a)
{
	aur_kerr e;
	struct aur_kms_status st = { 0 };
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
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
		return kms_cli_err(op, &st);
	if (aur_cli.json)
		aur_cli_print_json(json_object_new_object());
	return 0;
}


int kms_op_schedule_deletion(struct aur_kms *kms, const char *op, struct kargs *a)
{
	int64_t date = 0;
	char ts[32];
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
		return r;
	if (aur_kms_local_schedule_deletion(kms, a->key_id, a->have_days ? (unsigned int)a->days : 30,
					    &date, &st))
		return kms_cli_err("ScheduleKeyDeletion", &st);
	aur_time_iso(date, ts);
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "KeyId", json_object_new_string(a->key_id));
		json_object_object_add(j, "DeletionDate", json_object_new_string(ts));
		json_object_object_add(j, "KeyState", json_object_new_string("PendingDeletion"));
		aur_cli_print_json(j);
	} else {
		printf("%s: PendingDeletion, deleted on %s\n", a->key_id, ts);
	}
	return 0;
}


int kms_op_enable_rotation(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_status st = { 0 };
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
		return r;
	if (aur_kms_local_enable_rotation(kms, a->key_id, a->have_period ? (unsigned int)a->period : 0, &st))
		return kms_cli_err("EnableKeyRotation", &st);
	if (aur_cli.json)
		aur_cli_print_json(json_object_new_object());
	return 0;
}


int kms_op_rotate(struct aur_kms *kms, const char *op, struct kargs *a)
{
	unsigned int v = 0;
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
		return r;
	if (aur_kms_local_rotate_on_demand(kms, a->key_id, &v, &st))
		return kms_cli_err("RotateKeyOnDemand", &st);
	if (aur_cli.json) {
		j = json_object_new_object();
		json_object_object_add(j, "KeyId", json_object_new_string(a->key_id));
		json_object_object_add(j, "KeyMaterialVersion", json_object_new_int((int)v));
		aur_cli_print_json(j);
	} else {
		printf("%s: key material version %u\n", a->key_id, v);
	}
	return 0;
}


int kms_op_policy(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_kms_policy p;
	size_t i;
	struct aur_kms_status st = { 0 };
	struct json_object *j;
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)))
		return r;
	if (op[0] == 'p') {
		char buf[1024], *save = NULL, *tok;

		if ((r = kms_cli_need(op, "--allowed-accounts", a->accounts)))
			return r;
		memset(&p, 0, sizeof(p));
		if (aur_strcpy(buf, sizeof(buf), a->accounts))
			return aur_cli_fail_usage("kms put-key-policy", "--allowed-accounts too long");
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (p.n >= AUR_POLICY_MAX || !aur_account_valid(tok))
				return aur_cli_fail_usage("kms put-key-policy", "bad account \"%s\"", tok);
			aur_strcpy(p.accounts[p.n++], sizeof(p.accounts[0]), tok);
		}
		if (aur_kms_local_put_key_policy(kms, a->key_id, &p, &st))
			return kms_cli_err("PutKeyPolicy", &st);
	}
	if (aur_kms_local_get_key_policy(kms, a->key_id, &p, &st))
		return kms_cli_err("GetKeyPolicy", &st);
	if (aur_cli.json) {
		struct json_object *arr = json_object_new_array();

		j = json_object_new_object();
		for (i = 0; i < p.n; i++)
			json_object_array_add(arr, json_object_new_string(p.accounts[i]));
		json_object_object_add(j, "AllowedAccounts", arr);
		aur_cli_print_json(j);
	} else {
		printf("allowed accounts:");
		for (i = 0; i < p.n; i++)
			printf(" %s", p.accounts[i]);
		printf("\n");
	}
	return 0;
}


int kms_op_access(struct aur_kms *kms, const char *op, struct kargs *a)
{
	bool grant = op[0] == 'g';
	struct aur_kms_status st = { 0 };
	int r;

	if ((r = kms_cli_need(op, "--key-id", a->key_id)) || (r = kms_cli_need(op, "--grantee-account", a->grantee)))
		return r;
	if (!aur_account_valid(a->grantee))
		return aur_cli_fail_usage("kms", "--grantee-account must be 12 digits, not \"%s\"", a->grantee);
	if (grant ? aur_kms_local_grant_account(kms, a->key_id, a->grantee, &st)
		  : aur_kms_local_revoke_account(kms, a->key_id, a->grantee, &st))
		return kms_cli_err("PutKeyPolicy", &st);
	if (aur_cli.json)
		aur_cli_print_json(json_object_new_object());
	return 0;
}

/* ------------------------------------------------------------------ */
/* export-keystore, import-keystore                                   */

/*
 * One line (up to AUR_KSX_PASS_MAX bytes, the newline dropped) from @fd into
 * secmem.  Never from argv or the environment.
 */
static struct aur_secret *read_line_fd(int fd, const char *what)
{
	struct aur_secret *buf = aur_secret_alloc(AUR_KSX_PASS_MAX + 1), *out;
	size_t n = 0;
	ssize_t r;

	if (!buf) {
		fprintf(stderr, "aurora: cannot lock memory for the passphrase\n");
		return NULL;
	}
	while (n <= AUR_KSX_PASS_MAX) {
		r = read(fd, buf->data + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "aurora: reading the passphrase from %s: %s\n", what,
				strerror(errno));
			aur_secret_free(buf);
			return NULL;
		}
		if (r == 0 || buf->data[n] == '\n')
			break;
		n++;
	}
	if (n > AUR_KSX_PASS_MAX) {
		fprintf(stderr, "aurora: the passphrase from %s is longer than %d bytes\n", what,
			AUR_KSX_PASS_MAX);
		aur_secret_free(buf);
		return NULL;
	}
	out = aur_secret_alloc(n ? n : 1);
	if (out) {
		memcpy(out->data, buf->data, n);
		out->len = n;
	}
	aur_secret_free(buf);
	if (!out)
		fprintf(stderr, "aurora: cannot lock memory for the passphrase\n");
	return out;
}

/* From the terminal, echo off; @confirm: asked twice. */
static struct aur_secret *read_tty(const char *prompt, bool confirm)
{
	struct termios old, quiet;
	struct aur_secret *p1 = NULL, *p2 = NULL;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "aurora: no terminal for the recovery passphrase: give it with "
			"--passphrase-fd N\n");
		return NULL;
	}
	if (tcgetattr(fd, &old) != 0) {
		fprintf(stderr, "aurora: /dev/tty is not a terminal: use --passphrase-fd N\n");
		close(fd);
		return NULL;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	dprintf(fd, "%s: ", prompt);
	p1 = read_line_fd(fd, "the terminal");
	if (p1 && confirm) {
		dprintf(fd, "Again: ");
		p2 = read_line_fd(fd, "the terminal");
		if (!p2 || p2->len != p1->len || memcmp(p1->data, p2->data, p1->len)) {
			fprintf(stderr, "aurora: the two passphrases differ\n");
			aur_secret_free(p1);
			p1 = NULL;
		}
		aur_secret_free(p2);
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	close(fd);
	return p1;
}

static struct aur_secret *get_pass(const struct kargs *a, bool confirm)
{
	char what[32];

	if (a->have_pass_fd) {
		snprintf(what, sizeof(what), "fd %d", a->pass_fd);
		return read_line_fd(a->pass_fd, what);
	}
	return read_tty("Recovery passphrase", confirm);
}

int kms_op_export_keystore(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_ksx_params prm = {
		.t_cost = (uint32_t)a->pbkdf_time, .m_cost_kib = (uint32_t)a->pbkdf_memory,
		.parallelism = (uint32_t)a->pbkdf_parallel,
	};
	struct aur_error e = { 0 };
	struct aur_secret *pass = get_pass(a, true);
	char id[AUR_KEYSTORE_ID_MAX];
	int r;

	if (!pass)
		return AUR_EXIT_USAGE;
	r = aur_kms_local_export(kms, a->file, pass, &prm, a->force, id, &e);
	aur_secret_free(pass);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", json_object_new_string(a->file));
		json_object_object_add(j, "keystore_id", json_object_new_string(id));
		aur_cli_print_json(j);
	} else {
		printf("exported keystore %s to %s (keep the file and its passphrase apart)\n", id,
		       a->file);
	}
	return 0;
}

int kms_op_import_keystore(struct aur_kms *kms, const char *op, struct kargs *a)
{
	struct aur_error e = { 0 };
	struct aur_secret *pass = get_pass(a, false);
	char id[AUR_KEYSTORE_ID_MAX];
	int r;

	if (!pass)
		return AUR_EXIT_USAGE;
	r = aur_kms_local_import(kms, a->file, pass, a->force, id, &e);
	aur_secret_free(pass);
	if (r)
		return aur_cli_report(&e);
	if (aur_cli.json) {
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "file", json_object_new_string(a->file));
		json_object_object_add(j, "keystore_id", json_object_new_string(id));
		aur_cli_print_json(j);
	} else {
		printf("imported keystore %s from %s\n", id, a->file);
	}
	return 0;
}
