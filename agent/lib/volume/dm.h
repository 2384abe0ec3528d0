/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: device-mapper through libdevmapper.
 *
 * udev: libdevmapper synchronises with udev when udev runs, and creates the
 * /dev/mapper nodes itself when it does not or when DM_DISABLE_UDEV is set
 * (initramfs, test guests).  We always pass a cookie and wait on it.
 */
#ifndef AURORA_AGENT_DM_H
#define AURORA_AGENT_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aurora/aurora.h"
#include "aurora_dm.h"		/* shared with the kernel target */

#define AUR_DM_TARGET		AURORA_DM_TARGET_NAME
#define AUR_DM_UUID_PREFIX	"AURORA-"
/* A temporary mapping of restore --plaintext or copy --new-data-key: no volume. */
#define AUR_DM_TMP_UUID_PREFIX	"AURTMP-"
/* Create an empty device (no table). */
int aur_dm_create(const char *name, const char *dm_uuid, bool read_only);
/* Load a single-target table into the inactive slot. */
int aur_dm_load(const char *name, uint64_t sectors, const char *target,
		const char *params, bool read_only);
int aur_dm_resume(const char *name);
/* Remove (with retries while udev probes it). */
int aur_dm_remove(const char *name);
int aur_dm_info(const char *name, struct aur_dm_info *info);
/* Send a target message; response (may be empty) into @resp. */
int aur_dm_message(const char *name, const char *msg, char *resp, size_t resplen);

/*
 * The same calls addressed by dm UUID ("AURORA-<volume uuid>", from
 * aur_dm_uuid_of()) instead of by name: a name read earlier may since
 * belong to another volume's mapping, a dm UUID never does.  -ENXIO (or
 * -ENODEV) when no mapping has that UUID.
 */
int aur_dm_uuid_of(const char *vol_uuid, char *out, size_t len);
int aur_dm_load_uuid(const char *dm_uuid, uint64_t sectors, const char *target,
		     const char *params, bool read_only);
int aur_dm_resume_uuid(const char *dm_uuid);
int aur_dm_suspend_uuid(const char *dm_uuid);
int aur_dm_remove_uuid(const char *dm_uuid);
int aur_dm_info_uuid(const char *dm_uuid, struct aur_dm_info *info);
int aur_dm_message_uuid(const char *dm_uuid, const char *msg, char *resp, size_t resplen);

/* Names of every mapping whose first target is "aurora". */
int aur_dm_list(char (**names)[AUR_DM_NAME_MAX], size_t *n);
/* Suspend (@skip_lockfs: do not freeze a filesystem on it). */
int aur_dm_suspend(const char *name, bool skip_lockfs);
/* Suspend by dm UUID without freezing the filesystem (no lockfs). */
int aur_dm_suspend_uuid_skip_lockfs(const char *dm_uuid);
#endif /* AURORA_AGENT_DM_H */
