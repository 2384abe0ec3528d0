// SPDX-License-Identifier: GPL-2.0
/*
 * dm-aurora: data path.
 *
 * Reads are remapped in map() and decrypted in place once the lower device
 * completes them.  A small read found alone in flight (aurora_alone()) is
 * decrypted right in its completion, which may be atomic (a softirq, an
 * RCU read section), so without sleeping: no
 * CRYPTO_TFM_REQ_MAY_SLEEP, no waiting for an asynchronous cipher
 * (aurora_read_inline()).  From a hard interrupt or with no_read_inline it
 * is decrypted on the CPU that completed it (local_wq: no wakeup of another
 * CPU, which is what a task that waits for each read wants).  The other
 * reads go to the unbound workqueue, so that the reads of a deep queue are
 * decrypted on every CPU, but for one that its own submitter completes (the
 * lower device completes inside submit_bio()) while the target's threads
 * have help_depth bios or more waiting: the submitter decrypts that one
 * itself, as the lone read (the submitter helps, aurora_help()).
 *
 * Writes get a bounce bio in map(), whose pages come from a mempool, and
 * are encrypted into it; the original bio completes from the bounce bio's
 * end_io.  A write is encrypted right in map(), by its submitter, when it
 * is found alone in flight (aurora_alone(): a task that waits for each
 * write gets no workqueue hop) or while the target's threads have
 * help_depth bios or more waiting (the submitter helps), and
 * write_workqueue is not set; otherwise on the workqueue, so that the
 * writes of a deep queue are encrypted on every CPU.  Writes encrypted on
 * the workqueue finish in any order; those that were mapped behind other
 * writes (helped ones too) go through one writer thread that submits them
 * in batches, sorted by sector, under a plug, as dm-crypt's, and one that
 * was alone (a probe) is submitted by its worker.  A bio larger than
 * AURORA_CHUNK_BYTES is converted in chunks by several workers at once
 * (aurora_crypt_large()).
 *
 * Workers never allocate and never wait for one another: everything a
 * write needs is allocated in map(), so a worker always finishes and the
 * writes waiting in the reserve (aurora_alloc_clone()) always get pages
 * back.  Each worker has one skcipher request (in the per-bio data), reused
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
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/rbtree.h>
#include <linux/scatterlist.h>

#include "dm-aurora.h"

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
 * Point the request of @p at the data unit at @iter_in of @in (the output
 * at @iter_out of @out) with the IV of @sector.  The scatterlists and the
 * IV are in @p, so that they outlive an asynchronous request.  Returns
 * false for a data unit that spans segments.
 */
static bool aurora_unit_setup(struct aurora_part *p, struct bio *in,
			      struct bvec_iter iter_in, struct bio *out,
			      struct bvec_iter iter_out, u64 sector)
{
	struct aurora_c *ac = p->io->ac;
	struct bio_vec bv_in = bio_iter_iovec(in, iter_in);
	struct bio_vec bv_out = bio_iter_iovec(out, iter_out);
	unsigned int ss = ac->sector_size;
	__le64 *iv = aurora_part_iv(p);

	/* A data unit must not span segments (as in dm-crypt). */
	if (unlikely(bv_in.bv_len < ss || bv_out.bv_len < ss))
		return false;
	sg_init_table(&p->sg_in, 1);
	sg_init_table(&p->sg_out, 1);
	sg_set_page(&p->sg_in, bv_in.bv_page, ss, bv_in.bv_offset);
	sg_set_page(&p->sg_out, bv_out.bv_page, ss, bv_out.bv_offset);
	iv[0] = cpu_to_le64(aurora_iv_plain64(sector,
					      test_bit(AURORA_IV_LARGE, &ac->flags),
					      ac->sector_shift));
	iv[1] = 0;
	skcipher_request_set_crypt(&p->req, &p->sg_in, &p->sg_out, ss, iv);
	return true;
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
	bool enc = io->clone;
	u64 sector = io->sector + ac->iv_offset + (skip >> SECTOR_SHIFT);
	struct crypto_skcipher *tfm;
	blk_status_t sts = BLK_STS_OK;
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

