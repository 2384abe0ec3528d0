// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS's management API (see kms_local.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/local/local.h"

/* ------------------------------------------------------------------ */
/* Management API                                                     */

static aur_kerr create_key_locked(struct lk_call *call, struct aur_kms *kms,
				  const char *description, struct aur_kms_key_info *info,
				  struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	if (description && strlen(description) >= sizeof(k->description)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: description too long");
	} else {
		k = lk_new_key(call->p, kms->account, kms->region, description, st);
		if (k) {
			e = AUR_KMS_OK;
			lk_key_arn(k, call->arn, sizeof(call->arn));
			if (info)
				lk_fill_info(k, info);
		} else {
			e = st ? st->code : AUR_KMS_E_INTERNAL;
		}
	}
	return e;
}

aur_kerr aur_kms_local_create_key(struct aur_kms *kms, const char *description,
				  struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "CreateKey", NULL, st);
	if (!e)
		e = create_key_locked(&call, kms, description, info, st);
	return lk_call_end(&call, e);
}

static aur_kerr describe_ex_locked(struct lk_call *call, struct aur_kms *kms,
				   const char *key_id, struct aur_kms_key_detail *d,
				   struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	e = lk_resolve(kms, key_id, USE_DESCRIBE, true, &k, st);
	if (!e) {
		memset(d, 0, sizeof(*d));
		lk_fill_info(k, &d->info);
		aur_strcpy(call->arn, sizeof(call->arn), d->info.arn);
		d->rotation_enabled = k->rot_enabled;
		d->rotation_period_days = k->rot_period;
		d->last_rotation = k->last_rotation;
		d->material_versions = (unsigned int)k->nmat;
		d->policy = k->policy;
	}
	return e;
}

aur_kerr aur_kms_local_describe_ex(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_key_detail *d, struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "DescribeKey", key_id, st);
	if (!e)
		e = describe_ex_locked(&call, kms, key_id, d, st);
	return lk_call_end(&call, e);
}

static aur_kerr list_keys_locked(struct lk_call *call, struct aur_kms *kms,
				 struct aur_kms_key_info **keys, size_t *n,
				 struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;
	size_t i;

	*keys = calloc(call->p->ks.nkeys + 1, sizeof(**keys));
	if (!*keys) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	} else {
		e = AUR_KMS_OK;
		for (i = 0; i < call->p->ks.nkeys; i++) {
			k = &call->p->ks.keys[i];
			if (k->deleted || strcmp(k->account, kms->account) ||
			    strcmp(k->region, kms->region))
				continue;
			lk_fill_info(k, &(*keys)[(*n)++]);
		}
	}
	return e;
}

aur_kerr aur_kms_local_list_keys(struct aur_kms *kms, struct aur_kms_key_info **keys,
				 size_t *n, struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	*keys = NULL;
	*n = 0;
	e = lk_call_begin(&call, kms, "ListKeys", NULL, st);
	if (!e)
		e = list_keys_locked(&call, kms, keys, n, st);
	return lk_call_end(&call, e);
}

static aur_kerr create_alias_locked(struct lk_call *call, struct aur_kms *kms,
				    const char *alias, const char *key_id,
				    struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	call->rec.detail = alias;
	if (!alias || !lk_alias_name_valid(alias)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "InvalidAliasNameException: an alias is alias/ followed by letters, digits, /, _ or -");
	} else if (aur_str_has_prefix(alias, "alias/aws/") || !strcmp(alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "InvalidAliasNameException: %s is reserved", alias);
	} else if (lk_find_alias(&call->p->ks, kms->account, kms->region, alias)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "AlreadyExistsException: %s already exists", alias);
	} else {
		e = lk_resolve(kms, key_id, USE_MANAGE, false, &k, st);
		if (!e) {
			lk_key_arn(k, call->arn, sizeof(call->arn));
			if (strcmp(k->region, kms->region) || strcmp(k->account, kms->account))
				e = aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0, "an alias may only name a CMK of its own account and region");
			else if (lk_add_alias(call->p, kms->account, kms->region, alias, k->id, st))
				e = st ? st->code : AUR_KMS_E_INTERNAL;
		}
	}
	return e;
}

aur_kerr aur_kms_local_create_alias(struct aur_kms *kms, const char *alias,
				    const char *key_id, struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "CreateAlias", key_id, st);
	if (!e)
		e = create_alias_locked(&call, kms, alias, key_id, st);
	return lk_call_end(&call, e);
}

