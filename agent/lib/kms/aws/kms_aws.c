// SPDX-License-Identifier: GPL-2.0
/* aurora: the AWS KMS provider (see kms_aws.h, Documentation/aws-kms.md). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <openssl/evp.h>

#include "kms/arn.h"
#include "kms/aws/aws_creds.h"
#include "config/config.h"
#include "kms/aws/http.h"
#include "kms/aws/kms_aws.h"
#include "kms/aws/sigv4.h"

#define AWS_JSON_DEPTH	16

struct aws_priv {
	struct aur_kms_aws_config cfg;
	struct aur_aws_creds creds;
	struct aur_http *http;
	struct aur_url url;
	char endpoint[512];
	unsigned int last_attempts;
	pthread_mutex_t lock;
};

/* Printable ASCII only: a server's message goes to logs. */
static void sanitize(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t i;

	if (!dlen)
		return;
	for (i = 0; i < slen && i + 1 < dlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = 0;
}

/* ---- config ---------------------------------------------------------- */

void aur_kms_aws_config_init(struct aur_kms_aws_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout_ms = 3000;
	cfg->timeout_ms = 10000;
	cfg->max_attempts = 5;
	cfg->retry_base_ms = 100;
	cfg->retry_max_delay_ms = 5000;
	cfg->retry_budget_ms = 30000;
	cfg->max_response = AUR_HTTP_DEFAULT_MAX_RESPONSE;
}

static int set_str(char *dst, size_t dlen, const char *v)
{
	if (strlen(v) >= dlen)
		return -EINVAL;
	strcpy(dst, v);
	return 0;
}

static int set_long(long *dst, const char *v, long min, long max)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < min || x > max)
		return -EINVAL;
	*dst = x;
	return 0;
}

int aur_kms_aws_config_set(struct aur_kms_aws_config *cfg, const char *name,
			   const char *value)
{
	long x;
	int r;

	if (!cfg || !name || !value)
		return -EINVAL;
#define S(n, f) if (!strcmp(name, n)) return set_str(cfg->f, sizeof(cfg->f), value)
	S("region", region);
	S("endpoint_url", endpoint);
	S("endpoint", endpoint);
	S("ca_bundle", ca_bundle);
	S("profile", profile);
	S("credentials_file", credentials_file);
	S("account", account);
	S("proxy", proxy);
#undef S
#define L(n, f, lo, hi) if (!strcmp(name, n)) return set_long(&cfg->f, value, lo, hi)
	L("connect_timeout_ms", connect_timeout_ms, 1, 600000);
	L("timeout_ms", timeout_ms, 1, 3600000);
	L("retry_base_ms", retry_base_ms, 0, 600000);
	L("retry_max_delay_ms", retry_max_delay_ms, 0, 600000);
	L("retry_budget_ms", retry_budget_ms, 0, 3600000);
#undef L
	if (!strcmp(name, "max_attempts")) {
		r = set_long(&x, value, 1, 100);
		if (!r)
			cfg->max_attempts = (unsigned int)x;
		return r;
	}
	if (!strcmp(name, "max_response")) {
		r = set_long(&x, value, 1024, 16L << 20);
		if (!r)
			cfg->max_response = (size_t)x;
		return r;
	}
	return -ENOENT;
}

/* ---- reply parsing --------------------------------------------------- */

static bool type_is_transient(enum aur_kms_err e)
{
	return e == AUR_KMS_E_THROTTLED || e == AUR_KMS_E_UNAVAILABLE;
}

