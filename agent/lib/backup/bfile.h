/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the backup file format, version 1 (Documentation/backup.md).
 *
 * Little-endian throughout:
 *   preamble   32 bytes: magic "AURBACK\0", u32 version, u32 manifest length,
 *              u64 header-area length, u64 zero
 *   manifest   JSON (not NUL-terminated)
 *   header     the source's first 2 * AUR_HDR_AREA bytes (both copies)
 *   records    one per chunk, in order: "CHNK", u32 kind (1 data, 2 hole),
 *              u64 index, 32-byte SHA-256 of the chunk (zero for a hole),
 *              then the chunk's bytes for a data record
 *   trailer    "AURBEND\0", u64 chunks, u64 data chunks, chunks x 32-byte
 *              hashes, then the SHA-256 of every byte before it
 * Streams: written and read front to back, no seek needed.
 */
#ifndef AURORA_BACKUP_BFILE_H
#define AURORA_BACKUP_BFILE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "aurora/backup.h"

#define BK_MAGIC		"AURBACK\0"
#define BK_END_MAGIC		"AURBEND\0"
#define BK_REC_MAGIC		"CHNK"
#define BK_VERSION		1
#define BK_PREAMBLE		32
#define BK_REC_HDR		48
#define BK_MANIFEST_MAX		(64 * 1024)
#define BK_HASH			32
#define BK_KIND_DATA		1
#define BK_KIND_HOLE		2

/* A sequential stream, hashed as it goes. */
struct bk_stream {
	int fd;
	const char *name;	/* for messages */
	EVP_MD_CTX *whole;	/* SHA-256 of every byte so far */
	uint64_t pos;
};

int bk_stream_init(struct bk_stream *s, int fd, const char *name);
void bk_stream_fini(struct bk_stream *s);
/* Restart at byte 0 (seekable files only). */
int bk_stream_rewind(struct bk_stream *s);
/* 0, -EIO (read error), -ENODATA (end of file before @len bytes). */
int bk_read(struct bk_stream *s, void *buf, size_t len);
int bk_write(struct bk_stream *s, const void *buf, size_t len);
/* The hash so far (does not disturb the running one). */
int bk_stream_digest(struct bk_stream *s, uint8_t out[BK_HASH]);

int bk_sha256(const void *buf, size_t len, uint8_t out[BK_HASH]);

/* A backup's preamble, manifest and header area, read and checked. */
struct bk_meta {
	struct aur_backup_info info;
	uint8_t *hdr_area;		/* 2 * AUR_HDR_AREA bytes, malloc()ed */
	struct aur_hdr_read hr;		/* the header it holds */
};

/* Write preamble, manifest (from @info) and @hdr_area. */
int bk_write_head(struct bk_stream *s, const struct aur_backup_info *info,
		  const uint8_t *hdr_area, char *err, size_t errlen);
/* Read and check them; m->hdr_area and m->hr.hdr to be freed by bk_meta_free. */
int bk_read_head(struct bk_stream *s, struct bk_meta *m, char *err, size_t errlen);
void bk_meta_free(struct bk_meta *m);

/*
 * Read every record then the trailer, checking each chunk's hash before
 * handing it to @fn (data: @buf of @len bytes; hole: @buf NULL), the
 * trailer's list and the whole-file hash, and that nothing follows.
 * @fn returns 0 or a negative errno (its message in @err).
 */
typedef int (*bk_chunk_fn)(uint64_t index, const uint8_t *buf, size_t len, void *ctx,
			   char *err, size_t errlen);
int bk_read_chunks(struct bk_stream *s, struct bk_meta *m, bk_chunk_fn fn, void *ctx,
		   bool progress, const char *what, char *err, size_t errlen);

/* Progress line on stderr (only when asked and stderr is a terminal). */
struct bk_progress {
	bool on;
	const char *what;
	uint64_t total, done;
	double start, last;
};
void bk_progress_start(struct bk_progress *p, bool on, const char *what, uint64_t total);
void bk_progress_add(struct bk_progress *p, uint64_t n);
void bk_progress_end(struct bk_progress *p);

#endif /* AURORA_BACKUP_BFILE_H */
