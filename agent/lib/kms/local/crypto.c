// SPDX-License-Identifier: GPL-2.0
/* aurora: the embedded KMS's master key, key material and blobs (see local.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "kms/local/local.h"

/* ------------------------------------------------------------------ */
/* Master key and material                                            */

static int gcm(bool enc, const uint8_t *key, const uint8_t *iv, const uint8_t *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ret = -1;

	if (!c)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) != 1)
		goto out;
	if (aadlen && EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) != 1)
		goto out;
	if (EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 || (size_t)n != len)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &n) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return ret;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t mat_aad(uint8_t *aad, const char *id, uint32_t version)
{
	static const char pfx[] = "aurora-keystore-v1";

	memcpy(aad, pfx, sizeof(pfx));
	memcpy(aad + sizeof(pfx), id, 36);
	put_be32(aad + sizeof(pfx) + 36, version);
	return sizeof(pfx) + 36 + 4;
}

static int load_master(struct local_priv *p, struct aur_kms_status *st)
{
	uint8_t buf[MAT_LEN + 1];
	struct stat sb;
	ssize_t n;
	int fd;

	if (p->mk)
		return 0;
	p->mk = aur_secret_alloc(MAT_LEN);
	if (!p->mk)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory for the keystore key: %s",
			    strerror(errno)), -ENOMEM;
	fd = open(p->master, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		/*
		 * A new master key only for a new keystore: never while
		 * keystore.json holds keys (they are wrapped under the old
		 * one: a keystore only partly there, e.g. a filesystem not
		 * mounted), never from a read.
		 */
		if (p->ks.nkeys) {
			aur_kms_fail(st, AUR_KMS_E_CONFIG, 0,
				     "%s is missing but %s holds %zu CMKs wrapped under it: not creating a new master key (is the keystore complete and mounted?)",
				     p->master, p->file, p->ks.nkeys);
			goto free;
		}
		if (!p->writing) {
			aur_kms_fail(st, AUR_KMS_E_CONFIG, 0, "%s does not exist", p->master);
			goto free;
		}
		if (RAND_priv_bytes(p->mk->data, MAT_LEN) != 1)
			goto bad;
		if (aur_write_file_atomic(p->master, p->mk->data, MAT_LEN, 0600))
			goto bad;
		return 0;
	}
	if (fd < 0)
		goto bad;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || (sb.st_mode & 077)) {
		close(fd);
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s must be a regular file of mode 0600", p->master);
		goto free;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != MAT_LEN) {
		explicit_bzero(buf, sizeof(buf));
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: not a %d-byte key", p->master, MAT_LEN);
		goto free;
	}
	memcpy(p->mk->data, buf, MAT_LEN);
	explicit_bzero(buf, sizeof(buf));
	return 0;
bad:
	aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "%s: %s", p->master, strerror(errno ? errno : EIO));
free:
	aur_secret_free(p->mk);
	p->mk = NULL;
	return -EIO;
}

int lk_mat_new(struct local_priv *p, struct lkey *k, struct aur_kms_status *st)
{
	struct aur_secret *m;
	struct lmat *nm;
	uint8_t aad[64];
	size_t al;
	int r = -EIO;

	if (k->nmat >= MAX_MATERIALS)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "too many key material versions"), -ENOSPC;
	if (load_master(p, st))
		return -EIO;
	nm = realloc(k->mat, (k->nmat + 1) * sizeof(*nm));
	if (!nm)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "out of memory"), -ENOMEM;
	k->mat = nm;
	nm = &k->mat[k->nmat];
	m = aur_secret_alloc(MAT_LEN);
	if (!m)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory"), -ENOMEM;
	nm->version = (uint32_t)k->nmat + 1;
	nm->created = lk_now(p);
	al = mat_aad(aad, k->id, nm->version);
	if (RAND_priv_bytes(m->data, MAT_LEN) == 1 && RAND_bytes(nm->wrapped, 12) == 1 &&
	    !gcm(true, p->mk->data, nm->wrapped, aad, al, m->data, MAT_LEN,
		 nm->wrapped + 28, nm->wrapped + 12)) {
		k->nmat++;
		r = 0;
	} else {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot create key material");
	}
	aur_secret_free(m);
	return r;
}

/* Unwrap material @version of @k into a new secret. */
struct aur_secret *lk_mat_get(struct local_priv *p, const struct lkey *k, uint32_t version,
				  struct aur_kms_status *st)
{
	struct aur_secret *m;
	const struct lmat *lm;
	uint8_t aad[64], tag[16];
	size_t al;

