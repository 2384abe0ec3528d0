// SPDX-License-Identifier: GPL-2.0
/*
 * dm-aurora: KUnit tests of the parts that need no device: key reference
 * parsing, optional parameter parsing, the plain64 IV, reasons, the
 * state bits, the choice of cipher implementation and the sector order of
 * the writer thread, which I/O counts as alone.  Built into dm-aurora.ko when the kernel has KUnit
 * (the debug lane); the suite runs when the module is loaded and reports
 * in the kernel log and in /sys/kernel/debug/kunit/dm-aurora/results.
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/log2.h>
#include <linux/string.h>
#include <crypto/aes.h>
#include <crypto/internal/skcipher.h>

#include "dm-aurora.h"

/* ---- key references ---- */

static void aurora_test_key_ok(struct kunit *test)
{
	const char *desc = NULL;
	char *error = NULL;

	KUNIT_EXPECT_EQ(test, 0, aurora_key_parse(":64:logon:aurora:1234",
						  &desc, &error));
	KUNIT_EXPECT_STREQ(test, desc, "aurora:1234");
	/* A description may hold further colons and spaces are the table's. */
	KUNIT_EXPECT_EQ(test, 0, aurora_key_parse(":64:logon:a:b:c", &desc,
						  &error));
	KUNIT_EXPECT_STREQ(test, desc, "a:b:c");
}

static void aurora_test_key_bad(struct kunit *test)
{
	static const char * const bad[] = {
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		":32:logon:aurora:x",	/* not 64 bytes */
		":064:logon:aurora:x",
		":64:user:aurora:x",	/* only logon keys */
		":64:logonx:aurora:x",
		":64:logon:",		/* empty description */
		":64:logon",
		":64:",
		":",
		"",
	};
	const char *desc;
	char *error;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		error = NULL;
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    aurora_key_parse(bad[i], &desc, &error),
				    "key reference \"%s\"", bad[i]);
		KUNIT_EXPECT_NOT_NULL_MSG(test, error, "key reference \"%s\"",
					  bad[i]);
	}
}

/* ---- optional parameters ---- */

/* Parse the words of @line (at most 8) as the optional parameters. */
static int aurora_test_opts(struct kunit *test, struct aurora_c *ac,
			    struct dm_target *ti, const char *line)
{
	char *copy = kunit_kstrdup(test, line, GFP_KERNEL), *p = copy;
	struct dm_arg_set as;
	char *argv[8];
	unsigned int argc = 0;
	char *w;

	KUNIT_ASSERT_NOT_NULL(test, copy);
	while ((w = strsep(&p, " ")) && argc < ARRAY_SIZE(argv))
		if (*w)
			argv[argc++] = w;
	memset(ac, 0, sizeof(*ac));
	memset(ti, 0, sizeof(*ti));
	ac->ti = ti;
	ac->sector_size = 512;
	as.argc = argc;
	as.argv = argv;
	return aurora_parse_opts(ac, &as);
}

static void aurora_test_opts_ok(struct kunit *test)
{
	static const char all_opts[] =
		"5 allow_discards no_read_inline write_workqueue sector_size:1024 iv_large_sectors";
	struct aurora_c *ac = kunit_kzalloc(test, sizeof(*ac), GFP_KERNEL);
	struct dm_target *ti = kunit_kzalloc(test, sizeof(*ti), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ac);
	KUNIT_ASSERT_NOT_NULL(test, ti);

	KUNIT_EXPECT_EQ(test, 0, aurora_test_opts(test, ac, ti, ""));
	KUNIT_EXPECT_EQ(test, 512U, ac->sector_size);
	KUNIT_EXPECT_EQ(test, 0UL, ac->flags);

	KUNIT_EXPECT_EQ(test, 0,
			aurora_test_opts(test, ac, ti,
					 "2 sector_size:4096 iv_large_sectors"));
	KUNIT_EXPECT_EQ(test, 4096U, ac->sector_size);
	KUNIT_EXPECT_EQ(test, 3U, ac->sector_shift);
	KUNIT_EXPECT_TRUE(test, test_bit(AURORA_IV_LARGE, &ac->flags));

	KUNIT_EXPECT_EQ(test, 0, aurora_test_opts(test, ac, ti, all_opts));
	KUNIT_EXPECT_EQ(test, 1024U, ac->sector_size);
	KUNIT_EXPECT_EQ(test, 1U, ac->sector_shift);
	KUNIT_EXPECT_TRUE(test, test_bit(AURORA_ALLOW_DISCARDS, &ac->flags));
	KUNIT_EXPECT_TRUE(test, test_bit(AURORA_NO_READ_INLINE, &ac->flags));
	KUNIT_EXPECT_TRUE(test, test_bit(AURORA_WRITE_WQ, &ac->flags));
}

