/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the embedded KMS provider's internals, shared by the files of
 * lib/kms/local/ only (the interface is kms_local.h).
 *
 *   store.c     keystore.json: parse, serialise; the session (lock, load,
 *               lazy maintenance, save)
 *   crypto.c    master key, key material, wrapping and unwrapping of blobs
 *   keys.c      resolution of key ids, ARNs and aliases; access checks
 *   provider.c  the provider operations and the per-call session + audit
 *   manage.c    the management API (CreateKey, aliases, state, rotation,
 *               policy)
 *   audit.c     the audit log
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
 *
 * Not thread-safe: one call at a time per struct aur_kms; calls from
 * several processes are serialised by the keystore's lock file.
 */
#ifndef AURORA_KMS_LOCAL_INTERNAL_H
#define AURORA_KMS_LOCAL_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

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
	bool writing;		/* this session may change the keystore (LK_WRITE, LK_CREATE) */
	bool audit_warned;	/* "cannot append to audit.log" said once */
	bool maint_due;		/* a read saw a deletion or rotation come due */
	struct ks ks;
	struct aur_secret *mk;
};

enum use { USE_CRYPTO, USE_DESCRIBE, USE_MANAGE };

/*
 * What a session may do to the keystore directory.
 *  LK_READ    reads only: creates nothing (no directory, no .lock, no
 *             master.key, no default CMK), takes a shared lock on an
 *             existing .lock opened read-only, never saves; works on a
 *             read-only filesystem.  A keystore directory or keystore.json
 *             that does not exist is AUR_KMS_E_CONFIG.
 *  LK_WRITE   changes an existing keystore (exclusive lock); a missing
 *             keystore is AUR_KMS_E_CONFIG and nothing is created.
 *  LK_CREATE  may create the keystore (directory, .lock, master.key,
 *             keystore.json): CreateKey, the default CMK on first use.
 */
enum lk_mode { LK_READ, LK_WRITE, LK_CREATE };

/* store.c */
aur_kerr lk_not_found_code(struct local_priv *p);
int64_t lk_now(struct local_priv *p);
void lk_ks_free(struct ks *ks);
bool lk_alias_name_valid(const char *a);
int lk_ks_parse(struct ks *ks, const char *text, size_t len, char *err, size_t errlen);
/*
 * Lock and load the keystore for @mode (see enum lk_mode); with LK_CREATE a
 * missing keystore.json loads as empty.  AUR_KMS_OK or the failure (in @st).
 */
aur_kerr lk_ks_begin(struct local_priv *p, enum lk_mode mode, struct aur_kms_status *st);
/* Save it when changed (LK_WRITE, LK_CREATE), free it, unlock. */
int lk_ks_end(struct local_priv *p, struct aur_kms_status *st);
/*
 * After a read that saw maintenance come due: apply it in a writing session
 * of its own when the keystore is writable; a read-only keystore keeps
 * answering (a due deletion is applied in memory by every read).
 */
void lk_ks_maintain(struct local_priv *p);

/* crypto.c */
int lk_mat_new(struct local_priv *p, struct lkey *k, struct aur_kms_status *st);
struct aur_secret *lk_mat_get(struct local_priv *p, const struct lkey *k, uint32_t version,
			      struct aur_kms_status *st);
aur_kerr lk_wrap(struct local_priv *p, const struct lkey *k, const struct aur_enc_ctx *ctx,
		 const uint8_t *pt, size_t len, struct aur_blob *out, struct aur_kms_status *st);
aur_kerr lk_unwrap(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
		   const struct aur_blob *b, struct aur_secret **pt, struct lkey **kout,
		   struct aur_kms_status *st);

/* The keystore's identity (aur_kms_identity()); reads only. */
aur_kerr lk_identity(struct aur_kms *kms, char *out, size_t len, struct aur_kms_status *st);

/* keys.c */
void lk_key_arn(const struct lkey *k, char *out, size_t n);
bool lk_policy_allows(const struct lkey *k, const char *acct);
struct lkey *lk_find_id(struct ks *ks, const char *id);
struct lalias *lk_find_alias(struct ks *ks, const char *acct, const char *region,
			     const char *name);
struct lkey *lk_new_key(struct local_priv *p, const char *acct, const char *region,
			const char *desc, struct aur_kms_status *st);
int lk_add_alias(struct local_priv *p, const char *acct, const char *region,
		 const char *name, const char *key_id, struct aur_kms_status *st);
/*
 * Resolve @name as the caller sees it, create the default CMK when it is
 * named and missing (@create_default), and check the caller may @use it.
 */
aur_kerr lk_resolve(struct aur_kms *kms, const char *name, enum use use,
		    bool create_default, struct lkey **out, struct aur_kms_status *st);
aur_kerr lk_usable(const struct lkey *k, struct aur_kms_status *st);
void lk_fill_info(const struct lkey *k, struct aur_kms_key_info *info);

/* provider.c: one call of the provider, from lock to audit record. */
struct lk_call {
	struct aur_kms *kms;
	struct local_priv *p;		/* NULL: not the local provider, nothing audited */
	struct aur_kms_status *st;
	bool loaded;			/* keystore locked and loaded: lk_call_end saves it */
	bool no_audit;			/* no keystore here: nothing to append to */
	struct aur_audit_rec rec;
	char arn[AUR_ARN_MAX];		/* the CMK's ARN, for the audit record */
	char detail[64];		/* rec.detail, when the call formats one */
	struct lkey *key;		/* the CMK a management call acts on */
};
/*
 * Start @call of @operation on @kms: clear @st, lock and load the keystore
 * for @mode.  AUR_KMS_OK, or the failure (also in @st).  lk_call_end() in
 * every case.
 */
aur_kerr lk_call_begin(struct lk_call *call, struct aur_kms *kms, const char *operation,
		       const char *key_id, enum lk_mode mode, struct aur_kms_status *st);
/* lk_call_begin(), then resolve @key_id for @use into *@k (its ARN to call->arn). */
aur_kerr lk_call_begin_key(struct lk_call *call, struct aur_kms *kms, const char *operation,
			   const char *key_id, enum lk_mode mode, enum use use, struct lkey **k,
			   struct aur_kms_status *st);
/* Save and unlock the keystore, audit the call; the call's final result. */
aur_kerr lk_call_end(struct lk_call *call, aur_kerr e);

#endif /* AURORA_KMS_LOCAL_INTERNAL_H */
