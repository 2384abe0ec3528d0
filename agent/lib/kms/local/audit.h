/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: CloudTrail-like audit records of KMS use.
 *
 * One JSON object per line, appended with a single write(2) to
 * <keystore>/audit.log (0600):
 *   {"eventTime":"2026-11-29T23:18:40Z","eventSource":"aurora-kms-local",
 *    "eventName":"Decrypt","callerAccount":"111122223333","region":"us-east-1",
 *    "requestKeyId":"alias/x","keyArn":"arn:aws:kms:...","encryptionContext":{...},
 *    "outcome":"Failure","errorCode":"DisabledException","errorMessage":"...","pid":123}
 * Never key material, plaintext or wrapped blobs.
 */
#ifndef AURORA_AUDIT_H
#define AURORA_AUDIT_H

#include "kms/kms.h"

struct aur_audit_rec {
	const char *operation;		/* AWS name: "GenerateDataKey" */
	const char *caller_account;
	const char *region;
	const char *request_key_id;	/* as the caller named it, may be NULL */
	const char *key_arn;		/* resolved, may be NULL */
	const struct aur_enc_ctx *ctx;	/* may be NULL */
	const char *dst_key_arn;	/* ReEncrypt */
	const struct aur_enc_ctx *dst_ctx;
	const char *detail;		/* e.g. "alias/x", "PendingWindowInDays=7" */
	enum aur_kms_err result;
	const char *message;		/* error message, may be NULL */
};

/* Append one record to @path; returns 0 or -errno. */
int aur_audit_append(const char *path, const struct aur_audit_rec *rec, int64_t now);

#endif /* AURORA_AUDIT_H */
