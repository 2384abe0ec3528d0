/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the embedded ("local") KMS provider and its management API.
 *
 * A keystore directory (default /var/lib/aurora/kms, mode 0700) holds:
 *   keystore.json  every CMK and alias of every account and region (0600)
 *   master.key     32 random bytes that wrap the CMK material at rest (0600)
 *   audit.log      one JSON line per operation (0600, append only)
 *   .lock          flock()ed for the duration of every operation
 * keystore.json is rewritten crash-safely (temp, fsync, rename, dir fsync).
 *
 * All calls act as the provider's caller (kms->account, kms->region).  A CMK
 * is named by key id, key ARN, alias name or alias ARN; another account's
 * CMK only by ARN and only where its key policy allows the caller's account.
 * Management calls (enable, disable, deletion, rotation, policy, aliases)
 * are for the owning account only.
 */
#ifndef AURORA_KMS_LOCAL_H
#define AURORA_KMS_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "kms/kms.h"

#define AUR_DEFAULT_ALIAS	"alias/aurora/default"
#define AUR_ALIAS_MAX		256
#define AUR_POLICY_MAX		32
#define AUR_KEYSTORE_MAX_SIZE	(8u << 20)
#define AUR_DATA_KEY_MAX	1024

struct aur_kms_local_opts {
	const char *keystore;
	const char *account;
	const char *region;
	/* Test hook: the clock (deletion windows, rotation); NULL = time(). */
	int64_t (*now)(void);
};

int aur_kms_local_new(const struct aur_kms_local_opts *o, struct aur_kms **out,
		      struct aur_kms_status *st);
bool aur_kms_is_local(const struct aur_kms *kms);

struct aur_kms_policy {
	size_t n;
	char accounts[AUR_POLICY_MAX][AUR_ACCOUNT_MAX];
};

struct aur_kms_alias {
	char name[AUR_ALIAS_MAX];
	char arn[AUR_ARN_MAX + AUR_ALIAS_MAX];
	char target_key_id[AUR_KEY_ID_MAX];
	int64_t creation_date;
};

/* DescribeKey plus what only the owner sees. */
struct aur_kms_key_detail {
	struct aur_kms_key_info info;
	bool rotation_enabled;
	unsigned int rotation_period_days;
	int64_t last_rotation;
	unsigned int material_versions;
	struct aur_kms_policy policy;
};

typedef enum aur_kms_err aur_kerr;

aur_kerr aur_kms_local_create_key(struct aur_kms *kms, const char *description,
				  struct aur_kms_key_info *info, struct aur_kms_status *st);
aur_kerr aur_kms_local_describe_ex(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_key_detail *d, struct aur_kms_status *st);
/* Keys of the caller's account and region; *keys is malloc()ed. */
aur_kerr aur_kms_local_list_keys(struct aur_kms *kms, struct aur_kms_key_info **keys,
				 size_t *n, struct aur_kms_status *st);
aur_kerr aur_kms_local_create_alias(struct aur_kms *kms, const char *alias,
				    const char *key_id, struct aur_kms_status *st);
aur_kerr aur_kms_local_delete_alias(struct aur_kms *kms, const char *alias,
				    struct aur_kms_status *st);
/* @key_id NULL: every alias of the caller's account and region. */
aur_kerr aur_kms_local_list_aliases(struct aur_kms *kms, const char *key_id,
				    struct aur_kms_alias **aliases, size_t *n,
				    struct aur_kms_status *st);
aur_kerr aur_kms_local_enable_key(struct aur_kms *kms, const char *key_id,
				  struct aur_kms_status *st);
aur_kerr aur_kms_local_disable_key(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_status *st);
/* 7..30 days; *deletion_date receives the date. */
aur_kerr aur_kms_local_schedule_deletion(struct aur_kms *kms, const char *key_id,
					 unsigned int days, int64_t *deletion_date,
					 struct aur_kms_status *st);
aur_kerr aur_kms_local_cancel_deletion(struct aur_kms *kms, const char *key_id,
				       struct aur_kms_status *st);
/* period 90..2560 days (AWS' bounds); 0 = 365. */
aur_kerr aur_kms_local_enable_rotation(struct aur_kms *kms, const char *key_id,
				       unsigned int period_days, struct aur_kms_status *st);
aur_kerr aur_kms_local_disable_rotation(struct aur_kms *kms, const char *key_id,
					struct aur_kms_status *st);
aur_kerr aur_kms_local_rotate_on_demand(struct aur_kms *kms, const char *key_id,
					unsigned int *new_version, struct aur_kms_status *st);
aur_kerr aur_kms_local_get_key_policy(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_policy *p, struct aur_kms_status *st);
/* Replace the list of accounts allowed to use the CMK. */
aur_kerr aur_kms_local_put_key_policy(struct aur_kms *kms, const char *key_id,
				      const struct aur_kms_policy *p, struct aur_kms_status *st);
aur_kerr aur_kms_local_grant_account(struct aur_kms *kms, const char *key_id,
				     const char *account, struct aur_kms_status *st);
aur_kerr aur_kms_local_revoke_account(struct aur_kms *kms, const char *key_id,
				      const char *account, struct aur_kms_status *st);

/*
 * Parse keystore.json text without touching any file or key material (the
 * fuzz harness's entry point).  Returns 0 or -EINVAL with @err set.
 */
int aur_kms_local_parse_keystore(const char *text, size_t len, char *err, size_t errlen);

#endif /* AURORA_KMS_LOCAL_H */
