// SPDX-License-Identifier: GPL-2.0
/* The embedded KMS: every operation and error, rotation, cross-account, audit. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "kms/local/kms_local.h"
#include "util/util.h"
#include "ktap.h"

#define A1 "111122223333"
#define A2 "444455556666"
#define R1 "eu-west-1"
#define DAY 86400

static int64_t clock_now = 1800000000;
static int64_t fake_now(void) { return clock_now; }

static char ks[64];

static struct aur_kms *mk(const char *acct, const char *region)
{
	struct aur_kms_local_opts o = { .keystore = ks, .account = acct, .region = region, .now = fake_now };
	struct aur_kms_status st;
	struct aur_kms *k = NULL;

	if (aur_kms_local_new(&o, &k, &st))
		fprintf(stderr, "kms: %s\n", st.message);
	return k;
}

static int count_lines(const char *path, const char *needle)
{
	char *t = NULL, *p;
	size_t len;
	int n = 0;

	if (aur_read_file(path, 1 << 24, &t, &len))
		return -1;
	for (p = t; (p = strstr(p, needle)); p++)
		n++;
	free(t);
	return n;
}

int main(void)
{
	struct aur_kms *k1, *k2, *k1other;
	struct aur_kms_status st;
	struct aur_kms_key_info ki, ki2, info;
	struct aur_kms_key_detail d;
	struct aur_enc_ctx ctx = { 0 }, ctx2 = { 0 };
	struct aur_secret *pt = NULL, *pt2 = NULL;
	struct aur_blob *b = calloc(1, sizeof(*b)), *b2 = calloc(1, sizeof(*b2)), *b3 = calloc(1, sizeof(*b3));
	char arn[AUR_ARN_MAX], path[128], alias_arn[300];
	struct stat sb;
	enum aur_kms_err e;
	unsigned int ver;
	int64_t date;

	/* classification */
	ok(aur_kms_err_from_type("com.amazonaws.kms#DisabledException") == AUR_KMS_E_DISABLED &&
	   aur_kms_err_from_type("NotFoundException") == AUR_KMS_E_NOT_FOUND &&
	   aur_kms_err_from_type("ThrottlingException") == AUR_KMS_E_THROTTLED &&
	   aur_kms_err_from_type("KMSInternalException") == AUR_KMS_E_UNAVAILABLE &&
	   aur_kms_err_from_type("SomethingNew") == AUR_KMS_E_PROTOCOL &&
	   aur_kms_err_from_type(NULL) == AUR_KMS_E_PROTOCOL, "AWS __type names map to kinds");
	ok(aur_kms_err_is_definitive(AUR_KMS_E_ACCESS_DENIED) && aur_kms_err_is_definitive(AUR_KMS_E_INVALID_STATE) &&
	   !aur_kms_err_is_definitive(AUR_KMS_E_THROTTLED) && !aur_kms_err_is_definitive(AUR_KMS_E_PROTOCOL) &&
	   !aur_kms_err_is_definitive(AUR_KMS_E_INTERNAL) && aur_kms_err_is_transient(AUR_KMS_E_UNAVAILABLE) &&
	   !aur_kms_err_is_transient(AUR_KMS_E_DISABLED), "definitive vs transient classification");
	ok(!strcmp(aur_kms_err_name(AUR_KMS_E_INCORRECT_KEY), "IncorrectKeyException") &&
	   aur_key_state_from_name("PendingDeletion") == AUR_KEY_PENDING_DELETION &&
	   !strcmp(aur_key_state_name(AUR_KEY_DISABLED), "Disabled"), "names of errors and key states");
	aur_enc_ctx_set(&ctx, "a", "1");
	aur_enc_ctx_set(&ctx, "b", "2");
	aur_enc_ctx_set(&ctx2, "b", "2");
	aur_enc_ctx_set(&ctx2, "a", "1");
	ok(aur_enc_ctx_equal(&ctx, &ctx2), "encryption contexts compare regardless of order");
	aur_enc_ctx_set(&ctx2, "a", "9");
	ok(!aur_enc_ctx_equal(&ctx, &ctx2) && !strcmp(aur_enc_ctx_get(&ctx2, "a"), "9"), "context set replaces a value");

	strcpy(ks, "/tmp/aurora-ks-XXXXXX");
	if (!mkdtemp(ks))
		return 1;
	k1 = mk(A1, R1);
	k2 = mk(A2, R1);
	k1other = mk(A1, "us-west-2");
	ok(k1 && k2 && k1other, "providers for two accounts and two regions");

	/* create / describe / aliases */
	e = aur_kms_local_create_key(k1, "first", &ki, &st);
	ok(e == AUR_KMS_OK && aur_uuid_valid(ki.key_id) && ki.state == AUR_KEY_ENABLED, "CreateKey");
	snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:key/%s", R1, A1, ki.key_id);
	ok(!strcmp(ki.arn, arn), "key ARN is arn:aws:kms:<region>:<account>:key/<id>");
	ok(stat(ks, &sb) == 0 && (sb.st_mode & 0777) == 0700, "keystore directory is 0700");
	snprintf(path, sizeof(path), "%s/keystore.json", ks);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "keystore.json is 0600");
	snprintf(path, sizeof(path), "%s/master.key", ks);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && sb.st_size == 32, "master.key is 0600, 32 bytes");
	e = aur_kms_local_create_alias(k1, "alias/db", ki.key_id, &st);
	ok(e == AUR_KMS_OK, "CreateAlias alias/db");
	ok(aur_kms_local_create_alias(k1, "alias/db", ki.key_id, &st) == AUR_KMS_E_INVALID_ARG &&
	   strstr(st.message, "AlreadyExists"), "duplicate alias refused");
	ok(aur_kms_local_create_alias(k1, "alias/aws/x", ki.key_id, &st) == AUR_KMS_E_INVALID_ARG &&
	   aur_kms_local_create_alias(k1, "db", ki.key_id, &st) == AUR_KMS_E_INVALID_ARG &&
	   aur_kms_local_create_alias(k1, "alias/bad name", ki.key_id, &st) == AUR_KMS_E_INVALID_ARG,
	   "reserved and malformed alias names refused");
	snprintf(alias_arn, sizeof(alias_arn), "arn:aws:kms:%s:%s:alias/db", R1, A1);
	{
		const char *forms[] = { ki.key_id, arn, "alias/db", alias_arn };
		int good = 0;
		size_t i;

		for (i = 0; i < 4; i++)
			if (k1->ops->describe_key(k1, forms[i], &info, &st) == AUR_KMS_OK &&
			    !strcmp(info.key_id, ki.key_id))
				good++;
		ok(good == 4, "DescribeKey by key id, key ARN, alias name and alias ARN");
	}
	ok(k1->ops->describe_key(k1, "alias/nope", &info, &st) == AUR_KMS_E_NOT_FOUND &&
	   k1->ops->describe_key(k1, "11111111-2222-4333-8444-555555555555", &info, &st) == AUR_KMS_E_NOT_FOUND &&
	   k1->ops->describe_key(k1, "garbage", &info, &st) == AUR_KMS_E_NOT_FOUND,
	   "unknown key id, alias or junk: NotFoundException");
	ok(k1->ops->describe_key(k1, "arn:aws:kms:eu-west-1:12:key/x", &info, &st) == AUR_KMS_E_INVALID_ARG,
	   "malformed ARN: ValidationException-class error");
	ok(k1other->ops->describe_key(k1other, arn, &info, &st) == AUR_KMS_OK &&
	   !strcmp(info.key_id, ki.key_id) && !strcmp(info.region, R1),
	   "another region's key ARN is served from that region's keys (routed by the ARN)");
	ok(k1other->ops->describe_key(k1other, alias_arn, &info, &st) == AUR_KMS_OK &&
	   !strcmp(info.key_id, ki.key_id), "another region's alias ARN too");
	ok(k1other->ops->describe_key(k1other, ki.key_id, &info, &st) == AUR_KMS_E_NOT_FOUND,
	   "key id is scoped to its region");
	{
		struct aur_kms_alias *al;
		size_t n;

		e = aur_kms_local_list_aliases(k1, NULL, &al, &n, &st);
		ok(e == AUR_KMS_OK && n == 1 && !strcmp(al[0].name, "alias/db") && !strcmp(al[0].arn, alias_arn),
		   "ListAliases");
		free(al);
	}

	/* default CMK on first use, per account and region */
	e = k1->ops->generate_data_key(k1, NULL, &ctx, 64, &pt, b, arn, &st);
	ok(e == AUR_KMS_OK && pt && pt->len == 64 && b->len > 64, "GenerateDataKey with no key: default CMK");
	e = k1->ops->describe_key(k1, AUR_DEFAULT_ALIAS, &info, &st);
	ok(e == AUR_KMS_OK && !strcmp(info.arn, arn), "alias/aurora/default created on first use");
	e = k1other->ops->describe_key(k1other, AUR_DEFAULT_ALIAS, &ki2, &st);
	ok(e == AUR_KMS_E_NOT_FOUND, "DescribeKey of another region's default CMK creates none");
	pt2 = NULL;
	e = k1other->ops->generate_data_key(k1other, NULL, &ctx, 64, &pt2, b2, NULL, &st);
	aur_secret_free(pt2);
	pt2 = NULL;
	e = e ? e : k1other->ops->describe_key(k1other, AUR_DEFAULT_ALIAS, &ki2, &st);
	ok(e == AUR_KMS_OK && strcmp(ki2.key_id, info.key_id) && !strcmp(ki2.region, "us-west-2"),
	   "each region has its own default CMK");
	{
		struct aur_kms_key_info *keys;
		size_t n;

		e = aur_kms_local_list_keys(k1, &keys, &n, &st);
		ok(e == AUR_KMS_OK && n == 2, "ListKeys lists the account's keys in its region (%zu)", n);
		free(keys);
	}

	/* decrypt round trip and errors */
	e = k1->ops->decrypt(k1, NULL, &ctx, b, &pt2, arn, &st);
	ok(e == AUR_KMS_OK && pt2->len == 64 && !memcmp(pt->data, pt2->data, 64), "Decrypt round trip (key from the blob)");
	aur_secret_free(pt2);
	pt2 = NULL;
	e = k1->ops->decrypt(k1, AUR_DEFAULT_ALIAS, &ctx, b, &pt2, arn, &st);
	ok(e == AUR_KMS_OK, "Decrypt with the matching KeyId");
	aur_secret_free(pt2);
	pt2 = NULL;
	e = k1->ops->decrypt(k1, NULL, &ctx2, b, &pt2, arn, &st);
	ok(e == AUR_KMS_E_INVALID_CIPHERTEXT && !pt2, "wrong encryption context: InvalidCiphertextException");
	e = k1->ops->decrypt(k1, NULL, NULL, b, &pt2, arn, &st);
	ok(e == AUR_KMS_E_INVALID_CIPHERTEXT, "missing encryption context: InvalidCiphertextException");
	*b2 = *b;
	b2->data[b2->len - 1] ^= 1;
	ok(k1->ops->decrypt(k1, NULL, &ctx, b2, &pt2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "tampered ciphertext: InvalidCiphertextException");
	*b2 = *b;
	b2->data[60] ^= 1;
	ok(k1->ops->decrypt(k1, NULL, &ctx, b2, &pt2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "tampered tag: InvalidCiphertextException");
	*b2 = *b;
	b2->data[43] ^= 7;
	ok(k1->ops->decrypt(k1, NULL, &ctx, b2, &pt2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "tampered material version: InvalidCiphertextException");
	*b2 = *b;
	b2->len = 50;
	ok(k1->ops->decrypt(k1, NULL, &ctx, b2, &pt2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "truncated blob: InvalidCiphertextException");
	ok(k1->ops->decrypt(k1, "alias/db", &ctx, b, &pt2, arn, &st) == AUR_KMS_E_INCORRECT_KEY && !pt2,
	   "blob of another key with explicit KeyId: IncorrectKeyException");

	/* re-encrypt */
	e = k1->ops->re_encrypt(k1, NULL, &ctx, b, "alias/db", &ctx2, b3, arn, &st);
	ok(e == AUR_KMS_OK && !strcmp(arn, ki.arn), "ReEncrypt to alias/db with a new context");
	e = k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st);
	ok(e == AUR_KMS_OK && !memcmp(pt2->data, pt->data, 64), "re-encrypted blob yields the same data key");
	aur_secret_free(pt2);
	pt2 = NULL;
	ok(k1->ops->decrypt(k1, NULL, &ctx, b3, &pt2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "re-encrypted blob is bound to the new context");
	ok(k1->ops->re_encrypt(k1, NULL, &ctx2, b, "alias/db", &ctx2, b2, arn, &st) == AUR_KMS_E_INVALID_CIPHERTEXT,
	   "ReEncrypt with a wrong source context fails");

	/* disable / enable */
	ok(aur_kms_local_disable_key(k1, "alias/db", &st) == AUR_KMS_OK, "DisableKey");
	ok(k1->ops->describe_key(k1, "alias/db", &info, &st) == AUR_KMS_OK && info.state == AUR_KEY_DISABLED &&
	   !info.enabled, "DescribeKey shows Disabled");
	ok(k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_DISABLED,
	   "Decrypt under a disabled key: DisabledException");
	ok(k1->ops->generate_data_key(k1, "alias/db", &ctx, 64, &pt2, b2, arn, &st) == AUR_KMS_E_DISABLED,
	   "GenerateDataKey under a disabled key: DisabledException");
	ok(aur_kms_local_enable_key(k1, ki.key_id, &st) == AUR_KMS_OK &&
	   k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_OK, "EnableKey restores use");
	aur_secret_free(pt2);
	pt2 = NULL;

	/* rotation */
	e = aur_kms_local_rotate_on_demand(k1, "alias/db", &ver, &st);
	ok(e == AUR_KMS_OK && ver == 2, "RotateKeyOnDemand: material version 2");
	e = k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st);
	ok(e == AUR_KMS_OK && !memcmp(pt2->data, pt->data, 64), "old blob still decrypts after rotation");
	aur_secret_free(pt2);
	pt2 = NULL;
	e = k1->ops->generate_data_key(k1, "alias/db", &ctx, 32, &pt2, b2, arn, &st);
	ok(e == AUR_KMS_OK && b2->data[43] == 2, "new blobs use the new material version");
	aur_secret_free(pt2);
	pt2 = NULL;
	ok(aur_kms_local_enable_rotation(k1, "alias/db", 30, &st) == AUR_KMS_E_INVALID_ARG,
	   "rotation period below 90 days refused");
	ok(aur_kms_local_enable_rotation(k1, "alias/db", 90, &st) == AUR_KMS_OK, "EnableKeyRotation every 90 days");
	clock_now += 91 * DAY;
	/* A read sees the rotation come due; it is made after the read (reads change nothing). */
	(void)aur_kms_local_describe_ex(k1, "alias/db", &d, &st);
	ok(aur_kms_local_describe_ex(k1, "alias/db", &d, &st) == AUR_KMS_OK && d.rotation_enabled &&
	   d.material_versions == 3, "automatic rotation after the period (%u versions)", d.material_versions);
	ok(k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_OK, "version 1 blob decrypts after auto rotation");
	aur_secret_free(pt2);
	pt2 = NULL;
	ok(aur_kms_local_disable_rotation(k1, "alias/db", &st) == AUR_KMS_OK, "DisableKeyRotation");

	/* cross-account */
	ok(k2->ops->describe_key(k2, ki.key_id, &info, &st) == AUR_KMS_E_NOT_FOUND,
	   "another account's key id alone: NotFoundException");
	ok(k2->ops->describe_key(k2, "alias/db", &info, &st) == AUR_KMS_E_NOT_FOUND,
	   "another account's alias name resolves in the caller's account: NotFound");
	ok(k2->ops->describe_key(k2, ki.arn, &info, &st) == AUR_KMS_E_ACCESS_DENIED,
	   "another account's ARN without policy: AccessDeniedException");
	ok(k2->ops->decrypt(k2, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_ACCESS_DENIED,
	   "Decrypt of another account's blob without policy: AccessDeniedException");
	ok(aur_kms_local_grant_account(k2, ki.arn, A2, &st) == AUR_KMS_E_ACCESS_DENIED,
	   "only the owner edits the key policy");
	ok(aur_kms_local_grant_account(k1, "alias/db", A2, &st) == AUR_KMS_OK, "owner grants account 2");
	ok(k2->ops->describe_key(k2, ki.arn, &info, &st) == AUR_KMS_OK &&
	   k2->ops->describe_key(k2, alias_arn, &info, &st) == AUR_KMS_OK, "granted account uses key ARN and alias ARN");
	e = k2->ops->decrypt(k2, ki.arn, &ctx2, b3, &pt2, arn, &st);
	ok(e == AUR_KMS_OK && !memcmp(pt2->data, pt->data, 64), "granted account decrypts");
	aur_secret_free(pt2);
	pt2 = NULL;
	e = k2->ops->generate_data_key(k2, ki.arn, &ctx, 64, &pt2, b2, arn, &st);
	ok(e == AUR_KMS_OK && !strcmp(arn, ki.arn), "granted account generates data keys under the CMK");
	aur_secret_free(pt2);
	pt2 = NULL;
	ok(aur_kms_local_disable_key(k2, ki.arn, &st) == AUR_KMS_E_ACCESS_DENIED,
	   "granted account cannot manage the key");
	ok(aur_kms_local_revoke_account(k1, "alias/db", A2, &st) == AUR_KMS_OK &&
	   k2->ops->decrypt(k2, ki.arn, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_ACCESS_DENIED,
	   "revoked account: AccessDeniedException");
	{
		struct aur_kms_policy p = { 0 };

		ok(aur_kms_local_put_key_policy(k1, "alias/db", &p, &st) == AUR_KMS_OK &&
		   k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_ACCESS_DENIED,
		   "policy without the owner: the owner is denied too");
		p.n = 2;
		strcpy(p.accounts[0], A1);
		strcpy(p.accounts[1], A2);
		ok(aur_kms_local_put_key_policy(k1, "alias/db", &p, &st) == AUR_KMS_OK &&
		   aur_kms_local_get_key_policy(k1, "alias/db", &p, &st) == AUR_KMS_OK && p.n == 2,
		   "PutKeyPolicy / GetKeyPolicy");
		strcpy(p.accounts[1], "12ab");
		ok(aur_kms_local_put_key_policy(k1, "alias/db", &p, &st) == AUR_KMS_E_INVALID_ARG,
		   "malformed policy account refused");
	}

	/* deletion */
	ok(aur_kms_local_schedule_deletion(k1, "alias/db", 6, &date, &st) == AUR_KMS_E_INVALID_ARG &&
	   aur_kms_local_schedule_deletion(k1, "alias/db", 31, &date, &st) == AUR_KMS_E_INVALID_ARG,
	   "pending window outside 7..30 days refused");
	ok(aur_kms_local_schedule_deletion(k1, "alias/db", 7, &date, &st) == AUR_KMS_OK &&
	   date == clock_now + 7 * DAY, "ScheduleKeyDeletion in 7 days");
	ok(k1->ops->describe_key(k1, "alias/db", &info, &st) == AUR_KMS_OK &&
	   info.state == AUR_KEY_PENDING_DELETION && info.deletion_date == date, "DescribeKey shows PendingDeletion and the date");
	ok(k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_INVALID_STATE,
	   "Decrypt under a key pending deletion: KMSInvalidStateException");
	ok(aur_kms_local_enable_key(k1, "alias/db", &st) == AUR_KMS_E_INVALID_STATE,
	   "EnableKey while pending deletion: KMSInvalidStateException");
	ok(aur_kms_local_cancel_deletion(k1, "alias/db", &st) == AUR_KMS_OK &&
	   k1->ops->describe_key(k1, "alias/db", &info, &st) == AUR_KMS_OK && info.state == AUR_KEY_DISABLED,
	   "CancelKeyDeletion leaves the key Disabled");
	ok(aur_kms_local_schedule_deletion(k1, "alias/db", 7, &date, &st) == AUR_KMS_OK, "schedule again");
	clock_now += 8 * DAY;
	ok(k1->ops->describe_key(k1, ki.arn, &info, &st) == AUR_KMS_E_NOT_FOUND,
	   "after the deletion date the key is gone: NotFoundException");
	ok(k1->ops->describe_key(k1, "alias/db", &info, &st) == AUR_KMS_E_NOT_FOUND, "its aliases are gone too");
	ok(k1->ops->decrypt(k1, NULL, &ctx2, b3, &pt2, arn, &st) == AUR_KMS_E_NOT_FOUND,
	   "a blob of a deleted key cannot be decrypted (definitive)");

	/* audit */
	snprintf(path, sizeof(path), "%s/audit.log", ks);
	ok(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600, "audit.log is 0600");
	ok(count_lines(path, "\"eventName\":\"Decrypt\"") >= 10 &&
	   count_lines(path, "\"errorCode\":\"InvalidCiphertextException\"") >= 4 &&
	   count_lines(path, "\"errorCode\":\"AccessDeniedException\"") >= 3 &&
	   count_lines(path, "\"eventName\":\"ScheduleKeyDeletion\"") >= 2 &&
	   count_lines(path, "\"callerAccount\":\"444455556666\"") >= 3 &&
	   count_lines(path, "\"encryptionContext\":{\"a\":\"1\",\"b\":\"2\"}") >= 1,
	   "audit records: operation, error code, caller account, encryption context");
	{
		char b64[128], hex[160];

		aur_base64_encode(pt->data, 64, b64, sizeof(b64));
		aur_hex_encode(pt->data, 64, hex, sizeof(hex));
		ok(count_lines(path, b64) == 0 && count_lines(path, hex) == 0, "no data key in the audit log");
		snprintf(path, sizeof(path), "%s/keystore.json", ks);
		ok(count_lines(path, b64) == 0 && count_lines(path, hex) == 0, "no data key in the keystore");
	}
	{
		int lines = count_lines(path, "\n");

		(void)lines;
		snprintf(path, sizeof(path), "%s/audit.log", ks);
		ok(count_lines(path, "\n") == count_lines(path, "\"eventTime\""), "one JSON record per line");
	}

	/* keystore damage is never mistaken for a CMK loss */
	snprintf(path, sizeof(path), "%s/master.key", ks);
	{
		int fd = open(path, O_WRONLY);

		if (fd >= 0) {
			ok(pwrite(fd, "XXXXXXXX", 8, 0) == 8, "damage master.key");
			close(fd);
		}
		aur_kms_destroy(k1);
		k1 = mk(A1, R1);
		e = k1->ops->decrypt(k1, NULL, &ctx, b, &pt2, arn, &st);
		ok(e == AUR_KMS_E_INTERNAL && !aur_kms_err_is_definitive(e),
		   "wrong keystore master key: local error, not definitive (%s)", st.message);
	}
	ok(aur_kms_local_parse_keystore("{\"format\":1,\"keys\":[],\"aliases\":[]}", 35, path, sizeof(path)) == 0 &&
	   aur_kms_local_parse_keystore("{\"format\":2,\"keys\":[],\"aliases\":[]}", 35, path, sizeof(path)) == -EINVAL &&
	   aur_kms_local_parse_keystore("{\"format\":1,\"keys\":[{}],\"aliases\":[]}", 37, path, sizeof(path)) == -EINVAL,
	   "keystore parser accepts the format and rejects damage");
	snprintf(path, sizeof(path), "%s/keystore.json", ks);
	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		if (fd >= 0) {
			ok(write(fd, "{bad", 4) == 4, "damage keystore.json");
			close(fd);
		}
		e = k1->ops->describe_key(k1, AUR_DEFAULT_ALIAS, &info, &st);
		ok(e == AUR_KMS_E_INTERNAL && strstr(st.message, "keystore"), "damaged keystore: clear local error");
	}
	chmod(ks, 0755);
	{
		struct aur_kms_local_opts o = { .keystore = ks, .account = A1, .region = R1 };
		struct aur_kms *kx = NULL;

		ok(aur_kms_local_new(&o, &kx, &st) == -EPERM && strstr(st.message, "0700"),
		   "keystore with loose permissions refused");
	}

	aur_secret_free(pt);
	aur_kms_destroy(k1);
	aur_kms_destroy(k2);
	aur_kms_destroy(k1other);
	free(b);
	free(b2);
	free(b3);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", ks);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return ktap_done();
}
