// SPDX-License-Identifier: GPL-2.0
/*
 * aurora_async_xts: a test-only xts(aes) that answers asynchronously, for
 * the guest suite (tests/guest/20-target-async.sh).  Loaded, it is the
 * preferred xts(aes) of every cipher allocated afterwards, and drives the
 * target through every answer an asynchronous cipher may give:
 *
 * - most requests: -EINPROGRESS, done later on a workqueue;
 * - every 7th, -EBUSY: with CRYPTO_TFM_REQ_MAY_BACKLOG, backlogged (the
 *   callback gets -EINPROGRESS when it leaves the backlog, then the
 *   result); without, refused (the queue is full, the request is dropped);
 * - every 5th: done at once, 0.
 *
 * The data is converted by the synchronous generic xts(aes), so the output
 * is that of any xts(aes).  Counts of each answer are in
 * /sys/module/aurora_async_xts/parameters/.  Never for production.
 */

#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>
#include <crypto/aes.h>
#include <crypto/internal/skcipher.h>

#define AAX_DRIVER "xts-aes-aurora-async-test"

static atomic_long_t aax_async = ATOMIC_LONG_INIT(0);
static atomic_long_t aax_async_nobacklog = ATOMIC_LONG_INIT(0);
static atomic_long_t aax_backlogged = ATOMIC_LONG_INIT(0);
static atomic_long_t aax_refused = ATOMIC_LONG_INIT(0);
static atomic_long_t aax_sync = ATOMIC_LONG_INIT(0);
static atomic_t aax_seq = ATOMIC_INIT(0);

static int aax_count_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%ld\n",
			 atomic_long_read((atomic_long_t *)kp->arg));
}

static const struct kernel_param_ops aax_count_ops = {
	.get = aax_count_get,
};

module_param_cb(async, &aax_count_ops, &aax_async, 0444);
MODULE_PARM_DESC(async, "requests answered -EINPROGRESS");
module_param_cb(async_nobacklog, &aax_count_ops, &aax_async_nobacklog, 0444);
MODULE_PARM_DESC(async_nobacklog,
		 "of those, requests without CRYPTO_TFM_REQ_MAY_BACKLOG");
module_param_cb(backlogged, &aax_count_ops, &aax_backlogged, 0444);
MODULE_PARM_DESC(backlogged, "requests answered -EBUSY and backlogged");
module_param_cb(refused, &aax_count_ops, &aax_refused, 0444);
MODULE_PARM_DESC(refused, "requests answered -EBUSY and dropped");
module_param_cb(sync, &aax_count_ops, &aax_sync, 0444);
MODULE_PARM_DESC(sync, "requests done at once");

static struct workqueue_struct *aax_wq;
/*
 * The child cipher, instantiated before the algorithm is registered and
 * kept: the self-test that registering starts allocates a transform at
 * once, and instantiating the templates then (modules to load) fails.
 */
#define AAX_CHILD "xts(ecb(aes-generic))"
static struct crypto_skcipher *aax_child;

struct aax_ctx {
	struct crypto_skcipher *child;
};

struct aax_req {
	struct work_struct work;
	struct skcipher_request *req;
	bool enc;
	bool backlog;
	struct skcipher_request sub;	/* last: the child's context follows */
};

static int aax_init(struct crypto_skcipher *tfm)
{
	struct aax_ctx *ctx = crypto_skcipher_ctx(tfm);

	ctx->child = crypto_alloc_skcipher(AAX_CHILD, 0,
					   CRYPTO_ALG_ASYNC |
					   CRYPTO_ALG_ALLOCATES_MEMORY);
	if (IS_ERR(ctx->child))
		return PTR_ERR(ctx->child);
	crypto_skcipher_set_reqsize(tfm, sizeof(struct aax_req) +
				    crypto_skcipher_reqsize(ctx->child));
	return 0;
}

static void aax_exit(struct crypto_skcipher *tfm)
{
	struct aax_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_free_skcipher(ctx->child);
}

static int aax_setkey(struct crypto_skcipher *tfm, const u8 *key,
		      unsigned int len)
{
	struct aax_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_skcipher_clear_flags(ctx->child, CRYPTO_TFM_REQ_MASK);
	crypto_skcipher_set_flags(ctx->child, crypto_skcipher_get_flags(tfm) &
				  CRYPTO_TFM_REQ_MASK);
	return crypto_skcipher_setkey(ctx->child, key, len);
}

