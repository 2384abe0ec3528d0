/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-aurora: private definitions shared by the target's source files.
 */
#ifndef DM_AURORA_H
#define DM_AURORA_H

#include <linux/bio.h>
#include <linux/blk_types.h>
#include <linux/device-mapper.h>
#include <linux/key.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#include "aurora_dm.h"
#include "dm-aurora-compat.h"

#define DM_MSG_PREFIX "aurora"

/* Pages kept in reserve for write bounce buffers. */
#define AURORA_MIN_POOL_PAGES	32
/* Bios kept in reserve in the bio_set. */
#define AURORA_MIN_IOS		64
/* Key state check period while idle. */
#define AURORA_WATCH_PERIOD	HZ

/* Bits of aurora_c.flags */
enum aurora_flag {
	AURORA_TERMINAL,	/* sticky: every new bio fails */
	AURORA_TERMINAL_DONE,	/* terminal wipe done, event raised */
	AURORA_KEY_WIPED,	/* no cipher context in memory */
	AURORA_SUSPENDED,	/* between postsuspend and resume */
	AURORA_IV_LARGE,	/* iv_large_sectors */
	AURORA_ALLOW_DISCARDS,	/* allow_discards */
	AURORA_NO_READ_INLINE,	/* no_read_inline */
	AURORA_WRITE_WQ,	/* write_workqueue */
};

struct aurora_stats {
	u64 reads;		/* read bios completed successfully */
	u64 writes;		/* write bios completed successfully */
	u64 terminal_eio;	/* bios failed because the target is terminal */
};

/* Per-target context (ti->private). */
struct aurora_c {
	struct dm_target *ti;
	struct dm_dev *dev;
	sector_t start;			/* offset on dev, 512-byte sectors */
	u64 iv_offset;			/* added to the sector number for the IV */
	unsigned int sector_size;	/* data unit, bytes */
	unsigned int sector_shift;	/* log2(sector_size) - SECTOR_SHIFT */
	unsigned long flags;		/* enum aurora_flag */

	/* Cipher: read under srcu, replaced under key_lock. */
	struct crypto_skcipher __rcu *tfm;
	struct srcu_struct srcu;
	unsigned int reqsize;		/* reserved per bio for the request */

	/* Keyring key and its reference string; changed under key_lock. */
	struct mutex key_lock;
	struct key *key;
	char *key_desc;			/* description, without the prefix */

	spinlock_t reason_lock;		/* protects reason, TERMINAL setting */
	char reason[AURORA_DM_REASON_MAX];

	struct delayed_work watch;	/* key state polling, terminal wipe */
	struct workqueue_struct *wq;	/* read decryption, punted writes */
	struct bio_set bs;		/* write bounce bios */
	mempool_t page_pool;		/* write bounce pages */
	struct mutex bio_alloc_lock;	/* serializes blocking page allocation */

	struct aurora_stats __percpu *stats;
};

/* Per-bio data (ti->per_io_data_size), followed by the skcipher request. */
struct aurora_io {
	struct aurora_c *ac;
	struct bio *bio;		/* the bio dm gave to map() */
	sector_t sector;		/* target-relative, 512-byte sectors */
	struct bvec_iter iter;		/* data of a read, saved at map time */
	bio_end_io_t *orig_end_io;
	void *orig_private;
	struct work_struct work;
	__le64 iv[2];
	/* must be last: crypto_skcipher_reqsize() bytes of context follow */
	struct skcipher_request req;
};

/* dm-aurora-crypt.c */
int aurora_map(struct dm_target *ti, struct bio *bio);
void aurora_count_terminal(struct aurora_c *ac);

/* dm-aurora-key.c */
int aurora_key_parse(const char *ref, const char **desc, char **error);
int aurora_key_load(struct aurora_c *ac, const char *desc, char **error);
void aurora_key_wipe(struct aurora_c *ac);
void aurora_go_terminal(struct aurora_c *ac, const char *reason);
void aurora_set_terminal(struct aurora_c *ac, const char *reason);
bool aurora_key_check(struct aurora_c *ac);
void aurora_watch_fn(struct work_struct *work);
void aurora_sanitize_reason(char *dst, const char *src);

static inline bool aurora_is_terminal(struct aurora_c *ac)
{
	return test_bit(AURORA_TERMINAL, &ac->flags);
}

#endif /* DM_AURORA_H */
