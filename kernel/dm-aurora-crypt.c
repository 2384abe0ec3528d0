// SPDX-License-Identifier: GPL-2.0
/*
 * dm-aurora: data path.
 *
 * Reads are remapped in map() and decrypted in place on the target's
 * workqueue once the lower device completes them: a completion may run in
 * any context, atomic ones included, so it only queues work.  Writes are
 * encrypted in map() (or on the unbound workqueue with write_workqueue) into
 * a bounce bio whose pages come from a mempool, and the original bio
 * completes from the bounce bio's end_io.  A bio larger than
 * AURORA_CHUNK_BYTES is converted in chunks by workers on every CPU while the
 * context that had it goes on (aurora_crypt_large()).  A smaller write whose
 * submitter does not wait for it is handed off to another CPU instead
 * (aurora_hand_off()); one whose submitter waits for it is converted by the
 * submitter, and a read by the worker, sharing its chunks
 * with a helper on a CPU that is not converting anything for dm-aurora.
 * Each participant has one skcipher request (in the per-bio data), reused
 * for every data unit it converts.  Requests never carry
 * CRYPTO_TFM_REQ_MAY_SLEEP (as dm-crypt's): map() runs with I/O in flight
 * and must not enter reclaim through the cipher.
 *
 * The IV is plain64, as dm-crypt's aes-xts-plain64: the little-endian 64-bit
 * number of the data unit's first 512-byte sector relative to the target
 * start, plus iv_offset; with iv_large_sectors that sum is shifted right to
 * count data units instead.
 */

#include <linux/blkdev.h>
#include <linux/preempt.h>
#include <linux/scatterlist.h>

#include "dm-aurora.h"

/*
 * Test knob: the path every small bio takes, so that the test suite can run
 * each path whatever the scheduling.  0: chosen per bio as described above;
 * 1: converted by the context that has it, alone; 2: shared with a helper on
 * another CPU, busy or not; 3: handed off to another CPU.  Only with more
 * than one online CPU; bios larger than AURORA_CHUNK_BYTES always take the
 * large-bio path.
 */
static unsigned int force_path;
module_param(force_path, uint, 0644);
MODULE_PARM_DESC(force_path,
		 "test: path of small bios (0 auto, 1 inline, 2 shared, 3 handed off)");

enum aurora_path {
	AURORA_PATH_AUTO,
	AURORA_PATH_INLINE,
	AURORA_PATH_SHARE,
	AURORA_PATH_HANDOFF,
};

void aurora_count_terminal(struct aurora_c *ac)
{
	this_cpu_inc(ac->stats->terminal_eio);
}

static struct aurora_part *aurora_part(struct aurora_io *io, unsigned int i)
{
	return (void *)((char *)io + AURORA_IO_SIZE + i * io->ac->part_size);
}

/* The IV of @p: after the request context, aligned for the cipher. */
static __le64 *aurora_part_iv(struct aurora_part *p)
{
	struct aurora_c *ac = p->io->ac;

	return PTR_ALIGN((void *)((char *)(&p->req + 1) + ac->reqsize),
			 ac->alignmask + 1);
}

/*
 * Encrypt (@enc) or decrypt the data units of chunk @k of @io with the
 * request of @p.  Task context only (map() or a worker): may sleep waiting
 * for an asynchronous cipher.  The SRCU read section that protects the
 * cipher against the wipe on leaving service begins and ends here, in the
 * caller's context.
 */