	if (version < 1 || version > k->nmat)
		return NULL;
	if (load_master(p, st))
		return NULL;
	lm = &k->mat[version - 1];
	m = aur_secret_alloc(MAT_LEN);
	if (!m) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory");
		return NULL;
	}
	memcpy(tag, lm->wrapped + 12, 16);
	al = mat_aad(aad, k->id, version);
	if (gcm(false, p->mk->data, lm->wrapped, aad, al, lm->wrapped + 28, MAT_LEN, m->data, tag)) {
		aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0,
		     "key material of %s cannot be unwrapped with %s (wrong or damaged keystore key)",
		     k->id, p->master);
		aur_secret_free(m);
		return NULL;
	}
	return m;
}

/* ------------------------------------------------------------------ */
/* Wrapping                                                           */

static int ctx_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Canonical AAD; returns its length or 0 when it does not fit. */
static size_t wrap_aad(uint8_t *aad, size_t size, const char *key_id, uint32_t version,
		       const struct aur_enc_ctx *ctx)
{
	static const char pfx[] = "aurora-kms-wrap-v1";
	const char *keys[AUR_ENC_CTX_MAX];
	size_t n = ctx ? ctx->n : 0, i, off;

	if (n > AUR_ENC_CTX_MAX)
		return 0;
	off = sizeof(pfx);
	memcpy(aad, pfx, off);
	memcpy(aad + off, key_id, 36);
	off += 36;
	put_be32(aad + off, version);
	off += 4;
	put_be32(aad + off, (uint32_t)n);
	off += 4;
	for (i = 0; i < n; i++)
		keys[i] = ctx->kv[i].key;
	qsort(keys, n, sizeof(keys[0]), ctx_cmp);
	for (i = 0; i < n; i++) {
		const char *k = keys[i], *v = aur_enc_ctx_get(ctx, k);
		size_t kl = strnlen(k, AUR_ENC_CTX_STR_MAX), vl = strnlen(v, AUR_ENC_CTX_STR_MAX);

		if (off + 8 + kl + vl > size)
			return 0;
		put_be32(aad + off, (uint32_t)kl);
		memcpy(aad + off + 4, k, kl);
		off += 4 + kl;
		put_be32(aad + off, (uint32_t)vl);
		memcpy(aad + off + 4, v, vl);
		off += 4 + vl;
	}
	return off;
}

#define AAD_MAX (64 + AUR_ENC_CTX_MAX * (8 + 2 * AUR_ENC_CTX_STR_MAX))

aur_kerr lk_wrap(struct local_priv *p, const struct lkey *k, const struct aur_enc_ctx *ctx,
		     const uint8_t *pt, size_t len, struct aur_blob *out, struct aur_kms_status *st)
{
	uint32_t ver = (uint32_t)k->nmat;
	struct aur_secret *m;
	uint8_t aad[AAD_MAX];
	size_t al;
	int r;

	if (len == 0 || len > AUR_DATA_KEY_MAX || BLOB_HDR + len > AUR_BLOB_MAX)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: plaintext size");
	al = wrap_aad(aad, sizeof(aad), k->id, ver, ctx);
	if (!al)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: encryption context too large");
	m = lk_mat_get(p, k, ver, st);
	if (!m)
		return st ? st->code : AUR_KMS_E_INTERNAL;
	memcpy(out->data, BLOB_MAGIC, 4);
	memcpy(out->data + 4, k->id, 36);
	put_be32(out->data + 40, ver);
	r = RAND_bytes(out->data + 44, 12) != 1 ||
	    gcm(true, m->data, out->data + 44, aad, al, pt, len, out->data + BLOB_HDR, out->data + 56);
	aur_secret_free(m);
	if (r)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "encryption failed");
	out->len = BLOB_HDR + len;
	return AUR_KMS_OK;
}

/* Parse a blob's key id; AUR_KMS_OK or InvalidCiphertext. */
static aur_kerr blob_key(const struct aur_blob *b, char id[37], uint32_t *ver,
			 struct aur_kms_status *st)
{
	if (!b || b->len <= BLOB_HDR || b->len > BLOB_HDR + AUR_DATA_KEY_MAX ||
	    memcmp(b->data, BLOB_MAGIC, 4))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext blob is not an aurora KMS blob");
	memcpy(id, b->data + 4, 36);
	id[36] = '\0';
	if (!aur_uuid_valid(id))
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext blob names no valid key");
	*ver = get_be32(b->data + 40);
	return AUR_KMS_OK;
}

