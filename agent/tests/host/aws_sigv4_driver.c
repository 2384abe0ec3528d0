// SPDX-License-Identifier: GPL-2.0
/*
 * Test driver for aws-sigv4-botocore.py: reads one JSON request spec per
 * line on stdin, signs it with agent/lib/sigv4.c (host, path and query taken
 * from the URL by agent/lib/http.c, as the provider does) and prints one
 * JSON line with the canonical request, string to sign, signature and
 * Authorization value.
 *
 * Spec: {"method","url","headers":[[name,value],...],"body_hex",
 *        "region","service","access_key","secret_key","token","amz_date"}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "kms/aws/http.h"
#include "kms/aws/sigv4.h"

static const char *gs(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static int unhex(const char *h, unsigned char **out, size_t *len)
{
	size_t n = h ? strlen(h) : 0;

	*out = malloc(n / 2 + 1);
	*len = n / 2;
	if (!*out || n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (sscanf(h + 2 * i, "%2x", &b) != 1)
			return -1;
		(*out)[i] = (unsigned char)b;
	}
	return 0;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		json_object *spec = json_tokener_parse(line), *hdrs, *res;
		struct aur_sigv4_header *h = NULL;
		struct aur_sigv4_request rq = { 0 };
		struct aur_sigv4_params p = { 0 };
		struct aur_sigv4_result out;
		struct aur_url u;
		unsigned char *body = NULL;
		size_t blen = 0, nh = 0;
		const char *secret;

		if (!spec) {
			fprintf(stderr, "bad spec line\n");
			return 2;
		}
		if (aur_http_split_url(gs(spec, "url"), &u)) {
			printf("{\"error\":\"bad url\"}\n");
			fflush(stdout);
			json_object_put(spec);
			continue;
		}
		if (json_object_object_get_ex(spec, "headers", &hdrs)) {
			nh = json_object_array_length(hdrs);
			h = calloc(nh + 1, sizeof(*h));
			for (size_t i = 0; i < nh; i++) {
				json_object *pair = json_object_array_get_idx(hdrs, i);

				h[i].name = json_object_get_string(json_object_array_get_idx(pair, 0));
				h[i].value = json_object_get_string(json_object_array_get_idx(pair, 1));
			}
		}
		if (unhex(gs(spec, "body_hex"), &body, &blen)) {
			fprintf(stderr, "bad body\n");
			return 2;
		}
		rq.method = gs(spec, "method");
		rq.path = u.path;
		rq.query = u.query;
		rq.host = u.host_header;
		rq.headers = h;
		rq.n_headers = nh;
		rq.body = body;
		rq.body_len = blen;
		secret = gs(spec, "secret_key");
		p.region = gs(spec, "region");
		p.service = gs(spec, "service");
		p.access_key = gs(spec, "access_key");
		p.secret_key = (const uint8_t *)secret;
		p.secret_len = strlen(secret);
		p.session_token = gs(spec, "token");
		p.amz_date = gs(spec, "amz_date");
		if (aur_sigv4_sign(&rq, &p, &out)) {
			printf("{\"error\":\"sign failed\"}\n");
		} else {
			res = json_object_new_object();
			json_object_object_add(res, "canonical_request",
					       json_object_new_string(out.canonical_request));
			json_object_object_add(res, "string_to_sign",
					       json_object_new_string(out.string_to_sign));
			json_object_object_add(res, "signature",
					       json_object_new_string(out.signature));
			json_object_object_add(res, "authorization",
					       json_object_new_string(out.authorization));
			printf("%s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
			json_object_put(res);
			aur_sigv4_result_free(&out);
		}
		fflush(stdout);
		free(h);
		free(body);
		json_object_put(spec);
	}
	free(line);
	return 0;
}
