/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the KMS provider interface.
 *
 * Every provider (the embedded local keystore, the AWS KMS wire protocol)
 * implements struct aur_kms_ops.  Everything above this interface (format,
 * open, the watching agent) sees only these calls and these error kinds.
 *
 * The one rule the watching agent relies on: aur_kms_err_is_definitive() is
 * true only for answers that mean "access to this CMK is lost" or "this
 * ciphertext can never be unwrapped"; timeouts, throttling, 5xx, malformed
 * replies and local failures are never definitive.
 */
#ifndef AURORA_KMS_H
#define AURORA_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/secmem.h"

enum aur_kms_err {
	AUR_KMS_OK = 0,
	/* Definitive: the KMS answered, and the answer is "no". */
	AUR_KMS_E_NOT_FOUND,		/* NotFoundException */
	AUR_KMS_E_DISABLED,		/* DisabledException */
	AUR_KMS_E_INVALID_STATE,	/* KMSInvalidStateException */
	AUR_KMS_E_ACCESS_DENIED,	/* AccessDeniedException */
	AUR_KMS_E_INCORRECT_KEY,	/* IncorrectKeyException */
	AUR_KMS_E_INVALID_CIPHERTEXT,	/* InvalidCiphertextException */
	/* The request itself is wrong (ValidationException, bad key id...). */
	AUR_KMS_E_INVALID_ARG,
	/* Transient: retry later, never a revocation. */
	AUR_KMS_E_THROTTLED,		/* ThrottlingException, 429 */
	AUR_KMS_E_UNAVAILABLE,		/* network, timeout, 5xx,
					 * DependencyTimeoutException,
					 * KMSInternalException */
	AUR_KMS_E_PROTOCOL,		/* malformed or truncated reply */
	AUR_KMS_E_INTERNAL,		/* local failure: memory, I/O */
};

/* Name as AWS spells it ("DisabledException"), or ours for local kinds. */
const char *aur_kms_err_name(enum aur_kms_err e);
/* Map an AWS "__type" (with or without "namespace#") to a kind. */
enum aur_kms_err aur_kms_err_from_type(const char *aws_type);
bool aur_kms_err_is_definitive(enum aur_kms_err e);
bool aur_kms_err_is_transient(enum aur_kms_err e);

/* Detail of the last failure of a call: code plus a human message. */
struct aur_kms_status {
	enum aur_kms_err code;
	int http_status;		/* 0 when not HTTP */
	char message[256];
};

/*
 * Set @st (may be NULL) to failure @code with a message, and return @code.
 * The message says what went wrong, never which operation: the operation
 * and the error name are prefixed once, by aur_error_from_kms() (volume.h).
 * @http_status: the HTTP status of the reply, 0 when none.
 */
