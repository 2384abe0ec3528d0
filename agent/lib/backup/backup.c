// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: backup, verify and restore of volumes, and header backups
 * (aurora/backup.h, Documentation/backup.md).  Backup and verify never touch
 * a key.  Restore unwraps the data key once, to tell whether the backup's
 * CMK can be used (secmem, wiped at once), and has the KMS rewrap it
 * (ReEncrypt).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/bfile.h"
#include "kms/arn.h"
#include "backup/lvm.h"
#include "backup/tmpmap.h"
#include "kms/kms.h"
#include "util/util.h"
#include "volume/header.h"
#include "volume/internal.h"

/* Exit class of a backup file that is not a valid backup. */
#define EXIT_BADFILE	AUR_EXIT_HEADER

static bool all_zero(const uint8_t *p, size_t len)
{
	static const uint8_t z[4096];
	size_t n;

	while (len) {
		n = len < sizeof(z) ? len : sizeof(z);
		if (memcmp(p, z, n))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/*
 * Open the source: exclusively (a block device in use by a mapping, a
 * mount or another exclusive opener is refused).  When it is an open
 * aurora volume, -EBUSY with @mapping set: the caller may snapshot it.
 */
static int open_source(const char *source, struct stat *sb, char *mapping,
		       struct aur_error *err)
{
	struct aur_open_volume ov;
	struct aur_hdr_read hr;
	struct aur_error e2 = { 0 };
	int fd;

	mapping[0] = '\0';
	if (!strchr(source, '/') && aur_volume_get_open(source, &ov, NULL) == 0) {
		aur_strcpy(mapping, AUR_DM_NAME_MAX, ov.name);
		return -EBUSY;
	}
	fd = aur_volume_open_dev(source, O_RDONLY | O_EXCL, sb, err);
	if (fd != -EBUSY)
		return fd;
	if (aur_volume_read_header(source, &hr, &e2) == 0) {
		if (aur_volume_find_open(hr.hdr.uuid, &ov) == 0) {
			aur_strcpy(mapping, AUR_DM_NAME_MAX, ov.name);
			aur_error_set(err, AUR_EXIT_BUSY,
				      "%s: volume %s is open as /dev/mapper/%s: close it first, or back "
				      "up a snapshot of it", source, hr.hdr.uuid, ov.name);
		}
		aur_hdr_free(&hr.hdr);
	}
	return fd;
}

static int backup_create(const char *source, const char *file, const struct aur_backup_opts *o,
			 struct aur_backup_info *info, struct aur_error *err);

/* Back up open volume @mapping through a temporary thin snapshot. */
static int backup_via_snapshot(const char *mapping, const char *file,
			       const struct aur_backup_opts *o, struct aur_backup_info *info,
			       struct aur_error *err)
{
	struct aur_snapshot snap;
	struct aur_error e2 = { 0 };
	char tmp[64], vglv[2 * AUR_LVM_NAME_MAX + 2];
	int r;

	snprintf(tmp, sizeof(tmp), "aurora-backup-%d", (int)getpid());
	r = aur_snapshot_create(mapping, tmp, &snap, &e2);
	if (r) {
		aur_error_set(err, e2.exit_code ? e2.exit_code : AUR_EXIT_FAILURE,
			      "volume %s is open and a temporary snapshot of it failed (close it, or "
			      "put it on LVM thin storage): %s", mapping, e2.msg);
		return r;
	}
	if (!snap.dm_path[0]) {
		aur_error_set(err, AUR_EXIT_FAILURE, "temporary snapshot %s/%s has no device node",
			      snap.vg, snap.lv);
		r = -ENOENT;
	} else {
		aur_info("backing up open volume %s through temporary snapshot %s/%s", mapping,
			 snap.vg, snap.lv);
		r = backup_create(snap.dm_path, file, o, info, err);
	}
	snprintf(vglv, sizeof(vglv), "%s/%s", snap.vg, snap.lv);
	if (aur_snapshot_delete(vglv, &e2))
		aur_warn("cannot remove temporary snapshot %s: %s", vglv, e2.msg);
	return r;
}

/* FILE for writing: "-" is stdout (not a terminal); else created (0600). */
static int open_output(const char *file, bool force, bool *created, struct aur_error *err)
{
	int fd;

	*created = false;
	if (!strcmp(file, "-")) {
		if (isatty(STDOUT_FILENO)) {
			aur_error_set(err, AUR_EXIT_USAGE,
				      "refusing to write a backup to a terminal: redirect standard output");
			return -EINVAL;
		}
		return STDOUT_FILENO;
	}
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST && force)
		fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	else if (fd >= 0)
		*created = true;
	if (fd < 0) {
		int e = errno;

		aur_error_set(err, e == EEXIST ? AUR_EXIT_BUSY : AUR_EXIT_FAILURE, "%s: %s%s", file,
			      strerror(e), e == EEXIST ? " (use --force to overwrite it)" : "");
		return -e;
	}
	return fd;
}

/*
 * Create backup @file (*@fd; "-": standard output) and write the head of
 * a backup described by @info, with header area @area, through @s.  0, or
 * an error set in @err (*@fd may be open: the caller closes it).
 */
static int start_output(const char *file, bool force, bool *created, struct bk_stream *s,
			const struct aur_backup_info *info, const uint8_t *area, int *fd,
			struct aur_error *err)
{
	char e[600];
	int r;

	*fd = open_output(file, force, created, err);
	if (*fd < 0)
		return *fd;
	r = bk_stream_init(s, *fd, strcmp(file, "-") ? file : "standard output");
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return r;
	}
	r = bk_write_head(s, info, area, e, sizeof(e));
	if (r)
		aur_error_set(err, AUR_EXIT_FAILURE, "%s", e);
	return r;
}

static void close_output(int fd, const char *file, bool created, bool failed)
{
	if (fd != STDOUT_FILENO)
		close(fd);
	if (failed && created)
		unlink(file);
}

static int finish_output(struct bk_stream *s, int fd, struct aur_backup_info *in,
			 const uint8_t *hashes, struct aur_error *err)
{
	uint8_t tail[24], dig[BK_HASH];
	struct stat sb;
	int r;

	memcpy(tail, BK_END_MAGIC, 8);
	for (r = 0; r < 8; r++) {
		tail[8 + r] = (uint8_t)(in->chunks >> (8 * r));
		tail[16 + r] = (uint8_t)(in->data_chunks >> (8 * r));
	}
	r = bk_write(s, tail, sizeof(tail));
	if (!r && in->chunks)
		r = bk_write(s, hashes, (size_t)in->chunks * BK_HASH);
	if (!r)
		r = bk_stream_digest(s, dig);
	if (!r)
		r = bk_write(s, dig, BK_HASH);
	if (!r && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && fsync(fd) != 0)
		r = -errno;
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", s->name, strerror(-r));
		return r;
	}
	aur_hex_encode(dig, BK_HASH, in->file_sha256, sizeof(in->file_sha256));
	in->file_bytes = s->pos;
	return 0;
}

