// SPDX-License-Identifier: GPL-2.0
/* aurora: the watching agent (see watch.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "agent/watch.h"

void aur_watch_opts_default(struct aur_watch_opts *o)
{
	*o = (struct aur_watch_opts){
		.interval = 300, .retries = 4, .backoff_ms = 1000, .backoff_max_ms = 30000,
		.confirm_passes = 3, .recovery_window = 7 * 86400, .max_unverified = 15 * 60,
	};
}

const char *aur_watch_outcome_name(enum aur_watch_outcome o)
{
	switch (o) {
	case AUR_WATCH_OK:			return "ok";
	case AUR_WATCH_TERMINATED:		return "terminated";
	case AUR_WATCH_ALREADY_TERMINAL:	return "terminal";
	case AUR_WATCH_TRANSIENT:		return "transient";
	case AUR_WATCH_ERROR:			return "error";
	case AUR_WATCH_LOST:			return "lost";
	case AUR_WATCH_INACCESSIBLE:		return "inaccessible";
	case AUR_WATCH_RECOVERED:		return "recovered";
	}
	return "unknown";
}

static void watch_sleep(const struct aur_watch_opts *o, unsigned int ms,
			volatile sig_atomic_t *stop)
{
	struct timespec ts;

	if (o->sleep_ms) {
		o->sleep_ms(ms, o->sleep_arg);
		return;
	}
	/* In slices, so a signal asking us to stop is honoured quickly. */
	while (ms && !(stop && *stop)) {
		unsigned int slice = ms > 200 ? 200 : ms;

		ts.tv_sec = slice / 1000;
		ts.tv_nsec = (long)(slice % 1000) * 1000000L;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

/* Equal jitter: a delay in [d/2, d]. */
static unsigned int jitter(unsigned int d)
{
	unsigned int r = 0;

	if (d < 2)
		return d;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (unsigned int)rand();
	return d / 2 + r % (d / 2 + 1);
}

static unsigned int backoff(const struct aur_watch_opts *o, unsigned int attempt)
{
	unsigned long long d = o->backoff_ms;

	while (attempt-- > 1 && d < o->backoff_max_ms)
		d *= 2;
	if (d > o->backoff_max_ms)
		d = o->backoff_max_ms;
	return jitter((unsigned int)d);
}

/*
 * One structured journal entry (native protocol, no libsystemd) about a
 * volume: SYSLOG_IDENTIFIER=aurora, AURORA_VOLUME_UUID, AURORA_VOLUME_NAME,
 * AURORA_CMK, AURORA_REASON.  Nothing happens without journald.
 */
static void journal_volume(int prio, const char *name, const char *uuid,
			   const char *cmk, const char *reason, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX,
				  .sun_path = "/run/systemd/journal/socket" };
	char buf[2048];
	int fd, n;

	n = snprintf(buf, sizeof(buf),
		     "MESSAGE=%s\nPRIORITY=%d\nSYSLOG_IDENTIFIER=aurora\nAURORA_VOLUME_UUID=%s\n"
		     "AURORA_VOLUME_NAME=%s\nAURORA_CMK=%s\nAURORA_REASON=%s\n",
		     msg, prio, uuid, name ? name : "", cmk, reason);
	if (n <= 0 || n >= (int)sizeof(buf) || strchr(msg, '\n'))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Per-pass state: <dir>/<uuid>, "key value" lines, replaced atomically. */

static bool uuid_ok(const char *uuid)
{
	return uuid && aur_uuid_valid(uuid);
}

int aur_pass_state_read(const char *dir, const char *uuid, struct aur_pass_state *p)
{
	char path[PATH_MAX], *text = NULL, *line, *save = NULL;
	size_t len;
	int r;

	memset(p, 0, sizeof(*p));
	if (!uuid_ok(uuid))
		return -EINVAL;
	if (aur_snprintf(path, sizeof(path), "%s/%s", dir ? dir : AUR_PASS_STATE_DIR, uuid))
		return -ENAMETOOLONG;
	r = aur_read_file(path, 4096, &text, &len);
	if (r)
		return r;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ' ');
		uint64_t x = 0;

		if (!v)
			continue;
		*v++ = '\0';
		if (!strcmp(line, "verification")) {
			aur_strcpy(p->verification, sizeof(p->verification), v);
			continue;
		}
		if (!strcmp(line, "reason")) {
			aur_strcpy(p->reason, sizeof(p->reason), v);
			continue;
		}
		if (aur_parse_u64(v, &x) || x > (uint64_t)INT64_MAX) {
			free(text);
			memset(p, 0, sizeof(*p));
			return -EINVAL;
		}
		if (!strcmp(line, "lost_passes"))
			p->lost_passes = x > 1000000 ? 1000000 : (unsigned int)x;
		else if (!strcmp(line, "first_seen"))
			p->first_seen = (int64_t)x;
		else if (!strcmp(line, "last_pass"))
			p->last_pass = (int64_t)x;
		else if (!strcmp(line, "last_verified"))
			p->last_verified = (int64_t)x;
	}
	free(text);
	return 0;
}

