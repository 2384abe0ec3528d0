// SPDX-License-Identifier: GPL-2.0
/* aurora: the backup file format (see bfile.h, Documentation/backup.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/bfile.h"
#include "util/util.h"
#include "volume/header.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int bk_sha256(const void *buf, size_t len, uint8_t out[BK_HASH])
{
	unsigned int n = 0;

	return EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) == 1 && n == BK_HASH ? 0 : -EIO;
}

int bk_stream_init(struct bk_stream *s, int fd, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->name = name;
	s->whole = EVP_MD_CTX_new();
	if (!s->whole || EVP_DigestInit_ex(s->whole, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(s->whole);
		s->whole = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bk_stream_fini(struct bk_stream *s)
{
	EVP_MD_CTX_free(s->whole);
	s->whole = NULL;
}

int bk_stream_rewind(struct bk_stream *s)
{
	if (lseek(s->fd, 0, SEEK_SET) != 0)
		return -errno;
	s->pos = 0;
	return EVP_DigestInit_ex(s->whole, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
}

int bk_read(struct bk_stream *s, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(s->fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		got += (size_t)n;
	}
	s->pos += len;
	return EVP_DigestUpdate(s->whole, buf, len) == 1 ? 0 : -EIO;
}

int bk_write(struct bk_stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t done = 0;

	if (EVP_DigestUpdate(s->whole, buf, len) != 1)
		return -EIO;
	while (done < len) {
		ssize_t n = write(s->fd, p + done, len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	s->pos += len;
	return 0;
}

int bk_stream_digest(struct bk_stream *s, uint8_t out[BK_HASH])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	int r = -EIO;

	if (!c)
		return -ENOMEM;
	if (EVP_MD_CTX_copy_ex(c, s->whole) == 1 && EVP_DigestFinal_ex(c, out, &n) == 1 &&
	    n == BK_HASH)
		r = 0;
	EVP_MD_CTX_free(c);
	return r;
}

/* ------------------------------------------------------------------ */

int bk_write_head(struct bk_stream *s, const struct aur_backup_info *in,
		  const uint8_t *hdr_area, char *err, size_t errlen)
{
	struct json_object *j = json_object_new_object();
	uint8_t pre[BK_PREAMBLE] = { 0 };
	const char *text;
	size_t len;
	int r;

	if (!j) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	json_object_object_add(j, "format", json_object_new_string("aurora-backup"));
	json_object_object_add(j, "version", json_object_new_int(BK_VERSION));
	json_object_object_add(j, "kind", json_object_new_string(in->kind));
	json_object_object_add(j, "volume_uuid", json_object_new_string(in->uuid));
	json_object_object_add(j, "provider", json_object_new_string(in->provider));
	json_object_object_add(j, "cmk_arn", json_object_new_string(in->cmk_arn));
	json_object_object_add(j, "cmk_region", json_object_new_string(in->cmk_region));
	json_object_object_add(j, "source_state", json_object_new_string(in->source_state));
	json_object_object_add(j, "created", json_object_new_string(in->created));
	json_object_object_add(j, "chunk_size", json_object_new_int64(in->chunk_size));
	json_object_object_add(j, "data_offset", json_object_new_int64((int64_t)in->data_offset));
	json_object_object_add(j, "data_size", json_object_new_int64((int64_t)in->data_size));
	json_object_object_add(j, "chunks", json_object_new_int64((int64_t)in->chunks));
	json_object_object_add(j, "header_size", json_object_new_int64(2 * AUR_HDR_AREA));
	json_object_object_add(j, "hash", json_object_new_string("sha256"));
	text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	memcpy(pre, BK_MAGIC, 8);
	put32(pre + 8, BK_VERSION);
	put32(pre + 12, (uint32_t)len);
	put64(pre + 16, 2 * AUR_HDR_AREA);
	r = bk_write(s, pre, sizeof(pre));
	if (!r)
		r = bk_write(s, text, len);
	if (!r)
		r = bk_write(s, hdr_area, 2 * AUR_HDR_AREA);
	json_object_put(j);
	if (r)
		snprintf(err, errlen, "%s: write error: %s", s->name, strerror(-r));
	return r;
}

