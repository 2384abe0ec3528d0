/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the on-disk volume header (Documentation/format.md).
 *
 * Two copies at the start of the device, each AUR_HDR_AREA bytes: a binary
 * part of AUR_HDR_BIN bytes then a NUL-padded JSON area.  Copy 0 at byte 0,
 * copy 1 at byte AUR_HDR_AREA.  Encrypted data starts at data_offset
 * (default 1 MiB).  The valid copy with the higher sequence number wins.
 */
#ifndef AURORA_HEADER_H
#define AURORA_HEADER_H

#include <stdbool.h>
#include <stdint.h>

#include "aurora/aurora.h"
#include "kms/kms.h"

#define AUR_HDR_MAGIC		"AURORA\xba\xbe"
#define AUR_HDR_MAGIC_LEN	8
#define AUR_HDR_VERSION		1
#define AUR_HDR_AREA		32768u
#define AUR_HDR_BIN		4096u
#define AUR_HDR_JSON_MAX	(AUR_HDR_AREA - AUR_HDR_BIN)
#define AUR_DATA_OFFSET_DEFAULT	(1024u * 1024u)
#define AUR_DATA_OFFSET_MAX	(1024ull * 1024 * 1024)
#define AUR_CIPHER		"aes-xts-plain64"
#define AUR_KEY_BITS		512
#define AUR_KEY_BYTES		(AUR_KEY_BITS / 8)
/* Deep copy (json included). */
int aur_hdr_copy(struct aur_hdr *dst, const struct aur_hdr *src);

/*
 * Parse and verify one copy (@len must be AUR_HDR_AREA).  Returns 0,
 * -ENOENT when the magic is absent (no header here), -EINVAL with @err
 * for anything malformed.
 */
int aur_hdr_parse_area(const uint8_t *area, size_t len, unsigned int copy,
		       struct aur_hdr *h, char *err, size_t errlen);
/* Serialise @h as copy @copy into @area (AUR_HDR_AREA bytes). */
int aur_hdr_serialise(const struct aur_hdr *h, unsigned int copy, uint8_t *area,
		      char *err, size_t errlen);

/* Choose between two areas (either may be NULL).  0, -ENOENT, -EINVAL. */
int aur_hdr_select(const uint8_t *a0, const uint8_t *a1, struct aur_hdr_read *r,
		   char *err, size_t errlen);
int aur_hdr_read_fd(int fd, struct aur_hdr_read *r, char *err, size_t errlen);

/*
 * Unknown mandatory requirements: -EPROTONOSUPPORT naming them; such a
 * header is refused for open and for any write.
 */
int aur_hdr_check_requirements(const struct aur_hdr *h, char *err, size_t errlen);
bool aur_hdr_requirement_known(const char *name);

/*
 * Crash-safe update.  Takes flock(LOCK_EX) on @fd, re-reads both copies and
 * refuses (-ESTALE) when the highest valid sequence number is not
 * @expected_seq (someone else wrote: re-read and retry), then writes
 * seq+1 to the stale/damaged copy first, fsyncs, then the other, fsyncs.
 * @expected_seq 0 with no header on disk: initial write (format).
 * On success h->seqid is the new sequence number.  The lock is released
 * on return (also a lock the caller took on the same open file).
 */
int aur_hdr_write_fd(int fd, struct aur_hdr *h, uint64_t expected_seq,
		     char *err, size_t errlen);
/* Write one copy only (tests: simulate a crash between the two writes). */
int aur_hdr_write_copy(int fd, const struct aur_hdr *h, unsigned int copy,
		       char *err, size_t errlen);

/* Any known signature (aurora, LUKS, ext2/3/4, xfs, btrfs, swap, LVM, md,
 * partition tables...) at the start of @fd: 1 with @what set, 0, -errno. */
int aur_probe_signatures(int fd, uint64_t size, char *what, size_t whatlen);

/* Device or file size in bytes. */
int aur_dev_size(int fd, uint64_t *size);

#endif /* AURORA_HEADER_H */