static blk_status_t aurora_convert_chunk(struct aurora_part *p, unsigned int k)
{
	struct aurora_io *io = p->io;
	struct aurora_c *ac = io->ac;
	struct skcipher_request *req = &p->req;
	struct bio *in = io->bio;
	struct bio *out = io->clone ? io->clone : io->bio;
	struct bvec_iter iter_in = io->iter, iter_out = io->iter_out;
	unsigned int ss = ac->sector_size;
	unsigned int skip = k * io->chunk_bytes;
	bool large = test_bit(AURORA_IV_LARGE, &ac->flags);
	bool enc = io->clone;
	u64 sector = io->sector + ac->iv_offset + (skip >> SECTOR_SHIFT);
	struct scatterlist sg_in, sg_out;
	struct crypto_skcipher *tfm;
	blk_status_t sts = BLK_STS_OK;
	__le64 *iv = aurora_part_iv(p);
	DECLARE_CRYPTO_WAIT(wait);
	int idx, r;

	if (skip) {
		bio_advance_iter(in, &iter_in, skip);
		bio_advance_iter(out, &iter_out, skip);
	}
	iter_in.bi_size = min(iter_in.bi_size, io->chunk_bytes);
	iter_out.bi_size = iter_in.bi_size;

	idx = srcu_read_lock(&ac->srcu);
	tfm = srcu_dereference(ac->tfm, &ac->srcu);
	if (unlikely(!tfm || aurora_out_of_service(ac))) {
		if (aurora_out_of_service(ac))
			WRITE_ONCE(io->terminal, true);
		sts = BLK_STS_IOERR;
		goto unlock;
	}

	skcipher_request_set_tfm(req, tfm);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_BACKLOG,
				      crypto_req_done, &wait);
	sg_init_table(&sg_in, 1);
	sg_init_table(&sg_out, 1);

	while (iter_in.bi_size) {
		struct bio_vec bv_in = bio_iter_iovec(in, iter_in);
		struct bio_vec bv_out = bio_iter_iovec(out, iter_out);

		/* A data unit must not span segments (as in dm-crypt). */
		if (unlikely(bv_in.bv_len < ss || bv_out.bv_len < ss)) {
			sts = BLK_STS_IOERR;
			break;
		}
		sg_set_page(&sg_in, bv_in.bv_page, ss, bv_in.bv_offset);
		sg_set_page(&sg_out, bv_out.bv_page, ss, bv_out.bv_offset);

		iv[0] = cpu_to_le64(aurora_iv_plain64(sector, large,
						      ac->sector_shift));
		iv[1] = 0;
		skcipher_request_set_crypt(req, &sg_in, &sg_out, ss, iv);
		r = enc ? crypto_skcipher_encrypt(req) :
			  crypto_skcipher_decrypt(req);
		r = crypto_wait_req(r, &wait);
		if (unlikely(r)) {
			sts = BLK_STS_IOERR;
			break;
		}

		bio_advance_iter_single(in, &iter_in, ss);
		bio_advance_iter_single(out, &iter_out, ss);
		sector += ss >> SECTOR_SHIFT;
	}

unlock:
	srcu_read_unlock(&ac->srcu, idx);
	return sts;
}

/*
 * Claim and convert chunks of the bio until none is left or one failed.
 * Returns the number of chunks @p converted.
 */
static unsigned int aurora_part_run(struct aurora_part *p)
{
	struct aurora_io *io = p->io;
	unsigned int k, used = 0;
	blk_status_t sts;

	while (!READ_ONCE(io->status)) {
		k = atomic_inc_return(&io->next_chunk) - 1;
		if (k >= io->nr_chunks)
			break;
		used++;
		sts = aurora_convert_chunk(p, k);
		if (unlikely(sts))
			cmpxchg(&io->status, BLK_STS_OK, sts);
		/* A large bio takes a while where the cipher is slow. */
		if (!io->shared)
			cond_resched();
	}
	/* The request context may hold key-derived state: do not keep it. */
	if (used)
		memzero_explicit(p->req.__ctx, io->ac->reqsize);
	return used;
}

static void aurora_io_done(struct aurora_io *io);

