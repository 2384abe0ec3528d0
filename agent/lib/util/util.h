/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: small helpers shared by the library and the CLI.
 *
 * Logging goes to stderr (and to syslog when aur_log_init(..., true)).
 * Strings are bounded: every helper takes the destination size and reports
 * truncation instead of silently cutting.
 */
#ifndef AURORA_UTIL_H
#define AURORA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/base64.h"

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

/* Lower-case hex.  Return the output length, or -1 (bad input / no room). */
int aur_hex_encode(const uint8_t *in, size_t len, char *out, size_t outsize);
int aur_hex_decode(const char *in, uint8_t *out, size_t outsize);

/* Random UUID v4 into @out (37 bytes); validate the textual form. */
int aur_uuid_generate(char out[37]);
bool aur_uuid_valid(const char *s);

/* ISO 8601 UTC ("2026-11-29T23:18:40Z"); parse back. */
void aur_time_iso(int64_t t, char out[32]);
int aur_time_parse_iso(const char *s, int64_t *t);
int64_t aur_now(void);

/*
 * Typed json-c look-ups.  Each returns 0, or -ENOENT (missing, only when
 * not optional) / -EINVAL (wrong type or out of range) with a message in
 * @err naming the field.
 */
int aur_json_get_str(struct json_object *o, const char *key, bool required,
		     const char **out, size_t maxlen, char *err, size_t errlen);
int aur_json_get_int64(struct json_object *o, const char *key, bool required,
		       int64_t min, int64_t max, int64_t *out, char *err, size_t errlen);
int aur_json_get_bool(struct json_object *o, const char *key, bool required,
		      bool *out, char *err, size_t errlen);
int aur_json_get_obj(struct json_object *o, const char *key, bool required,
		     struct json_object **out, char *err, size_t errlen);
int aur_json_get_array(struct json_object *o, const char *key, bool required,
		       size_t maxlen, struct json_object **out, char *err, size_t errlen);
/* Parse a whole NUL-terminated buffer as exactly one JSON object. */
struct json_object *aur_json_parse(const char *text, size_t len, char *err, size_t errlen);

/* Whole-file helpers.  aur_write_file_atomic: temp + fsync + rename + dir fsync. */
int aur_read_file(const char *path, size_t maxlen, char **out, size_t *outlen);
int aur_write_file_atomic(const char *path, const void *data, size_t len, int mode);
int aur_fsync_dir_of(const char *path);
int aur_mkdir_p(const char *path, int mode);

/* Full pread/pwrite: -errno, or -EIO on short transfer. */
int aur_pread_full(int fd, void *buf, size_t len, uint64_t off);
int aur_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif /* AURORA_UTIL_H */
