/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: temporary dm-aurora mappings for restore --plaintext and copy
 * --new-data-key (Documentation/backup.md), and the loop devices and
 * unnamed temporary files behind the copy's.
 *
 * A temporary mapping's key is a logon key "aurora:<random uuid>" in the
 * calling process's keyring only (never in "aurora:volumes"), and its dm UUID
 * is "AURTMP-<that uuid>", not a volume's: no volume UUID is derived from
 * it, and volume listings (status, the watching agent) leave it out.
 * bk_tmpmap_close() removes the mapping, then revokes the key; every path
 * out of the callers runs it.
 */
#ifndef AURORA_BACKUP_TMPMAP_H
#define AURORA_BACKUP_TMPMAP_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "aurora/aurora.h"
#include "volume/dm.h"

struct bk_tmpmap {
	char name[AUR_DM_NAME_MAX];	/* aurora-tmp-<pid>-<role> */
	char dm_uuid[64];
	char key_uuid[37];
	char path[PATH_MAX];		/* /dev/mapper/<name> */
	bool keyed, created;
};

/*
 * Map data area [@h->data_offset, + @h->data_size) of block device @dev
 * (sector size @h->sector_size) with data key @dek as /dev/mapper/aurora-
 * tmp-<pid>-@role.  0, or an error set in @err with nothing left behind.
 */
int bk_tmpmap_open(struct bk_tmpmap *t, const struct aur_hdr *h, dev_t dev,
		   const struct aur_secret *dek, const char *role, struct aur_error *err);
/* Remove the mapping, then revoke and unlink its key (idempotent). */
void bk_tmpmap_close(struct bk_tmpmap *t);

/*
 * An unnamed temporary file (O_TMPFILE; or created and unlinked at once) of
 * @size bytes (sparse) in directory @dir: its fd, or -errno with @err set.
 */
int bk_tmpfile(const char *dir, uint64_t size, struct aur_error *err);

/*
 * Attach @fd to a free loop device (autoclear: it goes when the last
 * opener closes).  The loop device's fd (O_RDWR) and *@dev, or -errno
 * with @err set.
 */
int bk_loop_attach(int fd, dev_t *dev, struct aur_error *err);

/*
 * SIGINT, SIGTERM and SIGHUP held (blocked) through a backup, a copy or a
 * restore --plaintext, so that an interrupt is seen between two chunks
 * (bk_signal_pending) and temporary snapshots, mappings and files are
 * still removed.
 */
void bk_signals_hold(sigset_t *old);
bool bk_signal_pending(void);
void bk_signals_release(const sigset_t *old);

#endif /* AURORA_BACKUP_TMPMAP_H */
