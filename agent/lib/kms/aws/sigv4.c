// SPDX-License-Identifier: GPL-2.0
/* aurora: AWS Signature Version 4 (see sigv4.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "kms/aws/sigv4.h"

/* A growable string; wiped before it is freed or regrown. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_reserve(struct sbuf *b, size_t more)
{
	size_t ncap;
	char *np;

	if (b->oom)
		return;
	if (b->len + more + 1 <= b->cap)
		return;
	ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	np = malloc(ncap);
	if (!np) {
		b->oom = true;
		return;
	}
	if (b->p) {
		memcpy(np, b->p, b->len + 1);
		explicit_bzero(b->p, b->cap);
		free(b->p);
	} else {
		np[0] = '\0';
	}
	b->p = np;
	b->cap = ncap;
}

static void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	sb_reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void sb_addc(struct sbuf *b, char c)
{
	sb_addn(b, &c, 1);
}

static void sb_wipe(struct sbuf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Take the string out of the buffer ("" when empty); NULL on OOM. */
static char *sb_take(struct sbuf *b)
{
	char *p;

	if (!b->p && !b->oom)
		sb_reserve(b, 0);
	if (b->oom) {
		sb_wipe(b);
		return NULL;
	}
	p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

static const char hexdig[] = "0123456789abcdef";

static void to_hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[d[i] >> 4];
		out[2 * i + 1] = hexdig[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void aur_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(data ? data : (const void *)"", len, md);
	to_hex(md, sizeof(md), hex);
}

void aur_sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int hmac256(const uint8_t *key, size_t klen, const void *msg, size_t mlen,
		   uint8_t out[32])
{
	unsigned int olen = 32;

	if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) || olen != 32)
		return -EINVAL;
	return 0;
}

/* ---- canonical URI: botocore's remove_dot_segments then quote(safe='/~') */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

static void quote_path(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || c == '/') {
			sb_addc(b, (char)c);
		} else {
			char e[4] = { '%', "0123456789ABCDEF"[c >> 4],
				      "0123456789ABCDEF"[c & 15], 0 };
			sb_add(b, e);
		}
	}
}

static void canonical_uri(struct sbuf *b, const char *path)
{
	size_t n = path ? strlen(path) : 0;
	const char **seg;
	size_t *seglen, nseg = 0;
	struct sbuf norm = { 0 };

	if (n == 0) {
		sb_addc(b, '/');
		return;
	}
	seg = calloc(n + 1, sizeof(*seg));
	seglen = calloc(n + 1, sizeof(*seglen));
	if (!seg || !seglen) {
		free(seg);
		free(seglen);
		b->oom = true;
		return;
	}
	for (size_t i = 0; i <= n;) {
		size_t j = i;

		while (j < n && path[j] != '/')
			j++;
		if (j > i && !(j - i == 1 && path[i] == '.')) {
			if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
				if (nseg)
					nseg--;
			} else {
				seg[nseg] = path + i;
				seglen[nseg++] = j - i;
			}
		}
		i = j + 1;
	}
	if (path[0] == '/')
		sb_addc(&norm, '/');
	for (size_t k = 0; k < nseg; k++) {
		if (k)
			sb_addc(&norm, '/');
		sb_addn(&norm, seg[k], seglen[k]);
	}
	if (path[n - 1] == '/' && nseg)
		sb_addc(&norm, '/');
	free(seg);
	free(seglen);
	if (norm.oom) {
		b->oom = true;
	} else if (norm.p) {
		quote_path(b, norm.p, norm.len);
	}
	sb_wipe(&norm);
}

/* ---- canonical query string */

struct qpair {
	const char *k, *v;
	size_t kl, vl;
};

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
	size_t m = al < bl ? al : bl;
	int r = memcmp(a, b, m);

	if (r)
		return r;
	return al < bl ? -1 : al > bl ? 1 : 0;
}

static int qpair_cmp(const void *x, const void *y)
{
	const struct qpair *a = x, *b = y;
	int r = cmp_bytes(a->k, a->kl, b->k, b->kl);

	return r ? r : cmp_bytes(a->v, a->vl, b->v, b->vl);
}

