// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the embedded KMS provider (see kms_local.h).
 *
 * Wrapped blob (all of it authenticated):
 *   0   4  magic "AKW\x01"
 *   4  36  key id (UUID text)
 *   40  4  material version (big endian)
 *   44 12  GCM IV
 *   56 16  GCM tag
 *   72  n  ciphertext (n = plaintext length, 1..1024)
 * AAD = "aurora-kms-wrap-v1\0" | key id | version (be32) | canonical context,
 * canonical context = be32 count, then the pairs sorted bytewise by key,
 * each as be32 len, key, be32 len, value.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "kms/arn.h"
#include "kms/local/audit.h"
#include "kms/local/kms_local.h"
#include "util/util.h"

#define BLOB_MAGIC	"AKW\x01"
#define BLOB_HDR	72
#define MAT_LEN		32
#define MAT_WRAPPED	(12 + 16 + MAT_LEN)
#define MAX_KEYS	4096
#define MAX_ALIASES	8192
#define MAX_MATERIALS	1024
#define DAY		86400

struct lmat {
	uint32_t version;
	int64_t created;
	uint8_t wrapped[MAT_WRAPPED];	/* iv | tag | ct under master.key */
};

struct lkey {
	char id[37];
	char account[AUR_ACCOUNT_MAX];
	char region[AUR_REGION_MAX];
	char description[256];
	enum aur_key_state state;
	int64_t created, deletion_date;
	bool rot_enabled;
	unsigned int rot_period;
	int64_t last_rotation;
	struct aur_kms_policy policy;
	size_t nmat;
	struct lmat *mat;
	bool deleted;			/* removed on save */
};

struct lalias {
	char name[AUR_ALIAS_MAX];
	char account[AUR_ACCOUNT_MAX];
	char region[AUR_REGION_MAX];
	char key_id[37];
	int64_t created;
	bool deleted;
};

struct ks {
	size_t nkeys, nalias;
	struct lkey *keys;
	struct lalias *alias;
	bool dirty;
};

struct local_priv {
	char dir[PATH_MAX];
	char file[PATH_MAX];
	char master[PATH_MAX];
	char audit[PATH_MAX];
	char lock[PATH_MAX];
	int64_t (*now)(void);
	int lock_fd;
	bool ks_missing;	/* no keystore.json: never initialised, or not mounted */
	struct ks ks;
	struct aur_secret *mk;
};

static const struct aur_kms_ops local_ops;

/*
 * A key that is not in the keystore is NotFoundException (definitive: the
 * watching agent makes volumes terminal on it) only when the keystore file
 * exists.  Without keystore.json the keystore was never initialised here or
 * its filesystem is not mounted: that is the KMS being unavailable, never a
 * revocation.
 */
static aur_kerr not_found_code(struct local_priv *p)
{
	if (!p->ks_missing)
		return AUR_KMS_E_NOT_FOUND;
	aur_warn("keystore %s has no keystore.json (not initialised, or its filesystem is not mounted): treating the KMS as unavailable",
		 p->dir);
	return AUR_KMS_E_UNAVAILABLE;
}

static int64_t now_of(struct local_priv *p)
{
	return p->now ? p->now() : aur_now();
}

/* ------------------------------------------------------------------ */
/* keystore.json                                                      */

static void ks_free(struct ks *ks)
{
	size_t i;

	for (i = 0; i < ks->nkeys; i++)
		free(ks->keys[i].mat);
	free(ks->keys);
	free(ks->alias);
	memset(ks, 0, sizeof(*ks));
}

static bool alias_name_valid(const char *a)
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

#define JERR(...) do { snprintf(err, errlen, __VA_ARGS__); goto bad; } while (0)

static int parse_key(struct json_object *jk, struct lkey *k, char *err, size_t errlen)
{
	const char *s;
	struct json_object *jr, *jp, *ja, *jm;
	int64_t v;
	size_t i;
	char e[128] = "";

	memset(k, 0, sizeof(*k));
	if (aur_json_get_str(jk, "key_id", true, &s, 36, e, sizeof(e)) || !aur_uuid_valid(s))
		JERR("key: bad key_id %s", e);
	strcpy(k->id, s);
	if (aur_json_get_str(jk, "account", true, &s, 12, e, sizeof(e)) || strlen(s) != 12)
		JERR("key %s: bad account %s", k->id, e);
	strcpy(k->account, s);
	if (aur_json_get_str(jk, "region", true, &s, AUR_REGION_MAX - 1, e, sizeof(e)) || !*s)
		JERR("key %s: bad region %s", k->id, e);
	strcpy(k->region, s);
	if (aur_json_get_str(jk, "description", false, &s, sizeof(k->description) - 1, e, sizeof(e)))
		JERR("key %s: %s", k->id, e);
	if (s)
		strcpy(k->description, s);
	if (aur_json_get_str(jk, "state", true, &s, 32, e, sizeof(e)))
		JERR("key %s: %s", k->id, e);
	k->state = aur_key_state_from_name(s);
	if (k->state != AUR_KEY_ENABLED && k->state != AUR_KEY_DISABLED &&
	    k->state != AUR_KEY_PENDING_DELETION)
		JERR("key %s: bad state", k->id);
	if (aur_json_get_int64(jk, "creation_date", true, 0, INT32_MAX * 4LL, &k->created, e, sizeof(e)) ||
	    aur_json_get_int64(jk, "deletion_date", false, 0, INT32_MAX * 4LL, &k->deletion_date, e, sizeof(e)))
		JERR("key %s: %s", k->id, e);
	if (k->state == AUR_KEY_PENDING_DELETION && !k->deletion_date)
		JERR("key %s: PendingDeletion without deletion_date", k->id);
	if (aur_json_get_obj(jk, "rotation", false, &jr, e, sizeof(e)))
		JERR("key %s: %s", k->id, e);
	if (jr) {
		v = 365;
		if (aur_json_get_bool(jr, "enabled", true, &k->rot_enabled, e, sizeof(e)) ||
		    aur_json_get_int64(jr, "period_days", false, 1, 2560, &v, e, sizeof(e)) ||
		    aur_json_get_int64(jr, "last_rotation", false, 0, INT32_MAX * 4LL,
				       &k->last_rotation, e, sizeof(e)))
			JERR("key %s: rotation: %s", k->id, e);
		k->rot_period = (unsigned int)v;
	}
	if (aur_json_get_obj(jk, "policy", true, &jp, e, sizeof(e)) ||
	    aur_json_get_array(jp, "allowed_accounts", true, AUR_POLICY_MAX, &ja, e, sizeof(e)))
		JERR("key %s: policy: %s", k->id, e);
	for (i = 0; i < json_object_array_length(ja); i++) {
		struct json_object *x = json_object_array_get_idx(ja, i);

		if (!json_object_is_type(x, json_type_string) ||
		    json_object_get_string_len(x) != 12)
			JERR("key %s: policy: bad account", k->id);
		strcpy(k->policy.accounts[k->policy.n++], json_object_get_string(x));
	}
	if (aur_json_get_array(jk, "materials", true, MAX_MATERIALS, &jm, e, sizeof(e)) ||
	    json_object_array_length(jm) == 0)
		JERR("key %s: materials: %s", k->id, e[0] ? e : "empty");
	k->nmat = json_object_array_length(jm);
	k->mat = calloc(k->nmat, sizeof(*k->mat));
	if (!k->mat)
		JERR("out of memory");
	for (i = 0; i < k->nmat; i++) {
		struct json_object *x = json_object_array_get_idx(jm, i);

		if (aur_json_get_int64(x, "version", true, 1, UINT32_MAX, &v, e, sizeof(e)))
			JERR("key %s: material: %s", k->id, e);
		if (v != (int64_t)i + 1)
			JERR("key %s: material versions not 1..n", k->id);
		k->mat[i].version = (uint32_t)v;
		if (aur_json_get_int64(x, "created", true, 0, INT32_MAX * 4LL, &k->mat[i].created, e, sizeof(e)) ||
		    aur_json_get_str(x, "wrapped", true, &s, 128, e, sizeof(e)))
			JERR("key %s: material: %s", k->id, e);
		if (aur_base64_decode(s, k->mat[i].wrapped, sizeof(k->mat[i].wrapped)) != MAT_WRAPPED)
			JERR("key %s: material: bad wrapped value", k->id);
	}
	return 0;
bad:
	free(k->mat);
	k->mat = NULL;
	return -EINVAL;
}