int aur_pass_state_write(const char *dir, const char *uuid, const struct aur_pass_state *p)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16], buf[512];
	int fd, n, r = 0;

	if (!uuid_ok(uuid))
		return -EINVAL;
	if (!dir)
		dir = AUR_PASS_STATE_DIR;
	if (aur_snprintf(path, sizeof(path), "%s/%s", dir, uuid) ||
	    aur_snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, uuid))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		/* /run/aurora may be missing too. */
		char parent[PATH_MAX], *slash;

		aur_strcpy(parent, sizeof(parent), dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			(void)mkdir(parent, 0755);
		}
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
	}
	n = snprintf(buf, sizeof(buf),
		     "lost_passes %u\nfirst_seen %lld\nlast_pass %lld\nlast_verified %lld\n"
		     "verification %s\nreason %s\n",
		     p->lost_passes, (long long)p->first_seen, (long long)p->last_pass,
		     (long long)p->last_verified, p->verification[0] ? p->verification : "none",
		     p->reason[0] ? p->reason : "-");
	if (n <= 0 || n >= (int)sizeof(buf))
		return -EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		r = -EIO;
	if (close(fd) && !r)
		r = -EIO;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

int64_t aur_pass_state_unverified_for(const struct aur_pass_state *p, int64_t now)
{
	int64_t since = p->last_verified ? p->last_verified : p->first_seen;

	if (!since || now < since)
		return 0;
	return now - since;
}

/* ------------------------------------------------------------------ */
/* The state machine (Documentation/aurora.md, "State machine").       */

/*
 * Header writes, keyring and device-mapper changes of concurrent checks are
 * serialised; only the KMS calls run in parallel.
 */
static pthread_mutex_t act_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t watch_now(const struct aur_watch_opts *o)
{
	return o->now ? o->now(o->now_arg) : aur_now();
}

