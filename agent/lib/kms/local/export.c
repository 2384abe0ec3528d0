// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: export and import of the embedded KMS's keystore (keystore.json
 * and master.key), protected by a recovery passphrase stretched with
 * Argon2id (libargon2) and sealed with AES-256-GCM.  The file format is in
 * kms_local.h and Documentation/backup.md.
 *
 * The master key and the derived key live only in struct aur_secret
 * (mlocked, wiped on free).  Import writes only into an empty keystore (no
 * master.key, no keystore.json) or into the keystore the export was made
 * of (same identity), under the keystore's exclusive lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "kms/local/local.h"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int aur_kms_local_parse_export(const uint8_t *buf, size_t len, struct aur_ksx_hdr *h,
			       char *err, size_t errlen)
{
	uint32_t n;
	size_t i;

	memset(h, 0, sizeof(*h));
	if (len < AUR_KSX_HDR + AUR_KSX_TAG || memcmp(buf, AUR_KSX_MAGIC, 8)) {
		snprintf(err, errlen, "not an aurora keystore export (no AURKSX magic)");
		return -EINVAL;
	}
	if (get32(buf + 8) != AUR_KSX_VERSION) {
		snprintf(err, errlen, "keystore export version %u; this aurora reads version %d",
			 get32(buf + 8), AUR_KSX_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (get32(buf + 12) != AUR_KSX_KDF_ARGON2ID) {
		snprintf(err, errlen, "unknown key derivation %u (only 2, Argon2id)", get32(buf + 12));
		return -EINVAL;
	}
	h->t_cost = get32(buf + 16);
	h->m_cost_kib = get32(buf + 20);
	h->parallelism = get32(buf + 24);
	n = get32(buf + 28);
	if (h->t_cost < 1 || h->t_cost > AUR_KSX_T_MAX || h->parallelism < 1 ||
	    h->parallelism > AUR_KSX_P_MAX || h->m_cost_kib < AUR_KSX_M_MIN ||
	    h->m_cost_kib > AUR_KSX_M_MAX || h->m_cost_kib < 8 * h->parallelism) {
		snprintf(err, errlen, "Argon2id parameters out of range (t=%u m=%u KiB p=%u)",
			 h->t_cost, h->m_cost_kib, h->parallelism);
		return -EINVAL;
	}
	if (n < AUR_KSX_PAYLOAD_MIN || n > AUR_KSX_PAYLOAD_MIN + AUR_KEYSTORE_MAX_SIZE ||
	    (size_t)n != len - AUR_KSX_HDR - AUR_KSX_TAG) {
		snprintf(err, errlen, "payload length %u does not match the file (%zu bytes)", n, len);
		return -EINVAL;
	}
	if (get32(buf + 76) != 0) {
		snprintf(err, errlen, "reserved bytes are not zero");
		return -EINVAL;
	}
	memcpy(h->salt, buf + 32, sizeof(h->salt));
	memcpy(h->iv, buf + 64, sizeof(h->iv));
	/* identity: "ks-" and 32 hex digits, NUL-padded */
	memcpy(h->identity, buf + 80, AUR_KSX_ID_LEN);
	h->identity[AUR_KSX_ID_LEN] = '\0';
	if (strlen(h->identity) != 35 || strncmp(h->identity, "ks-", 3)) {
		snprintf(err, errlen, "bad keystore identity in the header");
		return -EINVAL;
	}
	for (i = 3; i < 35; i++)
		if (!strchr("0123456789abcdef", h->identity[i])) {
			snprintf(err, errlen, "bad keystore identity in the header");
			return -EINVAL;
		}
	for (i = 35; i < AUR_KSX_ID_LEN; i++)
		if (buf[80 + i]) {
			snprintf(err, errlen, "bad keystore identity in the header");
			return -EINVAL;
		}
	h->payload_len = n;
	return 0;
}

int aur_kms_local_parse_export_payload(const uint8_t *pt, size_t len, size_t *json_off,
				       size_t *json_len, char *err, size_t errlen)
{
	uint32_t l;

	if (len < AUR_KSX_PAYLOAD_MIN || memcmp(pt, "AKSP", 4) || get32(pt + 4) != MAT_LEN) {
		snprintf(err, errlen, "the decrypted payload is malformed");
		return -EINVAL;
	}
	l = get32(pt + 8 + MAT_LEN);
	if ((size_t)l != len - AUR_KSX_PAYLOAD_MIN) {
		snprintf(err, errlen, "the decrypted payload's keystore.json length is wrong");
		return -EINVAL;
	}
	*json_off = AUR_KSX_PAYLOAD_MIN;
	*json_len = l;
	if (aur_kms_local_parse_keystore((const char *)pt + AUR_KSX_PAYLOAD_MIN, l, err, errlen))
		return -EINVAL;
	return 0;
}

/* The key that seals the export: Argon2id(passphrase, salt), 32 bytes, secmem. */
static struct aur_secret *derive(const struct aur_secret *pass, const struct aur_ksx_hdr *h,
				 struct aur_error *err)
{
	struct aur_secret *k = aur_secret_alloc(32);
	int r;

	if (!k) {
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot lock memory for a key");
		return NULL;
	}
	r = argon2id_hash_raw(h->t_cost, h->m_cost_kib, h->parallelism, pass->data, pass->len,
			      h->salt, sizeof(h->salt), k->data, 32);
	if (r != ARGON2_OK) {
		aur_secret_free(k);
		aur_error_set(err, AUR_EXIT_FAILURE, "Argon2id: %s", argon2_error_message(r));
		return NULL;
	}
	return k;
}

/* AES-256-GCM; @enc: seal @in into @out and @tag, else open (tag checked). */
static int gcm(bool enc, const struct aur_secret *k, const uint8_t *iv, const uint8_t *aad,
	       size_t aadlen, const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n, ok;

	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_CipherInit_ex(c, NULL, NULL, k->data, iv, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	     EVP_CipherUpdate(c, out, &n, in, (int)len) == 1;
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, AUR_KSX_TAG, tag) == 1;
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + n, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, AUR_KSX_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -EBADMSG;
}

/* flock the keystore's .lock: @excl creates it (and the directory). */
static int lock_ks(struct local_priv *p, bool excl, struct aur_error *err)
{
	int fd;

	if (excl) {
		if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", p->dir, strerror(errno));
			return -errno;
		}
		fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	} else {
		fd = open(p->lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			return -ENOENT;	/* never written: nothing to lock */
	}
	if (fd < 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", p->lock, strerror(errno));
		return -errno;
	}
	if (flock(fd, excl ? LOCK_EX : LOCK_SH) != 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "lock %s: %s", p->lock, strerror(errno));
		close(fd);
		return -EIO;
	}
	return fd;
}

/* master.key into secmem: 0, -ENOENT, or another error (in @err). */
static int read_master(struct local_priv *p, struct aur_secret **mk, struct aur_error *err)
{
	uint8_t buf[MAT_LEN + 1];
	ssize_t n;
	int fd = open(p->master, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*mk = NULL;
	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", p->master, strerror(errno));
		return -EIO;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != MAT_LEN) {
		explicit_bzero(buf, sizeof(buf));
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: not a %d-byte key", p->master, MAT_LEN);
		return -EINVAL;
	}
	*mk = aur_secret_alloc(MAT_LEN);
	if (*mk)
		memcpy((*mk)->data, buf, MAT_LEN);
	explicit_bzero(buf, sizeof(buf));
	if (!*mk) {
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot lock memory for the master key");
		return -ENOMEM;
	}
	return 0;
}

/* The identity of master key @mk, as lk_identity() derives it. */
static int identity_of(const struct aur_secret *mk, char out[AUR_KSX_ID_LEN + 1])
{
	static const char label[] = "aurora keystore identity v1";
	uint8_t md[32];
	unsigned int mdlen = sizeof(md);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok, i;

	ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(c, label, sizeof(label) - 1) == 1 &&
	     EVP_DigestUpdate(c, mk->data, MAT_LEN) == 1 &&
	     EVP_DigestFinal_ex(c, md, &mdlen) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -EIO;
	memset(out, 0, AUR_KSX_ID_LEN + 1);
	memcpy(out, "ks-", 3);
	for (i = 0; i < 16; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof(md));
	return 0;
}

static int write_out(const char *file, const uint8_t *buf, size_t len, bool force,
		     struct aur_error *err)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int r;

	if (fd < 0 && errno == EEXIST && force)
		fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		aur_error_set(err, r == EEXIST ? AUR_EXIT_BUSY : AUR_EXIT_FAILURE, "%s: %s%s", file,
			      strerror(r), r == EEXIST ? " (--force overwrites it)" : "");
		return -r;
	}
	r = aur_pwrite_full(fd, buf, len, 0);
	if (!r && fsync(fd) != 0)
		r = -errno;
	close(fd);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", file, strerror(-r));
		unlink(file);
	}
	return r;
}

