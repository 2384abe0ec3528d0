// SPDX-License-Identifier: GPL-2.0
/* aurora: the watching agent (see watch.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

void aur_watch_check_volume(struct aur_kms *kms, const char *device,
			    const char *dm_name, bool kernel_terminal,
			    const struct aur_watch_opts *o,
			    volatile sig_atomic_t *stop,
			    struct aur_watch_result *r)
{
	struct aur_hdr_read hr;
	struct aur_cmk_check c;
	struct aur_error err;
	const struct aur_hdr *h;

	memset(r, 0, sizeof(*r));
	aur_error_clear(&err);
	if (dm_name)
		aur_strcpy(r->name, sizeof(r->name), dm_name);
	aur_strcpy(r->device, sizeof(r->device), device);

	if (aur_volume_read_header(device, &hr, &err) < 0) {
		r->outcome = AUR_WATCH_ERROR;
		aur_snprintf(r->message, sizeof(r->message), "%s", err.msg);
		return;
	}
	h = &hr.hdr;
	aur_strcpy(r->uuid, sizeof(r->uuid), h->uuid);

	if (h->state == AUR_VOL_TERMINAL || kernel_terminal) {
		/* Already lost: make sure both sides say so (idempotent). */
		const char *why = h->state == AUR_VOL_TERMINAL && h->terminal_reason[0] ?
				  h->terminal_reason : "kernel-terminal";

		r->outcome = AUR_WATCH_ALREADY_TERMINAL;
		aur_strcpy(r->reason, sizeof(r->reason), why);
		if (aur_volume_mark_terminal(device, dm_name, h->uuid, why, &err) < 0)
			aur_snprintf(r->message, sizeof(r->message), "%s", err.msg);
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

	switch (c.verdict) {
	case AUR_CMK_OK:
		r->outcome = AUR_WATCH_OK;
		aur_dbg("volume %s: CMK %s is usable", h->uuid, h->cmk_arn);
		break;
	case AUR_CMK_TRANSIENT:
	case AUR_CMK_CONFIG_ERROR:
		r->outcome = AUR_WATCH_TRANSIENT;
		aur_err("volume %s: cannot reach a verdict on CMK %s after %u attempts (%s: %s); "
			"the volume stays active, will retry",
			h->uuid, h->cmk_arn, r->attempts, c.reason, c.message);
		break;
	case AUR_CMK_LOST:
		aur_err("volume %s: access to CMK %s is lost (%s: %s): making the volume terminal",
			h->uuid, h->cmk_arn, c.reason, c.message);
		{
			char m[1024];

			snprintf(m, sizeof(m), "volume %s (%s): access to CMK %s is lost (%s): volume made terminal",
				 h->uuid, dm_name ? dm_name : "-", h->cmk_arn, c.reason);
			journal_volume(LOG_ERR, dm_name, h->uuid, h->cmk_arn, c.reason, m);
		}
		if (aur_volume_mark_terminal(device, dm_name, h->uuid, c.reason, &err) < 0) {
			r->outcome = AUR_WATCH_ERROR;
			aur_snprintf(r->message, sizeof(r->message),
				     "terminal not fully applied: %s", err.msg);
			aur_err("volume %s: %s", h->uuid, r->message);
		} else {
			r->outcome = AUR_WATCH_TERMINATED;
		}
		break;
	}
	aur_hdr_free(&hr.hdr);
}

int aur_watch_pass(struct aur_kms *kms, const struct aur_watch_opts *o,
		   volatile sig_atomic_t *stop, struct aur_watch_result **res,
		   size_t *n, struct aur_error *err)
{
	struct aur_open_volume *vols = NULL;
	struct aur_watch_result *out;
	size_t nv = 0, i;
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
	for (i = 0; i < nv && !(stop && *stop); i++) {
		if (!vols[i].device[0]) {
			out[i].outcome = AUR_WATCH_ERROR;
			aur_strcpy(out[i].name, sizeof(out[i].name), vols[i].name);
			aur_snprintf(out[i].message, sizeof(out[i].message),
				     "backing device %u:%u of %s not found",
				     vols[i].dev_major, vols[i].dev_minor, vols[i].name);
			aur_err("%s", out[i].message);
			continue;
		}
		aur_watch_check_volume(kms, vols[i].device, vols[i].name,
				       vols[i].kernel_terminal, o, stop, &out[i]);
	}
	free(vols);
	*res = out;
	*n = i;
	return 0;
}

int aur_watch_run(struct aur_kms *kms, const struct aur_watch_opts *o,
		  volatile sig_atomic_t *stop)
{
	unsigned int transient_passes = 0;

	aur_info("watching aurora volumes every %u s", o->interval);
	while (!(stop && *stop)) {
		struct aur_watch_result *res = NULL;
		struct aur_error err;
		bool transient = false;
		unsigned int wait_ms;
		size_t n = 0, i;

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
		}
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
	aur_info("watch stopped");
	return 0;
}
