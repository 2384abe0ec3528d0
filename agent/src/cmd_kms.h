/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora CLI: what the two halves of `aurora kms` share: cmd_kms.c (the
 * options, the operation table, the provider's data-key operations) and
 * cmd_kms_manage.c (the embedded KMS's management operations).
 */
#ifndef AURORA_CMD_KMS_H
#define AURORA_CMD_KMS_H

#include "cli.h"

/* The options of every operation (an operation ignores those it does not use). */
struct kargs {
	const char *key_id, *description, *alias, *target, *accounts, *grantee;
	const char *blob_b64, *blob_file, *ctx, *src_key, *src_ctx, *dst_key, *dst_ctx;
	const char *plaintext_out, *key_spec;
	uint64_t days, nbytes, period;
	bool have_days, have_nbytes, have_period;
	/* export-keystore / import-keystore */
	const char *file;
	int pass_fd;
	bool have_pass_fd, force;
	uint64_t pbkdf_memory, pbkdf_time, pbkdf_parallel;
};

/* Report a failed KMS call of @op: its exit code. */
int kms_cli_err(const char *op, const struct aur_kms_status *st);
/* Usage error unless option @what (value @v) was given: 0 or the exit code. */
int kms_cli_need(const char *op, const char *what, const char *v);
/* DescribeKey's KeyMetadata as JSON (new object) / as text on stdout. */
struct json_object *kms_cli_info_json(const struct aur_kms_key_info *i);
void kms_cli_print_info(const struct aur_kms_key_info *i);

/* The management operations (cmd_kms_manage.c): 0 or an exit code. */
int kms_op_create_key(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_list_keys(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_alias(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_list_aliases(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_key_state(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_schedule_deletion(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_enable_rotation(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_rotate(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_policy(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_access(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_export_keystore(struct aur_kms *kms, const char *op, struct kargs *a);
int kms_op_import_keystore(struct aur_kms *kms, const char *op, struct kargs *a);

#endif /* AURORA_CMD_KMS_H */
