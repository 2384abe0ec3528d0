// SPDX-License-Identifier: GPL-2.0
/* aurora: KMS error classification, key states, encryption contexts. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kms/kms.h"

static const struct {
	enum aur_kms_err e;
	const char *name;
} err_names[] = {
	{ AUR_KMS_OK, "Success" },
	{ AUR_KMS_E_NOT_FOUND, "NotFoundException" },
	{ AUR_KMS_E_DISABLED, "DisabledException" },
	{ AUR_KMS_E_INVALID_STATE, "KMSInvalidStateException" },
	{ AUR_KMS_E_ACCESS_DENIED, "AccessDeniedException" },
	{ AUR_KMS_E_INCORRECT_KEY, "IncorrectKeyException" },
	{ AUR_KMS_E_INVALID_CIPHERTEXT, "InvalidCiphertextException" },
	{ AUR_KMS_E_INVALID_ARG, "ValidationException" },
	{ AUR_KMS_E_THROTTLED, "ThrottlingException" },
	{ AUR_KMS_E_UNAVAILABLE, "ServiceUnavailable" },
	{ AUR_KMS_E_PROTOCOL, "ProtocolError" },
	{ AUR_KMS_E_INTERNAL, "InternalError" },
	{ AUR_KMS_E_CONFIG, "ConfigError" },
	{ AUR_KMS_E_CREDENTIALS, "CredentialsError" },
};

const char *aur_kms_err_name(enum aur_kms_err e)
{
	size_t i;

	for (i = 0; i < sizeof(err_names) / sizeof(err_names[0]); i++)
		if (err_names[i].e == e)
			return err_names[i].name;
	return "UnknownError";
}

/* AWS error types beyond the ones named above. */
static const struct {
	const char *type;
	enum aur_kms_err e;
} aws_types[] = {
	{ "NotFoundException", AUR_KMS_E_NOT_FOUND },
	{ "DisabledException", AUR_KMS_E_DISABLED },
	{ "KMSInvalidStateException", AUR_KMS_E_INVALID_STATE },
	{ "AccessDeniedException", AUR_KMS_E_ACCESS_DENIED },
	{ "IncorrectKeyException", AUR_KMS_E_INCORRECT_KEY },
	{ "InvalidCiphertextException", AUR_KMS_E_INVALID_CIPHERTEXT },
	{ "ValidationException", AUR_KMS_E_INVALID_ARG },
	{ "InvalidKeyUsageException", AUR_KMS_E_INVALID_ARG },
	{ "InvalidArnException", AUR_KMS_E_INVALID_ARG },
	{ "InvalidGrantTokenException", AUR_KMS_E_INVALID_ARG },
	{ "InvalidAliasNameException", AUR_KMS_E_INVALID_ARG },
	{ "AlreadyExistsException", AUR_KMS_E_INVALID_ARG },
	{ "LimitExceededException", AUR_KMS_E_THROTTLED },
	{ "ThrottlingException", AUR_KMS_E_THROTTLED },
	{ "TooManyRequestsException", AUR_KMS_E_THROTTLED },
	{ "RequestLimitExceeded", AUR_KMS_E_THROTTLED },
	{ "DependencyTimeoutException", AUR_KMS_E_UNAVAILABLE },
	{ "KMSInternalException", AUR_KMS_E_UNAVAILABLE },
	{ "ServiceUnavailableException", AUR_KMS_E_UNAVAILABLE },
	{ "InternalFailure", AUR_KMS_E_UNAVAILABLE },
	{ "ServiceUnavailable", AUR_KMS_E_UNAVAILABLE },
	/*
	 * An authentication failure is the caller's credentials, not the
	 * CMK: never a revocation of the key, never a verdict.
	 */
	{ "UnrecognizedClientException", AUR_KMS_E_CREDENTIALS },
	{ "InvalidSignatureException", AUR_KMS_E_CREDENTIALS },
	{ "SignatureDoesNotMatch", AUR_KMS_E_CREDENTIALS },
	{ "InvalidClientTokenId", AUR_KMS_E_CREDENTIALS },
	{ "InvalidAccessKeyId", AUR_KMS_E_CREDENTIALS },
	{ "ExpiredTokenException", AUR_KMS_E_CREDENTIALS },
	{ "ExpiredToken", AUR_KMS_E_CREDENTIALS },
	{ "RequestExpired", AUR_KMS_E_CREDENTIALS },
	{ "IncompleteSignature", AUR_KMS_E_CREDENTIALS },
	{ "IncompleteSignatureException", AUR_KMS_E_CREDENTIALS },
	{ "MissingAuthenticationToken", AUR_KMS_E_CREDENTIALS },
	{ "MissingAuthenticationTokenException", AUR_KMS_E_CREDENTIALS },
	{ "AuthFailure", AUR_KMS_E_CREDENTIALS },
};

