// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests: the watching agent's verdicts and its state machine (issue 16).
 * A scripted KMS provider answers DescribeKey / Decrypt; a volume header
 * lives in an image file; the per-pass state in a temporary directory; the
 * clock is a hook.  Only a definitive Decrypt failure is Lost;
 * confirm_passes Lost passes in a row make the volume inaccessible, the end
 * of recovery_window with the CMK still lost makes it terminal, a usable CMK
 * brings it back.  Transient answers are retried with backoff and never
 * count.  Flat KTAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
static char statedir[] = "/tmp/aurora-test-watch-state-XXXXXX";
static int64_t clock_now = 1800000000;

static int64_t fake_now(void *arg)
{
	(void)arg;
	return clock_now;
}

static int new_volume_at(struct aur_kms *kms, const char *path, char *uuid)
{
	struct aur_format_opts fo = { .kms_key_id = ARN, .force = true };
	struct aur_error err;
	struct aur_hdr h;
	int fd, r;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 << 20) < 0)
		return -errno;
	close(fd);
	aur_error_clear(&err);
	r = aur_volume_format(kms, path, &fo, &h, &err);
	if (r < 0) {
		printf("# format: %s\n", err.msg);
		return r;
	}
	if (uuid)
		snprintf(uuid, 37, "%s", h.uuid);
	aur_hdr_free(&h);
	return 0;
}

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

static struct aur_hdr last_hdr;

/* The header as it is on disk now, into last_hdr. */
static enum aur_vol_state header_at(const char *path)
{
	struct aur_hdr_read r;
	struct aur_error err;

	if (aur_volume_read_header(path, &r, &err) < 0)
		return (enum aur_vol_state)-1;
	last_hdr = r.hdr;
	last_hdr.json = NULL;
	aur_hdr_free(&r.hdr);
	return last_hdr.state;
}

static enum aur_vol_state header(void)
{
	return header_at(img);
}

static unsigned int confirm = 3;
static uint64_t window = 7 * 86400;

static void check(struct aur_kms *kms, struct aur_watch_result *res)
{
	struct aur_watch_opts o;

	aur_watch_opts_default(&o);
	o.retries = 3;
	o.backoff_ms = 100;
	o.backoff_max_ms = 350;
	o.sleep_ms = rec_sleep;
	o.confirm_passes = confirm;
	o.recovery_window = window;
	o.state_dir = statedir;
	o.now = fake_now;
	nsleeps = 0;
	aur_watch_check_volume(kms, img, NULL, false, &o, NULL, res);
}

/* @n passes, the clock one interval (300 s) further each time. */
static void passes(struct aur_kms *kms, unsigned int n, struct aur_watch_result *res)
{
	while (n--) {
		clock_now += 300;
		check(kms, res);
	}
}

/*
 * A second fake KMS for the concurrency test, safe across threads: every
 * call answers ok, except Decrypt of the "slow" volume's DEK, which hangs
 * until slow_release().
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool released;
	bool deny_fast;			/* Decrypt of the fast volume: DisabledException */
	char uuid_slow[37], uuid_fast[37];
} slow = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void slow_init(void)
{
	pthread_mutex_lock(&slow.lock);
	slow.released = false;
	pthread_mutex_unlock(&slow.lock);
}

static void slow_release(void)
{
	pthread_mutex_lock(&slow.lock);
	slow.released = true;
	pthread_cond_broadcast(&slow.cond);
	pthread_mutex_unlock(&slow.lock);
}

static enum aur_kms_err slow_describe(struct aur_kms *kms, const char *key_id,
				      struct aur_kms_key_info *info, struct aur_kms_status *st)
{
	(void)kms;
	(void)key_id;
	memset(info, 0, sizeof(*info));
	memset(st, 0, sizeof(*st));
	info->state = AUR_KEY_ENABLED;
	return AUR_KMS_OK;
}

static enum aur_kms_err slow_decrypt(struct aur_kms *kms, const char *key_id,
				     const struct aur_enc_ctx *ctx, const struct aur_blob *w,
				     struct aur_secret **pt, char *key_arn, struct aur_kms_status *st)
{
	const char *u = aur_enc_ctx_get(ctx, "aurora:volume-uuid");

