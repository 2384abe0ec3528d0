/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libaurora: the public interface of the aurora key agent's library, and
 * the only header the aurora CLI includes.
 *
 * What it offers: the volume life cycle (format, open, close, status, the
 * watching agent's verdicts), the KMS providers behind one opaque handle
 * (the embedded keystore and AWS KMS), the embedded KMS's management API,
 * configuration and /etc/auroratab.  Documentation/architecture.md maps
 * each call to the files that implement it.
 *
 * Conventions, for every function below unless its comment says otherwise:
 *  - Errors: a negative errno (or an enum aur_kms_err for KMS calls), with
 *    an operator's message in the struct aur_error / aur_kms_status / err
 *    buffer the caller passed (which may be NULL where documented).
 *  - Ownership: the caller owns what it passes and what it gets back.
 *    Results that are allocated say so ("malloc()ed": free() it; "secmem":
 *    aur_secret_free() it; a handle: its _destroy/_free function).  Strings
 *    returned as const char * are static or live as long as their object.
 *  - Secrets (data keys) are only ever in struct aur_secret, in locked,
 *    non-dumpable memory, wiped when freed.
 *  - Thread-safety: none of these calls is safe on the same object from two
 *    threads at once; distinct objects may be used from distinct threads.
 *    A struct aur_kms of the AWS provider serialises its own calls; the
 *    embedded provider serialises processes with a lock file.  aur_log_*
 *    settings are process-wide.
 *  - Structures defined here (results, options) are plain values the
 *    caller allocates; struct aur_kms is opaque.
 */
#ifndef AURORA_AURORA_H
#define AURORA_AURORA_H

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aurora_dm.h"		/* the target's ABI, shared with the kernel */

/* ------------------------------------------------------------------ */
/* Logging, errors, small helpers                                     */

enum aur_log_level { AUR_LOG_ERR = 0, AUR_LOG_WARN, AUR_LOG_INFO, AUR_LOG_DEBUG };

void aur_log_init(const char *ident, bool use_syslog, enum aur_log_level level);
void aur_log_set_level(enum aur_log_level level);
void aur_log(enum aur_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define aur_err(...)	aur_log(AUR_LOG_ERR, __VA_ARGS__)
#define aur_warn(...)	aur_log(AUR_LOG_WARN, __VA_ARGS__)
#define aur_info(...)	aur_log(AUR_LOG_INFO, __VA_ARGS__)
#define aur_dbg(...)	aur_log(AUR_LOG_DEBUG, __VA_ARGS__)

/*
 * Error carried up from the library to the CLI: an operator-facing message
 * and the exit code class (enum aur_exit) the CLI should return.
 */
enum aur_exit {
	AUR_EXIT_OK = 0,
	AUR_EXIT_FAILURE = 1,	/* anything not below */
	AUR_EXIT_USAGE = 2,	/* bad command line or configuration */
	AUR_EXIT_HEADER = 3,	/* no/corrupt/unsupported aurora header */
	AUR_EXIT_KMS_DENIED = 4,/* KMS said no: key disabled, deleted, access denied, bad blob */
	AUR_EXIT_KMS_UNAVAIL = 5,/* KMS unreachable/throttled: retry later */
	AUR_EXIT_TERMINAL = 6,	/* volume is terminal: restore from a backup */
	AUR_EXIT_BUSY = 7,	/* exists/in use/has data: refused without --force */
	AUR_EXIT_NOT_FOUND = 8,	/* no such device, mapping or key */
	AUR_EXIT_KERNEL = 9,	/* device-mapper/keyring failure (module loaded?) */
	AUR_EXIT_CONFIG = 10,	/* configuration does not match the volume (region,
				 * account, provider, keystore identity): never a verdict */
	AUR_EXIT_INACCESSIBLE = 11,/* volume inaccessible: recoverable until its window ends */
	AUR_EXIT_UNVERIFIED = 12,/* agent --once: a volume unverified past max_unverified */
};

struct aur_error {
	int exit_code;		/* enum aur_exit */
	int kms_code;		/* enum aur_kms_err, 0 when not a KMS error */
	char msg[512];
};

void aur_error_set(struct aur_error *e, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void aur_error_clear(struct aur_error *e);

/* strlcpy-like: returns 0, or -ENAMETOOLONG when @src does not fit. */
int aur_strcpy(char *dst, size_t size, const char *src);
/* snprintf that returns 0, or -ENAMETOOLONG on truncation / -EINVAL. */
int aur_snprintf(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool aur_str_has_prefix(const char *s, const char *prefix);
/* Trim ASCII white space in place; returns s. */
char *aur_strtrim(char *s);
/* Parse a decimal unsigned 64-bit integer; whole string, no sign. */
int aur_parse_u64(const char *s, uint64_t *out);

/* ISO 8601 UTC ("2026-11-29T23:18:40Z"); parse back. */
void aur_time_iso(int64_t t, char out[32]);
int aur_time_parse_iso(const char *s, int64_t *t);
int64_t aur_now(void);

/* Whole file into *@out (malloc()ed, NUL-terminated), at most @maxlen bytes. */
int aur_read_file(const char *path, size_t maxlen, char **out, size_t *outlen);

/* NUL-terminated forms.  Return the output length, or -1 (bad input / no room). */
int aur_base64_encode(const uint8_t *in, size_t len, char *out, size_t outsize);
int aur_base64_decode(const char *in, uint8_t *out, size_t outsize);
/* Size of the text (with its NUL) that aur_base64_encode() writes for @len bytes. */
static inline size_t aur_base64_encoded_size(size_t len)
{
	return 4 * ((len + 2) / 3) + 1;
}

/* ------------------------------------------------------------------ */
/* Secrets in locked memory                                           */

struct aur_secret {
	size_t len;
	size_t map_len;			/* private */
	uint8_t data[];
};

/* Returns NULL (errno set) when memory cannot be locked. */
struct aur_secret *aur_secret_alloc(size_t len);
void aur_secret_free(struct aur_secret *s);

/* Lock the process against dumps and ptrace: call once at start-up. */
int aur_secmem_harden_process(void);

/* ------------------------------------------------------------------ */
/* KMS: errors, keys, the provider handle                             */

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
	/*
	 * Never a verdict either: the caller's configuration does not match
	 * the volume or the KMS (region, account, provider, keystore
	 * identity), or the caller's credentials are refused or expired
	 * (SignatureDoesNotMatch, InvalidClientTokenId, ...).
	 */
	AUR_KMS_E_CONFIG,
	AUR_KMS_E_CREDENTIALS,
};

/* Name as AWS spells it ("DisabledException"), or ours for local kinds. */
const char *aur_kms_err_name(enum aur_kms_err e);
bool aur_kms_err_is_definitive(enum aur_kms_err e);
bool aur_kms_err_is_transient(enum aur_kms_err e);

/* Detail of the last failure of a call: code plus a human message. */
struct aur_kms_status {
	enum aur_kms_err code;
	int http_status;		/* 0 when not HTTP */
	char message[256];
};

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

/* A KMS provider (opaque).  From aur_kms_open(); aur_kms_destroy() it. */
struct aur_kms;

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
/* Encrypt @plaintext (a data key) under @key_id with @ctx (cross-region copy). */
enum aur_kms_err aur_kms_encrypt(struct aur_kms *kms, const char *key_id,
				 const struct aur_enc_ctx *ctx, const struct aur_secret *plaintext,
				 struct aur_blob *wrapped, char *key_arn,
				 struct aur_kms_status *st);
/* "local", "aws". */
const char *aur_kms_provider_name(const struct aur_kms *kms);

#define AUR_KEYSTORE_ID_MAX	40	/* "ks-" + 32 hex digits + NUL, rounded up */
/*
 * The identity of the key store behind @kms, into @out (@len bytes, at
 * least AUR_KEYSTORE_ID_MAX): for the embedded KMS "ks-" and 32 hex digits
 * derived one-way from its master key, so two keystores never share one and
 * the same keystore always gives the same; "" when the keystore has no
 * master key yet, or for a provider without such an identity (aws).  Reads
 * only: creates and writes nothing.  AUR_KMS_OK, or an error in @st (a
 * master key that exists but cannot be read).
 */
enum aur_kms_err aur_kms_identity(struct aur_kms *kms, char *out, size_t len,
				  struct aur_kms_status *st);
/* Free @kms (NULL is fine). */
void aur_kms_destroy(struct aur_kms *kms);

/* ------------------------------------------------------------------ */
/* The embedded KMS: its management API (local provider only)         */

/* True when @kms is the embedded provider (the only one managed here). */
bool aur_kms_is_local(const struct aur_kms *kms);

#define AUR_DEFAULT_ALIAS	"alias/aurora/default"
#define AUR_ALIAS_MAX		256
#define AUR_POLICY_MAX		32
/* GenerateDataKey's NumberOfBytes at most. */
#define AUR_DATA_KEY_MAX	1024

struct aur_kms_policy {
	size_t n;
	char accounts[AUR_POLICY_MAX][AUR_ACCOUNT_MAX];
};

struct aur_kms_alias {
	char name[AUR_ALIAS_MAX];
	char arn[AUR_ARN_MAX + AUR_ALIAS_MAX];
	char target_key_id[AUR_KEY_ID_MAX];
	int64_t creation_date;
};

/* DescribeKey plus what only the owner sees. */
struct aur_kms_key_detail {
	struct aur_kms_key_info info;
	bool rotation_enabled;
	unsigned int rotation_period_days;
	int64_t last_rotation;
	unsigned int material_versions;
	struct aur_kms_policy policy;
};

typedef enum aur_kms_err aur_kerr;

aur_kerr aur_kms_local_create_key(struct aur_kms *kms, const char *description,
				  struct aur_kms_key_info *info, struct aur_kms_status *st);
aur_kerr aur_kms_local_describe_ex(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_key_detail *d, struct aur_kms_status *st);
/* Keys of the caller's account and region; *keys is malloc()ed. */
aur_kerr aur_kms_local_list_keys(struct aur_kms *kms, struct aur_kms_key_info **keys,
				 size_t *n, struct aur_kms_status *st);
aur_kerr aur_kms_local_create_alias(struct aur_kms *kms, const char *alias,
				    const char *key_id, struct aur_kms_status *st);
aur_kerr aur_kms_local_delete_alias(struct aur_kms *kms, const char *alias,
				    struct aur_kms_status *st);
/* @key_id NULL: every alias of the caller's account and region. */
aur_kerr aur_kms_local_list_aliases(struct aur_kms *kms, const char *key_id,
				    struct aur_kms_alias **aliases, size_t *n,
				    struct aur_kms_status *st);
aur_kerr aur_kms_local_enable_key(struct aur_kms *kms, const char *key_id,
				  struct aur_kms_status *st);
aur_kerr aur_kms_local_disable_key(struct aur_kms *kms, const char *key_id,
				   struct aur_kms_status *st);
/* 7..30 days; *deletion_date receives the date. */
aur_kerr aur_kms_local_schedule_deletion(struct aur_kms *kms, const char *key_id,
					 unsigned int days, int64_t *deletion_date,
					 struct aur_kms_status *st);
aur_kerr aur_kms_local_cancel_deletion(struct aur_kms *kms, const char *key_id,
				       struct aur_kms_status *st);
/* period 90..2560 days (AWS' bounds); 0 = 365. */
aur_kerr aur_kms_local_enable_rotation(struct aur_kms *kms, const char *key_id,
				       unsigned int period_days, struct aur_kms_status *st);
aur_kerr aur_kms_local_disable_rotation(struct aur_kms *kms, const char *key_id,
					struct aur_kms_status *st);
aur_kerr aur_kms_local_rotate_on_demand(struct aur_kms *kms, const char *key_id,
					unsigned int *new_version, struct aur_kms_status *st);
/*
 * Keystore export and import (embedded KMS): keystore.json and master.key
 * sealed with AES-256-GCM under Argon2id(recovery passphrase).  Defaults:
 * time 4, memory 65536 KiB, parallelism 1 (0 in a field: its default).
 * Import only into an empty keystore or the one exported (same identity);
 * a keystore.json that differs from the export's only with @force.
 * @identity (may be NULL, AUR_KEYSTORE_ID_MAX bytes) receives the keystore's identity.
 */
#define AUR_KSX_T_DEFAULT	4
#define AUR_KSX_M_DEFAULT	65536
#define AUR_KSX_P_DEFAULT	1
#define AUR_KSX_PASS_MIN	8
#define AUR_KSX_PASS_MAX	1024
struct aur_ksx_params {
	uint32_t t_cost, m_cost_kib, parallelism;
};
int aur_kms_local_export(struct aur_kms *kms, const char *file, const struct aur_secret *pass,
			 const struct aur_ksx_params *params, bool force, char *identity,
			 struct aur_error *err);
int aur_kms_local_import(struct aur_kms *kms, const char *file, const struct aur_secret *pass,
			 bool force, char *identity, struct aur_error *err);
aur_kerr aur_kms_local_get_key_policy(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_policy *p, struct aur_kms_status *st);
/* Replace the list of accounts allowed to use the CMK. */
aur_kerr aur_kms_local_put_key_policy(struct aur_kms *kms, const char *key_id,
				      const struct aur_kms_policy *p, struct aur_kms_status *st);
aur_kerr aur_kms_local_grant_account(struct aur_kms *kms, const char *key_id,
				     const char *account, struct aur_kms_status *st);
aur_kerr aur_kms_local_revoke_account(struct aur_kms *kms, const char *key_id,
				      const char *account, struct aur_kms_status *st);

/* ------------------------------------------------------------------ */
/* Configuration (aurora.conf) and the KMS it names                   */

#define AUR_CONF_DEFAULT	"/etc/aurora/aurora.conf"
#define AUR_KEYSTORE_DEFAULT	"/var/lib/aurora/kms"
#define AUR_ACCOUNT_DEFAULT	"000000000000"
#define AUR_REGION_DEFAULT	"us-east-1"
#define AUR_CONF_MAX_SIZE	(64 * 1024)

struct aur_config {
	char path[PATH_MAX];		/* file read, "" if none */
	char provider[16];		/* "local" or "aws" */
	char account[AUR_ACCOUNT_MAX];
	char region[AUR_REGION_MAX];
	char keystore[PATH_MAX];
	unsigned int interval;		/* seconds */
	char endpoint[512];
	char ca_bundle[PATH_MAX];
	char profile[64];		/* aws shared-credentials profile */
	unsigned int connect_timeout;	/* seconds, aws */
	unsigned int timeout;		/* seconds, aws */
	/* Verdicts (issue 16): see Documentation/aurora.md "State machine". */
	unsigned int confirm_passes;	/* consecutive Lost passes before inaccessible (3) */
	uint64_t recovery_window;	/* seconds inaccessible before terminal (7d); 0 */
	uint64_t max_unverified;	/* seconds without a verdict before warning (15m) */
};

/* "90", "90s", "15m", "12h", "7d" -> seconds (at most 10 years).  0 or -EINVAL. */
int aur_parse_duration(const char *s, uint64_t *out);

void aur_config_defaults(struct aur_config *cfg);
/* Parse text (for tests and the fuzzer); err names the line. */
int aur_config_parse(struct aur_config *cfg, const char *text, size_t len,
		     char *err, size_t errlen);
/*
 * Load: @path explicit (must exist), else $AURORA_CONF (must exist), else
 * the default file if present.  Defaults fill what the file leaves out.
 */
int aur_config_load(struct aur_config *cfg, const char *path, char *err, size_t errlen);

bool aur_account_valid(const char *s);
bool aur_region_valid(const char *s);

/*
 * Instantiate the configured KMS provider.  "local" is kms_local.c; "aws"
 * is kms_aws.c (issue 6), configured from region, account, endpoint,
 * ca_bundle, profile and the timeouts.  Returns 0 or a negative errno with
 * a message in @st.
 */
int aur_kms_open(const struct aur_config *cfg, struct aur_kms **out,
		 struct aur_kms_status *st);

/* ------------------------------------------------------------------ */
/* /etc/auroratab                                                     */

#define AUR_TAB_DEFAULT		"/etc/auroratab"
#define AUR_TAB_MAX_SIZE	(256 * 1024)
#define AUR_TAB_MAX_ENTRIES	1024

struct aur_tab_entry {
	char name[128];
	char device[PATH_MAX];		/* path, or "" when by UUID */
	char uuid[37];			/* "" when by path */
	bool read_only, netdev, noauto, nofail;
	unsigned int line;
};

struct aur_tab {
	size_t n;
	struct aur_tab_entry *e;	/* malloc()ed */
};

/* Parse text; on error -EINVAL with @err naming the line. */
int aur_tab_parse(struct aur_tab *t, const char *text, size_t len,
		  char *err, size_t errlen);
int aur_tab_load(struct aur_tab *t, const char *path, char *err, size_t errlen);
void aur_tab_free(struct aur_tab *t);
const struct aur_tab_entry *aur_tab_find(const struct aur_tab *t, const char *name);

/*
 * Resolve an entry to a device node: its path, or the block device whose
 * aurora header has the entry's UUID (scanning /sys/class/block).
 */
int aur_tab_resolve(const struct aur_tab_entry *e, char *dev, size_t devlen,
		    char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Volumes: header, device-mapper and keyring views                   */

#define AUR_HDR_COPIES		2
#define AUR_REQ_MAX		16
#define AUR_NAME_MAX		(AUR_ARN_MAX + 256)

/* active -> inaccessible (recoverable until a window ends) -> terminal. */
enum aur_vol_state { AUR_VOL_ACTIVE = 0, AUR_VOL_TERMINAL, AUR_VOL_INACCESSIBLE };

struct aur_hdr {
	uint64_t seqid;
	char uuid[37];
	char cipher[32];
	unsigned int key_bits;
	unsigned int sector_size;
	uint64_t data_offset;		/* bytes */
	uint64_t data_size;		/* bytes */
	char provider[16];		/* "local", "aws" */
	char cmk_named[AUR_NAME_MAX];	/* as given at format */
	char cmk_arn[AUR_ARN_MAX];	/* as resolved by the KMS */
	char cmk_account[AUR_ACCOUNT_MAX];
	char cmk_region[AUR_REGION_MAX];
	/* Identity of the configuration at format; "" when not recorded (older headers). */
	char cmk_partition[32];		/* of the CMK's ARN: "aws", "aws-cn", ... */
	char caller_account[AUR_ACCOUNT_MAX];	/* the account that formatted */
	char keystore_id[AUR_KEYSTORE_ID_MAX];	/* embedded KMS: aur_kms_identity() */
	struct aur_blob wrapped_dek;
	struct aur_enc_ctx ctx;
	enum aur_vol_state state;
	char terminal_reason[256];
	int64_t terminal_time;
	int64_t created;
	/* state inaccessible: why, since when, recoverable until when (issue 16);
	 * kept when the volume goes terminal from inaccessible. */
	char inaccessible_reason[AURORA_DM_REASON_MAX];
	int64_t inaccessible_since;
	int64_t recoverable_until;
	char restored_from[256];	/* lineage, "" when none */
	char copied_from[256];
	size_t nreq;
	char requirements[AUR_REQ_MAX][64];	/* mandatory features */
	/* Parsed JSON, to keep fields this version does not know. */
	void *json;
};

void aur_hdr_init(struct aur_hdr *h);
void aur_hdr_free(struct aur_hdr *h);

struct aur_hdr_read {
	struct aur_hdr hdr;		/* the winner */
	int chosen;			/* 0 or 1 */
	bool valid[AUR_HDR_COPIES];
	bool present[AUR_HDR_COPIES];	/* magic found */
	uint64_t seq[AUR_HDR_COPIES];
	char err[AUR_HDR_COPIES][160];
	bool need_repair;		/* a copy is damaged or stale */
};

const char *aur_vol_state_name(enum aur_vol_state s);

#define AUR_DM_NAME_MAX		128

struct aur_dm_info {
	bool exists;
	bool live_table;
	bool suspended;
	bool read_only;
	int open_count;
	uint32_t major, minor;
	char uuid[130];
	char target[32];		/* type of the first target */
	uint64_t sectors;
	char table[1024];		/* params of the live table */
	char status[1024];		/* target status line */
};

void aur_dm_init_logging(void);
/* Is device-mapper usable at all (control node, driver version)? */
bool aur_dm_available(void);

/* Find an existing key: 0 with *serial, -ENOKEY. */
int aur_keyring_find(const char *uuid, int32_t *serial);

/* ------------------------------------------------------------------ */
/* Volumes: format, open, close, status, verdicts                     */

struct aur_format_opts {
	const char *kms_key_id;		/* NULL: alias/aurora/default */
	unsigned int sector_size;	/* 0: 512 */
	uint64_t data_offset;		/* 0: 1 MiB */
	bool force;			/* overwrite signatures / headers */
	const char *restored_from;	/* lineage, may be NULL */
	const char *copied_from;
};

int aur_volume_format(struct aur_kms *kms, const char *device,
		      const struct aur_format_opts *o, struct aur_hdr *out,
		      struct aur_error *err);

/*
 * The target parameters of a volume on device @dev (after "<start> <len>
 * aurora"): the keyring reference, never the key.  0 or -ENAMETOOLONG.
 */
int aur_volume_table(const struct aur_hdr *h, dev_t dev, char *params, size_t len);

#define AUR_OPEN_READ_ONLY	0x1
int aur_volume_open(struct aur_kms *kms, const char *device, const char *name,
		    unsigned int flags, struct aur_error *err);
int aur_volume_close(const char *name, struct aur_error *err);

/* An open aurora mapping as device-mapper knows it. */
struct aur_open_volume {
	char name[AUR_DM_NAME_MAX];
	char uuid[37];			/* from the dm uuid AURORA-<uuid> */
	char device[PATH_MAX];		/* backing device node, "" if unknown */
	uint32_t dev_major, dev_minor;	/* backing device */
	bool kernel_terminal;		/* target status says terminal */
	char kernel_reason[AURORA_DM_REASON_MAX];	/* its reason */
	bool key_loaded;		/* status says key:loaded */
	struct aur_dm_info dm;
	bool kernel_inaccessible;	/* target status says inaccessible (reason in kernel_reason) */
};

/* Every open aurora volume; *vols is malloc()ed. */
int aur_volume_list_open(struct aur_open_volume **vols, size_t *n, struct aur_error *err);
/* One mapping by name: 0, -ENODEV, -EINVAL (not an aurora mapping). */
int aur_volume_get_open(const char *name, struct aur_open_volume *v, struct aur_error *err);
/* The mapping of volume @uuid, if open: 0 or -ENODEV. */
int aur_volume_find_open(const char *uuid, struct aur_open_volume *v);
/*
 * Send target message @msg to the mapping of volume @uuid, addressed by its
 * dm UUID (AURORA-<uuid>), never by a name: a mapping removed and re-created
 * under the same name by another volume never receives it.  0, -EINVAL (bad
 * uuid), -ENXIO/-ENODEV (no mapping of that volume), other -errno.
 */
int aur_volume_message(const char *uuid, const char *msg, char *resp, size_t resplen);

/* Read and verify the header of @device (r->hdr: aur_hdr_free it). */
int aur_volume_read_header(const char *device, struct aur_hdr_read *r, struct aur_error *err);

enum aur_cmk_verdict {
	AUR_CMK_OK = 0,		/* key usable and this DEK unwraps */
	AUR_CMK_LOST,		/* definitive: the volume must go terminal */
	AUR_CMK_TRANSIENT,	/* could not tell: retry, keep the volume active */
	AUR_CMK_CONFIG_ERROR,	/* configuration/credentials do not match: never a verdict */
};

struct aur_cmk_check {
	enum aur_cmk_verdict verdict;
	enum aur_kms_err kms_err;	/* the error behind LOST/TRANSIENT */
	struct aur_kms_key_info info;	/* when DescribeKey answered */
	char reason[128];		/* one token: "DisabledException", ... */
	char message[640];
};

/* DescribeKey on the header's CMK, then a trial Decrypt of its DEK
 * (plaintext wiped at once).  Never LOST on a transient error. */
void aur_volume_check_cmk(struct aur_kms *kms, const struct aur_hdr *h,
			  struct aur_cmk_check *c);

/*
 * Make a volume terminal, in this order (each step attempted even when an
 * earlier one failed): persist state=terminal with @reason and the time in
 * the header of @device (if not NULL), send `terminal <reason>` to mapping
 * @dm_name (if not NULL), revoke and unlink the kernel key of @uuid (or the
 * header's).  Idempotent.  @reason: 1..63 characters of [A-Za-z0-9._:-]
 * (what the target keeps; e.g. "DisabledException").
 */
int aur_volume_mark_terminal(const char *device, const char *dm_name, const char *uuid,
			     const char *reason, struct aur_error *err);

/*
 * Does the configuration behind @kms match the one @h was formatted with?
 * Compares the provider, the keystore identity (embedded KMS), the caller's
 * account and the region with what the header recorded (fields an older
 * header lacks are not compared).  Returns:
 *   0  everything recorded matches (@msg "");
 *   1  the account or region differs: a cross-account CMK or a CMK of
 *      another region may be legitimate, so the caller carries on, but a
 *      definitive-looking KMS answer is then no verdict (aur_volume_classify);
 *   2  the provider or the keystore identity differs: the configuration
 *      cannot reach this volume's CMK; config error before any KMS call.
 * Negative -errno when the keystore identity cannot be read (@msg says why).
 * @msg names both sides: "volume <uuid> was formatted with keystore ks-..
 * (account A, region R); this host is configured with keystore ks-..
 * (account B, region S)".
 */
#define AUR_CONFIG_MATCH	0
#define AUR_CONFIG_SOFT_MISMATCH 1
#define AUR_CONFIG_HARD_MISMATCH 2
int aur_volume_config_matches(struct aur_kms *kms, const struct aur_hdr *h, char *msg, size_t len);
/*
 * Classify KMS answer @e about the CMK of @h under the current
 * configuration: AUR_KMS_E_CONFIG (with @msg naming both sides) when a
 * configuration mismatch explains it: any failure under a provider or
 * keystore mismatch, NotFound, AccessDenied, IncorrectKey or
 * InvalidCiphertext under an account or region mismatch.  Otherwise @e
 * unchanged (@msg "").  A KMS state answer (disabled, pending deletion) is
 * about the key itself and is never reclassified by an account or region
 * mismatch.
 */
enum aur_kms_err aur_volume_classify(struct aur_kms *kms, const struct aur_hdr *h,
				     enum aur_kms_err e, char *msg, size_t len);

/* "ok", "lost", "transient", "config-error". */
const char *aur_cmk_verdict_name(enum aur_cmk_verdict v);

/*
 * Make a volume inaccessible (a confirmed loss, recoverable for @window
 * seconds): header state inaccessible (reason, since @now, recoverable until
 * @now + @window; an inaccessible or terminal header is left as it is), the
 * message `inaccessible <reason>` to mapping @dm_name when the target is
 * still active, the kernel key of @uuid (or the header's) revoked.  Each
 * step is attempted even when an earlier one failed.
 */
int aur_volume_mark_inaccessible(const char *device, const char *dm_name, const char *uuid,
				 const char *reason, int64_t now, uint64_t window,
				 struct aur_error *err);
/* Header inaccessible -> active (terminal is never changed).  0 or -errno. */
int aur_volume_mark_active(const char *device, struct aur_error *err);
/*
 * Bring a volume back: unwrap its DEK again (Decrypt), and when mapping
 * @dm_name (may be NULL) is inaccessible in the kernel, load the DEK as a new
 * logon key, suspend (no filesystem freeze), `key set`, resume; then the
 * header, if inaccessible, becomes active.  A Decrypt failure: -EACCES with
 * AUR_EXIT_INACCESSIBLE (AUR_EXIT_CONFIG for configuration/credentials); a
 * terminal volume or mapping: -EKEYREVOKED with AUR_EXIT_TERMINAL.
 */
int aur_volume_recover(struct aur_kms *kms, const char *device, const char *dm_name,
		       struct aur_error *err);

/* Map a KMS error to the CLI exit code class. */
int aur_exit_from_kms(enum aur_kms_err e);
/*
 * The one place a KMS failure becomes an operator's message:
 * "<what>: <ErrorName>: <detail>" with the exit code of its kind, and
 * err->kms_code set.  Providers' messages carry only the detail.  -EACCES.
 */
int aur_error_from_kms(struct aur_error *err, const char *what, const struct aur_kms_status *st);

/* The node for a device number (/dev/<DEVNAME> from sysfs, else /dev/block/M:m). */
int aur_dev_path(uint32_t major, uint32_t minor, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* The watching agent                                                 */

struct aur_watch_opts {
	unsigned int interval;		/* seconds between passes (>= 1) */
	unsigned int retries;		/* extra attempts on a transient answer */
	unsigned int backoff_ms;	/* first retry delay */
	unsigned int backoff_max_ms;	/* cap of one delay */
	/* Sleep hook (tests); NULL: nanosleep, cut short by *stop. */
	void (*sleep_ms)(unsigned int ms, void *arg);
	void *sleep_arg;
	/* Issue 16 (aur_watch_opts_default: 3, 7 days, 15 minutes). */
	unsigned int confirm_passes;	/* consecutive Lost passes before inaccessible */
	uint64_t recovery_window;	/* seconds; 0: terminal as soon as confirmed */
	uint64_t max_unverified;	/* seconds; 0: never warn */
	const char *state_dir;		/* per-pass state; NULL: AUR_PASS_STATE_DIR */
	/* Clock hook (tests); NULL: aur_now(). */
	int64_t (*now)(void *arg);
	void *now_arg;
	/*
	 * Concurrency: when set, every volume of a pass is checked in its own
	 * thread with its own KMS handle opened from @cfg (the @kms argument
	 * is then unused by the checks), at most max_threads at once; a check
	 * still running after one interval is reported transient and the
	 * volume is skipped until it ends.  NULL: volumes one after another.
	 */
	const struct aur_config *cfg;
	unsigned int max_threads;	/* 0: 8 */
	/* Wait for every check of a pass, however long (aurora agent --once). */
	bool wait_all;
	/* Test hook: open a KMS handle per thread instead of aur_kms_open(cfg). */
	int (*kms_open)(const struct aur_config *cfg, struct aur_kms **out, void *arg);
	void *kms_open_arg;
};

void aur_watch_opts_default(struct aur_watch_opts *o);

/*
 * What the agent remembers between passes about one volume (not in the
 * header: rewritten every pass), in <state_dir>/<uuid>.  tmpfs: a reboot
 * starts the count of Lost passes again.
 */
#define AUR_PASS_STATE_DIR	"/run/aurora/state"
struct aur_pass_state {
	unsigned int lost_passes;	/* consecutive passes with verdict Lost */
	int64_t first_seen;		/* first pass that saw the volume */
	int64_t last_pass;		/* last pass, whatever its outcome */
	int64_t last_verified;		/* last pass that reached a verdict (ok or lost); 0 never */
	char verification[16];		/* ok, transient, config-error, lost, error; "" none */
	char reason[128];		/* of the last pass that did not say ok */
};
/* 0, -ENOENT (never checked), -EINVAL (damaged: treated as none). */
int aur_pass_state_read(const char *dir, const char *uuid, struct aur_pass_state *p);
int aur_pass_state_write(const char *dir, const char *uuid, const struct aur_pass_state *p);
/* Seconds without a verdict at @now (since first_seen when never verified). */
int64_t aur_pass_state_unverified_for(const struct aur_pass_state *p, int64_t now);

enum aur_watch_outcome {
	AUR_WATCH_OK = 0,		/* CMK usable, DEK unwraps */
	AUR_WATCH_TERMINATED,		/* made terminal by this check */
	AUR_WATCH_ALREADY_TERMINAL,	/* header or kernel already terminal */
	AUR_WATCH_TRANSIENT,		/* could not tell; volume kept active */
	AUR_WATCH_ERROR,		/* local failure (header unreadable...) */
	AUR_WATCH_LOST,			/* Lost, not yet confirm_passes times in a row */
	AUR_WATCH_INACCESSIBLE,		/* made or still inaccessible */
	AUR_WATCH_RECOVERED,		/* access came back: active again */
};
const char *aur_watch_outcome_name(enum aur_watch_outcome o);

struct aur_watch_result {
	char name[AUR_DM_NAME_MAX];	/* mapping, "" when checked by device */
	char uuid[37];
	char device[PATH_MAX];
	enum aur_watch_outcome outcome;
	unsigned int attempts;		/* KMS checks made */
	char reason[128];
	char message[640];
	/* Issue 16: the state machine's view after this check. */
	enum aur_vol_state state;	/* header state after the check */
	const char *verification;	/* "ok", "transient", "config-error", "lost", "error" */
	unsigned int lost_passes;	/* consecutive Lost passes so far */
	int64_t last_verified;		/* 0: never */
	int64_t recoverable_until;	/* when inaccessible */
	bool unverified;		/* no verdict for longer than max_unverified */
};

/*
 * One volume: header of @device, CMK check with retries, terminal on a
 * definitive loss.  @dm_name may be NULL (header only: no mapping).
 */
void aur_watch_check_volume(struct aur_kms *kms, const char *device,
			    const char *dm_name, bool kernel_terminal,
			    const struct aur_watch_opts *o,
			    volatile sig_atomic_t *stop,
			    struct aur_watch_result *r);

/* The kernel's view of a mapping, for aur_watch_check_volume_ex(). */
enum aur_kernel_state {
	AUR_KSTATE_NONE = 0,		/* no mapping (header only) */
	AUR_KSTATE_ACTIVE,
	AUR_KSTATE_INACCESSIBLE,
	AUR_KSTATE_TERMINAL,
};

/*
 * One volume through the state machine (Documentation/aurora.md): header of
 * @device, CMK check with retries, the Lost count in the per-pass state of
 * @uuid (the header's when NULL), then inaccessible / terminal / recovered.
 */
void aur_watch_check_volume_ex(struct aur_kms *kms, const char *device, const char *dm_name,
			       const char *uuid, enum aur_kernel_state ks,
			       const struct aur_watch_opts *o, volatile sig_atomic_t *stop,
			       struct aur_watch_result *r);

/*
 * Check @n mappings (as aur_volume_list_open() gives them) into @out (@n
 * results): concurrently when o->cfg is set (see struct aur_watch_opts),
 * else one after another with @kms.  Returns the number of results.
 */
size_t aur_watch_check_open(struct aur_kms *kms, const struct aur_open_volume *vols, size_t n,
			    const struct aur_watch_opts *o, volatile sig_atomic_t *stop,
			    struct aur_watch_result *out);

/*
 * Wait until no check started by aur_watch_check_open() runs any more (one
 * left running past its interval, in the background).  Call before exit:
 * a check may be writing a header.
 */
void aur_watch_drain(void);

/* One pass over every open aurora mapping; *res is malloc()ed. */
int aur_watch_pass(struct aur_kms *kms, const struct aur_watch_opts *o,
		   volatile sig_atomic_t *stop, struct aur_watch_result **res,
		   size_t *n, struct aur_error *err);

/* Passes every o->interval seconds until *stop.  Returns 0. */
int aur_watch_run(struct aur_kms *kms, const struct aur_watch_opts *o,
		  volatile sig_atomic_t *stop);

#endif /* AURORA_AURORA_H */
