// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS provider's operations (see kms_local.h, local.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "kms/local/local.h"

static const struct aur_kms_ops local_ops;

static void audit(struct lk_call *call, aur_kerr res)
{
	struct local_priv *p = call->p;
	struct aur_audit_rec rec = call->rec;
	int r;

	rec.caller_account = call->kms->account;
	rec.region = call->kms->region;
	rec.result = res;
	rec.key_arn = call->arn;
	rec.message = (res != AUR_KMS_OK && call->st) ? call->st->message : NULL;
	r = aur_audit_append(p->audit, &rec, lk_now(p));
	/* A read-only keystore serves reads it cannot record: said once. */
	if (r && !p->audit_warned) {
		aur_warn("cannot append to %s: %s", p->audit, strerror(-r));
		p->audit_warned = r == -EROFS || r == -EACCES;
	}
}

aur_kerr lk_call_begin(struct lk_call *call, struct aur_kms *kms, const char *operation,
		       const char *key_id, enum lk_mode mode, struct aur_kms_status *st)
{
	aur_kerr e;

	memset(call, 0, sizeof(*call));
	call->kms = kms;
	call->st = st;
	call->rec.operation = operation;
	call->rec.request_key_id = key_id;
	if (!aur_kms_is_local(kms))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "not the local KMS provider");
	call->p = kms->priv;
	aur_kms_ok(st);
	e = lk_ks_begin(call->p, mode, st);
	if (e) {
		/* No keystore here: an audit record would create one. */
		call->no_audit = e == AUR_KMS_E_CONFIG;
		return e;
	}
	call->loaded = true;
	return AUR_KMS_OK;
}

aur_kerr lk_call_begin_key(struct lk_call *call, struct aur_kms *kms, const char *operation,
			   const char *key_id, enum lk_mode mode, enum use use, struct lkey **k,
			   struct aur_kms_status *st)
{
	aur_kerr e = lk_call_begin(call, kms, operation, key_id, mode, st);

	if (e)
		return e;
	e = lk_resolve(kms, key_id, use, false, k, st);
	if (!e)
		lk_key_arn(*k, call->arn, sizeof(call->arn));
	return e;
}

aur_kerr lk_call_end(struct lk_call *call, aur_kerr e)
{
	struct aur_kms_status *st = call->st;

	if (!call->p)
		return e;
	if (call->loaded && lk_ks_end(call->p, st) && !e)
		e = AUR_KMS_E_INTERNAL;
	if (st && st->code && !e)
		e = st->code;
	if (!call->no_audit)
		audit(call, e);
	if (call->loaded)
		lk_ks_maintain(call->p);
	return e;
}

/*
 * A call that names the default CMK runs as a read; only when that CMK does
 * not exist yet is it run again as a writing call that creates it (and the
 * keystore with it).  True when @e (from the read) asks for that.
 */
static bool needs_default(const char *key_id, aur_kerr e)
{
	const char *alias = key_id;
	const char *c;

	if (e != AUR_KMS_E_NOT_FOUND && e != AUR_KMS_E_CONFIG)
		return false;
	if (!key_id)
		return false;
	if (aur_str_has_prefix(key_id, "arn:")) {
		c = strstr(key_id, ":alias/");
		alias = c ? c + 1 : "";
	}
	return !strcmp(alias, AUR_DEFAULT_ALIAS);
}

/* ------------------------------------------------------------------ */
/* Provider operations                                                */

/* DescribeKey: the owner's detail, of which the provider interface wants the info. */
static aur_kerr l_describe(struct aur_kms *kms, const char *key_id, struct aur_kms_key_info *info,
			   struct aur_kms_status *st)
{
	struct aur_kms_key_detail d;
	aur_kerr e = aur_kms_local_describe_ex(kms, key_id, &d, st);

	if (!e)
		*info = d.info;
	return e;
}