static int ks_parse(struct ks *ks, const char *text, size_t len, char *err, size_t errlen)
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
	    aur_json_get_array(root, "aliases", true, MAX_ALIASES, &ja, e, sizeof(e)))
		JERR("keystore: %s", e);
	ks->keys = calloc(json_object_array_length(jk) + 1, sizeof(*ks->keys));
	ks->alias = calloc(json_object_array_length(ja) + 1, sizeof(*ks->alias));
	if (!ks->keys || !ks->alias)
		JERR("out of memory");
	for (i = 0; i < json_object_array_length(jk); i++) {
		if (parse_key(json_object_array_get_idx(jk, i), &ks->keys[i], err, errlen))
			goto bad;
		ks->nkeys++;
		for (j = 0; j < i; j++)
			if (!strcmp(ks->keys[j].id, ks->keys[i].id))
				JERR("keystore: duplicate key id %s", ks->keys[i].id);
	}
	for (i = 0; i < json_object_array_length(ja); i++) {
		struct json_object *x = json_object_array_get_idx(ja, i);
		struct lalias *a = &ks->alias[i];
		const char *n, *acct, *reg, *kid;

		if (aur_json_get_str(x, "alias_name", true, &n, AUR_ALIAS_MAX - 1, e, sizeof(e)) ||
		    aur_json_get_str(x, "account", true, &acct, 12, e, sizeof(e)) ||
		    aur_json_get_str(x, "region", true, &reg, AUR_REGION_MAX - 1, e, sizeof(e)) ||
		    aur_json_get_str(x, "target_key_id", true, &kid, 36, e, sizeof(e)) ||
		    aur_json_get_int64(x, "creation_date", false, 0, INT32_MAX * 4LL, &a->created, e, sizeof(e)))
			JERR("keystore: alias: %s", e);
		if (!alias_name_valid(n) || !aur_uuid_valid(kid))
			JERR("keystore: bad alias");
		strcpy(a->name, n);
		strcpy(a->account, acct);
		strcpy(a->region, reg);
		strcpy(a->key_id, kid);
		ks->nalias++;
	}
	json_object_put(root);
	return 0;
bad:
	json_object_put(root);
	ks_free(ks);
	return -EINVAL;
}

int aur_kms_local_parse_keystore(const char *text, size_t len, char *err, size_t errlen)
{
	struct ks ks;
	int r = ks_parse(&ks, text, len, err, errlen);

	if (!r)
		ks_free(&ks);
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
/* Master key and material                                            */

static int gcm(bool enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ret = -1;

	if (!c)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
		goto out;
	if (aadlen && EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	if (EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 || (size_t)n != len)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t mat_aad(uint8_t *aad, const char *id, uint32_t version)
{
	static const char pfx[] = "aurora-keystore-v1";

	memcpy(aad, pfx, sizeof(pfx));
	memcpy(aad + sizeof(pfx), id, 36);
	put_be32(aad + sizeof(pfx) + 36, version);
	return sizeof(pfx) + 36 + 4;
}

static int load_master(struct local_priv *p, struct aur_kms_status *st)
{
	uint8_t buf[MAT_LEN + 1];
	struct stat sb;
	ssize_t n;
	int fd;

	if (p->mk)
		return 0;
	p->mk = aur_secret_alloc(MAT_LEN);
	if (!p->mk)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory for the keystore key: %s",
			    strerror(errno)), -ENOMEM;
	fd = open(p->master, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		if (RAND_priv_bytes(p->mk->data, MAT_LEN) != 1)
			goto bad;
		if (aur_write_file_atomic(p->master, p->mk->data, MAT_LEN, 0600))
			goto bad;
		return 0;
	}
	if (fd < 0)
		goto bad;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		close(fd);
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s must be a regular file of mode 0600", p->master);
		goto free;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != MAT_LEN) {
		explicit_bzero(buf, sizeof(buf));
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: not a %d-byte key", p->master, MAT_LEN);
		goto free;
	}
	memcpy(p->mk->data, buf, MAT_LEN);
	explicit_bzero(buf, sizeof(buf));
	return 0;
bad:
	aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->master, strerror(errno ? errno : EIO));
free:
	aur_secret_free(p->mk);
	p->mk = NULL;
	return -EIO;
}

static int mat_new(struct local_priv *p, struct lkey *k, struct aur_kms_status *st)
{
	struct aur_secret *m;
	struct lmat *nm;
	uint8_t aad[64];
	size_t al;
	int r = -EIO;

	if (k->nmat >= MAX_MATERIALS)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "too many key material versions"), -ENOSPC;
	if (load_master(p, st))
		return -EIO;
	nm = realloc(k->mat, (k->nmat + 1) * sizeof(*nm));
	if (!nm)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory"), -ENOMEM;
	k->mat = nm;
	nm = &k->mat[k->nmat];
	m = aur_secret_alloc(MAT_LEN);
	if (!m)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory"), -ENOMEM;
	nm->version = (uint32_t)k->nmat + 1;
	nm->created = now_of(p);
	al = mat_aad(aad, k->id, nm->version);
	if (RAND_priv_bytes(m->data, MAT_LEN) == 1 && RAND_bytes(nm->wrapped, 12) == 1 &&
	    !gcm(true, p->mk->data, nm->wrapped, aad, al, m->data, MAT_LEN,
		 nm->wrapped + 28, nm->wrapped + 12)) {
		k->nmat++;
		r = 0;
	} else {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot create key material");
	}
	aur_secret_free(m);
	return r;
}

