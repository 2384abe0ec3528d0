/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: a minimal HTTP(S) POST client over libcurl for the KMS providers.
 *
 * TLS peer and host verification are always on; the CA bundle is
 * configurable.  Only http:// and https:// URLs, no redirects, no proxy
 * unless one is configured (the environment's *_proxy variables are
 * ignored).  Responses are bounded: a body larger than max_response is an
 * error, never silently cut.  The response body lives in locked secret
 * memory (it may carry key material) and is wiped when freed.
 */
#ifndef AURORA_HTTP_H
#define AURORA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "util/secmem.h"

#define AUR_HTTP_DEFAULT_MAX_RESPONSE	(64 * 1024)

struct aur_http_config {
	const char *ca_bundle;		/* NULL: the system default */
	const char *proxy;		/* NULL: none */
	long connect_timeout_ms;	/* 0: 5000 */
	long total_timeout_ms;		/* 0: 15000; whole exchange */
	size_t max_response;		/* 0: AUR_HTTP_DEFAULT_MAX_RESPONSE */
};

enum aur_http_result {
	AUR_HTTP_OK = 0,		/* a complete reply, any status */
	AUR_HTTP_E_CONNECT,		/* resolve/connect failed */
	AUR_HTTP_E_TIMEOUT,		/* connect or total timeout */
	AUR_HTTP_E_NETWORK,		/* reset, nothing received, send/recv */
	AUR_HTTP_E_TLS_HANDSHAKE,	/* TLS handshake failed */
	AUR_HTTP_E_TLS_VERIFY,		/* certificate not trusted: config */
	AUR_HTTP_E_TOO_LARGE,		/* body over max_response */
	AUR_HTTP_E_TRUNCATED,		/* body shorter than announced */
	AUR_HTTP_E_MALFORMED,		/* not HTTP, bad framing or encoding */
	AUR_HTTP_E_BAD_URL,		/* malformed or unsupported URL */
	AUR_HTTP_E_INTERNAL,		/* memory, curl setup */
};

const char *aur_http_result_name(enum aur_http_result r);

struct aur_http_response {
	long status;
	struct aur_secret *body;	/* NUL-terminated; len in body_len */
	size_t body_len;
	char error_type[128];		/* x-amzn-ErrorType header, if any */
};

struct aur_http;			/* a connection-reusing client */

struct aur_http *aur_http_new(const struct aur_http_config *cfg);
void aur_http_free(struct aur_http *h);

/*
 * POST @body to @url with @headers ("Name: value" strings).  On
 * AUR_HTTP_OK, @resp holds the status and the body (free it with
 * aur_http_response_free); otherwise @err gets a short reason.
 */
enum aur_http_result aur_http_post(struct aur_http *h, const char *url,
				   const char *const *headers, size_t n_headers,
				   const void *body, size_t body_len,
				   struct aur_http_response *resp,
				   char *err, size_t errlen);
void aur_http_response_free(struct aur_http_response *resp);

/*
 * Split an http(s) URL the way the request will be sent: scheme, the Host
 * header value (lowercase host, ":port" only when not the scheme's
 * default), the path ("/" when empty) and the raw query ("" when none).
 * Returns 0, or -EINVAL for a malformed URL, a scheme other than http or
 * https, user info or a fragment.
 */
struct aur_url {
	char scheme[8];
	char host_header[300];
	char path[1024];
	char query[1024];
};
int aur_http_split_url(const char *url, struct aur_url *out);

#endif /* AURORA_HTTP_H */