static aur_kerr generate_once(struct aur_kms *kms, const char *key_id,
			     const struct aur_enc_ctx *ctx, size_t nbytes,
			     struct aur_secret **plaintext, struct aur_blob *wrapped,
			     char *out_arn, enum lk_mode mode, bool *retry,
			     struct aur_kms_status *st)
{
	struct aur_secret *dk = NULL;
	struct lk_call call;
	struct lkey *k;
	aur_kerr e;

	*plaintext = NULL;
	*retry = false;
	e = lk_call_begin(&call, kms, "GenerateDataKey", key_id, mode, st);
	call.rec.ctx = ctx;
	if (e) {
		if (mode == LK_READ && needs_default(key_id, e)) {
			*retry = true;
			return e;
		}
		goto end_call;
	}
	if (nbytes == 0 || nbytes > AUR_DATA_KEY_MAX) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: NumberOfBytes must be 1..1024");
		goto end_call;
	}
	e = lk_resolve(kms, key_id, USE_CRYPTO, mode == LK_CREATE, &k, st);
	if (e && mode == LK_READ && needs_default(key_id, e)) {
		/* Not audited: the writing call that follows is. */
		call.no_audit = true;
		*retry = true;
		goto end_call;
	}
	if (e)
		goto end_call;
	lk_key_arn(k, call.arn, sizeof(call.arn));
	e = lk_usable(k, st);
	if (e)
		goto end_call;
	dk = aur_secret_alloc(nbytes);
	if (!dk || RAND_priv_bytes(dk->data, (int)nbytes) != 1) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot create a data key");
		goto end_call;
	}
	e = lk_wrap(call.p, k, ctx, dk->data, nbytes, wrapped, st);
end_call:
	e = lk_call_end(&call, e);
	if (e) {
		aur_secret_free(dk);
		return e;
	}
	*plaintext = dk;
	if (out_arn)
		aur_strcpy(out_arn, AUR_ARN_MAX, call.arn);
	return e;
}

static aur_kerr l_generate(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
			   size_t nbytes, struct aur_secret **plaintext, struct aur_blob *wrapped,
			   char *out_arn, struct aur_kms_status *st)
{
	bool retry;
	aur_kerr e;

	if (!key_id || !*key_id)
		key_id = AUR_DEFAULT_ALIAS;
	e = generate_once(kms, key_id, ctx, nbytes, plaintext, wrapped, out_arn, LK_READ,
			  &retry, st);
	if (retry)
		e = generate_once(kms, key_id, ctx, nbytes, plaintext, wrapped, out_arn,
				  LK_CREATE, &retry, st);
	return e;
}

static aur_kerr l_decrypt(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
			  const struct aur_blob *wrapped, struct aur_secret **plaintext,
			  char *out_arn, struct aur_kms_status *st)
{
	struct lk_call call;
	struct lkey *k = NULL;
	aur_kerr e;

	*plaintext = NULL;
	e = lk_call_begin(&call, kms, "Decrypt", key_id, LK_READ, st);
	call.rec.ctx = ctx;
	if (e)
		goto end_call;
	e = lk_unwrap(kms, key_id, ctx, wrapped, plaintext, &k, st);
	if (k)
		lk_key_arn(k, call.arn, sizeof(call.arn));
end_call:
	e = lk_call_end(&call, e);
	if (e) {
		aur_secret_free(*plaintext);
		*plaintext = NULL;
	} else if (out_arn) {
		aur_strcpy(out_arn, AUR_ARN_MAX, call.arn);
	}
	return e;
}

static aur_kerr l_reencrypt(struct aur_kms *kms, const char *src_key_id,
			    const struct aur_enc_ctx *src_ctx, const struct aur_blob *src,
			    const char *dst_key_id, const struct aur_enc_ctx *dst_ctx,
			    struct aur_blob *dst, char *dst_arn_out, struct aur_kms_status *st)
{
	char darn[AUR_ARN_MAX] = "";
	struct aur_secret *pt = NULL;
	struct lkey *k = NULL, *dk = NULL;
	struct lk_call call;
	aur_kerr e;