/* Unwrap material @version of @k into a new secret. */
static struct aur_secret *mat_get(struct local_priv *p, const struct lkey *k, uint32_t version,
				  struct aur_kms_status *st)
{
	struct aur_secret *m;
	const struct lmat *lm;
	uint8_t aad[64], tag[16];
	size_t al;

	if (version < 1 || version > k->nmat)
		return NULL;
	if (load_master(p, st))
		return NULL;
	lm = &k->mat[version - 1];
	m = aur_secret_alloc(MAT_LEN);
	if (!m) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory");
		return NULL;
	}
	memcpy(tag, lm->wrapped + 12, 16);
	al = mat_aad(aad, k->id, version);
	if (gcm(false, p->mk->data, lm->wrapped, aad, al, lm->wrapped + 28, MAT_LEN, m->data, tag)) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0,
		     "key material of %s cannot be unwrapped with %s (wrong or damaged keystore key)",
		     k->id, p->master);
		aur_secret_free(m);
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------------ */
/* Session: lock, load, lazy maintenance, save                        */

static int ks_begin(struct local_priv *p, struct aur_kms_status *st)
{
	char *text = NULL;
	size_t len = 0;
	char err[256];
	int64_t now = now_of(p);
	size_t i, j;
	int r;

	p->lock_fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (p->lock_fd < 0)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->lock, strerror(errno)), -errno;
	if (flock(p->lock_fd, LOCK_EX) != 0) {
		r = -errno;
		close(p->lock_fd);
		p->lock_fd = -1;
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "lock %s: %s", p->lock, strerror(-r)), r;
	}
	r = aur_read_file(p->file, AUR_KEYSTORE_MAX_SIZE, &text, &len);
	p->ks_missing = r == -ENOENT;
	if (r == -ENOENT) {
		memset(&p->ks, 0, sizeof(p->ks));
		return 0;
	}
	if (r) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->file, strerror(-r));
		goto unlock;
	}
	r = ks_parse(&p->ks, text, len, err, sizeof(err));
	free(text);
	if (r) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->file, err);
		goto unlock;
	}
	/* Lazy maintenance: deletions that came due, automatic rotation. */
	for (i = 0; i < p->ks.nkeys; i++) {
		struct lkey *k = &p->ks.keys[i];

		if (k->state == AUR_KEY_PENDING_DELETION && now >= k->deletion_date) {
			k->deleted = true;
			p->ks.dirty = true;
			for (j = 0; j < p->ks.nalias; j++)
				if (!strcmp(p->ks.alias[j].key_id, k->id))
					p->ks.alias[j].deleted = true;
			aur_info("CMK %s deleted: its deletion date has passed", k->id);
		} else if (k->rot_enabled && k->state == AUR_KEY_ENABLED &&
			   now >= k->last_rotation + (int64_t)(k->rot_period ? k->rot_period : 365) * DAY) {
			if (!mat_new(p, k, st)) {
				k->last_rotation = now;
				p->ks.dirty = true;
			}
		}
	}
	return 0;
unlock:
	close(p->lock_fd);
	p->lock_fd = -1;
	return r;
}

static int ks_end(struct local_priv *p, struct aur_kms_status *st)
{
	int r = 0;

	if (p->ks.dirty) {
		char *s = ks_serialise(&p->ks);

		r = s ? aur_write_file_atomic(p->file, s, strlen(s), 0600) : -ENOMEM;
		free(s);
		if (r && st && st->code == AUR_KMS_OK)
			aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot save %s: %s", p->file, strerror(-r));
	}
	ks_free(&p->ks);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	return r;
}

static void audit(struct aur_kms *kms, const struct aur_audit_rec *in, aur_kerr res,
		  const struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct aur_audit_rec rec = *in;
	int r;

	rec.caller_account = kms->account;
	rec.region = kms->region;
	rec.result = res;
	rec.message = (res != AUR_KMS_OK && st) ? st->message : NULL;
	r = aur_audit_append(p->audit, &rec, now_of(p));
	if (r)
		aur_warn("cannot append to %s: %s", p->audit, strerror(-r));
}

/* ------------------------------------------------------------------ */
/* Resolution and access                                              */

static void key_arn(const struct lkey *k, char *out, size_t n)
{
	snprintf(out, n, "arn:aws:kms:%s:%s:key/%s", k->region, k->account, k->id);
}

static struct lkey *find_id(struct ks *ks, const char *id)
{
	size_t i;

	for (i = 0; i < ks->nkeys; i++)
		if (!ks->keys[i].deleted && !strcmp(ks->keys[i].id, id))
			return &ks->keys[i];
	return NULL;
}

static struct lalias *find_alias(struct ks *ks, const char *acct, const char *region,
				 const char *name)
{
	size_t i;

	for (i = 0; i < ks->nalias; i++) {
		struct lalias *a = &ks->alias[i];

		if (!a->deleted && !strcmp(a->account, acct) && !strcmp(a->region, region) &&
		    !strcmp(a->name, name))
			return a;
	}
	return NULL;
}

static bool policy_allows(const struct lkey *k, const char *acct)
{
	size_t i;

	for (i = 0; i < k->policy.n; i++)
		if (!strcmp(k->policy.accounts[i], acct))
			return true;
	return false;
}

static struct lkey *new_key(struct local_priv *p, const char *acct, const char *region,
			    const char *desc, struct aur_kms_status *st)
{
	struct ks *ks = &p->ks;
	struct lkey *nk, *k;

	if (ks->nkeys >= MAX_KEYS) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "LimitExceeded: too many keys in the keystore");
		return NULL;
	}
	nk = realloc(ks->keys, (ks->nkeys + 1) * sizeof(*nk));
	if (!nk) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
		return NULL;
	}
	ks->keys = nk;
	k = &ks->keys[ks->nkeys];
	memset(k, 0, sizeof(*k));
	if (aur_uuid_generate(k->id)) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "no randomness");
		return NULL;
	}
	aur_strcpy(k->account, sizeof(k->account), acct);
	aur_strcpy(k->region, sizeof(k->region), region);
	aur_strcpy(k->description, sizeof(k->description), desc ? desc : "");
	k->state = AUR_KEY_ENABLED;
	k->created = now_of(p);
	k->last_rotation = k->created;
	k->rot_period = 365;
	k->policy.n = 1;
	strcpy(k->policy.accounts[0], acct);
	if (mat_new(p, k, st)) {
		free(k->mat);
		return NULL;
	}
	ks->nkeys++;
	ks->dirty = true;
	return k;
}