static void info_from_hdr(struct aur_backup_info *in, const struct aur_hdr *h, const char *kind)
{
	aur_strcpy(in->kind, sizeof(in->kind), kind);
	aur_strcpy(in->uuid, sizeof(in->uuid), h->uuid);
	aur_strcpy(in->cmk_arn, sizeof(in->cmk_arn), h->cmk_arn);
	aur_strcpy(in->cmk_region, sizeof(in->cmk_region), h->cmk_region);
	aur_strcpy(in->provider, sizeof(in->provider), h->provider);
	aur_strcpy(in->source_state, sizeof(in->source_state), aur_vol_state_name(h->state));
	aur_time_iso(aur_now(), in->created);
	in->data_offset = h->data_offset;
	in->data_size = h->data_size;
}

static int backup_create(const char *source, const char *file, const struct aur_backup_opts *o,
			 struct aur_backup_info *info, struct aur_error *err)
{
	struct aur_backup_info in = { 0 };
	struct aur_hdr_read hr;
	struct bk_stream s = { .fd = -1 };
	struct bk_progress p = { 0 };
	struct stat sb;
	uint8_t *area = NULL, *buf = NULL, *hashes = NULL;
	uint8_t rec[BK_REC_HDR];
	uint64_t size, i;
	char e[400], mapping[AUR_DM_NAME_MAX];
	bool created = false;
	int fd, out = -1, r;

	aur_hdr_init(&hr.hdr);
	in.chunk_size = o->chunk_size ? o->chunk_size : AUR_BACKUP_CHUNK_DEFAULT;
	if (in.chunk_size < AUR_BACKUP_CHUNK_MIN || in.chunk_size > AUR_BACKUP_CHUNK_MAX ||
	    in.chunk_size % 4096) {
		aur_error_set(err, AUR_EXIT_USAGE, "chunk size must be a multiple of 4096 in %u..%u",
			      AUR_BACKUP_CHUNK_MIN, AUR_BACKUP_CHUNK_MAX);
		return -EINVAL;
	}
	fd = open_source(source, &sb, mapping, err);
	if (fd == -EBUSY && mapping[0])
		return backup_via_snapshot(mapping, file, o, info, err);
	if (fd < 0)
		return fd;
	flock(fd, LOCK_SH);
	r = aur_hdr_read_fd(fd, &hr, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", source, e);
		goto out;
	}
	r = aur_dev_size(fd, &size);
	if (r || size < hr.hdr.data_offset + hr.hdr.data_size) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: shorter than its header says", source);
		r = -EINVAL;
		goto out;
	}
	info_from_hdr(&in, &hr.hdr, "volume");
	in.chunks = (in.data_size + in.chunk_size - 1) / in.chunk_size;
	area = malloc(2 * AUR_HDR_AREA);
	buf = malloc(in.chunk_size);
	hashes = calloc(in.chunks ? in.chunks : 1, BK_HASH);
	if (!area || !buf || !hashes) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = aur_pread_full(fd, area, 2 * AUR_HDR_AREA, 0);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error: %s", source, strerror(-r));
		goto out;
	}
	r = start_output(file, o->force, &created, &s, &in, area, &out, err);
	if (r)
		goto out;
	bk_progress_start(&p, o->progress, "backup", in.data_size);
	for (i = 0; i < in.chunks; i++) {
		uint64_t off = i * in.chunk_size;
		size_t len = (size_t)(in.data_size - off < in.chunk_size ? in.data_size - off :
				      in.chunk_size);
		bool hole;

		if (bk_signal_pending()) {
			aur_error_set(err, AUR_EXIT_FAILURE, "interrupted");
			r = -EINTR;
			goto out;
		}
		r = aur_pread_full(fd, buf, len, in.data_offset + off);
		if (r) {
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error at byte %" PRIu64 ": %s",
				      source, in.data_offset + off, strerror(-r));
			goto out;
		}
		hole = all_zero(buf, len);
		memset(rec, 0, sizeof(rec));
		memcpy(rec, BK_REC_MAGIC, 4);
		rec[4] = hole ? BK_KIND_HOLE : BK_KIND_DATA;
		for (r = 0; r < 8; r++)
			rec[8 + r] = (uint8_t)(i >> (8 * r));
		r = 0;
		if (!hole) {
			r = bk_sha256(buf, len, rec + 16);
			memcpy(hashes + i * BK_HASH, rec + 16, BK_HASH);
			in.data_chunks++;
		}
		if (!r)
			r = bk_write(&s, rec, sizeof(rec));
		if (!r && !hole)
			r = bk_write(&s, buf, len);
		if (r) {
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", s.name, strerror(-r));
			goto out;
		}
		bk_progress_add(&p, len);
	}
	r = finish_output(&s, out, &in, hashes, err);
	if (!r)
		bk_progress_end(&p);
out:
	if (r && p.on)
		fputc('\n', stderr);
	if (out >= 0)
		close_output(out, file, created, r != 0);
	bk_stream_fini(&s);
	free(area);
	free(buf);
	free(hashes);
	aur_hdr_free(&hr.hdr);
	close(fd);
	if (info)
		*info = in;
	return r;
}

/*
 * SIGINT, SIGTERM and SIGHUP are held for the whole backup and seen between
 * two chunks: an interrupted backup removes the file it created and the
 * temporary snapshot of an open volume, then the signal takes its course.
 */
int aur_backup_create(const char *source, const char *file, const struct aur_backup_opts *o,
		      struct aur_backup_info *info, struct aur_error *err)
{
	sigset_t old;
	int r;

	bk_signals_hold(&old);
	r = backup_create(source, file, o, info, err);
	bk_signals_release(&old);
	return r;
}

/* ------------------------------------------------------------------ */

/* FILE for reading: "-" is stdin. */
static int open_input(const char *file, bool *seekable, struct aur_error *err)
{
	struct stat sb;
	int fd;

	if (!strcmp(file, "-"))
		fd = STDIN_FILENO;
	else
		fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		aur_error_set(err, e == ENOENT ? AUR_EXIT_NOT_FOUND : AUR_EXIT_FAILURE, "%s: %s",
			      file, strerror(e));
		return -e;
	}
	*seekable = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	return fd;
}

static void close_input(int fd)
{
	if (fd != STDIN_FILENO)
		close(fd);
}

static int bad_file(struct aur_error *err, int r, const char *msg)
{
	aur_error_set(err, r == -EIO || r == -ENOMEM ? AUR_EXIT_FAILURE : EXIT_BADFILE, "%s", msg);
	return r;
}

/*
 * Start reading backup @file (open as @in) into @s and its head into @m; a
 * backup of a whole volume is needed.  0, or an error set in @err.
 */
static int read_volume_head(struct bk_stream *s, struct bk_meta *m, int in, const char *file,
			    struct aur_error *err)
{
	char e[600];
	int r;

	r = bk_stream_init(s, in, strcmp(file, "-") ? file : "standard input");
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return r;
	}
	r = bk_read_head(s, m, e, sizeof(e));
	if (r)
		return bad_file(err, r, e);
	if (strcmp(m->info.kind, "volume")) {
		aur_error_set(err, EXIT_BADFILE, "%s is a %s backup, not a volume backup%s", file,
			      m->info.kind, strcmp(m->info.kind, "header") ? "" :
			      " (use aurora header restore)");
		return -EINVAL;
	}
	return 0;
}

