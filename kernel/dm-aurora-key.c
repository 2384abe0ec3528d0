// SPDX-License-Identifier: GPL-2.0
/*
 * dm-aurora: keyring key lookup, cipher setup, revocation watch, wipe.
 *
 * The data key lives in the kernel keyring as a 64-byte logon key.  The
 * target copies it into the xts(aes) transform and keeps a reference to the
 * key itself, only to notice when it is revoked, invalidated or expires.
 * From then on the target is inaccessible: new bios fail, the transform is
 * freed (the crypto API zeroizes its context on free) and the key reference
 * is dropped.  "key set" while suspended, then resume, makes it active
 * again.  Only the "terminal" message makes it terminal, for good.
 *
 * ac->tfm and ac->key are read under ac->srcu (the I/O path) and replaced
 * under ac->key_lock, the old ones freed or put only after
 * synchronize_srcu().  ac->state_lock serializes the messages that change
 * the key against suspend and resume; it is taken before key_lock.  The
 * state bits and the reason are set under ac->reason_lock (a spinlock, taken
 * last), so that the I/O path can set them.
 */

#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <keys/user-type.h>

#include "dm-aurora.h"

/*
 * Parse a key reference ":64:logon:<description>".  On success *desc points
 * into ref, at the description.
 */
int aurora_key_parse(const char *ref, const char **desc, char **error)
{
	static const char size_part[] = ":64:";
	static const char type_part[] = AURORA_DM_KEY_TYPE ":";

	if (ref[0] != ':') {
		*error = "Hex keys are refused; use :64:logon:<description>";
		return -EINVAL;
	}
	if (strncmp(ref, size_part, sizeof(size_part) - 1)) {
		*error = "Invalid key size; 64 bytes needed (:64:logon:<description>)";
		return -EINVAL;
	}
	ref += sizeof(size_part) - 1;
	if (strncmp(ref, type_part, sizeof(type_part) - 1)) {
		*error = "Invalid key type; only logon keys (:64:logon:<description>)";
		return -EINVAL;
	}
	*desc = ref + sizeof(type_part) - 1;
	if (!**desc) {
		*error = "Empty key description";
		return -EINVAL;
	}
	return 0;
}

/* Copy the key payload under the key's lock and set it on tfm. */
static int aurora_setkey_from(struct crypto_skcipher *tfm, struct key *key,
			      char **error)
{
	const struct user_key_payload *ukp;
	u8 *buf;
	int r;

	buf = kmalloc(AURORA_DM_KEY_SIZE, GFP_KERNEL);
	if (!buf) {
		*error = "Cannot allocate key buffer";
		return -ENOMEM;
	}

	down_read(&key->sem);
	r = key_validate(key);
	ukp = user_key_payload_locked(key);
	if (r) {
		*error = "Key is revoked, invalidated or expired";
	} else if (!ukp) {
		*error = "Key is revoked";
		r = -EKEYREVOKED;
	} else if (ukp->datalen != AURORA_DM_KEY_SIZE) {
		*error = "Key payload is not 64 bytes";
		r = -EINVAL;
	} else {
		memcpy(buf, ukp->data, AURORA_DM_KEY_SIZE);
	}
	up_read(&key->sem);

	if (!r) {
		r = crypto_skcipher_setkey(tfm, buf, AURORA_DM_KEY_SIZE);
		if (r)
			*error = "Cannot set the key on the cipher";
	}
	kfree_sensitive(buf);
	return r;
}

/*
 * Under key_lock: install @tfm (NULL: none, the key is wiped) and, with
 * @put, @key in place of the current ones; wait until the I/O path no longer
 * uses the old ones, and hand them back in *@old and *@old_key (NULL if
 * none), for the caller to free after releasing key_lock.  May sleep.
 */
static void aurora_key_swap(struct aurora_c *ac, struct crypto_skcipher *tfm,
			    struct key *key, bool put,
			    struct crypto_skcipher **old, struct key **old_key)
{
	lockdep_assert_held(&ac->key_lock);
	if (tfm)
		clear_bit(AURORA_KEY_WIPED, &ac->flags);
	else
		set_bit(AURORA_KEY_WIPED, &ac->flags);
	*old = rcu_replace_pointer(ac->tfm, tfm,
				   lockdep_is_held(&ac->key_lock));
	*old_key = NULL;
	if (put)
		*old_key = rcu_replace_pointer(ac->key, key,
					       lockdep_is_held(&ac->key_lock));
	if (*old || *old_key)
		synchronize_srcu(&ac->srcu);
}