static int add_alias(struct local_priv *p, const char *acct, const char *region,
		     const char *name, const char *key_id, struct aur_kms_status *st)
{
	struct ks *ks = &p->ks;
	struct lalias *na;

	if (ks->nalias >= MAX_ALIASES)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "LimitExceeded: too many aliases"), -ENOSPC;
	na = realloc(ks->alias, (ks->nalias + 1) * sizeof(*na));
	if (!na)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory"), -ENOMEM;
	ks->alias = na;
	na = &ks->alias[ks->nalias++];
	memset(na, 0, sizeof(*na));
	strcpy(na->name, name);
	strcpy(na->account, acct);
	strcpy(na->region, region);
	strcpy(na->key_id, key_id);
	na->created = now_of(p);
	ks->dirty = true;
	return 0;
}

enum use { USE_CRYPTO, USE_DESCRIBE, USE_MANAGE };

/*
 * Resolve @name as the caller sees it, create the default CMK when it is
 * named and missing (@create_default), and check the caller may @use it.
 */
static aur_kerr resolve(struct aur_kms *kms, const char *name, enum use use,
			bool create_default, struct lkey **out, struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	char acct[AUR_ACCOUNT_MAX], region[AUR_REGION_MAX], rest[AUR_ALIAS_MAX + 8];
	bool by_arn = false;
	struct lkey *k = NULL;

	*out = NULL;
	if (!name || !*name)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: no key id");
	if (strlen(name) >= AUR_ARN_MAX + AUR_ALIAS_MAX)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: key id too long");
	aur_strcpy(acct, sizeof(acct), kms->account);
	aur_strcpy(region, sizeof(region), kms->region);
	if (aur_str_has_prefix(name, "arn:")) {
		struct aur_arn a;

		switch (aur_arn_parse(name, &a)) {
		case AUR_ARN_OK:
			break;
		case AUR_ARN_BAD_SERVICE:
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: %s is not a KMS ARN", name);
		case AUR_ARN_BAD_REGION:
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: bad region in %s", name);
		case AUR_ARN_BAD_ACCOUNT:
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: bad account in %s", name);
		default:
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: %s", name);
		}
		if (strcmp(a.partition, "aws"))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: %s is not a KMS ARN", name);
		if (strlen(a.account) != 12)
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: bad account in %s", name);
		aur_strcpy(region, sizeof(region), a.region);
		aur_strcpy(acct, sizeof(acct), a.account);
		aur_strcpy(rest, sizeof(rest), a.resource);
		by_arn = true;
		if (strcmp(region, kms->region))
			return aur_kms_fail(st, AUR_KMS_E_NOT_FOUND, 0,
				    "%s is in region %s; CMKs are regional and this KMS is %s",
				    name, region, kms->region);
	} else if (aur_strcpy(rest, sizeof(rest), name)) {
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: key id too long");
	}

	if (aur_str_has_prefix(rest, "key/") || (!by_arn && aur_uuid_valid(rest))) {
		const char *id = by_arn ? rest + 4 : rest;

		if (!aur_uuid_valid(id))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: bad key id in %s", name);
		k = find_id(&p->ks, id);
		if (!k || strcmp(k->account, acct) || strcmp(k->region, region))
			return aur_kms_fail(st, not_found_code(p), 0, "Key '%s' does not exist", name);
	} else if (aur_str_has_prefix(rest, "alias/")) {
		struct lalias *a;

		if (!alias_name_valid(rest))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidAliasNameException: %s", rest);
		a = find_alias(&p->ks, acct, region, rest);
		if (!a && create_default && !strcmp(rest, AUR_DEFAULT_ALIAS) &&
		    !strcmp(acct, kms->account)) {
			k = new_key(p, acct, region, "Default CMK for aurora volumes", st);
			if (!k)
				return st ? st->code : AUR_KMS_E_INTERNAL;
			if (add_alias(p, acct, region, rest, k->id, st))
				return st ? st->code : AUR_KMS_E_INTERNAL;
			aur_info("created the default CMK %s (%s) of account %s in %s",
				 k->id, AUR_DEFAULT_ALIAS, acct, region);
		} else if (!a) {
			return aur_kms_fail(st, not_found_code(p), 0, "Alias %s is not found", name);
		} else {
			k = find_id(&p->ks, a->key_id);
			if (!k)
				return aur_kms_fail(st, not_found_code(p), 0, "Alias %s points to no key", name);
		}
	} else {
		return aur_kms_fail(st, AUR_KMS_E_NOT_FOUND, 0, "Invalid keyId '%s'", name);
	}

	if (use == USE_MANAGE) {
		if (strcmp(k->account, kms->account))
			return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
				    "account %s may not manage %s (owned by %s)",
				    kms->account, k->id, k->account);
	} else if (!policy_allows(k, kms->account)) {
		char arn[AUR_ARN_MAX];

		key_arn(k, arn, sizeof(arn));
		return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
			    "account %s is not allowed to use %s by its key policy", kms->account, arn);
	}
	*out = k;
	return AUR_KMS_OK;
}

static aur_kerr usable(const struct lkey *k, struct aur_kms_status *st)
{
	char arn[AUR_ARN_MAX];

	key_arn(k, arn, sizeof(arn));
	if (k->state == AUR_KEY_DISABLED)
		return aur_kms_fail(st, AUR_KMS_E_DISABLED, 0, "%s is disabled", arn);
	if (k->state == AUR_KEY_PENDING_DELETION)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is pending deletion", arn);
	return AUR_KMS_OK;
}

static void fill_info(const struct lkey *k, struct aur_kms_key_info *info)
{
	memset(info, 0, sizeof(*info));
	strcpy(info->key_id, k->id);
	key_arn(k, info->arn, sizeof(info->arn));
	strcpy(info->account, k->account);
	strcpy(info->region, k->region);
	info->state = k->state;
	info->enabled = k->state == AUR_KEY_ENABLED;
	info->creation_date = k->created;
	info->deletion_date = k->state == AUR_KEY_PENDING_DELETION ? k->deletion_date : 0;
	strcpy(info->description, k->description);
}

/* ------------------------------------------------------------------ */
/* Wrapping                                                           */

