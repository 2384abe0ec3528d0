// SPDX-License-Identifier: GPL-2.0
/* Configuration file and the small utilities. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "util/util.h"
#include "ktap.h"

static int parse(struct aur_config *c, const char *text, char *err, size_t errlen)
{
	aur_config_defaults(c);
	return aur_config_parse(c, text, strlen(text), err, errlen);
}

int main(void)
{
	struct aur_config c;
	char err[256], path[64], b64[64], hex[64];
	uint8_t buf[64];
	uint64_t v;
	int64_t t;
	int fd, n;

	aur_config_defaults(&c);
	ok(!strcmp(c.provider, "local") && !strcmp(c.keystore, "/var/lib/aurora/kms") && c.interval == 300,
	   "defaults: local provider, /var/lib/aurora/kms, 300 s");
	ok(parse(&c, "# comment\n\nprovider = aws\naccount=111122223333\n region =  eu-central-1 \n"
		     "keystore = /tmp/ks # trailing\ninterval = 5\nendpoint = https://127.0.0.1:4566\n"
		     "ca_bundle = /etc/ssl/ca.pem\nprofile = prod\nconnect_timeout = 2\ntimeout = 9\n",
		 err, sizeof(err)) == 0, "a full file parses (%s)", err);
	ok(!strcmp(c.provider, "aws") && !strcmp(c.account, "111122223333") && !strcmp(c.region, "eu-central-1") &&
	   !strcmp(c.keystore, "/tmp/ks") && c.interval == 5 && !strcmp(c.endpoint, "https://127.0.0.1:4566") &&
	   !strcmp(c.ca_bundle, "/etc/ssl/ca.pem") && !strcmp(c.profile, "prod") && c.connect_timeout == 2 &&
	   c.timeout == 9, "every key lands in its field");
	{
		static const struct { const char *text, *expect; } bad[] = {
			{ "provider = gcp\n", "line 1: provider" },
			{ "\n\naccount = 12\n", "line 3: account" },
			{ "region = EU_WEST\n", "region" },
			{ "keystore = relative/path\n", "absolute" },
			{ "interval = 0\n", "interval" },
			{ "interval = 10s\n", "interval" },
			{ "endpoint = ftp://x\n", "endpoint" },
			{ "colour = blue\n", "unknown key \"colour\"" },
			{ "provider\n", "key = value" },
			{ "provider =\n", "empty" },
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err[0] = '\0';
			ok(parse(&c, bad[i].text, err, sizeof(err)) == -EINVAL && strstr(err, bad[i].expect),
			   "bad line refused with a clear error: %s", err);
		}
	}
	{
		char big[200];

		memset(big, 'a', sizeof(big));
		memcpy(big, "account = ", 10);
		big[sizeof(big) - 1] = '\0';
		ok(parse(&c, big, err, sizeof(err)) == -EINVAL, "overlong value refused");
	}
	ok(aur_config_parse(&c, "a\0b", 3, err, sizeof(err)) == -EINVAL, "NUL byte refused");

	strcpy(path, "/tmp/aurora-conf-XXXXXX");
	fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "region = ap-south-1\n", 20) == 20, "write a config file");
	close(fd);
	setenv("AURORA_CONF", path, 1);
	ok(aur_config_load(&c, NULL, err, sizeof(err)) == 0 && !strcmp(c.region, "ap-south-1") &&
	   !strcmp(c.path, path), "AURORA_CONF selects the file");
	ok(aur_config_load(&c, "/nonexistent/aurora.conf", err, sizeof(err)) == -ENOENT &&
	   strstr(err, "/nonexistent/aurora.conf"), "an explicit missing file is an error naming it");
	setenv("AURORA_CONF", "/nonexistent/x.conf", 1);
	ok(aur_config_load(&c, path, err, sizeof(err)) == 0, "--config wins over AURORA_CONF");
	unsetenv("AURORA_CONF");
	unlink(path);
	ok(aur_account_valid("000000000000") && !aur_account_valid("0000000000001") && !aur_account_valid("00000000000a"),
	   "account validation");

	/* utilities */
	n = aur_base64_encode((const uint8_t *)"hello!", 6, b64, sizeof(b64));
	ok(n == 8 && !strcmp(b64, "aGVsbG8h"), "base64 encode");
	n = aur_base64_decode("aGVsbG8=", buf, sizeof(buf));
	ok(n == 5 && !memcmp(buf, "hello", 5), "base64 decode with padding");
	ok(aur_base64_decode("aGVsbG8", buf, sizeof(buf)) < 0 && aur_base64_decode("aGV=bG8h", buf, sizeof(buf)) < 0 &&
	   aur_base64_decode("aGVs bG8", buf, sizeof(buf)) < 0 && aur_base64_decode("aGVsbG8h", buf, 3) < 0,
	   "base64 rejects bad length, misplaced padding, junk and overflow");
	ok(aur_hex_encode((const uint8_t *)"\x01\xab", 2, hex, sizeof(hex)) == 4 && !strcmp(hex, "01ab") &&
	   aur_hex_decode("01AB", buf, sizeof(buf)) == 2 && buf[1] == 0xab && aur_hex_decode("0g", buf, 4) < 0,
	   "hex encode/decode");
	{
		char u[37];

		ok(aur_uuid_generate(u) == 0 && aur_uuid_valid(u) && u[14] == '4', "UUID v4");
		ok(!aur_uuid_valid("0f1e2d3c-4b5a-4697-8877-66554433221") &&
		   !aur_uuid_valid("0f1e2d3c-4b5a-4697-8877-66554433221G") &&
		   !aur_uuid_valid("0F1E2D3C-4B5A-4697-8877-665544332211"), "UUID validation (lower-case, exact form)");
	}
	aur_time_iso(1764458320, b64);
	ok(!strcmp(b64, "2025-11-29T23:18:40Z") && aur_time_parse_iso(b64, &t) == 0 && t == 1764458320,
	   "ISO 8601 time round trip");
	ok(aur_time_parse_iso("2025-11-29 23:18:40", &t) == -EINVAL, "ISO parse rejects other forms");
	ok(aur_strcpy(b64, 4, "abc") == 0 && aur_strcpy(b64, 4, "abcd") == -ENAMETOOLONG && b64[0] == '\0',
	   "bounded copy reports truncation");
	ok(aur_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX &&
	   aur_parse_u64("18446744073709551616", &v) == -ERANGE && aur_parse_u64("-1", &v) == -EINVAL &&
	   aur_parse_u64("", &v) == -EINVAL, "u64 parsing with overflow checks");
	{
		struct json_object *o = aur_json_parse("{\"a\":1,\"s\":\"x\"}  ", 17, err, sizeof(err));
		const char *s;
		int64_t x;

		ok(o && aur_json_get_int64(o, "a", true, 0, 10, &x, err, sizeof(err)) == 0 && x == 1 &&
		   aur_json_get_int64(o, "a", true, 2, 10, &x, err, sizeof(err)) == -EINVAL &&
		   aur_json_get_str(o, "a", true, &s, 10, err, sizeof(err)) == -EINVAL &&
		   aur_json_get_str(o, "zz", true, &s, 10, err, sizeof(err)) == -ENOENT && strstr(err, "zz"),
		   "typed JSON look-ups name the field in errors");
		json_object_put(o);
		ok(!aur_json_parse("[1]", 3, err, sizeof(err)) && !aur_json_parse("{} x", 4, err, sizeof(err)) &&
		   !aur_json_parse("{\"a\":", 5, err, sizeof(err)), "JSON parse: object only, no trailing data, no truncation");
	}
	return ktap_done();
}