/*
 * The cipher of a target.  As dm-crypt: no implementation that allocates
 * memory per request, which could fail under the memory pressure writes
 * relieve (KUnit: aurora_test_tfm_no_alloc).
 */
struct crypto_skcipher *aurora_alloc_tfm(void)
{
	return crypto_alloc_skcipher("xts(aes)", 0, CRYPTO_ALG_ALLOCATES_MEMORY);
}

/*
 * Look up the logon key @desc in the calling process's keyrings, build a
 * keyed transform from it and install both.  Called from the constructor
 * and from "key set" while suspended (under state_lock).  While the target
 * is inaccessible, the key is installed but the target stays inaccessible:
 * the next resume makes it active (aurora_key_recover()).
 */
int aurora_key_load(struct aurora_c *ac, const char *desc, char **error)
{
	struct crypto_skcipher *tfm, *old;
	struct key *key, *old_key;
	bool noticed = false, recovering;
	char *new_desc;
	int r;

	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key)) {
		r = PTR_ERR(key);
		if (r == -EKEYREVOKED)
			*error = "Key is revoked";
		else if (r == -EKEYEXPIRED)
			*error = "Key has expired";
		else
			*error = "Key not found in the keyrings of the loading process";
		return r;
	}

	new_desc = kstrdup(desc, GFP_KERNEL);
	if (!new_desc) {
		*error = "Cannot allocate key description";
		r = -ENOMEM;
		goto put_key;
	}

	tfm = aurora_alloc_tfm();
	if (IS_ERR(tfm)) {
		*error = "Cannot allocate xts(aes) cipher";
		r = PTR_ERR(tfm);
		goto free_desc;
	}

	if (ac->reqsize && (crypto_skcipher_reqsize(tfm) > ac->reqsize ||
			    crypto_skcipher_alignmask(tfm) > ac->alignmask)) {
		*error = "Cipher implementation changed; reload the table";
		r = -EINVAL;
		goto free_tfm;
	}

	r = aurora_setkey_from(tfm, key, error);
	if (r)
		goto free_tfm;

again:
	mutex_lock(&ac->key_lock);
	if (aurora_is_terminal(ac)) {
		mutex_unlock(&ac->key_lock);
		*error = "Target is terminal";
		r = -EKEYREVOKED;
		goto free_tfm;
	}
	/*
	 * A loss of the key in use is not lost by replacing it: the target
	 * goes inaccessible, as the watch would have made it, and this key
	 * set is refused.  Once the target is inaccessible, a key set is the
	 * recovery path.  A move to inaccessible not completed yet (the I/O
	 * path noticed, the watch has not run) is completed first, so that
	 * its wipe cannot come after the new key.
	 */
	if (!aurora_out_of_service(ac) && rcu_access_pointer(ac->key) &&
	    aurora_key_check(ac))
		noticed = true;
	if (noticed || (aurora_is_inaccessible(ac) &&
			!test_bit(AURORA_INACCESSIBLE_DONE, &ac->flags))) {
		mutex_unlock(&ac->key_lock);
		aurora_finish_inaccessible(ac, false);
		if (!noticed)
			goto again;
		*error = "Key in use revoked, invalidated or expired: target is inaccessible";
		r = -EKEYREVOKED;
		goto free_tfm;
	}
	if (!ac->reqsize) {
		ac->reqsize = crypto_skcipher_reqsize(tfm);
		ac->alignmask = crypto_skcipher_alignmask(tfm);
	}
	aurora_key_swap(ac, tfm, key, true, &old, &old_key);
	kfree(ac->key_desc);
	ac->key_desc = new_desc;
	recovering = aurora_is_inaccessible(ac);
	mutex_unlock(&ac->key_lock);
	crypto_free_skcipher(old);
	key_put(old_key);
	if (recovering)
		DMINFO("%s: key set while inaccessible: active again on resume",
		       dm_table_device_name(ac->ti->table));
	return 0;

free_tfm:
	crypto_free_skcipher(tfm);