enum aur_kms_err aur_kms_aws_parse_reply(const char *op, long http_status,
					 const char *error_type,
					 const char *body, size_t len,
					 struct json_object **json,
					 struct aur_kms_status *st)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *v;
	enum json_tokener_error jerr;
	enum aur_kms_err code;
	char type[128] = "", msg[160] = "";
	const char *bare;
	bool parsed = false;
	size_t end;

	*json = NULL;
	if (!op)
		op = "KMS";
	if (len > INT_MAX)
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, http_status, "reply too large");
	tok = json_tokener_new_ex(AWS_JSON_DEPTH);
	if (!tok)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, http_status, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len)
		o = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	/* The parser's scratch buffer held the strings, Plaintext included. */
	if (tok->pb && tok->pb->buf)
		explicit_bzero(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	if (o && jerr == json_tokener_success) {
		while (end < len && (body[end] == ' ' || body[end] == '\n' ||
				     body[end] == '\r' || body[end] == '\t'))
			end++;
		parsed = end == len && json_object_is_type(o, json_type_object);
	}
	if (!parsed && o) {
		json_object_put(o);
		o = NULL;
	}

	if (http_status >= 200 && http_status < 300) {
		if (!parsed)
			return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, http_status,
				    "%s reply (HTTP %ld, %zu bytes)",
				    len == 0 ? "empty" :
				    jerr == json_tokener_continue ? "truncated JSON" :
				    "malformed JSON", http_status, len);
		*json = o;
		aur_kms_ok(st);
		if (st)
			st->http_status = (int)http_status;
		return AUR_KMS_OK;
	}

	/* An error reply: the type from the body, else from the header. */
	if (parsed) {
		if (json_object_object_get_ex(o, "__type", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(type, sizeof(type), json_object_get_string(v),
				 (size_t)json_object_get_string_len(v));
		if ((json_object_object_get_ex(o, "message", &v) ||
		     json_object_object_get_ex(o, "Message", &v)) &&
		    json_object_is_type(v, json_type_string))
			sanitize(msg, sizeof(msg), json_object_get_string(v),
				 (size_t)json_object_get_string_len(v));
		json_object_put(o);
	}
	if (!type[0] && error_type && error_type[0])	/* "Type:http://..." */
		sanitize(type, sizeof(type), error_type, strcspn(error_type, ":"));

	if (type[0]) {
		code = aur_kms_err_from_type(type);
		if (code == AUR_KMS_OK)
			code = AUR_KMS_E_PROTOCOL;
	} else if (http_status == 429) {
		code = AUR_KMS_E_THROTTLED;
	} else if (http_status >= 500) {
		code = AUR_KMS_E_UNAVAILABLE;
	} else {
		code = AUR_KMS_E_PROTOCOL;
	}
	/* A server error is never a definitive answer about the key. */
	if (http_status >= 500 && !type_is_transient(code))
		code = AUR_KMS_E_UNAVAILABLE;
	if (http_status == 429)
		code = AUR_KMS_E_THROTTLED;
	if (!type[0] && code == AUR_KMS_E_PROTOCOL)
		return aur_kms_fail(st, code, http_status, "HTTP %ld without an error type%s",
				    http_status, parsed ? "" : " (body not JSON)");
	/* The error's name is prefixed by the caller: name the type only when it differs. */
	bare = strrchr(type, '#') ? strrchr(type, '#') + 1 : type;
	if (!type[0] || !strcmp(bare, aur_kms_err_name(code)))
		return aur_kms_fail(st, code, http_status, "%s%sHTTP %ld%s", msg,
				    msg[0] ? " (" : "", http_status, msg[0] ? ")" : "");
	return aur_kms_fail(st, code, http_status, "%s%s%s (HTTP %ld)", type,
			    msg[0] ? ": " : "", msg, http_status);
}

static bool get_str(struct json_object *o, const char *k, const char **s, size_t *n)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*n = (size_t)json_object_get_string_len(v);
	return true;
}

static bool copy_member(struct json_object *o, const char *k, char *dst, size_t dlen)
{
	const char *s;
	size_t n;

	if (!get_str(o, k, &s, &n) || n >= dlen || memchr(s, 0, n))
		return false;
	memcpy(dst, s, n);
	dst[n] = 0;
	return true;
}

/* Seconds since the epoch: JSON 1.1 sends numbers; accept numeric strings. */
static bool get_time(struct json_object *o, const char *k, int64_t *t)
{
	struct json_object *v;
	double d;

	if (!json_object_object_get_ex(o, k, &v))
		return false;
	switch (json_object_get_type(v)) {
	case json_type_int:
		*t = json_object_get_int64(v);
		return true;
	case json_type_double:
		d = json_object_get_double(v);
		break;
	case json_type_string: {
		char *end;
		const char *s = json_object_get_string(v);

		d = strtod(s, &end);
		if (end == s || *end)
			return false;
		break;
	}
	default:
		return false;
	}
	if (!isfinite(d) || d < -9.2e18 || d > 9.2e18)
		return false;
	*t = (int64_t)d;
	return true;
}