static void event(int prio, const char *name, const struct aur_hdr *h, const char *reason,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A log line and a structured journal entry: the agent's audit trail. */
static void event(int prio, const char *name, const struct aur_hdr *h, const char *reason,
		  const char *fmt, ...)
{
	char m[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	aur_log(prio <= LOG_ERR ? AUR_LOG_ERR : prio == LOG_WARNING ? AUR_LOG_WARN : AUR_LOG_INFO,
		"%s", m);
	journal_volume(prio, name, h->uuid, h->cmk_arn, reason, m);
}

static const char *verification_of(enum aur_cmk_verdict v)
{
	return aur_cmk_verdict_name(v);
}

/* A reason the target keeps: [A-Za-z0-9._:-], at most 63 characters. */
static void dm_reason(const char *in, char *out, size_t len)
{
	size_t i;

	aur_strcpy(out, len < AURORA_DM_REASON_MAX ? len : AURORA_DM_REASON_MAX, in);
	for (i = 0; out[i]; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-", out[i]))
			out[i] = '_';
	if (!out[0])
		aur_strcpy(out, len, "lost");
}

static void do_terminal(const char *device, const char *dm_name, const struct aur_hdr *h,
			const char *reason, struct aur_watch_result *r)
{
	struct aur_error err;

	aur_error_clear(&err);
	pthread_mutex_lock(&act_lock);
	if (aur_volume_mark_terminal(device, dm_name, h->uuid, reason, &err) < 0) {
		r->outcome = AUR_WATCH_ERROR;
		aur_snprintf(r->message, sizeof(r->message), "terminal not fully applied: %s",
			     err.msg);
		aur_err("volume %s: %s", h->uuid, r->message);
	} else {
		r->outcome = AUR_WATCH_TERMINATED;
		r->state = AUR_VOL_TERMINAL;
	}
	pthread_mutex_unlock(&act_lock);
}

static void do_recover(struct aur_kms *kms, const char *device, const char *dm_name,
		       const struct aur_hdr *h, bool kernel_only, struct aur_watch_result *r)
{
	struct aur_error err;
	int ret;

	aur_error_clear(&err);
	pthread_mutex_lock(&act_lock);
	ret = aur_volume_recover(kms, device, dm_name, &err);
	pthread_mutex_unlock(&act_lock);
	if (ret) {
		r->outcome = AUR_WATCH_ERROR;
		aur_snprintf(r->message, sizeof(r->message), "recovery failed: %s", err.msg);
		aur_err("volume %s (%s): %s", h->uuid, dm_name ? dm_name : "-", r->message);
		return;
	}
	r->outcome = AUR_WATCH_RECOVERED;
	r->state = AUR_VOL_ACTIVE;
	r->recoverable_until = 0;
	if (kernel_only)
		event(LOG_WARNING, dm_name, h, "kernel-only",
		      "volume %s (%s): the kernel had made the mapping inaccessible (%s) while the "
		      "KMS says CMK %s is usable: key set again, mapping active",
		      h->uuid, dm_name ? dm_name : "-", r->reason[0] ? r->reason : "kernel",
		      h->cmk_arn);
	else
		event(LOG_NOTICE, dm_name, h, "recovered",
		      "volume %s (%s): access to CMK %s is back: volume recovered, active again",
		      h->uuid, dm_name ? dm_name : "-", h->cmk_arn);
}

void aur_watch_check_volume_ex(struct aur_kms *kms, const char *device, const char *dm_name,
			       const char *uuid, enum aur_kernel_state ks,
			       const struct aur_watch_opts *o, volatile sig_atomic_t *stop,
			       struct aur_watch_result *r)
{
	struct aur_pass_state ps;
	struct aur_hdr_read hr;
	struct aur_cmk_check c;
	struct aur_error err;
	const struct aur_hdr *h;
	unsigned int confirm = o->confirm_passes ? o->confirm_passes : 1;
	int64_t now = watch_now(o);
	char reason[AURORA_DM_REASON_MAX];

	memset(r, 0, sizeof(*r));
	aur_error_clear(&err);
	if (dm_name)
		aur_strcpy(r->name, sizeof(r->name), dm_name);
	aur_strcpy(r->device, sizeof(r->device), device);
	if (uuid)
		aur_strcpy(r->uuid, sizeof(r->uuid), uuid);
	aur_pass_state_read(o->state_dir, uuid, &ps);

	if (aur_volume_read_header(device, &hr, &err) < 0) {
		/* Never a verdict: reported, and the volume grows unverified. */
		r->outcome = AUR_WATCH_ERROR;
		r->verification = "error";
		aur_snprintf(r->message, sizeof(r->message), "%s", err.msg);
		aur_err("volume %s (%s): header unreadable, no verdict: %s", uuid ? uuid : "-",
			dm_name ? dm_name : "-", err.msg);
		if (uuid_ok(uuid)) {
			if (!ps.first_seen)
				ps.first_seen = now;
			ps.last_pass = now;
			aur_strcpy(ps.verification, sizeof(ps.verification), "error");
			aur_strcpy(ps.reason, sizeof(ps.reason), "header-unreadable");
			aur_pass_state_write(o->state_dir, uuid, &ps);
		}
		goto unverified;
	}
	h = &hr.hdr;
	if (!uuid) {
		aur_strcpy(r->uuid, sizeof(r->uuid), h->uuid);
		aur_pass_state_read(o->state_dir, h->uuid, &ps);
	}
	r->state = h->state;
	r->recoverable_until = h->recoverable_until;
	if (!ps.first_seen)
		ps.first_seen = now;
	ps.last_pass = now;

	if (h->state == AUR_VOL_TERMINAL) {
		/* Already lost: make sure the kernel says so too (idempotent). */
		r->outcome = AUR_WATCH_ALREADY_TERMINAL;
		r->verification = "lost";
		aur_strcpy(r->reason, sizeof(r->reason), h->terminal_reason);
		pthread_mutex_lock(&act_lock);
		if (aur_volume_mark_terminal(NULL, ks != AUR_KSTATE_NONE ? dm_name : NULL, h->uuid,
					     h->terminal_reason[0] ? h->terminal_reason : "terminal",
					     &err) < 0)
			aur_snprintf(r->message, sizeof(r->message), "%s", err.msg);
		pthread_mutex_unlock(&act_lock);
		aur_pass_state_write(o->state_dir, h->uuid, &ps);
		aur_hdr_free(&hr.hdr);
		return;
	}

	for (;;) {
		r->attempts++;
		aur_volume_check_cmk(kms, h, &c);
		if (c.verdict != AUR_CMK_TRANSIENT || r->attempts > o->retries ||
		    (stop && *stop))
			break;
		aur_warn("volume %s: CMK %s: transient KMS failure (%s: %s), retry %u of %u",
			 h->uuid, h->cmk_arn, c.reason, c.message, r->attempts, o->retries);
		watch_sleep(o, backoff(o, r->attempts), stop);
	}
	aur_strcpy(r->reason, sizeof(r->reason), c.reason);
	aur_strcpy(r->message, sizeof(r->message), c.message);
	r->verification = verification_of(c.verdict);
	aur_strcpy(ps.verification, sizeof(ps.verification), r->verification);
	aur_strcpy(ps.reason, sizeof(ps.reason), c.verdict == AUR_CMK_OK ? "" : c.reason);
	if (c.verdict == AUR_CMK_OK || c.verdict == AUR_CMK_LOST)
		ps.last_verified = now;
	ps.lost_passes = c.verdict == AUR_CMK_LOST ? ps.lost_passes + 1 : 0;
	r->lost_passes = ps.lost_passes;
	dm_reason(c.reason, reason, sizeof(reason));

	if (c.verdict == AUR_CMK_OK && c.message[0])
		aur_warn("volume %s: CMK %s is usable (%s)", h->uuid, h->cmk_arn, c.message);
	if (c.verdict == AUR_CMK_TRANSIENT || c.verdict == AUR_CMK_CONFIG_ERROR)
		aur_err("volume %s: cannot reach a verdict on CMK %s after %u attempts (%s: %s)%s; "
			"never a verdict, will retry", h->uuid, h->cmk_arn, r->attempts, c.reason,
			c.message, c.verdict == AUR_CMK_CONFIG_ERROR ?
			" [configuration or credentials]" : "");

	if (h->state == AUR_VOL_INACCESSIBLE) {
		if (c.verdict == AUR_CMK_OK) {
			do_recover(kms, device, ks != AUR_KSTATE_NONE ? dm_name : NULL, h, false, r);
		} else if (c.verdict == AUR_CMK_LOST && now >= h->recoverable_until) {
			event(LOG_ERR, dm_name, h, h->inaccessible_reason,
			      "volume %s (%s): CMK %s still lost (%s) when its recovery window ended: "
			      "volume made terminal; restore it from a backup",
			      h->uuid, dm_name ? dm_name : "-", h->cmk_arn, c.reason);
			do_terminal(device, ks != AUR_KSTATE_NONE ? dm_name : NULL, h,
				    h->inaccessible_reason[0] ? h->inaccessible_reason : reason, r);
		} else {
			r->outcome = AUR_WATCH_INACCESSIBLE;
			if (ks == AUR_KSTATE_ACTIVE) {
				/* A crash between header and message: finish it. */
				pthread_mutex_lock(&act_lock);
				aur_volume_mark_inaccessible(NULL, dm_name, h->uuid,
							     h->inaccessible_reason[0] ?
							     h->inaccessible_reason : reason,
							     now, o->recovery_window, &err);
				pthread_mutex_unlock(&act_lock);
			}
		}
		goto out;
	}

	/* Header active. */
	switch (c.verdict) {
	case AUR_CMK_OK:
		if (ks == AUR_KSTATE_INACCESSIBLE) {
			do_recover(kms, device, dm_name, h, true, r);
		} else if (ks == AUR_KSTATE_TERMINAL) {
			r->outcome = AUR_WATCH_ERROR;
			aur_snprintf(r->message, sizeof(r->message),
				     "the kernel mapping is terminal but the CMK is usable and the "
				     "header active: close \"%s\" and open the volume again",
				     dm_name ? dm_name : "");
			aur_err("volume %s: %s", h->uuid, r->message);
		} else {
			r->outcome = AUR_WATCH_OK;
			aur_dbg("volume %s: CMK %s is usable", h->uuid, h->cmk_arn);
		}
		break;
	case AUR_CMK_TRANSIENT:
	case AUR_CMK_CONFIG_ERROR:
		r->outcome = AUR_WATCH_TRANSIENT;
		break;
	case AUR_CMK_LOST:
		if (ps.lost_passes < confirm) {
			r->outcome = AUR_WATCH_LOST;
			event(LOG_WARNING, dm_name, h, c.reason,
			      "volume %s (%s): CMK %s answers %s (%s): pass %u of %u before the "
			      "volume is made inaccessible", h->uuid, dm_name ? dm_name : "-",
			      h->cmk_arn, c.reason, c.message, ps.lost_passes, confirm);
			break;
		}
		if (!o->recovery_window) {
			event(LOG_ERR, dm_name, h, c.reason,
			      "volume %s (%s): access to CMK %s is lost (%s), confirmed %u times; "
			      "recovery_window is 0: volume made terminal; restore it from a backup",
			      h->uuid, dm_name ? dm_name : "-", h->cmk_arn, c.reason, ps.lost_passes);
			do_terminal(device, ks != AUR_KSTATE_NONE ? dm_name : NULL, h, reason, r);
			break;
		}
		{
			char until[32];
			int ret;

			aur_time_iso(now + (int64_t)o->recovery_window, until);
			pthread_mutex_lock(&act_lock);
			ret = aur_volume_mark_inaccessible(device, ks != AUR_KSTATE_NONE ? dm_name : NULL,
							   h->uuid, reason, now, o->recovery_window,
							   &err);
			pthread_mutex_unlock(&act_lock);
			event(LOG_ERR, dm_name, h, c.reason,
			      "volume %s (%s): access to CMK %s is lost (%s), confirmed %u times: "
			      "volume made INACCESSIBLE, recoverable until %s%s%s",
			      h->uuid, dm_name ? dm_name : "-", h->cmk_arn, c.reason, ps.lost_passes,
			      until, ret ? "; not fully applied: " : "", ret ? err.msg : "");
			if (ret) {
				r->outcome = AUR_WATCH_ERROR;
				aur_snprintf(r->message, sizeof(r->message),
					     "inaccessible not fully applied: %s", err.msg);
			} else {
				r->outcome = AUR_WATCH_INACCESSIBLE;
				r->state = AUR_VOL_INACCESSIBLE;
				r->recoverable_until = now + (int64_t)o->recovery_window;
			}
		}
		break;
	}
out:
	r->last_verified = ps.last_verified;
	aur_pass_state_write(o->state_dir, h->uuid, &ps);
	aur_hdr_free(&hr.hdr);
unverified:
	r->last_verified = ps.last_verified;
	if (o->max_unverified && aur_pass_state_unverified_for(&ps, now) > (int64_t)o->max_unverified)
		r->unverified = true;
}

void aur_watch_check_volume(struct aur_kms *kms, const char *device,
			    const char *dm_name, bool kernel_terminal,
			    const struct aur_watch_opts *o,
			    volatile sig_atomic_t *stop,
			    struct aur_watch_result *r)
{
	aur_watch_check_volume_ex(kms, device, dm_name, NULL,
				  kernel_terminal ? AUR_KSTATE_TERMINAL :
				  dm_name ? AUR_KSTATE_ACTIVE : AUR_KSTATE_NONE, o, stop, r);
}

/* ------------------------------------------------------------------ */
/* Concurrent checks with a deadline of one interval.                  */

static enum aur_kernel_state kstate_of(const struct aur_open_volume *v)
{
	if (v->kernel_terminal)
		return AUR_KSTATE_TERMINAL;
	if (v->kernel_inaccessible)
		return AUR_KSTATE_INACCESSIBLE;
	return AUR_KSTATE_ACTIVE;
}

static void missing_device(const struct aur_open_volume *v, struct aur_watch_result *r)
{
	memset(r, 0, sizeof(*r));
	r->outcome = AUR_WATCH_ERROR;
	r->verification = "error";
	aur_strcpy(r->name, sizeof(r->name), v->name);
	aur_strcpy(r->uuid, sizeof(r->uuid), v->uuid);
	aur_snprintf(r->message, sizeof(r->message), "backing device %u:%u of %s not found",
		     v->dev_major, v->dev_minor, v->name);
	aur_err("%s", r->message);
}

/* One check in flight.  Freed by whoever drops the last reference. */
struct job {
	struct aur_open_volume v;
	struct aur_watch_opts o;
	volatile sig_atomic_t *stop;
	struct aur_watch_result r;
	bool done;
	int refs;
	struct pass_ctl *ctl;
};

struct pass_ctl {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int running;
	int refs;
};

/* uuids whose check is still running (a slow KMS): skipped until it ends. */
#define INFLIGHT_MAX 1024
static pthread_mutex_t inflight_lock = PTHREAD_MUTEX_INITIALIZER;
static char inflight[INFLIGHT_MAX][37];

/* Checks running in any pass, for aur_watch_drain(). */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cond = PTHREAD_COND_INITIALIZER;
static unsigned int running_checks;

static void running_add(int d)
{
	pthread_mutex_lock(&running_lock);
	running_checks = (unsigned int)((int)running_checks + d);
	if (!running_checks)
		pthread_cond_broadcast(&running_cond);
	pthread_mutex_unlock(&running_lock);
}

void aur_watch_drain(void)
{
	pthread_mutex_lock(&running_lock);
	while (running_checks)
		pthread_cond_wait(&running_cond, &running_lock);
	pthread_mutex_unlock(&running_lock);
}

static bool inflight_add(const char *uuid)
{
	size_t i, free_slot = INFLIGHT_MAX;
	bool ok = true;

	if (!uuid[0])
		return true;
	pthread_mutex_lock(&inflight_lock);
	for (i = 0; i < INFLIGHT_MAX; i++) {
		if (!strcmp(inflight[i], uuid))
			ok = false;
		else if (!inflight[i][0] && free_slot == INFLIGHT_MAX)
			free_slot = i;
	}
	if (ok && free_slot < INFLIGHT_MAX)
		aur_strcpy(inflight[free_slot], sizeof(inflight[free_slot]), uuid);
	pthread_mutex_unlock(&inflight_lock);
	return ok;
}

static void inflight_del(const char *uuid)
{
	size_t i;

	pthread_mutex_lock(&inflight_lock);
	for (i = 0; i < INFLIGHT_MAX; i++)
		if (!strcmp(inflight[i], uuid))
			inflight[i][0] = '\0';
	pthread_mutex_unlock(&inflight_lock);
}

static void ctl_put(struct pass_ctl *ctl)
{
	bool last;

	pthread_mutex_lock(&ctl->lock);
	last = --ctl->refs == 0;
	pthread_mutex_unlock(&ctl->lock);
	if (last) {
		pthread_mutex_destroy(&ctl->lock);
		pthread_cond_destroy(&ctl->cond);
		free(ctl);
	}
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct pass_ctl *ctl = j->ctl;
	struct aur_kms *kms = NULL;
	struct aur_kms_status st;
	bool last;
	int r;

	memset(&st, 0, sizeof(st));
	r = j->o.kms_open ? j->o.kms_open(j->o.cfg, &kms, j->o.kms_open_arg) :
			    aur_kms_open(j->o.cfg, &kms, &st);
	if (r) {
		memset(&j->r, 0, sizeof(j->r));
		j->r.outcome = AUR_WATCH_TRANSIENT;
		j->r.verification = "transient";
		aur_strcpy(j->r.name, sizeof(j->r.name), j->v.name);
		aur_strcpy(j->r.uuid, sizeof(j->r.uuid), j->v.uuid);
		aur_snprintf(j->r.message, sizeof(j->r.message), "cannot open the KMS: %s",
			     st.message);
	} else {
		aur_watch_check_volume_ex(kms, j->v.device, j->v.name,
					  j->v.uuid[0] ? j->v.uuid : NULL, kstate_of(&j->v),
					  &j->o, j->stop, &j->r);
		aur_kms_destroy(kms);
	}
	inflight_del(j->v.uuid);
	running_add(-1);
	pthread_mutex_lock(&ctl->lock);
	j->done = true;
	ctl->running--;
	last = --j->refs == 0;
	pthread_cond_broadcast(&ctl->cond);
	pthread_mutex_unlock(&ctl->lock);
	if (last)
		free(j);
	ctl_put(ctl);
	return NULL;
}

static size_t check_concurrent(const struct aur_open_volume *vols, size_t n,
			       const struct aur_watch_opts *o, volatile sig_atomic_t *stop,
			       struct aur_watch_result *out)
{
	unsigned int max = o->max_threads ? o->max_threads : 8;
	struct pass_ctl *ctl = calloc(1, sizeof(*ctl));
	struct job **jobs = calloc(n ? n : 1, sizeof(*jobs));
	struct timespec deadline;
	size_t i;

	if (!ctl || !jobs) {
		free(ctl);
		free(jobs);
		for (i = 0; i < n; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].outcome = AUR_WATCH_ERROR;
			out[i].verification = "error";
			aur_strcpy(out[i].message, sizeof(out[i].message), "out of memory");
		}
		return n;
	}
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->cond, NULL);
	ctl->refs = 1;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += o->interval ? o->interval : 1;

	for (i = 0; i < n; i++) {
		pthread_attr_t attr;
		pthread_t t;

		if (!vols[i].device[0]) {
			missing_device(&vols[i], &out[i]);
			continue;
		}
		if (!inflight_add(vols[i].uuid)) {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].outcome = AUR_WATCH_TRANSIENT;
			out[i].verification = "transient";
			aur_strcpy(out[i].name, sizeof(out[i].name), vols[i].name);
			aur_strcpy(out[i].uuid, sizeof(out[i].uuid), vols[i].uuid);
			aur_strcpy(out[i].device, sizeof(out[i].device), vols[i].device);
			aur_strcpy(out[i].reason, sizeof(out[i].reason), "CheckStillRunning");
			aur_snprintf(out[i].message, sizeof(out[i].message),
				     "the previous check of this volume has not ended (slow KMS)");
			aur_warn("volume %s (%s): %s", vols[i].uuid, vols[i].name, out[i].message);
			continue;
		}
		/* At most max checks at once; wait for a slot until the deadline. */
		pthread_mutex_lock(&ctl->lock);
		while (ctl->running >= max &&
		       (o->wait_all ? pthread_cond_wait(&ctl->cond, &ctl->lock) :
			pthread_cond_timedwait(&ctl->cond, &ctl->lock, &deadline)) == 0)
			;
		if (ctl->running >= max) {
			pthread_mutex_unlock(&ctl->lock);
			inflight_del(vols[i].uuid);
			memset(&out[i], 0, sizeof(out[i]));
			out[i].outcome = AUR_WATCH_TRANSIENT;
			out[i].verification = "transient";
			aur_strcpy(out[i].name, sizeof(out[i].name), vols[i].name);
			aur_strcpy(out[i].uuid, sizeof(out[i].uuid), vols[i].uuid);
			aur_strcpy(out[i].reason, sizeof(out[i].reason), "NoCheckSlot");
			aur_snprintf(out[i].message, sizeof(out[i].message),
				     "no check slot within one interval (%u checks running)", max);
			continue;
		}
		pthread_mutex_unlock(&ctl->lock);
		jobs[i] = calloc(1, sizeof(*jobs[i]));
		if (!jobs[i]) {
			inflight_del(vols[i].uuid);
			missing_device(&vols[i], &out[i]);
			aur_strcpy(out[i].message, sizeof(out[i].message), "out of memory");
			continue;
		}
		jobs[i]->v = vols[i];
		jobs[i]->o = *o;
		jobs[i]->stop = stop;
		jobs[i]->ctl = ctl;
		jobs[i]->refs = 2;
		pthread_mutex_lock(&ctl->lock);
		ctl->running++;
		ctl->refs++;
		pthread_mutex_unlock(&ctl->lock);
		running_add(1);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, job_main, jobs[i])) {
			/* No thread: check it here, synchronously. */
			job_main(jobs[i]);
		}
		pthread_attr_destroy(&attr);
	}

	/* Wait for every check, at most until the deadline. */
	pthread_mutex_lock(&ctl->lock);
	for (;;) {
		bool all = true;

		for (i = 0; i < n; i++)
			if (jobs[i] && !jobs[i]->done)
				all = false;
		if (all || (stop && *stop))
			break;
		if (o->wait_all)
			pthread_cond_wait(&ctl->cond, &ctl->lock);
		else if (pthread_cond_timedwait(&ctl->cond, &ctl->lock, &deadline) == ETIMEDOUT)
			break;
	}
	for (i = 0; i < n; i++) {
		struct job *j = jobs[i];

		if (!j)
			continue;
		if (j->done) {
			out[i] = j->r;
		} else {
			memset(&out[i], 0, sizeof(out[i]));
			out[i].outcome = AUR_WATCH_TRANSIENT;
			out[i].verification = "transient";
			aur_strcpy(out[i].name, sizeof(out[i].name), j->v.name);
			aur_strcpy(out[i].uuid, sizeof(out[i].uuid), j->v.uuid);
			aur_strcpy(out[i].device, sizeof(out[i].device), j->v.device);
			aur_strcpy(out[i].reason, sizeof(out[i].reason), "CheckStillRunning");
			aur_snprintf(out[i].message, sizeof(out[i].message),
				     "no answer within one interval (%u s): the check goes on in "
				     "the background", o->interval);
			aur_warn("volume %s (%s): %s", j->v.uuid, j->v.name, out[i].message);
		}
		if (--j->refs == 0) {
			pthread_mutex_unlock(&ctl->lock);
			free(j);
			pthread_mutex_lock(&ctl->lock);
		}
	}
	pthread_mutex_unlock(&ctl->lock);
	ctl_put(ctl);
	free(jobs);
	return n;
}

