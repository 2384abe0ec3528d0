// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the AWS KMS provider's reply parsing and classification,
 * strict base64, ARN parsing, backoff, configuration, endpoint resolution
 * and credential loading (lib/kms_aws.c, lib/aws_creds.c).  No network:
 * the wire is covered by tests/host/aws-kms-moto.py and aws-kms-faults.py.
 * Flat KTAP.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kms/aws/aws_creds.h"
#include "config/config.h"
#include "kms/aws/kms_aws.h"

static int n, failed;

static void ok(int cond, const char *desc)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n, desc);
}

static enum aur_kms_err classify(long status, const char *hdr, const char *body,
				 struct aur_kms_status *st)
{
	struct json_object *o = NULL;
	enum aur_kms_err e;

	memset(st, 0, sizeof(*st));
	e = aur_kms_aws_parse_reply("Test", status, hdr, body, strlen(body), &o, st);
	if (o)
		json_object_put(o);
	return e;
}

static struct json_object *parse_ok(const char *body)
{
	struct json_object *o = NULL;
	struct aur_kms_status st;

	if (aur_kms_aws_parse_reply("Test", 200, NULL, body, strlen(body), &o, &st))
		return NULL;
	return o;
}

static void test_b64(void)
{
	uint8_t out[16];

	ok(aur_b64_decode("aGVsbG8=", 8, out, sizeof(out)) == 5 && !memcmp(out, "hello", 5),
	   "base64: one pad");
	ok(aur_b64_decode("aGk=", 4, out, sizeof(out)) == 2 &&
	   aur_b64_decode("aA==", 4, out, sizeof(out)) == 1 &&
	   aur_b64_decode("", 0, out, sizeof(out)) == 0, "base64: two pads, empty");
	ok(aur_b64_decode("aGVsbG8", 7, out, sizeof(out)) < 0 &&
	   aur_b64_decode("aGV*bG8=", 8, out, sizeof(out)) < 0 &&
	   aur_b64_decode("aB==", 4, out, sizeof(out)) < 0 &&
	   aur_b64_decode("a=Va", 4, out, sizeof(out)) < 0 &&
	   aur_b64_decode("aGVsbG8=aGk=", 12, out, sizeof(out)) < 0 &&
	   aur_b64_decode("aGVsbG8gd29ybGQgaGVsbG8=", 24, out, 4) < 0,
	   "base64: bad length, character, padding bits, inner pad, overflow refused");
}