int aur_kms_local_export(struct aur_kms *kms, const char *file, const struct aur_secret *pass,
			 const struct aur_ksx_params *params, bool force, char *identity,
			 struct aur_error *err)
{
	struct local_priv *p;
	struct aur_ksx_hdr h = { 0 };
	struct aur_secret *mk = NULL, *pt = NULL, *k = NULL;
	uint8_t *out = NULL;
	char *json = NULL, id[AUR_KSX_ID_LEN + 1], e[256];
	size_t jlen = 0, n;
	int lock, r;

	if (!aur_kms_is_local(kms)) {
		aur_error_set(err, AUR_EXIT_USAGE, "only the embedded (local) KMS has a keystore to export");
		return -EINVAL;
	}
	p = kms->priv;
	if (!pass || pass->len < AUR_KSX_PASS_MIN) {
		aur_error_set(err, AUR_EXIT_USAGE, "the recovery passphrase must have at least %d characters",
			      AUR_KSX_PASS_MIN);
		return -EINVAL;
	}
	h.t_cost = params && params->t_cost ? params->t_cost : AUR_KSX_T_DEFAULT;
	h.m_cost_kib = params && params->m_cost_kib ? params->m_cost_kib : AUR_KSX_M_DEFAULT;
	h.parallelism = params && params->parallelism ? params->parallelism : AUR_KSX_P_DEFAULT;
	if (h.t_cost > AUR_KSX_T_MAX || h.parallelism > AUR_KSX_P_MAX ||
	    h.m_cost_kib < AUR_KSX_M_MIN || h.m_cost_kib > AUR_KSX_M_MAX ||
	    h.m_cost_kib < 8 * h.parallelism) {
		aur_error_set(err, AUR_EXIT_USAGE, "Argon2id parameters out of range: time 1..%d, "
			      "memory %d..%d KiB, parallelism 1..%d", AUR_KSX_T_MAX, AUR_KSX_M_MIN,
			      AUR_KSX_M_MAX, AUR_KSX_P_MAX);
		return -EINVAL;
	}
	lock = lock_ks(p, false, err);
	if (lock < 0 && lock != -ENOENT)
		return lock;
	r = read_master(p, &mk, err);
	if (r == -ENOENT)
		aur_error_set(err, AUR_EXIT_CONFIG, "the keystore at %s has no master.key: nothing to "
			      "export", p->dir);
	if (r)
		goto out;
	r = aur_read_file(p->file, AUR_KEYSTORE_MAX_SIZE, &json, &jlen);
	if (r) {
		aur_error_set(err, r == -ENOENT ? AUR_EXIT_CONFIG : AUR_EXIT_FAILURE, "%s: %s",
			      p->file, strerror(-r));
		goto out;
	}
	if (aur_kms_local_parse_keystore(json, jlen, e, sizeof(e))) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s: not exported", p->file, e);
		r = -EINVAL;
		goto out;
	}
	r = identity_of(mk, id);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot derive the keystore identity");
		goto out;
	}
	n = AUR_KSX_PAYLOAD_MIN + jlen;
	pt = aur_secret_alloc(n);
	out = calloc(1, AUR_KSX_HDR + n + AUR_KSX_TAG);
	if (!pt || !out) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory (or memory cannot be locked)");
		r = -ENOMEM;
		goto out;
	}
	memcpy(pt->data, "AKSP", 4);
	put32(pt->data + 4, MAT_LEN);
	memcpy(pt->data + 8, mk->data, MAT_LEN);
	put32(pt->data + 8 + MAT_LEN, (uint32_t)jlen);
	memcpy(pt->data + AUR_KSX_PAYLOAD_MIN, json, jlen);
	if (RAND_bytes(h.salt, sizeof(h.salt)) != 1 || RAND_bytes(h.iv, sizeof(h.iv)) != 1) {
		aur_error_set(err, AUR_EXIT_FAILURE, "no randomness");
		r = -EIO;
		goto out;
	}
	memcpy(out, AUR_KSX_MAGIC, 8);
	put32(out + 8, AUR_KSX_VERSION);
	put32(out + 12, AUR_KSX_KDF_ARGON2ID);
	put32(out + 16, h.t_cost);
	put32(out + 20, h.m_cost_kib);
	put32(out + 24, h.parallelism);
	put32(out + 28, (uint32_t)n);
	memcpy(out + 32, h.salt, sizeof(h.salt));
	memcpy(out + 64, h.iv, sizeof(h.iv));
	memcpy(out + 80, id, strlen(id));
	k = derive(pass, &h, err);
	if (!k) {
		r = -EIO;
		goto out;
	}
	r = gcm(true, k, h.iv, out, AUR_KSX_HDR, pt->data, n, out + AUR_KSX_HDR,
		out + AUR_KSX_HDR + n);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "AES-256-GCM failed");
		goto out;
	}
	r = write_out(file, out, AUR_KSX_HDR + n + AUR_KSX_TAG, force, err);
	if (!r && identity)
		aur_strcpy(identity, AUR_KEYSTORE_ID_MAX, id);
