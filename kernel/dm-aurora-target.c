// SPDX-License-Identifier: GPL-2.0
/*
 * dm-aurora: a device-mapper target encrypting a block device with
 * AES-256-XTS, keyed from the kernel keyring, that goes inaccessible when its
 * key is revoked (recoverable with key set and resume) and terminal on the
 * "terminal" message.  The on-disk format is dm-crypt's aes-xts-plain64.
 *
 * Table: <cipher> <key> <iv_offset> <device> <offset> [<#opts> <opts>...]
 * See Documentation/dm-aurora.rst.
 */

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "dm-aurora.h"

#define AURORA_MAX_OPTS 5

int aurora_parse_opts(struct aurora_c *ac, struct dm_arg_set *as)
{
	static const struct dm_arg _args[] = {
		{0, AURORA_MAX_OPTS, "Invalid number of optional parameters"},
	};
	static const char ss_opt[] = AURORA_DM_OPT_SECTOR_SIZE;
	struct dm_target *ti = ac->ti;
	bool seen_ss = false;
	unsigned int nr_opts, val;
	const char *opt;
	int bit, r;

	if (!as->argc)
		return 0;

	r = dm_read_arg_group(_args, as, &nr_opts, &ti->error);
	if (r)
		return r;

	while (nr_opts--) {
		opt = dm_shift_arg(as);
		if (!strncmp(opt, ss_opt, sizeof(ss_opt) - 1)) {
			if (seen_ss) {
				ti->error = "Duplicate optional parameter sector_size";
				return -EINVAL;
			}
			seen_ss = true;
			if (kstrtouint(opt + sizeof(ss_opt) - 1, 10, &val) ||
			    (val != 512 && val != 1024 && val != 2048 &&
			     val != 4096)) {
				ti->error = "Invalid sector_size; must be 512, 1024, 2048 or 4096";
				return -EINVAL;
			}
			ac->sector_size = val;
			ac->sector_shift = __ffs(val) - SECTOR_SHIFT;
			continue;
		}

		if (!strcmp(opt, AURORA_DM_OPT_IV_LARGE_SECTORS)) {
			bit = AURORA_IV_LARGE;
		} else if (!strcmp(opt, AURORA_DM_OPT_ALLOW_DISCARDS)) {
			bit = AURORA_ALLOW_DISCARDS;
		} else if (!strcmp(opt, AURORA_DM_OPT_NO_READ_INLINE)) {
			bit = AURORA_NO_READ_INLINE;
		} else if (!strcmp(opt, AURORA_DM_OPT_WRITE_WORKQUEUE)) {
			bit = AURORA_WRITE_WQ;
		} else {
			ti->error = "Unknown optional parameter";
			return -EINVAL;
		}
		if (test_and_set_bit(bit, &ac->flags)) {
			ti->error = "Duplicate optional parameter";
			return -EINVAL;
		}
	}

	if (as->argc) {
		ti->error = "Too many arguments";
		return -EINVAL;
	}
	return 0;
}

/*
 * Construct an aurora mapping:
 * aes-xts-plain64 :64:logon:<desc> <iv_offset> <dev_path> <offset>
 *	[<#opt_params> <opt_params>...]
 */
