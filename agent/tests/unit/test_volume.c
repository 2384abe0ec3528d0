// SPDX-License-Identifier: GPL-2.0
/* Volume orchestration on image files: format, CMK checks, terminal marking. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms/local/kms_local.h"
#include "volume/volume.h"
#include "ktap.h"

#define A1 "111122223333"
#define A2 "444455556666"
#define R1 "eu-west-1"

static char ks[64];

static struct aur_kms *mk(const char *acct, const char *region)
{
	struct aur_kms_local_opts o = { .keystore = ks, .account = acct, .region = region };
	struct aur_kms_status st;
	struct aur_kms *k = NULL;

	aur_kms_local_new(&o, &k, &st);
	return k;
}

static void mkimg(char *path, size_t size)
{
	int fd;

	strcpy(path, "/tmp/aurora-vol-XXXXXX");
	fd = mkstemp(path);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size) != 0)
			fprintf(stderr, "ftruncate failed\n");
		close(fd);
	}
}

int main(void)
{
	struct aur_kms *k1, *k2;
	struct aur_kms_status st;
	struct aur_kms_key_info ki;
	struct aur_format_opts o = { 0 };
	struct aur_error e = { 0 };
	struct aur_hdr h;
	struct aur_hdr_read hr;
	struct aur_cmk_check c;
	char img[64], img2[64];
	int fd, r;

	strcpy(ks, "/tmp/aurora-vks-XXXXXX");
	if (!mkdtemp(ks))
		return 1;
	k1 = mk(A1, R1);
	k2 = mk(A2, R1);
	mkimg(img, 8 << 20);

	r = aur_volume_format(k1, img, &o, &h, &e);
	ok(r == 0, "format an image with the default CMK (%s)", e.msg);
	ok(aur_uuid_valid(h.uuid) && !strcmp(h.cmk_named, "alias/aurora/default") &&
	   !strcmp(h.cmk_account, A1) && !strcmp(h.cmk_region, R1) && !strcmp(h.provider, "local") &&
	   h.data_offset == 1 << 20 && h.data_size == 7 << 20 && h.sector_size == 512,
	   "header names the CMK as given and as resolved, sizes and sector");
	ok(!strcmp(aur_enc_ctx_get(&h.ctx, "aurora:volume-uuid"), h.uuid) &&
	   !strcmp(aur_enc_ctx_get(&h.ctx, "aurora:region"), R1), "encryption context binds volume UUID and region");
	aur_hdr_free(&h);
	r = aur_volume_read_header(img, &hr, &e);
	ok(r == 0 && hr.valid[0] && hr.valid[1] && hr.hdr.state == AUR_VOL_ACTIVE, "header reads back, both copies valid");
	{
		struct aur_secret *pt = NULL;

		ok(k1->ops->decrypt(k1, hr.hdr.cmk_arn, &hr.hdr.ctx, &hr.hdr.wrapped_dek, &pt, NULL, &st) == AUR_KMS_OK &&
		   pt->len == 64, "the wrapped DEK unwraps to 64 bytes (AES-256-XTS)");
		aur_secret_free(pt);
	}
	aur_hdr_free(&hr.hdr);

	/* refusals */
	memset(&e, 0, sizeof(e));
	r = aur_volume_format(k1, img, &o, NULL, &e);
	ok(r == -EEXIST && e.exit_code == AUR_EXIT_BUSY && strstr(e.msg, "aurora"),
	   "format refuses an aurora volume without --force: %s", e.msg);
	mkimg(img2, 8 << 20);
	fd = open(img2, O_WRONLY);
	if (fd >= 0) {
		ok(pwrite(fd, "\x53\xef", 2, 1080) == 2, "put an ext4 superblock magic on a second image");
		close(fd);
	}
	memset(&e, 0, sizeof(e));
	r = aur_volume_format(k1, img2, &o, NULL, &e);
	ok(r == -EEXIST && e.exit_code == AUR_EXIT_BUSY && strstr(e.msg, "ext"), "format refuses a filesystem: %s", e.msg);
	o.force = true;
	o.sector_size = 4096;
	o.kms_key_id = NULL;
	memset(&e, 0, sizeof(e));
	r = aur_volume_format(k1, img2, &o, &h, &e);
	ok(r == 0 && h.sector_size == 4096 && h.data_size % 4096 == 0, "--force formats over it, 4096-byte sectors");
	aur_hdr_free(&h);
	o.force = false;
	o.sector_size = 0;
	fd = open(img2, O_RDONLY);
	{
		char what[64];

		ok(fd >= 0 && aur_probe_signatures(fd, 8 << 20, what, sizeof(what)) == 1 && strstr(what, "aurora"),
		   "the old signature is gone, the aurora header is found");
		close(fd);
	}
	o.sector_size = 333;
	memset(&e, 0, sizeof(e));
	ok(aur_volume_format(k1, img2, &o, NULL, &e) == -EINVAL && e.exit_code == AUR_EXIT_USAGE,
	   "bad sector size: usage error");
	o.sector_size = 0;
	{
		char small[64];

		mkimg(small, 1 << 20);
		memset(&e, 0, sizeof(e));
		ok(aur_volume_format(k1, small, &o, NULL, &e) == -ENOSPC && strstr(e.msg, "too small"),
		   "device too small: %s", e.msg);
		unlink(small);
	}
	memset(&e, 0, sizeof(e));
	ok(aur_volume_format(k1, "/nonexistent/dev", &o, NULL, &e) == -ENOENT && e.exit_code == AUR_EXIT_NOT_FOUND,
	   "missing device: not found");

	/* KMS errors surface with their class */
	o.force = true;
	o.kms_key_id = "alias/none";
	memset(&e, 0, sizeof(e));
	ok(aur_volume_format(k1, img2, &o, NULL, &e) == -EACCES && e.exit_code == AUR_EXIT_KMS_DENIED &&
	   e.kms_code == AUR_KMS_E_NOT_FOUND && strstr(e.msg, "NotFoundException"), "unknown CMK: %s", e.msg);
	aur_kms_local_create_key(k1, "db", &ki, &st);
	aur_kms_local_create_alias(k1, "alias/db", ki.key_id, &st);
	o.kms_key_id = ki.arn;
	memset(&e, 0, sizeof(e));
	ok(aur_volume_format(k2, img2, &o, NULL, &e) == -EACCES && e.kms_code == AUR_KMS_E_ACCESS_DENIED,
	   "another account's CMK without policy: AccessDenied");
	aur_kms_local_grant_account(k1, "alias/db", A2, &st);
	memset(&e, 0, sizeof(e));
	r = aur_volume_format(k2, img2, &o, &h, &e);
	ok(r == 0 && !strcmp(h.cmk_account, A1) && !strcmp(h.cmk_arn, ki.arn),
	   "another account's CMK by ARN once its policy allows (%s)", e.msg);
	aur_hdr_free(&h);

	/* CMK checks for the watching agent */
	r = aur_volume_read_header(img2, &hr, &e);
	aur_volume_check_cmk(k2, &hr.hdr, &c);
	ok(r == 0 && c.verdict == AUR_CMK_OK, "check_cmk: OK while usable");
	aur_kms_local_revoke_account(k1, "alias/db", A2, &st);
	aur_volume_check_cmk(k2, &hr.hdr, &c);
	ok(c.verdict == AUR_CMK_LOST && c.kms_err == AUR_KMS_E_ACCESS_DENIED &&
	   !strcmp(c.reason, "AccessDeniedException"), "check_cmk: policy revocation is LOST (%s)", c.reason);
	aur_kms_local_grant_account(k1, "alias/db", A2, &st);
	aur_kms_local_disable_key(k1, "alias/db", &st);
	aur_volume_check_cmk(k2, &hr.hdr, &c);
	ok(c.verdict == AUR_CMK_LOST && !strcmp(c.reason, "DisabledException"), "check_cmk: disabled is LOST");
	aur_kms_local_schedule_deletion(k1, "alias/db", 7, NULL, &st);
	aur_volume_check_cmk(k2, &hr.hdr, &c);
	ok(c.verdict == AUR_CMK_LOST && !strcmp(c.reason, "KMSInvalidStateException"),
	   "check_cmk: pending deletion is LOST");
	aur_kms_local_cancel_deletion(k1, "alias/db", &st);
	aur_kms_local_enable_key(k1, "alias/db", &st);
	{
		struct aur_hdr bad;

		aur_hdr_copy(&bad, &hr.hdr);
		bad.wrapped_dek.data[bad.wrapped_dek.len - 1] ^= 1;
		aur_volume_check_cmk(k2, &bad, &c);
		ok(c.verdict == AUR_CMK_LOST && c.kms_err == AUR_KMS_E_INVALID_CIPHERTEXT,
		   "check_cmk: a DEK that no longer unwraps is LOST");
		aur_hdr_free(&bad);
	}
	{
		/* A keystore that cannot be read is never a loss. */
		char ks2[80];
		struct aur_kms_local_opts lo = { .keystore = ks2, .account = A2, .region = R1 };
		struct aur_kms *kb = NULL;
		int f;

		snprintf(ks2, sizeof(ks2), "%s/broken", ks);
		/* Opening a keystore creates nothing: make the directory. */
		ok(mkdir(ks2, 0700) == 0, "make a second keystore directory");
		aur_kms_local_new(&lo, &kb, &st);
		{
			/* The same keystore (same master key), its keystore.json damaged. */
			char src[80], dst[96], buf[64];
			int a, b;
			ssize_t n = -1;

			snprintf(src, sizeof(src), "%s/master.key", ks);
			snprintf(dst, sizeof(dst), "%s/master.key", ks2);
			a = open(src, O_RDONLY);
			b = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (a >= 0 && b >= 0)
				n = read(a, buf, sizeof(buf));
			ok(n == 32 && write(b, buf, (size_t)n) == n, "copy the master key to a second keystore directory");
			if (a >= 0)
				close(a);
			if (b >= 0)
				close(b);
		}
		snprintf(ks2 + strlen(ks2), sizeof(ks2) - strlen(ks2), "/keystore.json");
		f = open(ks2, O_WRONLY | O_CREAT, 0600);
		if (f >= 0) {
			if (write(f, "{", 1) != 1)
				fprintf(stderr, "write failed\n");
			close(f);
		}
		aur_volume_check_cmk(kb, &hr.hdr, &c);
		ok(c.verdict == AUR_CMK_TRANSIENT, "check_cmk: an unreadable keystore is TRANSIENT, never LOST");
		aur_kms_destroy(kb);
	}
	aur_hdr_free(&hr.hdr);

	/* terminal */
	memset(&e, 0, sizeof(e));
	ok(aur_volume_mark_terminal(img2, NULL, NULL, "bad reason", &e) == -EINVAL, "terminal reason must be one token");
	r = aur_volume_mark_terminal(img2, NULL, NULL, "DisabledException", &e);
	ok(r == 0, "mark_terminal persists in the header (%s)", e.msg);
	r = aur_volume_read_header(img2, &hr, &e);
	ok(r == 0 && hr.hdr.state == AUR_VOL_TERMINAL && !strcmp(hr.hdr.terminal_reason, "DisabledException") &&
	   hr.hdr.terminal_time > 0 && hr.hdr.seqid == 2 && hr.valid[0] && hr.valid[1],
	   "terminal state, reason and time on disk (both copies, sequence 2)");
	aur_hdr_free(&hr.hdr);
	ok(aur_volume_mark_terminal(img2, NULL, NULL, "AccessDeniedException", &e) == 0 &&
	   aur_volume_read_header(img2, &hr, &e) == 0 && !strcmp(hr.hdr.terminal_reason, "DisabledException") &&
	   hr.hdr.seqid == 2, "mark_terminal is idempotent and keeps the first reason");
	aur_hdr_free(&hr.hdr);
	memset(&e, 0, sizeof(e));
	r = aur_volume_open(k2, img2, "vol0", 0, &e);
	ok(r == -EKEYREVOKED && e.exit_code == AUR_EXIT_TERMINAL && strstr(e.msg, "restore it from a backup"),
	   "open refuses a terminal volume: %s", e.msg);
	memset(&e, 0, sizeof(e));
	r = aur_volume_open(k1, img, "vol0", 0, &e);
	ok(r == -ENOTBLK && e.exit_code == AUR_EXIT_USAGE, "open of an image file asks for losetup: %s", e.msg);
	memset(&e, 0, sizeof(e));
	ok(aur_volume_open(k1, img, "bad/name", 0, &e) == -EINVAL && e.exit_code == AUR_EXIT_USAGE,
	   "invalid mapping name refused");

	aur_kms_destroy(k1);
	aur_kms_destroy(k2);
	unlink(img);
	unlink(img2);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", ks);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup failed\n");
	}
	return ktap_done();
}
