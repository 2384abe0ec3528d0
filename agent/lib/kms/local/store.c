// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS's keystore.json and its session (see local.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>

#include "kms/local/local.h"

/*
 * A key that is not in the keystore is NotFoundException (definitive: the
 * watching agent acts on it) only when the keystore file exists.  Without
 * keystore.json the keystore was never initialised here or its filesystem
 * is not mounted: a configuration problem, never a deleted key.
 */
aur_kerr lk_not_found_code(struct local_priv *p)
{
	return p->ks_missing ? AUR_KMS_E_CONFIG : AUR_KMS_E_NOT_FOUND;
}

int64_t lk_now(struct local_priv *p)
{
	return p->now ? p->now() : aur_now();
}

/* ------------------------------------------------------------------ */
/* keystore.json                                                      */

void lk_ks_free(struct ks *ks)
{
	size_t i;

	for (i = 0; i < ks->nkeys; i++)
		free(ks->keys[i].mat);
	free(ks->keys);
	free(ks->alias);
	memset(ks, 0, sizeof(*ks));
}

bool lk_alias_name_valid(const char *a)
{
	size_t i, n = strlen(a);

	if (!aur_str_has_prefix(a, "alias/") || n <= 6 || n >= AUR_ALIAS_MAX)
		return false;
	for (i = 6; i < n; i++) {
		char c = a[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int parse_key(struct json_object *jk, struct lkey *k, char *err, size_t errlen)
{
	const char *s;
	struct json_object *jr, *jp, *ja, *jm;
	int64_t v;
	size_t i;
	char e[128] = "";

	memset(k, 0, sizeof(*k));
	if (aur_json_get_str(jk, "key_id", true, &s, 36, e, sizeof(e)) || !aur_uuid_valid(s)) {
		snprintf(err, errlen, "key: bad key_id %s", e);
		goto free_materials;
	}
	aur_strcpy(k->id, sizeof(k->id), s);
	if (aur_json_get_str(jk, "account", true, &s, 12, e, sizeof(e)) || strlen(s) != 12) {
		snprintf(err, errlen, "key %s: bad account %s", k->id, e);
		goto free_materials;
	}
	aur_strcpy(k->account, sizeof(k->account), s);
	if (aur_json_get_str(jk, "region", true, &s, AUR_REGION_MAX - 1, e, sizeof(e)) || !*s) {
		snprintf(err, errlen, "key %s: bad region %s", k->id, e);
		goto free_materials;
	}
	aur_strcpy(k->region, sizeof(k->region), s);
	if (aur_json_get_str(jk, "description", false, &s, sizeof(k->description) - 1, e, sizeof(e))) {
		snprintf(err, errlen, "key %s: %s", k->id, e);
		goto free_materials;
	}
	if (s)
		aur_strcpy(k->description, sizeof(k->description), s);
	if (aur_json_get_str(jk, "state", true, &s, 32, e, sizeof(e))) {
		snprintf(err, errlen, "key %s: %s", k->id, e);
		goto free_materials;
	}
	k->state = aur_key_state_from_name(s);
	if (k->state != AUR_KEY_ENABLED && k->state != AUR_KEY_DISABLED &&
	    k->state != AUR_KEY_PENDING_DELETION) {
		snprintf(err, errlen, "key %s: bad state", k->id);
		goto free_materials;
	}
	if (aur_json_get_int64(jk, "creation_date", true, 0, INT32_MAX * 4LL, &k->created, e, sizeof(e)) ||
	    aur_json_get_int64(jk, "deletion_date", false, 0, INT32_MAX * 4LL, &k->deletion_date, e, sizeof(e))) {
		snprintf(err, errlen, "key %s: %s", k->id, e);
		goto free_materials;
	}
	if (k->state == AUR_KEY_PENDING_DELETION && !k->deletion_date) {
		snprintf(err, errlen, "key %s: PendingDeletion without deletion_date", k->id);
		goto free_materials;
	}
	if (aur_json_get_obj(jk, "rotation", false, &jr, e, sizeof(e))) {
		snprintf(err, errlen, "key %s: %s", k->id, e);
		goto free_materials;
	}
	if (jr) {
		v = 365;
		if (aur_json_get_bool(jr, "enabled", true, &k->rot_enabled, e, sizeof(e)) ||
		    aur_json_get_int64(jr, "period_days", false, 1, 2560, &v, e, sizeof(e)) ||
		    aur_json_get_int64(jr, "last_rotation", false, 0, INT32_MAX * 4LL,
				       &k->last_rotation, e, sizeof(e))) {
			snprintf(err, errlen, "key %s: rotation: %s", k->id, e);
			goto free_materials;
		}
		k->rot_period = (unsigned int)v;
	}
	if (aur_json_get_obj(jk, "policy", true, &jp, e, sizeof(e)) ||
	    aur_json_get_array(jp, "allowed_accounts", true, AUR_POLICY_MAX, &ja, e, sizeof(e))) {
		snprintf(err, errlen, "key %s: policy: %s", k->id, e);
		goto free_materials;
	}
	for (i = 0; i < json_object_array_length(ja); i++) {
		struct json_object *x = json_object_array_get_idx(ja, i);

		if (!json_object_is_type(x, json_type_string) ||
		    json_object_get_string_len(x) != 12) {
			snprintf(err, errlen, "key %s: policy: bad account", k->id);
			goto free_materials;
		}
		aur_strcpy(k->policy.accounts[k->policy.n++], sizeof(k->policy.accounts[0]), json_object_get_string(x));
	}
	if (aur_json_get_array(jk, "materials", true, MAX_MATERIALS, &jm, e, sizeof(e)) ||
	    json_object_array_length(jm) == 0) {
		snprintf(err, errlen, "key %s: materials: %s", k->id, e[0] ? e : "empty");
		goto free_materials;
	}
	k->nmat = json_object_array_length(jm);
	k->mat = calloc(k->nmat, sizeof(*k->mat));
	if (!k->mat) {
		snprintf(err, errlen, "out of memory");
		goto free_materials;
	}
	for (i = 0; i < k->nmat; i++) {
		struct json_object *x = json_object_array_get_idx(jm, i);

		if (aur_json_get_int64(x, "version", true, 1, UINT32_MAX, &v, e, sizeof(e))) {
			snprintf(err, errlen, "key %s: material: %s", k->id, e);
			goto free_materials;
		}
		if (v != (int64_t)i + 1) {
			snprintf(err, errlen, "key %s: material versions not 1..n", k->id);
			goto free_materials;
		}
		k->mat[i].version = (uint32_t)v;
		if (aur_json_get_int64(x, "created", true, 0, INT32_MAX * 4LL, &k->mat[i].created, e, sizeof(e)) ||
		    aur_json_get_str(x, "wrapped", true, &s, 128, e, sizeof(e))) {
			snprintf(err, errlen, "key %s: material: %s", k->id, e);
			goto free_materials;
		}
		if (aur_base64_decode(s, k->mat[i].wrapped, sizeof(k->mat[i].wrapped)) != MAT_WRAPPED) {
			snprintf(err, errlen, "key %s: material: bad wrapped value", k->id);
			goto free_materials;
		}
	}
	return 0;
free_materials:
	free(k->mat);
	k->mat = NULL;
	return -EINVAL;
}

int lk_ks_parse(struct ks *ks, const char *text, size_t len, char *err, size_t errlen)
{
	struct json_object *root, *jk, *ja;
	char e[200] = "";
	int64_t fmt;
	size_t i, j;

	memset(ks, 0, sizeof(*ks));
	root = aur_json_parse(text, len, e, sizeof(e));
	if (!root) {
		snprintf(err, errlen, "keystore: %s", e);
		return -EINVAL;
	}
	if (aur_json_get_int64(root, "format", true, 1, 1, &fmt, e, sizeof(e)) ||
	    aur_json_get_array(root, "keys", true, MAX_KEYS, &jk, e, sizeof(e)) ||
	    aur_json_get_array(root, "aliases", true, MAX_ALIASES, &ja, e, sizeof(e))) {
		snprintf(err, errlen, "keystore: %s", e);
		goto free_keystore;
	}
	ks->keys = calloc(json_object_array_length(jk) + 1, sizeof(*ks->keys));
	ks->alias = calloc(json_object_array_length(ja) + 1, sizeof(*ks->alias));
	if (!ks->keys || !ks->alias) {
		snprintf(err, errlen, "out of memory");
		goto free_keystore;
	}
	for (i = 0; i < json_object_array_length(jk); i++) {
		if (parse_key(json_object_array_get_idx(jk, i), &ks->keys[i], err, errlen))
			goto free_keystore;
		ks->nkeys++;
		for (j = 0; j < i; j++)
			if (!strcmp(ks->keys[j].id, ks->keys[i].id)) {
				snprintf(err, errlen, "keystore: duplicate key id %s", ks->keys[i].id);
				goto free_keystore;
			}
	}
	for (i = 0; i < json_object_array_length(ja); i++) {
		struct json_object *x = json_object_array_get_idx(ja, i);
		struct lalias *a = &ks->alias[i];
		const char *n, *acct, *reg, *kid;

		if (aur_json_get_str(x, "alias_name", true, &n, AUR_ALIAS_MAX - 1, e, sizeof(e)) ||
		    aur_json_get_str(x, "account", true, &acct, 12, e, sizeof(e)) ||
		    aur_json_get_str(x, "region", true, &reg, AUR_REGION_MAX - 1, e, sizeof(e)) ||
		    aur_json_get_str(x, "target_key_id", true, &kid, 36, e, sizeof(e)) ||
		    aur_json_get_int64(x, "creation_date", false, 0, INT32_MAX * 4LL, &a->created, e, sizeof(e))) {
			snprintf(err, errlen, "keystore: alias: %s", e);
			goto free_keystore;
		}
		if (!lk_alias_name_valid(n) || !aur_uuid_valid(kid)) {
			snprintf(err, errlen, "keystore: bad alias");
			goto free_keystore;
		}
		aur_strcpy(a->name, sizeof(a->name), n);
		aur_strcpy(a->account, sizeof(a->account), acct);
		aur_strcpy(a->region, sizeof(a->region), reg);
		aur_strcpy(a->key_id, sizeof(a->key_id), kid);
		ks->nalias++;
	}
	json_object_put(root);
	return 0;
free_keystore:
	json_object_put(root);
	lk_ks_free(ks);
	return -EINVAL;
}

int aur_kms_local_parse_keystore(const char *text, size_t len, char *err, size_t errlen)
{
	struct ks ks;
	int r = lk_ks_parse(&ks, text, len, err, errlen);

	if (!r)
		lk_ks_free(&ks);
	return r;
}

static char *ks_serialise(const struct ks *ks)
{
	struct json_object *root = json_object_new_object();
	struct json_object *jk = json_object_new_array(), *ja = json_object_new_array();
	char *out;
	size_t i, j;

	json_object_object_add(root, "format", json_object_new_int(1));
	json_object_object_add(root, "keys", jk);
	json_object_object_add(root, "aliases", ja);
	for (i = 0; i < ks->nkeys; i++) {
		const struct lkey *k = &ks->keys[i];
		struct json_object *o, *r, *p, *pa, *m;

		if (k->deleted)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "key_id", json_object_new_string(k->id));
		json_object_object_add(o, "account", json_object_new_string(k->account));
		json_object_object_add(o, "region", json_object_new_string(k->region));
		json_object_object_add(o, "description", json_object_new_string(k->description));
		json_object_object_add(o, "state", json_object_new_string(aur_key_state_name(k->state)));
		json_object_object_add(o, "creation_date", json_object_new_int64(k->created));
		if (k->state == AUR_KEY_PENDING_DELETION)
			json_object_object_add(o, "deletion_date", json_object_new_int64(k->deletion_date));
		r = json_object_new_object();
		json_object_object_add(r, "enabled", json_object_new_boolean(k->rot_enabled));
		json_object_object_add(r, "period_days", json_object_new_int64(k->rot_period ? k->rot_period : 365));
		json_object_object_add(r, "last_rotation", json_object_new_int64(k->last_rotation));
		json_object_object_add(o, "rotation", r);
		p = json_object_new_object();
		pa = json_object_new_array();
		for (j = 0; j < k->policy.n; j++)
			json_object_array_add(pa, json_object_new_string(k->policy.accounts[j]));
		json_object_object_add(p, "allowed_accounts", pa);
		json_object_object_add(o, "policy", p);
		m = json_object_new_array();
		for (j = 0; j < k->nmat; j++) {
			struct json_object *x = json_object_new_object();
			char b64[128];

			aur_base64_encode(k->mat[j].wrapped, MAT_WRAPPED, b64, sizeof(b64));
			json_object_object_add(x, "version", json_object_new_int64(k->mat[j].version));
			json_object_object_add(x, "created", json_object_new_int64(k->mat[j].created));
			json_object_object_add(x, "wrapped", json_object_new_string(b64));
			json_object_array_add(m, x);
		}
		json_object_object_add(o, "materials", m);
		json_object_array_add(jk, o);
	}
	for (i = 0; i < ks->nalias; i++) {
		const struct lalias *a = &ks->alias[i];
		struct json_object *o;

		if (a->deleted)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "alias_name", json_object_new_string(a->name));
		json_object_object_add(o, "account", json_object_new_string(a->account));
		json_object_object_add(o, "region", json_object_new_string(a->region));
		json_object_object_add(o, "target_key_id", json_object_new_string(a->key_id));
		json_object_object_add(o, "creation_date", json_object_new_int64(a->created));
		json_object_array_add(ja, o);
	}
	out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return out;
}

/* ------------------------------------------------------------------ */
/* Session: lock, load, lazy maintenance, save                        */

static aur_kerr missing_keystore(struct local_priv *p, bool no_dir, struct aur_kms_status *st);

/* The keystore directory: ours, mode 0700 (checked before anything is read from it). */
static aur_kerr check_dir(struct local_priv *p, struct aur_kms_status *st)
{
	struct stat sb;
	int r;

	if (stat(p->dir, &sb)) {
		r = errno;
		if (r == ENOENT)
			return missing_keystore(p, true, st);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "keystore %s: %s", p->dir, strerror(r));
	}
	if (!S_ISDIR(sb.st_mode))
		return aur_kms_fail(st, AUR_KMS_E_CONFIG, 0, "keystore %s is not a directory", p->dir);
	if ((sb.st_mode & 077) || sb.st_uid != geteuid())
		return aur_kms_fail(st, AUR_KMS_E_CONFIG, 0,
				    "keystore %s must be owned by uid %u with mode 0700 (is %04o)",
				    p->dir, (unsigned)geteuid(), (unsigned)(sb.st_mode & 07777));
	return AUR_KMS_OK;
}