static void aurora_test_opts_bad(struct kunit *test)
{
	static const char * const bad[] = {
		"1",				/* fewer words than announced */
		"2 allow_discards",
		"1 allow_discards extra",	/* more */
		"6 a b c d e f",		/* over the maximum */
		"x allow_discards",
		"1 sector_size:1000",
		"1 sector_size:8192",
		"1 sector_size:",
		"1 sector_size:4096x",
		"2 sector_size:512 sector_size:4096",
		"2 allow_discards allow_discards",
		"1 no_such_option",
	};
	struct aurora_c *ac = kunit_kzalloc(test, sizeof(*ac), GFP_KERNEL);
	struct dm_target *ti = kunit_kzalloc(test, sizeof(*ti), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, ac);
	KUNIT_ASSERT_NOT_NULL(test, ti);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		KUNIT_EXPECT_EQ_MSG(test, -EINVAL,
				    aurora_test_opts(test, ac, ti, bad[i]),
				    "options \"%s\"", bad[i]);
		KUNIT_EXPECT_NOT_NULL_MSG(test, ti->error, "options \"%s\"",
					  bad[i]);
	}
}

/* ---- the IV ---- */

/*
 * dm-crypt's plain64 IV is the little-endian 64-bit sector number (with
 * iv_large_sectors, in data units), zero-padded to the IV size: the bytes
 * below are written out by hand, not computed.
 */
struct aurora_iv_case {
	u64 sector;		/* from the target start, plus iv_offset */
	bool large;
	unsigned int shift;
	u8 iv[8];
};

