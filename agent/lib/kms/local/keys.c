// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS's key ids, ARNs, aliases and access (see local.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/arn.h"
#include "kms/local/local.h"

/* ------------------------------------------------------------------ */
/* Resolution and access                                              */

void lk_key_arn(const struct lkey *k, char *out, size_t n)
{
	snprintf(out, n, "arn:aws:kms:%s:%s:key/%s", k->region, k->account, k->id);
}

struct lkey *lk_find_id(struct ks *ks, const char *id)
{
	size_t i;

	for (i = 0; i < ks->nkeys; i++)
		if (!ks->keys[i].deleted && !strcmp(ks->keys[i].id, id))
			return &ks->keys[i];
	return NULL;
}

struct lalias *lk_find_alias(struct ks *ks, const char *acct, const char *region,
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

bool lk_policy_allows(const struct lkey *k, const char *acct)
{
	size_t i;

	for (i = 0; i < k->policy.n; i++)
		if (!strcmp(k->policy.accounts[i], acct))
			return true;
	return false;
}

struct lkey *lk_new_key(struct local_priv *p, const char *acct, const char *region,
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
	k->created = lk_now(p);
	k->last_rotation = k->created;
	k->rot_period = 365;
	k->policy.n = 1;
	aur_strcpy(k->policy.accounts[0], sizeof(k->policy.accounts[0]), acct);
	if (lk_mat_new(p, k, st)) {
		free(k->mat);
		return NULL;
	}
	ks->nkeys++;
	ks->dirty = true;
	return k;
}

int lk_add_alias(struct local_priv *p, const char *acct, const char *region,
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
	aur_strcpy(na->name, sizeof(na->name), name);
	aur_strcpy(na->account, sizeof(na->account), acct);
	aur_strcpy(na->region, sizeof(na->region), region);
	aur_strcpy(na->key_id, sizeof(na->key_id), key_id);
	na->created = lk_now(p);
	ks->dirty = true;
	return 0;
}

/*
 * Resolve @name as the caller sees it, create the default CMK when it is
 * named and missing (@create_default), and check the caller may @use it.
 */
aur_kerr lk_resolve(struct aur_kms *kms, const char *name, enum use use,
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
		/*
		 * An ARN names its region: served from that region's keys of
		 * this keystore, as AWS routes a request by the ARN's region.
		 */
		by_arn = true;
	} else if (aur_strcpy(rest, sizeof(rest), name)) {
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: key id too long");
	}

	if (aur_str_has_prefix(rest, "key/") || (!by_arn && aur_uuid_valid(rest))) {
		const char *id = by_arn ? rest + 4 : rest;

		if (!aur_uuid_valid(id))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidArnException: bad key id in %s", name);
		k = lk_find_id(&p->ks, id);
		if (!k || strcmp(k->account, acct) || strcmp(k->region, region))
			return aur_kms_fail(st, lk_not_found_code(p), 0, "Key '%s' does not exist", name);
	} else if (aur_str_has_prefix(rest, "alias/")) {
		struct lalias *a;

		if (!lk_alias_name_valid(rest))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidAliasNameException: %s", rest);
		a = lk_find_alias(&p->ks, acct, region, rest);
		if (!a && create_default && !strcmp(rest, AUR_DEFAULT_ALIAS) &&
		    !strcmp(acct, kms->account)) {
			k = lk_new_key(p, acct, region, "Default CMK for aurora volumes", st);
			if (!k)
				return st ? st->code : AUR_KMS_E_INTERNAL;
			if (lk_add_alias(p, acct, region, rest, k->id, st))
				return st ? st->code : AUR_KMS_E_INTERNAL;
			aur_info("created the default CMK %s (%s) of account %s in %s",
				 k->id, AUR_DEFAULT_ALIAS, acct, region);
		} else if (!a) {
			return aur_kms_fail(st, lk_not_found_code(p), 0, "Alias %s is not found", name);
		} else {
			k = lk_find_id(&p->ks, a->key_id);
			if (!k)
				return aur_kms_fail(st, lk_not_found_code(p), 0, "Alias %s points to no key", name);
		}
	} else {
		return aur_kms_fail(st, AUR_KMS_E_NOT_FOUND, 0, "Invalid keyId '%s'", name);
	}

	if (use == USE_MANAGE) {
		if (strcmp(k->account, kms->account))
			return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
				    "account %s may not manage %s (owned by %s)",
				    kms->account, k->id, k->account);
	} else if (!lk_policy_allows(k, kms->account)) {
		char arn[AUR_ARN_MAX];

		lk_key_arn(k, arn, sizeof(arn));
		return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
			    "account %s is not allowed to use %s by its key policy", kms->account, arn);
	}
	*out = k;
	return AUR_KMS_OK;
}

aur_kerr lk_usable(const struct lkey *k, struct aur_kms_status *st)
{
	char arn[AUR_ARN_MAX];

	lk_key_arn(k, arn, sizeof(arn));
	if (k->state == AUR_KEY_DISABLED)
		return aur_kms_fail(st, AUR_KMS_E_DISABLED, 0, "%s is disabled", arn);
	if (k->state == AUR_KEY_PENDING_DELETION)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is pending deletion", arn);
	return AUR_KMS_OK;
}

void lk_fill_info(const struct lkey *k, struct aur_kms_key_info *info)
{
	memset(info, 0, sizeof(*info));
	aur_strcpy(info->key_id, sizeof(info->key_id), k->id);
	lk_key_arn(k, info->arn, sizeof(info->arn));
	aur_strcpy(info->account, sizeof(info->account), k->account);
	aur_strcpy(info->region, sizeof(info->region), k->region);
	info->state = k->state;
	info->enabled = k->state == AUR_KEY_ENABLED;
	info->creation_date = k->created;
	info->deletion_date = k->state == AUR_KEY_PENDING_DELETION ? k->deletion_date : 0;
	aur_strcpy(info->description, sizeof(info->description), k->description);
}