static aur_kerr delete_alias_locked(struct lk_call *call, struct aur_kms *kms,
				    const char *alias, struct aur_kms_status *st)
{
	struct lalias *a;
	aur_kerr e = AUR_KMS_OK;

	a = alias ? lk_find_alias(&call->p->ks, kms->account, kms->region, alias) : NULL;
	if (!a) {
		e = aur_kms_fail(st, AUR_KMS_E_NOT_FOUND, 0, "Alias %s is not found", alias ? alias : "");
	} else if (!strcmp(alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "the default alias cannot be deleted");
	} else {
		a->deleted = true;
		call->p->ks.dirty = true;
		e = AUR_KMS_OK;
	}
	return e;
}

aur_kerr aur_kms_local_delete_alias(struct aur_kms *kms, const char *alias,
				    struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "DeleteAlias", alias, st);
	if (!e)
		e = delete_alias_locked(&call, kms, alias, st);
	return lk_call_end(&call, e);
}

static aur_kerr list_aliases_locked(struct lk_call *call, struct aur_kms *kms,
				    const char *key_id, struct aur_kms_alias **aliases,
				    size_t *n, struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;
	size_t i;

	e = AUR_KMS_OK;
	if (key_id && *key_id)
		e = lk_resolve(kms, key_id, USE_DESCRIBE, false, &k, st);
	if (!e) {
		*aliases = calloc(call->p->ks.nalias + 1, sizeof(**aliases));
		if (!*aliases)
			e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	}
	for (i = 0; !e && i < call->p->ks.nalias; i++) {
		const struct lalias *a = &call->p->ks.alias[i];
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
	return e;
}

aur_kerr aur_kms_local_list_aliases(struct aur_kms *kms, const char *key_id,
				    struct aur_kms_alias **aliases, size_t *n,
				    struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	*aliases = NULL;
	*n = 0;
	e = lk_call_begin(&call, kms, "ListAliases", key_id, st);
	if (!e)
		e = list_aliases_locked(&call, kms, key_id, aliases, n, st);
	return lk_call_end(&call, e);
}

static aur_kerr set_state_locked(struct lk_call *call, struct lkey *k, struct aur_kms *kms,
				 const char *op, const char *key_id, enum aur_key_state to,
				 unsigned int days, int64_t *date, struct aur_kms_status *st)
{
	aur_kerr e = AUR_KMS_OK;

	switch (to) {
	case AUR_KEY_ENABLED:
	case AUR_KEY_DISABLED:
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is pending deletion", call->arn);
			return e;
		}
		break;
	case AUR_KEY_PENDING_DELETION:
		if (days < 7 || days > 30) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: PendingWindowInDays must be 7..30");
			return e;
		}
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is already pending deletion", call->arn);
			return e;
		}
		k->deletion_date = lk_now(call->p) + (int64_t)days * DAY;
		if (date)
			*date = k->deletion_date;
		snprintf(call->detail, sizeof(call->detail), "PendingWindowInDays=%u", days);
		call->rec.detail = call->detail;
		break;
	default:		/* cancel: back to Disabled, as AWS does */
		if (k->state != AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_STATE, 0, "%s is not pending deletion", call->arn);
			return e;
		}
		to = AUR_KEY_DISABLED;
		k->deletion_date = 0;
		break;
	}
	k->state = to;
	call->p->ks.dirty = true;
	e = AUR_KMS_OK;
	return e;
}

static aur_kerr set_state(struct aur_kms *kms, const char *op, const char *key_id,
			  enum aur_key_state to, unsigned int days, int64_t *date,
			  struct aur_kms_status *st)
{
	struct lk_call call;
	struct lkey *k = NULL;
	aur_kerr e;

	e = lk_call_begin_key(&call, kms, op, key_id, USE_MANAGE, &k, st);
	if (!e)
		e = set_state_locked(&call, k, kms, op, key_id, to, days, date, st);
	return lk_call_end(&call, e);
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

static aur_kerr rotation_locked(struct lk_call *call, struct lkey *k, struct aur_kms *kms,
				const char *op, const char *key_id, int mode,
				unsigned int period, unsigned int *new_version,
				struct aur_kms_status *st)
{
	aur_kerr e = AUR_KMS_OK;