static aur_kerr missing_keystore(struct local_priv *p, bool no_dir, struct aur_kms_status *st)
{
	if (no_dir)
		return aur_kms_fail(st, AUR_KMS_E_CONFIG, 0,
				    "the keystore at %s does not exist (not initialised on this host, or its filesystem is not mounted)",
				    p->dir);
	return aur_kms_fail(st, AUR_KMS_E_CONFIG, 0,
			    "the keystore at %s is empty: no keystore.json (not initialised on this host, or its filesystem is not mounted)",
			    p->dir);
}

/*
 * The lock: exclusive on .lock (created) to write; shared on an existing
 * .lock opened read-only to read, none when there is no .lock (nothing has
 * ever written here; keystore.json is replaced by rename, so a reader sees
 * the old file or the new one, never a mix).
 */
static aur_kerr take_lock(struct local_priv *p, enum lk_mode mode, struct aur_kms_status *st)
{
	int r;

	if (mode == LK_READ)
		p->lock_fd = open(p->lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	else
		p->lock_fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (p->lock_fd < 0) {
		r = errno;
		if (mode == LK_READ && r == ENOENT)
			return AUR_KMS_OK;
		return aur_kms_fail(st, r == EROFS ? AUR_KMS_E_CONFIG : AUR_KMS_E_INTERNAL, 0,
				    "%s: %s%s", p->lock, strerror(r),
				    r == EROFS ? " (the keystore is read-only: this call changes it)" : "");
	}
	if (flock(p->lock_fd, mode == LK_READ ? LOCK_SH : LOCK_EX) != 0) {
		r = errno;
		close(p->lock_fd);
		p->lock_fd = -1;
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "lock %s: %s", p->lock, strerror(r));
	}
	return AUR_KMS_OK;
}

