/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: AWS Signature Version 4 (header form, as botocore's SigV4Auth).
 *
 * The signer is pure: no clock, no I/O.  The caller gives the request as it
 * will be sent (method, raw path, raw query string, headers, body) and the
 * timestamp; it gets back the canonical request, the string to sign, the
 * signature and the Authorization header value, plus the X-Amz-Date (and
 * X-Amz-Security-Token) headers it must add to the request.  Canonical
 * request and string to sign are exposed so tests can compare them with an
 * independent implementation.
 *
 * Rules (those of botocore.auth.SigV4Auth):
 *  - URI: dot segments and empty segments removed, then percent-encoded
 *    except unreserved characters and '/'; "" becomes "/".
 *  - Query: split on '&', each pair on the first '=', pairs sorted by
 *    (key, value), joined as "k=v"; not re-encoded (give it encoded).
 *  - Headers: names lowercased; connection, expect, keep-alive,
 *    proxy-authenticate, proxy-authorization, te, trailer,
 *    transfer-encoding, upgrade, user-agent and x-amzn-trace-id are not
 *    signed; values trimmed and inner whitespace runs collapsed to one
 *    space; repeated names joined with ',' in order; host taken from
 *    @host unless a Host header is given.  Any Authorization, X-Amz-Date
 *    (and, with a token, X-Amz-Security-Token) header given is replaced.
 *  - Payload: an X-Amz-Content-SHA256 header's value if given, else the
 *    hex SHA-256 of the body.
 */
#ifndef AURORA_SIGV4_H
#define AURORA_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct aur_sigv4_header {
	const char *name;
	const char *value;
};

struct aur_sigv4_request {
	const char *method;		/* "POST" (uppercased when signed) */
	const char *path;		/* raw URL path; NULL or "" is "/" */
	const char *query;		/* raw query without '?'; may be NULL */
	const char *host;		/* host[:port], default port omitted */
	const struct aur_sigv4_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
};

struct aur_sigv4_params {
	const char *region;
	const char *service;		/* "kms" */
	const char *access_key;
	const uint8_t *secret_key;	/* kept in secmem by the caller */
	size_t secret_len;
	const char *session_token;	/* NULL or "" for none */
	const char *amz_date;		/* "YYYYMMDDTHHMMSSZ" */
};

struct aur_sigv4_result {
	char *canonical_request;	/* malloc'd; wiped when freed */
	char *string_to_sign;		/* malloc'd */
	char *signed_headers;		/* malloc'd */
	char *authorization;		/* malloc'd: the Authorization value */
	char signature[65];		/* lowercase hex */
};

/* 0 on success; -EINVAL on a malformed input, -ENOMEM. */
int aur_sigv4_sign(const struct aur_sigv4_request *req,
		   const struct aur_sigv4_params *p,
		   struct aur_sigv4_result *out);
void aur_sigv4_result_free(struct aur_sigv4_result *out);

/* Format @t (UTC) as "YYYYMMDDTHHMMSSZ". */
void aur_sigv4_amz_date(time_t t, char out[17]);

/* Lowercase hex SHA-256 of @len bytes at @data into @hex (65 bytes). */
void aur_sigv4_sha256_hex(const void *data, size_t len, char hex[65]);

#endif /* AURORA_SIGV4_H */