static const struct aurora_iv_case aurora_iv_cases[] = {
	{ 0, false, 0, { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ 1, false, 0, { 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ 0xffffffffULL, false, 0, { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 } },
	{ 0x100000000ULL, false, 0, { 0, 0, 0, 0, 1, 0, 0, 0 } },
	/* past 2 TiB: 2^32 + 8 sectors, and 2^40 */
	{ 0x100000008ULL, false, 0, { 8, 0, 0, 0, 1, 0, 0, 0 } },
	{ 0x10000000000ULL, false, 0, { 0, 0, 0, 0, 0, 1, 0, 0 } },
	{ 0x0123456789abcdefULL, false, 0,
	  { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 } },
	/* iv_large_sectors with 4096-byte units: sector / 8 */
	{ 0, true, 3, { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ 8, true, 3, { 1, 0, 0, 0, 0, 0, 0, 0 } },
	{ 0x7fffffff8ULL, true, 3, { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 } },
	{ 0x800000000ULL, true, 3, { 0, 0, 0, 0, 1, 0, 0, 0 } },
	{ 0x100000008ULL, true, 3, { 1, 0, 0, 0x20, 0, 0, 0, 0 } },
	/* 1024-byte units: sector / 2 */
	{ 0x1fffffffeULL, true, 1, { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 } },
	/* without iv_large_sectors the shift does not apply */
	{ 0x100000008ULL, false, 3, { 8, 0, 0, 0, 1, 0, 0, 0 } },
};

static void aurora_test_iv(struct kunit *test)
{
	unsigned int i;
	__le64 iv;

	for (i = 0; i < ARRAY_SIZE(aurora_iv_cases); i++) {
		const struct aurora_iv_case *c = &aurora_iv_cases[i];

		iv = cpu_to_le64(aurora_iv_plain64(c->sector, c->large,
						   c->shift));
		KUNIT_EXPECT_MEMEQ_MSG(test, &iv, c->iv, sizeof(iv),
				       "sector %llu, large %d, shift %u",
				       c->sector, c->large, c->shift);
	}
}

/* ---- reasons and states ---- */

static void aurora_test_reason(struct kunit *test)
{
	char long_in[200], out[AURORA_DM_REASON_MAX];

	aurora_sanitize_reason(out, "cmk-disabled/by:ops!");
	KUNIT_EXPECT_STREQ(test, out, "cmk-disabled_by:ops_");
	aurora_sanitize_reason(out, "key-revoked");
	KUNIT_EXPECT_STREQ(test, out, "key-revoked");
	aurora_sanitize_reason(out, "a b\tc\n");
	KUNIT_EXPECT_STREQ(test, out, "a_b_c_");
	memset(long_in, 'x', sizeof(long_in) - 1);
	long_in[sizeof(long_in) - 1] = '\0';
	aurora_sanitize_reason(out, long_in);
	KUNIT_EXPECT_EQ(test, (size_t)AURORA_DM_REASON_MAX - 1, strlen(out));
}

/*
 * active -> inaccessible keeps the first reason; terminal wins over
 * inaccessible with its own reason and is sticky.
 */
static void aurora_test_states(struct kunit *test)
{
	struct aurora_c *ac = kunit_kzalloc(test, sizeof(*ac), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ac);
	spin_lock_init(&ac->reason_lock);
	KUNIT_EXPECT_FALSE(test, aurora_out_of_service(ac));

	KUNIT_EXPECT_TRUE(test, aurora_set_inaccessible(ac, "key revoked"));
	KUNIT_EXPECT_TRUE(test, aurora_is_inaccessible(ac));
	KUNIT_EXPECT_FALSE(test, aurora_is_terminal(ac));
	KUNIT_EXPECT_TRUE(test, aurora_out_of_service(ac));
	KUNIT_EXPECT_STREQ(test, ac->reason, "key_revoked");
	KUNIT_EXPECT_FALSE(test, aurora_set_inaccessible(ac, "other"));
	KUNIT_EXPECT_STREQ(test, ac->reason, "key_revoked");

	aurora_set_terminal(ac, "cmk-deleted");
	KUNIT_EXPECT_TRUE(test, aurora_is_terminal(ac));
	KUNIT_EXPECT_STREQ(test, ac->reason, "cmk-deleted");
	aurora_set_terminal(ac, "again");
	KUNIT_EXPECT_STREQ(test, ac->reason, "cmk-deleted");
	KUNIT_EXPECT_FALSE(test, aurora_set_inaccessible(ac, "later"));
	KUNIT_EXPECT_STREQ(test, ac->reason, "cmk-deleted");
	KUNIT_EXPECT_TRUE(test, aurora_out_of_service(ac));
}

/* ---- cipher implementation ---- */

/*
 * An xts(aes) implementation that allocates memory per request, as some
 * hardware drivers do (CRYPTO_ALG_ALLOCATES_MEMORY), of the highest
 * priority: registered for one test, it wins any lookup that does not mask
 * it out.  It does the real XTS with a software implementation underneath,
 * so that it passes the crypto self-tests.
 */
#define AURORA_KT_DRIVER "xts-aes-aurora-kunit-allocating"

struct aurora_kt_ctx {
	struct crypto_skcipher *inner;
};

static int aurora_kt_init(struct crypto_skcipher *tfm)
{
	struct aurora_kt_ctx *ctx = crypto_skcipher_ctx(tfm);

	ctx->inner = crypto_alloc_skcipher("xts(aes)", 0,
					   CRYPTO_ALG_ALLOCATES_MEMORY |
					   CRYPTO_ALG_ASYNC);
	return PTR_ERR_OR_ZERO(ctx->inner);
}

static void aurora_kt_exit(struct crypto_skcipher *tfm)
{
	struct aurora_kt_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_free_skcipher(ctx->inner);
}

static int aurora_kt_setkey(struct crypto_skcipher *tfm, const u8 *key,
			    unsigned int len)
{
	struct aurora_kt_ctx *ctx = crypto_skcipher_ctx(tfm);

	crypto_skcipher_clear_flags(ctx->inner, CRYPTO_TFM_REQ_MASK);
	crypto_skcipher_set_flags(ctx->inner, crypto_skcipher_get_flags(tfm) &
				  CRYPTO_TFM_REQ_MASK);
	return crypto_skcipher_setkey(ctx->inner, key, len);
}

static int aurora_kt_crypt(struct skcipher_request *req, bool enc)
{
	struct aurora_kt_ctx *ctx =
		crypto_skcipher_ctx(crypto_skcipher_reqtfm(req));
	struct skcipher_request *sub;
	int r;

	/* the allocation per request that the flag announces */
	sub = skcipher_request_alloc(ctx->inner, GFP_ATOMIC);
	if (!sub)
		return -ENOMEM;
	skcipher_request_set_callback(sub, 0, NULL, NULL);
	skcipher_request_set_crypt(sub, req->src, req->dst, req->cryptlen,
				   req->iv);
	r = enc ? crypto_skcipher_encrypt(sub) : crypto_skcipher_decrypt(sub);
	skcipher_request_free(sub);
	return r;
}

static int aurora_kt_encrypt(struct skcipher_request *req)
{
	return aurora_kt_crypt(req, true);
}

static int aurora_kt_decrypt(struct skcipher_request *req)
{
	return aurora_kt_crypt(req, false);
}

static struct skcipher_alg aurora_kt_alg = {
	.base.cra_name		= "xts(aes)",
	.base.cra_driver_name	= AURORA_KT_DRIVER,
	.base.cra_priority	= 9999,
	.base.cra_flags		= CRYPTO_ALG_ALLOCATES_MEMORY,
	.base.cra_blocksize	= AES_BLOCK_SIZE,
	.base.cra_ctxsize	= sizeof(struct aurora_kt_ctx),
	.base.cra_module	= THIS_MODULE,
	.min_keysize		= 2 * AES_MIN_KEY_SIZE,
	.max_keysize		= 2 * AES_MAX_KEY_SIZE,
	.ivsize			= AES_BLOCK_SIZE,
	.init			= aurora_kt_init,
	.exit			= aurora_kt_exit,
	.setkey			= aurora_kt_setkey,
	.encrypt		= aurora_kt_encrypt,
	.decrypt		= aurora_kt_decrypt,
};

static const char *aurora_kt_driver(struct crypto_skcipher *tfm)
{
	return crypto_tfm_alg_driver_name(crypto_skcipher_tfm(tfm));
}

/*
 * With an allocating xts(aes) implementation registered and preferred, the
 * target's cipher is still one that does not allocate per request.
 */
static void aurora_test_tfm_no_alloc(struct kunit *test)
{
	struct crypto_alg *base = &aurora_kt_alg.base;
	struct crypto_skcipher *tfm;
	unsigned int i;

	KUNIT_ASSERT_EQ(test, 0, crypto_register_skcipher(&aurora_kt_alg));
	/* the test is sound: an unmasked lookup gets the allocating one */
	tfm = crypto_alloc_skcipher("xts(aes)", 0, 0);
	KUNIT_EXPECT_FALSE(test, IS_ERR(tfm));
	if (!IS_ERR(tfm)) {
		KUNIT_EXPECT_STREQ(test, aurora_kt_driver(tfm),
				   AURORA_KT_DRIVER);
		crypto_free_skcipher(tfm);
	}
	tfm = aurora_alloc_tfm();
	KUNIT_EXPECT_FALSE(test, IS_ERR(tfm));
	if (!IS_ERR(tfm)) {
		KUNIT_EXPECT_STRNEQ(test, aurora_kt_driver(tfm),
				    AURORA_KT_DRIVER);
		KUNIT_EXPECT_EQ(test, 0U,
				crypto_skcipher_alg(tfm)->base.cra_flags &
				CRYPTO_ALG_ALLOCATES_MEMORY);
		crypto_free_skcipher(tfm);
	}
	/*
	 * The self-test of the implementation (cryptomgr_test) releases its
	 * reference after the lookups above return: unregistering before that
	 * warns.  Wait for it (an outcome, not a time: the bound only ends a
	 * leak).
	 */
	for (i = 0; i < 500 && refcount_read(&base->cra_refcnt) != 1; i++)
		msleep(20);
	KUNIT_EXPECT_EQ(test, 1U, refcount_read(&base->cra_refcnt));
	crypto_unregister_skcipher(&aurora_kt_alg);
}

/* ---- the order of the writer thread ---- */

/*
 * Writes go into the writer's tree in any order and come out by ascending
 * sector, writes to the same sector in the order they went in: the sectors
 * below are shuffled, hold duplicates and the edges of 32-bit arithmetic
 * and of 2 TiB (2^32 sectors).
 */
static void aurora_test_write_order(struct kunit *test)
{
	static const sector_t sectors[] = {
		0x100000000ULL, 7, 0xffffffffULL, 0, 0x100000000ULL,
		(1ULL << 40) + 3, 7, 0x100000001ULL, 0, 4096, 0xffffffffULL,
		0x100000000ULL, 1, (1ULL << 40) + 3, 0x7ffffffeULL, 7,
	};
	unsigned int n = ARRAY_SIZE(sectors), i, got = 0;
	struct rb_root tree = RB_ROOT;
	struct aurora_io *ios, *prev = NULL;
	struct bio *bios;

	ios = kunit_kcalloc(test, n, sizeof(*ios), GFP_KERNEL);
	bios = kunit_kcalloc(test, n, sizeof(*bios), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ios);
	KUNIT_ASSERT_NOT_NULL(test, bios);

	KUNIT_EXPECT_NULL(test, aurora_write_tree_pop(&tree));
	for (i = 0; i < n; i++) {
		bios[i].bi_iter.bi_sector = sectors[i];
		ios[i].clone = &bios[i];
		/* Only the first insertion finds the tree empty (a wakeup). */
		KUNIT_EXPECT_EQ_MSG(test, i == 0,
				    aurora_write_tree_add(&tree, &ios[i]),
				    "insertion %u", i);
	}

	while (got <= n) {
		struct aurora_io *cur = aurora_write_tree_pop(&tree);

		if (!cur)
			break;
		got++;
		if (prev) {
			sector_t a = prev->clone->bi_iter.bi_sector;
			sector_t b = cur->clone->bi_iter.bi_sector;

			KUNIT_EXPECT_LE_MSG(test, a, b, "sector %llu after %llu",
					    (unsigned long long)b,
					    (unsigned long long)a);
			/* Same sector: in the order of insertion. */
			if (a == b)
				KUNIT_EXPECT_LT_MSG(test, prev - ios, cur - ios,
						    "sector %llu",
						    (unsigned long long)a);
		}
		prev = cur;
	}
	KUNIT_EXPECT_EQ(test, n, got);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&tree));
}

/* ---- which I/O is converted where it is ---- */

/*
 * A run of I/O alone in flight: the first, then the 2nd, 4th, 8th, ... up
 * to the 1024th, then every 1024th go to the workqueue (the probes); an
 * I/O with another in flight goes there too and starts a new run.
 */
static void aurora_test_alone(struct kunit *test)
{
	unsigned int i, queued = 0;
	atomic_t lone = ATOMIC_INIT(0);

	for (i = 1; i <= 4 * AURORA_PROBE_MAX; i++) {
		bool probe = i <= AURORA_PROBE_MAX ? is_power_of_2(i) :
			     !(i % AURORA_PROBE_MAX);

		KUNIT_EXPECT_EQ_MSG(test, !probe, aurora_alone(1, &lone),
				    "lone I/O %u", i);
		queued += probe;
	}
	/* 1, 2, 4, ..., 1024 (11 of them), then 2048, 3072 and 4096. */
	KUNIT_EXPECT_EQ(test, queued, ilog2(AURORA_PROBE_MAX) + 1 + 3);

	/* Another I/O in flight: queued, and the run starts again. */
	KUNIT_EXPECT_FALSE(test, aurora_alone(2, &lone));
	KUNIT_EXPECT_EQ(test, atomic_read(&lone), 0);
	KUNIT_EXPECT_FALSE(test, aurora_alone(1, &lone));
	KUNIT_EXPECT_FALSE(test, aurora_alone(1, &lone));
	KUNIT_EXPECT_TRUE(test, aurora_alone(1, &lone));
	KUNIT_EXPECT_FALSE(test, aurora_alone(1, &lone));
	KUNIT_EXPECT_FALSE(test, aurora_alone(32, &lone));
	KUNIT_EXPECT_FALSE(test, aurora_alone(1, &lone));

	/* The count wraps without stopping the probes or the inline path. */
	atomic_set(&lone, -2);		/* the next is 2^32 - 1 */
	KUNIT_EXPECT_TRUE(test, aurora_alone(1, &lone));
	KUNIT_EXPECT_TRUE(test, aurora_alone(1, &lone));	/* 0 */
	KUNIT_EXPECT_FALSE(test, aurora_alone(1, &lone));	/* 1 */
}

static struct kunit_case aurora_test_cases[] = {
	KUNIT_CASE(aurora_test_key_ok),
	KUNIT_CASE(aurora_test_key_bad),
	KUNIT_CASE(aurora_test_opts_ok),
	KUNIT_CASE(aurora_test_opts_bad),
	KUNIT_CASE(aurora_test_iv),
	KUNIT_CASE(aurora_test_reason),
	KUNIT_CASE(aurora_test_states),
	KUNIT_CASE(aurora_test_tfm_no_alloc),
	KUNIT_CASE(aurora_test_write_order),
	KUNIT_CASE(aurora_test_alone),
	{}
};

static struct kunit_suite aurora_test_suite = {
	.name = "dm-aurora",
	.test_cases = aurora_test_cases,
};

kunit_test_suite(aurora_test_suite);
