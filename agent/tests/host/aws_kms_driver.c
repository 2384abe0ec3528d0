// SPDX-License-Identifier: GPL-2.0
/*
 * Test driver for the aws-kms-*.py host tests: one KMS operation through
 * agent/lib/kms_aws.c, result on stdout as "key=value" tokens.
 *
 *   aws_kms_driver [-o name=value]... describe KEY
 *   aws_kms_driver [-o ...] generate KEY NBYTES CTX OUT_BLOB
 *   aws_kms_driver [-o ...] decrypt KEY|- CTX IN_BLOB
 *   aws_kms_driver [-o ...] reencrypt SRCKEY|- SRCCTX IN_BLOB DSTKEY DSTCTX OUT_BLOB
 *   aws_kms_driver [-o ...] encrypt SRCCTX IN_BLOB DSTKEY DSTCTX OUT_BLOB
 *       (Decrypt IN_BLOB, then Encrypt its plaintext under DSTKEY: aurora copy)
 *   aws_kms_driver [-o ...] via-config CONFIG_REGION CONFIG_ENDPOINT describe KEY
 *   aws_kms_driver [-o ...] describe-n N KEY    (N calls, one provider: "ok=<n OK>")
 *
 * -o sets an aur_kms_aws_config option by name.  CTX is "k=v,k=v" or "-".
 * The plaintext is printed in hex: test keys only, never a real one.
 * Exit status 0 when the operation succeeded, 3 when it failed, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "kms/kms.h"
#include "kms/aws/kms_aws.h"

static int parse_ctx(const char *s, struct aur_enc_ctx *ctx)
{
	char buf[1024], *save = NULL, *tok;

	memset(ctx, 0, sizeof(*ctx));
	if (!strcmp(s, "-"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			return -1;
		*eq = 0;
		if (aur_enc_ctx_set(ctx, tok, eq + 1))
			return -1;
	}
	return 0;
}

static int read_blob(const char *path, struct aur_blob *b)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	b->len = fread(b->data, 1, sizeof(b->data), f);
	fclose(f);
	return b->len ? 0 : -1;
}

static int write_blob(const char *path, const struct aur_blob *b)
{
	FILE *f = fopen(path, "wb");
	int r;

	if (!f)
		return -1;
	r = fwrite(b->data, 1, b->len, f) == b->len ? 0 : -1;
	return fclose(f) ? -1 : r;
}

static void print_status(struct aur_kms *kms, enum aur_kms_err e,
			 const struct aur_kms_status *st)
{
	printf("result=%s definitive=%d transient=%d attempts=%u http=%d\n",
	       e == AUR_KMS_OK ? "OK" : aur_kms_err_name(e),
	       aur_kms_err_is_definitive(e), aur_kms_err_is_transient(e),
	       aur_kms_aws_last_attempts(kms), st->http_status);
	if (e != AUR_KMS_OK)
		printf("message=%s\n", st->message);
}

static void print_secret(const struct aur_secret *s)
{
	printf("plaintext=");
	for (size_t i = 0; s && i < s->len; i++)
		printf("%02x", s->data[i]);
	printf(" plaintext_len=%zu\n", s ? s->len : 0);
}

static int usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of aws_kms_driver.c\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct aur_kms_aws_config cfg;
	struct aur_kms_status st = { 0 };
	struct aur_kms *kms = NULL;
	enum aur_kms_err e;
	int i = 1, rc;
	const char *op;

	aur_kms_aws_config_init(&cfg);
	while (i + 1 < argc && !strcmp(argv[i], "-o")) {
		char *eq = strchr(argv[i + 1], '=');

		if (!eq)
			return usage();
		*eq = 0;
		if (aur_kms_aws_config_set(&cfg, argv[i + 1], eq + 1)) {
			fprintf(stderr, "bad option %s\n", argv[i + 1]);
			return 2;
		}
		i += 2;
	}
	if (i >= argc)
		return usage();
	op = argv[i++];
	if (!strcmp(op, "via-config")) {
		/* Through config.h's entry point, as aur_kms_open() calls it. */
		struct aur_config c;
		int r;

		if (i + 2 > argc)
			return usage();
		memset(&c, 0, sizeof(c));
		snprintf(c.provider, sizeof(c.provider), "aws");
		snprintf(c.account, sizeof(c.account), "123456789012");
		snprintf(c.region, sizeof(c.region), "%s", argv[i++]);
		snprintf(c.endpoint, sizeof(c.endpoint), "%s", argv[i++]);
		c.connect_timeout = 2;
		c.timeout = 5;
		r = aur_kms_aws_new(&c, &kms, &st);
		if (r) {
			printf("result=%s new=%d\nmessage=%s\n", aur_kms_err_name(st.code),
			       r, st.message);
			return 3;
		}
		if (i >= argc)
			return usage();
		op = argv[i++];
	} else {
		e = aur_kms_aws_create(&kms, &cfg, &st);
		if (e) {
			printf("result=%s new=1\nmessage=%s\n", aur_kms_err_name(e), st.message);
			return 3;
		}
	}
	printf("endpoint=%s region=%s account=%s provider=%s\n",
	       aur_kms_aws_endpoint(kms), kms->region, kms->account, kms->ops->name);

	if (!strcmp(op, "describe") && i + 1 == argc) {
		struct aur_kms_key_info info;

		e = kms->ops->describe_key(kms, argv[i], &info, &st);
		print_status(kms, e, &st);
		if (!e)
			printf("key_id=%s arn=%s account=%s region=%s state=%s enabled=%d "
			       "creation=%lld deletion=%lld\n", info.key_id, info.arn,
			       info.account, info.region, aur_key_state_name(info.state),
			       info.enabled, (long long)info.creation_date,
			       (long long)info.deletion_date);
	} else if (!strcmp(op, "describe-n") && i + 2 == argc) {
		struct aur_kms_key_info info;
		int nok = 0, cnt = atoi(argv[i]);

		e = AUR_KMS_OK;
		for (int k = 0; k < cnt; k++) {
			enum aur_kms_err e1 = kms->ops->describe_key(kms, argv[i + 1], &info, &st);

			if (e1 == AUR_KMS_OK)
				nok++;
			else
				e = e1;
		}
		print_status(kms, e, &st);
		printf("ok=%d\n", nok);
	} else if (!strcmp(op, "generate") && i + 4 == argc) {
		struct aur_enc_ctx ctx;
		struct aur_secret *pt = NULL;
		static struct aur_blob blob;
		char arn[AUR_ARN_MAX] = "";

		if (parse_ctx(argv[i + 2], &ctx))
			return usage();
		e = kms->ops->generate_data_key(kms, argv[i], &ctx,
						(size_t)atoi(argv[i + 1]), &pt, &blob,
						arn, &st);
		print_status(kms, e, &st);
		if (!e) {
			print_secret(pt);
			printf("arn=%s blob_len=%zu\n", arn, blob.len);
			if (write_blob(argv[i + 3], &blob))
				e = AUR_KMS_E_INTERNAL;
		}
		aur_secret_free(pt);
	} else if (!strcmp(op, "decrypt") && i + 3 == argc) {
		struct aur_enc_ctx ctx;
		struct aur_secret *pt = NULL;
		static struct aur_blob blob;
		char arn[AUR_ARN_MAX] = "";

		if (parse_ctx(argv[i + 1], &ctx) || read_blob(argv[i + 2], &blob))
			return usage();
		e = kms->ops->decrypt(kms, strcmp(argv[i], "-") ? argv[i] : NULL, &ctx,
				      &blob, &pt, arn, &st);
		print_status(kms, e, &st);
		if (!e) {
			print_secret(pt);
			printf("arn=%s\n", arn);
		}
		aur_secret_free(pt);
	} else if (!strcmp(op, "reencrypt") && i + 6 == argc) {
		struct aur_enc_ctx sctx, dctx;
		static struct aur_blob src, dst;
		char arn[AUR_ARN_MAX] = "";

		if (parse_ctx(argv[i + 1], &sctx) || parse_ctx(argv[i + 4], &dctx) ||
		    read_blob(argv[i + 2], &src))
			return usage();
		e = kms->ops->re_encrypt(kms, strcmp(argv[i], "-") ? argv[i] : NULL,
					 &sctx, &src, argv[i + 3], &dctx, &dst, arn, &st);
		print_status(kms, e, &st);
		if (!e) {
			printf("arn=%s blob_len=%zu\n", arn, dst.len);
			if (write_blob(argv[i + 5], &dst))
				e = AUR_KMS_E_INTERNAL;
		}
	} else if (!strcmp(op, "encrypt") && i + 5 == argc) {
		struct aur_enc_ctx sctx, dctx;
		struct aur_secret *pt = NULL;
		static struct aur_blob src, dst;
		char arn[AUR_ARN_MAX] = "";

		if (parse_ctx(argv[i], &sctx) || parse_ctx(argv[i + 3], &dctx) ||
		    read_blob(argv[i + 1], &src))
			return usage();
		e = kms->ops->decrypt(kms, NULL, &sctx, &src, &pt, NULL, &st);
		if (!e)
			e = aur_kms_encrypt(kms, argv[i + 2], &dctx, pt, &dst, arn, &st);
		aur_secret_free(pt);
		print_status(kms, e, &st);
		if (!e) {
			printf("arn=%s blob_len=%zu\n", arn, dst.len);
			if (write_blob(argv[i + 4], &dst))
				e = AUR_KMS_E_INTERNAL;
		}
	} else {
		aur_kms_destroy(kms);
		return usage();
	}
	rc = e == AUR_KMS_OK ? 0 : 3;
	aur_kms_destroy(kms);
	return rc;
}
