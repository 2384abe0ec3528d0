/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the embedded ("local") KMS provider and its management API.
 *
 * A keystore directory (default /var/lib/aurora/kms, mode 0700) holds:
 *   keystore.json  every CMK and alias of every account and region (0600)
 *   master.key     32 random bytes that wrap the CMK material at rest (0600)
 *   audit.log      one JSON line per operation (0600, append only)
 *   .lock          flock()ed for the duration of every operation
 * keystore.json is rewritten crash-safely (temp, fsync, rename, dir fsync).
 *
 * All calls act as the provider's caller (kms->account, kms->region).  A CMK
 * is named by key id, key ARN, alias name or alias ARN; another account's
 * CMK only by ARN and only where its key policy allows the caller's account.
 * Management calls (enable, disable, deletion, rotation, policy, aliases)
 * are for the owning account only.
 */
#ifndef AURORA_KMS_LOCAL_H
#define AURORA_KMS_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "aurora/aurora.h"
#include "kms/kms.h"

#define AUR_KEYSTORE_MAX_SIZE	(8u << 20)
struct aur_kms_local_opts {
	const char *keystore;
	const char *account;
	const char *region;
	/* Test hook: the clock (deletion windows, rotation); NULL = time(). */
	int64_t (*now)(void);
};

int aur_kms_local_new(const struct aur_kms_local_opts *o, struct aur_kms **out,
		      struct aur_kms_status *st);
/*
 * Parse keystore.json text without touching any file or key material (the
 * fuzz harness's entry point).  Returns 0 or -EINVAL with @err set.
 */
int aur_kms_local_parse_keystore(const char *text, size_t len, char *err, size_t errlen);

#endif /* AURORA_KMS_LOCAL_H */