static int ctx_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Canonical AAD; returns its length or 0 when it does not fit. */
static size_t wrap_aad(uint8_t *aad, size_t size, const char *key_id, uint32_t version,
		       const struct aur_enc_ctx *ctx)
{
	static const char pfx[] = "aurora-kms-wrap-v1";
	const char *keys[AUR_ENC_CTX_MAX];
	size_t n = ctx ? ctx->n : 0, i, off;

	if (n > AUR_ENC_CTX_MAX)
		return 0;
	off = sizeof(pfx);
	memcpy(aad, pfx, off);
	memcpy(aad + off, key_id, 36);
	off += 36;
	put_be32(aad + off, version);
	off += 4;
	put_be32(aad + off, (uint32_t)n);
	off += 4;
	for (i = 0; i < n; i++)
		keys[i] = ctx->kv[i].key;
	qsort(keys, n, sizeof(keys[0]), ctx_cmp);
	for (i = 0; i < n; i++) {
		const char *k = keys[i], *v = aur_enc_ctx_get(ctx, k);
		size_t kl = strnlen(k, AUR_ENC_CTX_STR_MAX), vl = strnlen(v, AUR_ENC_CTX_STR_MAX);

		if (off + 8 + kl + vl > size)
			return 0;
		put_be32(aad + off, (uint32_t)kl);
		memcpy(aad + off + 4, k, kl);
		off += 4 + kl;
		put_be32(aad + off, (uint32_t)vl);
		memcpy(aad + off + 4, v, vl);
		off += 4 + vl;
	}
	return off;
}

#define AAD_MAX (64 + AUR_ENC_CTX_MAX * (8 + 2 * AUR_ENC_CTX_STR_MAX))

static aur_kerr wrap(struct local_priv *p, const struct lkey *k, const struct aur_enc_ctx *ctx,
		     const uint8_t *pt, size_t len, struct aur_blob *out, struct aur_kms_status *st)
{
	uint32_t ver = (uint32_t)k->nmat;
	struct aur_secret *m;
	uint8_t aad[AAD_MAX];
	size_t al;
	int r;

	if (len == 0 || len > AUR_DATA_KEY_MAX || BLOB_HDR + len > AUR_BLOB_MAX)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: plaintext size");
	al = wrap_aad(aad, sizeof(aad), k->id, ver, ctx);
	if (!al)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: encryption context too large");
	m = mat_get(p, k, ver, st);
	if (!m)
		return st ? st->code : AUR_KMS_E_INTERNAL;
	memcpy(out->data, BLOB_MAGIC, 4);
	memcpy(out->data + 4, k->id, 36);
	put_be32(out->data + 40, ver);
	r = RAND_bytes(out->data + 44, 12) != 1 ||
	    gcm(true, m->data, out->data + 44, aad, al, pt, len, out->data + BLOB_HDR, out->data + 56);
	aur_secret_free(m);
	if (r)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "encryption failed");
	out->len = BLOB_HDR + len;
	return AUR_KMS_OK;
}

/* Parse a blob's key id; AUR_KMS_OK or InvalidCiphertext. */
static aur_kerr blob_key(const struct aur_blob *b, char id[37], uint32_t *ver,
			 struct aur_kms_status *st)
{
	if (!b || b->len <= BLOB_HDR || b->len > BLOB_HDR + AUR_DATA_KEY_MAX ||
	    memcmp(b->data, BLOB_MAGIC, 4))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext blob is not an aurora KMS blob");
	memcpy(id, b->data + 4, 36);
	id[36] = '\0';
	if (!aur_uuid_valid(id))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext blob names no valid key");
	*ver = get_be32(b->data + 40);
	return AUR_KMS_OK;
}

/*
 * Unwrap @b: the key from the blob, checked against @key_id when given;
 * access and state checked; *pt allocated in locked memory.
 */
static aur_kerr unwrap(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
		       const struct aur_blob *b, struct aur_secret **pt, struct lkey **kout,
		       struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct lkey *k = NULL, *named = NULL;
	struct aur_secret *m, *out;
	uint8_t aad[AAD_MAX], tag[16];
	char id[37], arn[AUR_ARN_MAX];
	uint32_t ver = 0;
	size_t al, len;
	aur_kerr e;

	*pt = NULL;
	if (key_id && *key_id) {
		e = resolve(kms, key_id, USE_CRYPTO, false, &named, st);
		if (e)
			return e;
		*kout = named;
	}
	e = blob_key(b, id, &ver, st);
	if (e)
		return e;
	if (named && strcmp(named->id, id)) {
		key_arn(named, arn, sizeof(arn));
		return aur_kms_fail(st, AUR_KMS_E_INCORRECT_KEY, 0,
			    "the ciphertext was not encrypted under %s", arn);
	}
	if (named) {
		k = named;
	} else {
		k = find_id(&p->ks, id);
		if (!k)
			return aur_kms_fail(st, not_found_code(p), 0, "the key %s of this ciphertext does not exist", id);
		*kout = k;
		if (strcmp(k->region, kms->region))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0,
				    "the ciphertext belongs to region %s", k->region);
		if (!policy_allows(k, kms->account)) {
			key_arn(k, arn, sizeof(arn));
			return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
				    "account %s is not allowed to use %s by its key policy",
				    kms->account, arn);
		}
	}
	e = usable(k, st);
	if (e)
		return e;
	if (ver < 1 || ver > k->nmat)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext names an unknown key material version");
	al = wrap_aad(aad, sizeof(aad), k->id, ver, ctx);
	if (!al)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: encryption context too large");
	len = b->len - BLOB_HDR;
	m = mat_get(p, k, ver, st);
	if (!m)
		return st ? st->code : AUR_KMS_E_INTERNAL;
	out = aur_secret_alloc(len);
	if (!out) {
		aur_secret_free(m);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory");
	}
	memcpy(tag, b->data + 56, 16);
	if (gcm(false, m->data, b->data + 44, aad, al, b->data + BLOB_HDR, len, out->data, tag)) {
		aur_secret_free(m);
		aur_secret_free(out);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0,
			    "the ciphertext is damaged or its encryption context does not match");
	}
	aur_secret_free(m);
	*pt = out;
	return AUR_KMS_OK;
}

/* ------------------------------------------------------------------ */
/* Provider operations                                                */

#define BEGIN(st)							\
	do {								\
		if (st)							\
			aur_kms_ok(st);						\
		if (ks_begin(p, st))					\
			goto done_nosave;				\
	} while (0)

static aur_kerr l_describe(struct aur_kms *kms, const char *key_id, struct aur_kms_key_info *info,
			   struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct aur_audit_rec rec = { .operation = "DescribeKey", .request_key_id = key_id };
	struct lkey *k;
	char arn[AUR_ARN_MAX] = "";
	aur_kerr e = AUR_KMS_E_INTERNAL;

	BEGIN(st);
	e = resolve(kms, key_id, USE_DESCRIBE, true, &k, st);
	if (!e) {
		fill_info(k, info);
		strcpy(arn, info->arn);
	}
	if (ks_end(p, st) && !e)
		e = AUR_KMS_E_INTERNAL;
done_nosave:
	if (st && st->code && !e)
		e = st->code;
	rec.key_arn = arn;
	audit(kms, &rec, e, st);
	return e;
}

