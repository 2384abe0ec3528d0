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

/*
 * Keystore export file (aurora kms export-keystore), little-endian:
 *   0   8  magic "AURKSX1\0"
 *   8   4  version (1)
 *   12  4  key derivation (2: Argon2id)
 *   16  4  Argon2id time cost (passes)
 *   20  4  Argon2id memory cost (KiB)
 *   24  4  Argon2id parallelism (lanes)
 *   28  4  payload length N
 *   32 32  salt
 *   64 12  AES-256-GCM IV
 *   76  4  zero
 *   80 40  keystore identity ("ks-" + 32 hex digits), NUL-padded
 *   120 N  payload, AES-256-GCM under Argon2id(passphrase, salt), AAD bytes 0..119
 *   120+N 16  GCM tag
 * Payload: "AKSP", u32 32, the 32-byte master key, u32 L, L bytes of
 * keystore.json.
 */
#define AUR_KSX_MAGIC		"AURKSX1\0"
#define AUR_KSX_VERSION		1
#define AUR_KSX_KDF_ARGON2ID	2
#define AUR_KSX_HDR		120
#define AUR_KSX_TAG		16
#define AUR_KSX_ID_LEN		40
#define AUR_KSX_PAYLOAD_MIN	(4 + 4 + 32 + 4)
#define AUR_KSX_T_MAX		64
#define AUR_KSX_P_MAX		16
#define AUR_KSX_M_MIN		1024
#define AUR_KSX_M_MAX		(4u * 1024 * 1024)

struct aur_ksx_hdr {
	uint32_t t_cost, m_cost_kib, parallelism, payload_len;
	uint8_t salt[32];
	uint8_t iv[12];
	char identity[AUR_KSX_ID_LEN + 1];
};

/* Check an export file's header and length (no key needed): 0 or -errno, @err. */
int aur_kms_local_parse_export(const uint8_t *buf, size_t len, struct aur_ksx_hdr *h,
			       char *err, size_t errlen);
/* Check a decrypted payload; where its keystore.json is.  0 or -EINVAL, @err. */
int aur_kms_local_parse_export_payload(const uint8_t *pt, size_t len, size_t *json_off,
				       size_t *json_len, char *err, size_t errlen);

#endif /* AURORA_KMS_LOCAL_H */