free_desc:
	kfree(new_desc);
put_key:
	key_put(key);
	return r;
}

/*
 * Remove the cipher context from memory, and with @put the key reference
 * too (the target leaves service).  Without it the reference is kept so
 * that a revocation is still noticed.  Waits for crypto users.  May sleep.
 */
void aurora_key_wipe(struct aurora_c *ac, bool put)
{
	struct crypto_skcipher *old;
	struct key *old_key;

	mutex_lock(&ac->key_lock);
	aurora_key_swap(ac, NULL, NULL, put, &old, &old_key);
	mutex_unlock(&ac->key_lock);
	/* frees the context with kfree_sensitive(): keys are zeroized */
	crypto_free_skcipher(old);
	key_put(old_key);
}

void aurora_sanitize_reason(char *dst, const char *src)
{
	unsigned int i;

	for (i = 0; i < AURORA_DM_REASON_MAX - 1 && src[i]; i++) {
		char c = src[i];

		dst[i] = (isalnum(c) || c == '.' || c == '_' || c == ':' ||
			  c == '-') ? c : '_';
	}
	dst[i] = '\0';
}

/*
 * Mark the target terminal (sticky), with @reason in place of any
 * inaccessible one.  Safe in any process context, no sleeping; the wipe and
 * the event happen in aurora_go_terminal().
 */
void aurora_set_terminal(struct aurora_c *ac, const char *reason)
{
	spin_lock(&ac->reason_lock);
	if (!aurora_is_terminal(ac)) {
		aurora_sanitize_reason(ac->reason, reason);
		set_bit(AURORA_TERMINAL, &ac->flags);
	}
	spin_unlock(&ac->reason_lock);
}

/*
 * Mark terminal, wipe the key material, drop the key reference and raise a
 * dm event (once).  Only the "terminal" message calls it.  May sleep.
 */
void aurora_go_terminal(struct aurora_c *ac, const char *reason)
{
	aurora_set_terminal(ac, reason);
	aurora_key_wipe(ac, true);
	if (!test_and_set_bit(AURORA_TERMINAL_DONE, &ac->flags)) {
		spin_lock(&ac->reason_lock);
		DMWARN("%s: terminal: %s",
		       dm_table_device_name(ac->ti->table), ac->reason);
		spin_unlock(&ac->reason_lock);
		dm_table_event(ac->ti->table);
	}
}

/*
 * Mark an active target inaccessible with @reason; an inaccessible target
 * keeps its first reason, a terminal one stays terminal.  Safe in any
 * process context (the I/O path), no sleeping; the wipe and the event
 * happen in aurora_finish_inaccessible().  Returns true if this call made
 * the target inaccessible.
 */
bool aurora_set_inaccessible(struct aurora_c *ac, const char *reason)
{
	bool changed = false;

	spin_lock(&ac->reason_lock);
	if (!aurora_out_of_service(ac)) {
		aurora_sanitize_reason(ac->reason, reason);
		set_bit(AURORA_INACCESSIBLE, &ac->flags);
		changed = true;
	}
	spin_unlock(&ac->reason_lock);
	return changed;
}

/*
 * Complete the move to inaccessible: wipe the cipher context, drop the key
 * reference, log and raise a dm event, once per transition.  With @force
 * (the "inaccessible" message) a key installed by "key set" since is wiped
 * too: the recovery it prepared is called off.  Nothing to do when the
 * target is active or terminal (aurora_go_terminal() wipes).  May sleep.
 */
void aurora_finish_inaccessible(struct aurora_c *ac, bool force)
{
	struct crypto_skcipher *old = NULL;
	struct key *old_key = NULL;
	bool first = false;

	mutex_lock(&ac->key_lock);
	if (aurora_is_inaccessible(ac) && !aurora_is_terminal(ac)) {
		first = !test_bit(AURORA_INACCESSIBLE_DONE, &ac->flags);
		if (first || force) {
			aurora_key_swap(ac, NULL, NULL, true, &old, &old_key);
			set_bit(AURORA_INACCESSIBLE_DONE, &ac->flags);
		}
	}
	mutex_unlock(&ac->key_lock);
	crypto_free_skcipher(old);
	key_put(old_key);
	if (first) {
		spin_lock(&ac->reason_lock);
		DMWARN("%s: inaccessible: %s",
		       dm_table_device_name(ac->ti->table), ac->reason);
		spin_unlock(&ac->reason_lock);
		dm_table_event(ac->ti->table);
	}
}

