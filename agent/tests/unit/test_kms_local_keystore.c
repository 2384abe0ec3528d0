// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: keystore safety of the embedded KMS (issue 16).
 *  - reads (DescribeKey, Decrypt, ListKeys, ListAliases, GetKeyPolicy)
 *    create nothing: no directory, no .lock, no master.key, no default CMK,
 *    no audit.log in an empty mount point;
 *  - a keystore that does not exist is ConfigError naming its path; a key
 *    missing from a keystore that exists is NotFoundException;
 *  - reads never rewrite keystore.json (not even lazy maintenance) and
 *    work without a .lock file;
 *  - master.key is never created while keystore.json holds keys.
 * Flat KTAP.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms/local/kms_local.h"
#include "util/util.h"
#include "ktap.h"

#define ACCT	"111122223333"
#define REGION	"eu-west-1"

static int64_t fake_time = 1700000000;

static int64_t fake_now(void)
{
	return fake_time;
}

static struct aur_kms *open_ks(const char *dir, const char *region)
{
	struct aur_kms_local_opts o = { .keystore = dir, .account = ACCT,
					.region = region, .now = fake_now };
	struct aur_kms_status st;
	struct aur_kms *kms = NULL;

	if (aur_kms_local_new(&o, &kms, &st))
		printf("# open %s: %s\n", dir, st.message);
	return kms;
}

/* Number of entries in @dir other than . and ..; -1 when it cannot be read. */
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

static char *slurp(const char *path)
{
	char *t = NULL;
	size_t n;

	if (aur_read_file(path, 1 << 20, &t, &n))
		return NULL;
	return t;
}