enum aur_kms_err aur_kms_err_from_type(const char *aws_type)
{
	const char *t;
	size_t i;

	if (!aws_type || !*aws_type)
		return AUR_KMS_E_PROTOCOL;
	t = strrchr(aws_type, '#');
	t = t ? t + 1 : aws_type;
	for (i = 0; i < sizeof(aws_types) / sizeof(aws_types[0]); i++)
		if (strcmp(aws_types[i].type, t) == 0)
			return aws_types[i].e;
	/* An answer we cannot classify is never taken as loss of the key. */
	return AUR_KMS_E_PROTOCOL;
}

bool aur_kms_err_is_definitive(enum aur_kms_err e)
{
	switch (e) {
	case AUR_KMS_E_NOT_FOUND:
	case AUR_KMS_E_DISABLED:
	case AUR_KMS_E_INVALID_STATE:
	case AUR_KMS_E_ACCESS_DENIED:
	case AUR_KMS_E_INCORRECT_KEY:
	case AUR_KMS_E_INVALID_CIPHERTEXT:
		return true;
	default:
		return false;
	}
}

bool aur_kms_err_is_transient(enum aur_kms_err e)
{
	switch (e) {
	case AUR_KMS_E_THROTTLED:
	case AUR_KMS_E_UNAVAILABLE:
	case AUR_KMS_E_PROTOCOL:
	case AUR_KMS_E_INTERNAL:
		return true;
	default:
		return false;
	}
}

static const char *const state_names[] = {
	[AUR_KEY_ENABLED] = "Enabled",
	[AUR_KEY_DISABLED] = "Disabled",
	[AUR_KEY_PENDING_DELETION] = "PendingDeletion",
	[AUR_KEY_PENDING_IMPORT] = "PendingImport",
	[AUR_KEY_UNAVAILABLE] = "Unavailable",
	[AUR_KEY_CREATING] = "Creating",
	[AUR_KEY_UPDATING] = "Updating",
	[AUR_KEY_DELETED] = "Deleted",
	[AUR_KEY_STATE_UNKNOWN] = "Unknown",
};

const char *aur_key_state_name(enum aur_key_state s)
{
	if ((unsigned)s > AUR_KEY_STATE_UNKNOWN)
		return "Unknown";
	return state_names[s];
}

enum aur_key_state aur_key_state_from_name(const char *name)
{
	int i;

	if (!name)
		return AUR_KEY_STATE_UNKNOWN;
	for (i = 0; i < AUR_KEY_STATE_UNKNOWN; i++)
		if (strcmp(state_names[i], name) == 0)
			return (enum aur_key_state)i;
	return AUR_KEY_STATE_UNKNOWN;
}

int aur_enc_ctx_set(struct aur_enc_ctx *ctx, const char *key, const char *value)
{
	size_t i;

	if (!key || !value || !*key || strlen(key) >= AUR_ENC_CTX_STR_MAX ||
	    strlen(value) >= AUR_ENC_CTX_STR_MAX)
		return -EINVAL;
	for (i = 0; i < ctx->n; i++) {
		if (strcmp(ctx->kv[i].key, key) == 0) {
			snprintf(ctx->kv[i].value, sizeof(ctx->kv[i].value), "%s", value);
			return 0;
		}
	}
	if (ctx->n >= AUR_ENC_CTX_MAX)
		return -ENOSPC;
	snprintf(ctx->kv[ctx->n].key, sizeof(ctx->kv[ctx->n].key), "%s", key);
	snprintf(ctx->kv[ctx->n].value, sizeof(ctx->kv[ctx->n].value), "%s", value);
	ctx->n++;
	return 0;
}