static aur_kerr l_generate(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
			   size_t nbytes, struct aur_secret **plaintext, struct aur_blob *wrapped,
			   char *out_arn, struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct aur_audit_rec rec = { .operation = "GenerateDataKey", .request_key_id = key_id, .ctx = ctx };
	struct aur_secret *dk = NULL;
	struct lkey *k;
	char arn[AUR_ARN_MAX] = "";
	aur_kerr e = AUR_KMS_E_INTERNAL;

	*plaintext = NULL;
	if (!key_id || !*key_id)
		key_id = AUR_DEFAULT_ALIAS;
	rec.request_key_id = key_id;
	BEGIN(st);
	if (nbytes == 0 || nbytes > AUR_DATA_KEY_MAX) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: NumberOfBytes must be 1..1024");
		goto end;
	}
	e = resolve(kms, key_id, USE_CRYPTO, true, &k, st);
	if (e)
		goto end;
	key_arn(k, arn, sizeof(arn));
	e = usable(k, st);
	if (e)
		goto end;
	dk = aur_secret_alloc(nbytes);
	if (!dk || RAND_priv_bytes(dk->data, (int)nbytes) != 1) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot create a data key");
		goto end;
	}
	e = wrap(p, k, ctx, dk->data, nbytes, wrapped, st);
end:
	if (ks_end(p, st) && !e)
		e = AUR_KMS_E_INTERNAL;
done_nosave:
	if (st && st->code && !e)
		e = st->code;
	if (!e) {
		*plaintext = dk;
		if (out_arn)
			strcpy(out_arn, arn);
	} else {
		aur_secret_free(dk);
	}
	rec.key_arn = arn;
	audit(kms, &rec, e, st);
	return e;
}

static aur_kerr l_decrypt(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
			  const struct aur_blob *wrapped, struct aur_secret **plaintext,
			  char *out_arn, struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct aur_audit_rec rec = { .operation = "Decrypt", .request_key_id = key_id, .ctx = ctx };
	struct lkey *k = NULL;
	char arn[AUR_ARN_MAX] = "";
	aur_kerr e = AUR_KMS_E_INTERNAL;

	*plaintext = NULL;
	BEGIN(st);
	e = unwrap(kms, key_id, ctx, wrapped, plaintext, &k, st);
	if (k)
		key_arn(k, arn, sizeof(arn));
	if (ks_end(p, st) && !e)
		e = AUR_KMS_E_INTERNAL;
done_nosave:
	if (st && st->code && !e)
		e = st->code;
	if (e) {
		aur_secret_free(*plaintext);
		*plaintext = NULL;
	} else if (out_arn) {
		strcpy(out_arn, arn);
	}
	rec.key_arn = arn;
	audit(kms, &rec, e, st);
	return e;
}

static aur_kerr l_reencrypt(struct aur_kms *kms, const char *src_key_id,
			    const struct aur_enc_ctx *src_ctx, const struct aur_blob *src,
			    const char *dst_key_id, const struct aur_enc_ctx *dst_ctx,
			    struct aur_blob *dst, char *dst_arn_out, struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct aur_audit_rec rec = { .operation = "ReEncrypt", .request_key_id = src_key_id,
				     .ctx = src_ctx, .dst_ctx = dst_ctx };
	struct aur_secret *pt = NULL;
	struct lkey *k = NULL, *dk = NULL;
	char arn[AUR_ARN_MAX] = "", darn[AUR_ARN_MAX] = "";
	aur_kerr e = AUR_KMS_E_INTERNAL;

	BEGIN(st);
	e = unwrap(kms, src_key_id, src_ctx, src, &pt, &k, st);
	if (k)
		key_arn(k, arn, sizeof(arn));
	if (e)
		goto end;
	e = resolve(kms, dst_key_id ? dst_key_id : "", USE_CRYPTO, true, &dk, st);
	if (e)
		goto end;
	key_arn(dk, darn, sizeof(darn));
	e = usable(dk, st);
	if (e)
		goto end;
	e = wrap(p, dk, dst_ctx, pt->data, pt->len, dst, st);
end:
	aur_secret_free(pt);
	if (ks_end(p, st) && !e)
		e = AUR_KMS_E_INTERNAL;
done_nosave:
	if (st && st->code && !e)
		e = st->code;
	if (!e && dst_arn_out)
		strcpy(dst_arn_out, darn);
	rec.key_arn = arn;
	rec.dst_key_arn = darn;
	audit(kms, &rec, e, st);
	return e;
}

static void l_destroy(struct aur_kms *kms)
{
	struct local_priv *p;

	if (!kms)
		return;
	p = kms->priv;
	if (p) {
		aur_secret_free(p->mk);
		ks_free(&p->ks);
		free(p);
	}
	free(kms);
}

static const struct aur_kms_ops local_ops = {
	.name = "local",
	.describe_key = l_describe,
	.generate_data_key = l_generate,
	.decrypt = l_decrypt,
	.re_encrypt = l_reencrypt,
	.destroy = l_destroy,
};

bool aur_kms_is_local(const struct aur_kms *kms)
{
	return kms && kms->ops == &local_ops;
}

int aur_kms_local_new(const struct aur_kms_local_opts *o, struct aur_kms **out,
		      struct aur_kms_status *st)
{
	struct aur_kms *kms;
	struct local_priv *p;
	struct stat sb;
	int r;

	*out = NULL;
	aur_kms_ok(st);
	if (!o || !o->keystore || o->keystore[0] != '/' || !o->account || strlen(o->account) != 12 ||
	    !o->region || !*o->region || strlen(o->region) >= AUR_REGION_MAX) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "local KMS: need an absolute keystore path, a 12-digit account and a region");
		return -EINVAL;
	}
	kms = calloc(1, sizeof(*kms));
	p = calloc(1, sizeof(*p));
	if (!kms || !p) {
		free(kms);
		free(p);
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
		return -ENOMEM;
	}
	kms->ops = &local_ops;
	kms->priv = p;
	p->lock_fd = -1;
	p->now = o->now;
	strcpy(kms->account, o->account);
	strcpy(kms->region, o->region);
	if (aur_strcpy(p->dir, sizeof(p->dir), o->keystore) ||
	    aur_snprintf(p->file, sizeof(p->file), "%s/keystore.json", o->keystore) ||
	    aur_snprintf(p->master, sizeof(p->master), "%s/master.key", o->keystore) ||
	    aur_snprintf(p->audit, sizeof(p->audit), "%s/audit.log", o->keystore) ||
	    aur_snprintf(p->lock, sizeof(p->lock), "%s/.lock", o->keystore)) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "keystore path too long");
		l_destroy(kms);
		return -ENAMETOOLONG;
	}
	r = aur_mkdir_p(p->dir, 0700);
	if (r || stat(p->dir, &sb) || !S_ISDIR(sb.st_mode)) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "keystore %s: %s", p->dir, strerror(r ? -r : ENOTDIR));
		l_destroy(kms);
		return r ? r : -ENOTDIR;
	}
	if ((sb.st_mode & 077) || sb.st_uid != geteuid()) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0,
		     "keystore %s must be owned by uid %u with mode 0700 (is %04o)",
		     p->dir, (unsigned)geteuid(), (unsigned)(sb.st_mode & 07777));
		l_destroy(kms);
		return -EPERM;
	}
	*out = kms;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Management API                                                     */

