// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the watching agent's verdicts.  A scripted KMS provider
 * answers DescribeKey / Decrypt; a volume header lives in an image file.
 * Definitive answers make the volume terminal (persisted in the header);
 * transient ones are retried with backoff and never do.  Flat KTAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/watch.h"
#include "ktap.h"

#define ARN "arn:aws:kms:us-east-1:111122223333:key/7d0b6ad6-0b1e-4c55-9a7e-1f0a3b9c2d11"
#define SCRIPT_MAX 16

/* What the fake KMS answers, call by call (the last entry repeats). */
static struct {
	enum aur_kms_err describe[SCRIPT_MAX];
	enum aur_key_state state[SCRIPT_MAX];
	enum aur_kms_err decrypt[SCRIPT_MAX];
	size_t nd, ns, nx;		/* script lengths */
	size_t cd, cx;			/* calls made */
} fk;

static void script(const enum aur_kms_err *d, size_t nd, const enum aur_key_state *s,
		   size_t ns, const enum aur_kms_err *x, size_t nx)
{
	memset(&fk, 0, sizeof(fk));
	memcpy(fk.describe, d, nd * sizeof(*d));
	memcpy(fk.state, s, ns * sizeof(*s));
	memcpy(fk.decrypt, x, nx * sizeof(*x));
	fk.nd = nd;
	fk.ns = ns;
	fk.nx = nx;
}

static enum aur_kms_err fake_describe(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	size_t i = fk.cd < fk.nd ? fk.cd : fk.nd - 1;
	size_t j = fk.cd < fk.ns ? fk.cd : fk.ns - 1;

	(void)kms;
	(void)key_id;
	fk.cd++;
	memset(info, 0, sizeof(*info));
	memset(st, 0, sizeof(*st));
	st->code = fk.describe[i];
	snprintf(st->message, sizeof(st->message), "scripted %s", aur_kms_err_name(st->code));
	if (st->code)
		return st->code;
	snprintf(info->arn, sizeof(info->arn), "%s", ARN);
	info->state = fk.state[j];
	info->enabled = info->state == AUR_KEY_ENABLED;
	return AUR_KMS_OK;
}

static enum aur_kms_err fake_decrypt(struct aur_kms *kms, const char *key_id,
				     const struct aur_enc_ctx *ctx, const struct aur_blob *w,
				     struct aur_secret **pt, char *key_arn, struct aur_kms_status *st)
{
	size_t i = fk.cx < fk.nx ? fk.cx : fk.nx - 1;

	(void)kms;
	(void)key_id;
	(void)ctx;
	(void)w;
	fk.cx++;
	memset(st, 0, sizeof(*st));
	st->code = fk.decrypt[i];
	if (st->code)
		return st->code;
	*pt = aur_secret_alloc(64);
	if (!*pt)
		return AUR_KMS_E_INTERNAL;
	memset((*pt)->data, 0x5a, 64);
	if (key_arn)
		snprintf(key_arn, AUR_ARN_MAX, "%s", ARN);
	return AUR_KMS_OK;
}

static enum aur_kms_err fake_gdk(struct aur_kms *kms, const char *key_id,
				 const struct aur_enc_ctx *ctx, size_t nbytes,
				 struct aur_secret **pt, struct aur_blob *w, char *key_arn,
				 struct aur_kms_status *st)
{
	(void)kms;
	(void)key_id;
	(void)ctx;
	memset(st, 0, sizeof(*st));
	*pt = aur_secret_alloc(nbytes);
	if (!*pt)
		return AUR_KMS_E_INTERNAL;
	memset((*pt)->data, 0x5a, nbytes);
	w->len = 48;
	memset(w->data, 0xa5, w->len);
	snprintf(key_arn, AUR_ARN_MAX, "%s", ARN);
	return AUR_KMS_OK;
}

static const struct aur_kms_ops fake_ops = {
	.name = "local",
	.describe_key = fake_describe,
	.generate_data_key = fake_gdk,
	.decrypt = fake_decrypt,
};

static unsigned int sleeps[64], nsleeps;

static void rec_sleep(unsigned int ms, void *arg)
{
	(void)arg;
	if (nsleeps < 64)
		sleeps[nsleeps++] = ms;
}

static char img[] = "/tmp/aurora-test-watch-XXXXXX";

static int new_volume(struct aur_kms *kms)
{
	struct aur_format_opts fo = { .kms_key_id = ARN, .force = true };
	struct aur_error err;
	struct aur_hdr h;
	int fd, r;

	fd = open(img, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 << 20) < 0)
		return -errno;
	close(fd);
	aur_error_clear(&err);
	r = aur_volume_format(kms, img, &fo, &h, &err);
	if (r < 0) {
		printf("# format: %s\n", err.msg);
		return r;
	}
	aur_hdr_free(&h);
	return 0;
}

static enum aur_vol_state header_state(char *reason, size_t len)
{
	struct aur_hdr_read r;
	struct aur_error err;
	enum aur_vol_state s;

	if (aur_volume_read_header(img, &r, &err) < 0)
		return (enum aur_vol_state)-1;
	s = r.hdr.state;
	snprintf(reason, len, "%s", r.hdr.terminal_reason);
	aur_hdr_free(&r.hdr);
	return s;
}