const char *aur_enc_ctx_get(const struct aur_enc_ctx *ctx, const char *key)
{
	size_t i;

	for (i = 0; ctx && i < ctx->n && i < AUR_ENC_CTX_MAX; i++)
		if (strcmp(ctx->kv[i].key, key) == 0)
			return ctx->kv[i].value;
	return NULL;
}

bool aur_enc_ctx_equal(const struct aur_enc_ctx *a, const struct aur_enc_ctx *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0, i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		const char *v = aur_enc_ctx_get(b, a->kv[i].key);

		if (!v || strcmp(v, a->kv[i].value) != 0)
			return false;
	}
	return true;
}

enum aur_kms_err aur_kms_fail(struct aur_kms_status *st, enum aur_kms_err code,
			      long http_status, const char *fmt, ...)
{
	va_list ap;

	if (!st)
		return code;
	st->code = code;
	st->http_status = (int)http_status;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	return code;
}

void aur_kms_ok(struct aur_kms_status *st)
{
	if (st) {
		st->code = AUR_KMS_OK;
		st->message[0] = '\0';
	}
}

enum aur_kms_err aur_kms_describe_key(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	return kms->ops->describe_key(kms, key_id, info, st);
}

enum aur_kms_err aur_kms_generate_data_key(struct aur_kms *kms, const char *key_id,
					   const struct aur_enc_ctx *ctx, size_t nbytes,
					   struct aur_secret **plaintext, struct aur_blob *wrapped,
					   char *key_arn, struct aur_kms_status *st)
{
	return kms->ops->generate_data_key(kms, key_id, ctx, nbytes, plaintext, wrapped,
					   key_arn, st);
}

enum aur_kms_err aur_kms_decrypt(struct aur_kms *kms, const char *key_id,
				 const struct aur_enc_ctx *ctx, const struct aur_blob *wrapped,
				 struct aur_secret **plaintext, char *key_arn,
				 struct aur_kms_status *st)
{
	return kms->ops->decrypt(kms, key_id, ctx, wrapped, plaintext, key_arn, st);
}

enum aur_kms_err aur_kms_re_encrypt(struct aur_kms *kms, const char *src_key_id,
				    const struct aur_enc_ctx *src_ctx, const struct aur_blob *src,
				    const char *dst_key_id, const struct aur_enc_ctx *dst_ctx,
				    struct aur_blob *dst, char *dst_key_arn,
				    struct aur_kms_status *st)
{
	return kms->ops->re_encrypt(kms, src_key_id, src_ctx, src, dst_key_id, dst_ctx, dst,
				    dst_key_arn, st);
}

enum aur_kms_err aur_kms_encrypt(struct aur_kms *kms, const char *key_id,
				 const struct aur_enc_ctx *ctx, const struct aur_secret *plaintext,
				 struct aur_blob *wrapped, char *key_arn,
				 struct aur_kms_status *st)
{
	if (!kms->ops->encrypt)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "the %s provider has no Encrypt",
				    kms->ops->name);
	if (!plaintext || !plaintext->len || !wrapped)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "nothing to encrypt");
	return kms->ops->encrypt(kms, key_id, ctx, plaintext, wrapped, key_arn, st);
}

enum aur_kms_err aur_kms_identity(struct aur_kms *kms, char *out, size_t len,
				  struct aur_kms_status *st)
{
	if (!out || len < AUR_KEYSTORE_ID_MAX)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "identity buffer too small");
	out[0] = '\0';
	aur_kms_ok(st);
	if (!kms->ops->identity)
		return AUR_KMS_OK;
	return kms->ops->identity(kms, out, len, st);
}

const char *aur_kms_provider_name(const struct aur_kms *kms)
{
	return kms->ops->name;
}

void aur_kms_destroy(struct aur_kms *kms)
{
	if (kms && kms->ops && kms->ops->destroy)
		kms->ops->destroy(kms);
}