static int aurora_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as;
	struct aurora_c *ac;
	const char *desc;
	unsigned long long tmp;
	sector_t ss_mask;
	char dummy;
	int r;

	if (argc < 5) {
		ti->error = "Not enough arguments";
		return -EINVAL;
	}

	ac = kzalloc(sizeof(*ac), GFP_KERNEL);
	if (!ac) {
		ti->error = "Cannot allocate aurora context";
		return -ENOMEM;
	}
	ac->ti = ti;
	ac->sector_size = 1 << SECTOR_SHIFT;
	mutex_init(&ac->key_lock);
	mutex_init(&ac->state_lock);
	mutex_init(&ac->bio_alloc_lock);
	spin_lock_init(&ac->reason_lock);
	INIT_DELAYED_WORK(&ac->watch, aurora_watch_fn);

	if (strcmp(argv[0], AURORA_DM_CIPHER)) {
		ti->error = "Unsupported cipher; only aes-xts-plain64 is accepted";
		r = -EINVAL;
		goto free_ac;
	}

	r = aurora_key_parse(argv[1], &desc, &ti->error);
	if (r)
		goto free_ac;

	as.argc = argc - 5;
	as.argv = argv + 5;
	r = aurora_parse_opts(ac, &as);
	if (r)
		goto free_ac;
	ss_mask = (ac->sector_size >> SECTOR_SHIFT) - 1;

	r = -EINVAL;
	if (sscanf(argv[2], "%llu%c", &tmp, &dummy) != 1 || (tmp & ss_mask)) {
		ti->error = "Invalid iv_offset sector (must be a multiple of sector_size)";
		goto free_ac;
	}
	ac->iv_offset = tmp;

	if (sscanf(argv[4], "%llu%c", &tmp, &dummy) != 1 ||
	    tmp != (sector_t)tmp) {
		ti->error = "Invalid device sector";
		goto free_ac;
	}
	ac->start = tmp;

	if (ti->len & ss_mask) {
		ti->error = "Device length is not a multiple of sector_size";
		goto free_ac;
	}

	r = dm_get_device(ti, argv[3], dm_table_get_mode(ti->table), &ac->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto free_ac;
	}

	if (ac->start + ti->len < ac->start ||
	    ac->start + ti->len > bdev_nr_sectors(ac->dev->bdev)) {
		ti->error = "Device too small for offset and length";
		r = -EINVAL;
		goto put_dev;
	}

	r = init_srcu_struct(&ac->srcu);
	if (r) {
		ti->error = "Cannot initialize SRCU";
		goto put_dev;
	}

	ac->stats = alloc_percpu(struct aurora_stats);
	if (!ac->stats) {
		ti->error = "Cannot allocate statistics";
		r = -ENOMEM;
		goto cleanup_srcu;
	}

	r = aurora_page_pool_init(ac);
	if (r) {
		ti->error = "Cannot allocate page mempool";
		goto free_stats;
	}

	r = bioset_init(&ac->bs, AURORA_MIN_IOS, 0, BIOSET_NEED_BVECS);
	if (r) {
		ti->error = "Cannot allocate bioset";
		goto exit_page_pool;
	}

	/*
	 * The crypto that is not done in map(), in a read's completion nor
	 * on local_wq: the reads and writes of a deep queue, the parts of
	 * large bios, reads whose inline decryption the cipher deferred.
	 * Unbound, at most one worker per online CPU, so that the bios of
	 * one submitter are converted on every CPU, wherever the scheduler
	 * finds room, as dm-crypt's kcryptd.  (Unbound workers are outside
	 * concurrency management: WQ_CPU_INTENSIVE would change nothing.)
	 * On the writeback path, hence WQ_MEM_RECLAIM.  Work items only
	 * convert data: they never allocate and never wait for each other.
	 */
	ac->wq = alloc_workqueue("kaurorad/%s", WQ_MEM_RECLAIM | WQ_UNBOUND,
				 num_online_cpus(),
				 dm_table_device_name(ti->table));
	if (!ac->wq) {
		ti->error = "Cannot allocate workqueue";
		r = -ENOMEM;
		goto exit_bioset;
	}

	/* Beyond this depth a submitter helps wq's workers (one per CPU). */
	ac->help_depth = AURORA_HELP_PER_CPU * num_online_cpus();

	/*
	 * A small read alone in flight that its completion may not decrypt
	 * (a hard interrupt, or no_read_inline), decrypted on the CPU that
	 * completed it: bound, and the work is all crypto, so it stays out of
	 * concurrency management.  On the writeback path's reads too.
	 */
	ac->local_wq = alloc_workqueue("kaurorad_local/%s",
				       WQ_MEM_RECLAIM | WQ_CPU_INTENSIVE, 0,
				       dm_table_device_name(ti->table));
	if (!ac->local_wq) {
		ti->error = "Cannot allocate workqueue";
		r = -ENOMEM;
		goto destroy_wq;
	}

	/* Submits the writes converted on wq, in batches sorted by sector. */
	r = aurora_writer_start(ac);
	if (r) {
		ti->error = "Cannot start the writer thread";
		goto destroy_local_wq;
	}

	r = aurora_key_load(ac, desc, &ti->error);
	if (r)
		goto stop_writer;

	ti->private = ac;
	ac->nr_parts = min_t(unsigned int, num_possible_cpus(),
			     AURORA_MAX_PARTS);
	/* The request context, then the IV aligned for the cipher. */
	ac->part_size = ALIGN(sizeof(struct aurora_part) + ac->reqsize +
			      ac->alignmask + AURORA_IV_SIZE,
			      ARCH_KMALLOC_MINALIGN);
	ti->per_io_data_size = AURORA_IO_SIZE + ac->nr_parts * ac->part_size;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = test_bit(AURORA_ALLOW_DISCARDS, &ac->flags);
	ti->num_write_zeroes_bios = 0;
	ti->limit_swap_bios = true;

	queue_delayed_work(system_wq, &ac->watch, AURORA_WATCH_PERIOD);
	return 0;