	(void)kms;
	(void)key_id;
	(void)w;
	(void)key_arn;
	memset(st, 0, sizeof(*st));
	if (u && !strcmp(u, slow.uuid_slow)) {
		pthread_mutex_lock(&slow.lock);
		while (!slow.released)
			pthread_cond_wait(&slow.cond, &slow.lock);
		pthread_mutex_unlock(&slow.lock);
	}
	if (u && !strcmp(u, slow.uuid_fast) && slow.deny_fast)
		return aur_kms_fail(st, AUR_KMS_E_DISABLED, 400, "key is disabled");
	*pt = aur_secret_alloc(64);
	if (!*pt)
		return AUR_KMS_E_INTERNAL;
	memset((*pt)->data, 0x5a, 64);
	return AUR_KMS_OK;
}

static void slow_destroy(struct aur_kms *kms)
{
	free(kms);
}

static const struct aur_kms_ops slow_ops = {
	.name = "local",
	.describe_key = slow_describe,
	.decrypt = slow_decrypt,
	.destroy = slow_destroy,
};

static int slow_open(const struct aur_config *cfg, struct aur_kms **out, void *arg)
{
	(void)cfg;
	(void)arg;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->ops = &slow_ops;
	return 0;
}

static volatile sig_atomic_t stop_after_pass;

static void stop_sleep(unsigned int ms, void *arg)
{
	(void)ms;
	(void)arg;
	stop_after_pass = 1;
}

/* The running agent says how it is through $NOTIFY_SOCKET (sd_notify). */
static void notify_status(void)
{
	char path[] = "/tmp/aurora-test-notify-XXXXXX", buf[512];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct aur_watch_opts o;
	struct aur_kms kms = { 0 };
	ssize_t n;
	int fd;

	fd = mkstemp(path);
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ok(0, "sd_notify: a socket to listen on");
		return;
	}
	setenv("NOTIFY_SOCKET", path, 1);
	aur_watch_opts_default(&o);
	o.sleep_ms = stop_sleep;
	o.state_dir = statedir;
	stop_after_pass = 0;
	aur_watch_run(&kms, &o, &stop_after_pass);
	unsetenv("NOTIFY_SOCKET");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = '\0';
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	printf("# notify: %s\n", buf);
	ok(n > 0 && strstr(buf, "STATUS=") && strstr(buf, "unverified"),
	   "sd_notify: the agent sends STATUS= with the unverified count after a pass");
	close(fd);
	unlink(path);
}

