// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: an embedded keystore that is not there (never initialised,
 * or its filesystem not mounted) is a configuration error, never a revoked
 * CMK: lookups answer ConfigError (neither definitive nor a verdict) with a
 * message naming the keystore, so the watching agent keeps volumes active.
 * Flat KTAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kms/local/kms_local.h"
#include "util/util.h"
#include "ktap.h"

static struct aur_kms *open_ks(const char *dir)
{
	struct aur_kms_local_opts o = { .keystore = dir, .account = "111122223333",
					.region = "eu-west-1" };
	struct aur_kms_status st;
	struct aur_kms *kms = NULL;

	if (aur_kms_local_new(&o, &kms, &st))
		printf("# open %s: %s\n", dir, st.message);
	return kms;
}

int main(void)
{
	char base[] = "/tmp/aurora-test-unmounted-XXXXXX", ks[64], away[64], cmd[256];
	struct aur_kms_key_info info;
	struct aur_kms_status st;
	struct aur_secret *pt = NULL;
	struct aur_enc_ctx ctx;
	struct aur_blob *w;
	struct aur_kms_key_info created;
	char arn[AUR_ARN_MAX];
	const char *key_id = created.key_id;
	struct aur_kms *kms;
	enum aur_kms_err e;

	aur_log_init("test_kms_local_unmounted", false, AUR_LOG_ERR);
	w = calloc(1, sizeof(*w));
	if (!w || !mkdtemp(base))
		return 1;
	snprintf(ks, sizeof(ks), "%s/ks", base);
	snprintf(away, sizeof(away), "%s/ks.away", base);
	memset(&ctx, 0, sizeof(ctx));
	aur_enc_ctx_set(&ctx, "aurora:volume-uuid", "0b6e1c0a-1111-4222-8333-944445555666");

	kms = open_ks(ks);
	ok(kms != NULL, "a fresh keystore opens");
	memset(&created, 0, sizeof(created));
	e = kms ? aur_kms_local_create_key(kms, "t", &created, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK && key_id[0], "a CMK is created");
	e = kms ? kms->ops->generate_data_key(kms, key_id, &ctx, 64, &pt, w, arn, &st) :
		  AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK && pt, "a data key is generated under it");
	aur_secret_free(pt);
	pt = NULL;
	aur_kms_destroy(kms);

	/* The keystore's filesystem goes away (an empty mount point stays). */
	if (rename(ks, away) != 0)
		return 1;
	kms = open_ks(ks);
	e = kms ? kms->ops->describe_key(kms, key_id, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG && !aur_kms_err_is_definitive(e) && strstr(st.message, ks) &&
	   strstr(st.message, "does not exist"),
	   "DescribeKey with the keystore missing: ConfigError naming it, not NotFoundException");
	e = kms ? kms->ops->decrypt(kms, NULL, &ctx, w, &pt, NULL, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG, "Decrypt with the keystore missing: ConfigError");
	aur_secret_free(pt);
	pt = NULL;
	e = kms ? kms->ops->describe_key(kms, "alias/some-alias", &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG, "an alias with the keystore missing: ConfigError");
	ok(access(ks, F_OK) != 0, "the reads created no keystore directory");
	aur_kms_destroy(kms);

	/* Mounted again: the same key answers. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mv '%s' '%s'", ks, away, ks);
	if (system(cmd) != 0)
		return 1;
	kms = open_ks(ks);
	e = kms ? kms->ops->decrypt(kms, NULL, &ctx, w, &pt, NULL, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK, "the keystore back: Decrypt works again");
	aur_secret_free(pt);
	pt = NULL;
	e = kms ? kms->ops->describe_key(kms, "alias/nonexistent", &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_NOT_FOUND, "with the keystore present, an unknown alias is NotFoundException");
	e = kms ? kms->ops->generate_data_key(kms, "alias/aurora/default", &ctx, 64, &pt, w, arn, &st) :
		  AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK, "the default CMK is still created on first use");
	aur_secret_free(pt);
	aur_kms_destroy(kms);
	free(w);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 1;
	return ktap_done();
}
