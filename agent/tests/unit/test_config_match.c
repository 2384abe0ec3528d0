// SPDX-License-Identifier: GPL-2.0
/*
 * The configuration a volume was formatted with, against this host's:
 * identity fields of the header, the embedded KMS's keystore identity,
 * aur_volume_config_matches / aur_volume_classify, the CMK check's
 * config-error verdict, the per-volume lock, addressing by dm UUID.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kms/local/kms_local.h"
#include "volume/internal.h"
#include "volume/volume.h"
#include "ktap.h"

#define A1 "111122223333"
#define A2 "444455556666"
#define R1 "eu-west-1"
#define R2 "us-east-1"

static char base[64];

static struct aur_kms *mk(const char *dir, const char *acct, const char *region)
{
	struct aur_kms_local_opts o = { .keystore = dir, .account = acct, .region = region };
	struct aur_kms_status st;
	struct aur_kms *k = NULL;

	/* The keystore directory exists (a mountpoint); opening creates nothing in it. */
	if (mkdir(dir, 0700) && errno != EEXIST)
		return NULL;
	aur_kms_local_new(&o, &k, &st);
	return k;
}

static void mkimg(char *path, size_t pathlen, size_t size)
{
	int fd;

	snprintf(path, pathlen, "%s/img-XXXXXX", base);
	fd = mkstemp(path);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) != 0)
			fprintf(stderr, "ftruncate failed\n");
		close(fd);
	}
}

