/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-aurora: the one place for kernel version differences.
 *
 * Supported: Debian's 6.1 and 6.12 kernels.  Every interface the target uses
 * (bio_alloc_bioset() with a bdev, STATUSTYPE_IMA, queue_limits.dma_alignment,
 * dm_accept_partial_bio(), rcu_replace_pointer(), key_validate()) has the same
 * shape in both but two, which 6.3 changed: an asynchronous crypto request's
 * callback argument, and srcu_down_read().
 */
#ifndef DM_AURORA_COMPAT_H
#define DM_AURORA_COMPAT_H

#include <linux/crypto.h>
#include <linux/device-mapper.h>
#include <linux/srcu.h>

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

/*
 * 6.3 changed the argument of an asynchronous request's callback from the
 * request to the data given with it: declare it aurora_crypto_cb_arg_t *
 * and get the data with aurora_crypto_cb_data().  Kbuild finds out which
 * the headers have.
 */
#ifdef AURORA_CRYPTO_CB_VOID
#define aurora_crypto_cb_arg_t void

static inline void *aurora_crypto_cb_data(void *arg)
{
	return arg;
}
#else
#define aurora_crypto_cb_arg_t struct crypto_async_request

static inline void *aurora_crypto_cb_data(struct crypto_async_request *arg)
{
	return arg->data;
}
#endif

/*
 * srcu_down_read() and srcu_up_read() came in 6.3: an SRCU read section
 * that another context may end, which lockdep does not track.  Before,
 * these are what they wrap.
 */
#ifndef AURORA_HAVE_SRCU_DOWN_READ
static inline int srcu_down_read(struct srcu_struct *ssp)
{
	return __srcu_read_lock(ssp);
}

static inline void srcu_up_read(struct srcu_struct *ssp, int idx)
{
	__srcu_read_unlock(ssp, idx);
}
#endif

#endif /* DM_AURORA_COMPAT_H */