/* The "inaccessible <reason>" message.  May sleep. */
void aurora_go_inaccessible(struct aurora_c *ac, const char *reason)
{
	aurora_set_inaccessible(ac, reason);
	aurora_finish_inaccessible(ac, true);
}

/*
 * Called by preresume, under state_lock, while the target is inaccessible.
 * If the move to inaccessible is complete and "key set" installed a key
 * since (not wiped again), and that key is still valid, the target is
 * active again: the reason is cleared and a dm event raised.  A key that
 * was revoked, invalidated or expired meanwhile is dropped and the target
 * stays inaccessible.  Returns true if the target is active again.  May
 * sleep.
 */
bool aurora_key_recover(struct aurora_c *ac)
{
	struct crypto_skcipher *old = NULL;
	struct key *key, *old_key = NULL;
	bool ok = false, dropped = false;

	mutex_lock(&ac->key_lock);
	key = rcu_dereference_protected(ac->key,
					lockdep_is_held(&ac->key_lock));
	if (!test_bit(AURORA_INACCESSIBLE_DONE, &ac->flags) ||
	    test_bit(AURORA_KEY_WIPED, &ac->flags) || !key)
		goto unlock;
	if (key_validate(key)) {
		aurora_key_swap(ac, NULL, NULL, true, &old, &old_key);
		dropped = true;
		goto unlock;
	}
	spin_lock(&ac->reason_lock);
	if (!aurora_is_terminal(ac)) {
		clear_bit(AURORA_INACCESSIBLE_DONE, &ac->flags);
		clear_bit(AURORA_INACCESSIBLE, &ac->flags);
		ac->reason[0] = '\0';
		ok = true;
	}
	spin_unlock(&ac->reason_lock);
unlock:
	mutex_unlock(&ac->key_lock);
	crypto_free_skcipher(old);
	key_put(old_key);
	if (dropped)
		DMWARN("%s: the key set is revoked, invalidated or expired: still inaccessible",
		       dm_table_device_name(ac->ti->table));
	if (ok) {
		DMINFO("%s: active again", dm_table_device_name(ac->ti->table));
		dm_table_event(ac->ti->table);
	}
	return ok;
}

/*
 * Check the key's state; cheap enough for the I/O path.  Returns true and
 * marks the target inaccessible if the key was revoked, invalidated or
 * expired.  The caller holds ac->key_lock or is in an ac->srcu read
 * section.  No key (dropped when leaving service) is not a verdict of its
 * own.
 */
bool aurora_key_check(struct aurora_c *ac)
{
	struct key *key = srcu_dereference_check(ac->key, &ac->srcu,
						 lockdep_is_held(&ac->key_lock));
	int r;

	if (!key)
		return aurora_out_of_service(ac);
	r = key_validate(key);
	if (likely(!r))
		return false;
	if (r == -EKEYREVOKED)
		aurora_set_inaccessible(ac, AURORA_DM_REASON_REVOKED);
	else if (r == -EKEYEXPIRED)
		aurora_set_inaccessible(ac, AURORA_DM_REASON_EXPIRED);
	else
		aurora_set_inaccessible(ac, AURORA_DM_REASON_INVALIDATED);
	return true;
}

/*
 * Periodic key watch: notices a lost key even with no I/O, and completes a
 * move to inaccessible that the I/O path noticed.  Runs until terminal.
 */
void aurora_watch_fn(struct work_struct *work)
{
	struct aurora_c *ac = container_of(to_delayed_work(work),
					   struct aurora_c, watch);

	if (!aurora_out_of_service(ac)) {
		mutex_lock(&ac->key_lock);
		aurora_key_check(ac);
		mutex_unlock(&ac->key_lock);
	}
	/* aurora_go_terminal() wiped and raised the event itself */
	if (aurora_is_terminal(ac))
		return;
	if (aurora_is_inaccessible(ac))
		aurora_finish_inaccessible(ac, false);
	queue_delayed_work(system_wq, &ac->watch, AURORA_WATCH_PERIOD);
}