/* Entries of @dir other than . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static bool is_ksid(const char *s)
{
	size_t i;

	if (strlen(s) != 35 || strncmp(s, "ks-", 3))
		return false;
	for (i = 3; i < 35; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return false;
	return true;
}

int main(void)
{
	char ks1[96], ks2[96], ks3[96], img[96], ida[AUR_KEYSTORE_ID_MAX], idb[AUR_KEYSTORE_ID_MAX];
	char msg[640], ldir[96];
	struct aur_kms *k1, *k1b, *k2acct, *k1reg, *kother, *kempty;
	struct aur_format_opts o = { 0 };
	struct aur_kms_status st;
	struct aur_error e = { 0 };
	struct aur_hdr_read hr;
	struct aur_cmk_check c;
	struct aur_hdr h, old;
	struct stat sb;
	int r, fd, fd2;

	snprintf(base, sizeof(base), "/tmp/aurora-cfg-XXXXXX");
	if (!mkdtemp(base))
		return 1;
	snprintf(ks1, sizeof(ks1), "%s/ks1", base);
	snprintf(ks2, sizeof(ks2), "%s/ks2", base);
	snprintf(ks3, sizeof(ks3), "%s/ks3", base);
	k1 = mk(ks1, A1, R1);

	/* Keystore identity: none (and nothing created) before a master key exists. */
	ok(aur_kms_identity(k1, ida, sizeof(ida), &st) == AUR_KMS_OK && ida[0] == '\0',
	   "identity of a keystore without a master key is empty");
	ok(entries(ks1) == 0, "reading the identity creates nothing in the keystore directory");
	ok(aur_kms_identity(k1, ida, 8, &st) == AUR_KMS_E_INVALID_ARG, "identity: too small a buffer refused");

	mkimg(img, sizeof(img), 8 << 20);
	r = aur_volume_format(k1, img, &o, &h, &e);
	ok(r == 0, "format with the embedded KMS (%s)", e.msg);
	aur_hdr_free(&h);
	r = aur_volume_read_header(img, &hr, &e);
	ok(r == 0 && !strcmp(hr.hdr.caller_account, A1) && !strcmp(hr.hdr.cmk_partition, "aws") &&
	   is_ksid(hr.hdr.keystore_id) && !strcmp(hr.hdr.cmk_region, R1),
	   "header records caller account, ARN partition and keystore identity (%s)", hr.hdr.keystore_id);
	h = hr.hdr;

	/* Identity: stable across two handles of one keystore, different for another. */
	k1b = mk(ks1, A1, R1);
	ok(aur_kms_identity(k1, ida, sizeof(ida), &st) == AUR_KMS_OK &&
	   aur_kms_identity(k1b, idb, sizeof(idb), &st) == AUR_KMS_OK && !strcmp(ida, idb) &&
	   !strcmp(ida, h.keystore_id), "identity is the same for two opens of one keystore");
	kother = mk(ks2, A1, R1);
	{
		struct aur_kms_key_info ki;

		aur_kms_local_create_key(kother, "x", &ki, &st);
	}
	ok(aur_kms_identity(kother, idb, sizeof(idb), &st) == AUR_KMS_OK && is_ksid(idb) &&
	   strcmp(ida, idb), "another keystore has another identity (%s, %s)", ida, idb);

	/* config_matches */
	ok(aur_volume_config_matches(k1, &h, msg, sizeof(msg)) == AUR_CONFIG_MATCH && !msg[0],
	   "same configuration: match");
	k2acct = mk(ks1, A2, R1);
	r = aur_volume_config_matches(k2acct, &h, msg, sizeof(msg));
	ok(r == AUR_CONFIG_SOFT_MISMATCH && strstr(msg, "account " A1) && strstr(msg, "account " A2) &&
	   strstr(msg, h.uuid), "another account: soft mismatch naming both sides: %s", msg);
	k1reg = mk(ks1, A1, R2);
	r = aur_volume_config_matches(k1reg, &h, msg, sizeof(msg));
	ok(r == AUR_CONFIG_SOFT_MISMATCH && strstr(msg, "region " R1) && strstr(msg, "region " R2),
	   "another region: soft mismatch naming both sides: %s", msg);
	r = aur_volume_config_matches(kother, &h, msg, sizeof(msg));
	ok(r == AUR_CONFIG_HARD_MISMATCH && strstr(msg, ida) && strstr(msg, idb),
	   "another keystore: hard mismatch naming both identities: %s", msg);
	kempty = mk(ks3, A1, R1);
	r = aur_volume_config_matches(kempty, &h, msg, sizeof(msg));
	ok(r == AUR_CONFIG_HARD_MISMATCH && strstr(msg, "no master key") && entries(ks3) == 0,
	   "an empty keystore (not mounted?): hard mismatch, nothing created: %s", msg);
	aur_hdr_copy(&old, &h);
	aur_strcpy(old.provider, sizeof(old.provider), "aws");
	r = aur_volume_config_matches(k1, &old, msg, sizeof(msg));
	ok(r == AUR_CONFIG_HARD_MISMATCH && strstr(msg, "AWS KMS") && strstr(msg, "keystore ks-"),
	   "another provider: hard mismatch: %s", msg);
	aur_hdr_free(&old);

	/* classify */
	ok(aur_volume_classify(k1, &h, AUR_KMS_E_NOT_FOUND, msg, sizeof(msg)) == AUR_KMS_E_NOT_FOUND &&
	   !msg[0], "classify: NotFound without a mismatch stays NotFound");
	ok(aur_volume_classify(k1, &h, AUR_KMS_E_DISABLED, msg, sizeof(msg)) == AUR_KMS_E_DISABLED,
	   "classify: Disabled without a mismatch stays Disabled");
	ok(aur_volume_classify(k1reg, &h, AUR_KMS_E_NOT_FOUND, msg, sizeof(msg)) == AUR_KMS_E_CONFIG &&
	   strstr(msg, R2), "classify: NotFound under a region mismatch is ConfigError");
	ok(aur_volume_classify(k2acct, &h, AUR_KMS_E_ACCESS_DENIED, msg, sizeof(msg)) == AUR_KMS_E_CONFIG,
	   "classify: AccessDenied under an account mismatch is ConfigError");
	ok(aur_volume_classify(k2acct, &h, AUR_KMS_E_INCORRECT_KEY, msg, sizeof(msg)) == AUR_KMS_E_CONFIG,
	   "classify: IncorrectKey under an account mismatch is ConfigError");
	ok(aur_volume_classify(k2acct, &h, AUR_KMS_E_DISABLED, msg, sizeof(msg)) == AUR_KMS_E_DISABLED,
	   "classify: Disabled (a state of the key itself) under an account mismatch stays Disabled");
	ok(aur_volume_classify(k1reg, &h, AUR_KMS_E_THROTTLED, msg, sizeof(msg)) == AUR_KMS_E_THROTTLED,
	   "classify: a transient error stays transient under a soft mismatch");
	ok(aur_volume_classify(kother, &h, AUR_KMS_E_THROTTLED, msg, sizeof(msg)) == AUR_KMS_E_CONFIG &&
	   aur_volume_classify(kother, &h, AUR_KMS_E_NOT_FOUND, msg, sizeof(msg)) == AUR_KMS_E_CONFIG,
	   "classify: anything under a keystore mismatch is ConfigError");
	ok(aur_volume_classify(kother, &h, AUR_KMS_OK, msg, sizeof(msg)) == AUR_KMS_OK,
	   "classify: success is success");

	/* The CMK check: a mismatch is never LOST. */
	/* Requests go to the ARN's region: another configured region still finds the key. */
	aur_volume_check_cmk(k1reg, &h, &c);
	ok(c.verdict == AUR_CMK_OK, "check_cmk with another configured region: the key is served in its ARN's region, OK (%s)",
	   c.message);
	aur_volume_check_cmk(k2acct, &h, &c);
	ok(c.verdict == AUR_CMK_CONFIG_ERROR, "check_cmk with another account: ConfigError, not LOST (%s)",
	   c.message);
	aur_volume_check_cmk(kother, &h, &c);
	ok(c.verdict == AUR_CMK_CONFIG_ERROR && strstr(c.message, "keystore"),
	   "check_cmk with another keystore: ConfigError (%s)", c.message);
	ok(entries(ks3) == 0, "the empty keystore is still empty");
	aur_volume_check_cmk(k1, &h, &c);
	ok(c.verdict == AUR_CMK_OK, "check_cmk with the right configuration: OK");
	aur_kms_local_disable_key(k1, h.cmk_arn, &st);
	aur_volume_check_cmk(k1, &h, &c);
	ok(c.verdict == AUR_CMK_LOST && !strcmp(c.reason, "DisabledException"),
	   "check_cmk: a real loss under the right configuration is still LOST");
	aur_kms_local_enable_key(k1, h.cmk_arn, &st);

	/* An older header without the identity fields still reads and matches. */
	{
		struct json_object *kms;

		aur_hdr_copy(&old, &h);
		old.cmk_partition[0] = old.caller_account[0] = old.keystore_id[0] = '\0';
		if (json_object_object_get_ex(old.json, "kms", &kms)) {
			json_object_object_del(kms, "partition");
			json_object_object_del(kms, "caller_account");
			json_object_object_del(kms, "keystore_id");
		}
		fd = open(img, O_RDWR);
		r = fd >= 0 ? aur_hdr_write_fd(fd, &old, old.seqid, msg, sizeof(msg)) : -EIO;
		if (fd >= 0)
			close(fd);
		aur_hdr_free(&old);
		ok(r == 0, "rewrite the header without the identity fields (%s)", r ? msg : "");
		r = aur_volume_read_header(img, &hr, &e);
		ok(r == 0 && !hr.hdr.caller_account[0] && !hr.hdr.keystore_id[0] &&
		   !hr.hdr.cmk_partition[0] && !strcmp(hr.hdr.cmk_account, A1),
		   "an older header without them reads (fields empty)");
		ok(r == 0 && aur_volume_config_matches(k1, &hr.hdr, msg, sizeof(msg)) == AUR_CONFIG_MATCH &&
		   aur_volume_config_matches(kother, &hr.hdr, msg, sizeof(msg)) == AUR_CONFIG_MATCH,
		   "older header: no keystore identity to compare");
		ok(r == 0 && aur_volume_config_matches(k2acct, &hr.hdr, msg, sizeof(msg)) ==
		   AUR_CONFIG_SOFT_MISMATCH, "older header: the account compared with the CMK's");
		aur_hdr_free(&hr.hdr);
	}

	/* The per-volume lock. */
	snprintf(ldir, sizeof(ldir), "%s/run/lock", base);
	setenv("AURORA_LOCK_DIR", ldir, 1);
	memset(&e, 0, sizeof(e));
	fd = aur_volume_lock(h.uuid, 0, &e);
	ok(fd >= 0 && stat(ldir, &sb) == 0 && (sb.st_mode & 0777) == 0700,
	   "volume lock taken, its directory is 0700");
	memset(&e, 0, sizeof(e));
	fd2 = aur_volume_lock(h.uuid, 0, &e);
	ok(fd2 == -EBUSY && e.exit_code == AUR_EXIT_BUSY && strstr(e.msg, h.uuid),
	   "a second holder is refused: %s", e.msg);
	aur_volume_unlock(fd);
	fd2 = aur_volume_lock(h.uuid, 0, &e);
	ok(fd2 >= 0, "free again once released");
	aur_volume_unlock(fd2);
	ok(aur_volume_lock("not-a-uuid", 0, &e) == -EINVAL, "a bad UUID is refused");

	/* Addressing by dm UUID. */
	{
		char dmu[64];

		ok(aur_dm_uuid_of(h.uuid, dmu, sizeof(dmu)) == 0 && !strncmp(dmu, "AURORA-", 7) &&
		   !strcmp(dmu + 7, h.uuid), "dm uuid of a volume: AURORA-<uuid>");
		ok(aur_volume_message("x", "terminal t", NULL, 0) == -EINVAL &&
		   aur_dm_uuid_of(NULL, dmu, sizeof(dmu)) == -EINVAL,
		   "a message to no valid volume UUID is refused");
	}

	aur_hdr_free(&h);
	aur_kms_destroy(k1);
	aur_kms_destroy(k1b);
	aur_kms_destroy(k2acct);
	aur_kms_destroy(k1reg);
	aur_kms_destroy(kother);
	aur_kms_destroy(kempty);
	unlink(img);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return ktap_done();
}