/* The online CPU after @cpu, wrapping around. */
static int aurora_next_online_cpu(int cpu)
{
	cpu = cpumask_next(cpu, cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : cpumask_first(cpu_online_mask);
}

/*
 * An online CPU other than @cpu, the next after the last one @pc used,
 * wrapping around; with @idle, only one on which no bio of this target is
 * being converted.  -1 if there is none.
 */
static int aurora_other_cpu(struct aurora_c *ac, struct aurora_pcpu *pc,
			    int cpu, bool idle)
{
	unsigned int i, n = num_online_cpus();
	int to = READ_ONCE(pc->last_cpu);

	for (i = 0; i < n; i++) {
		to = aurora_next_online_cpu(to);
		if (to == cpu || to >= nr_cpu_ids)
			continue;
		if (idle &&
		    atomic_read(&per_cpu_ptr(ac->pcpu, to)->converting))
			continue;
		WRITE_ONCE(pc->last_cpu, to);
		return to;
	}
	return -1;
}

/* Drop @nr participants of @io; the last one completes it. */
static void aurora_parts_put(struct aurora_io *io, int nr)
{
	if (atomic_sub_and_test(nr, &io->parts))
		aurora_io_done(io);
}

static void aurora_helper_work(struct work_struct *work)
{
	struct aurora_part *p = container_of(work, struct aurora_part, work);
	struct aurora_io *io = p->io;

	if (aurora_part_run(p) && io->shared)
		this_cpu_inc(io->ac->stats->shared);
	aurora_parts_put(io, 1);
}

/*
 * Whether a bio handled on the CPU of @pc may be shared with a helper now
 * (see AURORA_SHARE_CHUNKS).
 */
static bool aurora_share_due(struct aurora_pcpu *pc)
{
	return READ_ONCE(pc->share_misses) < AURORA_SHARE_MISSES ||
	       time_after_eq(jiffies, READ_ONCE(pc->next_share));
}

/* A bio shared from the CPU of @pc is done: did its helper take part? */
static void aurora_share_result(struct aurora_pcpu *pc, bool helped)
{
	unsigned int misses = READ_ONCE(pc->share_misses);

	if (helped) {
		WRITE_ONCE(pc->share_misses, 0);
		return;
	}
	if (misses < AURORA_SHARE_MISSES)
		WRITE_ONCE(pc->share_misses, ++misses);
	if (misses >= AURORA_SHARE_MISSES)
		WRITE_ONCE(pc->next_share, jiffies + AURORA_SHARE_RETRY);
}

/* Set up @io to be converted in chunks of @chunk_bytes by @parts parts. */
static void aurora_chunks_init(struct aurora_io *io, unsigned int chunk_bytes,
			       unsigned int parts)
{
	io->chunk_bytes = chunk_bytes;
	io->nr_chunks = DIV_ROUND_UP(io->iter.bi_size, chunk_bytes);
	atomic_set(&io->next_chunk, 0);
	atomic_set(&io->parts, parts);
	io->status = BLK_STS_OK;
	io->terminal = false;
}

/*
 * A bio larger than AURORA_CHUNK_BYTES: queue one part per online CPU (at
 * most AURORA_MAX_PARTS) to ac->large_wq, whose workers claim its chunks
 * until none is left; the last to finish completes the bio.  The caller
 * goes on at once: a submitter to its next bio, whose device I/O and
 * allocation then overlap with this one's crypto, and with several bios in
 * flight every CPU always has chunks to convert.  Any context.  Returns
 * false, having done nothing, for a smaller bio or with one CPU.
 */
static bool aurora_crypt_large(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	unsigned int n, i;
	struct aurora_part *p;

	if (io->iter.bi_size <= AURORA_CHUNK_BYTES || ac->nr_parts < 2 ||
	    num_online_cpus() < 2)
		return false;

	n = min3(ac->nr_parts, num_online_cpus(),
		 DIV_ROUND_UP(io->iter.bi_size, AURORA_CHUNK_BYTES));
	io->shared = false;
	aurora_chunks_init(io, AURORA_CHUNK_BYTES, n);
	/* No part can complete the bio before the last has been queued. */
	for (i = 0; i < n; i++) {
		p = aurora_part(io, i);
		p->io = io;
		INIT_WORK(&p->work, aurora_helper_work);
		queue_work(ac->large_wq, &p->work);
	}
	return true;
}

/*
 * Convert the data of @io (io->iter of io->bio into io->iter_out of the
 * bounce bio for a write, in place for a read), then complete it.  Task
 * context.
 *
 * Only for a bio that aurora_crypt_large() did not take (the callers try
 * it first).  It is converted right here, alone, unless @share (its
 * submitter waits for it) and another CPU is free: then it is cut into
 * AURORA_SHARE_CHUNKS chunks claimed by the submitter and one helper there;
 * whichever finishes last completes the bio.  Whether the helper took part
 * counts towards sharing the next bios (aurora_share_due()).
 */
static void aurora_crypt(struct aurora_io *io, bool share)
{
	struct aurora_c *ac = io->ac;
	unsigned int size = io->iter.bi_size, ss = ac->sector_size;
	int cpu = raw_smp_processor_id(), to = -1;
	struct aurora_pcpu *pc = per_cpu_ptr(ac->pcpu, cpu);
	unsigned int cancelled = 0, done;
	struct aurora_part *p;

	io->shared = false;
	switch (READ_ONCE(force_path)) {
	case AURORA_PATH_INLINE:
		break;
	case AURORA_PATH_SHARE:
		if (share && size > ss && ac->nr_parts > 1)
			to = aurora_other_cpu(ac, pc, cpu, false);
		break;
	default:
		if (share && size > ss && ac->nr_parts > 1 &&
		    aurora_share_due(pc))
			to = aurora_other_cpu(ac, pc, cpu, true);
	}
	if (to >= 0) {
		io->shared = true;
		aurora_chunks_init(io, max(ss, rounddown(size /
							 AURORA_SHARE_CHUNKS,
							 ss)), 2);
	} else {
		aurora_chunks_init(io, AURORA_CHUNK_BYTES, 1);
	}
	atomic_inc(&pc->converting);
	if (io->shared) {
		p = aurora_part(io, 1);
		p->io = io;
		INIT_WORK(&p->work, aurora_helper_work);
		queue_work_on(to, ac->helper_wq, &p->work);
	}

	p = aurora_part(io, 0);
	p->io = io;
	done = aurora_part_run(p);
	if (io->shared) {
		aurora_share_result(pc, done < io->nr_chunks);
		if (cancel_work(&aurora_part(io, 1)->work))
			cancelled++;
	}
	atomic_dec(&pc->converting);
	aurora_parts_put(io, 1 + cancelled);
}

/* ---- hand-off of small bios (see AURORA_PROBE_PERIOD) ---- */

enum aurora_handoff {
	AURORA_HANDED_OFF,	/* queued to another CPU */
	AURORA_INLINE,		/* to convert right away */
	AURORA_INLINE_SHARE,	/* the same, by a submitter that waits for it */
};

/*
 * Queue @io (@size bytes of data) to the async workqueue to run @fn, or
 * tell the caller to convert it right away.  Task context.
 */
static enum aurora_handoff aurora_hand_off(struct aurora_io *io,
					   unsigned int size, work_func_t fn)
{
	struct aurora_c *ac = io->ac;
	int cpu = raw_smp_processor_id();
	unsigned int others = num_online_cpus() - 1;
	struct aurora_pcpu *pc;
	unsigned long now;
	bool probe, same_task;
	int n, to;

	/* Large bios are spread over the CPUs by aurora_crypt_large(). */
	if (!ac->async_wq || !others || size > AURORA_CHUNK_BYTES)
		return AURORA_INLINE;

	pc = per_cpu_ptr(ac->pcpu, cpu);
	switch (READ_ONCE(force_path)) {
	case AURORA_PATH_INLINE:
		return AURORA_INLINE;
	case AURORA_PATH_SHARE:
		return AURORA_INLINE_SHARE;
	case AURORA_PATH_HANDOFF:
		probe = false;
		goto queue;
	}
	n = atomic_read(&pc->handed_off);
	same_task = READ_ONCE(pc->task) == current;
	probe = !n && (!same_task || READ_ONCE(pc->nvcsw) != current->nvcsw);
	if (probe) {
		/* The long period only after a probe of this task that ended
		 * its hand-offs: it waited for its bio.
		 */
		now = jiffies;
		if (time_before(now, READ_ONCE(pc->last_probe) +
				(same_task && READ_ONCE(pc->probe_only) ?
				 AURORA_PROBE_PERIOD : AURORA_PROBE_NEW_TASK)))
			return AURORA_INLINE_SHARE;
		WRITE_ONCE(pc->last_probe, now);
	} else if (n >= AURORA_HANDOFF_BACKLOG * others) {
		return AURORA_INLINE;
	}

queue:
	/* The other online CPUs in turn. */
	to = aurora_other_cpu(ac, pc, cpu, false);
	if (to < 0)
		return AURORA_INLINE;
	WRITE_ONCE(pc->task, current);
	WRITE_ONCE(pc->nvcsw, current->nvcsw);
	WRITE_ONCE(pc->probe_only, probe);

	atomic_inc(&pc->handed_off);
	this_cpu_inc(ac->stats->handed_off);
	io->handoff_cpu = cpu;
	INIT_WORK(&io->work, fn);
	queue_work_on(to, ac->async_wq, &io->work);
	return AURORA_HANDED_OFF;
}

/* @io is about to complete: it no longer counts as handed off. */
static void aurora_hand_off_done(struct aurora_io *io)
{
	if (io->handoff_cpu >= 0)
		atomic_dec(&per_cpu_ptr(io->ac->pcpu,
					io->handoff_cpu)->handed_off);
}

/* ---- reads ---- */

static void aurora_read_done(struct aurora_io *io, blk_status_t sts)
{
	struct bio *bio = io->bio;

	bio->bi_end_io = io->orig_end_io;
	bio->bi_private = io->orig_private;
	bio->bi_status = sts;
	if (!sts)
		this_cpu_inc(io->ac->stats->reads);
	aurora_hand_off_done(io);
	bio_endio(bio);
}

/*
 * A read completed in atomic context, or punted, or handed off: only in the
 * last case are the other CPUs known to be busy (see aurora_crypt()).
 */
static void aurora_read_work(struct work_struct *work)
{
	struct aurora_io *io = container_of(work, struct aurora_io, work);

	aurora_crypt(io, io->handoff_cpu < 0);
}

static void aurora_read_end_io(struct bio *bio)
{
	struct aurora_io *io = bio->bi_private;
	struct aurora_c *ac = io->ac;

	if (unlikely(bio->bi_status)) {
		aurora_read_done(io, bio->bi_status);
		return;
	}
	/*
	 * Any context, atomic ones included (preemptible() cannot tell an RCU
	 * read section apart with PREEMPT_RCU): only queue work from here.
	 */
	if (aurora_crypt_large(io))
		return;
	INIT_WORK(&io->work, aurora_read_work);
	queue_work(ac->wq, &io->work);
}

/* ---- writes ---- */

/*
 * Bounce pages allocated by every aurora target (the mempools' reserves
 * included) and the cap on them (AURORA_PAGES_PERCENT of RAM).
 */
static atomic_long_t aurora_pages_allocated = ATOMIC_LONG_INIT(0);

static void *aurora_page_alloc(gfp_t gfp, void *pool_data)
{
	unsigned long cap = totalram_pages() / 100 * AURORA_PAGES_PERCENT;
	struct page *page;

	/*
	 * Over the cap, a caller that may not wait (mempool_alloc()'s first
	 * try is __GFP_NORETRY) takes from the reserve instead.
	 */
	if (unlikely(atomic_long_read(&aurora_pages_allocated) >= cap) &&
	    (gfp & __GFP_NORETRY))
		return NULL;
	page = alloc_page(gfp);
	if (page)
		atomic_long_inc(&aurora_pages_allocated);
	return page;
}

static void aurora_page_free(void *element, void *pool_data)
{
	__free_page(element);
	atomic_long_dec(&aurora_pages_allocated);
}

int aurora_page_pool_init(struct aurora_c *ac)
{
	return mempool_init(&ac->page_pool, AURORA_MIN_POOL_PAGES,
			    aurora_page_alloc, aurora_page_free, NULL);
}

/* Give the pages of a bounce bio back to the mempool.  Any context. */
static void aurora_free_pages(struct aurora_c *ac, struct bio *clone)
{
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, clone, iter_all)
		mempool_free(bv->bv_page, &ac->page_pool);
}

