// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: opening a volume (see volume.h): header -> KMS Decrypt -> kernel
 * keyring -> device-mapper create, load, resume.  Each step is a function of
 * the table below; on any failure everything done so far is undone.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fault.h"
#include "volume/internal.h"
#include "volume/keyring.h"

/* One open in progress: what the steps found and what they left behind. */
struct open_ctx {
	struct aur_kms *kms;
	const char *device, *name;
	bool ro;
	struct aur_hdr_read hr;
	struct stat sb;			/* of the device */
	struct aur_secret *dek;		/* between "kms" and "keyring" only */
	int32_t serial;			/* the kernel key */
	bool keyed;			/* the kernel key exists: revoke on failure */
	bool created;			/* the mapping exists: remove on failure */
	int lock_fd;			/* the volume's lock, -1 when not held */
	char dm_uuid[64];		/* AURORA-<uuid>: how the mapping is addressed */
	char mismatch[640];		/* account/region differ from the header's */
};

static bool name_valid(const char *n)
{
	size_t i, l = strlen(n);

	if (l == 0 || l >= AUR_DM_NAME_MAX || !strcmp(n, "control") || !strcmp(n, ".") ||
	    !strcmp(n, ".."))
		return false;
	for (i = 0; i < l; i++)
		if (n[i] == '/' || n[i] <= ' ' || (unsigned char)n[i] >= 0x7f)
			return false;
	return true;
}

/* Read and check the header: readable, supported, not terminal, a block device. */
static int step_header(struct open_ctx *c, struct aur_error *err)
{
	struct aur_hdr *h = &c->hr.hdr;
	uint64_t size;
	char e[400];
	int fd, r;

	fd = aur_volume_open_dev(c->device, O_RDONLY, &c->sb, err);
	if (fd < 0)
		return fd;
	flock(fd, LOCK_SH);
	r = aur_hdr_read_fd(fd, &c->hr, e, sizeof(e));
	if (!r && aur_dev_size(fd, &size) == 0 && h->data_offset + h->data_size > size) {
		snprintf(e, sizeof(e), "the device (%" PRIu64 " bytes) is smaller than its header says", size);
		r = -EINVAL;
	}
	close(fd);
	if (r) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", c->device, e);
		return r;
	}
	if (c->hr.need_repair)
		aur_warn("%s: one header copy is damaged or stale; it is repaired on the next header write",
			 c->device);
	if (aur_hdr_check_requirements(h, e, sizeof(e))) {
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s; this aurora version cannot open it",
			      c->device, e);
		return -EPROTONOSUPPORT;
	}
	if (h->state == AUR_VOL_TERMINAL) {
		char ts[32];

		aur_time_iso(h->terminal_time, ts);
		aur_error_set(err, AUR_EXIT_TERMINAL,
			      "%s: volume %s is terminal since %s (%s): it can no longer be opened; "
			      "restore it from a backup: aurora restore FILE DEVICE",
			      c->device, h->uuid, ts, h->terminal_reason);
		return -EKEYREVOKED;
	}
	if (!S_ISBLK(c->sb.st_mode)) {
		aur_error_set(err, AUR_EXIT_USAGE,
			      "%s is not a block device (attach an image with losetup first)", c->device);
		return -ENOTBLK;
	}
	return 0;
}

/*
 * Take the volume's lock (keyed by its UUID, whatever name or path this open
 * was given), then read the header again under it: another open or close of
 * the same volume has finished by then, and what it did is seen.
 */
static int step_lock(struct open_ctx *c, struct aur_error *err)
{
	char uuid[37];

	aur_strcpy(uuid, sizeof(uuid), c->hr.hdr.uuid);
	c->lock_fd = aur_volume_lock(uuid, AUR_VOLUME_LOCK_WAIT, err);
	if (c->lock_fd < 0)
		return c->lock_fd;
	aur_hdr_free(&c->hr.hdr);
	memset(&c->hr, 0, sizeof(c->hr));
	aur_hdr_init(&c->hr.hdr);
	if (step_header(c, err))
		return -EIO;
	if (strcmp(c->hr.hdr.uuid, uuid)) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s: reformatted while being opened", c->device);
		return -ESTALE;
	}
	return aur_dm_uuid_of(uuid, c->dm_uuid, sizeof(c->dm_uuid));
}

/*
 * The mapping using volume @uuid's kernel key, if any: the one with dm UUID
 * AURORA-<uuid>, or any aurora mapping whose table names the key.  0 with
 * @name set, or -ENODEV.
 */
