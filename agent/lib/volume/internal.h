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

#endif /* AURORA_VOLUME_INTERNAL_H */
