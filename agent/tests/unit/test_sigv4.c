// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: AWS Signature Version 4 (lib/sigv4.c) on the published AWS
 * test-suite vectors and the canonicalisation rules, and the URL split
 * (lib/http.c) the provider signs with.  The full cross-check against
 * botocore is tests/host/aws-sigv4-botocore.py.  Flat KTAP.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kms/aws/http.h"
#include "kms/aws/sigv4.h"

static int n, failed;

static void ok(int cond, const char *desc)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, desc);
}

static const char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

static int sign(const char *method, const char *path, const char *query,
		const char *host, const struct aur_sigv4_header *h, size_t nh,
		const char *body, const char *region, const char *service,
		const char *token, struct aur_sigv4_result *out)
{
	struct aur_sigv4_request rq = {
		.method = method, .path = path, .query = query, .host = host,
		.headers = h, .n_headers = nh, .body = body,
		.body_len = body ? strlen(body) : 0,
	};
	struct aur_sigv4_params p = {
		.region = region, .service = service, .access_key = "AKIDEXAMPLE",
		.secret_key = (const uint8_t *)secret, .secret_len = strlen(secret),
		.session_token = token, .amz_date = "20150830T123600Z",
	};

	return aur_sigv4_sign(&rq, &p, out);
}

/* The canonical request's URI (line 2) or query (line 3) or headers. */
static void line_of(const char *cr, int idx, char *dst, size_t len)
{
	const char *p = cr, *e;

	for (int i = 0; i < idx && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p) {
		dst[0] = 0;
		return;
	}
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	snprintf(dst, len, "%.*s", (int)(e - p), p);
}

static void test_uri(const char *path, const char *want)
{
	struct aur_sigv4_result r;
	char got[256], desc[320];

	if (sign("GET", path, NULL, "h", NULL, 0, NULL, "us-east-1", "kms", NULL, &r)) {
		ok(0, path);
		return;
	}
	line_of(r.canonical_request, 1, got, sizeof(got));
	snprintf(desc, sizeof(desc), "canonical URI of \"%s\" is \"%s\"", path, want);
	ok(!strcmp(got, want), desc);
	if (strcmp(got, want))
		printf("# got \"%s\"\n", got);
	aur_sigv4_result_free(&r);
}

static void test_query(const char *q, const char *want)
{
	struct aur_sigv4_result r;
	char got[256], desc[320];

	if (sign("GET", "/", q, "h", NULL, 0, NULL, "us-east-1", "kms", NULL, &r)) {
		ok(0, q);
		return;
	}
	line_of(r.canonical_request, 2, got, sizeof(got));
	snprintf(desc, sizeof(desc), "canonical query of \"%s\" is \"%s\"", q, want);
	ok(!strcmp(got, want), desc);
	aur_sigv4_result_free(&r);
}

static void test_url(const char *url, int ret, const char *host, const char *path,
		     const char *query)
{
	struct aur_url u;
	char desc[300];
	int r = aur_http_split_url(url, &u);

	snprintf(desc, sizeof(desc), "split %s", url);
	if (ret)
		ok(r == ret, desc);
	else
		ok(r == 0 && !strcmp(u.host_header, host) && !strcmp(u.path, path) &&
		   !strcmp(u.query, query), desc);
}