static void canonical_query(struct sbuf *b, const char *q)
{
	size_t n = q ? strlen(q) : 0, np = 0;
	struct qpair *pairs;

	if (n == 0)
		return;
	pairs = calloc(n + 1, sizeof(*pairs));
	if (!pairs) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i <= n;) {
		size_t j = i;
		const char *eq;

		while (j < n && q[j] != '&')
			j++;
		pairs[np].k = q + i;
		eq = memchr(q + i, '=', j - i);
		if (eq) {
			pairs[np].kl = (size_t)(eq - (q + i));
			pairs[np].v = eq + 1;
			pairs[np].vl = (size_t)(q + j - (eq + 1));
		} else {
			pairs[np].kl = j - i;
			pairs[np].v = q + j;
			pairs[np].vl = 0;
		}
		np++;
		i = j + 1;
	}
	qsort(pairs, np, sizeof(*pairs), qpair_cmp);
	for (size_t k = 0; k < np; k++) {
		if (k)
			sb_addc(b, '&');
		sb_addn(b, pairs[k].k, pairs[k].kl);
		sb_addc(b, '=');
		sb_addn(b, pairs[k].v, pairs[k].vl);
	}
	free(pairs);
}

/* ---- headers */

struct chdr {
	char *name;		/* lowercased, malloc'd */
	const char *value;
	size_t order;
};

static const char *const unsigned_headers[] = {
	"authorization", "connection", "expect", "keep-alive",
	"proxy-authenticate", "proxy-authorization", "te", "trailer",
	"transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id",
};

static bool is_unsigned(const char *lname)
{
	for (size_t i = 0; i < sizeof(unsigned_headers) / sizeof(unsigned_headers[0]); i++)
		if (!strcmp(lname, unsigned_headers[i]))
			return true;
	return false;
}