#define MGMT_BEGIN(opname, kid)						\
	struct local_priv *p;						\
	struct aur_audit_rec rec = { .operation = opname, .request_key_id = kid }; \
	struct lkey *k = NULL;						\
	char arn[AUR_ARN_MAX] = "";					\
	aur_kerr e = AUR_KMS_E_INTERNAL;				\
	if (!aur_kms_is_local(kms))					\
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "not the local KMS provider"); \
	p = kms->priv;							\
	(void)k;							\
	BEGIN(st)

#define MGMT_END()							\
	if (ks_end(p, st) && !e)					\
		e = AUR_KMS_E_INTERNAL;					\
done_nosave:								\
	if (st && st->code && !e)					\
		e = st->code;						\
	rec.key_arn = arn;						\
	audit(kms, &rec, e, st);					\
	return e

aur_kerr aur_kms_local_create_key(struct aur_kms *kms, const char *description,
				  struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	MGMT_BEGIN("CreateKey", NULL);
	if (description && strlen(description) >= sizeof(k->description)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: description too long");
	} else {
		k = new_key(p, kms->account, kms->region, description, st);
		if (k) {
			e = AUR_KMS_OK;
			key_arn(k, arn, sizeof(arn));
			if (info)
				fill_info(k, info);
		} else {
			e = st ? st->code : AUR_KMS_E_INTERNAL;
		}
	}
	MGMT_END();
}

aur_kerr aur_kms_local_describe_ex(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_key_detail *d, struct aur_kms_status *st)
{
	MGMT_BEGIN("DescribeKey", key_id);
	e = resolve(kms, key_id, USE_DESCRIBE, true, &k, st);
	if (!e) {
		memset(d, 0, sizeof(*d));
		fill_info(k, &d->info);
		strcpy(arn, d->info.arn);
		d->rotation_enabled = k->rot_enabled;
		d->rotation_period_days = k->rot_period;
		d->last_rotation = k->last_rotation;
		d->material_versions = (unsigned int)k->nmat;
		d->policy = k->policy;
	}
	MGMT_END();
}

aur_kerr aur_kms_local_list_keys(struct aur_kms *kms, struct aur_kms_key_info **keys,
				 size_t *n, struct aur_kms_status *st)
{
	size_t i;

	*keys = NULL;
	*n = 0;
	{
		MGMT_BEGIN("ListKeys", NULL);
		*keys = calloc(p->ks.nkeys + 1, sizeof(**keys));
		if (!*keys) {
			e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
		} else {
			e = AUR_KMS_OK;
			for (i = 0; i < p->ks.nkeys; i++) {
				k = &p->ks.keys[i];
				if (k->deleted || strcmp(k->account, kms->account) ||
				    strcmp(k->region, kms->region))
					continue;
				fill_info(k, &(*keys)[(*n)++]);
			}
		}
		MGMT_END();
	}
}

aur_kerr aur_kms_local_create_alias(struct aur_kms *kms, const char *alias,
				    const char *key_id, struct aur_kms_status *st)
{
	MGMT_BEGIN("CreateAlias", key_id);
	rec.detail = alias;
	if (!alias || !alias_name_valid(alias)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "InvalidAliasNameException: an alias is alias/ followed by letters, digits, /, _ or -");
	} else if (aur_str_has_prefix(alias, "alias/aws/") || !strcmp(alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidAliasNameException: %s is reserved", alias);
	} else if (find_alias(&p->ks, kms->account, kms->region, alias)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "AlreadyExistsException: %s already exists", alias);
	} else {
		e = resolve(kms, key_id, USE_MANAGE, false, &k, st);
		if (!e) {
			key_arn(k, arn, sizeof(arn));
			if (strcmp(k->region, kms->region) || strcmp(k->account, kms->account))
				e = aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0, "an alias may only name a CMK of its own account and region");
			else if (add_alias(p, kms->account, kms->region, alias, k->id, st))
				e = st ? st->code : AUR_KMS_E_INTERNAL;
		}
	}
	MGMT_END();
}

aur_kerr aur_kms_local_delete_alias(struct aur_kms *kms, const char *alias,
				    struct aur_kms_status *st)
{
	struct lalias *a;

	MGMT_BEGIN("DeleteAlias", alias);
	a = alias ? find_alias(&p->ks, kms->account, kms->region, alias) : NULL;
	if (!a) {
		e = aur_kms_fail(st, AUR_KMS_E_NOT_FOUND, 0, "Alias %s is not found", alias ? alias : "");
	} else if (!strcmp(alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "the default alias cannot be deleted");
	} else {
		a->deleted = true;
		p->ks.dirty = true;
		e = AUR_KMS_OK;
	}
	MGMT_END();
}

aur_kerr aur_kms_local_list_aliases(struct aur_kms *kms, const char *key_id,
				    struct aur_kms_alias **aliases, size_t *n,
				    struct aur_kms_status *st)
{
	size_t i;

	*aliases = NULL;
	*n = 0;
	{
		MGMT_BEGIN("ListAliases", key_id);
		e = AUR_KMS_OK;
		if (key_id && *key_id)
			e = resolve(kms, key_id, USE_DESCRIBE, false, &k, st);
		if (!e) {
			*aliases = calloc(p->ks.nalias + 1, sizeof(**aliases));
			if (!*aliases)
				e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
		}
		for (i = 0; !e && i < p->ks.nalias; i++) {
			const struct lalias *a = &p->ks.alias[i];
			struct aur_kms_alias *o;

			if (a->deleted || strcmp(a->account, kms->account) ||
			    strcmp(a->region, kms->region) || (k && strcmp(a->key_id, k->id)))
				continue;
			o = &(*aliases)[(*n)++];
			strcpy(o->name, a->name);
			snprintf(o->arn, sizeof(o->arn), "arn:aws:kms:%s:%s:%s", a->region, a->account, a->name);
			strcpy(o->target_key_id, a->key_id);
			o->creation_date = a->created;
		}
		MGMT_END();
	}
}

static aur_kerr set_state(struct aur_kms *kms, const char *op, const char *key_id,
			  enum aur_key_state to, unsigned int days, int64_t *date,
			  struct aur_kms_status *st)
{
	char detail[64] = "";