static void test_classify(void)
{
	struct aur_kms_status st;

	ok(classify(200, NULL, "{\"a\":1}", &st) == AUR_KMS_OK, "200 with a JSON object: OK");
	ok(classify(200, NULL, "{\"a\":", &st) == AUR_KMS_E_PROTOCOL &&
	   strstr(st.message, "truncated"), "200 with truncated JSON: protocol error, says truncated");
	ok(classify(200, NULL, "<html>", &st) == AUR_KMS_E_PROTOCOL &&
	   classify(200, NULL, "", &st) == AUR_KMS_E_PROTOCOL &&
	   classify(200, NULL, "{} {}", &st) == AUR_KMS_E_PROTOCOL &&
	   classify(200, NULL, "\"str\"", &st) == AUR_KMS_E_PROTOCOL,
	   "200 with garbage, empty, two objects, a non-object: protocol error");
	ok(classify(200, NULL, "{} \r\n", &st) == AUR_KMS_OK, "trailing whitespace accepted");
	ok(classify(400, NULL, "{\"__type\":\"DisabledException\",\"message\":\"off\"}", &st) ==
	   AUR_KMS_E_DISABLED && st.http_status == 400 && strstr(st.message, "off"),
	   "400 DisabledException");
	ok(classify(400, NULL, "{\"__type\":\"com.amazonaws.kms#NotFoundException\"}", &st) ==
	   AUR_KMS_E_NOT_FOUND, "400 namespace#NotFoundException");
	ok(classify(400, NULL, "{\"__type\":\"KMSInvalidStateException\"}", &st) == AUR_KMS_E_INVALID_STATE &&
	   classify(400, NULL, "{\"__type\":\"AccessDeniedException\"}", &st) == AUR_KMS_E_ACCESS_DENIED &&
	   classify(400, NULL, "{\"__type\":\"IncorrectKeyException\"}", &st) == AUR_KMS_E_INCORRECT_KEY &&
	   classify(400, NULL, "{\"__type\":\"InvalidCiphertextException\"}", &st) ==
	   AUR_KMS_E_INVALID_CIPHERTEXT, "400 with the other definitive types");
	ok(classify(400, NULL, "{\"__type\":\"ThrottlingException\"}", &st) == AUR_KMS_E_THROTTLED &&
	   classify(429, NULL, "", &st) == AUR_KMS_E_THROTTLED &&
	   classify(429, NULL, "{\"__type\":\"AccessDeniedException\"}", &st) == AUR_KMS_E_THROTTLED,
	   "throttling: ThrottlingException and any 429");
	ok(classify(500, NULL, "{\"__type\":\"KMSInternalException\"}", &st) == AUR_KMS_E_UNAVAILABLE &&
	   classify(503, NULL, "", &st) == AUR_KMS_E_UNAVAILABLE &&
	   classify(502, NULL, "<html>", &st) == AUR_KMS_E_UNAVAILABLE &&
	   classify(500, NULL, "{\"__type\":\"DependencyTimeoutException\"}", &st) ==
	   AUR_KMS_E_UNAVAILABLE, "5xx: unavailable");
	ok(classify(500, NULL, "{\"__type\":\"AccessDeniedException\"}", &st) == AUR_KMS_E_UNAVAILABLE &&
	   classify(503, NULL, "{\"__type\":\"DisabledException\"}", &st) == AUR_KMS_E_UNAVAILABLE,
	   "5xx is never definitive, whatever the type says");
	ok(classify(400, NULL, "<html>Bad</html>", &st) == AUR_KMS_E_PROTOCOL &&
	   classify(400, NULL, "{}", &st) == AUR_KMS_E_PROTOCOL,
	   "4xx (not 401/403) without an error type: protocol error, not a revocation");
	{
		static const char *const types[] = {
			"SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException",
			"IncompleteSignature", "MissingAuthenticationToken",
			"InvalidSignatureException", "ExpiredTokenException",
			"com.amazon.coral.service#UnrecognizedClientException",
		};
		char body[200];
		int good = 0;

		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			enum aur_kms_err e;

			snprintf(body, sizeof(body), "{\"__type\":\"%s\",\"message\":\"m\"}", types[i]);
			e = classify(400, NULL, body, &st);
			if (e == AUR_KMS_E_CREDENTIALS && !aur_kms_err_is_definitive(e) &&
			    strstr(st.message, "credentials") && strstr(st.message, "not an answer about the CMK"))
				good++;
			else
				printf("# %s: %s\n", types[i], st.message);
		}
		ok(good == (int)(sizeof(types) / sizeof(types[0])),
		   "JSON credential error types: CredentialsError, not definitive, message says credentials, not the CMK");
	}
	ok(classify(403, NULL, "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
		    "<Message>The request signature we calculated does not match</Message></Error>", &st) ==
	   AUR_KMS_E_CREDENTIALS && strstr(st.message, "SignatureDoesNotMatch") &&
	   strstr(st.message, "calculated"),
	   "XML 403 <Error><Code>SignatureDoesNotMatch</Code>: CredentialsError naming the code");
	ok(classify(400, NULL, "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>",
		    &st) == AUR_KMS_E_CREDENTIALS, "XML InvalidClientTokenId (HTTP 400): CredentialsError");
	ok(classify(403, NULL, "<html>Forbidden</html>", &st) == AUR_KMS_E_CREDENTIALS &&
	   classify(401, NULL, "", &st) == AUR_KMS_E_CREDENTIALS &&
	   classify(403, NULL, "<Error><Code>AccessDenied</Code></Error>", &st) == AUR_KMS_E_CREDENTIALS &&
	   classify(403, "UnrecognizedClientException:http://x/", "", &st) == AUR_KMS_E_CREDENTIALS,
	   "any 401/403 without a JSON __type (HTML, empty, XML AccessDenied, header type): CredentialsError");
	ok(classify(400, NULL, "{\"__type\":\"AccessDeniedException\"}", &st) == AUR_KMS_E_ACCESS_DENIED &&
	   classify(400, NULL, "<Error><Code>NotFoundException</Code></Error>", &st) == AUR_KMS_E_NOT_FOUND,
	   "KMS's own JSON AccessDeniedException stays AccessDenied; an XML KMS type is still mapped");
	ok(classify(400, "NotFoundException:http://internal.amazon.com/", "{}", &st) ==
	   AUR_KMS_E_NOT_FOUND, "type from the x-amzn-ErrorType header");
	ok(classify(400, NULL, "{\"__type\":\"Odd\\u0001Type\",\"message\":\"a\\nb\"}", &st) ==
	   AUR_KMS_E_PROTOCOL && !strchr(st.message, '\n') && !strchr(st.message, 1),
	   "unknown type: protocol error; control characters kept out of messages");
}