static void config_knobs(void)
{
	struct aur_config cfg;
	char e[256];
	uint64_t d;
	static const char good[] = "confirm_passes = 5\nrecovery_window = 20s\nmax_unverified = 2h\n";

	aur_config_defaults(&cfg);
	ok(cfg.confirm_passes == 3 && cfg.recovery_window == 7 * 86400 &&
	   cfg.max_unverified == 15 * 60, "defaults: confirm_passes 3, recovery_window 7d, max_unverified 15m");
	ok(aur_config_parse(&cfg, good, sizeof(good) - 1, e, sizeof(e)) == 0 &&
	   cfg.confirm_passes == 5 && cfg.recovery_window == 20 && cfg.max_unverified == 7200,
	   "confirm_passes, recovery_window and max_unverified parsed");
	ok(aur_parse_duration("0", &d) == 0 && d == 0 && aur_parse_duration("7d", &d) == 0 &&
	   d == 604800 && aur_parse_duration("15m", &d) == 0 && d == 900 &&
	   aur_parse_duration("90", &d) == 0 && d == 90,
	   "durations: 0, 7d, 15m, 90");
	ok(aur_parse_duration("", &d) < 0 && aur_parse_duration("d", &d) < 0 &&
	   aur_parse_duration("7w", &d) < 0 && aur_parse_duration("-1s", &d) < 0 &&
	   aur_parse_duration("99999999999d", &d) < 0,
	   "bad durations refused");
	aur_config_defaults(&cfg);
	ok(aur_config_parse(&cfg, "confirm_passes = 0\n", 19, e, sizeof(e)) < 0 && strstr(e, "line 1") &&
	   aur_config_parse(&cfg, "recovery_window = 1 week\n", 25, e, sizeof(e)) < 0,
	   "confirm_passes 0 and a malformed window are refused, naming the line");
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
	if (!mkdtemp(statedir))
		return 1;
	aur_log_init("test_watch", false, AUR_LOG_ERR);
	config_knobs();
	notify_status();

	ok(new_volume(&kms) == 0, "a volume header is written to an image file");

	script(OK1, 1, EN, 1, OK1, 1);
	check(&kms, &r);
	ok(r.outcome == AUR_WATCH_OK && r.attempts == 1 && fk.cd == 1 && fk.cx == 1,
	   "enabled CMK that unwraps the DEK: ok after one DescribeKey and one Decrypt");

	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_THROTTLED, AUR_KMS_E_UNAVAILABLE,
						      AUR_KMS_OK };

		script(OK1, 1, EN, 1, d, 3);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_OK && r.attempts == 3 && nsleeps == 2,
		   "Decrypt throttled, then unavailable, then answered: ok on the third attempt");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_UNAVAILABLE };

		script(OK1, 1, EN, 1, d, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && r.attempts == 4,
		   "KMS unreachable (Decrypt): transient after 1 + 3 retries");
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

		script(OK1, 1, EN, 1, d, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT, "malformed KMS replies are transient");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_INTERNAL };

		script(OK1, 1, EN, 1, d, 1);
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
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_STATE };

		script(OK1, 1, s, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && !strcmp(r.verification, "transient"),
		   "Decrypt KMSInvalidState with the CMK in an undecided state (Creating): transient");
	}

	/* ---- The verdict rules ---- */
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_ACCESS_DENIED };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_OK && !strcmp(r.verification, "ok") && r.lost_passes == 0,
		   "DescribeKey AccessDenied while Decrypt works: ok, never a verdict");
		ok(header() == AUR_VOL_ACTIVE, "header still active");
	}
	{
		static const enum aur_key_state s[] = { AUR_KEY_DISABLED };

		script(OK1, 1, s, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_OK && strstr(r.message, "Disabled"),
		   "DescribeKey says Disabled while Decrypt works: ok, with a warning");
	}
	{
		static const enum aur_key_state s[] = { AUR_KEY_UNAVAILABLE };
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_STATE };

		script(OK1, 1, s, 1, x, 1);
		passes(&kms, 5, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && !strcmp(r.verification, "transient") &&
		   header() == AUR_VOL_ACTIVE,
		   "KeyState Unavailable (custom key store): transient, 5 passes, header active");
	}
	{
		static const enum aur_key_state s[] = { AUR_KEY_UNAVAILABLE };
		static const enum aur_kms_err x[] = { AUR_KMS_E_ACCESS_DENIED };

		script(OK1, 1, s, 1, x, 1);
		passes(&kms, 4, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && header() == AUR_VOL_ACTIVE,
		   "KeyState Unavailable with a failing Decrypt: transient, never lost");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_ACCESS_DENIED };
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_STATE };

		script(d, 1, EN, 1, x, 1);
		passes(&kms, 4, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && header() == AUR_VOL_ACTIVE,
		   "KMSInvalidState without a definitive KeyState (DescribeKey denied): transient");
	}
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_CONFIG };

		script(OK1, 1, EN, 1, x, 1);
		passes(&kms, 4, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && !strcmp(r.verification, "config-error") &&
		   r.attempts == 1 && header() == AUR_VOL_ACTIVE,
		   "ConfigError from Decrypt: config-error, not retried, header active");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_CREDENTIALS };
		static const enum aur_kms_err x[] = { AUR_KMS_E_ACCESS_DENIED };

		script(d, 1, EN, 1, x, 1);
		passes(&kms, 4, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && !strcmp(r.verification, "config-error") &&
		   header() == AUR_VOL_ACTIVE,
		   "CredentialsError (even with Decrypt denied): config-error, never lost");
	}

	/* ---- confirm_passes ---- */
	{
		static const enum aur_key_state s[] = { AUR_KEY_DISABLED };
		static const enum aur_kms_err x[] = { AUR_KMS_E_DISABLED };
		int64_t t0;

		script(OK1, 1, s, 1, x, 1);
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_LOST && r.lost_passes == 1 && header() == AUR_VOL_ACTIVE,
		   "CMK disabled, pass 1 of 3: lost, header still active");
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_LOST && r.lost_passes == 2 && header() == AUR_VOL_ACTIVE,
		   "pass 2 of 3: lost, header still active");
		script(OK1, 1, EN, 1, (const enum aur_kms_err[]){ AUR_KMS_E_UNAVAILABLE }, 1);
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && r.lost_passes == 0,
		   "a transient pass resets the count");
		script(OK1, 1, s, 1, x, 1);
		passes(&kms, 2, &r);
		ok(r.outcome == AUR_WATCH_LOST && r.lost_passes == 2 && header() == AUR_VOL_ACTIVE,
		   "two Lost passes after the reset: still active");
		passes(&kms, 1, &r);
		t0 = clock_now;
		ok(r.outcome == AUR_WATCH_INACCESSIBLE && r.state == AUR_VOL_INACCESSIBLE,
		   "third Lost pass in a row: inaccessible");
		ok(header() == AUR_VOL_INACCESSIBLE &&
		   !strcmp(last_hdr.inaccessible_reason, "DisabledException") &&
		   last_hdr.inaccessible_since == t0 &&
		   last_hdr.recoverable_until == t0 + (int64_t)window,
		   "header: inaccessible, reason, since, recoverable_until = since + window");

		/* ---- recovery within the window ---- */
		passes(&kms, 3, &r);
		ok(r.outcome == AUR_WATCH_INACCESSIBLE && header() == AUR_VOL_INACCESSIBLE &&
		   last_hdr.inaccessible_since == t0,
		   "still lost within the window: stays inaccessible, since unchanged");
		script(OK1, 1, EN, 1, OK1, 1);
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_RECOVERED && r.state == AUR_VOL_ACTIVE &&
		   header() == AUR_VOL_ACTIVE && !last_hdr.inaccessible_reason[0],
		   "CMK enabled again within the window: recovered, header active");
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_OK && r.lost_passes == 0, "and the next pass is ok");
	}

	/* ---- window expiry ---- */
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_NOT_FOUND };
		int64_t until;

		window = 3600;
		script(OK1, 1, EN, 1, x, 1);
		passes(&kms, 3, &r);
		ok(r.outcome == AUR_WATCH_INACCESSIBLE && header() == AUR_VOL_INACCESSIBLE,
		   "NotFound three times: inaccessible (window 1 h)");
		until = last_hdr.recoverable_until;
		clock_now = until + 10;
		script(OK1, 1, EN, 1, (const enum aur_kms_err[]){ AUR_KMS_E_UNAVAILABLE }, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_INACCESSIBLE && header() == AUR_VOL_INACCESSIBLE,
		   "window over but the KMS cannot be reached: still inaccessible, not terminal");
		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && header() == AUR_VOL_TERMINAL &&
		   !strcmp(last_hdr.terminal_reason, "NotFoundException"),
		   "window over with the CMK still lost: terminal (NotFoundException)");
		script(OK1, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_ALREADY_TERMINAL && fk.cd == 0 && fk.cx == 0 &&
		   header() == AUR_VOL_TERMINAL,
		   "a terminal volume stays terminal, even with the CMK usable again");
	}

	/* ---- window 0 ---- */
	ok(new_volume(&kms) == 0, "a fresh volume");
	{
		static const enum aur_key_state s[] = { AUR_KEY_PENDING_DELETION };
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_STATE };

		window = 0;
		script(OK1, 1, s, 1, x, 1);
		passes(&kms, 2, &r);
		ok(r.outcome == AUR_WATCH_LOST && header() == AUR_VOL_ACTIVE,
		   "window 0, pending deletion: two passes, still active");
		passes(&kms, 1, &r);
		ok(r.outcome == AUR_WATCH_TERMINATED && header() == AUR_VOL_TERMINAL &&
		   !strcmp(last_hdr.terminal_reason, "KMSInvalidStateException"),
		   "window 0: terminal as soon as the loss is confirmed");
		window = 7 * 86400;
	}

	/* ---- confirm_passes 1, each definitive kind ---- */
	confirm = 1;
	new_volume(&kms);
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_ACCESS_DENIED };

		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_INACCESSIBLE && r.attempts == 1 &&
		   !strcmp(r.reason, "AccessDeniedException"),
		   "confirm_passes 1, Decrypt denied: inaccessible at once, no retry");
	}
	new_volume(&kms);
	{
		static const enum aur_kms_err x[] = { AUR_KMS_E_INVALID_CIPHERTEXT };

		script(OK1, 1, EN, 1, x, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_INACCESSIBLE, "the DEK no longer unwraps: inaccessible");
	}
	new_volume(&kms);
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_INVALID_ARG };

		script(d, 1, EN, 1, d, 1);
		check(&kms, &r);
		ok(r.outcome != AUR_WATCH_INACCESSIBLE && r.outcome != AUR_WATCH_TERMINATED,
		   "a request the KMS calls invalid is not taken for a revocation");
		ok(header() == AUR_VOL_ACTIVE, "header still active");
	}
	{
		static const enum aur_kms_err d[] = { AUR_KMS_E_NOT_FOUND };

		script(d, 1, EN, 1, OK1, 1);
		check(&kms, &r);
		ok(r.outcome == AUR_WATCH_OK && header() == AUR_VOL_ACTIVE,
		   "DescribeKey NotFound while Decrypt works: ok, never a verdict");
	}
	confirm = 3;
	{
		char bad[] = "/tmp/aurora-test-watch-nohdr-XXXXXX";
		struct aur_watch_opts o;

		fd = mkstemp(bad);
		if (fd >= 0 && ftruncate(fd, 4 << 20) == 0)
			close(fd);
		aur_watch_opts_default(&o);
		o.state_dir = statedir;
		aur_watch_check_volume(&kms, bad, NULL, false, &o, NULL, &r);
		ok(r.outcome == AUR_WATCH_ERROR && r.message[0] && !strcmp(r.verification, "error"),
		   "a device without a header is an error, not a verdict");
		unlink(bad);
	}

	/* ---- per-pass state, max_unverified ---- */
	{
		struct aur_pass_state p = { .lost_passes = 2, .first_seen = 100, .last_pass = 500,
					    .last_verified = 400, .verification = "lost",
					    .reason = "DisabledException" }, q;
		const char *u = "0b6f3e3c-9d8e-4a1b-8c7d-6e5f4a3b2c1d";

		ok(aur_pass_state_write(statedir, u, &p) == 0 &&
		   aur_pass_state_read(statedir, u, &q) == 0 && q.lost_passes == 2 &&
		   q.first_seen == 100 && q.last_pass == 500 && q.last_verified == 400 &&
		   !strcmp(q.verification, "lost") && !strcmp(q.reason, "DisabledException"),
		   "per-pass state written and read back");
		ok(aur_pass_state_unverified_for(&q, 1000) == 600, "unverified for 600 s since last verdict");
		ok(aur_pass_state_write(statedir, "../etc/passwd", &p) == -EINVAL,
		   "per-pass state refuses a name that is not a UUID");
	}
	new_volume(&kms);
	{
		struct aur_watch_opts o;

		aur_watch_opts_default(&o);
		o.retries = 0;
		o.sleep_ms = rec_sleep;
		o.state_dir = statedir;
		o.now = fake_now;
		o.max_unverified = 900;
		script(OK1, 1, EN, 1, OK1, 1);
		aur_watch_check_volume(&kms, img, NULL, false, &o, NULL, &r);
		ok(r.outcome == AUR_WATCH_OK && !r.unverified && r.last_verified == clock_now,
		   "verified now: not unverified");
		script(OK1, 1, EN, 1, (const enum aur_kms_err[]){ AUR_KMS_E_THROTTLED }, 1);
		clock_now += 600;
		aur_watch_check_volume(&kms, img, NULL, false, &o, NULL, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && !r.unverified,
		   "throttled 10 min after the last verdict: not yet unverified (15 min)");
		clock_now += 600;
		aur_watch_check_volume(&kms, img, NULL, false, &o, NULL, &r);
		ok(r.outcome == AUR_WATCH_TRANSIENT && r.unverified &&
		   r.last_verified == clock_now - 1200,
		   "throttled 20 min after the last verdict: unverified");
	}

	/* ---- concurrency: a slow KMS for one volume does not hold another ---- */
	{
		char img2[] = "/tmp/aurora-test-watch-b-XXXXXX";
		struct aur_open_volume vols[2];
		struct aur_watch_result out[2];
		struct aur_watch_opts o;
		struct aur_config cfg;
		struct aur_pass_state ps;
		int tries;

		fd = mkstemp(img2);
		if (fd >= 0)
			close(fd);
		slow_init();
		ok(new_volume_at(&kms, img, slow.uuid_slow) == 0 &&
		   new_volume_at(&kms, img2, slow.uuid_fast) == 0, "two volumes");
		memset(vols, 0, sizeof(vols));
		snprintf(vols[0].name, sizeof(vols[0].name), "slow");
		snprintf(vols[0].uuid, sizeof(vols[0].uuid), "%s", slow.uuid_slow);
		snprintf(vols[0].device, sizeof(vols[0].device), "%s", img);
		snprintf(vols[1].name, sizeof(vols[1].name), "fast");
		snprintf(vols[1].uuid, sizeof(vols[1].uuid), "%s", slow.uuid_fast);
		snprintf(vols[1].device, sizeof(vols[1].device), "%s", img2);
		aur_config_defaults(&cfg);
		aur_watch_opts_default(&o);
		o.interval = 1;
		o.retries = 0;
		o.state_dir = statedir;
		o.cfg = &cfg;
		o.kms_open = slow_open;
		/* vols[1] would be checked after vols[0] if they ran in turn. */
		aur_watch_check_open(NULL, vols, 2, &o, NULL, out);
		ok(out[1].outcome == AUR_WATCH_OK && !strcmp(out[1].verification, "ok"),
		   "the other volume is verified while the slow KMS call hangs");
		ok(out[0].outcome == AUR_WATCH_TRANSIENT && !strcmp(out[0].reason, "CheckStillRunning"),
		   "the slow volume is reported transient after one interval, not a verdict");
		aur_watch_check_open(NULL, vols, 2, &o, NULL, out);
		ok(out[0].outcome == AUR_WATCH_TRANSIENT && !strcmp(out[0].reason, "CheckStillRunning") &&
		   out[1].outcome == AUR_WATCH_OK,
		   "next pass: the slow volume is skipped while its check runs, the other checked");
		slow_release();
		for (tries = 0; tries < 500; tries++) {
			if (aur_pass_state_read(statedir, slow.uuid_slow, &ps) == 0 &&
			    !strcmp(ps.verification, "ok"))
				break;
			usleep(20000);
		}
		ok(!strcmp(ps.verification, "ok"), "the slow check ends in the background with ok");
		for (tries = 0; tries < 500; tries++) {
			aur_watch_check_open(NULL, vols, 2, &o, NULL, out);
			if (strcmp(out[0].reason, "CheckStillRunning"))
				break;
			usleep(20000);
		}
		ok(out[0].outcome == AUR_WATCH_OK && out[1].outcome == AUR_WATCH_OK,
		   "once it ended, both volumes are checked again");
		/* A confirmed loss acted on from a check thread. */
		slow.deny_fast = true;
		o.confirm_passes = 2;
		o.recovery_window = 0;
		aur_watch_check_open(NULL, vols, 2, &o, NULL, out);
		ok(out[1].outcome == AUR_WATCH_LOST && out[0].outcome == AUR_WATCH_OK,
		   "threads: first Lost pass of one volume, the other ok");
		aur_watch_check_open(NULL, vols, 2, &o, NULL, out);
		/* No device-mapper here: the message fails, the header is what counts. */
		ok(header_at(img2) == AUR_VOL_TERMINAL && out[0].outcome == AUR_WATCH_OK &&
		   header() == AUR_VOL_ACTIVE,
		   "threads: confirmed with window 0: header terminal, the other volume untouched");
		o.recovery_window = 60;
		slow.deny_fast = false;
		unlink(img2);
	}

	unlink(img);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", statedir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", statedir);
	}
	return ktap_done();
}