enum aur_kms_err aur_kms_fail(struct aur_kms_status *st, enum aur_kms_err code,
			      long http_status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Set @st (may be NULL) to success; http_status is left as it is. */
void aur_kms_ok(struct aur_kms_status *st);

/* AWS key states, as DescribeKey names them. */
enum aur_key_state {
	AUR_KEY_ENABLED = 0,
	AUR_KEY_DISABLED,
	AUR_KEY_PENDING_DELETION,
	AUR_KEY_PENDING_IMPORT,
	AUR_KEY_UNAVAILABLE,
	AUR_KEY_CREATING,
	AUR_KEY_UPDATING,
	AUR_KEY_DELETED,		/* local only: material destroyed */
	AUR_KEY_STATE_UNKNOWN,
};
const char *aur_key_state_name(enum aur_key_state s);
enum aur_key_state aur_key_state_from_name(const char *name);

#define AUR_KEY_ID_MAX		64
#define AUR_ARN_MAX		256
#define AUR_ACCOUNT_MAX		16
#define AUR_REGION_MAX		32

struct aur_kms_key_info {
	char key_id[AUR_KEY_ID_MAX];
	char arn[AUR_ARN_MAX];
	char account[AUR_ACCOUNT_MAX];
	char region[AUR_REGION_MAX];
	enum aur_key_state state;
	bool enabled;
	int64_t creation_date;		/* seconds since the epoch */
	int64_t deletion_date;		/* 0 unless PendingDeletion */
	char description[256];
};

/* Encryption context: a small set of string pairs, order irrelevant. */
#define AUR_ENC_CTX_MAX		8
#define AUR_ENC_CTX_STR_MAX	128
struct aur_enc_ctx {
	size_t n;
	struct {
		char key[AUR_ENC_CTX_STR_MAX];
		char value[AUR_ENC_CTX_STR_MAX];
	} kv[AUR_ENC_CTX_MAX];
};
int aur_enc_ctx_set(struct aur_enc_ctx *ctx, const char *key, const char *value);
const char *aur_enc_ctx_get(const struct aur_enc_ctx *ctx, const char *key);
bool aur_enc_ctx_equal(const struct aur_enc_ctx *a, const struct aur_enc_ctx *b);

/* A wrapped (KMS-encrypted) blob: not secret, plain heap memory. */
#define AUR_BLOB_MAX		6144
struct aur_blob {
	size_t len;
	uint8_t data[AUR_BLOB_MAX];
};

struct aur_kms;

struct aur_kms_ops {
	const char *name;		/* "local", "aws" */
	/*
	 * DescribeKey.  key_id: id, ARN, alias name or alias ARN.
	 */
	enum aur_kms_err (*describe_key)(struct aur_kms *kms, const char *key_id,
					 struct aur_kms_key_info *info,
					 struct aur_kms_status *st);
	/*
	 * GenerateDataKey: a fresh secret of @nbytes in *@plaintext (secmem,
	 * caller frees with aur_secret_free) and its wrapped form.  @key_arn
	 * (AUR_ARN_MAX) receives the ARN of the CMK that wrapped it.
	 */
	enum aur_kms_err (*generate_data_key)(struct aur_kms *kms, const char *key_id,
					      const struct aur_enc_ctx *ctx, size_t nbytes,
					      struct aur_secret **plaintext,
					      struct aur_blob *wrapped, char *key_arn,
					      struct aur_kms_status *st);
	/*
	 * Decrypt.  @key_id may be NULL (taken from the blob) or a CMK that
	 * must match the blob's (else IncorrectKeyException).
	 */
	enum aur_kms_err (*decrypt)(struct aur_kms *kms, const char *key_id,
				    const struct aur_enc_ctx *ctx,
				    const struct aur_blob *wrapped,
				    struct aur_secret **plaintext, char *key_arn,
				    struct aur_kms_status *st);
	/* ReEncrypt: unwrap under src, wrap under dst, without the caller seeing it. */
	enum aur_kms_err (*re_encrypt)(struct aur_kms *kms,
				       const char *src_key_id,
				       const struct aur_enc_ctx *src_ctx,
				       const struct aur_blob *src,
				       const char *dst_key_id,
				       const struct aur_enc_ctx *dst_ctx,
				       struct aur_blob *dst, char *dst_key_arn,
				       struct aur_kms_status *st);
	void (*destroy)(struct aur_kms *kms);
};

struct aur_kms {
	const struct aur_kms_ops *ops;
	char account[AUR_ACCOUNT_MAX];	/* caller's account */
	char region[AUR_REGION_MAX];	/* caller's region */
	void *priv;
};

/* The provider's calls, for callers that do not see struct aur_kms_ops. */
enum aur_kms_err aur_kms_describe_key(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_key_info *info, struct aur_kms_status *st);
enum aur_kms_err aur_kms_generate_data_key(struct aur_kms *kms, const char *key_id,
					   const struct aur_enc_ctx *ctx, size_t nbytes,
					   struct aur_secret **plaintext, struct aur_blob *wrapped,
					   char *key_arn, struct aur_kms_status *st);
enum aur_kms_err aur_kms_decrypt(struct aur_kms *kms, const char *key_id,
				 const struct aur_enc_ctx *ctx, const struct aur_blob *wrapped,
				 struct aur_secret **plaintext, char *key_arn,
				 struct aur_kms_status *st);
enum aur_kms_err aur_kms_re_encrypt(struct aur_kms *kms, const char *src_key_id,
				    const struct aur_enc_ctx *src_ctx, const struct aur_blob *src,
				    const char *dst_key_id, const struct aur_enc_ctx *dst_ctx,
				    struct aur_blob *dst, char *dst_key_arn,
				    struct aur_kms_status *st);
/* "local", "aws". */
const char *aur_kms_provider_name(const struct aur_kms *kms);
/* Free @kms (NULL is fine). */
void aur_kms_destroy(struct aur_kms *kms);

#endif /* AURORA_KMS_H */