	while (iter_in.bi_size) {
		if (unlikely(!aurora_unit_setup(p, in, iter_in, out, iter_out,
						sector))) {
			sts = BLK_STS_IOERR;
			break;
		}
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
 * Task context.
 */
static void aurora_part_run(struct aurora_part *p)
{
	struct aurora_io *io = p->io;
	bool used = false;
	blk_status_t sts;
	unsigned int k;

	while (!READ_ONCE(io->status)) {
		k = atomic_inc_return(&io->next_chunk) - 1;
		if (k >= io->nr_chunks)
			break;
		used = true;
		sts = aurora_convert_chunk(p, k);
		if (unlikely(sts))
			cmpxchg(&io->status, BLK_STS_OK, sts);
		cond_resched();
	}
	/* The request context may hold key-derived state: do not keep it. */
	if (used)
		memzero_explicit(p->req.__ctx, io->ac->reqsize);
}

static void aurora_io_done(struct aurora_io *io);

/* Drop a participant of @io; the last one completes it. */
static void aurora_parts_put(struct aurora_io *io)
{
	if (atomic_dec_and_test(&io->parts))
		aurora_io_done(io);
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

static void aurora_part_work(struct work_struct *work)
{
	struct aurora_part *p = container_of(work, struct aurora_part, work);

	aurora_part_run(p);
	aurora_parts_put(p->io);
}

/*
 * A bio larger than AURORA_CHUNK_BYTES: queue one part per online CPU (at
 * most AURORA_MAX_PARTS), whose workers claim its chunks until none is
 * left; the last to finish completes the bio.  The caller goes on at once.
 * Any context.  Returns false, having done nothing, for a smaller bio or
 * with one CPU.
 */
static bool aurora_crypt_large(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	struct aurora_part *p;
	unsigned int n, i;

	if (io->iter.bi_size <= AURORA_CHUNK_BYTES || ac->nr_parts < 2 ||
	    num_online_cpus() < 2)
		return false;

	n = min3(ac->nr_parts, num_online_cpus(),
		 DIV_ROUND_UP(io->iter.bi_size, AURORA_CHUNK_BYTES));
	aurora_chunks_init(io, AURORA_CHUNK_BYTES, n);
	/* No part can complete the bio before the last has been queued. */
	for (i = 0; i < n; i++) {
		p = aurora_part(io, i);
		p->io = io;
		INIT_WORK(&p->work, aurora_part_work);
		queue_work(ac->wq, &p->work);
	}
	return true;
}

/* Convert all of @io in the current context, then complete it.  Task. */
static void aurora_crypt(struct aurora_io *io)
{
	struct aurora_part *p = aurora_part(io, 0);

	aurora_chunks_init(io, AURORA_CHUNK_BYTES, 1);
	p->io = io;
	aurora_part_run(p);
	aurora_parts_put(io);
}

/* A read completed, or a write queued: convert it on a worker. */
static void aurora_crypt_work(struct work_struct *work)
{
	struct aurora_io *io = container_of(work, struct aurora_io, work);
	struct aurora_c *ac = io->ac;

	aurora_crypt(io);
	/* @io may be gone; @ac outlives every work item (dtr). */
	atomic_dec(&ac->backlog);
}

/* Convert @io, whole, on a worker of @wq. */
static void aurora_queue_io(struct aurora_io *io, struct workqueue_struct *wq)
{
	atomic_inc(&io->ac->backlog);
	INIT_WORK(&io->work, aurora_crypt_work);
	queue_work(wq, &io->work);
}

/*
 * Whether the submitter helps: the target's threads already have
 * AURORA_HELP_PER_CPU bios per online CPU waiting for them, to convert or,
 * for the writer thread, to submit.  The writes waiting for the writer
 * count: left out, the submitters of a deep write queue encrypted and
 * queued for the writer while the workers idled (performance.md, 1.8.1).
 */
static bool aurora_help(struct aurora_c *ac)
{
	return atomic_read(&ac->backlog) >= ac->help_depth;
}

/* Convert @io on the workqueue (one worker, or several for a large bio). */
static void aurora_queue_crypt(struct aurora_io *io)
{
	if (aurora_crypt_large(io))
		return;
	aurora_queue_io(io, io->ac->wq);
}

/*
 * Whether an I/O of the target found alone in flight (@in_flight is 1) is
 * converted where it is (true), or on the workqueue.  @lone counts the I/O
 * in a row found alone.  The first of them is queued: after a deep queue
 * that drained, one lone I/O is no evidence that the submitter waits for
 * each.  So are the probes, the 2nd, 4th, 8th, ... and then every
 * AURORA_PROBE_MAX-th: a submitter that waits for each I/O pays for a
 * workqueue hop ever more rarely, one that had more to give submits while
 * the probe is in flight, and the next I/O is not alone.
 */
bool aurora_alone(int in_flight, atomic_t *lone)
{
	unsigned int n;

	BUILD_BUG_ON(!is_power_of_2(AURORA_PROBE_MAX));
	if (in_flight != 1) {
		if (atomic_read(lone))
			atomic_set(lone, 0);
		return false;
	}
	n = atomic_inc_return(lone);
	if (n <= AURORA_PROBE_MAX)
		return !is_power_of_2(n);
	return n % AURORA_PROBE_MAX;
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
	atomic_dec(&io->ac->reads_in_flight);
	bio_endio(bio);
}

/* Step @io, a read, past the data unit it starts with. */
static void aurora_read_step(struct aurora_io *io)
{
	unsigned int ss = io->ac->sector_size;

	bio_advance_iter_single(io->bio, &io->iter, ss);
	io->iter_out = io->iter;
	io->sector += ss >> SECTOR_SHIFT;
}

/*
 * A read whose inline decryption stopped at a data unit (the cipher took it
 * asynchronously, or refused it): end the inline SRCU read section and
 * convert the rest here, on a worker, which may wait for the cipher.
 */
static void aurora_read_resume(struct work_struct *work)
{
	struct aurora_io *io = container_of(work, struct aurora_io, work);
	struct aurora_c *ac = io->ac;

	srcu_up_read(&ac->srcu, io->srcu_idx);
	memzero_explicit(aurora_part(io, 0)->req.__ctx, ac->reqsize);
	if (unlikely(io->status)) {
		aurora_parts_put(io);
		return;
	}
	aurora_crypt(io);
}

/*
 * The cipher finished a data unit it took asynchronously during inline
 * decryption.  Any context: record, step past the unit, continue on a
 * worker.
 */
static void aurora_read_async_done(aurora_crypto_cb_arg_t *arg, int err)
{
	struct aurora_part *p = aurora_crypto_cb_data(arg);
	struct aurora_io *io = p->io;

	/* Leaving the backlog: not with the flags aurora_read_inline() uses. */
	if (err == -EINPROGRESS)
		return;
	if (unlikely(err))
		io->status = BLK_STS_IOERR;
	else
		aurora_read_step(io);
	INIT_WORK(&io->work, aurora_read_resume);
	queue_work(io->ac->wq, &io->work);
}

/*
 * Decrypt a small read in the context that completed it: a task or a
 * softirq, perhaps inside an RCU read section or with preemption off, so
 * nothing here sleeps: no CRYPTO_TFM_REQ_MAY_SLEEP, no waiting for an
 * asynchronous cipher, no cond_resched(), as dm-crypt's no_read_workqueue.
 * A data unit the cipher takes asynchronously continues from its callback,
 * one it refuses (its queue is full) on a worker.  The cipher is protected
 * by an SRCU read section that the worker may end: srcu_down_read().
 */
static void aurora_read_inline(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	struct aurora_part *p = aurora_part(io, 0);
	struct skcipher_request *req = &p->req;
	struct crypto_skcipher *tfm;
	int r;

	aurora_chunks_init(io, AURORA_CHUNK_BYTES, 1);
	p->io = io;
	io->srcu_idx = srcu_down_read(&ac->srcu);
	/* Held, though lockdep does not track srcu_down_read(). */
	tfm = srcu_dereference_check(ac->tfm, &ac->srcu, true);
	if (unlikely(!tfm || aurora_out_of_service(ac))) {
		if (aurora_out_of_service(ac))
			io->terminal = true;
		io->status = BLK_STS_IOERR;
		goto done;
	}

	skcipher_request_set_tfm(req, tfm);
	skcipher_request_set_callback(req, 0, aurora_read_async_done, p);

	while (io->iter.bi_size) {
		if (unlikely(!aurora_unit_setup(p, io->bio, io->iter, io->bio,
						io->iter,
						io->sector + ac->iv_offset))) {
			io->status = BLK_STS_IOERR;
			break;
		}
		r = crypto_skcipher_decrypt(req);
		if (r == -EINPROGRESS)
			return;		/* aurora_read_async_done() goes on */
		if (unlikely(r)) {
			/* Queue full or failed: the worker retries, waiting. */
			INIT_WORK(&io->work, aurora_read_resume);
			queue_work(ac->wq, &io->work);
			return;
		}
		aurora_read_step(io);
	}

done:
	srcu_up_read(&ac->srcu, io->srcu_idx);
	memzero_explicit(req->__ctx, ac->reqsize);
	aurora_parts_put(io);
}

/*
 * Whether a read may be decrypted in its completion: not in a hard
 * interrupt (the cipher's skcipher walk refuses those), not with interrupts
 * off (as dm-crypt tests), not with no_read_inline.
 */
static bool aurora_read_may_inline(struct aurora_c *ac)
{
	return !in_hardirq() && !irqs_disabled() &&
	       !test_bit(AURORA_NO_READ_INLINE, &ac->flags);
}

static void aurora_read_end_io(struct bio *bio)
{
	struct aurora_io *io = bio->bi_private;
	struct aurora_c *ac = io->ac;

	if (unlikely(bio->bi_status)) {
		aurora_read_done(io, bio->bi_status);
		return;
	}
	if (aurora_crypt_large(io))
		return;
	if (!aurora_alone(atomic_read(&ac->reads_in_flight),
			  &ac->lone_reads)) {
		/*
		 * A deep queue completed by its own submitter (the lower
		 * device completes inside submit_bio()): the submitter helps
		 * once the target's threads have their share.
		 */
		if (in_task() && io->submitter == current && aurora_help(ac) &&
		    aurora_read_may_inline(ac)) {
			aurora_read_inline(io);
			return;
		}
		/* The reads of a deep queue, and the probes: on every CPU. */
		aurora_queue_io(io, ac->wq);
		return;
	}
	/* The only read in flight: right here, or on this CPU's worker. */
	if (aurora_read_may_inline(ac)) {
		aurora_read_inline(io);
		return;
	}
	aurora_queue_io(io, ac->local_wq);
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
 * pages as the writes in flight complete (as dm-crypt does).  Only from
 * map(): no worker ever waits here.
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

/* The bounce bio of @io is done with: the original bio completes. */
static void aurora_write_done(struct aurora_io *io, blk_status_t sts)
{
	struct aurora_c *ac = io->ac;
	struct bio *bio = io->bio;

	aurora_free_pages(ac, io->clone);
	bio_put(io->clone);
	if (!sts)
		this_cpu_inc(ac->stats->writes);
	atomic_dec(&ac->writes_in_flight);
	bio->bi_status = sts;
	bio_endio(bio);
}

static void aurora_write_end_io(struct bio *clone)
{
	aurora_write_done(clone->bi_private, clone->bi_status);
}

/*
 * Insert @io into @tree by the sector of its bounce bio, after the ios
 * already there with the same sector.  Returns whether @tree was empty.
 * The caller holds whatever protects @tree.
 */
bool aurora_write_tree_add(struct rb_root *tree, struct aurora_io *io)
{
	sector_t sector = io->clone->bi_iter.bi_sector;
	struct rb_node **link = &tree->rb_node, *parent = NULL;
	bool first = RB_EMPTY_ROOT(tree);

	while (*link) {
		parent = *link;
		/* Equal sectors after the ones already there. */
		if (sector < rb_entry(parent, struct aurora_io,
				      rb_node)->clone->bi_iter.bi_sector)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&io->rb_node, parent, link);
	rb_insert_color(&io->rb_node, tree);
	return first;
}

/*
 * Take the io with the lowest sector out of @batch (of equal sectors, the
 * one inserted first); NULL when @batch is empty.
 */
struct aurora_io *aurora_write_tree_pop(struct rb_root *batch)
{
	struct rb_node *node = rb_first(batch);

	if (!node)
		return NULL;
	rb_erase(node, batch);
	return rb_entry(node, struct aurora_io, rb_node);
}

/*
 * The writer thread: takes every write waiting in the tree at once and
 * submits them in sector order, under a plug.
 */
static int aurora_writer(void *data)
{
	struct aurora_c *ac = data;
	struct rb_root batch;
	struct blk_plug plug;
	struct aurora_io *io;

	for (;;) {
		spin_lock_irq(&ac->write_lock);
		while (RB_EMPTY_ROOT(&ac->write_tree)) {
			set_current_state(TASK_IDLE);
			spin_unlock_irq(&ac->write_lock);
			if (kthread_should_stop()) {
				__set_current_state(TASK_RUNNING);
				return 0;
			}
			schedule();
			spin_lock_irq(&ac->write_lock);
		}
		batch = ac->write_tree;
		ac->write_tree = RB_ROOT;
		spin_unlock_irq(&ac->write_lock);

		blk_start_plug(&plug);
		while ((io = aurora_write_tree_pop(&batch))) {
			atomic_dec(&ac->backlog);
			submit_bio_noacct(io->clone);
			cond_resched();
		}
		blk_finish_plug(&plug);
	}
}

/*
 * Submit the bounce bio of @io: directly when it was alone in flight when
 * mapped (encrypted in map(), or a probe encrypted on the workqueue: no
 * write mapped before it is left to order it against); through the writer
 * thread, in sector order, when it was mapped behind other writes
 * (encrypted on the workqueue, or in map() by a submitter that helps).
 * Through the writer thread, a probe took one more wakeup and its
 * submitter changed CPU after almost every probe, which slowed the writes
 * after it (Documentation/performance.md).  Task context.
 */
static void aurora_submit_write(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	unsigned long flags;
	bool first;

	if (io->lone) {
		submit_bio_noacct(io->clone);
		return;
	}

	atomic_inc(&ac->backlog);
	spin_lock_irqsave(&ac->write_lock, flags);
	/* The writer takes the whole tree: it sleeps only when it is empty. */
	first = aurora_write_tree_add(&ac->write_tree, io);
	spin_unlock_irqrestore(&ac->write_lock, flags);
	if (first)
		wake_up_process(ac->writer);
}

/* Every participant is done: finish the read, or submit the write. */
static void aurora_io_done(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	blk_status_t sts = io->status;

	if (unlikely(io->terminal))
		aurora_count_terminal(ac);

	if (!io->clone) {
		aurora_read_done(io, sts);
		return;
	}
	if (unlikely(sts)) {
		aurora_write_done(io, sts);
		return;
	}
	io->clone->bi_private = io;
	io->clone->bi_end_io = aurora_write_end_io;
	aurora_submit_write(io);
}

/*
 * Map a write: allocate its bounce bio here, in the submitter's context,
 * then encrypt it right away when it is found alone in flight or the
 * target's threads have their share already (aurora_help()), or on the
 * workqueue.
 */
static void aurora_map_write(struct aurora_io *io)
{
	struct aurora_c *ac = io->ac;
	struct bio *bio = io->bio;
	struct bio *clone;
	int in_flight;
	bool alone;

	in_flight = atomic_inc_return(&ac->writes_in_flight);
	alone = aurora_alone(in_flight, &ac->lone_writes);
	io->lone = in_flight == 1;
	clone = aurora_alloc_clone(io, bio->bi_iter.bi_size);
	clone->bi_iter.bi_sector = ac->start + io->sector;
	clone->bi_ioprio = bio->bi_ioprio;
	io->clone = clone;
	io->iter = bio->bi_iter;
	io->iter_out = clone->bi_iter;

	if (!test_bit(AURORA_WRITE_WQ, &ac->flags) &&
	    io->iter.bi_size <= AURORA_CHUNK_BYTES &&
	    (alone || aurora_help(ac)))
		aurora_crypt(io);
	else
		aurora_queue_crypt(io);
}

/* ---- the writer thread ---- */

int aurora_writer_start(struct aurora_c *ac)
{
	struct task_struct *t;

	spin_lock_init(&ac->write_lock);
	ac->write_tree = RB_ROOT;
	t = kthread_run(aurora_writer, ac, "kaurora_write/%s",
			dm_table_device_name(ac->ti->table));
	if (IS_ERR(t))
		return PTR_ERR(t);
	ac->writer = t;
	return 0;
}

/* Only with no write in flight (the target's dtr or ctr failure). */
void aurora_writer_stop(struct aurora_c *ac)
{
	kthread_stop(ac->writer);
}

/* ---- map ---- */

int aurora_map(struct dm_target *ti, struct bio *bio)
{
	struct aurora_c *ac = ti->private;
	unsigned int ss_mask = (ac->sector_size >> SECTOR_SHIFT) - 1;
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

	if (unlikely(!bio->bi_iter.bi_size)) {
		bio_set_dev(bio, ac->dev->bdev);
		bio->bi_iter.bi_sector = ac->start + io->sector;
		return DM_MAPIO_REMAPPED;
	}

	if (bio_data_dir(bio) == READ) {
		atomic_inc(&ac->reads_in_flight);
		io->orig_end_io = bio->bi_end_io;
		io->orig_private = bio->bi_private;
		io->submitter = current;
		bio->bi_end_io = aurora_read_end_io;
		bio->bi_private = io;
		bio_set_dev(bio, ac->dev->bdev);
		bio->bi_iter.bi_sector = ac->start + io->sector;
		io->iter = bio->bi_iter;
		io->iter_out = bio->bi_iter;
		return DM_MAPIO_REMAPPED;
	}

	aurora_map_write(io);
	return DM_MAPIO_SUBMITTED;
}