/* Convert @req with the child, in the caller's context. */
static int aax_run(struct skcipher_request *req, bool enc)
{
	struct aax_ctx *ctx = crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct aax_req *rc = skcipher_request_ctx(req);

	skcipher_request_set_tfm(&rc->sub, ctx->child);
	skcipher_request_set_callback(&rc->sub, 0, NULL, NULL);
	skcipher_request_set_crypt(&rc->sub, req->src, req->dst, req->cryptlen,
				   req->iv);
	return enc ? crypto_skcipher_encrypt(&rc->sub) :
		     crypto_skcipher_decrypt(&rc->sub);
}

static void aax_work(struct work_struct *work)
{
	struct aax_req *rc = container_of(work, struct aax_req, work);
	struct skcipher_request *req = rc->req;
	int err;

	/* Callbacks run with softirqs off, as cryptd's. */
	local_bh_disable();
	if (rc->backlog)
		skcipher_request_complete(req, -EINPROGRESS);
	local_bh_enable();
	err = aax_run(req, rc->enc);
	local_bh_disable();
	skcipher_request_complete(req, err);
	local_bh_enable();
}

static int aax_crypt(struct skcipher_request *req, bool enc)
{
	struct aax_req *rc = skcipher_request_ctx(req);
	unsigned int n = atomic_inc_return(&aax_seq);
	bool may_backlog = req->base.flags & CRYPTO_TFM_REQ_MAY_BACKLOG;
	bool backlog = n % 7 == 0;

	if (n % 5 == 0) {
		atomic_long_inc(&aax_sync);
		return aax_run(req, enc);
	}
	if (backlog && !may_backlog) {
		atomic_long_inc(&aax_refused);
		return -EBUSY;
	}
	rc->req = req;
	rc->enc = enc;
	rc->backlog = backlog;
	INIT_WORK(&rc->work, aax_work);
	atomic_long_inc(backlog ? &aax_backlogged : &aax_async);
	if (!backlog && !may_backlog)
		atomic_long_inc(&aax_async_nobacklog);
	/*
	 * Once queued, the request is the caller's again as soon as its
	 * callback has run (on another CPU, maybe before queue_work()
	 * returns), and the caller may reuse it at once: the answer must not
	 * be read from it.  (Reading rc->backlog here answered -EBUSY for a
	 * request that the caller had already resubmitted, and the target
	 * then resumed a read twice: 6.12 under TCG, 2026-12-07.)
	 */
	queue_work(aax_wq, &rc->work);
	return backlog ? -EBUSY : -EINPROGRESS;
}

static int aax_encrypt(struct skcipher_request *req)
{
	return aax_crypt(req, true);
}

static int aax_decrypt(struct skcipher_request *req)
{
	return aax_crypt(req, false);
}

static struct skcipher_alg aax_alg = {
	.base.cra_name		= "xts(aes)",
	.base.cra_driver_name	= AAX_DRIVER,
	.base.cra_priority	= 10000,
	.base.cra_flags		= CRYPTO_ALG_ASYNC,
	.base.cra_blocksize	= AES_BLOCK_SIZE,
	.base.cra_ctxsize	= sizeof(struct aax_ctx),
	.base.cra_module	= THIS_MODULE,
	.min_keysize		= 2 * AES_MIN_KEY_SIZE,
	.max_keysize		= 2 * AES_MAX_KEY_SIZE,
	.ivsize			= AES_BLOCK_SIZE,
	.init			= aax_init,
	.exit			= aax_exit,
	.setkey			= aax_setkey,
	.encrypt		= aax_encrypt,
	.decrypt		= aax_decrypt,
};

static int __init aax_mod_init(void)
{
	int r;

	aax_child = crypto_alloc_skcipher(AAX_CHILD, 0, CRYPTO_ALG_ASYNC |
					  CRYPTO_ALG_ALLOCATES_MEMORY);
	if (IS_ERR(aax_child)) {
		pr_err("aurora_async_xts: no %s: %ld\n", AAX_CHILD,
		       PTR_ERR(aax_child));
		return PTR_ERR(aax_child);
	}
	aax_wq = alloc_workqueue("aurora_async_xts", WQ_UNBOUND, 0);
	if (!aax_wq) {
		r = -ENOMEM;
		goto free_child;
	}
	r = crypto_register_skcipher(&aax_alg);
	if (r)
		goto destroy_wq;
	return 0;

destroy_wq:
	destroy_workqueue(aax_wq);
free_child:
	crypto_free_skcipher(aax_child);
	return r;
}

static void __exit aax_mod_exit(void)
{
	crypto_unregister_skcipher(&aax_alg);
	destroy_workqueue(aax_wq);
	crypto_free_skcipher(aax_child);
}

module_init(aax_mod_init);
module_exit(aax_mod_exit);
MODULE_DESCRIPTION("dm-aurora tests: an asynchronous xts(aes)");
MODULE_LICENSE("GPL");