/*
 * Check every chunk of a seekable backup, then read it again from its head
 * (@m holds the head afresh).  0, or an error set in @err.
 */
static int verify_whole(struct bk_stream *s, struct bk_meta *m, bool progress,
			struct aur_error *err)
{
	char e[600];
	int r;

	r = bk_read_chunks(s, m, NULL, NULL, progress, "verify", e, sizeof(e));
	if (r)
		return bad_file(err, r, e);
	bk_meta_free(m);
	r = bk_stream_rewind(s);
	if (!r)
		r = bk_read_head(s, m, e, sizeof(e));
	if (r)
		return bad_file(err, r, r == -ESPIPE ? "cannot rewind the backup file" : e);
	return 0;
}

int aur_backup_verify(const char *file, bool progress, struct aur_backup_info *info,
		      struct aur_error *err)
{
	struct bk_stream s;
	struct bk_meta m;
	char e[600];
	bool seekable;
	int fd, r;

	fd = open_input(file, &seekable, err);
	if (fd < 0)
		return fd;
	r = bk_stream_init(&s, fd, strcmp(file, "-") ? file : "standard input");
	if (r) {
		close_input(fd);
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return r;
	}
	r = bk_read_head(&s, &m, e, sizeof(e));
	if (!r)
		r = bk_read_chunks(&s, &m, NULL, NULL, progress, "verify", e, sizeof(e));
	if (r)
		bad_file(err, r, e);
	else if (info)
		*info = m.info;
	bk_meta_free(&m);
	bk_stream_fini(&s);
	close_input(fd);
	return r;
}

/* ------------------------------------------------------------------ */

struct restore_ctx {
	int fd;
	const char *device;
	bool blk;
	uint64_t data_offset;
	uint32_t chunk_size;
	uint8_t *zero;		/* AUR_BACKUP_CHUNK_MIN bytes of zeros */
};

static int zero_range(struct restore_ctx *c, uint64_t off, uint64_t len)
{
	if (c->blk) {
		uint64_t range[2] = { off, len };

		if (ioctl(c->fd, BLKZEROOUT, range) == 0)
			return 0;
	} else if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)off, (off_t)len) == 0) {
		return 0;
	}
	while (len) {
		size_t n = len < AUR_BACKUP_CHUNK_MIN ? (size_t)len : AUR_BACKUP_CHUNK_MIN;
		int r = aur_pwrite_full(c->fd, c->zero, n, off);

		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int write_chunk(uint64_t index, const uint8_t *buf, size_t len, void *ctx,
		       char *err, size_t errlen)
{
	struct restore_ctx *c = ctx;
	uint64_t off = c->data_offset + index * c->chunk_size;
	int r = buf ? aur_pwrite_full(c->fd, buf, len, off) : zero_range(c, off, len);

	if (r)
		snprintf(err, errlen, "%s: write error at byte %" PRIu64 ": %s", c->device, off,
			 strerror(-r));
	return r;
}

/* The new volume's header: the backup's, with a new identity and DEK wrapping. */
static int rewrap(struct aur_kms *kms, const struct aur_hdr *src, const char *key_id,
		  struct aur_hdr *nh, struct aur_error *err)
{
	struct aur_kms_status st;
	struct aur_secret *pt = NULL;
	struct aur_arn arn;
	char what[AUR_ARN_MAX + AUR_NAME_MAX + 64];
	const char *dst = key_id && *key_id ? key_id : src->cmk_arn;

	/* Is the backup's CMK usable?  Say so by name when it is not. */
	if (aur_kms_decrypt(kms, src->cmk_arn, &src->ctx, &src->wrapped_dek, &pt, NULL, &st)) {
		snprintf(what, sizeof(what), "the backup's CMK %s cannot unwrap its data key (Decrypt)",
			 src->cmk_arn);
		return aur_error_from_kms(err, what, &st);
	}
	aur_secret_free(pt);
	if (aur_hdr_copy(nh, src)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	if (aur_uuid_generate(nh->uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "no randomness for a UUID");
		return -EIO;
	}
	memset(&nh->ctx, 0, sizeof(nh->ctx));
	aur_enc_ctx_set(&nh->ctx, "aurora:volume-uuid", nh->uuid);
	aur_enc_ctx_set(&nh->ctx, "aurora:region", kms->region);
	if (aur_kms_re_encrypt(kms, src->cmk_arn, &src->ctx, &src->wrapped_dek, dst, &nh->ctx,
			       &nh->wrapped_dek, nh->cmk_arn, &st)) {
		snprintf(what, sizeof(what), "cannot wrap the data key under CMK %s (ReEncrypt from %s)",
			 dst, src->cmk_arn);
		return aur_error_from_kms(err, what, &st);
	}
	if (aur_arn_parse(nh->cmk_arn, &arn) != AUR_ARN_OK) {
		aur_error_set(err, AUR_EXIT_FAILURE, "the KMS returned a key ARN we cannot read: %s",
			      nh->cmk_arn);
		return -EPROTO;
	}
	aur_strcpy(nh->cmk_region, sizeof(nh->cmk_region), arn.region);
	aur_strcpy(nh->cmk_account, sizeof(nh->cmk_account), arn.account);
	aur_strcpy(nh->provider, sizeof(nh->provider), aur_kms_provider_name(kms));
	if (key_id && *key_id)
		aur_strcpy(nh->cmk_named, sizeof(nh->cmk_named), key_id);
	nh->state = AUR_VOL_ACTIVE;
	nh->terminal_reason[0] = '\0';
	nh->terminal_time = 0;
	nh->created = aur_now();
	nh->seqid = 0;
	aur_strcpy(nh->restored_from, sizeof(nh->restored_from), src->uuid);
	return 0;
}

/* Open DEVICE for writing: exclusive, locked, large enough, and empty unless @yes. */
static int open_target(const char *device, uint64_t need, bool yes, bool *blk, const char *flag,
		       struct aur_error *err)
{
	char what[128];
	struct stat sb;
	uint64_t size;
	int fd, r;

	fd = aur_volume_open_dev(device, O_RDWR | O_EXCL, &sb, err);
	if (fd < 0)
		return fd;
	*blk = S_ISBLK(sb.st_mode);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s: locked by another aurora process", device);
		r = -EBUSY;
		goto fail;
	}
	r = aur_dev_size(fd, &size);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot get its size: %s", device, strerror(-r));
		goto fail;
	}
	if (size < need) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s: too small: %" PRIu64 " bytes, the backup needs %"
			      PRIu64, device, size, need);
		r = -ENOSPC;
		goto fail;
	}
	r = aur_probe_signatures(fd, size, what, sizeof(what));
	if (r < 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error: %s", device, strerror(-r));
		goto fail;
	}
	if (r > 0 && !yes) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s holds %s; refusing to overwrite it (%s destroys it)",
			      device, what, flag);
		r = -EEXIST;
		goto fail;
	}
	if (r > 0)
		aur_warn("%s: overwriting %s (%s)", device, what, flag);
	return fd;
fail:
	close(fd);
	return r;
}