static int key_user(const char *uuid, char *name, size_t len)
{
	struct aur_open_volume *vols;
	char desc[AUR_KEY_DESC_MAX];
	size_t n, i;
	int r = -ENODEV;

	aur_key_desc(uuid, desc);
	if (aur_volume_list_open(&vols, &n, NULL))
		return -ENODEV;
	for (i = 0; i < n && r; i++) {
		const char *ref = strstr(vols[i].dm.table, desc);

		if (!strcmp(vols[i].uuid, uuid) ||
		    (ref && (ref[strlen(desc)] == ' ' || ref[strlen(desc)] == '\0'))) {
			aur_strcpy(name, len, vols[i].name);
			r = 0;
		}
	}
	free(vols);
	return r;
}

/*
 * The configuration must be the one the volume was formatted with (provider,
 * keystore); neither the name nor the volume may be open already; then unwrap
 * the DEK.
 */
static int step_kms(struct open_ctx *c, struct aur_error *err)
{
	struct aur_hdr *h = &c->hr.hdr;
	struct aur_kms_status st;
	struct aur_dm_info di;
	enum aur_kms_err e;
	char user[AUR_DM_NAME_MAX], why[640];
	int m, r;

	if (aur_dm_info(c->name, &di) == 0) {
		aur_error_set(err, AUR_EXIT_BUSY, "a mapping named \"%s\" already exists", c->name);
		return -EEXIST;
	}
	if (key_user(h->uuid, user, sizeof(user)) == 0) {
		aur_error_set(err, AUR_EXIT_BUSY, "volume %s is already open as \"%s\"", h->uuid, user);
		return -EEXIST;
	}
	if (aur_dm_info_uuid(c->dm_uuid, &di) == 0) {
		/* A mapping of this volume without an aurora table (an open cut short). */
		aur_error_set(err, AUR_EXIT_BUSY,
			      "volume %s already has a device-mapper device (dm uuid %s) without an "
			      "aurora table; remove it with dmsetup", h->uuid, c->dm_uuid);
		return -EEXIST;
	}
	m = aur_volume_config_matches(c->kms, h, why, sizeof(why));
	if (m < 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s", why);
		return m;
	}
	if (m == AUR_CONFIG_HARD_MISMATCH) {
		aur_error_set(err, AUR_EXIT_CONFIG, "%s: configuration error, not a key loss: %s",
			      c->device, why);
		if (err)
			err->kms_code = AUR_KMS_E_CONFIG;
		return -EINVAL;
	}
	if (m == AUR_CONFIG_SOFT_MISMATCH) {
		aur_strcpy(c->mismatch, sizeof(c->mismatch), why);
		aur_dbg("%s", why);
	}
	e = c->kms->ops->decrypt(c->kms, h->cmk_arn, &h->ctx, &h->wrapped_dek, &c->dek, NULL, &st);
	if (e != AUR_KMS_OK) {
		if (aur_volume_classify(c->kms, h, e, why, sizeof(why)) == AUR_KMS_E_CONFIG) {
			/* Both sides first: the KMS's detail is what may be cut short. */
			aur_error_set(err, AUR_EXIT_CONFIG,
				      "%s: configuration error, not a key loss: %s. Decrypt answered %s: %s",
				      c->device, why, aur_kms_err_name(e), st.message);
			if (err)
				err->kms_code = AUR_KMS_E_CONFIG;
			return -EACCES;
		}
		r = aur_error_from_kms(err, "cannot unwrap the volume key (Decrypt)", &st);
		if (h->state == AUR_VOL_INACCESSIBLE) {
			char ts[32];

			/* Still lost (or cannot tell): stays inaccessible. */
			aur_time_iso(h->recoverable_until, ts);
			aur_error_set(err, AUR_EXIT_INACCESSIBLE,
				      "volume %s is inaccessible (%s), recoverable until %s; the KMS "
				      "still says %s: %s", h->uuid, h->inaccessible_reason, ts,
				      aur_kms_err_name(st.code), st.message);
			if (err)
				err->kms_code = st.code;
		}
		return r;
	}
	if (c->dek->len != AUR_KEY_BYTES) {
		aur_error_set(err, AUR_EXIT_HEADER, "the unwrapped key has %zu bytes, not %d",
			      c->dek->len, AUR_KEY_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* Hand the DEK to the kernel keyring (logon key aurora:<uuid>) and wipe ours. */
static int step_keyring(struct open_ctx *c, struct aur_error *err)
{
	const char *uuid = c->hr.hdr.uuid;
	int r;

	/*
	 * A key left over from a crash: drop it, but only when no live mapping
	 * uses it (checked again here, under the volume's lock).
	 */
	if (aur_keyring_find(uuid, &c->serial) == 0) {
		char user[AUR_DM_NAME_MAX];

		if (key_user(uuid, user, sizeof(user)) == 0) {
			aur_secret_free(c->dek);
			c->dek = NULL;
			aur_error_set(err, AUR_EXIT_BUSY, "volume %s is already open as \"%s\"",
				      uuid, user);
			return -EEXIST;
		}
		aur_warn("revoking a stale kernel key for volume %s (no mapping uses it)", uuid);
		aur_keyring_revoke(uuid);
	}
	r = aur_keyring_add(uuid, c->dek, &c->serial);
	aur_secret_free(c->dek);
	c->dek = NULL;
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot add the volume key to the kernel keyring: %s",
			      strerror(-r));
		return r;
	}
	c->keyed = true;
	return 0;
}

static int step_dm_create(struct open_ctx *c, struct aur_error *err)
{
	int r;

	r = aur_dm_create(c->name, c->dm_uuid, c->ro);
	if (r) {
		aur_error_set(err, r == -EBUSY || r == -EEXIST ? AUR_EXIT_BUSY : AUR_EXIT_KERNEL,
			      "cannot create mapping \"%s\": %s", c->name, strerror(-r));
		return r;
	}
	c->created = true;
	return 0;
}

static int step_dm_load(struct open_ctx *c, struct aur_error *err)
{
	char params[512];
	int r;

	aur_volume_table(&c->hr.hdr, c->sb.st_rdev, params, sizeof(params));
	r = aur_dm_load_uuid(c->dm_uuid, c->hr.hdr.data_size / 512, AUR_DM_TARGET, params, c->ro);
	if (r)
		aur_error_set(err, AUR_EXIT_KERNEL,
			      "cannot load the aurora table for \"%s\": %s (is the dm-aurora module loaded? "
			      "see dmesg)", c->name, strerror(-r));
	return r;
}

static int step_dm_resume(struct open_ctx *c, struct aur_error *err)
{
	int r = aur_dm_resume_uuid(c->dm_uuid);

	if (r)
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot activate \"%s\": %s", c->name, strerror(-r));
	return r;
}

