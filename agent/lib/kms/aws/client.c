// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the AWS KMS provider: the signed, retried exchange and the four
 * provider operations (see kms_aws.h, Documentation/aws-kms.md).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "config/config.h"
#include "kms/arn.h"
#include "kms/aws/aws_creds.h"
#include "kms/aws/http.h"
#include "kms/aws/kms_aws.h"
#include "kms/aws/sigv4.h"

struct aws_priv {
	struct aur_kms_aws_config cfg;
	struct aur_aws_creds creds;	/* the last loaded (see load_creds) */
	struct aur_http *http;
	struct aur_url url;
	char endpoint[512];		/* the default region's endpoint */
	bool endpoint_fixed;		/* configured: every region's requests go there */
	unsigned int last_attempts;
	pthread_mutex_t lock;
};

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

/* Where one request goes and how it is signed: the key ARN's region. */
struct route {
	char region[AUR_REGION_MAX];
	char endpoint[512];
	struct aur_url url;
};

static bool valid_region(const char *r);

/* The endpoint domain of an AWS partition; NULL for one we do not know. */
static const char *partition_domain(const char *partition)
{
	if (!strcmp(partition, "aws") || !strcmp(partition, "aws-us-gov"))
		return "amazonaws.com";
	if (!strcmp(partition, "aws-cn"))
		return "amazonaws.com.cn";
	if (!strcmp(partition, "aws-iso"))
		return "c2s.ic.gov";
	if (!strcmp(partition, "aws-iso-b"))
		return "sc2s.sgov.gov";
	return NULL;
}

/* The partition a bare region name belongs to. */
static const char *region_partition(const char *region)
{
	if (!strncmp(region, "cn-", 3))
		return "aws-cn";
	if (!strncmp(region, "us-gov-", 7))
		return "aws-us-gov";
	if (!strncmp(region, "us-isob-", 8))
		return "aws-iso-b";
	if (!strncmp(region, "us-iso-", 7))
		return "aws-iso";
	return "aws";
}

int aur_kms_aws_route(const char *default_region, const char *fixed_endpoint,
		      const char *key_id, char *region, size_t rlen,
		      char *endpoint, size_t elen)
{
	const char *part, *dom;
	struct aur_arn a;

	if (key_id && !strncmp(key_id, "arn:", 4)) {
		if (aur_arn_parse(key_id, &a) != AUR_ARN_OK || !valid_region(a.region))
			return -EINVAL;
		if (snprintf(region, rlen, "%s", a.region) >= (int)rlen)
			return -EINVAL;
		part = a.partition;
	} else {
		if (snprintf(region, rlen, "%s", default_region) >= (int)rlen)
			return -EINVAL;
		part = region_partition(default_region);
	}
	if (fixed_endpoint && fixed_endpoint[0])
		return snprintf(endpoint, elen, "%s", fixed_endpoint) >= (int)elen ? -EINVAL : 0;
	dom = partition_domain(part);
	if (!dom)
		return -ENOENT;
	return snprintf(endpoint, elen, "https://kms.%s.%s/", region, dom) >= (int)elen ?
	       -EINVAL : 0;
}

static enum aur_kms_err route_for(struct aws_priv *p, const char *key_id, struct route *rt,
				  struct aur_kms_status *st)
{
	int r = aur_kms_aws_route(p->cfg.region, p->endpoint_fixed ? p->endpoint : NULL, key_id,
				  rt->region, sizeof(rt->region), rt->endpoint,
				  sizeof(rt->endpoint));

	if (r == -ENOENT)
		return aur_kms_fail(st, AUR_KMS_E_CONFIG, 0,
				    "%.200s: unknown AWS partition (aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b)",
				    key_id);
	if (r || aur_http_split_url(rt->endpoint, &rt->url))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad key ARN or endpoint: %.200s",
				    key_id ? key_id : rt->endpoint);
	return AUR_KMS_OK;
}