size_t aur_watch_check_open(struct aur_kms *kms, const struct aur_open_volume *vols, size_t n,
			    const struct aur_watch_opts *o, volatile sig_atomic_t *stop,
			    struct aur_watch_result *out)
{
	size_t i;

	if (o->cfg)
		return check_concurrent(vols, n, o, stop, out);
	for (i = 0; i < n && !(stop && *stop); i++) {
		if (!vols[i].device[0]) {
			missing_device(&vols[i], &out[i]);
			continue;
		}
		aur_watch_check_volume_ex(kms, vols[i].device, vols[i].name,
					  vols[i].uuid[0] ? vols[i].uuid : NULL, kstate_of(&vols[i]),
					  o, stop, &out[i]);
	}
	return i;
}

int aur_watch_pass(struct aur_kms *kms, const struct aur_watch_opts *o,
		   volatile sig_atomic_t *stop, struct aur_watch_result **res,
		   size_t *n, struct aur_error *err)
{
	struct aur_open_volume *vols = NULL;
	struct aur_watch_result *out;
	size_t nv = 0;
	int ret;

	*res = NULL;
	*n = 0;
	ret = aur_volume_list_open(&vols, &nv, err);
	if (ret < 0)
		return ret;
	out = calloc(nv ? nv : 1, sizeof(*out));
	if (!out) {
		free(vols);
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	*n = aur_watch_check_open(kms, vols, nv, o, stop, out);
	free(vols);
	*res = out;
	return 0;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify(const char *text)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!sock || (sock[0] != '/' && sock[0] != '@') || strlen(sock) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, sock, strlen(sock));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, text, strlen(text), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

int aur_watch_run(struct aur_kms *kms, const struct aur_watch_opts *o,
		  volatile sig_atomic_t *stop)
{
	unsigned int transient_passes = 0;
	bool ready = false;

	aur_info("watching aurora volumes every %u s (confirm_passes %u, recovery_window %llu s, "
		 "max_unverified %llu s)", o->interval, o->confirm_passes,
		 (unsigned long long)o->recovery_window, (unsigned long long)o->max_unverified);
	while (!(stop && *stop)) {
		struct aur_watch_result *res = NULL;
		struct aur_error err;
		bool transient = false;
		unsigned int wait_ms, nunv = 0, ninacc = 0;
		size_t n = 0, i;
		char st[512];

		aur_error_clear(&err);
		if (aur_watch_pass(kms, o, stop, &res, &n, &err) < 0) {
			aur_err("watch pass failed: %s", err.msg);
			transient = true;
		}
		for (i = 0; i < n; i++) {
			if (res[i].outcome == AUR_WATCH_TRANSIENT)
				transient = true;
			if (res[i].outcome == AUR_WATCH_TERMINATED)
				aur_err("volume %s (%s) is now TERMINAL: %s; restore it from a backup",
					res[i].uuid, res[i].name, res[i].reason);
			if (res[i].state == AUR_VOL_INACCESSIBLE)
				ninacc++;
			if (res[i].unverified) {
				char lv[32];

				nunv++;
				if (res[i].last_verified)
					aur_time_iso(res[i].last_verified, lv);
				aur_warn("volume %s (%s) UNVERIFIED: no verdict from the KMS since %s "
					 "(max_unverified %llu s; last: %s %s)", res[i].uuid,
					 res[i].name, res[i].last_verified ? lv : "the agent started",
					 (unsigned long long)o->max_unverified,
					 res[i].verification ? res[i].verification : "-",
					 res[i].reason);
			}
		}
		snprintf(st, sizeof(st), "%sSTATUS=%zu volume(s) watched; %u inaccessible; "
			 "%u unverified for over %llu s",
			 ready ? "" : "READY=1\n", n, ninacc, nunv,
			 (unsigned long long)o->max_unverified);
		notify(st);
		ready = true;
		free(res);
		/*
		 * After a pass that could not reach a verdict, come back sooner
		 * (still backing off), never later than the interval.
		 */
		wait_ms = o->interval * 1000u;
		if (transient) {
			unsigned int b = backoff(o, ++transient_passes + o->retries);

			if (b < wait_ms)
				wait_ms = b;
		} else {
			transient_passes = 0;
		}
		watch_sleep(o, wait_ms, stop);
	}
	/* A check still running may be writing a header: let it end. */
	aur_watch_drain();
	aur_info("watch stopped");
	return 0;
}