int aur_backup_restore(struct aur_kms *kms, const char *file, const char *device,
		       const struct aur_restore_opts *o, struct aur_backup_info *info,
		       struct aur_hdr *out, struct aur_error *err)
{
	struct restore_ctx c = { .fd = -1, .device = device };
	struct aur_hdr nh;
	struct bk_stream s = { .fd = -1 };
	struct bk_meta m;
	char e[600], hdr_e[400];
	bool seekable = false, wrote = false;
	int in, r;

	memset(&m, 0, sizeof(m));
	aur_hdr_init(&m.hr.hdr);
	aur_hdr_init(&nh);
	in = open_input(file, &seekable, err);
	if (in < 0)
		return in;
	r = read_volume_head(&s, &m, in, file, err);
	if (r)
		goto out;
	c.fd = open_target(device, m.info.data_offset + m.info.data_size, o->yes, &c.blk, "--yes",
			   err);
	if (c.fd < 0) {
		r = c.fd;
		goto out;
	}
	c.data_offset = m.info.data_offset;
	c.chunk_size = m.info.chunk_size;
	c.zero = calloc(1, AUR_BACKUP_CHUNK_MIN);
	if (!c.zero) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	if (seekable) {
		/* Verify the whole file before anything is written. */
		r = verify_whole(&s, &m, o->progress, err);
		if (r)
			goto out;
	}
	r = rewrap(kms, &m.hr.hdr, o->kms_key_id, &nh, err);
	if (r)
		goto out;
	/* Nothing written so far.  First the old headers and signatures go. */
	wrote = true;
	r = zero_range(&c, 0, m.info.data_offset);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", device, strerror(-r));
		goto out;
	}
	r = bk_read_chunks(&s, &m, write_chunk, &c, o->progress, "restore", e, sizeof(e));
	if (r) {
		bad_file(err, r, e);
		goto out;
	}
	if (fsync(c.fd) != 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: fsync: %s", device, strerror(errno));
		goto out;
	}
	/* The header last: a restore cut short leaves no volume behind. */
	r = aur_hdr_write_fd(c.fd, &nh, 0, hdr_e, sizeof(hdr_e));
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", device, hdr_e);
		goto out;
	}
	if (info)
		*info = m.info;
	if (out) {
		*out = nh;
		nh.json = NULL;
	}
out:
	if (r && c.fd >= 0 && err) {
		size_t l = strlen(err->msg);

		if (wrote)
			snprintf(err->msg + l, sizeof(err->msg) - l,
				 "; %s now holds no aurora volume (partial data, no header)", device);
		else
			snprintf(err->msg + l, sizeof(err->msg) - l, "; nothing was written to %s",
				 device);
	}
	free(c.zero);
	if (c.fd >= 0)
		close(c.fd);
	aur_hdr_free(&nh);
	bk_meta_free(&m);
	bk_stream_fini(&s);
	close_input(in);
	return r;
}

/* ------------------------------------------------------------------ */
/* Restore of an unencrypted image                                    */

#define PLAIN_BUF	AUR_BACKUP_CHUNK_DEFAULT

/* Refuse an image that is an aurora volume (its ciphertext would be encrypted again). */
static int plain_image_check(int fd, const char *image, struct aur_error *err)
{
	struct aur_hdr_read hr;
	char e[400];
	int r;

	memset(&hr, 0, sizeof(hr));
	aur_hdr_init(&hr.hdr);
	r = aur_hdr_read_fd(fd, &hr, e, sizeof(e));
	aur_hdr_free(&hr.hdr);
	if (r == 0) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s holds an aurora volume (encrypted data), not a "
			      "plaintext image: back it up with aurora backup and use aurora restore",
			      image);
		return -EINVAL;
	}
	return 0;
}

/*
 * Check @device for an image of @isize bytes: a block device, empty unless
 * @yes, with a data area (as format lays it out) that holds the image.
 * Nothing is written; the device is closed again.  Its device number in *@rdev.
 */
static int plain_target_check(const char *device, const char *image, uint64_t isize, bool yes,
			      dev_t *rdev, struct aur_error *err)
{
	struct stat sb;
	uint64_t size, area, need;
	bool blk;
	int fd, r = 0;

	fd = open_target(device, 0, yes, &blk, "--yes", err);
	if (fd < 0)
		return fd;
	if (!blk || fstat(fd, &sb) != 0) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s is not a block device (the image is written "
			      "through a dm-aurora mapping of it: attach a file with losetup first)",
			      device);
		r = -ENOTBLK;
		goto out;
	}
	*rdev = sb.st_rdev;
	r = aur_dev_size(fd, &size);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot get its size: %s", device, strerror(-r));
		goto out;
	}
	area = size > AUR_DATA_OFFSET_DEFAULT ? (size - AUR_DATA_OFFSET_DEFAULT) / 512 * 512 : 0;
	need = (isize + 511) / 512 * 512;
	if (need < 1024 * 1024)
		need = 1024 * 1024;
	if (area < need) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s: too small: the image %s is %" PRIu64 " bytes, "
			      "the data area of %s is %" PRIu64 " bytes (%" PRIu64 " bytes less the %u "
			      "of the header area; at least 1 MiB)", device, image, isize, device,
			      area, size, AUR_DATA_OFFSET_DEFAULT);
		r = -ENOSPC;
	}
out:
	close(fd);
	return r;
}

/* Zero both header copies of @fd (and flush): no aurora volume is left there. */
static int wipe_header_area(int fd, const char *device, struct aur_error *err)
{
	uint8_t *z = calloc(2, AUR_HDR_AREA);
	int r;

	if (!z) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	r = aur_pwrite_full(fd, z, 2 * AUR_HDR_AREA, 0);
	if (!r && fsync(fd) != 0)
		r = -errno;
	free(z);
	if (r)
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", device, strerror(-r));
	return r;
}

/* Write image @in (@isize bytes) to mapping @path from its start. */
static int plain_copy(int in, const char *image, uint64_t isize, const char *path, bool progress,
		      struct aur_error *err)
{
	struct bk_progress p;
	uint8_t *buf;
	uint64_t pos;
	int mfd, r = 0;

	buf = malloc(PLAIN_BUF);
	if (!buf) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	mfd = open(path, O_WRONLY | O_CLOEXEC);
	if (mfd < 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_KERNEL, "%s: %s", path, strerror(errno));
		free(buf);
		return r;
	}
	bk_progress_start(&p, progress, "restore", isize);
	for (pos = 0; pos < isize && !r; pos += PLAIN_BUF) {
		size_t len = isize - pos < PLAIN_BUF ? (size_t)(isize - pos) : PLAIN_BUF;
		size_t wlen = (len + 511) / 512 * 512;

		if (bk_signal_pending()) {
			aur_error_set(err, AUR_EXIT_FAILURE, "interrupted");
			r = -EINTR;
			break;
		}
		r = aur_pread_full(in, buf, len, pos);
		if (r) {
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error at byte %" PRIu64 ": %s",
				      image, pos, strerror(-r));
			break;
		}
		memset(buf + len, 0, wlen - len);	/* a last partial sector: zeros */
		r = aur_pwrite_full(mfd, buf, wlen, pos);
		if (r)
			aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error at byte %" PRIu64 ": %s",
				      path, pos, strerror(-r));
		bk_progress_add(&p, len);
	}
	if (!r && fdatasync(mfd) != 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: flush: %s", path, strerror(errno));
	}
	if (r && p.on)
		fputc('\n', stderr);
	else if (!r)
		bk_progress_end(&p);
	/* The mapping's page cache held plaintext: drop it now. */
	ioctl(mfd, BLKFLSBUF, 0);
	close(mfd);
	explicit_bzero(buf, PLAIN_BUF);
	free(buf);
	return r;
}