/* The steps, in order; the names are those AURORA_FAULT takes (util/fault.h). */
static const struct {
	const char *name;
	int (*run)(struct open_ctx *c, struct aur_error *err);
} open_steps[] = {
	{ "header", step_header },
	{ "lock", step_lock },
	{ "kms", step_kms },
	{ "keyring", step_keyring },
	{ "dm-create", step_dm_create },
	{ "dm-load", step_dm_load },
	{ "dm-resume", step_dm_resume },
};

/* Undo what the steps left behind. */
static void rollback(struct open_ctx *c)
{
	if (c->created) {
		int r = aur_dm_remove_uuid(c->dm_uuid);

		if (r)
			aur_err("rollback: cannot remove mapping \"%s\": %s", c->name, strerror(-r));
	}
	if (c->keyed)
		aur_keyring_revoke(c->hr.hdr.uuid);
}

int aur_volume_open(struct aur_kms *kms, const char *device, const char *name,
		    unsigned int flags, struct aur_error *err)
{
	struct open_ctx c = {
		.kms = kms, .device = device, .name = name, .ro = flags & AUR_OPEN_READ_ONLY,
		.lock_fd = -1,
	};
	size_t i;
	int r = 0;

	aur_hdr_init(&c.hr.hdr);
	if (!name_valid(name)) {
		aur_error_set(err, AUR_EXIT_USAGE, "invalid mapping name \"%s\"", name);
		return -EINVAL;
	}
	for (i = 0; i < sizeof(open_steps) / sizeof(open_steps[0]) && !r; i++) {
		r = open_steps[i].run(&c, err);
		if (!r && aur_fault_requested(open_steps[i].name)) {
			aur_error_set(err, AUR_EXIT_FAILURE, "injected failure (%s)", open_steps[i].name);
			r = -EIO;
		}
	}
	if (r) {
		rollback(&c);
	} else {
		aur_keyring_detach_process(c.serial);
		/* The KMS unwrapped the key again: an inaccessible volume is back. */
		if (c.hr.hdr.state == AUR_VOL_INACCESSIBLE) {
			struct aur_error e2;

			aur_error_clear(&e2);
			if (aur_volume_mark_active(device, &e2))
				aur_warn("volume %s opened, but its header still says inaccessible: %s",
					 c.hr.hdr.uuid, e2.msg);
			else
				aur_info("volume %s: access to its CMK is back: active again",
					 c.hr.hdr.uuid);
		}
	}
	aur_volume_unlock(c.lock_fd);
	if (!r && c.mismatch[0])
		aur_warn("%s; opened all the same (a CMK of another account or region may be intended)",
			 c.mismatch);
	aur_secret_free(c.dek);
	aur_hdr_free(&c.hr.hdr);
	return r;
}