/*
 * Allocate a bounce bio of @size bytes (at most BIO_MAX_VECS pages) with
 * pages from the mempool.  First try without blocking; if that fails, give
 * everything back and retry blocking, one writer at a time (bio_alloc_lock):
 * the reserve holds the largest bounce bio, so that writer gets all its
 * pages as the writes in flight complete (as dm-crypt does).
 */
static struct bio *aurora_alloc_clone(struct aurora_io *io, unsigned int size)
{
	struct aurora_c *ac = io->ac;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	unsigned int i, remaining;
	struct bio *clone;
	struct page *page;

retry:
	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_lock(&ac->bio_alloc_lock);

	clone = bio_alloc_bioset(ac->dev->bdev, nr, io->bio->bi_opf, GFP_NOIO,
				 &ac->bs);
	remaining = size;
	for (i = 0; i < nr; i++) {
		unsigned int len = min_t(unsigned int, remaining, PAGE_SIZE);

		page = mempool_alloc(&ac->page_pool, gfp);
		if (!page) {
			aurora_free_pages(ac, clone);
			bio_put(clone);
			gfp = GFP_NOIO;
			goto retry;
		}
		__bio_add_page(clone, page, len, 0);
		remaining -= len;
	}

	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_unlock(&ac->bio_alloc_lock);
	return clone;
}