stop_writer:
	aurora_writer_stop(ac);
destroy_local_wq:
	destroy_workqueue(ac->local_wq);
destroy_wq:
	destroy_workqueue(ac->wq);
exit_bioset:
	bioset_exit(&ac->bs);
exit_page_pool:
	mempool_exit(&ac->page_pool);
free_stats:
	free_percpu(ac->stats);
cleanup_srcu:
	cleanup_srcu_struct(&ac->srcu);
put_dev:
	dm_put_device(ti, ac->dev);
free_ac:
	kfree(ac);
	return r;
}

static void aurora_dtr(struct dm_target *ti)
{
	struct aurora_c *ac = ti->private;

	cancel_delayed_work_sync(&ac->watch);
	aurora_writer_stop(ac);
	destroy_workqueue(ac->local_wq);
	destroy_workqueue(ac->wq);
	crypto_free_skcipher(rcu_dereference_protected(ac->tfm, 1));
	key_put(rcu_dereference_protected(ac->key, 1));
	kfree(ac->key_desc);
	bioset_exit(&ac->bs);
	mempool_exit(&ac->page_pool);
	free_percpu(ac->stats);
	cleanup_srcu_struct(&ac->srcu);
	dm_put_device(ti, ac->dev);
	kfree_sensitive(ac);
}

static void aurora_sum_stats(struct aurora_c *ac, struct aurora_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		struct aurora_stats *s = per_cpu_ptr(ac->stats, cpu);

		sum->reads += READ_ONCE(s->reads);
		sum->writes += READ_ONCE(s->writes);
		sum->terminal_eio += READ_ONCE(s->terminal_eio);
	}
}

