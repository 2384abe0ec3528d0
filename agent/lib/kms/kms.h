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

#include "aurora/aurora.h"
#include "util/secmem.h"

/* Map an AWS "__type" (with or without "namespace#") to a kind. */
enum aur_kms_err aur_kms_err_from_type(const char *aws_type);
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
	/*
	 * Encrypt: wrap @plaintext (a data key, secmem) under CMK @key_id with
	 * @ctx.  @key_arn (AUR_ARN_MAX, may be NULL) receives the CMK's ARN.
	 * Used across regions, where ReEncrypt cannot go (aurora copy).
	 */
	enum aur_kms_err (*encrypt)(struct aur_kms *kms, const char *key_id,
				    const struct aur_enc_ctx *ctx,
				    const struct aur_secret *plaintext,
				    struct aur_blob *wrapped, char *key_arn,
				    struct aur_kms_status *st);
	/*
	 * Identity of the key store (see aur_kms_identity() in aurora.h):
	 * reads only, never creates.  NULL: the provider has none ("").
	 */
	enum aur_kms_err (*identity)(struct aur_kms *kms, char *out, size_t len,
				     struct aur_kms_status *st);
};

struct aur_kms {
	const struct aur_kms_ops *ops;
	char account[AUR_ACCOUNT_MAX];	/* caller's account */
	char region[AUR_REGION_MAX];	/* caller's region */
	void *priv;
};

#endif /* AURORA_KMS_H */