int aur_restore_plaintext(struct aur_kms *kms, const char *image, const char *device,
			  const struct aur_restore_opts *o, struct aur_hdr *out,
			  struct aur_error *err)
{
	struct aur_format_opts fo = { 0 };
	struct aur_kms_status st;
	struct aur_secret *dek = NULL;
	struct bk_tmpmap tm = { 0 };
	struct aur_hdr h;
	struct stat isb;
	uint64_t isize;
	uint8_t *area = NULL;
	char lineage[256], what[AUR_ARN_MAX + 96];
	bool formatted = false, tried = false, held = false, wiped = false;
	sigset_t old;
	dev_t rdev = 0;
	int in, fd = -1, r;

	aur_hdr_init(&h);
	if (!o->kms_key_id || !*o->kms_key_id) {
		aur_error_set(err, AUR_EXIT_USAGE, "restore --plaintext needs --kms-key-id: the CMK of "
			      "the new encrypted volume");
		return -EINVAL;
	}
	in = aur_volume_open_dev(image, O_RDONLY | O_EXCL, &isb, err);
	if (in < 0)
		return in;
	r = aur_dev_size(in, &isize);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot get its size: %s", image, strerror(-r));
		goto out;
	}
	if (isize == 0) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s is empty", image);
		r = -EINVAL;
		goto out;
	}
	r = plain_image_check(in, image, err);
	if (!r)
		r = plain_target_check(device, image, isize, o->yes, &rdev, err);
	if (r)
		goto out;
	/* The new volume, as format makes it: new UUID, fresh data key under K. */
	snprintf(lineage, sizeof(lineage), "%s%.*s", AUR_RESTORED_FROM_PLAINTEXT,
		 (int)(sizeof(lineage) - sizeof(AUR_RESTORED_FROM_PLAINTEXT)), image);
	fo.kms_key_id = o->kms_key_id;
	fo.force = o->yes;
	fo.restored_from = lineage;
	tried = true;
	r = aur_volume_format(kms, device, &fo, &h, err);
	if (r)
		goto out;
	formatted = true;
	/* Keep the header aside, and off the device until the data is in. */
	area = calloc(2, AUR_HDR_AREA);
	if (!area) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	fd = open(device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: %s", device, strerror(errno));
		goto out;
	}
	flock(fd, LOCK_EX);
	r = aur_pread_full(fd, area, 2 * AUR_HDR_AREA, 0);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error: %s", device, strerror(-r));
		goto out;
	}
	r = wipe_header_area(fd, device, err);
	if (r)
		goto out;
	wiped = true;
	if (aur_kms_decrypt(kms, h.cmk_arn, &h.ctx, &h.wrapped_dek, &dek, NULL, &st)) {
		snprintf(what, sizeof(what), "the new volume's CMK %s cannot unwrap its data key "
			 "(Decrypt)", h.cmk_arn);
		r = aur_error_from_kms(err, what, &st);
		goto out;
	}
	if (dek->len != AUR_KEY_BYTES) {
		aur_error_set(err, AUR_EXIT_FAILURE, "the KMS returned a %zu-byte data key, not %d",
			      dek->len, AUR_KEY_BYTES);
		r = -EPROTO;
		goto out;
	}
	bk_signals_hold(&old);
	held = true;
	r = bk_tmpmap_open(&tm, &h, rdev, dek, "plain", err);
	aur_secret_free(dek);
	dek = NULL;
	if (r)
		goto out;
	r = plain_copy(in, image, isize, tm.path, o->progress, err);
	bk_tmpmap_close(&tm);
	if (r)
		goto out;
	/* The data is in: commit the header last. */
	r = aur_pwrite_full(fd, area, 2 * AUR_HDR_AREA, 0);
	if (!r && fsync(fd) != 0)
		r = -errno;
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: writing the header: %s", device,
			      strerror(-r));
		wipe_header_area(fd, device, NULL);
		goto out;
	}
	if (out) {
		*out = h;
		h.json = NULL;
	}
out:
	bk_tmpmap_close(&tm);
	aur_secret_free(dek);
	if (r && formatted && !wiped) {
		/* Failed between format and taking its header off: take it off now. */
		int wfd = fd >= 0 ? fd : open(device, O_RDWR | O_CLOEXEC);

		wiped = wfd >= 0 && wipe_header_area(wfd, device, NULL) == 0;
		if (wfd >= 0 && wfd != fd)
			close(wfd);
	}
	if (r && err) {
		size_t l = strlen(err->msg);

		if (formatted && wiped)
			snprintf(err->msg + l, sizeof(err->msg) - l,
				 "; %s now holds no aurora volume (partial data, no header)", device);
		else if (formatted)
			snprintf(err->msg + l, sizeof(err->msg) - l,
				 "; %s may still hold the header of an empty new volume %s", device,
				 h.uuid);
		else if (!tried)
			snprintf(err->msg + l, sizeof(err->msg) - l, "; nothing was written to %s",
				 device);
	}
	if (fd >= 0)
		close(fd);
	free(area);
	aur_hdr_free(&h);
	close(in);
	if (held)
		bk_signals_release(&old);
	return r;
}

/* ------------------------------------------------------------------ */
/* Cross-region copy                                                  */

struct copy_ctx {
	struct bk_stream *out;
	uint8_t *hashes;	/* chunks x BK_HASH, zero for holes */
	uint64_t chunks, data_chunks;
	struct bk_progress *p;
};

/* Each record as it was: the same ciphertext, so the same hash. */
static int copy_chunk(uint64_t index, const uint8_t *buf, size_t len, void *ctx,
		      char *err, size_t errlen)
{
	struct copy_ctx *c = ctx;
	uint8_t rec[BK_REC_HDR] = { 0 };
	int i, r = 0;

	if (index >= c->chunks) {
		snprintf(err, errlen, "chunk %" PRIu64 " beyond the %" PRIu64 " chunks of the backup",
			 index, c->chunks);
		return -EINVAL;
	}
	if (bk_signal_pending()) {
		snprintf(err, errlen, "interrupted");
		return -EINTR;
	}
	memcpy(rec, BK_REC_MAGIC, 4);
	rec[4] = buf ? BK_KIND_DATA : BK_KIND_HOLE;
	for (i = 0; i < 8; i++)
		rec[8 + i] = (uint8_t)(index >> (8 * i));
	if (buf) {
		r = bk_sha256(buf, len, rec + 16);
		memcpy(c->hashes + index * BK_HASH, rec + 16, BK_HASH);
		c->data_chunks++;
	}
	if (!r)
		r = bk_write(c->out, rec, sizeof(rec));
	if (!r && buf)
		r = bk_write(c->out, buf, len);
	if (r)
		snprintf(err, errlen, "%s: write error: %s", c->out->name, strerror(-r));
	bk_progress_add(c->p, len);
	return r;
}