static int read_err(struct bk_stream *s, int r, const char *where, char *err, size_t errlen)
{
	if (r == -ENODATA)
		snprintf(err, errlen, "%s: truncated: the file ends inside %s (which starts at byte %" PRIu64 ")",
			 s->name, where, s->pos);
	else
		snprintf(err, errlen, "%s: read error in %s: %s", s->name, where, strerror(-r));
	return r == -ENODATA ? -EINVAL : r;
}

static int get_str(struct json_object *j, const char *key, char *dst, size_t size,
		   char *e, size_t elen)
{
	const char *v;
	int r = aur_json_get_str(j, key, true, &v, size - 1, e, elen);

	if (!r)
		r = aur_strcpy(dst, size, v);
	return r;
}

static int get_u64(struct json_object *j, const char *key, int64_t max, uint64_t *out,
		   char *e, size_t elen)
{
	int64_t v;
	int r = aur_json_get_int64(j, key, true, 0, max, &v, e, elen);

	if (!r)
		*out = (uint64_t)v;
	return r;
}

static int parse_manifest(struct json_object *j, struct aur_backup_info *in, char *e, size_t elen)
{
	const char *fmt;
	uint64_t v, hs;

	if (aur_json_get_str(j, "format", true, &fmt, 64, e, elen))
		return -EINVAL;
	if (strcmp(fmt, "aurora-backup")) {
		snprintf(e, elen, "format is \"%s\", not aurora-backup", fmt);
		return -EINVAL;
	}
	if (get_str(j, "kind", in->kind, sizeof(in->kind), e, elen) ||
	    get_str(j, "volume_uuid", in->uuid, sizeof(in->uuid), e, elen) ||
	    get_str(j, "provider", in->provider, sizeof(in->provider), e, elen) ||
	    get_str(j, "cmk_arn", in->cmk_arn, sizeof(in->cmk_arn), e, elen) ||
	    get_str(j, "cmk_region", in->cmk_region, sizeof(in->cmk_region), e, elen) ||
	    get_str(j, "source_state", in->source_state, sizeof(in->source_state), e, elen) ||
	    get_str(j, "created", in->created, sizeof(in->created), e, elen) ||
	    get_u64(j, "chunk_size", AUR_BACKUP_CHUNK_MAX, &v, e, elen) ||
	    get_u64(j, "data_offset", (int64_t)AUR_DATA_OFFSET_MAX, &in->data_offset, e, elen) ||
	    get_u64(j, "data_size", INT64_MAX / 2, &in->data_size, e, elen) ||
	    get_u64(j, "chunks", INT64_MAX / 2, &in->chunks, e, elen) ||
	    get_u64(j, "header_size", 2 * AUR_HDR_AREA, &hs, e, elen))
		return -EINVAL;
	in->chunk_size = (uint32_t)v;
	if (strcmp(in->kind, "volume") && strcmp(in->kind, "header")) {
		snprintf(e, elen, "unknown kind \"%s\"", in->kind);
		return -EINVAL;
	}
	if (!aur_uuid_valid(in->uuid)) {
		snprintf(e, elen, "bad volume_uuid");
		return -EINVAL;
	}
	if (hs != 2 * AUR_HDR_AREA) {
		snprintf(e, elen, "header_size %" PRIu64 " is not %u", hs, 2 * AUR_HDR_AREA);
		return -EINVAL;
	}
	if (!strcmp(in->kind, "header")) {
		if (in->chunks) {
			snprintf(e, elen, "a header backup holds no chunks");
			return -EINVAL;
		}
		return 0;
	}
	if (in->chunk_size < AUR_BACKUP_CHUNK_MIN || in->chunk_size % 4096) {
		snprintf(e, elen, "bad chunk_size %u", in->chunk_size);
		return -EINVAL;
	}
	if (in->chunks != (in->data_size + in->chunk_size - 1) / in->chunk_size) {
		snprintf(e, elen, "chunks (%" PRIu64 ") does not match data_size / chunk_size",
			 in->chunks);
		return -EINVAL;
	}
	return 0;
}

