// SPDX-License-Identifier: GPL-2.0
/* aurora: minimal HTTP(S) POST over libcurl (see http.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kms/aws/http.h"

struct aur_http {
	CURL *curl;
	char *ca_bundle;
	char *proxy;
	long connect_timeout_ms;
	long total_timeout_ms;
	size_t max_response;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

const char *aur_http_result_name(enum aur_http_result r)
{
	switch (r) {
	case AUR_HTTP_OK: return "ok";
	case AUR_HTTP_E_CONNECT: return "connect failed";
	case AUR_HTTP_E_TIMEOUT: return "timeout";
	case AUR_HTTP_E_NETWORK: return "network error";
	case AUR_HTTP_E_TLS_HANDSHAKE: return "TLS handshake failed";
	case AUR_HTTP_E_TLS_VERIFY: return "TLS certificate not trusted";
	case AUR_HTTP_E_TOO_LARGE: return "reply too large";
	case AUR_HTTP_E_TRUNCATED: return "reply truncated";
	case AUR_HTTP_E_MALFORMED: return "malformed HTTP reply";
	case AUR_HTTP_E_BAD_URL: return "bad URL";
	case AUR_HTTP_E_INTERNAL: return "internal error";
	}
	return "unknown";
}

struct aur_http *aur_http_new(const struct aur_http_config *cfg)
{
	struct aur_http *h;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->connect_timeout_ms = cfg && cfg->connect_timeout_ms > 0 ?
				cfg->connect_timeout_ms : 5000;
	h->total_timeout_ms = cfg && cfg->total_timeout_ms > 0 ?
			      cfg->total_timeout_ms : 15000;
	h->max_response = cfg && cfg->max_response ? cfg->max_response :
			  AUR_HTTP_DEFAULT_MAX_RESPONSE;
	if (cfg && cfg->ca_bundle && cfg->ca_bundle[0]) {
		h->ca_bundle = strdup(cfg->ca_bundle);
		if (!h->ca_bundle)
			goto fail;
	}
	if (cfg && cfg->proxy && cfg->proxy[0]) {
		h->proxy = strdup(cfg->proxy);
		if (!h->proxy)
			goto fail;
	}
	h->curl = curl_easy_init();
	if (!h->curl)
		goto fail;
	return h;
fail:
	aur_http_free(h);
	return NULL;
}

void aur_http_free(struct aur_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h->proxy);
	free(h);
}

struct sink {
	struct aur_http_response *resp;
	size_t max;
	bool too_large;
};

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nmemb;

	if (n > s->max - s->resp->body_len) {
		s->too_large = true;
		return 0;		/* aborts the transfer */
	}
	memcpy(s->resp->body->data + s->resp->body_len, ptr, n);
	s->resp->body_len += n;
	s->resp->body->data[s->resp->body_len] = 0;
	return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct sink *s = ud;
	size_t n = size * nitems;
	static const char name[] = "x-amzn-errortype:";
	size_t nl = sizeof(name) - 1;

	/* A new status line (after 100 Continue): forget earlier headers. */
	if (n >= 5 && !strncmp(buf, "HTTP/", 5))
		s->resp->error_type[0] = 0;
	if (n > nl && !strncasecmp(buf, name, nl)) {
		const char *v = buf + nl, *e = buf + n;
		size_t k = 0;

		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
			e--;
		/* "Type:http://internal..." -> "Type" */
		while (v + k < e && v[k] != ':' && k + 1 < sizeof(s->resp->error_type))
			k++;
		memcpy(s->resp->error_type, v, k);
		s->resp->error_type[k] = 0;
	}
	return n;
}

static enum aur_http_result map_curl(CURLcode rc, const struct sink *s)
{
	switch (rc) {
	case CURLE_OK:
		return AUR_HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return AUR_HTTP_E_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return AUR_HTTP_E_TIMEOUT;
	case CURLE_WRITE_ERROR:
		return s->too_large ? AUR_HTTP_E_TOO_LARGE : AUR_HTTP_E_INTERNAL;
	case CURLE_FILESIZE_EXCEEDED:
		return AUR_HTTP_E_TOO_LARGE;
	case CURLE_PARTIAL_FILE:
		return AUR_HTTP_E_TRUNCATED;
	/*
	 * The URL was checked before the transfer: "unsupported protocol"
	 * now means the server answered in something that is not HTTP/1.x
	 * (HTTP/0.9 is refused).
	 */
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return AUR_HTTP_E_MALFORMED;
	case CURLE_SSL_CONNECT_ERROR:
		return AUR_HTTP_E_TLS_HANDSHAKE;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
		return AUR_HTTP_E_TLS_VERIFY;
	case CURLE_URL_MALFORMAT:
		return AUR_HTTP_E_BAD_URL;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		return AUR_HTTP_E_INTERNAL;
	default:
		return AUR_HTTP_E_NETWORK;
	}
}

