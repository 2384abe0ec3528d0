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

#include "aurora/aurora.h"
#include "util/base64.h"

/* Lower-case hex.  Return the output length, or -1 (bad input / no room). */
int aur_hex_encode(const uint8_t *in, size_t len, char *out, size_t outsize);
int aur_hex_decode(const char *in, uint8_t *out, size_t outsize);

/* Random UUID v4 into @out (37 bytes); validate the textual form. */
int aur_uuid_generate(char out[37]);
bool aur_uuid_valid(const char *s);

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
int aur_write_file_atomic(const char *path, const void *data, size_t len, int mode);
int aur_fsync_dir_of(const char *path);
int aur_mkdir_p(const char *path, int mode);

/* Full pread/pwrite: -errno, or -EIO on short transfer. */
int aur_pread_full(int fd, void *buf, size_t len, uint64_t off);
int aur_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

#endif /* AURORA_UTIL_H */