int main(void)
{
	char base[] = "/tmp/aurora-test-ks-XXXXXX", nodir[96], empty[96], ks[96];
	char path[160], lock[160], master[160], cmd[300], arn[AUR_ARN_MAX];
	struct aur_kms_key_info info, created;
	struct aur_kms_key_info *keys = NULL;
	struct aur_kms_alias *al = NULL;
	struct aur_kms_policy pol;
	struct aur_kms_status st;
	struct aur_secret *pt = NULL;
	struct aur_enc_ctx ctx;
	struct aur_blob *w, *w2;
	struct aur_kms *kms, *other;
	char *before, *after;
	size_t n;
	enum aur_kms_err e;

	aur_log_init("test_kms_local_keystore", false, AUR_LOG_ERR);
	w = calloc(1, sizeof(*w));
	w2 = calloc(1, sizeof(*w2));
	if (!w || !w2 || !mkdtemp(base))
		return 1;
	snprintf(nodir, sizeof(nodir), "%s/absent", base);
	snprintf(empty, sizeof(empty), "%s/mnt", base);
	snprintf(ks, sizeof(ks), "%s/ks", base);
	if (mkdir(empty, 0700))
		return 1;
	memset(&ctx, 0, sizeof(ctx));
	aur_enc_ctx_set(&ctx, "aurora:volume-uuid", "0b6e1c0a-1111-4222-8333-944445555666");

	/* 1. A keystore directory that does not exist. */
	kms = open_ks(nodir, REGION);
	ok(kms != NULL && access(nodir, F_OK) != 0,
	   "opening the provider creates no keystore directory");
	e = kms ? kms->ops->describe_key(kms, AUR_DEFAULT_ALIAS, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG && strstr(st.message, nodir) && strstr(st.message, "does not exist"),
	   "DescribeKey alias/aurora/default, no keystore: ConfigError naming it (%s)", st.message);
	ok(access(nodir, F_OK) != 0, "... and no keystore directory was created");

	/* 2. An empty directory (a mount point whose filesystem is not mounted). */
	aur_kms_destroy(kms);
	kms = open_ks(empty, REGION);
	e = kms ? kms->ops->describe_key(kms, AUR_DEFAULT_ALIAS, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG && strstr(st.message, empty) && strstr(st.message, "empty"),
	   "DescribeKey alias/aurora/default, empty keystore: ConfigError (%s)", st.message);
	e = kms ? kms->ops->decrypt(kms, NULL, &ctx, w, &pt, NULL, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG, "Decrypt, empty keystore: ConfigError");
	e = kms ? aur_kms_local_list_keys(kms, &keys, &n, &st) : AUR_KMS_E_INTERNAL;
	free(keys);
	keys = NULL;
	ok(e == AUR_KMS_E_CONFIG, "ListKeys, empty keystore: ConfigError");
	e = kms ? aur_kms_local_list_aliases(kms, NULL, &al, &n, &st) : AUR_KMS_E_INTERNAL;
	free(al);
	al = NULL;
	ok(e == AUR_KMS_E_CONFIG, "ListAliases, empty keystore: ConfigError");
	e = kms ? aur_kms_local_get_key_policy(kms, AUR_DEFAULT_ALIAS, &pol, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG, "GetKeyPolicy, empty keystore: ConfigError");
	e = kms ? aur_kms_local_disable_key(kms, AUR_DEFAULT_ALIAS, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG, "DisableKey, empty keystore: ConfigError (nothing to change)");
	ok(entries(empty) == 0,
	   "the empty keystore is still empty: no .lock, master.key, keystore.json or audit.log (%d)",
	   entries(empty));
	aur_kms_destroy(kms);

	/* 3. A keystore that exists: reads create nothing in it. */
	kms = open_ks(ks, REGION);
	memset(&created, 0, sizeof(created));
	e = kms ? aur_kms_local_create_key(kms, "t", &created, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK && access(ks, F_OK) == 0, "CreateKey creates the keystore");
	snprintf(path, sizeof(path), "%s/keystore.json", ks);
	snprintf(lock, sizeof(lock), "%s/.lock", ks);
	snprintf(master, sizeof(master), "%s/master.key", ks);
	e = kms ? kms->ops->generate_data_key(kms, created.key_id, &ctx, 64, &pt, w, arn, &st) :
		  AUR_KMS_E_INTERNAL;
	aur_secret_free(pt);
	pt = NULL;
	ok(e == AUR_KMS_OK, "GenerateDataKey under it");
	before = slurp(path);
	e = kms ? kms->ops->describe_key(kms, AUR_DEFAULT_ALIAS, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_NOT_FOUND, "DescribeKey of a missing default CMK: NotFoundException");
	after = slurp(path);
	ok(before && after && !strcmp(before, after), "... and keystore.json is unchanged (no default CMK)");
	free(after);
	/* The same from another region of this keystore, by the key's ARN. */
	other = open_ks(ks, "us-west-2");
	e = other ? other->ops->decrypt(other, created.arn, &ctx, w, &pt, NULL, &st) :
		    AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK && pt, "Decrypt by key ARN from a provider of another region: served");
	aur_secret_free(pt);
	pt = NULL;
	aur_kms_destroy(other);

	/* Reads work without .lock and do not create it. */
	unlink(lock);
	e = kms ? kms->ops->decrypt(kms, NULL, &ctx, w, &pt, NULL, &st) : AUR_KMS_E_INTERNAL;
	aur_secret_free(pt);
	pt = NULL;
	ok(e == AUR_KMS_OK, "Decrypt without a .lock file");
	e = kms ? kms->ops->describe_key(kms, created.key_id, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK && access(lock, F_OK) != 0, "DescribeKey too, and .lock is not created");

	/*
	 * A deletion that came due: a read answers it at once; the keystore,
	 * writable here, is then tidied by a maintenance session of its own.
	 */
	e = kms ? aur_kms_local_schedule_deletion(kms, created.key_id, 7, NULL, &st) :
		  AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK, "ScheduleKeyDeletion 7 days");
	free(before);
	before = slurp(path);
	fake_time += 8 * 86400;
	e = kms ? kms->ops->describe_key(kms, created.key_id, &info, &st) : AUR_KMS_E_INTERNAL;
	after = slurp(path);
	ok(e == AUR_KMS_E_NOT_FOUND && before && strstr(before, created.key_id) && after &&
	   !strstr(after, created.key_id),
	   "a read after the deletion date: NotFoundException, the key then removed from keystore.json");
	free(before);
	free(after);
	before = NULL;

	/* 4. master.key missing while keystore.json holds keys. */
	memset(&info, 0, sizeof(info));
	e = kms ? aur_kms_local_create_key(kms, "second", &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK, "a second CMK");
	aur_kms_destroy(kms);
	kms = open_ks(ks, REGION);
	if (unlink(master))
		return 1;
	e = kms ? aur_kms_local_create_key(kms, "third", &created, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_E_CONFIG && strstr(st.message, "master.key") &&
	   strstr(st.message, "keystore.json"),
	   "CreateKey with master.key missing and keys in keystore.json: ConfigError naming both (%s)",
	   st.message);
	ok(access(master, F_OK) != 0, "... and no new master.key was created");
	e = kms ? kms->ops->generate_data_key(kms, NULL, &ctx, 64, &pt, w2, arn, &st) :
		  AUR_KMS_E_INTERNAL;
	aur_secret_free(pt);
	pt = NULL;
	ok(e == AUR_KMS_E_CONFIG && access(master, F_OK) != 0,
	   "GenerateDataKey for a new default CMK: refused the same way");
	e = kms ? kms->ops->describe_key(kms, info.key_id, &info, &st) : AUR_KMS_E_INTERNAL;
	ok(e == AUR_KMS_OK, "DescribeKey needs no master key and still answers");
	aur_kms_destroy(kms);

	free(w);
	free(w2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		return 1;
	return ktap_done();
}