int aur_kms_aws_parse_arn(const char *arn, char *region, size_t rlen,
			  char *account, size_t alen)
{
	struct aur_arn a;

	if (aur_arn_parse(arn, &a) != AUR_ARN_OK || strlen(a.region) >= rlen ||
	    strlen(a.account) >= alen)
		return -EINVAL;
	memcpy(region, a.region, strlen(a.region) + 1);
	memcpy(account, a.account, strlen(a.account) + 1);
	return 0;
}

enum aur_kms_err aur_kms_aws_parse_key_metadata(struct json_object *reply,
						struct aur_kms_key_info *info,
						struct aur_kms_status *st)
{
	struct json_object *md, *v;
	char state[64];

	memset(info, 0, sizeof(*info));
	if (!json_object_object_get_ex(reply, "KeyMetadata", &md) ||
	    !json_object_is_type(md, json_type_object))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no KeyMetadata");
	if (!copy_member(md, "KeyId", info->key_id, sizeof(info->key_id)) ||
	    !copy_member(md, "Arn", info->arn, sizeof(info->arn)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "KeyId or Arn missing or too long");
	if (aur_kms_aws_parse_arn(info->arn, info->region, sizeof(info->region),
				  info->account, sizeof(info->account)) &&
	    !copy_member(md, "AWSAccountId", info->account, sizeof(info->account)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "malformed Arn");
	if (!copy_member(md, "KeyState", state, sizeof(state)))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no KeyState");
	info->state = aur_key_state_from_name(state);
	if (!json_object_object_get_ex(md, "Enabled", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no Enabled");
	info->enabled = json_object_get_boolean(v);
	if (json_object_object_get_ex(md, "CreationDate", &v) &&
	    !get_time(md, "CreationDate", &info->creation_date))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "bad CreationDate");
	if (json_object_object_get_ex(md, "DeletionDate", &v) &&
	    !json_object_is_type(v, json_type_null) &&
	    !get_time(md, "DeletionDate", &info->deletion_date))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "bad DeletionDate");
	{
		const char *s;
		size_t n;

		if (get_str(md, "Description", &s, &n))
			sanitize(info->description, sizeof(info->description), s, n);
	}
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

enum aur_kms_err aur_kms_aws_take_plaintext(struct json_object *reply, size_t want,
					    struct aur_secret **out,
					    struct aur_kms_status *st)
{
	const char *s;
	size_t n;
	long dl;
	struct aur_secret *sec;

	*out = NULL;
	if (!get_str(reply, "Plaintext", &s, &n))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no Plaintext in the reply");
	dl = aur_b64_decoded_len(s, n);
	if (dl <= 0 || (want && (size_t)dl != want)) {
		explicit_bzero((char *)s, n);
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "Plaintext: bad base64 or length (want %zu)", want);
	}
	sec = aur_secret_alloc((size_t)dl);
	if (!sec) {
		explicit_bzero((char *)s, n);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory for a key");
	}
	if (aur_b64_decode(s, n, sec->data, sec->len) != dl) {
		explicit_bzero((char *)s, n);
		aur_secret_free(sec);
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "Plaintext: bad base64");
	}
	/* The JSON string that carried the key: wiped in place. */
	explicit_bzero((char *)s, n);
	*out = sec;
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

enum aur_kms_err aur_kms_aws_take_blob(struct json_object *reply, const char *name,
				       struct aur_blob *blob,
				       struct aur_kms_status *st)
{
	const char *s;
	size_t n;
	long dl;

	blob->len = 0;
	if (!get_str(reply, name, &s, &n))
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200, "no %s in the reply", name);
	dl = aur_b64_decode(s, n, blob->data, sizeof(blob->data));
	if (dl <= 0)
		return aur_kms_fail(st, AUR_KMS_E_PROTOCOL, 200,
			    "%s: bad base64 or over %d bytes", name, AUR_BLOB_MAX);
	blob->len = (size_t)dl;
	aur_kms_ok(st);
	return AUR_KMS_OK;
}

/* ---- the exchange ---------------------------------------------------- */

long aur_kms_aws_backoff_ms(const struct aur_kms_aws_config *cfg,
			    unsigned int attempt, uint32_t rnd)
{
	long cap = cfg->retry_max_delay_ms, d = cfg->retry_base_ms;

	for (unsigned int i = 1; i < attempt && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (d <= 0)
		return 0;
	/* "Equal jitter": half fixed, half random. */
	return d / 2 + (long)(rnd % (uint32_t)(d / 2 + 1));
}

static uint32_t rnd32(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)random();
	return r;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static bool http_retryable(enum aur_http_result r)
{
	return r == AUR_HTTP_E_CONNECT || r == AUR_HTTP_E_TIMEOUT ||
	       r == AUR_HTTP_E_NETWORK || r == AUR_HTTP_E_TLS_HANDSHAKE;
}

static enum aur_kms_err http_kind(enum aur_http_result r)
{
	switch (r) {
	case AUR_HTTP_E_TOO_LARGE:
	case AUR_HTTP_E_TRUNCATED:
	case AUR_HTTP_E_MALFORMED:
		return AUR_KMS_E_PROTOCOL;
	case AUR_HTTP_E_BAD_URL:
		return AUR_KMS_E_INVALID_ARG;
	case AUR_HTTP_E_INTERNAL:
		return AUR_KMS_E_INTERNAL;
	default:
		return AUR_KMS_E_UNAVAILABLE;
	}
}

/* One operation: sign, send, classify, retry.  *@reply on success. */
static enum aur_kms_err aws_call(struct aws_priv *p, const char *op,
				 struct json_object *req, struct json_object **reply,
				 struct aur_kms_status *st)
{
	const char *body = json_object_to_json_string_ext(req,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t blen = body ? strlen(body) : 0;
	char target[64], h_host[320], h_date[32], h_target[96];
	char *h_auth = NULL, *h_token = NULL;
	long start = now_ms();
	enum aur_kms_err code = AUR_KMS_E_INTERNAL;
	unsigned int attempt;

	*reply = NULL;
	if (!body)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	snprintf(target, sizeof(target), "TrentService.%s", op);
	pthread_mutex_lock(&p->lock);
	for (attempt = 1;; attempt++) {
		struct aur_sigv4_header sh[] = {
			{ "Content-Type", "application/x-amz-json-1.1" },
			{ "X-Amz-Target", target },
		};
		struct aur_sigv4_request rq = {
			.method = "POST", .path = p->url.path, .query = p->url.query,
			.host = p->url.host_header, .headers = sh, .n_headers = 2,
			.body = body, .body_len = blen,
		};
		const char *tok = p->creds.session_token ?
				  (const char *)p->creds.session_token->data : NULL;
		struct aur_sigv4_params sp = {
			.region = p->cfg.region, .service = "kms",
			.access_key = p->creds.access_key,
			.secret_key = p->creds.secret_key->data,
			.secret_len = p->creds.secret_key->len,
			.session_token = tok,
		};
		struct aur_sigv4_result sr;
		struct aur_http_response resp;
		enum aur_http_result hr;
		const char *hdrs[6];
		size_t nh = 0, alen;
		char amz_date[17], herr[200];
		bool retry;
		long delay;

		aur_sigv4_amz_date(time(NULL), amz_date);
		sp.amz_date = amz_date;
		if (aur_sigv4_sign(&rq, &sp, &sr)) {
			code = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "signing failed");
			break;
		}
		alen = strlen(sr.authorization) + 32;
		h_auth = malloc(alen);
		if (tok) {
			h_token = malloc(strlen(tok) + 32);
			if (h_token)
				sprintf(h_token, "X-Amz-Security-Token: %s", tok);
		}
		if (!h_auth || (tok && !h_token)) {
			aur_sigv4_result_free(&sr);
			free(h_auth);
			h_auth = NULL;
			if (h_token) {
				explicit_bzero(h_token, strlen(h_token));
				free(h_token);
				h_token = NULL;
			}
			code = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
			break;
		}
		snprintf(h_auth, alen, "Authorization: %s", sr.authorization);
		aur_sigv4_result_free(&sr);
		snprintf(h_host, sizeof(h_host), "Host: %s", p->url.host_header);
		snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", amz_date);
		snprintf(h_target, sizeof(h_target), "X-Amz-Target: %s", target);
		hdrs[nh++] = h_host;
		hdrs[nh++] = "Content-Type: application/x-amz-json-1.1";
		hdrs[nh++] = h_target;
		hdrs[nh++] = h_date;
		if (h_token)
			hdrs[nh++] = h_token;
		hdrs[nh++] = h_auth;

		hr = aur_http_post(p->http, p->endpoint, hdrs, nh, body, blen,
				   &resp, herr, sizeof(herr));
		explicit_bzero(h_auth, strlen(h_auth));
		free(h_auth);
		h_auth = NULL;
		if (h_token) {
			explicit_bzero(h_token, strlen(h_token));
			free(h_token);
			h_token = NULL;
		}
		if (hr == AUR_HTTP_OK) {
			code = aur_kms_aws_parse_reply(op, resp.status, resp.error_type,
						       (const char *)resp.body->data,
						       resp.body_len, reply, st);
			aur_http_response_free(&resp);
			retry = type_is_transient(code);
		} else {
			code = aur_kms_fail(st, http_kind(hr), 0, "%s", herr);
			retry = http_retryable(hr);
		}
		if (code == AUR_KMS_OK || !retry || attempt >= p->cfg.max_attempts)
			break;
		delay = aur_kms_aws_backoff_ms(&p->cfg, attempt, rnd32());
		if (now_ms() - start + delay > p->cfg.retry_budget_ms)
			break;
		sleep_ms(delay);
	}
	p->last_attempts = attempt;
	pthread_mutex_unlock(&p->lock);
	if (code != AUR_KMS_OK && st && attempt > 1) {
		size_t l = strlen(st->message);

		snprintf(st->message + l, sizeof(st->message) - l,
			 " [after %u attempts]", attempt);
	}
	return code;
}

static struct aws_priv *priv_of(struct aur_kms *kms)
{
	return kms->priv;
}

static int add_ctx(struct json_object *req, const char *name,
		   const struct aur_enc_ctx *ctx)
{
	struct json_object *o;

	if (!ctx || ctx->n == 0)
		return 0;
	if (ctx->n > AUR_ENC_CTX_MAX)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->n; i++)
		json_object_object_add(o, ctx->kv[i].key,
				       json_object_new_string(ctx->kv[i].value));
	json_object_object_add(req, name, o);
	return 0;
}

static int add_blob(struct json_object *req, const char *name,
		    const struct aur_blob *b)
{
	char *s;

	if (!b || b->len == 0 || b->len > AUR_BLOB_MAX)
		return -EINVAL;
	s = malloc(aur_base64_encoded_size(b->len));
	if (!s)
		return -ENOMEM;
	aur_base64_encode(b->data, b->len, s, aur_base64_encoded_size(b->len));
	json_object_object_add(req, name, json_object_new_string(s));
	free(s);
	return 0;
}

static bool valid_key_id(const char *k)
{
	return k && k[0] && strlen(k) < 2048;
}

static void take_arn(struct json_object *reply, const char *name, char *dst)
{
	if (dst && !copy_member(reply, name, dst, AUR_ARN_MAX))
		dst[0] = 0;
}

static enum aur_kms_err aws_describe_key(struct aur_kms *kms, const char *key_id,
					 struct aur_kms_key_info *info,
					 struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;

	if (!valid_key_id(key_id) || !info)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "no key id");
	req = json_object_new_object();
	if (!req)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	json_object_object_add(req, "KeyId", json_object_new_string(key_id));
	e = aws_call(priv_of(kms), "DescribeKey", req, &reply, st);
	json_object_put(req);
	if (e)
		return e;
	e = aur_kms_aws_parse_key_metadata(reply, info, st);
	json_object_put(reply);
	return e;
}

