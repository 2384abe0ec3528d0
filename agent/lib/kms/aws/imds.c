// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: AWS credentials from the EC2 instance metadata service, IMDSv2
 * (see aws_creds.h):
 *   PUT  /latest/api/token            X-aws-ec2-metadata-token-ttl-seconds
 *   GET  /latest/meta-data/iam/security-credentials/         -> role name
 *   GET  /latest/meta-data/iam/security-credentials/<role>   -> JSON
 * the two GETs with X-aws-ec2-metadata-token.  Short timeouts: a host
 * without an instance metadata service is not slowed down.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "kms/aws/aws_creds.h"

#define IMDS_MAX_REPLY	8192
#define IMDS_MAX_TOKEN	1024	/* a session token (56 characters today) */

struct sink {
	struct aur_secret *buf;		/* IMDS_MAX_REPLY + 1, NUL-terminated */
	size_t len;
	bool overflow;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (s->len + n > IMDS_MAX_REPLY) {
		s->overflow = true;
		return 0;
	}
	memcpy(s->buf->data + s->len, ptr, n);
	s->len += n;
	s->buf->data[s->len] = 0;
	return n;
}

/*
 * One request: @method, @url, optional header @hdr; reply body in @s.
 * Returns the HTTP status, or -1 with @err set.
 */
static long imds_request(const char *method, const char *url, const char *hdr,
			 long connect_ms, long total_ms, struct sink *s, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = -1;

	s->len = 0;
	s->overflow = false;
	s->buf->data[0] = 0;
	if (!c) {
		snprintf(err, errlen, "instance metadata: cannot set up libcurl");
		return -1;
	}
	if (hdr)
		h = curl_slist_append(NULL, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "instance metadata %s: %s%s", url, curl_easy_strerror(rc),
			 s->overflow ? " (reply too large)" : "");
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return status;
}

/* "2026-12-03T15:04:05Z" (fractional seconds allowed) -> seconds since the epoch. */
static bool parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	s += n;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (strcmp(s, "Z") && strcmp(s, "+00:00"))
		return false;
	if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return true;
}

static bool member(struct json_object *o, const char *k, const char **s, size_t *n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return *n > 0 && !memchr(*s, 0, *n);
}

int aur_aws_imds_parse(const char *text, size_t len, struct aur_aws_creds *c,
		       char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o = NULL;
	const char *ak, *sk, *tk, *ex, *code;
	size_t akl, skl, tkl, exl, codel;
	char exp[64];
	int r = -EINVAL;

	memset(c, 0, sizeof(*c));
	if (len > IMDS_MAX_REPLY || len > 0x7fffffff) {
		snprintf(err, errlen, "instance metadata credentials: reply too large");
		return -EINVAL;
	}
	tok = json_tokener_new_ex(8);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
		  json_tokener_get_parse_end(tok) != len))
		r = -EINVAL;
	else if (o)
		r = 0;
	/* The parser's scratch buffer held the secret key. */
	if (tok->pb && tok->pb->buf)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	if (r || !json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "instance metadata credentials: not a JSON object");
		r = -EINVAL;
		goto out;
	}
	r = -EINVAL;
	if (member(o, "Code", &code, &codel) && strcmp(code, "Success")) {
		snprintf(err, errlen, "instance metadata credentials: Code is not Success");
		goto out;
	}
	if (!member(o, "AccessKeyId", &ak, &akl) || !member(o, "SecretAccessKey", &sk, &skl) ||
	    !member(o, "Token", &tk, &tkl) || !member(o, "Expiration", &ex, &exl)) {
		snprintf(err, errlen, "instance metadata credentials: AccessKeyId, SecretAccessKey, Token or Expiration missing");
		goto out;
	}
	if (exl >= sizeof(exp)) {
		snprintf(err, errlen, "instance metadata credentials: bad Expiration");
		goto out;
	}
	memcpy(exp, ex, exl + 1);
	if (!parse_iso8601(exp, &c->expiration)) {
		snprintf(err, errlen, "instance metadata credentials: bad Expiration");
		goto out;
	}
	if (akl >= sizeof(c->access_key)) {
		snprintf(err, errlen, "instance metadata credentials: bad AccessKeyId");
		goto out;
	}
	memcpy(c->access_key, ak, akl + 1);
	c->secret_key = aur_secret_alloc(skl);
	c->session_token = aur_secret_alloc(tkl + 1);
	if (!c->secret_key || !c->session_token) {
		snprintf(err, errlen, "cannot lock memory for the credentials");
		r = -ENOMEM;
		goto out;
	}
	memcpy(c->secret_key->data, sk, skl);
	memcpy(c->session_token->data, tk, tkl);
	c->session_token->data[tkl] = 0;
	c->session_token->len = tkl;
	r = 0;
