/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the watching agent.
 *
 * Every pass looks at each open aurora mapping, reads its header and asks
 * the KMS about the volume's CMK (DescribeKey, then a trial Decrypt of the
 * volume's DEK: aur_volume_check_cmk).  A definitive answer (disabled,
 * pending deletion, deleted, access denied, the DEK no longer unwraps) makes
 * the volume terminal: header state persisted, `terminal <reason>` sent to
 * the target, kernel key revoked.  A transient one (timeout, throttling,
 * 5xx, a malformed reply, an unreadable keystore) is retried with jittered
 * exponential backoff and never makes a volume terminal.
 */
#ifndef AURORA_WATCH_H
#define AURORA_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "kms/kms.h"
#include "volume/volume.h"

struct aur_watch_opts {
	unsigned int interval;		/* seconds between passes (>= 1) */
	unsigned int retries;		/* extra attempts on a transient answer */
	unsigned int backoff_ms;	/* first retry delay */
	unsigned int backoff_max_ms;	/* cap of one delay */
	/* Sleep hook (tests); NULL: nanosleep, cut short by *stop. */
	void (*sleep_ms)(unsigned int ms, void *arg);
	void *sleep_arg;
};

void aur_watch_opts_default(struct aur_watch_opts *o);

enum aur_watch_outcome {
	AUR_WATCH_OK = 0,		/* CMK usable, DEK unwraps */
	AUR_WATCH_TERMINATED,		/* made terminal by this check */
	AUR_WATCH_ALREADY_TERMINAL,	/* header or kernel already terminal */
	AUR_WATCH_TRANSIENT,		/* could not tell; volume kept active */
	AUR_WATCH_ERROR,		/* local failure (header unreadable...) */
};
const char *aur_watch_outcome_name(enum aur_watch_outcome o);

struct aur_watch_result {
	char name[AUR_DM_NAME_MAX];	/* mapping, "" when checked by device */
	char uuid[37];
	char device[PATH_MAX];
	enum aur_watch_outcome outcome;
	unsigned int attempts;		/* KMS checks made */
	char reason[128];
	char message[640];
};

/*
 * One volume: header of @device, CMK check with retries, terminal on a
 * definitive loss.  @dm_name may be NULL (header only: no mapping).
 */
void aur_watch_check_volume(struct aur_kms *kms, const char *device,
			    const char *dm_name, bool kernel_terminal,
			    const struct aur_watch_opts *o,
			    volatile sig_atomic_t *stop,
			    struct aur_watch_result *r);

/* One pass over every open aurora mapping; *res is malloc()ed. */
int aur_watch_pass(struct aur_kms *kms, const struct aur_watch_opts *o,
		   volatile sig_atomic_t *stop, struct aur_watch_result **res,
		   size_t *n, struct aur_error *err);

/* Passes every o->interval seconds until *stop.  Returns 0. */
int aur_watch_run(struct aur_kms *kms, const struct aur_watch_opts *o,
		  volatile sig_atomic_t *stop);

#endif /* AURORA_WATCH_H */