int main(void)
{
	struct aur_sigv4_result r;
	char hex[65], date[17];
	int rc;

	printf("1..30\n");

	/* AWS SigV4 test suite: get-vanilla. */
	{
		struct aur_sigv4_header h[] = { { "Host", "example.amazonaws.com" } };

		rc = sign("GET", "/", "", NULL, h, 1, "", "us-east-1", "service", NULL, &r);
		ok(rc == 0 && !strcmp(r.canonical_request,
			"GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
			"host;x-amz-date\n"
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
		   "get-vanilla: canonical request");
		ok(rc == 0 && !strcmp(r.signature,
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
		   "get-vanilla: signature");
		ok(rc == 0 && !strcmp(r.authorization,
			"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
			"aws4_request, SignedHeaders=host;x-amz-date, Signature="
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
		   "get-vanilla: Authorization");
		{
			static const char pre[] = "AWS4-HMAC-SHA256\n20150830T123600Z\n"
						  "20150830/us-east-1/service/aws4_request\n";

			ok(rc == 0 && !strncmp(r.string_to_sign, pre, strlen(pre)),
			   "get-vanilla: string to sign, scope");
			aur_sigv4_sha256_hex(r.canonical_request, strlen(r.canonical_request), hex);
			ok(rc == 0 && !strcmp(r.string_to_sign + strlen(pre), hex),
			   "get-vanilla: string to sign ends with the canonical request's hash");
		}
		if (!rc)
			aur_sigv4_result_free(&r);
	}
	/* The IAM ListUsers example of the AWS documentation. */
	{
		struct aur_sigv4_header h[] = {
			{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
		};

		rc = sign("GET", "/", "Action=ListUsers&Version=2010-05-08",
			  "iam.amazonaws.com", h, 1, NULL, "us-east-1", "iam", NULL, &r);
		ok(rc == 0 && !strcmp(r.signature,
			"5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
		   "IAM ListUsers example: signature");
		if (!rc)
			aur_sigv4_result_free(&r);
	}

	test_uri("", "/");
	test_uri("/a/./b/../c", "/a/c");
	test_uri("//double//slash/", "/double/slash/");
	test_uri("/a%2Fb", "/a%252Fb");
	test_uri("/~t/x-y_z.w", "/~t/x-y_z.w");
	test_uri("/..", "/");
	test_uri("/a+b=c", "/a%2Bb%3Dc");

	test_query("b=2&a=1&a=0", "a=0&a=1&b=2");
	test_query("flag", "flag=");
	test_query("x=&y", "x=&y=");

	/* Headers: lowercased, trimmed, collapsed, repeated names joined. */
	{
		struct aur_sigv4_header h[] = {
			{ "X-Custom", "  a   b  " }, { "x-custom", "c\t\td" },
			{ "User-Agent", "curl" }, { "X-Amz-Date", "19990101T000000Z" },
			{ "Authorization", "old" },
		};
		char got[512];

		rc = sign("POST", "/", NULL, "kms.eu-west-1.amazonaws.com", h, 5, "{}",
			  "eu-west-1", "kms", NULL, &r);
		line_of(r.canonical_request, 3, got, sizeof(got));
		ok(rc == 0 && strstr(r.canonical_request,
			"\nhost:kms.eu-west-1.amazonaws.com\nx-amz-date:20150830T123600Z\n"
			"x-custom:a b,c d\n\nhost;x-amz-date;x-custom\n"),
		   "headers trimmed, joined; User-Agent and Authorization unsigned; X-Amz-Date replaced");
		aur_sigv4_sha256_hex("{}", 2, hex);
		ok(rc == 0 && strstr(r.canonical_request, hex) &&
		   !strcmp(strrchr(r.canonical_request, '\n') + 1, hex),
		   "payload hash is the body's SHA-256");
		if (!rc)
			aur_sigv4_result_free(&r);
	}
	/* Session token signed. */
	rc = sign("POST", "/", NULL, "h", NULL, 0, "", "us-east-1", "kms", "TOKEN", &r);
	ok(rc == 0 && strstr(r.canonical_request, "x-amz-security-token:TOKEN\n") &&
	   strstr(r.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token,"),
	   "session token is a signed header");
	if (!rc)
		aur_sigv4_result_free(&r);
	/* X-Amz-Content-SHA256 given: used as the payload hash. */
	{
		struct aur_sigv4_header h[] = { { "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD" } };

		rc = sign("PUT", "/", NULL, "h", h, 1, "body", "us-east-1", "s3", NULL, &r);
		ok(rc == 0 && !strcmp(strrchr(r.canonical_request, '\n') + 1,
				      "UNSIGNED-PAYLOAD"),
		   "X-Amz-Content-SHA256 header taken as the payload hash");
		if (!rc)
			aur_sigv4_result_free(&r);
	}
	{
		struct aur_sigv4_request rq = { .method = "GET", .path = "/", .host = "h" };
		struct aur_sigv4_params p = {
			.region = "r", .service = "s", .access_key = "a",
			.secret_key = (const uint8_t *)"k", .secret_len = 1,
			.amz_date = "2015",
		};

		ok(aur_sigv4_sign(&rq, &p, &r) == -EINVAL, "a malformed X-Amz-Date is refused");
	}
	aur_sigv4_amz_date(1440938160, date);
	ok(!strcmp(date, "20150830T123600Z"), "X-Amz-Date format");
	aur_sigv4_sha256_hex("", 0, hex);
	ok(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	   "SHA-256 of the empty body");

	test_url("https://KMS.us-east-1.amazonaws.com:443/", 0,
		 "kms.us-east-1.amazonaws.com", "/", "");
	test_url("http://127.0.0.1:4566", 0, "127.0.0.1:4566", "/", "");
	test_url("http://h:80/x/../y?b=1&a=2", 0, "h", "/x/../y", "b=1&a=2");
	test_url("https://[::1]:8443/kms/", 0, "[::1]:8443", "/kms/", "");
	test_url("ftp://h/", -EINVAL, NULL, NULL, NULL);
	test_url("http://user:pw@h/", -EINVAL, NULL, NULL, NULL);
	test_url("http://h/#frag", -EINVAL, NULL, NULL, NULL);

	return failed ? 1 : 0;
}