	MGMT_BEGIN(op, key_id);
	e = resolve(kms, key_id, USE_MANAGE, false, &k, st);
	if (e)
		goto end;
	key_arn(k, arn, sizeof(arn));
	switch (to) {
	case AUR_KEY_ENABLED:
	case AUR_KEY_DISABLED:
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is pending deletion", arn);
			goto end;
		}
		break;
	case AUR_KEY_PENDING_DELETION:
		if (days < 7 || days > 30) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: PendingWindowInDays must be 7..30");
			goto end;
		}
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is already pending deletion", arn);
			goto end;
		}
		k->deletion_date = now_of(p) + (int64_t)days * DAY;
		if (date)
			*date = k->deletion_date;
		snprintf(detail, sizeof(detail), "PendingWindowInDays=%u", days);
		rec.detail = detail;
		break;
	default:		/* cancel: back to Disabled, as AWS does */
		if (k->state != AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is not pending deletion", arn);
			goto end;
		}
		to = AUR_KEY_DISABLED;
		k->deletion_date = 0;
		break;
	}
	k->state = to;
	p->ks.dirty = true;
	e = AUR_KMS_OK;
end:
	MGMT_END();
}

aur_kerr aur_kms_local_enable_key(struct aur_kms *kms, const char *key_id, struct aur_kms_status *st)
{
	return set_state(kms, "EnableKey", key_id, AUR_KEY_ENABLED, 0, NULL, st);
}

aur_kerr aur_kms_local_disable_key(struct aur_kms *kms, const char *key_id, struct aur_kms_status *st)
{
	return set_state(kms, "DisableKey", key_id, AUR_KEY_DISABLED, 0, NULL, st);
}

aur_kerr aur_kms_local_schedule_deletion(struct aur_kms *kms, const char *key_id,
					 unsigned int days, int64_t *deletion_date,
					 struct aur_kms_status *st)
{
	return set_state(kms, "ScheduleKeyDeletion", key_id, AUR_KEY_PENDING_DELETION, days,
			 deletion_date, st);
}

aur_kerr aur_kms_local_cancel_deletion(struct aur_kms *kms, const char *key_id,
				       struct aur_kms_status *st)
{
	return set_state(kms, "CancelKeyDeletion", key_id, AUR_KEY_STATE_UNKNOWN, 0, NULL, st);
}

static aur_kerr rotation(struct aur_kms *kms, const char *op, const char *key_id, int mode,
			 unsigned int period, unsigned int *new_version, struct aur_kms_status *st)
{
	MGMT_BEGIN(op, key_id);
	e = resolve(kms, key_id, USE_MANAGE, false, &k, st);
	if (e)
		goto end;
	key_arn(k, arn, sizeof(arn));
	e = usable(k, st);
	if (e)
		goto end;
	if (mode == 1) {
		if (period == 0)
			period = 365;
		if (period < 90 || period > 2560) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: RotationPeriodInDays must be 90..2560");
			goto end;
		}
		k->rot_enabled = true;
		k->rot_period = period;
		k->last_rotation = now_of(p);
	} else if (mode == 0) {
		k->rot_enabled = false;
	} else {
		if (mat_new(p, k, st)) {
			e = st ? st->code : AUR_KMS_E_INTERNAL;
			goto end;
		}
		k->last_rotation = now_of(p);
		if (new_version)
			*new_version = (unsigned int)k->nmat;
	}
	p->ks.dirty = true;
	e = AUR_KMS_OK;
end:
	MGMT_END();
}

aur_kerr aur_kms_local_enable_rotation(struct aur_kms *kms, const char *key_id,
				       unsigned int period_days, struct aur_kms_status *st)
{
	return rotation(kms, "EnableKeyRotation", key_id, 1, period_days, NULL, st);
}

aur_kerr aur_kms_local_disable_rotation(struct aur_kms *kms, const char *key_id,
					struct aur_kms_status *st)
{
	return rotation(kms, "DisableKeyRotation", key_id, 0, 0, NULL, st);
}

aur_kerr aur_kms_local_rotate_on_demand(struct aur_kms *kms, const char *key_id,
					unsigned int *new_version, struct aur_kms_status *st)
{
	return rotation(kms, "RotateKeyOnDemand", key_id, 2, 0, new_version, st);
}

aur_kerr aur_kms_local_get_key_policy(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_policy *pol, struct aur_kms_status *st)
{
	MGMT_BEGIN("GetKeyPolicy", key_id);
	e = resolve(kms, key_id, USE_MANAGE, false, &k, st);
	if (!e) {
		key_arn(k, arn, sizeof(arn));
		*pol = k->policy;
	}
	MGMT_END();
}

static aur_kerr policy_edit(struct aur_kms *kms, const char *op, const char *key_id,
			    const struct aur_kms_policy *np, const char *account, bool grant,
			    struct aur_kms_status *st)
{
	size_t i, j;

	MGMT_BEGIN(op, key_id);
	rec.detail = account;
	e = resolve(kms, key_id, USE_MANAGE, false, &k, st);
	if (e)
		goto end;
	key_arn(k, arn, sizeof(arn));
	if (np) {
		for (i = 0; i < np->n && i < AUR_POLICY_MAX; i++) {
			if (strlen(np->accounts[i]) != 12 ||
			    strspn(np->accounts[i], "0123456789") != 12) {
				e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
					 "MalformedPolicyDocumentException: bad account \"%s\"",
					 np->accounts[i]);
				goto end;
			}
		}
		if (np->n > AUR_POLICY_MAX) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "MalformedPolicyDocumentException: too many accounts");
			goto end;
		}
		k->policy = *np;
	} else {
		if (!account || strlen(account) != 12 || strspn(account, "0123456789") != 12) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: an account is 12 digits");
			goto end;
		}
		for (i = 0; i < k->policy.n && strcmp(k->policy.accounts[i], account); i++)
			;
		if (grant && i == k->policy.n) {
			if (k->policy.n >= AUR_POLICY_MAX) {
				e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "LimitExceededException: policy full");
				goto end;
			}
			strcpy(k->policy.accounts[k->policy.n++], account);
		} else if (!grant && i < k->policy.n) {
			for (j = i; j + 1 < k->policy.n; j++)
				strcpy(k->policy.accounts[j], k->policy.accounts[j + 1]);
			k->policy.n--;
		}
	}
	p->ks.dirty = true;
	e = AUR_KMS_OK;
end:
	MGMT_END();
}

aur_kerr aur_kms_local_put_key_policy(struct aur_kms *kms, const char *key_id,
				      const struct aur_kms_policy *pol, struct aur_kms_status *st)
{
	return policy_edit(kms, "PutKeyPolicy", key_id, pol, NULL, false, st);
}

aur_kerr aur_kms_local_grant_account(struct aur_kms *kms, const char *key_id,
				     const char *account, struct aur_kms_status *st)
{
	return policy_edit(kms, "PutKeyPolicy", key_id, NULL, account, true, st);
}

aur_kerr aur_kms_local_revoke_account(struct aur_kms *kms, const char *key_id,
				      const char *account, struct aur_kms_status *st)
{
	return policy_edit(kms, "PutKeyPolicy", key_id, NULL, account, false, st);
}