static int chdr_cmp(const void *x, const void *y)
{
	const struct chdr *a = x, *b = y;
	int r = strcmp(a->name, b->name);

	if (r)
		return r;
	return a->order < b->order ? -1 : a->order > b->order;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Trimall: strip and collapse whitespace runs to a single space. */
static void add_trimmed(struct sbuf *b, const char *v)
{
	bool first = true;

	while (*v) {
		while (*v && is_ws(*v))
			v++;
		if (!*v)
			break;
		if (!first)
			sb_addc(b, ' ');
		first = false;
		while (*v && !is_ws(*v))
			sb_addc(b, *v++);
	}
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);

	if (d)
		for (char *p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return d;
}

int aur_sigv4_sign(const struct aur_sigv4_request *req,
		   const struct aur_sigv4_params *p,
		   struct aur_sigv4_result *out)
{
	struct chdr *h = NULL;
	size_t nh = 0, cap;
	struct sbuf cr = { 0 }, sh = { 0 }, sts = { 0 }, auth = { 0 };
	const char *payload_hash = NULL;
	char body_hex[65], cr_hex[65];
	bool have_host = false, token;
	uint8_t k[32], k2[32], sig[32];
	uint8_t *ksecret = NULL;
	size_t kslen;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!req || !p || !req->method || !p->region || !p->service ||
	    !p->access_key || !p->secret_key || !p->amz_date ||
	    strlen(p->amz_date) != 16 || (req->n_headers && !req->headers))
		return -EINVAL;
	token = p->session_token && p->session_token[0];

	cap = req->n_headers + 3;
	h = calloc(cap, sizeof(*h));
	if (!h)
		goto out;
	for (size_t i = 0; i < req->n_headers; i++) {
		char *ln;

		if (!req->headers[i].name || !req->headers[i].value) {
			ret = -EINVAL;
			goto out;
		}
		ln = lower_dup(req->headers[i].name);
		if (!ln)
			goto out;
		/* Replaced by the signer (botocore deletes them first). */
		if (is_unsigned(ln) || !strcmp(ln, "x-amz-date") ||
		    (token && !strcmp(ln, "x-amz-security-token"))) {
			free(ln);
			continue;
		}
		if (!strcmp(ln, "host"))
			have_host = true;
		if (!strcmp(ln, "x-amz-content-sha256") && !payload_hash)
			payload_hash = req->headers[i].value;
		h[nh].name = ln;
		h[nh].value = req->headers[i].value;
		h[nh].order = nh;
		nh++;
	}
	if (!have_host) {
		if (!req->host) {
			ret = -EINVAL;
			goto out;
		}
		h[nh].name = strdup("host");
		h[nh].value = req->host;
		h[nh].order = nh;
		if (!h[nh++].name)
			goto out;
	}
	h[nh].name = strdup("x-amz-date");
	h[nh].value = p->amz_date;
	h[nh].order = nh;
	if (!h[nh++].name)
		goto out;
	if (token) {
		h[nh].name = strdup("x-amz-security-token");
		h[nh].value = p->session_token;
		h[nh].order = nh;
		if (!h[nh++].name)
			goto out;
	}
	qsort(h, nh, sizeof(*h), chdr_cmp);

	/* Canonical request. */
	for (const char *m = req->method; *m; m++)
		sb_addc(&cr, (*m >= 'a' && *m <= 'z') ? (char)(*m - 'a' + 'A') : *m);
	sb_addc(&cr, '\n');
	canonical_uri(&cr, req->path);
	sb_addc(&cr, '\n');
	canonical_query(&cr, req->query);
	sb_addc(&cr, '\n');
	for (size_t i = 0; i < nh; i++) {
		bool same = i && !strcmp(h[i].name, h[i - 1].name);

		if (same) {
			sb_addc(&cr, ',');
		} else {
			if (i)
				sb_addc(&cr, '\n');
			sb_add(&cr, h[i].name);
			sb_addc(&cr, ':');
			if (sh.len)
				sb_addc(&sh, ';');
			sb_add(&sh, h[i].name);
		}
		add_trimmed(&cr, h[i].value);
	}
	sb_add(&cr, "\n\n");
	sb_addn(&cr, sh.p ? sh.p : "", sh.len);
	sb_addc(&cr, '\n');
	if (!payload_hash) {
		aur_sigv4_sha256_hex(req->body, req->body ? req->body_len : 0, body_hex);
		payload_hash = body_hex;
	}
	sb_add(&cr, payload_hash);
	if (cr.oom || sh.oom)
		goto out;

	/* String to sign. */
	aur_sigv4_sha256_hex(cr.p, cr.len, cr_hex);
	sb_add(&sts, "AWS4-HMAC-SHA256\n");
	sb_add(&sts, p->amz_date);
	sb_addc(&sts, '\n');
	sb_addn(&sts, p->amz_date, 8);
	sb_addc(&sts, '/');
	sb_add(&sts, p->region);
	sb_addc(&sts, '/');
	sb_add(&sts, p->service);
	sb_add(&sts, "/aws4_request\n");
	sb_add(&sts, cr_hex);
	if (sts.oom)
		goto out;

	/* Signing key: HMAC chain from "AWS4" + secret. */
	kslen = 4 + p->secret_len;
	ksecret = malloc(kslen);
	if (!ksecret)
		goto out;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, p->secret_key, p->secret_len);
	ret = -EINVAL;
	if (hmac256(ksecret, kslen, p->amz_date, 8, k) ||
	    hmac256(k, 32, p->region, strlen(p->region), k2) ||
	    hmac256(k2, 32, p->service, strlen(p->service), k) ||
	    hmac256(k, 32, "aws4_request", 12, k2) ||
	    hmac256(k2, 32, sts.p, sts.len, sig))
		goto out;
	to_hex(sig, 32, out->signature);

	ret = -ENOMEM;
	sb_add(&auth, "AWS4-HMAC-SHA256 Credential=");
	sb_add(&auth, p->access_key);
	sb_addc(&auth, '/');
	sb_addn(&auth, p->amz_date, 8);
	sb_addc(&auth, '/');
	sb_add(&auth, p->region);
	sb_addc(&auth, '/');
	sb_add(&auth, p->service);
	sb_add(&auth, "/aws4_request, SignedHeaders=");
	sb_add(&auth, sh.p ? sh.p : "");
	sb_add(&auth, ", Signature=");
	sb_add(&auth, out->signature);
	if (auth.oom)
		goto out;

	out->canonical_request = sb_take(&cr);
	out->string_to_sign = sb_take(&sts);
	out->signed_headers = sb_take(&sh);
	out->authorization = sb_take(&auth);
	if (!out->canonical_request || !out->string_to_sign ||
	    !out->signed_headers || !out->authorization) {
		aur_sigv4_result_free(out);
		goto out;
	}
	ret = 0;
out:
	explicit_bzero(k, sizeof(k));
	explicit_bzero(k2, sizeof(k2));
	if (ksecret) {
		explicit_bzero(ksecret, kslen);
		free(ksecret);
	}
	if (h) {
		for (size_t i = 0; i < nh; i++)
			free(h[i].name);
		free(h);
	}
	sb_wipe(&cr);
	sb_wipe(&sh);
	sb_wipe(&sts);
	sb_wipe(&auth);
	return ret;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void aur_sigv4_result_free(struct aur_sigv4_result *out)
{
	if (!out)
		return;
	wipe_free(out->canonical_request);
	wipe_free(out->string_to_sign);
	wipe_free(out->signed_headers);
	wipe_free(out->authorization);
	memset(out, 0, sizeof(*out));
}
