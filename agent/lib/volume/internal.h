/* SPDX-License-Identifier: GPL-2.0 */
/* aurora: what the files of lib/volume/ share among themselves only. */
#ifndef AURORA_VOLUME_INTERNAL_H
#define AURORA_VOLUME_INTERNAL_H

#include <sys/stat.h>

#include "volume/volume.h"

/*
 * open(2) @device (block device or image file) with O_CLOEXEC and @flags,
 * fstat it into @st: the fd, or -errno with @err set.
 */
int aur_volume_open_dev(const char *device, int flags, struct stat *st, struct aur_error *err);

/*
 * The per-volume lock of @uuid (an flock on $AURORA_LOCK_DIR, default
 * /run/aurora/lock, "/<uuid>.lock"; the directory is created 0700): held
 * by open and close for their whole run.  Waits up to @wait_s seconds for
 * another holder, then fails with AUR_EXIT_BUSY.  The fd, or -errno with
 * @err set.  aur_volume_unlock() releases it.
 */
#define AUR_VOLUME_LOCK_WAIT	30
int aur_volume_lock(const char *uuid, unsigned int wait_s, struct aur_error *err);
void aur_volume_unlock(int fd);

#endif /* AURORA_VOLUME_INTERNAL_H */