aur_kerr lk_ks_begin(struct local_priv *p, enum lk_mode mode, struct aur_kms_status *st)
{
	char *text = NULL;
	size_t len = 0;
	char err[256];
	int64_t now = lk_now(p);
	struct stat sb;
	aur_kerr e;
	size_t i, j;
	int r;

	memset(&p->ks, 0, sizeof(p->ks));
	p->writing = false;
	p->ks_missing = false;
	p->maint_due = false;
	if (mode == LK_CREATE) {
		r = aur_mkdir_p(p->dir, 0700);
		if (r)
			return aur_kms_fail(st, r == -EROFS ? AUR_KMS_E_CONFIG : AUR_KMS_E_INTERNAL, 0,
					    "keystore %s: %s", p->dir, strerror(-r));
	}
	e = check_dir(p, st);
	if (e)
		return e;
	/* Nothing to read, nothing to lock: say so before creating .lock. */
	if (mode != LK_CREATE && stat(p->file, &sb) && errno == ENOENT) {
		p->ks_missing = true;
		return missing_keystore(p, false, st);
	}
	e = take_lock(p, mode, st);
	if (e)
		return e;
	p->writing = mode != LK_READ;
	r = aur_read_file(p->file, AUR_KEYSTORE_MAX_SIZE, &text, &len);
	if (r == -ENOENT) {
		p->ks_missing = true;
		if (mode == LK_CREATE)
			return AUR_KMS_OK;
		e = missing_keystore(p, false, st);
		goto unlock;
	}
	if (r) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->file, strerror(-r));
		goto unlock;
	}
	r = lk_ks_parse(&p->ks, text, len, err, sizeof(err));
	free(text);
	if (r) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->file, err);
		goto unlock;
	}
	/*
	 * Lazy maintenance: deletions that came due (in memory for a read, so
	 * that a deleted key is answered as deleted), automatic rotation (by
	 * writing calls only: a read never changes the keystore).
	 */
	for (i = 0; i < p->ks.nkeys; i++) {
		struct lkey *k = &p->ks.keys[i];

		if (k->state == AUR_KEY_PENDING_DELETION && now >= k->deletion_date) {
			k->deleted = true;
			p->ks.dirty = true;
			for (j = 0; j < p->ks.nalias; j++)
				if (!strcmp(p->ks.alias[j].key_id, k->id))
					p->ks.alias[j].deleted = true;
			if (p->writing)
				aur_info("CMK %s deleted: its deletion date has passed", k->id);
			else
				p->maint_due = true;
		} else if (k->rot_enabled && k->state == AUR_KEY_ENABLED &&
			   now >= k->last_rotation + (int64_t)(k->rot_period ? k->rot_period : 365) * DAY) {
			if (!p->writing)
				p->maint_due = true;
			else if (!lk_mat_new(p, k, st)) {
				k->last_rotation = now;
				p->ks.dirty = true;
			}
		}
	}
	return AUR_KMS_OK;
unlock:
	lk_ks_free(&p->ks);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	p->writing = false;
	return e;
}

int lk_ks_end(struct local_priv *p, struct aur_kms_status *st)
{
	int r = 0;

	if (p->ks.dirty && p->writing) {
		char *s = ks_serialise(&p->ks);

		r = s ? aur_write_file_atomic(p->file, s, strlen(s), 0600) : -ENOMEM;
		free(s);
		if (r && st && st->code == AUR_KMS_OK)
			aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot save %s: %s", p->file, strerror(-r));
	}
	lk_ks_free(&p->ks);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	p->writing = false;
	return r;
}


void lk_ks_maintain(struct local_priv *p)
{
	struct aur_kms_status st;

	if (!p->maint_due)
		return;
	p->maint_due = false;
	/* A read-only keystore (EROFS) or one we may not write: nothing to do. */
	if (access(p->file, W_OK) || access(p->dir, W_OK))
		return;
	aur_kms_ok(&st);
	if (lk_ks_begin(p, LK_WRITE, &st) == AUR_KMS_OK)
		lk_ks_end(p, &st);
	if (st.code)
		aur_warn("keystore maintenance: %s", st.message);
}
