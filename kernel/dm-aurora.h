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
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/workqueue.h>
#include <crypto/skcipher.h>

#include "aurora_dm.h"
#include "dm-aurora-compat.h"

#define DM_MSG_PREFIX "aurora"

/*
 * Pages kept in reserve for write bounce buffers: enough for the largest
 * bounce bio (map() caps writes at BIO_MAX_VECS pages), as dm-crypt, so that
 * the one writer allowed to wait on the reserve (under bio_alloc_lock) always
 * gets all its pages back from the writes in flight.
 */
#define AURORA_MIN_POOL_PAGES	BIO_MAX_VECS
/* Bios kept in reserve in the bio_set. */
#define AURORA_MIN_IOS		64
/*
 * Bounce pages of every aurora target together beyond which a write that
 * may not wait takes from its target's reserve instead of the page
 * allocator: this share of RAM, in percent (dm-crypt's cap is 2%).
 */
#define AURORA_PAGES_PERCENT	2

/*
 * A bio with more data than this is encrypted or decrypted in chunks of this
 * size that workers on every CPU claim in turn, while the context that had
 * the bio goes on.  A multiple of every data unit size.
 */
#define AURORA_CHUNK_BYTES	(32 * 1024)
/* At most this many workers convert the chunks of one large bio. */
#define AURORA_MAX_PARTS	4
/*
 * A bio of one chunk is converted in the task that submitted it (reads: that
 * completed it), with no hop, unless that task does not wait for its bios:
 * then handing them off to the other CPUs lets it go on submitting while
 * they do the crypto.  A task does not wait when it comes back with another
 * bio without having slept since its last hand-off (or while one of its CPU's
 * hand-offs is still in flight).  Otherwise a bio is handed off as a probe
 * to find that out: per CPU, one per AURORA_PROBE_PERIOD while the task is
 * the one last handed off from that CPU and that hand-off was a probe that
 * no other followed (the task waited: each probe costs it a wakeup from the
 * other CPU), otherwise one per AURORA_PROBE_NEW_TASK, so that a submitter
 * that does not wait (new, or back after draining its queue) starts its
 * hand-offs soon.  It then stays in hand-off mode with no more probes.
 */
#define AURORA_PROBE_PERIOD	HZ
#define AURORA_PROBE_NEW_TASK	(HZ / 10)
/*
 * Handed-off bios in flight per other CPU above which the submitter converts
 * the next one itself: the other CPUs have enough queued to stay busy.
 */
#define AURORA_HANDOFF_BACKLOG	4
/*
 * A small bio converted in its submitter's context (a task that waits for
 * it) is cut into about this many chunks of whole data units, and a helper
 * on another CPU that is not converting for dm-aurora claims them in turn
 * with the submitter: its latency is then about half the crypto, plus the
 * helper's wakeup.  A bio of one data unit is not cut.  After
 * AURORA_SHARE_MISSES bios in a row whose helper woke too late to take any
 * chunk, a CPU stops sharing until the next try, one per
 * AURORA_SHARE_RETRY: where the cipher is fast, a wakeup costs more than
 * the work it could take.
 */
#define AURORA_SHARE_CHUNKS	8
#define AURORA_SHARE_MISSES	32
#define AURORA_SHARE_RETRY	(HZ / 10)
/* Key state check period while idle. */
#define AURORA_WATCH_PERIOD	HZ

/*
 * Bits of aurora_c.flags.  The state of the target is active (neither
 * AURORA_INACCESSIBLE nor AURORA_TERMINAL), inaccessible or terminal
 * (terminal wins when both are set).  Both bits are set under reason_lock,
 * with the reason; AURORA_INACCESSIBLE is cleared only by a resume after
 * "key set" (aurora_key_recover()), AURORA_TERMINAL never.
 */
enum aurora_flag {
	AURORA_TERMINAL,	/* sticky: every new bio fails */
	AURORA_TERMINAL_DONE,	/* terminal wipe done, event raised */
	AURORA_INACCESSIBLE,	/* every new bio fails until recovered */
	AURORA_INACCESSIBLE_DONE, /* inaccessible wipe done, event raised;
				   * set and cleared under key_lock
				   */
	AURORA_KEY_WIPED,	/* no cipher context in memory */
	AURORA_SUSPENDED,	/* between postsuspend and resume */
	AURORA_IV_LARGE,	/* iv_large_sectors */
	AURORA_ALLOW_DISCARDS,	/* allow_discards */
	AURORA_NO_READ_INLINE,	/* no_read_inline (accepted, no effect) */
	AURORA_WRITE_WQ,	/* write_workqueue */
};

struct aurora_stats {
	u64 reads;		/* read bios completed successfully */
	u64 writes;		/* write bios completed successfully */
	u64 terminal_eio;	/* bios failed: target inaccessible or terminal */
	u64 handed_off;		/* small bios handed to the async workqueue */
	u64 shared;		/* small bios a helper converted a part of */
};

/* Per-CPU hand-off state (see AURORA_PROBE_PERIOD). */
struct aurora_pcpu {
	atomic_t handed_off;		/* bios handed off here, not yet done */
	atomic_t converting;		/* bios being converted on this CPU */
	unsigned int share_misses;	/* shared bios in a row not helped */
	unsigned long next_share;	/* jiffies: next try after as many */
	unsigned long last_probe;	/* jiffies */
	bool probe_only;		/* the last hand-off was a probe */
	int last_cpu;			/* CPU the last one went to */
	/* The task that handed off the last one (only compared, never used) */
	const void *task;
	unsigned long nvcsw;		/* and its voluntary switches then */
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