	/* Only a destination that is the default CMK may create it (and write). */
	enum lk_mode mode = needs_default(dst_key_id, AUR_KMS_E_NOT_FOUND) ? LK_CREATE : LK_READ;

	e = lk_call_begin(&call, kms, "ReEncrypt", src_key_id, mode, st);
	call.rec.ctx = src_ctx;
	call.rec.dst_ctx = dst_ctx;
	call.rec.dst_key_arn = darn;
	if (e)
		goto end_call;
	e = lk_unwrap(kms, src_key_id, src_ctx, src, &pt, &k, st);
	if (k)
		lk_key_arn(k, call.arn, sizeof(call.arn));
	if (e)
		goto free_plaintext;
	e = lk_resolve(kms, dst_key_id ? dst_key_id : "", USE_CRYPTO, mode == LK_CREATE, &dk, st);
	if (e)
		goto free_plaintext;
	lk_key_arn(dk, darn, sizeof(darn));
	e = lk_usable(dk, st);
	if (e)
		goto free_plaintext;
	e = lk_wrap(call.p, dk, dst_ctx, pt->data, pt->len, dst, st);
free_plaintext:
	aur_secret_free(pt);
end_call:
	e = lk_call_end(&call, e);
	if (!e && dst_arn_out)
		aur_strcpy(dst_arn_out, AUR_ARN_MAX, darn);
	return e;
}

static aur_kerr l_encrypt(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
			  const struct aur_secret *plaintext, struct aur_blob *wrapped,
			  char *out_arn, struct aur_kms_status *st)
{
	struct lk_call call;
	struct lkey *k;
	aur_kerr e;

	e = lk_call_begin(&call, kms, "Encrypt", key_id, LK_READ, st);
	call.rec.ctx = ctx;
	if (e)
		goto end_call;
	if (!key_id || !*key_id) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: KeyId is required");
		goto end_call;
	}
	if (plaintext->len == 0 || plaintext->len > AUR_DATA_KEY_MAX) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
				 "ValidationException: Plaintext must be 1..1024 bytes");
		goto end_call;
	}
	e = lk_resolve(kms, key_id, USE_CRYPTO, false, &k, st);
	if (e)
		goto end_call;
	lk_key_arn(k, call.arn, sizeof(call.arn));
	e = lk_usable(k, st);
	if (e)
		goto end_call;
	e = lk_wrap(call.p, k, ctx, plaintext->data, plaintext->len, wrapped, st);
end_call:
	e = lk_call_end(&call, e);
	if (!e && out_arn)
		aur_strcpy(out_arn, AUR_ARN_MAX, call.arn);
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
		lk_ks_free(&p->ks);
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
	.encrypt = l_encrypt,
	.identity = lk_identity,
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
	aur_strcpy(kms->account, sizeof(kms->account), o->account);
	aur_strcpy(kms->region, sizeof(kms->region), o->region);
	if (aur_strcpy(p->dir, sizeof(p->dir), o->keystore) ||
	    aur_snprintf(p->file, sizeof(p->file), "%s/keystore.json", o->keystore) ||
	    aur_snprintf(p->master, sizeof(p->master), "%s/master.key", o->keystore) ||
	    aur_snprintf(p->audit, sizeof(p->audit), "%s/audit.log", o->keystore) ||
	    aur_snprintf(p->lock, sizeof(p->lock), "%s/.lock", o->keystore)) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "keystore path too long");
		l_destroy(kms);
		return -ENAMETOOLONG;
	}
	/* Nothing is created here: a writing call creates the keystore. */
	if (stat(p->dir, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    ((sb.st_mode & 077) || sb.st_uid != geteuid())) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0,
		     "keystore %s must be owned by uid %u with mode 0700 (is %04o)",
		     p->dir, (unsigned)geteuid(), (unsigned)(sb.st_mode & 07777));
		l_destroy(kms);
		return -EPERM;
	}
	*out = kms;
	return 0;
}