/*
 * The credentials for this call, reloaded from the chain (aws_creds.h):
 * the environment and the shared files every time; instance credentials
 * kept until AUR_AWS_CREDS_REFRESH_MARGIN before they expire.  Under
 * p->lock.  Failure: AUR_KMS_E_CREDENTIALS (never a verdict).
 */
static enum aur_kms_err load_creds(struct aws_priv *p, struct aur_kms_status *st)
{
	struct aur_aws_creds n;
	int64_t now = (int64_t)time(NULL);
	char err[200] = "", e2[200] = "";
	int r;

	r = aur_aws_creds_load_static(&n, p->cfg.profile, p->cfg.credentials_file,
				      err, sizeof(err));
	if (!r) {
		aur_aws_creds_clear(&p->creds);
		p->creds = n;
		return AUR_KMS_OK;
	}
	if (r != -ENOENT || p->cfg.profile[0]) {
		aur_aws_creds_clear(&p->creds);
		return aur_kms_fail(st, r == -ENOMEM ? AUR_KMS_E_INTERNAL : AUR_KMS_E_CREDENTIALS,
				    0, "aws: %s", err);
	}
	if (p->creds.secret_key && p->creds.expiration &&
	    now < p->creds.expiration - AUR_AWS_CREDS_REFRESH_MARGIN)
		return AUR_KMS_OK;
	/* 1 s to connect, 3 s a request: a host without IMDS is not slowed down. */
	r = aur_aws_imds_fetch(&n, 1000, 3000, e2, sizeof(e2));
	if (!r) {
		aur_aws_creds_clear(&p->creds);
		p->creds = n;
		return AUR_KMS_OK;
	}
	/* Not refreshed, but not expired yet either: use them meanwhile. */
	if (p->creds.secret_key && p->creds.expiration && now < p->creds.expiration)
		return AUR_KMS_OK;
	aur_aws_creds_clear(&p->creds);
	return aur_kms_fail(st, r == -ENOMEM ? AUR_KMS_E_INTERNAL : AUR_KMS_E_CREDENTIALS, 0,
			    "aws: %s; instance metadata: %s", err, e2);
}

/* One operation: sign, send, classify, retry.  *@reply on success. */
/* Wipe and free a header line that carries a credential; *@h = NULL. */
static void free_header(char **h)
{
	if (*h) {
		explicit_bzero(*h, strlen(*h));
		free(*h);
		*h = NULL;
	}
}