static void test_plaintext(void)
{
	struct json_object *o, *v;
	struct aur_secret *s = NULL;
	struct aur_kms_status st;
	const char *str;
	int zero = 1;

	o = parse_ok("{\"Plaintext\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}");
	ok(o && aur_kms_aws_take_plaintext(o, 32, &s, &st) == AUR_KMS_OK && s && s->len == 32 &&
	   s->data[0] == 0 && s->data[31] == 31, "Plaintext decoded into locked memory");
	if (o && json_object_object_get_ex(o, "Plaintext", &v)) {
		str = json_object_get_string(v);
		for (int i = 0; i < json_object_get_string_len(v); i++)
			zero &= str[i] == 0;
	}
	ok(o && zero, "the JSON string that carried the key is wiped");
	aur_secret_free(s);
	s = NULL;
	if (o)
		json_object_put(o);
	o = parse_ok("{\"Plaintext\":\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}");
	ok(o && aur_kms_aws_take_plaintext(o, 64, &s, &st) == AUR_KMS_E_PROTOCOL && !s,
	   "a Plaintext of the wrong length is a protocol error");
	if (o)
		json_object_put(o);
	o = parse_ok("{\"Plaintext\":12}");
	ok(o && aur_kms_aws_take_plaintext(o, 0, &s, &st) == AUR_KMS_E_PROTOCOL && !s,
	   "a non-string Plaintext is a protocol error");
	if (o)
		json_object_put(o);
}

static void test_metadata(void)
{
	struct aur_kms_key_info info;
	struct aur_kms_status st;
	struct json_object *o;
	char region[32], account[16];

	o = parse_ok("{\"KeyMetadata\":{\"KeyId\":\"1234abcd-12ab-34cd-56ef-1234567890ab\","
		     "\"Arn\":\"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\","
		     "\"AWSAccountId\":\"111122223333\",\"CreationDate\":1.7000000123E9,"
		     "\"Enabled\":false,\"KeyState\":\"PendingDeletion\",\"DeletionDate\":1700600000,"
		     "\"Description\":\"vol\\u0007\"}}");
	ok(o && aur_kms_aws_parse_key_metadata(o, &info, &st) == AUR_KMS_OK &&
	   !strcmp(info.account, "111122223333") && !strcmp(info.region, "eu-west-1") &&
	   info.state == AUR_KEY_PENDING_DELETION && !info.enabled &&
	   info.creation_date == 1700000012 && info.deletion_date == 1700600000 &&
	   !strcmp(info.description, "vol?"), "DescribeKey metadata, PendingDeletion");
	if (o)
		json_object_put(o);
	o = parse_ok("{\"KeyMetadata\":{\"KeyId\":\"k\",\"Enabled\":true,\"KeyState\":\"Enabled\"}}");
	ok(o && aur_kms_aws_parse_key_metadata(o, &info, &st) == AUR_KMS_E_PROTOCOL,
	   "DescribeKey without Arn: protocol error");
	if (o)
		json_object_put(o);
	o = parse_ok("{\"KeyMetadata\":{\"KeyId\":\"k\",\"Arn\":\"arn:aws:kms:us-east-1:1:key/k\","
		     "\"Enabled\":\"yes\",\"KeyState\":\"Enabled\"}}");
	ok(o && aur_kms_aws_parse_key_metadata(o, &info, &st) == AUR_KMS_E_PROTOCOL,
	   "DescribeKey with a non-boolean Enabled: protocol error");
	if (o)
		json_object_put(o);
	ok(aur_kms_aws_parse_arn("arn:aws-cn:kms:cn-north-1:123456789012:alias/x",
				 region, sizeof(region), account, sizeof(account)) == 0 &&
	   !strcmp(region, "cn-north-1") && !strcmp(account, "123456789012") &&
	   aur_kms_aws_parse_arn("arn:aws:s3:::bucket", region, sizeof(region),
				 account, sizeof(account)) < 0 &&
	   aur_kms_aws_parse_arn("alias/x", region, sizeof(region), account,
				 sizeof(account)) < 0, "ARN parsing");
}

