// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS's management API (see kms_local.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms/local/local.h"

/* ------------------------------------------------------------------ */
/* Management API                                                     */

/*
 * What one management call was asked: the arguments of the public function,
 * by name, handed to its body (the *_locked() function) unchanged.
 */
struct lk_request {
	const char *op;
	const char *key_id;
	const struct aur_kms_policy *np;
	const char *account;
	bool grant;
	struct aur_kms_policy *pol;
	int mode;
	unsigned int period;
	unsigned int *new_version;
	enum aur_key_state to;
	unsigned int days;
	int64_t *date;
	struct aur_kms_alias **aliases;
	size_t *n;
	const char *alias;
	struct aur_kms_key_info **keys;
	struct aur_kms_key_detail *d;
	const char *description;
	struct aur_kms_key_info *info;
	const char *detail;		/* audit detail, once the keystore is loaded */
};

typedef aur_kerr (*lk_body)(struct lk_call *call, const struct lk_request *rq);

/*
 * One management call: lock and load the keystore (with @manage_key, also
 * resolve rq->key_id for management into call->key), run @body, then save,
 * unlock and audit under @operation (@audit_key_id, or rq->key_id).
 */
static aur_kerr run(struct aur_kms *kms, const char *operation, const char *audit_key_id,
		    bool manage_key, enum lk_mode mode, const struct lk_request *rq,
		    struct aur_kms_status *st, lk_body body)
{
	struct lk_call call;
	aur_kerr e;

	if (manage_key)
		e = lk_call_begin_key(&call, kms, operation, rq->key_id, mode, USE_MANAGE,
				      &call.key, st);
	else
		e = lk_call_begin(&call, kms, operation, audit_key_id, mode, st);
	if (call.loaded && rq->detail)
		call.rec.detail = rq->detail;
	if (!e)
		e = body(&call, rq);
	return lk_call_end(&call, e);
}

static aur_kerr create_key_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	if (rq->description && strlen(rq->description) >= sizeof(k->description)) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: description too long");
	} else {
		k = lk_new_key(call->p, call->kms->account, call->kms->region, rq->description, call->st);
		if (k) {
			e = AUR_KMS_OK;
			lk_key_arn(k, call->arn, sizeof(call->arn));
			if (rq->info)
				lk_fill_info(k, rq->info);
		} else {
			e = call->st ? call->st->code : AUR_KMS_E_INTERNAL;
		}
	}
	return e;
}

aur_kerr aur_kms_local_create_key(struct aur_kms *kms, const char *description,
				  struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	const struct lk_request rq = { .description = description, .info = info };

	return run(kms, "CreateKey", NULL, false, LK_CREATE, &rq, st, create_key_locked);
}

static aur_kerr describe_ex_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	/* A read: the default CMK is described if it exists, never created. */
	e = lk_resolve(call->kms, rq->key_id, USE_DESCRIBE, false, &k, call->st);
	if (!e) {
		memset(rq->d, 0, sizeof(*rq->d));
		lk_fill_info(k, &rq->d->info);
		aur_strcpy(call->arn, sizeof(call->arn), rq->d->info.arn);
		rq->d->rotation_enabled = k->rot_enabled;
		rq->d->rotation_period_days = k->rot_period;
		rq->d->last_rotation = k->last_rotation;
		rq->d->material_versions = (unsigned int)k->nmat;
		rq->d->policy = k->policy;
	}
	return e;
}

aur_kerr aur_kms_local_describe_ex(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_key_detail *d, struct aur_kms_status *st)
{
	const struct lk_request rq = { .key_id = key_id, .d = d };

	return run(kms, "DescribeKey", key_id, false, LK_READ, &rq, st, describe_ex_locked);
}

static aur_kerr list_keys_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;
	size_t i;

	*rq->keys = calloc(call->p->ks.nkeys + 1, sizeof(**rq->keys));
	if (!*rq->keys) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	} else {
		e = AUR_KMS_OK;
		for (i = 0; i < call->p->ks.nkeys; i++) {
			k = &call->p->ks.keys[i];
			if (k->deleted || strcmp(k->account, call->kms->account) ||
			    strcmp(k->region, call->kms->region))
				continue;
			lk_fill_info(k, &(*rq->keys)[(*rq->n)++]);
		}
	}
	return e;
}

aur_kerr aur_kms_local_list_keys(struct aur_kms *kms, struct aur_kms_key_info **keys,
				 size_t *n, struct aur_kms_status *st)
{
	const struct lk_request rq = { .keys = keys, .n = n };

	*keys = NULL;
	*n = 0;
	return run(kms, "ListKeys", NULL, false, LK_READ, &rq, st, list_keys_locked);
}