static enum aur_kms_err aws_generate_data_key(struct aur_kms *kms, const char *key_id,
					      const struct aur_enc_ctx *ctx, size_t nbytes,
					      struct aur_secret **plaintext,
					      struct aur_blob *wrapped, char *key_arn,
					      struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;

	*plaintext = NULL;
	if (!valid_key_id(key_id) || nbytes < 1 || nbytes > 1024 || !wrapped)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			    "GenerateDataKey: bad key id or size %zu", nbytes);
	req = json_object_new_object();
	if (!req)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	json_object_object_add(req, "KeyId", json_object_new_string(key_id));
	json_object_object_add(req, "NumberOfBytes", json_object_new_int((int)nbytes));
	if (add_ctx(req, "EncryptionContext", ctx)) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad encryption context");
	}
	e = aws_call(priv_of(kms), "GenerateDataKey", req, &reply, st);
	json_object_put(req);
	if (e)
		return e;
	e = aur_kms_aws_take_blob(reply, "CiphertextBlob", wrapped, st);
	if (!e)
		e = aur_kms_aws_take_plaintext(reply, nbytes, plaintext, st);
	else
		(void)aur_kms_aws_take_plaintext(reply, nbytes, plaintext, NULL);
	if (e && *plaintext) {
		aur_secret_free(*plaintext);
		*plaintext = NULL;
	}
	if (!e)
		take_arn(reply, "KeyId", key_arn);
	json_object_put(reply);
	return e;
}

