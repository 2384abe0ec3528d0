/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: volume orchestration: format, open, close, status, and what the
 * watching agent (issue 5) needs: list open volumes, read a header, check
 * the CMK, mark a volume terminal.
 *
 * Every call reports failure as a negative errno plus an aur_error whose
 * exit_code is the CLI's exit code class (util.h enum aur_exit).
 *
 * Test hook: AURORA_FAULT=<step> (util/fault.h) makes `open` fail right after <step>
 * succeeded (header, kms, keyring, dm-create, dm-load, dm-resume), to prove
 * that nothing is left behind; it can only make an open fail.
 */
#ifndef AURORA_VOLUME_H
#define AURORA_VOLUME_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "volume/dm.h"
#include "volume/header.h"
#include "kms/kms.h"
#include "util/util.h"

struct aur_format_opts {
	const char *kms_key_id;		/* NULL: alias/aurora/default */
	unsigned int sector_size;	/* 0: 512 */
	uint64_t data_offset;		/* 0: 1 MiB */
	bool force;			/* overwrite signatures / headers */
	const char *restored_from;	/* lineage, may be NULL */
	const char *copied_from;
};

int aur_volume_format(struct aur_kms *kms, const char *device,
		      const struct aur_format_opts *o, struct aur_hdr *out,
		      struct aur_error *err);

/*
 * The target parameters of a volume on device @dev (after "<start> <len>
 * aurora"): the keyring reference, never the key.  0 or -ENAMETOOLONG.
 */
int aur_volume_table(const struct aur_hdr *h, dev_t dev, char *params, size_t len);

#define AUR_OPEN_READ_ONLY	0x1
int aur_volume_open(struct aur_kms *kms, const char *device, const char *name,
		    unsigned int flags, struct aur_error *err);
int aur_volume_close(const char *name, struct aur_error *err);

/* An open aurora mapping as device-mapper knows it. */
struct aur_open_volume {
	char name[AUR_DM_NAME_MAX];
	char uuid[37];			/* from the dm uuid AURORA-<uuid> */
	char device[PATH_MAX];		/* backing device node, "" if unknown */
	uint32_t dev_major, dev_minor;	/* backing device */
	bool kernel_terminal;		/* target status says terminal */
	char kernel_reason[AURORA_DM_REASON_MAX];	/* its reason */
	bool key_loaded;		/* status says key:loaded */
	struct aur_dm_info dm;
};

/* Every open aurora volume; *vols is malloc()ed. */
int aur_volume_list_open(struct aur_open_volume **vols, size_t *n, struct aur_error *err);
/* One mapping by name: 0, -ENODEV, -EINVAL (not an aurora mapping). */
int aur_volume_get_open(const char *name, struct aur_open_volume *v, struct aur_error *err);
/* The mapping of volume @uuid, if open: 0 or -ENODEV. */
int aur_volume_find_open(const char *uuid, struct aur_open_volume *v);

/* Read and verify the header of @device (r->hdr: aur_hdr_free it). */
int aur_volume_read_header(const char *device, struct aur_hdr_read *r, struct aur_error *err);

enum aur_cmk_verdict {
	AUR_CMK_OK = 0,		/* key usable and this DEK unwraps */
	AUR_CMK_LOST,		/* definitive: the volume must go terminal */
	AUR_CMK_TRANSIENT,	/* could not tell: retry, keep the volume active */
};

struct aur_cmk_check {
	enum aur_cmk_verdict verdict;
	enum aur_kms_err kms_err;	/* the error behind LOST/TRANSIENT */
	struct aur_kms_key_info info;	/* when DescribeKey answered */
	char reason[128];		/* one token: "DisabledException", ... */
	char message[640];
};

/* DescribeKey on the header's CMK, then a trial Decrypt of its DEK
 * (plaintext wiped at once).  Never LOST on a transient error. */
void aur_volume_check_cmk(struct aur_kms *kms, const struct aur_hdr *h,
			  struct aur_cmk_check *c);

/*
 * Make a volume terminal, in this order (each step attempted even when an
 * earlier one failed): persist state=terminal with @reason and the time in
 * the header of @device (if not NULL), send `terminal <reason>` to mapping
 * @dm_name (if not NULL), revoke and unlink the kernel key of @uuid (or the
 * header's).  Idempotent.  @reason: 1..63 characters of [A-Za-z0-9._:-]
 * (what the target keeps; e.g. "DisabledException").
 */
int aur_volume_mark_terminal(const char *device, const char *dm_name, const char *uuid,
			     const char *reason, struct aur_error *err);

/* Map a KMS error to the CLI exit code class. */
int aur_exit_from_kms(enum aur_kms_err e);
/*
 * The one place a KMS failure becomes an operator's message:
 * "<what>: <ErrorName>: <detail>" with the exit code of its kind, and
 * err->kms_code set.  Providers' messages carry only the detail.  -EACCES.
 */
int aur_error_from_kms(struct aur_error *err, const char *what, const struct aur_kms_status *st);

/* The node for a device number (/dev/<DEVNAME> from sysfs, else /dev/block/M:m). */
int aur_dev_path(uint32_t major, uint32_t minor, char *out, size_t outlen);

#endif /* AURORA_VOLUME_H */