/* ------------------------------------------------------------------ */
/* Copy under a new data key: two temporary mappings                  */

/*
 * Chunk i's ciphertext (old key) goes into temporary file t1 at i * chunk;
 * mapping m1 (old key) over t1's loop device decrypts it, and splice(2)
 * moves it, inside the kernel, into mapping m2 (new key) over t2's loop
 * device, which encrypts it into t2; the new ciphertext is read from t2
 * and written as the copy's record.  Both ranges are then punched out of
 * the files and dropped from the mappings' page caches.
 */
struct reenc_ctx {
	struct copy_ctx *c;
	uint32_t chunk_size;
	int t1, t2, l1, l2, f1, f2, pipe[2];
	struct bk_tmpmap m1, m2;
	uint8_t *cbuf;			/* the new ciphertext of one chunk */
};

static int reenc_splice(struct reenc_ctx *x, uint64_t off, size_t len, char *err, size_t errlen)
{
	loff_t in = (loff_t)off, out = (loff_t)off;
	size_t left = len;

	while (left) {
		ssize_t n = splice(x->f1, &in, x->pipe[1], NULL, left, 0), m;

		if (n <= 0) {
			snprintf(err, errlen, "decrypting mapping %s at byte %" PRIu64 ": %s",
				 x->m1.path, (uint64_t)in, n ? strerror(errno) : "end of device");
			return n ? -errno : -EIO;
		}
		left -= (size_t)n;
		while (n > 0) {
			m = splice(x->pipe[0], NULL, x->f2, &out, (size_t)n, 0);
			if (m <= 0) {
				snprintf(err, errlen, "encrypting mapping %s at byte %" PRIu64 ": %s",
					 x->m2.path, (uint64_t)out, m ? strerror(errno) : "no space");
				return m ? -errno : -EIO;
			}
			n -= m;
		}
	}
	return 0;
}