static enum aur_kms_err aws_decrypt(struct aur_kms *kms, const char *key_id,
				    const struct aur_enc_ctx *ctx,
				    const struct aur_blob *wrapped,
				    struct aur_secret **plaintext, char *key_arn,
				    struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;

	*plaintext = NULL;
	req = json_object_new_object();
	if (!req)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	if (add_blob(req, "CiphertextBlob", wrapped) ||
	    add_ctx(req, "EncryptionContext", ctx)) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad blob or context");
	}
	if (key_id && key_id[0])
		json_object_object_add(req, "KeyId", json_object_new_string(key_id));
	e = aws_call(priv_of(kms), "Decrypt", req, &reply, st);
	json_object_put(req);
	if (e)
		return e;
	e = aur_kms_aws_take_plaintext(reply, 0, plaintext, st);
	if (!e)
		take_arn(reply, "KeyId", key_arn);
	json_object_put(reply);
	return e;
}

static enum aur_kms_err aws_re_encrypt(struct aur_kms *kms,
				       const char *src_key_id,
				       const struct aur_enc_ctx *src_ctx,
				       const struct aur_blob *src,
				       const char *dst_key_id,
				       const struct aur_enc_ctx *dst_ctx,
				       struct aur_blob *dst, char *dst_key_arn,
				       struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;

	if (!valid_key_id(dst_key_id) || !dst)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "no destination key");
	req = json_object_new_object();
	if (!req)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	if (add_blob(req, "CiphertextBlob", src) ||
	    add_ctx(req, "SourceEncryptionContext", src_ctx) ||
	    add_ctx(req, "DestinationEncryptionContext", dst_ctx)) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad blob or context");
	}
	if (src_key_id && src_key_id[0])
		json_object_object_add(req, "SourceKeyId", json_object_new_string(src_key_id));
	json_object_object_add(req, "DestinationKeyId", json_object_new_string(dst_key_id));
	e = aws_call(priv_of(kms), "ReEncrypt", req, &reply, st);
	json_object_put(req);
	if (e)
		return e;
	e = aur_kms_aws_take_blob(reply, "CiphertextBlob", dst, st);
	if (!e)
		take_arn(reply, "KeyId", dst_key_arn);
	json_object_put(reply);
	return e;
}