static aur_kerr create_alias_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	call->rec.detail = rq->alias;
	if (!rq->alias || !lk_alias_name_valid(rq->alias)) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0,
			 "InvalidAliasNameException: an alias is alias/ followed by letters, digits, /, _ or -");
	} else if (aur_str_has_prefix(rq->alias, "alias/aws/") || !strcmp(rq->alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "InvalidAliasNameException: %s is reserved", rq->alias);
	} else if (lk_find_alias(&call->p->ks, call->kms->account, call->kms->region, rq->alias)) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "AlreadyExistsException: %s already exists", rq->alias);
	} else {
		e = lk_resolve(call->kms, rq->key_id, USE_MANAGE, false, &k, call->st);
		if (!e) {
			lk_key_arn(k, call->arn, sizeof(call->arn));
			if (strcmp(k->region, call->kms->region) || strcmp(k->account, call->kms->account))
				e = aur_kms_fail(call->st, AUR_KMS_E_ACCESS_DENIED, 0, "an alias may only name a CMK of its own account and region");
			else if (lk_add_alias(call->p, call->kms->account, call->kms->region, rq->alias, k->id, call->st))
				e = call->st ? call->st->code : AUR_KMS_E_INTERNAL;
		}
	}
	return e;
}

aur_kerr aur_kms_local_create_alias(struct aur_kms *kms, const char *alias,
				    const char *key_id, struct aur_kms_status *st)
{
	const struct lk_request rq = { .alias = alias, .key_id = key_id };

	return run(kms, "CreateAlias", key_id, false, LK_WRITE, &rq, st, create_alias_locked);
}

static aur_kerr delete_alias_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lalias *a;
	aur_kerr e = AUR_KMS_OK;

	a = rq->alias ? lk_find_alias(&call->p->ks, call->kms->account, call->kms->region, rq->alias) : NULL;
	if (!a) {
		e = aur_kms_fail(call->st, AUR_KMS_E_NOT_FOUND, 0, "Alias %s is not found", rq->alias ? rq->alias : "");
	} else if (!strcmp(rq->alias, AUR_DEFAULT_ALIAS)) {
		e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "the default alias cannot be deleted");
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
	const struct lk_request rq = { .alias = alias };

	return run(kms, "DeleteAlias", alias, false, LK_WRITE, &rq, st, delete_alias_locked);
}

static aur_kerr list_aliases_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;
	size_t i;

	e = AUR_KMS_OK;
	if (rq->key_id && *rq->key_id)
		e = lk_resolve(call->kms, rq->key_id, USE_DESCRIBE, false, &k, call->st);
	if (!e) {
		*rq->aliases = calloc(call->p->ks.nalias + 1, sizeof(**rq->aliases));
		if (!*rq->aliases)
			e = aur_kms_fail(call->st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	}
	for (i = 0; !e && i < call->p->ks.nalias; i++) {
		const struct lalias *a = &call->p->ks.alias[i];
		struct aur_kms_alias *o;

		if (a->deleted || strcmp(a->account, call->kms->account) ||
		    strcmp(a->region, call->kms->region) || (k && strcmp(a->key_id, k->id)))
			continue;
		o = &(*rq->aliases)[(*rq->n)++];
		aur_strcpy(o->name, sizeof(o->name), a->name);
		snprintf(o->arn, sizeof(o->arn), "arn:aws:kms:%s:%s:%s", a->region, a->account, a->name);
		aur_strcpy(o->target_key_id, sizeof(o->target_key_id), a->key_id);
		o->creation_date = a->created;
	}
	return e;
}

aur_kerr aur_kms_local_list_aliases(struct aur_kms *kms, const char *key_id,
				    struct aur_kms_alias **aliases, size_t *n,
				    struct aur_kms_status *st)
{
	const struct lk_request rq = { .key_id = key_id, .aliases = aliases, .n = n };

	*aliases = NULL;
	*n = 0;
	return run(kms, "ListAliases", key_id, false, LK_READ, &rq, st, list_aliases_locked);
}

static aur_kerr set_state_locked(struct lk_call *call, const struct lk_request *rq)
{
	enum aur_key_state to = rq->to;
	struct lkey *k = call->key;
	aur_kerr e = AUR_KMS_OK;

	switch (to) {
	case AUR_KEY_ENABLED:
	case AUR_KEY_DISABLED:
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_STATE, 0, "%s is pending deletion", call->arn);
			return e;
		}
		break;
	case AUR_KEY_PENDING_DELETION:
		if (rq->days < 7 || rq->days > 30) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: PendingWindowInDays must be 7..30");
			return e;
		}
		if (k->state == AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_STATE, 0, "%s is already pending deletion", call->arn);
			return e;
		}
		k->deletion_date = lk_now(call->p) + (int64_t)rq->days * DAY;
		if (rq->date)
			*rq->date = k->deletion_date;
		snprintf(call->detail, sizeof(call->detail), "PendingWindowInDays=%u", rq->days);
		call->rec.detail = call->detail;
		break;
	default:		/* cancel: back to Disabled, as AWS does */
		if (k->state != AUR_KEY_PENDING_DELETION) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_STATE, 0, "%s is not pending deletion", call->arn);
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
	const struct lk_request rq = {
		.op = op, .key_id = key_id, .to = to, .days = days, .date = date,
	};

	return run(kms, op, NULL, true, LK_WRITE, &rq, st, set_state_locked);
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