	/* Cipher and keyring key: read under srcu, replaced under key_lock. */
	struct crypto_skcipher __rcu *tfm;
	struct key __rcu *key;		/* NULL once out of service */
	struct srcu_struct srcu;
	unsigned int reqsize;		/* reserved per bio for the request */
	unsigned int alignmask;		/* of the cipher, for the IV */
	struct mutex key_lock;
	char *key_desc;			/* description, without the prefix;
					 * changed under key_lock
					 */
	/* Serializes key messages against suspend and resume. */
	struct mutex state_lock;

	spinlock_t reason_lock;		/* protects reason, state bits setting */
	char reason[AURORA_DM_REASON_MAX];

	struct delayed_work watch;	/* key state polling, terminal wipe */
	struct workqueue_struct *wq;	/* read decryption, punted writes */
	struct workqueue_struct *helper_wq; /* helpers of shared bios, per CPU */
	struct workqueue_struct *large_wq; /* parts of large bios, unbound */
	struct workqueue_struct *async_wq; /* handed-off bios; NULL on 1 CPU */
	unsigned int nr_parts;		/* participants per bio, >= 1 */
	unsigned int part_size;		/* bytes per struct aurora_part */
	struct bio_set bs;		/* write bounce bios */
	mempool_t page_pool;		/* write bounce pages */
	struct mutex bio_alloc_lock;	/* serializes blocking page allocation */

	struct aurora_stats __percpu *stats;
	struct aurora_pcpu __percpu *pcpu;
};

/*
 * One context working on the crypto of a bio: for a small bio the task that
 * converts it (part 0) and the helper that shares it (part 1, on
 * helper_wq); for a large bio every part is a worker on large_wq.  Each has
 * its own request.
 */
struct aurora_part {
	struct aurora_io *io;
	struct work_struct work;	/* workers and helpers only */
	/*
	 * must be last: crypto_skcipher_reqsize() bytes of context follow,
	 * then the 16-byte IV aligned to the cipher's alignmask
	 * (aurora_part_iv())
	 */
	struct skcipher_request req;
};

#define AURORA_IV_SIZE	16

/*
 * Per-bio data (ti->per_io_data_size), followed at AURORA_IO_SIZE by
 * ac->nr_parts struct aurora_part of ac->part_size bytes each.
 */
struct aurora_io {
	struct aurora_c *ac;
	struct bio *bio;		/* the bio dm gave to map() */
	struct bio *clone;		/* write: the bounce bio */
	sector_t sector;		/* target-relative, 512-byte sectors */
	struct bvec_iter iter;		/* data of a read, saved at map time */
	struct bvec_iter iter_out;	/* data of the bounce bio of a write */
	bio_end_io_t *orig_end_io;
	void *orig_private;
	struct work_struct work;	/* read from atomic context, punted or
					 * handed-off bio
					 */
	int handoff_cpu;		/* CPU it was handed off from, or -1 */
	unsigned int chunk_bytes;	/* bytes per chunk */
	unsigned int nr_chunks;		/* chunk_bytes each, last shorter */
	atomic_t next_chunk;		/* next chunk to claim */
	atomic_t parts;			/* participants still working */
	blk_status_t status;		/* first error of any chunk */
	bool terminal;			/* a chunk found the target out of
					 * service (inaccessible or terminal)
					 */
	bool shared;			/* a small bio cut for a helper */
};

#define AURORA_IO_SIZE	ALIGN(sizeof(struct aurora_io), ARCH_KMALLOC_MINALIGN)

/* dm-aurora-target.c */
int aurora_parse_opts(struct aurora_c *ac, struct dm_arg_set *as);

/* dm-aurora-crypt.c */
int aurora_map(struct dm_target *ti, struct bio *bio);
void aurora_count_terminal(struct aurora_c *ac);
int aurora_page_pool_init(struct aurora_c *ac);

/* dm-aurora-key.c */
int aurora_key_parse(const char *ref, const char **desc, char **error);
struct crypto_skcipher *aurora_alloc_tfm(void);
int aurora_key_load(struct aurora_c *ac, const char *desc, char **error);
void aurora_key_wipe(struct aurora_c *ac, bool put);
void aurora_go_terminal(struct aurora_c *ac, const char *reason);
void aurora_set_terminal(struct aurora_c *ac, const char *reason);
void aurora_go_inaccessible(struct aurora_c *ac, const char *reason);
bool aurora_set_inaccessible(struct aurora_c *ac, const char *reason);
void aurora_finish_inaccessible(struct aurora_c *ac, bool force);
bool aurora_key_recover(struct aurora_c *ac);
bool aurora_key_check(struct aurora_c *ac);
void aurora_watch_fn(struct work_struct *work);
void aurora_sanitize_reason(char *dst, const char *src);

/*
 * The plain64 IV number of the data unit at @sector (512-byte sectors from
 * the target start, plus iv_offset): with iv_large_sectors, counted in data
 * units of 2^@shift sectors.  As dm-crypt's plain64.
 */
static inline u64 aurora_iv_plain64(u64 sector, bool large, unsigned int shift)
{
	return large ? sector >> shift : sector;
}

static inline bool aurora_is_terminal(struct aurora_c *ac)
{
	return test_bit(AURORA_TERMINAL, &ac->flags);
}

static inline bool aurora_is_inaccessible(struct aurora_c *ac)
{
	return test_bit(AURORA_INACCESSIBLE, &ac->flags);
}

/* Inaccessible or terminal: every new bio fails with EIO. */
static inline bool aurora_out_of_service(struct aurora_c *ac)
{
	return aurora_is_terminal(ac) || aurora_is_inaccessible(ac);
}

#endif /* DM_AURORA_H */