enum aur_http_result aur_http_post(struct aur_http *h, const char *url,
				   const char *const *headers, size_t n_headers,
				   const void *body, size_t body_len,
				   struct aur_http_response *resp,
				   char *err, size_t errlen)
{
	struct curl_slist *hl = NULL, *t;
	struct sink s = { .resp = resp };
	char ebuf[CURL_ERROR_SIZE] = "";
	enum aur_http_result r;
	CURL *c;
	CURLcode rc;
	struct aur_url u;

	memset(resp, 0, sizeof(*resp));
	if (err && errlen)
		err[0] = 0;
	if (!h || !h->curl || !url)
		return AUR_HTTP_E_INTERNAL;
	if (aur_http_split_url(url, &u)) {
		if (err)
			snprintf(err, errlen, "bad URL");
		return AUR_HTTP_E_BAD_URL;
	}
	c = h->curl;
	s.max = h->max_response;
	resp->body = aur_secret_alloc(h->max_response + 1);
	if (!resp->body) {
		if (err)
			snprintf(err, errlen, "cannot lock %zu bytes of memory",
				 h->max_response + 1);
		return AUR_HTTP_E_INTERNAL;
	}
	resp->body->data[0] = 0;

	for (size_t i = 0; i < n_headers; i++) {
		t = curl_slist_append(hl, headers[i]);
		if (!t)
			goto free_request;
		hl = t;
	}
	/* No headers curl would add on its own that we did not sign. */
	if (!(t = curl_slist_append(hl, "Expect:")))
		goto free_request;
	hl = t;
	if (!(t = curl_slist_append(hl, "Accept:")))
		goto free_request;
	hl = t;

	curl_easy_reset(c);
	/* Every option must take; the first that does not ends the request. */
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (h->ca_bundle && curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_PROXY, h->proxy ? h->proxy : "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->total_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL) != CURLE_OK)
		goto free_request;

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	r = map_curl(rc, &s);
	if (r != AUR_HTTP_OK && err)
		snprintf(err, errlen, "%s: %s", aur_http_result_name(r),
			 ebuf[0] ? ebuf : curl_easy_strerror(rc));
	if (r == AUR_HTTP_OK && resp->status < 100) {
		r = AUR_HTTP_E_MALFORMED;
		if (err)
			snprintf(err, errlen, "%s", aur_http_result_name(r));
	}
	/* Drop the references to our stack and buffers from the handle. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hl);
	if (r != AUR_HTTP_OK)
		aur_http_response_free(resp);
	return r;

free_request:
	curl_slist_free_all(hl);
	aur_http_response_free(resp);
	if (err)
		snprintf(err, errlen, "curl setup failed");
	return AUR_HTTP_E_INTERNAL;
}

void aur_http_response_free(struct aur_http_response *resp)
{
	if (!resp)
		return;
	aur_secret_free(resp->body);	/* wipes */
	resp->body = NULL;
	resp->body_len = 0;
}

static int copy_part(CURLU *cu, CURLUPart part, char *dst, size_t dlen,
		     bool required)
{
	char *v = NULL;
	CURLUcode uc = curl_url_get(cu, part, &v, 0);
	int ret = 0;

	dst[0] = 0;
	if (uc != CURLUE_OK || !v)
		return required ? -EINVAL : 0;
	if (strlen(v) >= dlen)
		ret = -EINVAL;
	else
		memcpy(dst, v, strlen(v) + 1);
	curl_free(v);
	return ret;
}

int aur_http_split_url(const char *url, struct aur_url *out)
{
	CURLU *cu;
	char host[256], port[8], tmp[8];
	int ret = -EINVAL;
	long pnum = 0;

	memset(out, 0, sizeof(*out));
	if (!url)
		return -EINVAL;
	pthread_once(&curl_once, curl_init);
	cu = curl_url();
	if (!cu)
		return -ENOMEM;
	if (curl_url_set(cu, CURLUPART_URL, url, CURLU_PATH_AS_IS) != CURLUE_OK)
		goto out;
	if (copy_part(cu, CURLUPART_SCHEME, out->scheme, sizeof(out->scheme), true))
		goto out;
	for (char *p = out->scheme; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strcmp(out->scheme, "http") && strcmp(out->scheme, "https"))
		goto out;
	if (copy_part(cu, CURLUPART_USER, tmp, sizeof(tmp), false) || tmp[0])
		goto out;
	if (copy_part(cu, CURLUPART_FRAGMENT, tmp, sizeof(tmp), false) || tmp[0])
		goto out;
	if (copy_part(cu, CURLUPART_HOST, host, sizeof(host), true) || !host[0])
		goto out;
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (copy_part(cu, CURLUPART_PORT, port, sizeof(port), false))
		goto out;
	if (port[0])
		pnum = strtol(port, NULL, 10);
	if (pnum && !((pnum == 80 && !strcmp(out->scheme, "http")) ||
		      (pnum == 443 && !strcmp(out->scheme, "https"))))
		snprintf(out->host_header, sizeof(out->host_header), "%s:%ld",
			 host, pnum);
	else
		snprintf(out->host_header, sizeof(out->host_header), "%s", host);
	if (copy_part(cu, CURLUPART_PATH, out->path, sizeof(out->path), false))
		goto out;
	if (!out->path[0])
		snprintf(out->path, sizeof(out->path), "/");
	if (copy_part(cu, CURLUPART_QUERY, out->query, sizeof(out->query), false))
		goto out;
	ret = 0;
out:
	curl_url_cleanup(cu);
	return ret;
}