static void aws_destroy(struct aur_kms *kms)
{
	struct aws_priv *p;

	if (!kms)
		return;
	p = kms->priv;
	if (p) {
		aur_http_free(p->http);
		aur_aws_creds_clear(&p->creds);
		pthread_mutex_destroy(&p->lock);
		explicit_bzero(p, sizeof(*p));
		free(p);
	}
	free(kms);
}

static const struct aur_kms_ops aws_ops = {
	.name = "aws",
	.describe_key = aws_describe_key,
	.generate_data_key = aws_generate_data_key,
	.decrypt = aws_decrypt,
	.re_encrypt = aws_re_encrypt,
	.destroy = aws_destroy,
};

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static bool valid_region(const char *r)
{
	if (!r[0])
		return false;
	for (; *r; r++)
		if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
			return false;
	return true;
}

enum aur_kms_err aur_kms_aws_create(struct aur_kms **out,
				    const struct aur_kms_aws_config *cfg,
				    struct aur_kms_status *st)
{
	struct aur_http_config hc = { 0 };
	struct aur_kms *kms = NULL;
	struct aws_priv *p = NULL;
	char err[200];
	const char *v;
	enum aur_kms_err e;
	int r;

	*out = NULL;
	if (!cfg)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "aws: no configuration");
	kms = calloc(1, sizeof(*kms));
	p = calloc(1, sizeof(*p));
	if (!kms || !p) {
		free(kms);
		free(p);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "aws: out of memory");
	}
	pthread_mutex_init(&p->lock, NULL);
	kms->ops = &aws_ops;
	kms->priv = p;
	p->cfg = *cfg;
	if (!p->cfg.max_attempts)
		p->cfg.max_attempts = 1;

	if (!p->cfg.region[0]) {
		v = env_nonempty("AWS_REGION");
		if (!v)
			v = env_nonempty("AWS_DEFAULT_REGION");
		if (v && strlen(v) < sizeof(p->cfg.region))
			strcpy(p->cfg.region, v);
	}
	if (!valid_region(p->cfg.region)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "aws: no or bad region (config region, AWS_REGION)");
		goto fail;
	}
	if (p->cfg.endpoint[0]) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", p->cfg.endpoint);
	} else if ((v = env_nonempty("AWS_ENDPOINT_URL_KMS")) ||
		   (v = env_nonempty("AWS_ENDPOINT_URL"))) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", v);
	} else {
		snprintf(p->endpoint, sizeof(p->endpoint), "https://kms.%s.%s/",
			 p->cfg.region, strncmp(p->cfg.region, "cn-", 3) ?
			 "amazonaws.com" : "amazonaws.com.cn");
	}
	if (aur_http_split_url(p->endpoint, &p->url)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "aws: bad endpoint URL (http:// or https:// only): %.180s",
			 p->endpoint);
		goto fail;
	}
	if (!p->cfg.ca_bundle[0] && (v = env_nonempty("AWS_CA_BUNDLE")))
		snprintf(p->cfg.ca_bundle, sizeof(p->cfg.ca_bundle), "%s", v);

	r = aur_aws_creds_load(&p->creds, p->cfg.profile, p->cfg.credentials_file,
			       err, sizeof(err));
	if (r) {
		/* No credentials is a configuration error, never a revocation. */
		e = aur_kms_fail(st, r == -ENOMEM ? AUR_KMS_E_INTERNAL : AUR_KMS_E_INVALID_ARG,
			 0, "aws: %s", err);
		goto fail;
	}
	hc.ca_bundle = p->cfg.ca_bundle[0] ? p->cfg.ca_bundle : NULL;
	hc.proxy = p->cfg.proxy[0] ? p->cfg.proxy : NULL;
	hc.connect_timeout_ms = p->cfg.connect_timeout_ms;
	hc.total_timeout_ms = p->cfg.timeout_ms;
	hc.max_response = p->cfg.max_response;
	p->http = aur_http_new(&hc);
	if (!p->http) {
		e = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "aws: cannot set up libcurl");
		goto fail;
	}
	snprintf(kms->region, sizeof(kms->region), "%s", p->cfg.region);
	snprintf(kms->account, sizeof(kms->account), "%s", p->cfg.account);
	aur_kms_ok(st);
	*out = kms;
	return AUR_KMS_OK;
