// SPDX-License-Identifier: GPL-2.0
/*
 * Test driver for aws-kms-cli.py: the header path of `aurora open` through
 * the configured provider, without device-mapper.
 *
 *   aws_volume_driver CONFIG IMAGE check    DescribeKey + trial Decrypt
 *                                            (aur_volume_check_cmk)
 *   aws_volume_driver CONFIG IMAGE unwrap   Decrypt the header's DEK
 *
 * The provider comes from CONFIG through aur_config_load()/aur_kms_open(),
 * as the CLI does.  Prints key=value tokens; the DEK in hex (test keys
 * only).  Exit 0 on success, 3 on a KMS failure, 2 on setup errors.
 */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "volume/header.h"
#include "kms/kms.h"
#include "volume/volume.h"

int main(int argc, char **argv)
{
	struct aur_config cfg;
	struct aur_kms_status st;
	struct aur_kms *kms = NULL;
	static struct aur_hdr_read r;
	struct aur_error err = { 0 };
	char msg[256];
	int rc = 2;

	if (argc != 4)
		return 2;
	if (aur_config_load(&cfg, argv[1], msg, sizeof(msg))) {
		fprintf(stderr, "config: %s\n", msg);
		return 2;
	}
	if (aur_kms_open(&cfg, &kms, &st)) {
		printf("result=%s open=1\nmessage=%s\n", aur_kms_err_name(st.code), st.message);
		return 2;
	}
	if (aur_volume_read_header(argv[2], &r, &err)) {
		fprintf(stderr, "header: %s\n", err.msg);
		aur_kms_destroy(kms);
		return 2;
	}
	printf("provider=%s hdr_provider=%s cmk_arn=%s cmk_region=%s uuid=%s\n",
	       kms->ops->name, r.hdr.provider, r.hdr.cmk_arn, r.hdr.cmk_region, r.hdr.uuid);
	if (!strcmp(argv[3], "check")) {
		struct aur_cmk_check c;

		aur_volume_check_cmk(kms, &r.hdr, &c);
		printf("verdict=%s kms_err=%s reason=%s\n",
		       c.verdict == AUR_CMK_OK ? "OK" : c.verdict == AUR_CMK_LOST ? "LOST" :
		       "TRANSIENT", aur_kms_err_name(c.kms_err), c.reason[0] ? c.reason : "-");
		rc = c.verdict == AUR_CMK_OK ? 0 : 3;
	} else if (!strcmp(argv[3], "unwrap")) {
		struct aur_secret *pt = NULL;
		char arn[AUR_ARN_MAX] = "";
		enum aur_kms_err e;

		printf("wrapped=");
		for (size_t i = 0; i < r.hdr.wrapped_dek.len; i++)
			printf("%02x", r.hdr.wrapped_dek.data[i]);
		printf("\n");
		for (size_t i = 0; i < r.hdr.ctx.n; i++)
			printf("ctx=%s=%s\n", r.hdr.ctx.kv[i].key, r.hdr.ctx.kv[i].value);
		e = kms->ops->decrypt(kms, r.hdr.cmk_arn, &r.hdr.ctx, &r.hdr.wrapped_dek,
				      &pt, arn, &st);
		printf("result=%s arn=%s\n", e ? aur_kms_err_name(e) : "OK", arn);
		if (!e) {
			printf("plaintext=");
			for (size_t i = 0; i < pt->len; i++)
				printf("%02x", pt->data[i]);
			printf(" plaintext_len=%zu\n", pt->len);
		}
		aur_secret_free(pt);
		rc = e ? 3 : 0;
	}
	aur_hdr_free(&r.hdr);
	aur_kms_destroy(kms);
	return rc;
}