/*
 * Unwrap @b: the key from the blob, checked against @key_id when given;
 * access and state checked; *pt allocated in locked memory.
 */
aur_kerr lk_unwrap(struct aur_kms *kms, const char *key_id, const struct aur_enc_ctx *ctx,
		       const struct aur_blob *b, struct aur_secret **pt, struct lkey **kout,
		       struct aur_kms_status *st)
{
	struct local_priv *p = kms->priv;
	struct lkey *k = NULL, *named = NULL;
	struct aur_secret *m, *out;
	uint8_t aad[AAD_MAX], tag[16];
	char id[37], arn[AUR_ARN_MAX];
	uint32_t ver = 0;
	size_t al, len;
	aur_kerr e;

	*pt = NULL;
	if (key_id && *key_id) {
		e = lk_resolve(kms, key_id, USE_CRYPTO, false, &named, st);
		if (e)
			return e;
		*kout = named;
	}
	e = blob_key(b, id, &ver, st);
	if (e)
		return e;
	if (named && strcmp(named->id, id)) {
		lk_key_arn(named, arn, sizeof(arn));
		return aur_kms_fail(st, AUR_KMS_E_INCORRECT_KEY, 0,
			    "the ciphertext was not encrypted under %s", arn);
	}
	if (named) {
		k = named;
	} else {
		k = lk_find_id(&p->ks, id);
		if (!k)
			return aur_kms_fail(st, lk_not_found_code(p), 0, "the key %s of this ciphertext does not exist", id);
		*kout = k;
		if (strcmp(k->region, kms->region))
			return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0,
				    "the ciphertext belongs to region %s", k->region);
		if (!lk_policy_allows(k, kms->account)) {
			lk_key_arn(k, arn, sizeof(arn));
			return aur_kms_fail(st, AUR_KMS_E_ACCESS_DENIED, 0,
				    "account %s is not allowed to use %s by its key policy",
				    kms->account, arn);
		}
	}
	e = lk_usable(k, st);
	if (e)
		return e;
	if (ver < 1 || ver > k->nmat)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0, "ciphertext names an unknown key material version");
	al = wrap_aad(aad, sizeof(aad), k->id, ver, ctx);
	if (!al)
		return aur_kms_fail(st, AUR_KMS_E_INVALID_ARG, 0, "ValidationException: encryption context too large");
	len = b->len - BLOB_HDR;
	m = lk_mat_get(p, k, ver, st);
	if (!m)
		return st ? st->code : AUR_KMS_E_INTERNAL;
	out = aur_secret_alloc(len);
	if (!out) {
		aur_secret_free(m);
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot lock memory");
	}
	memcpy(tag, b->data + 56, 16);
	if (gcm(false, m->data, b->data + 44, aad, al, b->data + BLOB_HDR, len, out->data, tag)) {
		aur_secret_free(m);
		aur_secret_free(out);
		return aur_kms_fail(st, AUR_KMS_E_INVALID_CIPHERTEXT, 0,
			    "the ciphertext is damaged or its encryption context does not match");
	}
	aur_secret_free(m);
	*pt = out;
	return AUR_KMS_OK;
}


/* ------------------------------------------------------------------ */
/* Identity                                                           */

aur_kerr lk_identity(struct aur_kms *kms, char *out, size_t len, struct aur_kms_status *st)
{
	static const char label[] = "aurora keystore identity v1";
	struct local_priv *p = kms->priv;
	uint8_t md[32];
	unsigned int mdlen = sizeof(md);
	EVP_MD_CTX *c;
	int fd, ok;
	size_t i;

	out[0] = '\0';
	if (!p->mk) {
		/* No master key yet: no identity, and nothing is created. */
		fd = open(p->master, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			return AUR_KMS_OK;
		if (fd >= 0)
			close(fd);
		if (load_master(p, st))
			return st ? st->code : AUR_KMS_E_INTERNAL;
	}
	c = EVP_MD_CTX_new();
	ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(c, label, sizeof(label) - 1) == 1 &&
	     EVP_DigestUpdate(c, p->mk->data, MAT_LEN) == 1 &&
	     EVP_DigestFinal_ex(c, md, &mdlen) == 1;
	EVP_MD_CTX_free(c);
	if (!ok || len < 3 + 32 + 1)
		return aur_kms_fail(st, AUR_KMS_E_INTERNAL, 0, "cannot derive the keystore identity");
	memcpy(out, "ks-", 3);
	for (i = 0; i < 16; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof(md));
	aur_kms_ok(st);
	return AUR_KMS_OK;
}