out:
	aur_secret_free(k);
	aur_secret_free(pt);
	aur_secret_free(mk);
	free(out);
	free(json);
	if (lock >= 0)
		close(lock);
	return r;
}

int aur_kms_local_import(struct aur_kms *kms, const char *file, const struct aur_secret *pass,
			 bool force, char *identity, struct aur_error *err)
{
	struct local_priv *p;
	struct aur_ksx_hdr h;
	struct aur_secret *mk = NULL, *pt = NULL, *k = NULL, *cur = NULL;
	char *buf = NULL, *curjson = NULL, id[AUR_KSX_ID_LEN + 1], cur_id[AUR_KSX_ID_LEN + 1];
	char e[300];
	size_t len = 0, curlen = 0, joff, jlen;
	int lock = -1, r;

	if (!aur_kms_is_local(kms)) {
		aur_error_set(err, AUR_EXIT_USAGE, "only the embedded (local) KMS has a keystore to import into");
		return -EINVAL;
	}
	p = kms->priv;
	r = aur_read_file(file, AUR_KSX_HDR + AUR_KSX_PAYLOAD_MIN + AUR_KEYSTORE_MAX_SIZE + AUR_KSX_TAG,
			  &buf, &len);
	if (r) {
		aur_error_set(err, r == -ENOENT ? AUR_EXIT_NOT_FOUND : AUR_EXIT_FAILURE, "%s: %s", file,
			      r == -EFBIG ? "too large for a keystore export" : strerror(-r));
		return r;
	}
	r = aur_kms_local_parse_export((const uint8_t *)buf, len, &h, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", file, e);
		goto out;
	}
	if (!pass || !pass->len) {
		aur_error_set(err, AUR_EXIT_USAGE, "no recovery passphrase");
		r = -EINVAL;
		goto out;
	}
	k = derive(pass, &h, err);
	pt = aur_secret_alloc(h.payload_len);
	if (!k || !pt) {
		if (k)
			aur_error_set(err, AUR_EXIT_FAILURE, "cannot lock memory for the keystore");
		r = -ENOMEM;
		goto out;
	}
	r = gcm(false, k, h.iv, (const uint8_t *)buf, AUR_KSX_HDR,
		(const uint8_t *)buf + AUR_KSX_HDR, h.payload_len, pt->data,
		(uint8_t *)buf + AUR_KSX_HDR + h.payload_len);
	if (r) {
		aur_error_set(err, AUR_EXIT_KMS_DENIED, "%s: wrong recovery passphrase, or the file was "
			      "altered (the AES-GCM tag does not match)", file);
		goto out;
	}
	r = aur_kms_local_parse_export_payload(pt->data, h.payload_len, &joff, &jlen, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", file, e);
		goto out;
	}
	mk = aur_secret_alloc(MAT_LEN);
	if (!mk || (memcpy(mk->data, pt->data + 8, MAT_LEN), identity_of(mk, id)) ||
	    strcmp(id, h.identity)) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: the master key does not match the identity "
			      "the export names", file);
		r = -EINVAL;
		goto out;
	}
	lock = lock_ks(p, true, err);
	if (lock < 0) {
		r = lock;
		goto out;
	}
	/* Only into an empty keystore, or the very keystore the export is of. */
	r = read_master(p, &cur, err);
	if (r && r != -ENOENT)
		goto out;
	if (r == 0) {
		r = identity_of(cur, cur_id);
		if (!r && strcmp(cur_id, id)) {
			aur_error_set(err, AUR_EXIT_CONFIG, "the keystore at %s is %s; the export is of %s: "
				      "import only into an empty keystore or the same one (nothing "
				      "written)", p->dir, cur_id, id);
			r = -EEXIST;
			goto out;
		}
	}
	r = aur_read_file(p->file, AUR_KEYSTORE_MAX_SIZE, &curjson, &curlen);
	if (r == 0 && !cur) {
		aur_error_set(err, AUR_EXIT_CONFIG, "%s exists without master.key: not an empty "
			      "keystore (nothing written; move it away first)", p->file);
		r = -EEXIST;
		goto out;
	}
	if (r == 0 && (curlen != jlen || memcmp(curjson, pt->data + joff, jlen)) && !force) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s differs from the export (keys or state changed "
			      "since): --force replaces it with the export's (nothing written)",
			      p->file);
		r = -EEXIST;
		goto out;
	}
	if (!cur) {
		r = aur_write_file_atomic(p->master, mk->data, MAT_LEN, 0600);
		if (r) {
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", p->master, strerror(-r));
			goto out;
		}
	}
	r = aur_write_file_atomic(p->file, pt->data + joff, jlen, 0600);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", p->file, strerror(-r));
		goto out;
	}
	/* The provider's cached master key (if any) is the same one; drop it anyway. */
	aur_secret_free(p->mk);
	p->mk = NULL;
	if (identity)
		aur_strcpy(identity, AUR_KEYSTORE_ID_MAX, id);
out:
	aur_secret_free(cur);
	aur_secret_free(mk);
	aur_secret_free(pt);
	aur_secret_free(k);
	free(curjson);
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
	if (lock >= 0)
		close(lock);
	return r;
}