static enum aur_kms_err aws_call(struct aws_priv *p, const char *op, const struct route *rt,
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
	code = load_creds(p, st);
	if (code) {
		p->last_attempts = 0;
		pthread_mutex_unlock(&p->lock);
		return code;
	}
	for (attempt = 1;; attempt++) {
		struct aur_sigv4_header sh[] = {
			{ "Content-Type", "application/x-amz-json-1.1" },
			{ "X-Amz-Target", target },
		};
		struct aur_sigv4_request rq = {
			.method = "POST", .path = rt->url.path, .query = rt->url.query,
			.host = rt->url.host_header, .headers = sh, .n_headers = 2,
			.body = body, .body_len = blen,
		};
		const char *tok = p->creds.session_token ?
				  (const char *)p->creds.session_token->data : NULL;
		struct aur_sigv4_params sp = {
			.region = rt->region, .service = "kms",
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
				snprintf(h_token, strlen(tok) + 32, "X-Amz-Security-Token: %s", tok);
		}
		if (!h_auth || (tok && !h_token)) {
			aur_sigv4_result_free(&sr);
			free_header(&h_auth);
			free_header(&h_token);
			code = aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
			break;
		}
		snprintf(h_auth, alen, "Authorization: %s", sr.authorization);
		aur_sigv4_result_free(&sr);
		snprintf(h_host, sizeof(h_host), "Host: %s", rt->url.host_header);
		snprintf(h_date, sizeof(h_date), "X-Amz-Date: %s", amz_date);
		snprintf(h_target, sizeof(h_target), "X-Amz-Target: %s", target);
		hdrs[nh++] = h_host;
		hdrs[nh++] = "Content-Type: application/x-amz-json-1.1";
		hdrs[nh++] = h_target;
		hdrs[nh++] = h_date;
		if (h_token)
			hdrs[nh++] = h_token;
		hdrs[nh++] = h_auth;

		hr = aur_http_post(p->http, rt->endpoint, hdrs, nh, body, blen,
				   &resp, herr, sizeof(herr));
		free_header(&h_auth);
		free_header(&h_token);
		if (hr == AUR_HTTP_OK) {
			code = aur_kms_aws_parse_reply(op, resp.status, resp.error_type,
						       (const char *)resp.body->data,
						       resp.body_len, reply, st);
			aur_http_response_free(&resp);
			retry = code == AUR_KMS_E_THROTTLED || code == AUR_KMS_E_UNAVAILABLE;
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
	if (code == AUR_KMS_E_CREDENTIALS) {
		/* Say whose credentials; refetch instance credentials next time. */
		if (st) {
			size_t l = strlen(st->message);

			snprintf(st->message + l, sizeof(st->message) - l,
				 " [credentials from %s]", p->creds.source);
		}
		if (p->creds.expiration)
			p->creds.expiration = 1;
	}
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

/* A request body with "@name": @key_id when @key_id is not empty; NULL: out of memory. */
static struct json_object *request(const char *name, const char *key_id)
{
	struct json_object *req = json_object_new_object();

	if (req && key_id && key_id[0])
		json_object_object_add(req, name, json_object_new_string(key_id));
	return req;
}

/*
 * Send @req (consumed; NULL: out of memory) as operation @op, to the region
 * of @route_key (a key ARN's region; else the configured region).
 */
static enum aur_kms_err exchange(struct aur_kms *kms, const char *op, const char *route_key,
				 struct json_object *req, struct json_object **reply,
				 struct aur_kms_status *st)
{
	struct route rt;
	enum aur_kms_err e;

	*reply = NULL;
	if (!req)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
	e = route_for(priv_of(kms), route_key, &rt, st);
	if (!e)
		e = aws_call(priv_of(kms), op, &rt, req, reply, st);
	json_object_put(req);
	return e;
}

static bool valid_key_id(const char *k)
{
	return k && k[0] && strlen(k) < 2048;
}

static enum aur_kms_err aws_describe_key(struct aur_kms *kms, const char *key_id,
					 struct aur_kms_key_info *info,
					 struct aur_kms_status *st)
{
	struct json_object *reply;
	enum aur_kms_err e;

	if (!valid_key_id(key_id) || !info)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "no key id");
	e = exchange(kms, "DescribeKey", key_id, request("KeyId", key_id), &reply, st);
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
			    "bad key id or size %zu", nbytes);
	req = request("KeyId", key_id);
	if (req)
		json_object_object_add(req, "NumberOfBytes", json_object_new_int((int)nbytes));
	if (req && add_ctx(req, "EncryptionContext", ctx)) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad encryption context");
	}
	e = exchange(kms, "GenerateDataKey", key_id, req, &reply, st);
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
		aur_kms_aws_take_arn(reply, "KeyId", key_arn);
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
	req = request(NULL, NULL);
	if (req && (add_blob(req, "CiphertextBlob", wrapped) ||
		    add_ctx(req, "EncryptionContext", ctx))) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad blob or context");
	}
	if (req && key_id && key_id[0])
		json_object_object_add(req, "KeyId", json_object_new_string(key_id));
	e = exchange(kms, "Decrypt", key_id, req, &reply, st);
	if (e)
		return e;
	e = aur_kms_aws_take_plaintext(reply, 0, plaintext, st);
	if (!e)
		aur_kms_aws_take_arn(reply, "KeyId", key_arn);
	json_object_put(reply);
	return e;
}

