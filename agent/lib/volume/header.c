// SPDX-License-Identifier: GPL-2.0
/* aurora: on-disk volume header (see header.h, Documentation/format.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "volume/header.h"
#include "util/util.h"

/* Binary part offsets (little endian). */
#define OFF_MAGIC	0
#define OFF_VERSION	8
#define OFF_COPY	10
#define OFF_HDRSIZE	12
#define OFF_SEQ		16
#define OFF_JSONLEN	24
#define OFF_FLAGS	28
#define OFF_UUID	32
#define OFF_CSUMALG	72
#define OFF_CSUM	104
#define BIN_USED	136

static const char *const known_requirements[] = { NULL };

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

const char *aur_vol_state_name(enum aur_vol_state s)
{
	switch (s) {
	case AUR_VOL_TERMINAL:		return "terminal";
	case AUR_VOL_INACCESSIBLE:	return "inaccessible";
	default:			return "active";
	}
}

void aur_hdr_init(struct aur_hdr *h)
{
	memset(h, 0, sizeof(*h));
	aur_strcpy(h->cipher, sizeof(h->cipher), AUR_CIPHER);
	h->key_bits = AUR_KEY_BITS;
	h->sector_size = 512;
	h->data_offset = AUR_DATA_OFFSET_DEFAULT;
}

void aur_hdr_free(struct aur_hdr *h)
{
	if (h && h->json) {
		json_object_put(h->json);
		h->json = NULL;
	}
}

int aur_hdr_copy(struct aur_hdr *dst, const struct aur_hdr *src)
{
	struct json_object *j = NULL;

	if (src->json && json_object_deep_copy(src->json, &j, NULL) != 0)
		return -ENOMEM;
	memcpy(dst, src, sizeof(*dst));
	dst->json = j;
	return 0;
}

bool aur_hdr_requirement_known(const char *name)
{
	size_t i;

	for (i = 0; known_requirements[i]; i++)
		if (!strcmp(known_requirements[i], name))
			return true;
	return false;
}

int aur_hdr_check_requirements(const struct aur_hdr *h, char *err, size_t errlen)
{
	size_t i, off = 0;
	int bad = 0;

	if (err && errlen)
		err[0] = '\0';
	for (i = 0; i < h->nreq; i++) {
		if (aur_hdr_requirement_known(h->requirements[i]))
			continue;
		if (err && off < errlen) {
			int n = snprintf(err + off, errlen - off, "%s%s",
					 bad ? ", " : "unsupported mandatory requirement: ",
					 h->requirements[i]);
			off += n > 0 ? (size_t)n : 0;
		}
		bad++;
	}
	return bad ? -EPROTONOSUPPORT : 0;
}

static void csum_area(const uint8_t *area, uint8_t out[32])
{
	static const uint8_t zero[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 32;

	memset(out, 0, 32);
	if (!c)
		return;
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, area, OFF_CSUM);
	EVP_DigestUpdate(c, zero, 32);
	EVP_DigestUpdate(c, area + OFF_CSUM + 32, AUR_HDR_AREA - OFF_CSUM - 32);
	EVP_DigestFinal_ex(c, out, &n);
	EVP_MD_CTX_free(c);
}

