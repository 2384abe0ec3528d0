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
#include <linux/rbtree.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
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
 * size by several workers at once, while the context that had the bio goes
 * on.  A multiple of every data unit size.
 */
#define AURORA_CHUNK_BYTES	(32 * 1024)
/* At most this many workers convert the chunks of one large bio. */
#define AURORA_MAX_PARTS	4
/*
 * I/O found alone in flight that is converted on the workqueue all the
 * same, a probe: the 2nd, 4th, 8th, ... in a row, then every
 * AURORA_PROBE_MAX-th (aurora_alone()).  A lower device that
 * completes each bio inside submit_bio() (brd, zram) never shows the target
 * a second bio in flight, however deep its submitter's queue; a bio handed
 * off stays in flight while its submitter goes on, so a submitter with more
 * to give shows its depth.  A power of 2.
 */
#define AURORA_PROBE_MAX	1024
/*
 * The submitter helps: a read completed in the task that submitted it (a
 * lower device that completes inside submit_bio(): brd, zram), or a write
 * mapped, while the workers (one per online CPU) have this many bios each
 * to convert, queued or in hand, is converted right there instead of
 * queued.  The submitter's CPU is the one that needs no wakeup, and a
 * submitter busy converting submits no more than the workers can take.
 */
#define AURORA_HELP_PER_CPU	2
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
	AURORA_NO_READ_INLINE,	/* no_read_inline */
	AURORA_WRITE_WQ,	/* write_workqueue */
};

struct aurora_stats {
	u64 reads;		/* read bios completed successfully */
	u64 writes;		/* write bios completed successfully */
	u64 terminal_eio;	/* bios failed: target inaccessible or terminal */
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
	struct workqueue_struct *wq;	/* all encryption and decryption but
					 * that of writes done in map() and of
					 * reads done in their completion or
					 * on local_wq
					 */
	struct workqueue_struct *local_wq; /* a small read alone in flight
					    * that its completion may not
					    * decrypt, on the CPU that
					    * completed it
					    */
	atomic_t reads_in_flight;	/* from map() to completion */
	atomic_t lone_reads;		/* reads in a row completed alone */
	atomic_t backlog;		/* bios waiting for the target's
					 * threads: queued whole on wq or
					 * local_wq until their worker is
					 * done, or in write_tree until the
					 * writer takes them
					 */
	int help_depth;			/* AURORA_HELP_PER_CPU per online CPU */
	unsigned int nr_parts;		/* participants per bio, >= 1 */
	unsigned int part_size;		/* bytes per struct aurora_part */
	struct bio_set bs;		/* write bounce bios */
	mempool_t page_pool;		/* write bounce pages */
	struct mutex bio_alloc_lock;	/* serializes blocking page allocation */
	atomic_t writes_in_flight;	/* from map() to the bounce bio's end */
	atomic_t lone_writes;		/* writes in a row mapped alone */

	/*
	 * Writes encrypted on wq behind other writes, sorted by sector for
	 * the writer thread.
	 */
	struct task_struct *writer;
	spinlock_t write_lock;		/* protects write_tree */
	struct rb_root write_tree;

	struct aurora_stats __percpu *stats;
};

/*
 * One context working on the crypto of a bio: part 0 for a bio converted
 * whole (in map() or by a worker), one worker on wq per part of a large
 * bio.  Each has its own request.
 */
struct aurora_part {
	struct aurora_io *io;
	struct work_struct work;	/* parts of a large bio only */
	struct scatterlist sg_in;	/* the data unit being converted */
	struct scatterlist sg_out;
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
	struct task_struct *submitter;	/* read: the task that mapped it, only
					 * compared with current
					 */
	struct work_struct work;	/* converted whole by a worker */
	struct rb_node rb_node;		/* write: in write_tree */
	bool lone;			/* write: alone in flight when mapped;
					 * if not, submitted through the writer
					 */
	unsigned int chunk_bytes;	/* bytes per chunk */
	unsigned int nr_chunks;		/* chunk_bytes each, last shorter */
	atomic_t next_chunk;		/* next chunk to claim */
	atomic_t parts;			/* participants still working */
	blk_status_t status;		/* first error of any chunk */
	int srcu_idx;			/* read decrypted inline: its
					 * srcu_down_read() section
					 */
	bool terminal;			/* a chunk found the target out of
					 * service (inaccessible or terminal)
					 */
};

#define AURORA_IO_SIZE	ALIGN(sizeof(struct aurora_io), ARCH_KMALLOC_MINALIGN)

/* dm-aurora-target.c */
int aurora_parse_opts(struct aurora_c *ac, struct dm_arg_set *as);

/* dm-aurora-crypt.c */
int aurora_map(struct dm_target *ti, struct bio *bio);
void aurora_count_terminal(struct aurora_c *ac);
int aurora_page_pool_init(struct aurora_c *ac);
int aurora_writer_start(struct aurora_c *ac);
void aurora_writer_stop(struct aurora_c *ac);
bool aurora_alone(int in_flight, atomic_t *lone);
bool aurora_write_tree_add(struct rb_root *tree, struct aurora_io *io);
struct aurora_io *aurora_write_tree_pop(struct rb_root *batch);

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