out:
	if (o) {
		/* Wipe the strings json-c copied the secrets into. */
		if (json_object_is_type(o, json_type_object)) {
			const char *s;
			size_t n;

			if (member(o, "SecretAccessKey", &s, &n))
				explicit_bzero((char *)s, n);
			if (member(o, "Token", &s, &n))
				explicit_bzero((char *)s, n);
		}
		json_object_put(o);
	}
	if (r)
		aur_aws_creds_clear(c);
	return r;
}

static bool imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");

	return v && !strcasecmp(v, "true");
}

int aur_aws_imds_fetch(struct aur_aws_creds *c, long connect_ms, long total_ms,
		       char *err, size_t errlen)
{
	const char *base = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	char url[600], role[256];
	struct aur_secret *token = NULL;
	struct sink s = { 0 };
	size_t bl, i;
	long status;
	int r = -ENOENT;

	memset(c, 0, sizeof(*c));
	if (imds_disabled()) {
		snprintf(err, errlen, "instance metadata disabled (AWS_EC2_METADATA_DISABLED)");
		return -ENOENT;
	}
	if (!base || !base[0])
		base = "http://169.254.169.254";
	bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl > 400) {
		snprintf(err, errlen, "AWS_EC2_METADATA_SERVICE_ENDPOINT too long");
		return -EINVAL;
	}
	s.buf = aur_secret_alloc(IMDS_MAX_REPLY + 1);
	if (!s.buf) {
		snprintf(err, errlen, "cannot lock memory for the credentials");
		return -ENOMEM;
	}
	/* 1. The session token. */
	snprintf(url, sizeof(url), "%.*s/latest/api/token", (int)bl, base);
	status = imds_request("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600",
			      connect_ms, total_ms, &s, err, errlen);
	if (status != 200 || s.len == 0 || s.len > IMDS_MAX_TOKEN ||
	    memchr(s.buf->data, '\n', s.len) || memchr(s.buf->data, '\r', s.len)) {
		if (status >= 0)
			snprintf(err, errlen, "instance metadata token (PUT %s): HTTP %ld", url, status);
		goto out;
	}
	token = aur_secret_alloc(IMDS_MAX_TOKEN + 40);
	if (!token) {
		r = -ENOMEM;
		goto out;
	}
	snprintf((char *)token->data, token->len, "X-aws-ec2-metadata-token: %.*s",
		 (int)s.len, (const char *)s.buf->data);
	/* 2. The role. */
	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/", (int)bl, base);
	status = imds_request("GET", url, (const char *)token->data, connect_ms, total_ms, &s,
			      err, errlen);
	if (status != 200 || s.len == 0) {
		if (status >= 0)
			snprintf(err, errlen, "instance metadata: no IAM role (GET %s: HTTP %ld)", url,
				 status);
		goto out;
	}
	for (i = 0; i < s.len && s.buf->data[i] != '\n' && s.buf->data[i] != '\r'; i++)
		;
	if (i == 0 || i >= sizeof(role)) {
		snprintf(err, errlen, "instance metadata: bad role name");
		r = -EINVAL;
		goto out;
	}
	memcpy(role, s.buf->data, i);
	role[i] = 0;
	for (i = 0; role[i]; i++)
		if (!((role[i] >= 'a' && role[i] <= 'z') || (role[i] >= 'A' && role[i] <= 'Z') ||
		      (role[i] >= '0' && role[i] <= '9') || strchr("+=,.@_-", role[i]))) {
			snprintf(err, errlen, "instance metadata: bad role name");
			r = -EINVAL;
			goto out;
		}
	/* 3. The role's credentials. */
	snprintf(url, sizeof(url), "%.*s/latest/meta-data/iam/security-credentials/%s",
		 (int)bl, base, role);
	status = imds_request("GET", url, (const char *)token->data, connect_ms, total_ms, &s,
			      err, errlen);
	if (status != 200) {
		if (status >= 0)
			snprintf(err, errlen, "instance metadata credentials of role %s: HTTP %ld",
				 role, status);
		goto out;
	}
	r = aur_aws_imds_parse((const char *)s.buf->data, s.len, c, err, errlen);
	if (!r)
		snprintf(c->source, sizeof(c->source), "instance-metadata:%.100s", role);
out:
	aur_secret_free(token);
	aur_secret_free(s.buf);
	return r;
}