static void aurora_write_end_io(struct bio *clone)
{
	struct aurora_io *io = clone->bi_private;
	struct aurora_c *ac = io->ac;
	struct bio *bio = io->bio;
	blk_status_t sts = clone->bi_status;

	aurora_free_pages(ac, clone);
	bio_put(clone);
	if (!sts)
		this_cpu_inc(ac->stats->writes);
	aurora_hand_off_done(io);
	bio->bi_status = sts;
	bio_endio(bio);
}

static void aurora_write(struct aurora_io *io, bool share)
{
	struct aurora_c *ac = io->ac;
	struct bio *bio = io->bio;
	struct bio *clone;

	clone = aurora_alloc_clone(io, bio->bi_iter.bi_size);
	clone->bi_iter.bi_sector = ac->start + io->sector;
	clone->bi_ioprio = bio->bi_ioprio;
	io->clone = clone;
	io->iter = bio->bi_iter;
	io->iter_out = clone->bi_iter;
	if (!aurora_crypt_large(io))
		aurora_crypt(io, share);
}

/* Every participant is done: finish the read, or submit the write. */
static void aurora_io_done(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	struct bio *clone = io->clone;
	struct bio *bio = io->bio;
	blk_status_t sts = io->status;

	if (unlikely(io->terminal))
		aurora_count_terminal(ac);

	if (!clone) {
		aurora_read_done(io, sts);
		return;
	}
	if (unlikely(sts)) {
		aurora_free_pages(ac, clone);
		bio_put(clone);
		aurora_hand_off_done(io);
		bio->bi_status = sts;
		bio_endio(bio);
		return;
	}
	clone->bi_private = io;
	clone->bi_end_io = aurora_write_end_io;
	submit_bio_noacct(clone);
}