static void check(struct aur_kms *kms, struct aur_watch_result *res)
{
	struct aur_watch_opts o;

	aur_watch_opts_default(&o);
	o.retries = 3;
	o.backoff_ms = 100;
	o.backoff_max_ms = 350;
	o.sleep_ms = rec_sleep;
	nsleeps = 0;
	aur_watch_check_volume(kms, img, NULL, false, &o, NULL, res);
}

int main(void)
{
	static const enum aur_kms_err OK1[] = { AUR_KMS_OK };
	static const enum aur_key_state EN[] = { AUR_KEY_ENABLED };
	struct aur_kms kms = { .ops = &fake_ops, .account = "111122223333",
			       .region = "us-east-1" };
	struct aur_watch_result r;
	char reason[256];
	int fd;
	unsigned int i, good;

	fd = mkstemp(img);
	if (fd >= 0)
		close(fd);
	aur_log_init("test_watch", false, AUR_LOG_ERR);

	ok(new_volume(&kms) == 0, "a volume header is written to an image file");

	script(OK1, 1, EN, 1, OK1, 1);
	check(&kms, &r);
	ok(r.outcome == AUR_WATCH_OK && r.attempts == 1 && fk.cd == 1 && fk.cx == 1,
	   "enabled CMK that unwraps the DEK: ok after one DescribeKey and one Decrypt");

	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_THROTTLED, AUR_KMS_E_UNAVAILABLE,
						      AUR_KMS_OK };

		script(d, 3, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_OK && r.attempts == 3 && nsleeps == 2,
		   "throttled, then unavailable, then answered: ok on the third attempt");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_UNAVAILABLE };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && r.attempts == 4,
		   "KMS unreachable: transient after 1 + 3 retries");
		ok(header_state(reason, sizeof(reason)) == AUR_VOL_ACTIVE,
		   "an unreachable KMS leaves the header active");
		good = nsleeps == 3;
		for (i = 0; i < nsleeps; i++) {
			unsigned int cap = 100u << i > 350 ? 350 : 100u << i;

			if (sleeps[i] < cap / 2 || sleeps[i] > cap)
				good = 0;
			printf("# backoff %u: %u ms (range %u..%u)\n", i + 1, sleeps[i], cap / 2, cap);
		}
		ok(good, "retry delays back off exponentially with jitter, capped");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_PROTOCOL };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT, "malformed KMS replies are transient");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_INTERNAL };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT, "a local failure (keystore unreadable) is transient");
	}
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_THROTTLED };

		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && fk.cx == 4,
		   "Decrypt throttled every time: transient, header untouched");
		ok(header_state(reason, sizeof(reason)) == AUR_VOL_ACTIVE, "header still active");
	}
	{
		static const enum aur_key_state s[] = { AUR_KEY_CREATING };

		script(OK1, 1, s, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT, "a CMK in an undecided state is transient");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_THROTTLED, AUR_KMS_OK };
		static const enum aur_key_state s[] = { AUR_KEY_ENABLED, AUR_KEY_DISABLED };

		script(d, 2, s, 2, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && r.attempts == 2 &&
		   !strcmp(r.reason, "DisabledException"),
		   "throttled, then Disabled: terminal (DisabledException)");
		if (r.outcome != AUR_WATCH_TERMINATED)
			printf("# outcome %s: %s\n", aur_watch_outcome_name(r.outcome), r.message);
		ok(header_state(reason, sizeof(reason)) == AUR_VOL_TERMINAL &&
		   !strcmp(reason, "DisabledException"),
		   "terminal state and reason persisted in the header");
	}
	script(OK1, 1, EN, 1, OK1, 1);
	check(&kms, &r);
	ok(r.outcome == AUR_WATCH_ALREADY_TERMINAL && fk.cd == 0 && fk.cx == 0,
	   "a terminal volume stays terminal, even with the CMK enabled again");

	ok(new_volume(&kms) == 0, "a second volume");
	{
		static const enum aur_key_state s[] = { AUR_KEY_PENDING_DELETION };

		script(OK1, 1, s, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && !strcmp(r.reason, "KMSInvalidStateException"),
		   "pending deletion: terminal (KMSInvalidStateException)");
	}

	new_volume(&kms);
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_ACCESS_DENIED };

		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && r.attempts == 1 &&
		   !strcmp(r.reason, "AccessDeniedException"),
		   "access revoked (Decrypt denied): terminal at once, no retry");
	}
	new_volume(&kms);
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_NOT_FOUND };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && !strcmp(r.reason, "NotFoundException"),
		   "CMK deleted (NotFoundException): terminal");
	}
	new_volume(&kms);
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_CIPHERTEXT };

		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED, "the DEK no longer unwraps: terminal");
	}
	new_volume(&kms);
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_INVALID_ARG };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome != AUR_WATCH_TERMINATED,
		   "a request the KMS calls invalid is not taken for a revocation");
		ok(header_state(reason, sizeof(reason)) == AUR_VOL_ACTIVE, "header still active");
	}
	{
		char bad[] = "/tmp/aurora-test-watch-nohdr-XXXXXX";
		struct aur_watch_opts o;

		fd = mkstemp(bad);
		if (fd >= 0 && ftruncate(fd, 4 << 20) == 0)
			close(fd);
		aur_watch_opts_default(&o);
		aur_watch_check_volume(&kms, bad, NULL, false, &o, NULL, &r);
		ok(r.outcome == AUR_WATCH_ERROR && r.message[0], "a device without a header is an error, not a verdict");
		unlink(bad);
	}
	unlink(img);
	return ktap_done();
}