int bk_read_head(struct bk_stream *s, struct bk_meta *m, char *err, size_t errlen)
{
	uint8_t pre[BK_PREAMBLE];
	struct json_object *j;
	char e[300], *text;
	uint32_t ver, mlen;
	int r;

	memset(m, 0, sizeof(*m));
	aur_hdr_init(&m->hr.hdr);
	r = bk_read(s, pre, sizeof(pre));
	if (r == -ENODATA && s->pos == 0) {
		snprintf(err, errlen, "%s: not an aurora backup (the file is too short)", s->name);
		return -EINVAL;
	}
	if (r)
		return read_err(s, r, "the preamble", err, errlen);
	if (memcmp(pre, BK_MAGIC, 8)) {
		snprintf(err, errlen, "%s: not an aurora backup (no AURBACK magic)", s->name);
		return -EINVAL;
	}
	ver = le32(pre + 8);
	mlen = le32(pre + 12);
	if (ver != BK_VERSION) {
		snprintf(err, errlen, "%s: backup format version %u; this aurora reads version %d",
			 s->name, ver, BK_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (mlen == 0 || mlen > BK_MANIFEST_MAX || le64(pre + 16) != 2 * AUR_HDR_AREA ||
	    le64(pre + 24) != 0) {
		snprintf(err, errlen, "%s: corrupt backup preamble", s->name);
		return -EINVAL;
	}
	text = calloc(1, (size_t)mlen + 1);
	m->hdr_area = malloc(2 * AUR_HDR_AREA);
	if (!text || !m->hdr_area) {
		free(text);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = bk_read(s, text, mlen);
	if (r) {
		free(text);
		return read_err(s, r, "the manifest", err, errlen);
	}
	j = aur_json_parse(text, mlen, e, sizeof(e));
	free(text);
	if (!j) {
		snprintf(err, errlen, "%s: corrupt backup manifest: %s", s->name, e);
		return -EINVAL;
	}
	r = parse_manifest(j, &m->info, e, sizeof(e));
	json_object_put(j);
	if (r) {
		snprintf(err, errlen, "%s: bad backup manifest: %s", s->name, e);
		return r;
	}
	r = bk_read(s, m->hdr_area, 2 * AUR_HDR_AREA);
	if (r)
		return read_err(s, r, "the volume header copy", err, errlen);
	r = aur_hdr_select(m->hdr_area, m->hdr_area + AUR_HDR_AREA, &m->hr, e, sizeof(e));
	if (r) {
		snprintf(err, errlen, "%s: the volume header in the backup: %s", s->name, e);
		return -EINVAL;
	}
	if (strcmp(m->hr.hdr.uuid, m->info.uuid) ||
	    (!strcmp(m->info.kind, "volume") && (m->hr.hdr.data_size != m->info.data_size ||
						 m->hr.hdr.data_offset != m->info.data_offset))) {
		snprintf(err, errlen, "%s: the manifest does not match the volume header it holds",
			 s->name);
		return -EINVAL;
	}
	return 0;
}

void bk_meta_free(struct bk_meta *m)
{
	free(m->hdr_area);
	m->hdr_area = NULL;
	aur_hdr_free(&m->hr.hdr);
}

/* ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void bk_progress_start(struct bk_progress *p, bool on, const char *what, uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->on = on && isatty(STDERR_FILENO);
	p->what = what;
	p->total = total;
	p->start = p->last = now_s();
}

static void progress_print(struct bk_progress *p, double t)
{
	double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
	double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;

	fprintf(stderr, "\r%s: %.1f/%.1f MiB, %.1f MiB/s, ETA %.0f s   ", p->what,
		(double)p->done / 1048576.0, (double)p->total / 1048576.0, rate / 1048576.0, eta);
}

void bk_progress_add(struct bk_progress *p, uint64_t n)
{
	double t;

	p->done += n;
	if (!p->on)
		return;
	t = now_s();
	if (t - p->last >= 0.5) {
		p->last = t;
		progress_print(p, t);
	}
}

void bk_progress_end(struct bk_progress *p)
{
	if (!p->on)
		return;
	progress_print(p, now_s());
	fputc('\n', stderr);
}

/* ------------------------------------------------------------------ */

int bk_read_chunks(struct bk_stream *s, struct bk_meta *m, bk_chunk_fn fn, void *ctx,
		   bool progress, const char *what, char *err, size_t errlen)
{
	const struct aur_backup_info *in = &m->info;
	uint8_t rec[BK_REC_HDR], h[BK_HASH], tail[24], want[BK_HASH] = { 0 }, got[BK_HASH] = { 0 };
	uint8_t zero[BK_HASH] = { 0 };
	uint8_t *buf = NULL, *hashes = NULL;
	struct bk_progress p = { 0 };
	char where[96];
	uint64_t i, ndata = 0;
	int r = 0;

	if (in->chunks) {
		buf = malloc(in->chunk_size);
		hashes = calloc(in->chunks, BK_HASH);
		if (!buf || !hashes) {
			snprintf(err, errlen, "out of memory");
			r = -ENOMEM;
			goto out;
		}
	}
	bk_progress_start(&p, progress, what, in->data_size);
	for (i = 0; i < in->chunks; i++) {
		uint64_t off = i * in->chunk_size;
		size_t len = (size_t)(in->data_size - off < in->chunk_size ?
				      in->data_size - off : in->chunk_size);
		uint32_t kind;

		snprintf(where, sizeof(where), "chunk %" PRIu64, i);
		r = bk_read(s, rec, sizeof(rec));
		if (r) {
			r = read_err(s, r, where, err, errlen);
			goto out;
		}
		kind = le32(rec + 4);
		if (memcmp(rec, BK_REC_MAGIC, 4) || le64(rec + 8) != i ||
		    (kind != BK_KIND_DATA && kind != BK_KIND_HOLE) ||
		    (kind == BK_KIND_HOLE && memcmp(rec + 16, zero, BK_HASH))) {
			snprintf(err, errlen, "%s: corrupt record of chunk %" PRIu64
				 " (byte %" PRIu64 " of the file): refused", s->name, i, s->pos - BK_REC_HDR);
			r = -EINVAL;
			goto out;
		}
		memcpy(hashes + i * BK_HASH, rec + 16, BK_HASH);
		if (kind == BK_KIND_DATA) {
			r = bk_read(s, buf, len);
			if (r) {
				r = read_err(s, r, where, err, errlen);
				goto out;
			}
			if (bk_sha256(buf, len, h) || memcmp(h, rec + 16, BK_HASH)) {
				snprintf(err, errlen, "%s: chunk %" PRIu64 " (volume bytes %" PRIu64
					 "..%" PRIu64 ") is corrupt: its SHA-256 does not match: refused",
					 s->name, i, off, off + len - 1);
				r = -EBADMSG;
				goto out;
			}
			ndata++;
		}
		if (fn) {
			r = fn(i, kind == BK_KIND_DATA ? buf : NULL, len, ctx, err, errlen);
			if (r)
				goto out;
		}
		bk_progress_add(&p, len);
	}
	r = bk_read(s, tail, sizeof(tail));
	if (r) {
		r = read_err(s, r, "the trailer", err, errlen);
		goto out;
	}
	if (memcmp(tail, BK_END_MAGIC, 8) || le64(tail + 8) != in->chunks || le64(tail + 16) != ndata) {
		snprintf(err, errlen, "%s: corrupt trailer (byte %" PRIu64 " of the file)",
			 s->name, s->pos - sizeof(tail));
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < in->chunks; i++) {
		r = bk_read(s, h, BK_HASH);
		if (r) {
			r = read_err(s, r, "the trailer", err, errlen);
			goto out;
		}
		if (memcmp(h, hashes + i * BK_HASH, BK_HASH)) {
			snprintf(err, errlen, "%s: the trailer's hash of chunk %" PRIu64
				 " differs from its record: refused", s->name, i);
			r = -EBADMSG;
			goto out;
		}
	}
	r = bk_stream_digest(s, got);
	if (!r) {
		r = bk_read(s, want, BK_HASH);
		if (r) {
			r = read_err(s, r, "the trailer", err, errlen);
			goto out;
		}
	}
	if (r || memcmp(got, want, BK_HASH)) {
		snprintf(err, errlen, "%s: the whole-file SHA-256 does not match: the file is corrupt",
			 s->name);
		r = -EBADMSG;
		goto out;
	}
	{
		uint8_t extra;
		ssize_t n = read(s->fd, &extra, 1);

		if (n != 0) {
			snprintf(err, errlen, "%s: %s after the trailer", s->name,
				 n > 0 ? "unexpected data" : "read error");
			r = -EINVAL;
			goto out;
		}
	}
	aur_hex_encode(got, BK_HASH, m->info.file_sha256, sizeof(m->info.file_sha256));
	m->info.data_chunks = ndata;
	m->info.file_bytes = s->pos;
	bk_progress_end(&p);
out:
	if (r && p.on)
		fputc('\n', stderr);
	free(buf);
	free(hashes);
	return r;
}