/* A write punted or handed off: as aurora_read_work(). */
static void aurora_write_work(struct work_struct *work)
{
	struct aurora_io *io = container_of(work, struct aurora_io, work);

	aurora_write(io, io->handoff_cpu < 0);
}

/* ---- map ---- */

int aurora_map(struct dm_target *ti, struct bio *bio)
{
	struct aurora_c *ac = ti->private;
	unsigned int ss_mask = (ac->sector_size >> SECTOR_SHIFT) - 1;
	enum aurora_handoff h;
	struct aurora_io *io;
	bool gone;
	int idx;

	idx = srcu_read_lock(&ac->srcu);
	gone = aurora_out_of_service(ac) || aurora_key_check(ac);
	srcu_read_unlock(&ac->srcu, idx);
	if (unlikely(gone)) {
		aurora_count_terminal(ac);
		/* let the watch wipe the key and raise the event now */
		if (!aurora_is_terminal(ac) &&
		    !test_bit(AURORA_INACCESSIBLE_DONE, &ac->flags))
			mod_delayed_work(system_wq, &ac->watch, 0);
		return DM_MAPIO_KILL;
	}

	/*
	 * Flushes carry no data (dm core splits flushes with data); allowed
	 * discards are passed through.  Neither needs the cipher.
	 */
	if (unlikely(bio->bi_opf & REQ_PREFLUSH ||
		     bio_op(bio) == REQ_OP_DISCARD)) {
		if (bio_op(bio) == REQ_OP_DISCARD &&
		    !test_bit(AURORA_ALLOW_DISCARDS, &ac->flags))
			return DM_MAPIO_KILL;
		bio_set_dev(bio, ac->dev->bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector = ac->start +
				dm_target_offset(ti, bio->bi_iter.bi_sector);
		return DM_MAPIO_REMAPPED;
	}

	/* Nothing else (write zeroes, secure erase, ...) may reach the disk. */
	if (unlikely(bio_op(bio) != REQ_OP_READ && bio_op(bio) != REQ_OP_WRITE))
		return DM_MAPIO_KILL;

	/* Bound the bounce allocation of a write to BIO_MAX_VECS pages. */
	if (unlikely(bio_data_dir(bio) == WRITE &&
		     bio->bi_iter.bi_size > (BIO_MAX_VECS << PAGE_SHIFT)))
		dm_accept_partial_bio(bio, (BIO_MAX_VECS << PAGE_SHIFT) >>
				      SECTOR_SHIFT);

	/* Whole data units only, as dm-crypt. */
	if (unlikely((dm_target_offset(ti, bio->bi_iter.bi_sector) & ss_mask) ||
		     (bio->bi_iter.bi_size & (ac->sector_size - 1))))
		return DM_MAPIO_KILL;

	io = dm_per_bio_data(bio, ti->per_io_data_size);
	io->ac = ac;
	io->bio = bio;
	io->sector = dm_target_offset(ti, bio->bi_iter.bi_sector);
	io->clone = NULL;
	io->handoff_cpu = -1;

	if (unlikely(!bio->bi_iter.bi_size)) {
		bio_set_dev(bio, ac->dev->bdev);
		bio->bi_iter.bi_sector = ac->start + io->sector;
		return DM_MAPIO_REMAPPED;
	}

	if (bio_data_dir(bio) == READ) {
		io->orig_end_io = bio->bi_end_io;
		io->orig_private = bio->bi_private;
		bio->bi_end_io = aurora_read_end_io;
		bio->bi_private = io;
		bio_set_dev(bio, ac->dev->bdev);
		bio->bi_iter.bi_sector = ac->start + io->sector;
		io->iter = bio->bi_iter;
		io->iter_out = bio->bi_iter;
		return DM_MAPIO_REMAPPED;
	}

	if (likely(in_task() && !test_bit(AURORA_WRITE_WQ, &ac->flags))) {
		h = aurora_hand_off(io, bio->bi_iter.bi_size,
				    aurora_write_work);
		if (h != AURORA_HANDED_OFF)
			aurora_write(io, h == AURORA_INLINE_SHARE);
	} else {
		INIT_WORK(&io->work, aurora_write_work);
		queue_work(ac->wq, &io->work);
	}
	return DM_MAPIO_SUBMITTED;
}
