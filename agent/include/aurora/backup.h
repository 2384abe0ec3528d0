/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libaurora: backups of aurora volumes (Documentation/backup.md).
 *
 * A backup file holds a volume's header and its ciphertext, never anything
 * decrypted: making or verifying one needs no key.  Restoring one makes a
 * new volume (new UUID) whose data key is the backup's, rewrapped by the
 * KMS under the chosen CMK with the new volume's encryption context.
 *
 * Conventions are those of aurora.h: negative errno, an operator's message
 * and an exit code class in struct aur_error.
 */
#ifndef AURORA_BACKUP_H
#define AURORA_BACKUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "aurora/aurora.h"

#define AUR_BACKUP_CHUNK_DEFAULT	(1024u * 1024u)
#define AUR_BACKUP_CHUNK_MIN		(64u * 1024u)
#define AUR_BACKUP_CHUNK_MAX		(64u * 1024u * 1024u)

/* What a backup file says about itself (filled by create, verify, restore). */
struct aur_backup_info {
	char kind[16];			/* "volume" or "header" */
	char uuid[37];			/* the source volume */
	char cmk_arn[AUR_ARN_MAX];
	char cmk_region[AUR_REGION_MAX];
	char provider[16];
	char source_state[16];		/* header state at backup time */
	char created[32];		/* ISO 8601 UTC, time of the backup */
	uint32_t chunk_size;
	uint64_t data_offset, data_size;
	uint64_t chunks, data_chunks;	/* data_chunks: stored; the rest are holes */
	uint64_t file_bytes;
	char file_sha256[65];		/* the whole-file hash of the trailer */
};

struct aur_backup_opts {
	uint32_t chunk_size;		/* 0: AUR_BACKUP_CHUNK_DEFAULT */
	bool force;			/* overwrite an existing FILE */
	bool progress;			/* progress line on stderr */
};

/*
 * Back up closed volume @source (a device or image holding an aurora
 * header) into @file ("-": standard output).
 */
int aur_backup_create(const char *source, const char *file, const struct aur_backup_opts *o,
		      struct aur_backup_info *info, struct aur_error *err);

/* Check every chunk hash and the whole-file hash of @file ("-": stdin). */
int aur_backup_verify(const char *file, bool progress, struct aur_backup_info *info,
		      struct aur_error *err);

struct aur_restore_opts {
	const char *kms_key_id;		/* NULL: the backup's CMK */
	bool yes;			/* overwrite a device holding data */
	bool progress;
};

/*
 * Restore volume backup @file ("-": stdin) onto @device as a new volume.
 * A seekable file is verified whole before anything is written; on any
 * failure a device written to is left without an aurora header.  @out (may
 * be NULL) receives the new header (aur_hdr_free it).
 */
int aur_backup_restore(struct aur_kms *kms, const char *file, const char *device,
		       const struct aur_restore_opts *o, struct aur_backup_info *info,
		       struct aur_hdr *out, struct aur_error *err);

/*
 * Restore unencrypted image @image (a file or block device: the snapshot of
 * an unencrypted volume) onto block device @device as a new volume under
 * CMK @o->kms_key_id (required): formatted as `aurora format` does (new
 * UUID, a fresh data key), then the image written through a temporary
 * dm-aurora mapping of @device, so that no plaintext reaches @device.  Every
 * byte of the image is written (zeros too); the rest of the data area is
 * left as it is.  lineage.restored_from is "plaintext:<image>".  The header
 * is committed last: on failure @device holds no aurora header.  @out (may
 * be NULL) receives the new header (aur_hdr_free it).
 */
#define AUR_RESTORED_FROM_PLAINTEXT	"plaintext:"
int aur_restore_plaintext(struct aur_kms *kms, const char *image, const char *device,
			  const struct aur_restore_opts *o, struct aur_hdr *out,
			  struct aur_error *err);

struct aur_copy_opts {
	const char *kms_key_id;		/* the destination CMK: required */
	bool force;			/* overwrite an existing DEST */
	bool progress;
	/*
	 * Re-encrypt under a fresh data key generated under @kms_key_id
	 * (which may then be of any region), chunk by chunk through two
	 * temporary dm-aurora mappings of unnamed temporary files in @tmpdir
	 * (NULL: DEST's directory, or $TMPDIR, or /var/tmp for "-").
	 */
	bool new_data_key;
	const char *tmpdir;
};

/*
 * Copy volume backup @file ("-": stdin) to a new backup file @dest ("-":
 * stdout) whose data key is wrapped under CMK @o->kms_key_id of another
 * region: Decrypt under the backup's CMK (in its region), Encrypt under the
 * destination CMK (in its region) with a new volume UUID as encryption
 * context.  The chunks are copied as they are (ciphertext, same hashes); the
 * header held is the source's with the new UUID, wrapping, CMK and
 * lineage.copied_from.  A seekable @file is verified whole first.  @out (may
 * be NULL) receives the new header (aur_hdr_free it).  With
 * @o->new_data_key the chunks are re-encrypted instead (struct aur_copy_opts).
 */
int aur_backup_copy(struct aur_kms *kms, const char *file, const char *dest,
		    const struct aur_copy_opts *o, struct aur_backup_info *info,
		    struct aur_hdr *out, struct aur_error *err);

/* The header area alone (both copies), as a backup file of kind "header". */
int aur_header_backup(const char *device, const char *file, bool force,
		      struct aur_backup_info *info, struct aur_error *err);
/*
 * Write a header backup back.  Refused when @device holds a valid header of
 * another volume, unless @force.
 */
int aur_header_restore(const char *file, const char *device, bool force,
		       struct aur_backup_info *info, struct aur_error *err);


/* ------------------------------------------------------------------ */
/* Snapshots of open volumes on LVM thin storage                      */

#define AUR_LVM_NAME_MAX	128
#define AUR_SNAPSHOT_TAG	"aurora_snapshot"

struct aur_snapshot {
	char vg[AUR_LVM_NAME_MAX];
	char lv[AUR_LVM_NAME_MAX];	/* the snapshot */
	char origin[AUR_LVM_NAME_MAX];	/* the thin LV it was taken of */
	char volume_uuid[37];		/* the aurora volume, from its tag */
	char time[64];			/* lvs lv_time */
	char dm_path[PATH_MAX];		/* /dev/mapper/... when active */
	bool active;
};

/*
 * Crash-consistent snapshot @snap of open volume (mapping) @name whose
 * ciphertext is on an LVM thin LV: suspend the mapping (flushing it),
 * `lvcreate -s` the thin LV, resume.  The snapshot is active, tagged
 * AUR_SNAPSHOT_TAG and aurora_volume:<uuid>, and holds ciphertext under the
 * same data key.  A volume not on thin LVM: -ENOTSUP with what snapshots need.
 */
int aur_snapshot_create(const char *name, const char *snap, struct aur_snapshot *out,
			struct aur_error *err);
/* Every aurora snapshot (LVs tagged AUR_SNAPSHOT_TAG); *list is malloc()ed. */
int aur_snapshot_list(struct aur_snapshot **list, size_t *n, struct aur_error *err);
/* Remove aurora snapshot @snap ("VG/LV", or an LV name found in one VG). */
int aur_snapshot_delete(const char *snap, struct aur_error *err);

#endif /* AURORA_BACKUP_H */
