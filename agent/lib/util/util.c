// SPDX-License-Identifier: GPL-2.0
/* aurora: small helpers (see util.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/util.h"

static const char *log_ident = "aurora";
static bool log_syslog;
static enum aur_log_level log_level = AUR_LOG_INFO;

void aur_log_init(const char *ident, bool use_syslog, enum aur_log_level level)
{
	if (ident)
		log_ident = ident;
	log_syslog = use_syslog;
	log_level = level;
	if (use_syslog)
		openlog(log_ident, LOG_PID, LOG_DAEMON);
}

void aur_log_set_level(enum aur_log_level level)
{
	log_level = level;
}

void aur_log(enum aur_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char buf[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s\n", log_ident, names[level], buf);
	if (log_syslog)
		syslog(prio[level], "%s", buf);
}

void aur_error_set(struct aur_error *e, int exit_code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	e->exit_code = exit_code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

void aur_error_clear(struct aur_error *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

int aur_strcpy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return -ENAMETOOLONG;
	if (!src)
		src = "";
	n = strlen(src);
	if (n >= size) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int aur_snprintf(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

bool aur_str_has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

char *aur_strtrim(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int aur_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int aur_hex_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	if (outsize < 2 * len + 1)
		return -1;
	for (i = 0; i < len; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * len] = '\0';
	return (int)(2 * len);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aur_hex_decode(const char *in, uint8_t *out, size_t outsize)
{
	size_t len = strlen(in), i;

	if (len % 2 || len / 2 > outsize)
		return -1;
	for (i = 0; i < len / 2; i++) {
		int h = hexval(in[2 * i]), l = hexval(in[2 * i + 1]);

		if (h < 0 || l < 0)
			return -1;
		out[i] = (uint8_t)(h << 4 | l);
	}
	return (int)(len / 2);
}

int aur_uuid_generate(char out[37])
{
	uint8_t b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -EIO;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

bool aur_uuid_valid(const char *s)
{
	int i;

	if (!s || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return true;
}

void aur_time_iso(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "@%lld", (long long)t);
}

int aur_time_parse_iso(const char *s, int64_t *t)
{
	struct tm tm;
	const char *e;

	memset(&tm, 0, sizeof(tm));
	e = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!e || *e)
		return -EINVAL;
	*t = (int64_t)timegm(&tm);
	return 0;
}

int64_t aur_now(void)
{
	return (int64_t)time(NULL);
}

static void jerr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void jerr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * The value of @key in @o if it has JSON type @type (@what names it for the
 * message): 1 with *v set; 0 when absent or null and not @required;
 * -ENOENT or -EINVAL with a message in @err otherwise.
 */
static int json_field(struct json_object *o, const char *key, bool required,
		      enum json_type type, const char *what, struct json_object **v,
		      char *err, size_t errlen)
{
	if (!o || !json_object_object_get_ex(o, key, v) || json_object_is_type(*v, json_type_null)) {
		if (!required)
			return 0;
		jerr(err, errlen, "missing field \"%s\"", key);
		return -ENOENT;
	}
	if (!json_object_is_type(*v, type)) {
		jerr(err, errlen, "field \"%s\" is not %s", key, what);
		return -EINVAL;
	}
	return 1;
}

int aur_json_get_str(struct json_object *o, const char *key, bool required,
		     const char **out, size_t maxlen, char *err, size_t errlen)
{
	struct json_object *v;
	int r;

	*out = NULL;
	r = json_field(o, key, required, json_type_string, "a string", &v, err, errlen);
	if (r <= 0)
		return r;
	if ((size_t)json_object_get_string_len(v) > maxlen ||
	    strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		jerr(err, errlen, "field \"%s\" is too long or holds NUL", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

int aur_json_get_int64(struct json_object *o, const char *key, bool required,
		       int64_t min, int64_t max, int64_t *out, char *err, size_t errlen)
{
	struct json_object *v;
	int r;
	int64_t x;

	r = json_field(o, key, required, json_type_int, "an integer", &v, err, errlen);
	if (r <= 0)
		return r;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max) {
		jerr(err, errlen, "field \"%s\" is out of range", key);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

int aur_json_get_bool(struct json_object *o, const char *key, bool required,
		      bool *out, char *err, size_t errlen)
{
	struct json_object *v;
	int r;

	r = json_field(o, key, required, json_type_boolean, "a boolean", &v, err, errlen);
	if (r <= 0)
		return r;
	*out = json_object_get_boolean(v);
	return 0;
}

int aur_json_get_obj(struct json_object *o, const char *key, bool required,
		     struct json_object **out, char *err, size_t errlen)
{
	struct json_object *v;
	int r;

	*out = NULL;
	r = json_field(o, key, required, json_type_object, "an object", &v, err, errlen);
	if (r <= 0)
		return r;
	*out = v;
	return 0;
}

int aur_json_get_array(struct json_object *o, const char *key, bool required,
		       size_t maxlen, struct json_object **out, char *err, size_t errlen)
{
	struct json_object *v;
	int r;

	*out = NULL;
	r = json_field(o, key, required, json_type_array, "an array", &v, err, errlen);
	if (r <= 0)
		return r;
	if (json_object_array_length(v) > maxlen) {
		jerr(err, errlen, "field \"%s\" has too many elements", key);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

struct json_object *aur_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error je;

	if (len > INT_MAX || memchr(text, '\0', len)) {
		if (err)
			snprintf(err, errlen, "JSON text holds a NUL byte or is too large");
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok) {
		if (err)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	je = json_tokener_get_error(tok);
	if (!o || je != json_tokener_success) {
		if (err)
			snprintf(err, errlen, "JSON syntax error: %s",
				 je == json_tokener_continue ? "truncated" :
				 json_tokener_error_desc(je));
		json_object_put(o);
		json_tokener_free(tok);
		return NULL;
	}
	if (json_tokener_get_parse_end(tok) != len) {
		size_t i;

		for (i = json_tokener_get_parse_end(tok); i < len; i++) {
			if (!isspace((unsigned char)text[i])) {
				if (err)
					snprintf(err, errlen, "trailing data after JSON");
				json_object_put(o);
				json_tokener_free(tok);
				return NULL;
			}
		}
	}
	json_tokener_free(tok);
	if (!json_object_is_type(o, json_type_object)) {
		if (err)
			snprintf(err, errlen, "JSON text is not an object");
		json_object_put(o);
		return NULL;
	}
	return o;
}

int aur_read_file(const char *path, size_t maxlen, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > maxlen) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	if (outlen)
		*outlen = got;
	return 0;
}

int aur_fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	if (aur_strcpy(dir, sizeof(dir), path))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		aur_strcpy(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		r = -errno;
	close(fd);
	return r;
}

int aur_write_file_atomic(const char *path, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t done = 0;
	int fd, r;

	if (aur_snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return aur_fsync_dir_of(path);
fail:
	r = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

int aur_mkdir_p(const char *path, int mode)
{
	char buf[PATH_MAX];
	char *p;

	if (aur_strcpy(buf, sizeof(buf), path))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The loop of aur_pread_full() (@rbuf) and aur_pwrite_full() (@wbuf). */
static int rw_full(int fd, uint8_t *rbuf, const uint8_t *wbuf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = rbuf ? pread(fd, rbuf + done, len - done, (off_t)(off + done)) :
				   pwrite(fd, wbuf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int aur_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return rw_full(fd, buf, NULL, len, off);
}

int aur_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	return rw_full(fd, NULL, buf, len, off);
}