static void aurora_status(struct dm_target *ti, status_type_t type,
			  unsigned int status_flags, char *result,
			  unsigned int maxlen)
{
	struct aurora_c *ac = ti->private;
	bool large = test_bit(AURORA_IV_LARGE, &ac->flags);
	bool discards = test_bit(AURORA_ALLOW_DISCARDS, &ac->flags);
	bool no_inline = test_bit(AURORA_NO_READ_INLINE, &ac->flags);
	bool write_wq = test_bit(AURORA_WRITE_WQ, &ac->flags);
	struct aurora_stats sum;
	unsigned int sz = 0;
	int nr_opts;

	switch (type) {
	case STATUSTYPE_INFO:
		spin_lock(&ac->reason_lock);
		if (aurora_is_terminal(ac))
			DMEMIT(AURORA_DM_STATE_TERMINAL " %s", ac->reason);
		else if (aurora_is_inaccessible(ac))
			DMEMIT(AURORA_DM_STATE_INACCESSIBLE " %s", ac->reason);
		else
			DMEMIT(AURORA_DM_STATE_ACTIVE);
		spin_unlock(&ac->reason_lock);
		DMEMIT(" %s", test_bit(AURORA_KEY_WIPED, &ac->flags) ?
		       AURORA_DM_STATUS_KEY_WIPED : AURORA_DM_STATUS_KEY_LOADED);
		aurora_sum_stats(ac, &sum);
		DMEMIT(" " AURORA_DM_STATUS_READS "%llu "
		       AURORA_DM_STATUS_WRITES "%llu "
		       AURORA_DM_STATUS_TERMINAL_EIO "%llu",
		       sum.reads, sum.writes, sum.terminal_eio);
		break;

	case STATUSTYPE_TABLE:
		mutex_lock(&ac->key_lock);
		DMEMIT(AURORA_DM_CIPHER " " AURORA_DM_KEY_REF_PREFIX "%s %llu %s %llu",
		       ac->key_desc, (unsigned long long)ac->iv_offset,
		       ac->dev->name, (unsigned long long)ac->start);
		mutex_unlock(&ac->key_lock);
		nr_opts = (ac->sector_size != 512) + large + discards +
			  no_inline + write_wq;
		if (!nr_opts)
			break;
		DMEMIT(" %d", nr_opts);
		if (ac->sector_size != 512)
			DMEMIT(" " AURORA_DM_OPT_SECTOR_SIZE "%u",
			       ac->sector_size);
		if (large)
			DMEMIT(" " AURORA_DM_OPT_IV_LARGE_SECTORS);
		if (discards)
			DMEMIT(" " AURORA_DM_OPT_ALLOW_DISCARDS);
		if (no_inline)
			DMEMIT(" " AURORA_DM_OPT_NO_READ_INLINE);
		if (write_wq)
			DMEMIT(" " AURORA_DM_OPT_WRITE_WORKQUEUE);
		break;

	case STATUSTYPE_IMA:
		DMEMIT_TARGET_NAME_VERSION(ti->type);
		DMEMIT(",cipher_string=" AURORA_DM_CIPHER ",key_size=%u",
		       AURORA_DM_KEY_SIZE);
		DMEMIT(",key_type=" AURORA_DM_KEY_TYPE ",iv_offset=%llu",
		       (unsigned long long)ac->iv_offset);
		DMEMIT(",sector_size=%u,iv_large_sectors=%c,allow_discards=%c",
		       ac->sector_size, large ? 'y' : 'n', discards ? 'y' : 'n');
		DMEMIT(",state=%s;", aurora_is_terminal(ac) ?
		       AURORA_DM_STATE_TERMINAL : aurora_is_inaccessible(ac) ?
		       AURORA_DM_STATE_INACCESSIBLE : AURORA_DM_STATE_ACTIVE);
		break;
	}
}

/*
 * "key wipe" and "key set" while suspended.  Under state_lock, so that a
 * resume cannot come between the check and the change; in a NOIO scope, as
 * the device is suspended and its writes cannot be waited for.  A key set
 * while inaccessible prepares the recovery that the next resume makes.
 */
static int aurora_message_key(struct aurora_c *ac, unsigned int argc,
			      char **argv)
{
	unsigned int noio;
	const char *desc;
	char *error;
	int r = -EINVAL;

	mutex_lock(&ac->state_lock);
	if (!test_bit(AURORA_SUSPENDED, &ac->flags)) {
		DMWARN("not suspended during key manipulation.");
		goto unlock;
	}
	noio = memalloc_noio_save();
	if (argc == 2 && !strcasecmp(argv[1], AURORA_DM_MSG_KEY_WIPE)) {
		/* inaccessible or terminal: the key reference goes too */
		aurora_key_wipe(ac, aurora_out_of_service(ac));
		r = 0;
	} else if (argc == 3 && !strcasecmp(argv[1], AURORA_DM_MSG_KEY_SET)) {
		if (aurora_is_terminal(ac)) {
			DMWARN("key set refused: target is terminal.");
			r = -EKEYREVOKED;
		} else {
			r = aurora_key_parse(argv[2], &desc, &error);
			if (!r)
				r = aurora_key_load(ac, desc, &error);
			if (r)
				DMWARN("key set refused: %s.", error);
		}
	} else {
		DMWARN("unrecognised message received.");
	}
	memalloc_noio_restore(noio);
unlock:
	mutex_unlock(&ac->state_lock);
	return r;
}

