// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: does this host's KMS configuration match the one a volume was
 * formatted with?  A mismatch is a configuration error, never a verdict on
 * the volume's CMK (see aurora.h: aur_volume_config_matches,
 * aur_volume_classify).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kms/kms.h"
#include "volume/volume.h"

/* "keystore ks-.. (account A, region R)" for one side. */
static void describe(char *out, size_t len, const char *provider, const char *ksid,
		     bool ks_known, const char *account, const char *region)
{
	char what[96];

	if (!strcmp(provider, "local")) {
		if (ksid[0])
			snprintf(what, sizeof(what), "keystore %s", ksid);
		else if (ks_known)
			snprintf(what, sizeof(what), "a keystore with no master key");
		else
			snprintf(what, sizeof(what), "the embedded KMS");
	} else if (!strcmp(provider, "aws")) {
		snprintf(what, sizeof(what), "AWS KMS");
	} else {
		snprintf(what, sizeof(what), "KMS provider \"%.32s\"", provider);
	}
	aur_snprintf(out, len, "%s (account %s, region %s)", what,
		     account[0] ? account : "unknown", region[0] ? region : "unknown");
}

int aur_volume_config_matches(struct aur_kms *kms, const struct aur_hdr *h, char *msg, size_t len)
{
	const char *prov = aur_kms_provider_name(kms);
	/* Headers written before caller_account existed: the CMK's own account. */
	const char *h_acct = h->caller_account[0] ? h->caller_account : h->cmk_account;
	char ksid[AUR_KEYSTORE_ID_MAX] = "", a[200], b[200];
	struct aur_kms_status st = { 0 };
	bool hard = false, soft = false;

	if (msg && len)
		msg[0] = '\0';
	if (aur_kms_identity(kms, ksid, sizeof(ksid), &st) != AUR_KMS_OK) {
		if (msg)
			aur_snprintf(msg, len, "volume %s: cannot read this host's keystore identity: %s",
				     h->uuid, st.message);
		return -EIO;
	}
	if (strcmp(h->provider, prov))
		hard = true;
	/* Recorded identity, and this keystore's differs or it has none. */
	else if (!strcmp(prov, "local") && h->keystore_id[0] && strcmp(h->keystore_id, ksid))
		hard = true;
	if (h_acct[0] && kms->account[0] && strcmp(h_acct, kms->account))
		soft = true;
	if (h->cmk_region[0] && kms->region[0] && strcmp(h->cmk_region, kms->region))
		soft = true;
	if (!hard && !soft)
		return AUR_CONFIG_MATCH;
	if (msg) {
		describe(a, sizeof(a), h->provider, h->keystore_id, false, h_acct, h->cmk_region);
		describe(b, sizeof(b), prov, ksid, true, kms->account, kms->region);
		aur_snprintf(msg, len, "volume %s was formatted with %s; this host is configured with %s",
			     h->uuid, a, b);
	}
	return hard ? AUR_CONFIG_HARD_MISMATCH : AUR_CONFIG_SOFT_MISMATCH;
}

/* Answers a wrong account, region or keystore produces for a healthy CMK. */
static bool explained_by_mismatch(enum aur_kms_err e)
{
	switch (e) {
	case AUR_KMS_E_NOT_FOUND:
	case AUR_KMS_E_ACCESS_DENIED:
	case AUR_KMS_E_INCORRECT_KEY:
	case AUR_KMS_E_INVALID_CIPHERTEXT:
		return true;
	default:
		return false;
	}
}

enum aur_kms_err aur_volume_classify(struct aur_kms *kms, const struct aur_hdr *h,
				     enum aur_kms_err e, char *msg, size_t len)
{
	char m[640];
	int r;

	if (msg && len)
		msg[0] = '\0';
	if (e == AUR_KMS_OK || e == AUR_KMS_E_CONFIG)
		return e;
	r = aur_volume_config_matches(kms, h, m, sizeof(m));
	if (r == AUR_CONFIG_MATCH)
		return e;
	/*
	 * Cannot tell whether the configuration matches: a definitive-looking
	 * answer is then no verdict either.
	 */
	if (r < 0 && !aur_kms_err_is_definitive(e))
		return e;
	if (r == AUR_CONFIG_SOFT_MISMATCH && !explained_by_mismatch(e))
		return e;
	if (msg)
		aur_snprintf(msg, len, "%s", m);
	return AUR_KMS_E_CONFIG;
}