static void test_config(void)
{
	struct aur_kms_aws_config c;
	long d1 = 0, d4 = 0, dmax = 0;

	aur_kms_aws_config_init(&c);
	ok(aur_kms_aws_config_set(&c, "region", "eu-central-1") == 0 &&
	   aur_kms_aws_config_set(&c, "endpoint_url", "http://127.0.0.1:1/") == 0 &&
	   aur_kms_aws_config_set(&c, "max_attempts", "3") == 0 &&
	   aur_kms_aws_config_set(&c, "timeout_ms", "2500") == 0 &&
	   c.max_attempts == 3 && c.timeout_ms == 2500 && !strcmp(c.region, "eu-central-1"),
	   "config options by name");
	ok(aur_kms_aws_config_set(&c, "nope", "1") == -ENOENT &&
	   aur_kms_aws_config_set(&c, "max_attempts", "0") == -EINVAL &&
	   aur_kms_aws_config_set(&c, "timeout_ms", "12x") == -EINVAL,
	   "unknown option and bad values refused");
	aur_kms_aws_config_init(&c);
	for (int i = 0; i < 200; i++) {
		long a = aur_kms_aws_backoff_ms(&c, 1, (uint32_t)rand());
		long b = aur_kms_aws_backoff_ms(&c, 4, (uint32_t)rand());
		long m = aur_kms_aws_backoff_ms(&c, 30, (uint32_t)rand());

		d1 = a > d1 ? a : d1;
		d4 = b > d4 ? b : d4;
		dmax = m > dmax ? m : dmax;
		if (a < 50 || b < 400 || m < 2500)
			d1 = 1 << 30;
	}
	ok(d1 <= 100 && d4 <= 800 && dmax <= 5000,
	   "backoff: equal jitter, doubling, capped at retry_max_delay_ms");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void clear_env(void)
{
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_KMS");
	unsetenv("AWS_CA_BUNDLE");
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

static void test_creds(const char *dir)
{
	struct aur_aws_creds c;
	char path[512], err[256];

	clear_env();
	snprintf(path, sizeof(path), "%s/credentials", dir);
	write_file(path, "# comment\n[default]\naws_access_key_id = AKIDEF\n"
		   "aws_secret_access_key = defsecret\n\n"
		   "[profile ops]\n aws_access_key_id=AKIOPS \n"
		   "aws_secret_access_key= ops/secret+x\naws_session_token = tok123\n"
		   "[broken]\naws_access_key_id = AKIBRK\n");
	ok(aur_aws_creds_load(&c, NULL, path, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKIDEF") && c.secret_key->len == 9 &&
	   !memcmp(c.secret_key->data, "defsecret", 9) && !c.session_token,
	   "credentials file, default profile");
	aur_aws_creds_clear(&c);
	ok(aur_aws_creds_load(&c, "ops", path, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKIOPS") && c.secret_key->len == 12 &&
	   c.session_token && !strcmp((char *)c.session_token->data, "tok123"),
	   "named profile ([profile x] spelling), trimmed values, session token");
	aur_aws_creds_clear(&c);
	ok(aur_aws_creds_load(&c, "broken", path, err, sizeof(err)) == -EINVAL &&
	   strstr(err, "broken") && !strstr(err, "AKIBRK"),
	   "incomplete profile refused, message names the profile only");
	ok(aur_aws_creds_load(&c, "absent", path, err, sizeof(err)) == -ENOENT,
	   "missing profile: -ENOENT");
	setenv("AWS_ACCESS_KEY_ID", "AKIENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	ok(aur_aws_creds_load(&c, NULL, path, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKIENV") && !strcmp(c.source, "environment"),
	   "environment before the file");
	aur_aws_creds_clear(&c);
	ok(aur_aws_creds_load(&c, "ops", path, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKIOPS"), "an explicit profile wins over the environment");
	aur_aws_creds_clear(&c);
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_PROFILE", "ops", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	ok(aur_aws_creds_load(&c, NULL, NULL, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKIOPS"),
	   "half a pair in the environment is ignored; AWS_PROFILE and AWS_SHARED_CREDENTIALS_FILE");
	aur_aws_creds_clear(&c);
	clear_env();
	setenv("HOME", dir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	ok(aur_aws_creds_load(&c, NULL, NULL, err, sizeof(err)) == -ENOENT,
	   "no ~/.aws/credentials, instance metadata disabled: -ENOENT");
	unlink(path);

	/* The shared config file: [profile x] / [default] static keys, after the credentials file. */
	snprintf(path, sizeof(path), "%s/config", dir);
	write_file(path, "[default]\nregion = eu-west-1\naws_access_key_id = AKICFGDEF\n"
		   "aws_secret_access_key = cfgsecret\n[ops]\naws_access_key_id = AKINOTAPROFILE\n"
		   "aws_secret_access_key = x\n[profile ops]\naws_access_key_id = AKICFGOPS\n"
		   "aws_secret_access_key = opssecret\n[profile nokeys]\nregion = us-east-1\n");
	setenv("AWS_CONFIG_FILE", path, 1);
	ok(aur_aws_creds_load(&c, NULL, NULL, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKICFGDEF") && !strcmp(c.source, "config:default"),
	   "shared config file [default] when there is no credentials file");
	aur_aws_creds_clear(&c);
	setenv("AWS_PROFILE", "ops", 1);
	ok(aur_aws_creds_load(&c, NULL, NULL, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "AKICFGOPS"),
	   "shared config file: [profile ops], not [ops]");
	aur_aws_creds_clear(&c);
	ok(aur_aws_creds_load(&c, "nokeys", NULL, err, sizeof(err)) == -ENOENT,
	   "a config profile without static keys: none found");
	unlink(path);
	clear_env();
}

/* aurora.conf's region: the file, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
static void test_conf_region(const char *dir)
{
	struct aur_config cfg;
	char path[512], err[256];

	clear_env();
	unsetenv("AURORA_CONF");
	snprintf(path, sizeof(path), "%s/aurora.conf", dir);
	write_file(path, "provider = aws\n");
	setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
	ok(aur_config_load(&cfg, path, err, sizeof(err)) == 0 && !strcmp(cfg.region, "ap-south-1"),
	   "no region line: AWS_DEFAULT_REGION");
	setenv("AWS_REGION", "eu-west-3", 1);
	ok(aur_config_load(&cfg, path, err, sizeof(err)) == 0 && !strcmp(cfg.region, "eu-west-3"),
	   "no region line: AWS_REGION before AWS_DEFAULT_REGION");
	write_file(path, "provider = aws\nregion = eu-north-1\n");
	ok(aur_config_load(&cfg, path, err, sizeof(err)) == 0 && !strcmp(cfg.region, "eu-north-1"),
	   "a region line wins over AWS_REGION");
	setenv("AWS_REGION", "EU WEST", 1);
	ok(aur_config_load(&cfg, path, err, sizeof(err)) == -EINVAL && strstr(err, "AWS_REGION"),
	   "a malformed AWS_REGION is an error naming it");
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	write_file(path, "provider = aws\n");
	ok(aur_config_load(&cfg, path, err, sizeof(err)) == 0 && !strcmp(cfg.region, "us-east-1"),
	   "nothing set: us-east-1");
	unlink(path);
}

static void test_imds_parse(void)
{
	struct aur_aws_creds c;
	char err[256];
	const char *good = "{\"Code\":\"Success\",\"LastUpdated\":\"2026-12-03T12:00:00Z\","
			   "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\","
			   "\"SecretAccessKey\":\"imds/secret\",\"Token\":\"tok==\","
			   "\"Expiration\":\"2026-12-03T18:00:00Z\"}";

	ok(aur_aws_imds_parse(good, strlen(good), &c, err, sizeof(err)) == 0 &&
	   !strcmp(c.access_key, "ASIAIMDS") && c.secret_key->len == 11 &&
	   !memcmp(c.secret_key->data, "imds/secret", 11) && c.session_token &&
	   !strcmp((char *)c.session_token->data, "tok==") && c.expiration == 1796320800,
	   "IMDS role credentials JSON: keys, token and Expiration");
	aur_aws_creds_clear(&c);
	ok(aur_aws_imds_parse("{\"Code\":\"Failure\"}", 18, &c, err, sizeof(err)) == -EINVAL &&
	   aur_aws_imds_parse("{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
			      "\"Expiration\":\"tomorrow\"}", 72, &c, err, sizeof(err)) == -EINVAL &&
	   aur_aws_imds_parse("{\"AccessKeyId\":\"A\"}", 18, &c, err, sizeof(err)) == -EINVAL &&
	   aur_aws_imds_parse("[1]", 3, &c, err, sizeof(err)) == -EINVAL &&
	   aur_aws_imds_parse("{", 1, &c, err, sizeof(err)) == -EINVAL && !strstr(err, "secret"),
	   "IMDS credentials: Code not Success, bad Expiration, missing keys, not an object refused");
}

static void test_route(void)
{
	char reg[AUR_REGION_MAX], ep[512];

	ok(aur_kms_aws_route("us-east-1", NULL,
			     "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			     reg, sizeof(reg), ep, sizeof(ep)) == 0 && !strcmp(reg, "eu-central-1") &&
	   !strcmp(ep, "https://kms.eu-central-1.amazonaws.com/"),
	   "a key ARN routes to its region: endpoint and signing region");
	ok(aur_kms_aws_route("us-east-1", NULL, "alias/x", reg, sizeof(reg), ep, sizeof(ep)) == 0 &&
	   !strcmp(reg, "us-east-1") && !strcmp(ep, "https://kms.us-east-1.amazonaws.com/") &&
	   aur_kms_aws_route("us-east-1", NULL, NULL, reg, sizeof(reg), ep, sizeof(ep)) == 0 &&
	   !strcmp(reg, "us-east-1"),
	   "an alias or no key id: the configured region");
	ok(aur_kms_aws_route("us-east-1", NULL, "arn:aws-cn:kms:cn-north-1:111122223333:alias/a",
			     reg, sizeof(reg), ep, sizeof(ep)) == 0 &&
	   !strcmp(ep, "https://kms.cn-north-1.amazonaws.com.cn/") &&
	   aur_kms_aws_route("us-east-1", NULL, "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k",
			     reg, sizeof(reg), ep, sizeof(ep)) == 0 &&
	   !strcmp(ep, "https://kms.us-gov-west-1.amazonaws.com/") &&
	   aur_kms_aws_route("cn-northwest-1", NULL, "k", reg, sizeof(reg), ep, sizeof(ep)) == 0 &&
	   !strcmp(ep, "https://kms.cn-northwest-1.amazonaws.com.cn/"),
	   "partitions: aws-cn and aws-us-gov endpoint domains");
	ok(aur_kms_aws_route("us-east-1", "http://127.0.0.1:4566/",
			     "arn:aws:kms:ap-south-1:111122223333:key/k", reg, sizeof(reg), ep,
			     sizeof(ep)) == 0 && !strcmp(reg, "ap-south-1") &&
	   !strcmp(ep, "http://127.0.0.1:4566/"),
	   "a configured endpoint is kept, signed with the ARN's region");
	ok(aur_kms_aws_route("us-east-1", NULL, "arn:aws-moon:kms:m-1:111122223333:key/k",
			     reg, sizeof(reg), ep, sizeof(ep)) == -ENOENT &&
	   aur_kms_aws_route("us-east-1", NULL, "arn:aws:kms:EU_WEST:111122223333:key/k",
			     reg, sizeof(reg), ep, sizeof(ep)) == -EINVAL,
	   "unknown partition and malformed region refused");
}

static void test_create(void)
{
	struct aur_kms_aws_config c;
	struct aur_kms_status st;
	struct aur_kms *k = NULL;
	struct aur_config ac;

	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKIENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	aur_kms_aws_config_init(&c);
	aur_kms_aws_config_set(&c, "region", "eu-west-1");
	ok(aur_kms_aws_create(&k, &c, &st) == AUR_KMS_OK && k &&
	   !strcmp(aur_kms_aws_endpoint(k), "https://kms.eu-west-1.amazonaws.com/") &&
	   !strcmp(k->ops->name, "aws") && !strcmp(k->region, "eu-west-1") &&
	   aur_kms_aws_last_attempts(k) == 0, "default endpoint https://kms.<region>.amazonaws.com/");
	aur_kms_destroy(k);
	k = NULL;
	aur_kms_aws_config_init(&c);
	setenv("AWS_REGION", "cn-north-1", 1);
	ok(aur_kms_aws_create(&k, &c, &st) == AUR_KMS_OK && k &&
	   !strcmp(aur_kms_aws_endpoint(k), "https://kms.cn-north-1.amazonaws.com.cn/"),
	   "region from AWS_REGION; China partition endpoint");
	aur_kms_destroy(k);
	k = NULL;
	unsetenv("AWS_REGION");
	ok(aur_kms_aws_create(&k, &c, &st) == AUR_KMS_E_INVALID_ARG && !k,
	   "no region: configuration error");
	aur_kms_aws_config_set(&c, "region", "us-east-1");
	aur_kms_aws_config_set(&c, "endpoint_url", "file:///etc/passwd");
	ok(aur_kms_aws_create(&k, &c, &st) == AUR_KMS_E_INVALID_ARG && !k,
	   "a non-http(s) endpoint is refused");
	aur_kms_aws_config_init(&c);
	aur_kms_aws_config_set(&c, "region", "us-east-1");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("HOME", "/nonexistent-aurora-home", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	{
		struct aur_kms_key_info info;

		ok(aur_kms_aws_create(&k, &c, &st) == AUR_KMS_OK && k &&
		   k->ops->describe_key(k, "alias/x", &info, &st) == AUR_KMS_E_CREDENTIALS &&
		   !aur_kms_err_is_definitive(st.code) && aur_kms_aws_last_attempts(k) == 0 &&
		   strstr(st.message, "no AWS credentials"),
		   "no credentials: each call fails with CredentialsError, no request sent");
		aur_kms_destroy(k);
		k = NULL;
	}
	unsetenv("AWS_EC2_METADATA_DISABLED");
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	memset(&ac, 0, sizeof(ac));
	strcpy(ac.provider, "aws");
	strcpy(ac.region, "ap-southeast-2");
	strcpy(ac.account, "111122223333");
	strcpy(ac.endpoint, "http://127.0.0.1:9/");
	ac.connect_timeout = 5;
	ac.timeout = 15;
	ok(aur_kms_aws_new(&ac, &k, &st) == 0 && k && !strcmp(k->account, "111122223333") &&
	   !strcmp(aur_kms_aws_endpoint(k), "http://127.0.0.1:9/"),
	   "aur_kms_aws_new() from struct aur_config");
	aur_kms_destroy(k);
	clear_env();
}

int main(void)
{
	char dir[] = "/tmp/aur-test-kms-aws-XXXXXX";

	printf("1..61\n");
	if (!mkdtemp(dir)) {
		printf("not ok 1 - mkdtemp\n");
		return 1;
	}
	test_b64();
	test_classify();
	test_plaintext();
	test_metadata();
	test_config();
	test_imds_parse();
	test_route();
	test_creds(dir);
	test_conf_region(dir);
	test_create();
	rmdir(dir);
	if (n != 61)
		printf("# ran %d tests, planned 61\n", n);
	return failed || n != 61 ? 1 : 0;
}