static int aurora_message(struct dm_target *ti, unsigned int argc,
			  char **argv, char *result, unsigned int maxlen)
{
	struct aurora_c *ac = ti->private;

	if (argc == 2 && !strcasecmp(argv[0], AURORA_DM_MSG_TERMINAL)) {
		aurora_go_terminal(ac, argv[1]);
		return 0;
	}
	/* No effect when inaccessible already (first reason kept) or terminal */
	if (argc == 2 && !strcasecmp(argv[0], AURORA_DM_MSG_INACCESSIBLE)) {
		aurora_go_inaccessible(ac, argv[1]);
		return 0;
	}
	if (argc >= 2 && !strcasecmp(argv[0], AURORA_DM_MSG_KEY))
		return aurora_message_key(ac, argc, argv);

	DMWARN("unrecognised message received.");
	return -EINVAL;
}

static void aurora_postsuspend(struct dm_target *ti)
{
	struct aurora_c *ac = ti->private;

	mutex_lock(&ac->state_lock);
	set_bit(AURORA_SUSPENDED, &ac->flags);
	mutex_unlock(&ac->state_lock);
}

/*
 * The key check, the return of an inaccessible target to service and the
 * end of the suspended window are one step under state_lock, so that no key
 * message lands between them.  (Should another target of the table fail its
 * preresume, key messages are refused until the device has been suspended
 * and resumed again; a target that recovered stays active.)
 */
static int aurora_preresume(struct dm_target *ti)
{
	struct aurora_c *ac = ti->private;
	int r = 0;

	mutex_lock(&ac->state_lock);
	if (aurora_is_terminal(ac)) {
		/* A terminal target resumes: it fails every bio anyway. */
	} else if (aurora_is_inaccessible(ac)) {
		/*
		 * Active again if a key was set since it became inaccessible;
		 * otherwise it resumes and fails every bio, so that it can be
		 * suspended, resumed and removed freely.
		 */
		aurora_key_recover(ac);
	} else if (test_bit(AURORA_KEY_WIPED, &ac->flags)) {
		DMERR("aborting resume - key is not set.");
		r = -EAGAIN;
	}
	if (!r)
		clear_bit(AURORA_SUSPENDED, &ac->flags);
	mutex_unlock(&ac->state_lock);
	return r;
}

static int aurora_iterate_devices(struct dm_target *ti,
				  iterate_devices_callout_fn fn, void *data)
{
	struct aurora_c *ac = ti->private;

	return fn(ti, ac->dev, ac->start, ti->len, data);
}

static void aurora_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct aurora_c *ac = ti->private;

	/*
	 * Bounce pages are not contiguous: keep segments within a page so the
	 * bounce bio never needs more segments than the original (dm-crypt).
	 */
	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size = max_t(unsigned int,
					   limits->logical_block_size,
					   ac->sector_size);
	limits->physical_block_size = max_t(unsigned int,
					    limits->physical_block_size,
					    ac->sector_size);
	limits->io_min = max_t(unsigned int, limits->io_min, ac->sector_size);
	/* A data unit must sit in one segment. */
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct target_type aurora_target = {
	.name = AURORA_DM_TARGET_NAME,
	.version = {AURORA_DM_VERSION_MAJOR, AURORA_DM_VERSION_MINOR,
		    AURORA_DM_VERSION_PATCH},
	.module = THIS_MODULE,
	.ctr = aurora_ctr,
	.dtr = aurora_dtr,
	.map = aurora_map,
	.status = aurora_status,
	.message = aurora_message,
	.postsuspend = aurora_postsuspend,
	.preresume = aurora_preresume,
	.iterate_devices = aurora_iterate_devices,
	.io_hints = aurora_io_hints,
};

static int __init dm_aurora_init(void)
{
	int r;

	r = dm_register_target(&aurora_target);
	if (r < 0)
		DMERR("register failed %d", r);
	return r;
}

static void __exit dm_aurora_exit(void)
{
	dm_unregister_target(&aurora_target);
}

module_init(dm_aurora_init);
module_exit(dm_aurora_exit);

MODULE_AUTHOR("dm-aurora developers");
MODULE_DESCRIPTION(DM_NAME " AES-256-XTS target keyed from the kernel keyring");
MODULE_LICENSE("GPL");
