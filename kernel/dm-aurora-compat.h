/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-aurora: the one place for kernel version differences.
 *
 * Supported: Debian's 6.1 and 6.12 kernels.  Every interface the target uses
 * (bio_alloc_bioset() with a bdev, STATUSTYPE_IMA, queue_limits.dma_alignment,
 * dm_accept_partial_bio(), rcu_replace_pointer(), key_validate()) has the same
 * shape in both, so this file only guards the floor and the helpers whose
 * availability differs.
 */
#ifndef DM_AURORA_COMPAT_H
#define DM_AURORA_COMPAT_H

#include <linux/device-mapper.h>

/* Added with STATUSTYPE_IMA in 5.15; keep a fallback for backports. */
#ifndef DMEMIT_TARGET_NAME_VERSION
#define DMEMIT_TARGET_NAME_VERSION(y)					\
	do {								\
		const struct target_type *__tt = (y);			\
		DMEMIT("target_name=%s,target_version=%u.%u.%u",	\
		       __tt->name, __tt->version[0], __tt->version[1],	\
		       __tt->version[2]);				\
	} while (0)
#endif

#endif /* DM_AURORA_COMPAT_H */