	e = lk_usable(k, st);
	if (e)
		return e;
	if (mode == 1) {
		if (period == 0)
			period = 365;
		if (period < 90 || period > 2560) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: RotationPeriodInDays must be 90..2560");
			return e;
		}
		k->rot_enabled = true;
		k->rot_period = period;
		k->last_rotation = lk_now(call->p);
	} else if (mode == 0) {
		k->rot_enabled = false;
	} else {
		if (lk_mat_new(call->p, k, st)) {
			e = st ? st->code : AUR_KMS_E_INTERNAL;
			return e;
		}
		k->last_rotation = lk_now(call->p);
		if (new_version)
			*new_version = (unsigned int)k->nmat;
	}
	call->p->ks.dirty = true;
	e = AUR_KMS_OK;
	return e;
}

static aur_kerr rotation(struct aur_kms *kms, const char *op, const char *key_id, int mode,
			 unsigned int period, unsigned int *new_version, struct aur_kms_status *st)
{
	struct lk_call call;
	struct lkey *k = NULL;
	aur_kerr e;

	e = lk_call_begin_key(&call, kms, op, key_id, USE_MANAGE, &k, st);
	if (!e)
		e = rotation_locked(&call, k, kms, op, key_id, mode, period, new_version, st);
	return lk_call_end(&call, e);
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

static aur_kerr get_key_policy_locked(struct lk_call *call, struct aur_kms *kms,
				      const char *key_id, struct aur_kms_policy *pol,
				      struct aur_kms_status *st)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	e = lk_resolve(kms, key_id, USE_MANAGE, false, &k, st);
	if (!e) {
		lk_key_arn(k, call->arn, sizeof(call->arn));
		*pol = k->policy;
	}
	return e;
}

aur_kerr aur_kms_local_get_key_policy(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_policy *pol, struct aur_kms_status *st)
{
	struct lk_call call;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "GetKeyPolicy", key_id, st);
	if (!e)
		e = get_key_policy_locked(&call, kms, key_id, pol, st);
	return lk_call_end(&call, e);
}

static aur_kerr policy_edit_locked(struct lk_call *call, struct lkey *k, struct aur_kms *kms,
				   const char *op, const char *key_id,
				   const struct aur_kms_policy *np, const char *account,
				   bool grant, struct aur_kms_status *st)
{
	aur_kerr e = AUR_KMS_OK;
	size_t i, j;

	if (np) {
		for (i = 0; i < np->n && i < AUR_POLICY_MAX; i++) {
			if (strlen(np->accounts[i]) != 12 ||
			    strspn(np->accounts[i], "0123456789") != 12) {
				e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
					 "MalformedPolicyDocumentException: bad account \"%s\"",
					 np->accounts[i]);
				return e;
			}
		}
		if (np->n > AUR_POLICY_MAX) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "MalformedPolicyDocumentException: too many accounts");
			return e;
		}
		k->policy = *np;
	} else {
		if (!account || strlen(account) != 12 || strspn(account, "0123456789") != 12) {
			e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: an account is 12 digits");
			return e;
		}
		for (i = 0; i < k->policy.n && strcmp(k->policy.accounts[i], account); i++)
			;
		if (grant && i == k->policy.n) {
			if (k->policy.n >= AUR_POLICY_MAX) {
				e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "LimitExceededException: policy full");
				return e;
			}
			strcpy(k->policy.accounts[k->policy.n++], account);
		} else if (!grant && i < k->policy.n) {
			for (j = i; j + 1 < k->policy.n; j++)
				strcpy(k->policy.accounts[j], k->policy.accounts[j + 1]);
			k->policy.n--;
		}
	}
	call->p->ks.dirty = true;
	e = AUR_KMS_OK;
	return e;
}

static aur_kerr policy_edit(struct aur_kms *kms, const char *op, const char *key_id,
			    const struct aur_kms_policy *np, const char *account, bool grant,
			    struct aur_kms_status *st)
{
	struct lk_call call;
	struct lkey *k = NULL;
	aur_kerr e;

	e = lk_call_begin_key(&call, kms, op, key_id, USE_MANAGE, &k, st);
	if (call.loaded)
		call.rec.detail = account;
	if (!e)
		e = policy_edit_locked(&call, k, kms, op, key_id, np, account, grant, st);
	return lk_call_end(&call, e);
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