fail:
	aws_destroy(kms);
	return e;
}

unsigned int aur_kms_aws_last_attempts(const struct aur_kms *kms)
{
	const struct aws_priv *p = kms ? kms->priv : NULL;

	return p ? p->last_attempts : 0;
}

const char *aur_kms_aws_endpoint(const struct aur_kms *kms)
{
	const struct aws_priv *p = kms ? kms->priv : NULL;

	return p ? p->endpoint : NULL;
}

int aur_kms_aws_new(const struct aur_config *cfg, struct aur_kms **out,
		    struct aur_kms_status *st)
{
	struct aur_kms_aws_config ac;
	enum aur_kms_err e;

	*out = NULL;
	if (!cfg) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "aws: no configuration");
		return -EINVAL;
	}
	aur_kms_aws_config_init(&ac);
	snprintf(ac.region, sizeof(ac.region), "%s", cfg->region);
	snprintf(ac.account, sizeof(ac.account), "%s", cfg->account);
	if (snprintf(ac.endpoint, sizeof(ac.endpoint), "%s", cfg->endpoint) >=
		    (int)sizeof(ac.endpoint) ||
	    snprintf(ac.ca_bundle, sizeof(ac.ca_bundle), "%s", cfg->ca_bundle) >=
		    (int)sizeof(ac.ca_bundle)) {
		aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "aws: endpoint or ca_bundle too long");
		return -EINVAL;
	}
	snprintf(ac.profile, sizeof(ac.profile), "%s", cfg->profile);
	if (cfg->connect_timeout)
		ac.connect_timeout_ms = (long)cfg->connect_timeout * 1000;
	if (cfg->timeout)
		ac.timeout_ms = (long)cfg->timeout * 1000;
	e = aur_kms_aws_create(out, &ac, st);
	switch (e) {
	case AUR_KMS_OK:
		return 0;
	case AUR_KMS_E_INTERNAL:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}