static aur_kerr rotation_locked(struct lk_call *call, const struct lk_request *rq)
{
	unsigned int period = rq->period;
	struct lkey *k = call->key;
	aur_kerr e = AUR_KMS_OK;

	e = lk_usable(k, call->st);
	if (e)
		return e;
	if (rq->mode == 1) {
		if (period == 0)
			period = 365;
		if (period < 90 || period > 2560) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: RotationPeriodInDays must be 90..2560");
			return e;
		}
		k->rot_enabled = true;
		k->rot_period = period;
		k->last_rotation = lk_now(call->p);
	} else if (rq->mode == 0) {
		k->rot_enabled = false;
	} else {
		if (lk_mat_new(call->p, k, call->st)) {
			e = call->st ? call->st->code : AUR_KMS_E_INTERNAL;
			return e;
		}
		k->last_rotation = lk_now(call->p);
		if (rq->new_version)
			*rq->new_version = (unsigned int)k->nmat;
	}
	call->p->ks.dirty = true;
	e = AUR_KMS_OK;
	return e;
}

static aur_kerr rotation(struct aur_kms *kms, const char *op, const char *key_id, int mode,
			 unsigned int period, unsigned int *new_version, struct aur_kms_status *st)
{
	const struct lk_request rq = {
		.op = op, .key_id = key_id, .mode = mode, .period = period,
		.new_version = new_version,
	};

	return run(kms, op, NULL, true, LK_WRITE, &rq, st, rotation_locked);
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

static aur_kerr get_key_policy_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = NULL;
	aur_kerr e = AUR_KMS_OK;

	e = lk_resolve(call->kms, rq->key_id, USE_MANAGE, false, &k, call->st);
	if (!e) {
		lk_key_arn(k, call->arn, sizeof(call->arn));
		*rq->pol = k->policy;
	}
	return e;
}

aur_kerr aur_kms_local_get_key_policy(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_policy *pol, struct aur_kms_status *st)
{
	const struct lk_request rq = { .key_id = key_id, .pol = pol };

	return run(kms, "GetKeyPolicy", key_id, false, LK_READ, &rq, st, get_key_policy_locked);
}

static aur_kerr policy_edit_locked(struct lk_call *call, const struct lk_request *rq)
{
	struct lkey *k = call->key;
	aur_kerr e = AUR_KMS_OK;
	size_t i, j;

	if (rq->np) {
		for (i = 0; i < rq->np->n && i < AUR_POLICY_MAX; i++) {
			if (strlen(rq->np->accounts[i]) != 12 ||
			    strspn(rq->np->accounts[i], "0123456789") != 12) {
				e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0,
					 "MalformedPolicyDocumentException: bad account \"%s\"",
					 rq->np->accounts[i]);
				return e;
			}
		}
		if (rq->np->n > AUR_POLICY_MAX) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "MalformedPolicyDocumentException: too many accounts");
			return e;
		}
		k->policy = *rq->np;
	} else {
		if (!rq->account || strlen(rq->account) != 12 || strspn(rq->account, "0123456789") != 12) {
			e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: an account is 12 digits");
			return e;
		}
		for (i = 0; i < k->policy.n && strcmp(k->policy.accounts[i], rq->account); i++)
			;
		if (rq->grant && i == k->policy.n) {
			if (k->policy.n >= AUR_POLICY_MAX) {
				e = aur_kms_fail(call->st, AUR_KMS_E_INVALID_ARG, 0, "LimitExceededException: policy full");
				return e;
			}
			aur_strcpy(k->policy.accounts[k->policy.n++], sizeof(k->policy.accounts[0]), rq->account);
		} else if (!rq->grant && i < k->policy.n) {
			for (j = i; j + 1 < k->policy.n; j++)
				aur_strcpy(k->policy.accounts[j], sizeof(k->policy.accounts[j]), k->policy.accounts[j + 1]);
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
	const struct lk_request rq = {
		.op = op, .key_id = key_id, .np = np, .account = account, .grant = grant,
		.detail = account,
	};

	return run(kms, op, NULL, true, LK_WRITE, &rq, st, policy_edit_locked);
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