static enum aur_kms_err aws_re_encrypt(struct aur_kms *kms, const char *src_key_id,
				       const struct aur_enc_ctx *src_ctx, const struct aur_blob *src,
				       const char *dst_key_id, const struct aur_enc_ctx *dst_ctx,
				       struct aur_blob *dst, char *dst_key_arn, struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;

	if (!valid_key_id(dst_key_id) || !dst)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "no destination key");
	req = request(NULL, NULL);
	if (req && (add_blob(req, "CiphertextBlob", src) ||
		    add_ctx(req, "SourceEncryptionContext", src_ctx) ||
		    add_ctx(req, "DestinationEncryptionContext", dst_ctx))) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad blob or context");
	}
	if (req && src_key_id && src_key_id[0])
		json_object_object_add(req, "SourceKeyId", json_object_new_string(src_key_id));
	if (req)
		json_object_object_add(req, "DestinationKeyId", json_object_new_string(dst_key_id));
	/* To the destination key's region (the source ciphertext must be of it). */
	e = exchange(kms, "ReEncrypt", dst_key_id, req, &reply, st);
	if (e)
		return e;
	e = aur_kms_aws_take_blob(reply, "CiphertextBlob", dst, st);
	if (!e)
		aur_kms_aws_take_arn(reply, "KeyId", dst_key_arn);
	json_object_put(reply);
	return e;
}

static enum aur_kms_err aws_encrypt(struct aur_kms *kms, const char *key_id,
				    const struct aur_enc_ctx *ctx,
				    const struct aur_secret *plaintext,
				    struct aur_blob *wrapped, char *key_arn,
				    struct aur_kms_status *st)
{
	struct json_object *req, *reply;
	enum aur_kms_err e;
	size_t n;
	char *b64;

	if (!valid_key_id(key_id) || !wrapped || !plaintext || plaintext->len < 1 ||
	    plaintext->len > 4096)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad key id or plaintext");
	/* The base64 of the data key is as secret as the key: secmem, wiped. */
	n = aur_base64_encoded_size(plaintext->len);
	{
		struct aur_secret *enc = aur_secret_alloc(n);

		if (!enc)
			return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory");
		b64 = (char *)enc->data;
		aur_base64_encode(plaintext->data, plaintext->len, b64, n);
		req = request("KeyId", key_id);
		if (req)
			json_object_object_add(req, "Plaintext", json_object_new_string(b64));
		aur_secret_free(enc);
	}
	if (req && add_ctx(req, "EncryptionContext", ctx)) {
		json_object_put(req);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "bad encryption context");
	}
	e = exchange(kms, "Encrypt", key_id, req, &reply, st);
	if (e)
		return e;
	e = aur_kms_aws_take_blob(reply, "CiphertextBlob", wrapped, st);
	if (!e)
		aur_kms_aws_take_arn(reply, "KeyId", key_arn);
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
	.encrypt = aws_encrypt,
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
	const char *v;
	enum aur_kms_err e;

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
			snprintf(p->cfg.region, sizeof(p->cfg.region), "%s", v);
	}
	if (!valid_region(p->cfg.region)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "aws: no or bad region (config region, AWS_REGION)");
		goto fail;
	}
	if (p->cfg.endpoint[0]) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", p->cfg.endpoint);
		p->endpoint_fixed = true;
	} else if ((v = env_nonempty("AWS_ENDPOINT_URL_KMS")) ||
		   (v = env_nonempty("AWS_ENDPOINT_URL"))) {
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", v);
		p->endpoint_fixed = true;
	} else {
		snprintf(p->endpoint, sizeof(p->endpoint), "https://kms.%s.%s/",
			 p->cfg.region, partition_domain(region_partition(p->cfg.region)));
	}
	if (aur_http_split_url(p->endpoint, &p->url)) {
		e = aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0,
			 "aws: bad endpoint URL (http:// or https:// only): %.180s",
			 p->endpoint);
		goto fail;
	}
	if (!p->cfg.ca_bundle[0] && (v = env_nonempty("AWS_CA_BUNDLE")))
		snprintf(p->cfg.ca_bundle, sizeof(p->cfg.ca_bundle), "%s", v);

	/* Credentials are loaded by each call (load_creds): creation makes no request. */
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