static int reenc_chunk(uint64_t index, const uint8_t *buf, size_t len, void *ctx,
		       char *err, size_t errlen)
{
	struct reenc_ctx *x = ctx;
	uint64_t off = index * x->chunk_size;
	int r;

	/* A hole (ciphertext never written) stays a hole. */
	if (!buf)
		return copy_chunk(index, NULL, len, x->c, err, errlen);
	if (bk_signal_pending()) {
		snprintf(err, errlen, "interrupted");
		return -EINTR;
	}
	if (index >= x->c->chunks || len > x->chunk_size) {
		snprintf(err, errlen, "chunk %" PRIu64 " beyond the %" PRIu64 " chunks of the backup",
			 index, x->c->chunks);
		return -EINVAL;
	}
	r = aur_pwrite_full(x->t1, buf, len, off);
	if (r) {
		snprintf(err, errlen, "temporary file: write error: %s", strerror(-r));
		return r;
	}
	/* Nothing of this range may come from an earlier read of m1. */
	posix_fadvise(x->f1, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	r = reenc_splice(x, off, len, err, errlen);
	if (!r && fdatasync(x->f2) != 0) {
		r = -errno;
		snprintf(err, errlen, "%s: flush: %s", x->m2.path, strerror(errno));
	}
	posix_fadvise(x->f1, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	posix_fadvise(x->f2, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED);
	if (r)
		return r;
	r = aur_pread_full(x->t2, x->cbuf, len, off);
	if (r) {
		snprintf(err, errlen, "temporary file: read error: %s", strerror(-r));
		return r;
	}
	fallocate(x->t1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	fallocate(x->t2, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	return copy_chunk(index, x->cbuf, len, x->c, err, errlen);
}

static void reenc_fini(struct reenc_ctx *x)
{
	if (x->f1 >= 0) {
		ioctl(x->f1, BLKFLSBUF, 0);
		close(x->f1);
	}
	if (x->f2 >= 0) {
		ioctl(x->f2, BLKFLSBUF, 0);
		close(x->f2);
	}
	x->f1 = x->f2 = -1;
	bk_tmpmap_close(&x->m1);
	bk_tmpmap_close(&x->m2);
	if (x->pipe[0] >= 0)
		close(x->pipe[0]);
	if (x->pipe[1] >= 0)
		close(x->pipe[1]);
	/* The loop devices go with their last opener (autoclear). */
	if (x->l1 >= 0)
		close(x->l1);
	if (x->l2 >= 0)
		close(x->l2);
	if (x->t1 >= 0)
		close(x->t1);
	if (x->t2 >= 0)
		close(x->t2);
	x->pipe[0] = x->pipe[1] = x->l1 = x->l2 = x->t1 = x->t2 = -1;
	free(x->cbuf);
	x->cbuf = NULL;
}

/* Where the temporary files go: --tmpdir, DEST's directory, $TMPDIR, /var/tmp. */
static void reenc_dir(const char *tmpdir, const char *dest, char *out, size_t len)
{
	const char *slash, *env;

	if (tmpdir && *tmpdir) {
		aur_strcpy(out, len, tmpdir);
	} else if (strcmp(dest, "-")) {
		slash = strrchr(dest, '/');
		if (!slash)
			aur_strcpy(out, len, ".");
		else if (slash == dest)
			aur_strcpy(out, len, "/");
		else
			snprintf(out, len, "%.*s", (int)(slash - dest), dest);
	} else {
		env = getenv("TMPDIR");
		aur_strcpy(out, len, env && *env ? env : "/var/tmp");
	}
}

/*
 * Set up both mappings: m1 under @old over a temporary file, m2 under @new
 * over another, each @h's data size.  0, or an error set in @err (the
 * caller runs reenc_fini).
 */
static int reenc_setup(struct reenc_ctx *x, const struct aur_hdr *h, const struct aur_secret *old,
		       const struct aur_secret *new, const char *dir, struct aur_error *err)
{
	struct aur_hdr th;
	dev_t d1, d2;
	int r;

	x->cbuf = malloc(x->chunk_size);
	if (!x->cbuf || pipe2(x->pipe, O_CLOEXEC) != 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	fcntl(x->pipe[1], F_SETPIPE_SZ, (int)x->chunk_size);
	x->t1 = bk_tmpfile(dir, h->data_size, err);
	if (x->t1 < 0)
		return x->t1;
	x->t2 = bk_tmpfile(dir, h->data_size, err);
	if (x->t2 < 0)
		return x->t2;
	x->l1 = bk_loop_attach(x->t1, &d1, err);
	if (x->l1 < 0)
		return x->l1;
	x->l2 = bk_loop_attach(x->t2, &d2, err);
	if (x->l2 < 0)
		return x->l2;
	/* The temporary files hold the data area alone, from byte 0. */
	th = *h;
	th.json = NULL;
	th.data_offset = 0;
	r = bk_tmpmap_open(&x->m1, &th, d1, old, "old", err);
	if (!r)
		r = bk_tmpmap_open(&x->m2, &th, d2, new, "new", err);
	if (r)
		return r;
	x->f1 = open(x->m1.path, O_RDONLY | O_CLOEXEC);
	x->f2 = x->f1 < 0 ? -1 : open(x->m2.path, O_RDWR | O_CLOEXEC);
	if (x->f1 < 0 || x->f2 < 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot open a temporary mapping: %s",
			      strerror(errno));
		return r;
	}
	/* No read-ahead on m1: only ranges whose ciphertext is in place are read. */
	posix_fadvise(x->f1, 0, 0, POSIX_FADV_RANDOM);
	return 0;
}

/*
 * The copy's header: the backup's, with a new UUID, the data key unwrapped
 * in the source region (Decrypt) and wrapped in the destination region
 * (Encrypt) under the new encryption context.  The plaintext key is in
 * secmem only, and wiped before return.
 */
static int copy_rewrap(struct aur_kms *kms, const struct aur_hdr *src, const char *key_id,
		       struct aur_secret **keys, struct aur_hdr *nh, struct aur_error *err)
{
	struct aur_kms_status st;
	struct aur_kms_key_info ki;
	struct aur_secret *pt = NULL;
	struct aur_arn arn;
	char what[AUR_ARN_MAX * 2 + 128], src_region[AUR_REGION_MAX];
	int r = 0;

	memset(&ki, 0, sizeof(ki));
	if (aur_kms_describe_key(kms, key_id, &ki, &st)) {
		snprintf(what, sizeof(what), "the destination CMK %s cannot be used (DescribeKey)",
			 key_id);
		return aur_error_from_kms(err, what, &st);
	}
	aur_strcpy(src_region, sizeof(src_region), src->cmk_region);
	if (aur_arn_parse(src->cmk_arn, &arn) == AUR_ARN_OK)
		aur_strcpy(src_region, sizeof(src_region), arn.region);
	if (!keys && !strcmp(ki.region, src_region)) {
		aur_error_set(err, AUR_EXIT_USAGE,
			      "the destination CMK %s is in %s, the region of the backup's CMK %s: a copy "
			      "goes to another region (to rewrap in the same region, use aurora restore "
			      "--kms-key-id)", ki.arn, ki.region, src->cmk_arn);
		return -EINVAL;
	}
	if (aur_kms_decrypt(kms, src->cmk_arn, &src->ctx, &src->wrapped_dek, &pt, NULL, &st)) {
		snprintf(what, sizeof(what), "the backup's CMK %s cannot unwrap its data key (Decrypt)",
			 src->cmk_arn);
		return aur_error_from_kms(err, what, &st);
	}
	if (aur_hdr_copy(nh, src)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	if (aur_uuid_generate(nh->uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "no randomness for a UUID");
		r = -EIO;
		goto out;
	}
	memset(&nh->ctx, 0, sizeof(nh->ctx));
	aur_enc_ctx_set(&nh->ctx, "aurora:volume-uuid", nh->uuid);
	aur_enc_ctx_set(&nh->ctx, "aurora:region", ki.region);
	memset(&nh->wrapped_dek, 0, sizeof(nh->wrapped_dek));
	if (keys) {
		/* A fresh data key under the destination CMK; the old one is kept for m1. */
		if (aur_kms_generate_data_key(kms, ki.arn, &nh->ctx, AUR_KEY_BYTES, &keys[1],
					      &nh->wrapped_dek, nh->cmk_arn, &st)) {
			snprintf(what, sizeof(what), "the destination CMK %s cannot generate a data "
				 "key (GenerateDataKey in %s)", key_id, ki.region);
			r = aur_error_from_kms(err, what, &st);
			goto out;
		}
		if (pt->len != AUR_KEY_BYTES || keys[1]->len != AUR_KEY_BYTES) {
			aur_error_set(err, AUR_EXIT_FAILURE, "a data key of the wrong size (%zu and %zu "
				      "bytes, not %d)", pt->len, keys[1]->len, AUR_KEY_BYTES);
			r = -EPROTO;
			goto out;
		}
		keys[0] = pt;
		pt = NULL;
	} else if (aur_kms_encrypt(kms, ki.arn, &nh->ctx, pt, &nh->wrapped_dek, nh->cmk_arn, &st)) {
		snprintf(what, sizeof(what),
			 "the destination CMK %s cannot wrap the data key (Encrypt in %s)", key_id,
			 ki.region);
		r = aur_error_from_kms(err, what, &st);
		goto out;
	}
	if (!nh->cmk_arn[0])
		aur_strcpy(nh->cmk_arn, sizeof(nh->cmk_arn), ki.arn);
	if (aur_arn_parse(nh->cmk_arn, &arn) != AUR_ARN_OK) {
		aur_error_set(err, AUR_EXIT_FAILURE, "the KMS returned a key ARN we cannot read: %s",
			      nh->cmk_arn);
		r = -EPROTO;
		goto out;
	}
	aur_strcpy(nh->cmk_region, sizeof(nh->cmk_region), arn.region);
	aur_strcpy(nh->cmk_account, sizeof(nh->cmk_account), arn.account);
	aur_strcpy(nh->cmk_partition, sizeof(nh->cmk_partition), arn.partition);
	aur_strcpy(nh->provider, sizeof(nh->provider), aur_kms_provider_name(kms));
	aur_strcpy(nh->cmk_named, sizeof(nh->cmk_named), key_id);
	nh->seqid = 1;
	aur_strcpy(nh->copied_from, sizeof(nh->copied_from), src->uuid);
out:
	aur_secret_free(pt);
	return r;
}

int aur_backup_copy(struct aur_kms *kms, const char *file, const char *dest,
		    const struct aur_copy_opts *o, struct aur_backup_info *info,
		    struct aur_hdr *out, struct aur_error *err)
{
	struct aur_backup_info ni;
	struct aur_hdr nh;
	struct bk_stream s = { .fd = -1 }, os = { .fd = -1 };
	struct bk_progress p = { 0 };
	struct copy_ctx c = { 0 };
	struct bk_meta m;
	struct aur_secret *keys[2] = { NULL, NULL };	/* old, new data key */
	struct reenc_ctx x = {
		.t1 = -1, .t2 = -1, .l1 = -1, .l2 = -1, .f1 = -1, .f2 = -1, .pipe = { -1, -1 },
	};
	uint8_t *area = NULL;
	char e[600], dir[PATH_MAX];
	bool seekable = false, created = false;
	sigset_t old_mask;
	int in, ofd = -1, r;

	memset(&m, 0, sizeof(m));
	aur_hdr_init(&m.hr.hdr);
	aur_hdr_init(&nh);
	if (!o->kms_key_id || !*o->kms_key_id) {
		aur_error_set(err, AUR_EXIT_USAGE,
			      "a copy needs --kms-key-id: a CMK of the destination region");
		return -EINVAL;
	}
	in = open_input(file, &seekable, err);
	if (in < 0)
		return in;
	/* Held to the end: an interrupted copy removes DEST and its mappings. */
	bk_signals_hold(&old_mask);
	r = read_volume_head(&s, &m, in, file, err);
	if (r)
		goto out;
	if (seekable) {
		/* Verify the whole file before anything is written. */
		r = verify_whole(&s, &m, o->progress, err);
		if (r)
			goto out;
	}
	r = copy_rewrap(kms, &m.hr.hdr, o->kms_key_id, o->new_data_key ? keys : NULL, &nh, err);
	if (r)
		goto out;
	if (o->new_data_key) {
		reenc_dir(o->tmpdir, dest, dir, sizeof(dir));
		x.chunk_size = m.info.chunk_size;
		x.c = &c;
		r = reenc_setup(&x, &nh, keys[0], keys[1], dir, err);
		aur_secret_free(keys[0]);
		aur_secret_free(keys[1]);
		keys[0] = keys[1] = NULL;
		if (r)
			goto out;
	}
	area = calloc(2, AUR_HDR_AREA);
	c.hashes = calloc(m.info.chunks ? m.info.chunks : 1, BK_HASH);
	if (!area || !c.hashes) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = aur_hdr_serialise(&nh, 0, area, e, sizeof(e));
	if (!r)
		r = aur_hdr_serialise(&nh, 1, area + AUR_HDR_AREA, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "the copy's header: %s", e);
		goto out;
	}
	ni = m.info;
	info_from_hdr(&ni, &nh, "volume");
	ni.chunk_size = m.info.chunk_size;
	ni.chunks = m.info.chunks;
	ni.data_chunks = 0;
	r = start_output(dest, o->force, &created, &os, &ni, area, &ofd, err);
	if (r)
		goto out;
	c.out = &os;
	c.chunks = m.info.chunks;
	c.p = &p;
	bk_progress_start(&p, o->progress, "copy", m.info.data_size);
	if (o->new_data_key)
		r = bk_read_chunks(&s, &m, reenc_chunk, &x, false, "copy", e, sizeof(e));
	else
		r = bk_read_chunks(&s, &m, copy_chunk, &c, false, "copy", e, sizeof(e));
	if (r) {
		bad_file(err, r, e);
		goto out;
	}
	reenc_fini(&x);
	ni.data_chunks = c.data_chunks;
	r = finish_output(&os, ofd, &ni, c.hashes, err);
	if (r)
		goto out;
	bk_progress_end(&p);
	if (info)
		*info = ni;
	if (out) {
		*out = nh;
		nh.json = NULL;
	}
out:
	reenc_fini(&x);
	aur_secret_free(keys[0]);
	aur_secret_free(keys[1]);
	if (r && p.on)
		fputc('\n', stderr);
	if (ofd >= 0)
		close_output(ofd, dest, created, r != 0);
	bk_stream_fini(&os);
	free(area);
	free(c.hashes);
	aur_hdr_free(&nh);
	bk_meta_free(&m);
	bk_stream_fini(&s);
	close_input(in);
	/* Last: a held SIGINT ends the process only once DEST is gone. */
	bk_signals_release(&old_mask);
	return r;
}

/* ------------------------------------------------------------------ */

int aur_header_backup(const char *device, const char *file, bool force,
		      struct aur_backup_info *info, struct aur_error *err)
{
	struct aur_backup_info in = { 0 };
	struct aur_hdr_read hr;
	struct bk_stream s = { .fd = -1 };
	struct stat sb;
	uint8_t *area = NULL;
	char e[400];
	bool created = false;
	int fd, out = -1, r;

	aur_hdr_init(&hr.hdr);
	fd = aur_volume_open_dev(device, O_RDONLY, &sb, err);
	if (fd < 0)
		return fd;
	flock(fd, LOCK_SH);
	r = aur_hdr_read_fd(fd, &hr, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", device, e);
		goto out;
	}
	info_from_hdr(&in, &hr.hdr, "header");
	area = malloc(2 * AUR_HDR_AREA);
	if (!area) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	r = aur_pread_full(fd, area, 2 * AUR_HDR_AREA, 0);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error: %s", device, strerror(-r));
		goto out;
	}
	out = open_output(file, force, &created, err);
	if (out < 0) {
		r = out;
		goto out;
	}
	r = bk_stream_init(&s, out, strcmp(file, "-") ? file : "standard output");
	if (!r)
		r = bk_write_head(&s, &in, area, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s", e);
		goto out;
	}
	r = finish_output(&s, out, &in, NULL, err);
out:
	if (out >= 0)
		close_output(out, file, created, r != 0);
	bk_stream_fini(&s);
	free(area);
	aur_hdr_free(&hr.hdr);
	close(fd);
	if (info && !r)
		*info = in;
	return r;
}

int aur_header_restore(const char *file, const char *device, bool force,
		       struct aur_backup_info *info, struct aur_error *err)
{
	struct aur_hdr_read cur;
	struct bk_stream s = { .fd = -1 };
	struct bk_meta m;
	struct stat sb;
	uint64_t size;
	char e[600], what[128];
	bool seekable;
	int in, fd = -1, r;

	memset(&m, 0, sizeof(m));
	aur_hdr_init(&m.hr.hdr);
	in = open_input(file, &seekable, err);
	if (in < 0)
		return in;
	r = bk_stream_init(&s, in, strcmp(file, "-") ? file : "standard input");
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		goto out;
	}
	r = bk_read_head(&s, &m, e, sizeof(e));
	if (!r && strcmp(m.info.kind, "header")) {
		snprintf(e, sizeof(e), "%s is a %s backup, not a header backup", file, m.info.kind);
		r = -EINVAL;
	}
	if (!r)
		r = bk_read_chunks(&s, &m, NULL, NULL, false, "verify", e, sizeof(e));
	if (r) {
		bad_file(err, r, e);
		goto out;
	}
	fd = aur_volume_open_dev(device, O_RDWR | O_EXCL, &sb, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s: locked by another aurora process", device);
		r = -EBUSY;
		goto out;
	}
	r = aur_dev_size(fd, &size);
	if (r || size < m.info.data_offset + m.info.data_size) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s: too small for the volume this header describes",
			      device);
		r = -ENOSPC;
		goto out;
	}
	r = aur_hdr_read_fd(fd, &cur, e, sizeof(e));
	if (r == 0) {
		bool other = strcmp(cur.hdr.uuid, m.info.uuid) != 0;

		if (other && !force) {
			aur_error_set(err, AUR_EXIT_BUSY,
				      "%s holds volume %s; the header backup is of volume %s: refused "
				      "(--force writes it anyway)", device, cur.hdr.uuid, m.info.uuid);
			aur_hdr_free(&cur.hdr);
			r = -EEXIST;
			goto out;
		}
		aur_hdr_free(&cur.hdr);
	} else if (aur_probe_signatures(fd, size, what, sizeof(what)) > 0 &&
		   !aur_str_has_prefix(what, "an aurora") && !force) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s holds %s, not volume %s: refused (--force writes "
			      "the header anyway)", device, what, m.info.uuid);
		r = -EEXIST;
		goto out;
	}
	r = aur_pwrite_full(fd, m.hdr_area, 2 * AUR_HDR_AREA, 0);
	if (!r && fsync(fd) != 0)
		r = -errno;
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", device, strerror(-r));
		goto out;
	}
	if (info)
		*info = m.info;
out:
	if (fd >= 0)
		close(fd);
	bk_meta_free(&m);
	bk_stream_fini(&s);
	close_input(in);
	return r;
}