/* Say why a header is invalid in @err: -EINVAL. */
static int invalid(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int invalid(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_time(struct json_object *o, const char *key, bool required, int64_t *t,
		      char *err, size_t errlen)
{
	const char *s;
	int r = aur_json_get_str(o, key, required, &s, 31, err, errlen);

	if (r)
		return r;
	if (!s) {
		*t = 0;
		return 0;
	}
	if (aur_time_parse_iso(s, t)) {
		snprintf(err, errlen, "field \"%s\" is not an ISO 8601 UTC time", key);
		return -EINVAL;
	}
	return 0;
}

static int copy_str(char *dst, size_t size, struct json_object *o, const char *key,
		    bool required, char *err, size_t errlen)
{
	const char *s;
	int r = aur_json_get_str(o, key, required, &s, size - 1, err, errlen);

	if (r)
		return r;
	memcpy(dst, s ? s : "", s ? strlen(s) + 1 : 1);	/* fits: at most size - 1 */
	return 0;
}

static int parse_json(struct json_object *root, struct aur_hdr *h, char *err, size_t errlen)
{
	struct json_object *kms, *ctx, *st, *lin, *req, *mand;
	const char *s;
	int64_t v;
	char e[160];

	if (copy_str(h->cipher, sizeof(h->cipher), root, "cipher", true, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (strcmp(h->cipher, AUR_CIPHER))
		return invalid(err, errlen, "unsupported cipher \"%s\"", h->cipher);
	if (aur_json_get_int64(root, "key_size", true, 0, 4096, &v, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (v != AUR_KEY_BITS)
		return invalid(err, errlen, "unsupported key_size %lld", (long long)v);
	h->key_bits = (unsigned int)v;
	if (aur_json_get_int64(root, "sector_size", true, 512, 4096, &v, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (v & (v - 1))
		return invalid(err, errlen, "sector_size %lld is not a power of two", (long long)v);
	h->sector_size = (unsigned int)v;
	if (aur_json_get_int64(root, "data_offset", true, 2 * AUR_HDR_AREA,
			       (int64_t)AUR_DATA_OFFSET_MAX, &v, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (v % 4096 || v % h->sector_size)
		return invalid(err, errlen, "data_offset %lld is not aligned", (long long)v);
	h->data_offset = (uint64_t)v;
	if (aur_json_get_int64(root, "data_size", true, 1, INT64_MAX / 2, &v, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (v % h->sector_size)
		return invalid(err, errlen, "data_size is not a multiple of sector_size");
	h->data_size = (uint64_t)v;

	if (aur_json_get_obj(root, "kms", true, &kms, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (copy_str(h->provider, sizeof(h->provider), kms, "provider", true, e, sizeof(e)) ||
	    copy_str(h->cmk_named, sizeof(h->cmk_named), kms, "key_id", true, e, sizeof(e)) ||
	    copy_str(h->cmk_arn, sizeof(h->cmk_arn), kms, "key_arn", true, e, sizeof(e)) ||
	    copy_str(h->cmk_account, sizeof(h->cmk_account), kms, "account", true, e, sizeof(e)) ||
	    copy_str(h->cmk_region, sizeof(h->cmk_region), kms, "region", true, e, sizeof(e)))
		return invalid(err, errlen, "kms: %s", e);
	/* The identity of the configuration at format: optional (older headers lack it). */
	if (copy_str(h->cmk_partition, sizeof(h->cmk_partition), kms, "partition", false, e, sizeof(e)) ||
	    copy_str(h->caller_account, sizeof(h->caller_account), kms, "caller_account", false,
		     e, sizeof(e)) ||
	    copy_str(h->keystore_id, sizeof(h->keystore_id), kms, "keystore_id", false, e, sizeof(e)))
		return invalid(err, errlen, "kms: %s", e);
	if (strcmp(h->provider, "local") && strcmp(h->provider, "aws"))
		return invalid(err, errlen, "kms: unknown provider \"%s\"", h->provider);
	if (!aur_str_has_prefix(h->cmk_arn, "arn:"))
		return invalid(err, errlen, "kms: key_arn is not an ARN");
	if (aur_json_get_str(kms, "wrapped_dek", true, &s, 4 * (AUR_BLOB_MAX / 3) + 4, e, sizeof(e)))
		return invalid(err, errlen, "kms: %s", e);
	{
		int n = aur_base64_decode(s, h->wrapped_dek.data, sizeof(h->wrapped_dek.data));

		if (n <= 0)
			return invalid(err, errlen, "kms: wrapped_dek is not valid base64");
		h->wrapped_dek.len = (size_t)n;
	}
	if (aur_json_get_obj(kms, "encryption_context", true, &ctx, e, sizeof(e)))
		return invalid(err, errlen, "kms: %s", e);
	if (json_object_object_length(ctx) > AUR_ENC_CTX_MAX)
		return invalid(err, errlen, "kms: encryption_context has more than %d pairs", AUR_ENC_CTX_MAX);
	{
		struct json_object_iterator it = json_object_iter_begin(ctx);
		struct json_object_iterator end = json_object_iter_end(ctx);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			struct json_object *val = json_object_iter_peek_value(&it);
			const char *k = json_object_iter_peek_name(&it);

			if (!json_object_is_type(val, json_type_string) ||
			    aur_enc_ctx_set(&h->ctx, k, json_object_get_string(val)))
				return invalid(err, errlen, "kms: bad encryption_context pair \"%.40s\"", k);
		}
	}
	s = aur_enc_ctx_get(&h->ctx, "aurora:volume-uuid");
	if (!s || strcmp(s, h->uuid))
		return invalid(err, errlen, "kms: encryption_context does not name this volume's UUID");

	if (aur_json_get_obj(root, "state", true, &st, e, sizeof(e)) ||
	    aur_json_get_str(st, "state", true, &s, 16, e, sizeof(e)))
		return invalid(err, errlen, "state: %s", e);
	if (!strcmp(s, "active")) {
		h->state = AUR_VOL_ACTIVE;
	} else if (!strcmp(s, "terminal")) {
		h->state = AUR_VOL_TERMINAL;
		if (copy_str(h->terminal_reason, sizeof(h->terminal_reason), st, "reason", true,
			     e, sizeof(e)) ||
		    parse_time(st, "time", true, &h->terminal_time, e, sizeof(e)))
			return invalid(err, errlen, "state: %s", e);
	} else if (!strcmp(s, "inaccessible")) {
		h->state = AUR_VOL_INACCESSIBLE;
	} else {
		return invalid(err, errlen, "state: unknown state \"%.16s\"", s);
	}
	/* Inaccessible (issue 16): required in that state, kept after terminal. */
	if (h->state != AUR_VOL_ACTIVE) {
		bool need = h->state == AUR_VOL_INACCESSIBLE;

		if (copy_str(h->inaccessible_reason, sizeof(h->inaccessible_reason), st,
			     "inaccessible_reason", need, e, sizeof(e)) ||
		    parse_time(st, "inaccessible_since", need, &h->inaccessible_since, e, sizeof(e)) ||
		    parse_time(st, "recoverable_until", need, &h->recoverable_until, e, sizeof(e)))
			return invalid(err, errlen, "state: %s", e);
	}
	if (parse_time(root, "created", true, &h->created, e, sizeof(e)))
		return invalid(err, errlen, "%s", e);
	if (aur_json_get_obj(root, "lineage", false, &lin, e, sizeof(e)) ||
	    copy_str(h->restored_from, sizeof(h->restored_from), lin, "restored_from", false, e, sizeof(e)) ||
	    copy_str(h->copied_from, sizeof(h->copied_from), lin, "copied_from", false, e, sizeof(e)))
		return invalid(err, errlen, "lineage: %s", e);
	if (aur_json_get_obj(root, "requirements", false, &req, e, sizeof(e)) ||
	    aur_json_get_array(req, "mandatory", false, AUR_REQ_MAX, &mand, e, sizeof(e)))
		return invalid(err, errlen, "requirements: %s", e);
	if (mand) {
		size_t i;

		for (i = 0; i < json_object_array_length(mand); i++) {
			struct json_object *x = json_object_array_get_idx(mand, i);

			if (!json_object_is_type(x, json_type_string) ||
			    json_object_get_string_len(x) < 1 || json_object_get_string_len(x) > 63)
				return invalid(err, errlen, "requirements: bad entry");
			aur_strcpy(h->requirements[h->nreq++], sizeof(h->requirements[0]), json_object_get_string(x));
		}
	}
	return 0;
}

int aur_hdr_parse_area(const uint8_t *area, size_t len, unsigned int copy,
		       struct aur_hdr *h, char *err, size_t errlen)
{
	uint8_t csum[32];
	struct json_object *root;
	const char *u;
	char e[200], ju[64];
	uint32_t jlen;
	size_t i;

	aur_hdr_init(h);
	if (len < AUR_HDR_AREA) {
		snprintf(err, errlen, "header area truncated (%zu bytes)", len);
		return -EINVAL;
	}
	if (memcmp(area + OFF_MAGIC, AUR_HDR_MAGIC, AUR_HDR_MAGIC_LEN)) {
		snprintf(err, errlen, "no aurora header magic");
		return -ENOENT;
	}
	if (le16(area + OFF_VERSION) != AUR_HDR_VERSION)
		return invalid(err, errlen, "unsupported header version %u", le16(area + OFF_VERSION));
	if (le16(area + OFF_COPY) != copy)
		return invalid(err, errlen, "copy index %u found where copy %u belongs", le16(area + OFF_COPY), copy);
	if (le32(area + OFF_HDRSIZE) != AUR_HDR_AREA)
		return invalid(err, errlen, "unsupported header size %u", le32(area + OFF_HDRSIZE));
	if (le32(area + OFF_FLAGS) != 0)
		return invalid(err, errlen, "unknown header flags 0x%x", le32(area + OFF_FLAGS));
	if (memcmp(area + OFF_CSUMALG, "sha256", 7))
		return invalid(err, errlen, "unsupported checksum algorithm");
	csum_area(area, csum);
	if (memcmp(csum, area + OFF_CSUM, 32))
		return invalid(err, errlen, "checksum mismatch (damaged or torn copy)");
	h->seqid = le64(area + OFF_SEQ);
	if (h->seqid == 0)
		return invalid(err, errlen, "sequence number 0");
	memcpy(ju, area + OFF_UUID, 40);
	ju[40] = '\0';
	if (!aur_uuid_valid(ju))
		return invalid(err, errlen, "bad volume UUID in binary header");
	aur_strcpy(h->uuid, sizeof(h->uuid), ju);
	jlen = le32(area + OFF_JSONLEN);
	if (jlen == 0 || jlen >= AUR_HDR_JSON_MAX)
		return invalid(err, errlen, "bad JSON length %u", jlen);
	for (i = AUR_HDR_BIN + jlen; i < AUR_HDR_AREA; i++)
		if (area[i])
			return invalid(err, errlen, "garbage after the JSON text");
	root = aur_json_parse((const char *)area + AUR_HDR_BIN, jlen, e, sizeof(e));
	if (!root)
		return invalid(err, errlen, "%s", e);
	if (aur_json_get_str(root, "uuid", true, &u, 36, e, sizeof(e)) || strcmp(u, h->uuid)) {
		json_object_put(root);
		return invalid(err, errlen, "JSON uuid does not match the binary header");
	}
	if (parse_json(root, h, err, errlen)) {
		json_object_put(root);
		return -EINVAL;
	}
	h->json = root;
	return 0;
}

static struct json_object *jstr_or_null(const char *s)
{
	return (s && *s) ? json_object_new_string(s) : NULL;
}

int aur_hdr_serialise(const struct aur_hdr *h, unsigned int copy, uint8_t *area,
		      char *err, size_t errlen)
{
	struct json_object *root = NULL, *kms, *ctx, *st, *lin, *req, *mand;
	char ts[32], *b64;
	const char *text;
	size_t len, i;
	int r = -EINVAL;

	if (!aur_uuid_valid(h->uuid) || copy > 1 || h->seqid == 0) {
		snprintf(err, errlen, "header: bad uuid, copy or sequence number");
		return -EINVAL;
	}
	if (h->json) {
		if (json_object_deep_copy(h->json, &root, NULL))
			root = NULL;
	} else {
		root = json_object_new_object();
	}
	b64 = malloc(4 * ((AUR_BLOB_MAX + 2) / 3) + 1);
	if (!root || !b64) {
		snprintf(err, errlen, "out of memory");
		free(b64);
		json_object_put(root);
		return -ENOMEM;
	}
	json_object_object_add(root, "uuid", json_object_new_string(h->uuid));
	json_object_object_add(root, "cipher", json_object_new_string(h->cipher));
	json_object_object_add(root, "key_size", json_object_new_int(h->key_bits));
	json_object_object_add(root, "sector_size", json_object_new_int(h->sector_size));
	json_object_object_add(root, "data_offset", json_object_new_int64((int64_t)h->data_offset));
	json_object_object_add(root, "data_size", json_object_new_int64((int64_t)h->data_size));
	kms = json_object_new_object();
	json_object_object_add(kms, "provider", json_object_new_string(h->provider));
	json_object_object_add(kms, "key_id", json_object_new_string(h->cmk_named));
	json_object_object_add(kms, "key_arn", json_object_new_string(h->cmk_arn));
	json_object_object_add(kms, "account", json_object_new_string(h->cmk_account));
	json_object_object_add(kms, "region", json_object_new_string(h->cmk_region));
	if (h->cmk_partition[0])
		json_object_object_add(kms, "partition", json_object_new_string(h->cmk_partition));
	if (h->caller_account[0])
		json_object_object_add(kms, "caller_account", json_object_new_string(h->caller_account));
	if (h->keystore_id[0])
		json_object_object_add(kms, "keystore_id", json_object_new_string(h->keystore_id));
	if (h->wrapped_dek.len == 0 || h->wrapped_dek.len > AUR_BLOB_MAX ||
	    aur_base64_encode(h->wrapped_dek.data, h->wrapped_dek.len, b64,
			   4 * ((AUR_BLOB_MAX + 2) / 3) + 1) < 0) {
		snprintf(err, errlen, "header: no wrapped data key");
		json_object_put(kms);
		goto out;
	}
	json_object_object_add(kms, "wrapped_dek", json_object_new_string(b64));
	ctx = json_object_new_object();
	for (i = 0; i < h->ctx.n && i < AUR_ENC_CTX_MAX; i++)
		json_object_object_add(ctx, h->ctx.kv[i].key, json_object_new_string(h->ctx.kv[i].value));
	json_object_object_add(kms, "encryption_context", ctx);
	json_object_object_add(root, "kms", kms);
	st = json_object_new_object();
	json_object_object_add(st, "state", json_object_new_string(aur_vol_state_name(h->state)));
	if (h->state == AUR_VOL_TERMINAL) {
		json_object_object_add(st, "reason", json_object_new_string(h->terminal_reason));
		aur_time_iso(h->terminal_time, ts);
		json_object_object_add(st, "time", json_object_new_string(ts));
	}
	if (h->state != AUR_VOL_ACTIVE && h->inaccessible_since) {
		json_object_object_add(st, "inaccessible_reason",
				       json_object_new_string(h->inaccessible_reason));
		aur_time_iso(h->inaccessible_since, ts);
		json_object_object_add(st, "inaccessible_since", json_object_new_string(ts));
		aur_time_iso(h->recoverable_until, ts);
		json_object_object_add(st, "recoverable_until", json_object_new_string(ts));
	}
	json_object_object_add(root, "state", st);
	aur_time_iso(h->created, ts);
	json_object_object_add(root, "created", json_object_new_string(ts));
	lin = json_object_new_object();
	json_object_object_add(lin, "restored_from", jstr_or_null(h->restored_from));
	json_object_object_add(lin, "copied_from", jstr_or_null(h->copied_from));
	json_object_object_add(root, "lineage", lin);
	req = json_object_new_object();
	mand = json_object_new_array();
	for (i = 0; i < h->nreq && i < AUR_REQ_MAX; i++)
		json_object_array_add(mand, json_object_new_string(h->requirements[i]));
	json_object_object_add(req, "mandatory", mand);
	json_object_object_add(root, "requirements", req);

	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (len == 0 || len >= AUR_HDR_JSON_MAX) {
		snprintf(err, errlen, "header JSON too large (%zu bytes)", len);
		goto out;
	}
	memset(area, 0, AUR_HDR_AREA);
	memcpy(area + OFF_MAGIC, AUR_HDR_MAGIC, AUR_HDR_MAGIC_LEN);
	put16(area + OFF_VERSION, AUR_HDR_VERSION);
	put16(area + OFF_COPY, (uint16_t)copy);
	put32(area + OFF_HDRSIZE, AUR_HDR_AREA);
	put64(area + OFF_SEQ, h->seqid);
	put32(area + OFF_JSONLEN, (uint32_t)len);
	put32(area + OFF_FLAGS, 0);
	memcpy(area + OFF_UUID, h->uuid, 36);
	memcpy(area + OFF_CSUMALG, "sha256", 6);
	memcpy(area + AUR_HDR_BIN, text, len);
	csum_area(area, area + OFF_CSUM);
	r = 0;
out:
	free(b64);
	json_object_put(root);
	return r;
}

int aur_hdr_select(const uint8_t *a0, const uint8_t *a1, struct aur_hdr_read *r,
		   char *err, size_t errlen)
{
	struct aur_hdr tmp[AUR_HDR_COPIES];
	const uint8_t *a[AUR_HDR_COPIES] = { a0, a1 };
	int i, rc[AUR_HDR_COPIES];

	memset(r, 0, sizeof(*r));
	r->chosen = -1;
	for (i = 0; i < AUR_HDR_COPIES; i++) {
		aur_hdr_init(&tmp[i]);
		rc[i] = a[i] ? aur_hdr_parse_area(a[i], AUR_HDR_AREA, (unsigned int)i, &tmp[i],
						  r->err[i], sizeof(r->err[i]))
			     : -ENOENT;
		if (!a[i])
			snprintf(r->err[i], sizeof(r->err[i]), "not readable");
		r->present[i] = rc[i] != -ENOENT;
		r->valid[i] = rc[i] == 0;
		r->seq[i] = r->valid[i] ? tmp[i].seqid : 0;
	}
	if (r->valid[0] && r->valid[1]) {
		r->chosen = tmp[1].seqid > tmp[0].seqid ? 1 : 0;
		if (strcmp(tmp[0].uuid, tmp[1].uuid)) {
			/* Two different volumes' copies: trust neither blindly. */
			r->chosen = tmp[1].seqid > tmp[0].seqid ? 1 : 0;
			r->need_repair = true;
		}
		if (tmp[0].seqid != tmp[1].seqid)
			r->need_repair = true;
	} else if (r->valid[0] || r->valid[1]) {
		r->chosen = r->valid[0] ? 0 : 1;
		r->need_repair = true;
	}
	if (r->chosen >= 0) {
		r->hdr = tmp[r->chosen];
		aur_hdr_free(&tmp[!r->chosen]);
		return 0;
	}
	aur_hdr_free(&tmp[0]);
	aur_hdr_free(&tmp[1]);
	aur_hdr_init(&r->hdr);
	if (!r->present[0] && !r->present[1]) {
		snprintf(err, errlen, "no aurora header (not an aurora volume)");
		return -ENOENT;
	}
	snprintf(err, errlen, "both header copies are invalid: copy 0: %s; copy 1: %s",
		 r->err[0], r->err[1]);
	return -EINVAL;
}

int aur_hdr_read_fd(int fd, struct aur_hdr_read *r, char *err, size_t errlen)
{
	uint8_t *buf = malloc(2 * AUR_HDR_AREA);
	bool ok0, ok1;
	int ret;

	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ok0 = aur_pread_full(fd, buf, AUR_HDR_AREA, 0) == 0;
	ok1 = aur_pread_full(fd, buf + AUR_HDR_AREA, AUR_HDR_AREA, AUR_HDR_AREA) == 0;
	ret = aur_hdr_select(ok0 ? buf : NULL, ok1 ? buf + AUR_HDR_AREA : NULL, r, err, errlen);
	free(buf);
	return ret;
}

int aur_hdr_write_copy(int fd, const struct aur_hdr *h, unsigned int copy,
		       char *err, size_t errlen)
{
	uint8_t *area = malloc(AUR_HDR_AREA);
	int r;

	if (!area) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = aur_hdr_serialise(h, copy, area, err, errlen);
	if (!r) {
		r = aur_pwrite_full(fd, area, AUR_HDR_AREA, (uint64_t)copy * AUR_HDR_AREA);
		if (!r && fsync(fd) != 0)
			r = -errno;
		if (r)
			snprintf(err, errlen, "writing header copy %u: %s", copy, strerror(-r));
	}
	free(area);
	return r;
}

int aur_hdr_write_fd(int fd, struct aur_hdr *h, uint64_t expected_seq,
		     char *err, size_t errlen)
{
	struct aur_hdr_read cur;
	char e[400];
	uint64_t maxseq = 0;
	unsigned int first;
	int r;

	if (aur_hdr_check_requirements(h, e, sizeof(e))) {
		snprintf(err, errlen, "refusing to write: %s", e);
		return -EPROTONOSUPPORT;
	}
	if (flock(fd, LOCK_EX) != 0) {
		r = -errno;
		snprintf(err, errlen, "cannot lock the device: %s", strerror(errno));
		return r;
	}
	r = aur_hdr_read_fd(fd, &cur, e, sizeof(e));
	if (r == 0) {
		maxseq = cur.hdr.seqid;
		if (aur_hdr_check_requirements(&cur.hdr, e, sizeof(e))) {
			aur_hdr_free(&cur.hdr);
			flock(fd, LOCK_UN);
			snprintf(err, errlen, "refusing to write over a header with %s", e);
			return -EPROTONOSUPPORT;
		}
		if (strcmp(cur.hdr.uuid, h->uuid) && expected_seq) {
			aur_hdr_free(&cur.hdr);
			flock(fd, LOCK_UN);
			snprintf(err, errlen, "the device now holds another volume");
			return -ESTALE;
		}
	} else if (r == -EINVAL && expected_seq) {
		flock(fd, LOCK_UN);
		snprintf(err, errlen, "%s", e);
		return r;
	}
	if (maxseq != expected_seq) {
		aur_hdr_free(&cur.hdr);
		flock(fd, LOCK_UN);
		snprintf(err, errlen,
			 "the header changed underneath (sequence %llu, expected %llu): "
			 "another writer; re-read and retry",
			 (unsigned long long)maxseq, (unsigned long long)expected_seq);
		return -ESTALE;
	}
	/* The copy that is not the current winner goes first. */
	if (r == 0 && cur.valid[0] && cur.valid[1])
		first = cur.seq[0] > cur.seq[1] ? 1 : (cur.seq[1] > cur.seq[0] ? 0 : 1);
	else if (r == 0)
		first = cur.valid[0] ? 1 : 0;
	else
		first = 1;
	aur_hdr_free(&cur.hdr);
	h->seqid = maxseq + 1;
	r = aur_hdr_write_copy(fd, h, first, err, errlen);
	if (!r)
		r = aur_hdr_write_copy(fd, h, !first, err, errlen);
	flock(fd, LOCK_UN);
	return r;
}
