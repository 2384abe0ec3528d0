// SPDX-License-Identifier: GPL-2.0
/* aurora: volume orchestration (see volume.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kms/arn.h"
#include "volume/internal.h"
#include "volume/keyring.h"
#include "volume/volume.h"

int aur_exit_from_kms(enum aur_kms_err e)
{
	if (e == AUR_KMS_OK)
		return AUR_EXIT_OK;
	if (aur_kms_err_is_definitive(e))
		return AUR_EXIT_KMS_DENIED;
	if (e == AUR_KMS_E_INVALID_ARG)
		return AUR_EXIT_USAGE;
	if (e == AUR_KMS_E_INTERNAL)
		return AUR_EXIT_FAILURE;
	/* A configuration that does not match is not fixed by retrying. */
	if (e == AUR_KMS_E_CONFIG)
		return AUR_EXIT_CONFIG;
	/* Refused credentials may be renewed (IMDS, rotation): retry later. */
	return AUR_EXIT_KMS_UNAVAIL;
}

int aur_error_from_kms(struct aur_error *err, const char *what, const struct aur_kms_status *st)
{
	aur_error_set(err, aur_exit_from_kms(st->code), "%s: %s: %s", what,
		      aur_kms_err_name(st->code), st->message);
	if (err)
		err->kms_code = st->code;
	return -EACCES;
}

int aur_dev_path(uint32_t major, uint32_t minor, char *out, size_t outlen)
{
	char p[128], *text = NULL, *d;
	size_t len;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/uevent", major, minor);
	if (aur_read_file(p, 8192, &text, &len) == 0) {
		d = strstr(text, "DEVNAME=");
		if (d) {
			char *e = strchr(d, '\n');

			if (e)
				*e = '\0';
			snprintf(out, outlen, "/dev/%s", d + 8);
			free(text);
			if (access(out, F_OK) == 0)
				return 0;
		} else {
			free(text);
		}
	}
	snprintf(out, outlen, "/dev/block/%u:%u", major, minor);
	return access(out, F_OK) == 0 ? 0 : -ENOENT;
}

int aur_volume_open_dev(const char *device, int flags, struct stat *st, struct aur_error *err)
{
	int fd = open(device, flags | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		aur_error_set(err, e == ENOENT ? AUR_EXIT_NOT_FOUND :
				   e == EBUSY ? AUR_EXIT_BUSY : AUR_EXIT_FAILURE,
			      "%s: %s%s", device, strerror(e),
			      e == EBUSY ? " (in use: mounted, mapped or opened exclusively)" : "");
		return -e;
	}
	if (fstat(fd, st) != 0 || (!S_ISBLK(st->st_mode) && !S_ISREG(st->st_mode))) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s: not a block device or image file", device);
		close(fd);
		return -ENOTBLK;
	}
	return fd;
}

int aur_volume_read_header(const char *device, struct aur_hdr_read *r, struct aur_error *err)
{
	char e[400];
	struct stat st;
	int fd, ret;

	aur_hdr_init(&r->hdr);
	fd = aur_volume_open_dev(device, O_RDONLY, &st, err);
	if (fd < 0)
		return fd;
	flock(fd, LOCK_SH);
	ret = aur_hdr_read_fd(fd, r, e, sizeof(e));
	close(fd);
	if (ret)
		aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", device, e);
	return ret;
}

/* ------------------------------------------------------------------ */

int aur_volume_format(struct aur_kms *kms, const char *device,
		      const struct aur_format_opts *o, struct aur_hdr *out,
		      struct aur_error *err)
{
	struct aur_kms_status st;
	struct aur_secret *dek = NULL;
	struct aur_hdr h;
	struct aur_arn arn;
	struct stat sb;
	uint64_t size, off;
	unsigned int ss = o->sector_size ? o->sector_size : 512;
	const char *key_id = (o->kms_key_id && *o->kms_key_id) ? o->kms_key_id : "alias/aurora/default";
	char what[128], e[400];
	uint8_t *zero = NULL;
	int fd, r;

	aur_hdr_init(&h);
	if (ss < 512 || ss > 4096 || (ss & (ss - 1))) {
		aur_error_set(err, AUR_EXIT_USAGE, "sector size must be 512, 1024, 2048 or 4096");
		return -EINVAL;
	}
	off = o->data_offset ? o->data_offset : AUR_DATA_OFFSET_DEFAULT;
	if (off < 2 * AUR_HDR_AREA || off % 4096 || off % ss || off > AUR_DATA_OFFSET_MAX) {
		aur_error_set(err, AUR_EXIT_USAGE, "bad data offset %" PRIu64, off);
		return -EINVAL;
	}
	fd = aur_volume_open_dev(device, O_RDWR | O_EXCL, &sb, err);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		aur_error_set(err, AUR_EXIT_BUSY, "%s: locked by another aurora process", device);
		r = -EBUSY;
		goto out;
	}
	r = aur_dev_size(fd, &size);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot get its size: %s", device, strerror(-r));
		goto out;
	}
	if (size < off + 1024 * 1024) {
		aur_error_set(err, AUR_EXIT_USAGE, "%s: too small (%" PRIu64 " bytes; need at least %" PRIu64 ")",
			      device, size, off + 1024 * 1024);
		r = -ENOSPC;
		goto out;
	}
	r = aur_probe_signatures(fd, size, what, sizeof(what));
	if (r < 0) {
		aur_error_set(err, AUR_EXIT_FAILURE, "%s: read error: %s", device, strerror(-r));
		goto out;
	}
	if (r > 0 && !o->force) {
		aur_error_set(err, AUR_EXIT_BUSY,
			      "%s holds %s; refusing to format it (use --force to destroy it)",
			      device, what);
		r = -EEXIST;
		goto out;
	}
	if (r > 0)
		aur_warn("%s: overwriting %s (--force)", device, what);

	if (aur_uuid_generate(h.uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "no randomness for a UUID");
		r = -EIO;
		goto out;
	}
	aur_enc_ctx_set(&h.ctx, "aurora:volume-uuid", h.uuid);
	aur_enc_ctx_set(&h.ctx, "aurora:region", kms->region);
	if (kms->ops->generate_data_key(kms, key_id, &h.ctx, AUR_KEY_BYTES, &dek, &h.wrapped_dek,
					h.cmk_arn, &st) != AUR_KMS_OK) {
		r = aur_error_from_kms(err, "GenerateDataKey", &st);
		goto out;
	}
	/* The DEK itself is not needed to format: wipe it now. */
	aur_secret_free(dek);
	dek = NULL;
	if (aur_arn_parse(h.cmk_arn, &arn) != AUR_ARN_OK) {
		aur_error_set(err, AUR_EXIT_FAILURE, "the KMS returned a key ARN we cannot read: %s",
			      h.cmk_arn);
		r = -EPROTO;
		goto out;
	}
	aur_strcpy(h.cmk_region, sizeof(h.cmk_region), arn.region);
	aur_strcpy(h.cmk_account, sizeof(h.cmk_account), arn.account);
	aur_strcpy(h.cmk_partition, sizeof(h.cmk_partition), arn.partition);
	aur_strcpy(h.caller_account, sizeof(h.caller_account), kms->account);
	aur_strcpy(h.provider, sizeof(h.provider), kms->ops->name);
	/* After GenerateDataKey: an embedded keystore has its master key by now. */
	if (aur_kms_identity(kms, h.keystore_id, sizeof(h.keystore_id), &st) != AUR_KMS_OK) {
		r = aur_error_from_kms(err, "reading the keystore identity", &st);
		goto out;
	}
	aur_strcpy(h.cmk_named, sizeof(h.cmk_named), key_id);
	h.sector_size = ss;
	h.data_offset = off;
	h.data_size = (size - off) / ss * ss;
	h.created = aur_now();
	h.state = AUR_VOL_ACTIVE;
	aur_strcpy(h.restored_from, sizeof(h.restored_from), o->restored_from);
	aur_strcpy(h.copied_from, sizeof(h.copied_from), o->copied_from);

	/* Clear everything before the data: old headers and signatures. */
	zero = calloc(1, 65536);
	if (!zero) {
		r = -ENOMEM;
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		goto out;
	}
	{
		uint64_t p;

		for (p = 0; p < off; p += 65536) {
			r = aur_pwrite_full(fd, zero, (size_t)(off - p < 65536 ? off - p : 65536), p);
			if (r) {
				aur_error_set(err, AUR_EXIT_FAILURE, "%s: write error: %s", device, strerror(-r));
				goto out;
			}
		}
	}
	r = aur_hdr_write_fd(fd, &h, 0, e, sizeof(e));
	if (r) {
		aur_error_set(err, r == -ESTALE ? AUR_EXIT_BUSY : AUR_EXIT_FAILURE, "%s: %s", device, e);
		goto out;
	}
	if (out)
		*out = h;
	else
		aur_hdr_free(&h);
	h.json = NULL;
out:
	free(zero);
	aur_secret_free(dek);
	aur_hdr_free(&h);
	close(fd);
	return r;
}

/* ------------------------------------------------------------------ */

static int parse_open(const char *name, struct aur_open_volume *v)
{
	unsigned int ma, mi;
	char tgt[64];

	memset(v, 0, sizeof(*v));
	aur_strcpy(v->name, sizeof(v->name), name);
	if (aur_dm_info(name, &v->dm))
		return -ENODEV;
	if (strcmp(v->dm.target, AUR_DM_TARGET))
		return -EINVAL;
	/* A temporary mapping of a backup command is no volume. */
	if (aur_str_has_prefix(v->dm.uuid, AUR_DM_TMP_UUID_PREFIX))
		return -EPERM;
	if (aur_str_has_prefix(v->dm.uuid, AUR_DM_UUID_PREFIX) &&
	    aur_uuid_valid(v->dm.uuid + strlen(AUR_DM_UUID_PREFIX)))
		aur_strcpy(v->uuid, sizeof(v->uuid), v->dm.uuid + strlen(AUR_DM_UUID_PREFIX));
	/* <cipher> <key> <iv_offset> <dev> <offset> ... */
	if (sscanf(v->dm.table, "%*s %*s %*s %63s", tgt) == 1 &&
	    sscanf(tgt, "%u:%u", &ma, &mi) == 2) {
		v->dev_major = ma;
		v->dev_minor = mi;
		aur_dev_path(ma, mi, v->device, sizeof(v->device));
	}
	/* "active key:loaded ..." or "terminal <reason> key:wiped ..." */
	if (aur_str_has_prefix(v->dm.status, AURORA_DM_STATE_TERMINAL " ")) {
		v->kernel_terminal = true;
		sscanf(v->dm.status + strlen(AURORA_DM_STATE_TERMINAL " "), "%63s", v->kernel_reason);
	} else if (aur_str_has_prefix(v->dm.status, AURORA_DM_STATE_INACCESSIBLE " ")) {
		v->kernel_inaccessible = true;
		sscanf(v->dm.status + strlen(AURORA_DM_STATE_INACCESSIBLE " "), "%63s",
		       v->kernel_reason);
	}
	v->key_loaded = strstr(v->dm.status, AURORA_DM_STATUS_KEY_LOADED) != NULL;
	return 0;
}

int aur_volume_get_open(const char *name, struct aur_open_volume *v, struct aur_error *err)
{
	int r = parse_open(name, v);

	if (r == -ENODEV)
		aur_error_set(err, AUR_EXIT_NOT_FOUND, "no mapping named \"%s\"", name);
	else if (r == -EINVAL)
		aur_error_set(err, AUR_EXIT_USAGE, "mapping \"%s\" is a %s target, not aurora",
			      name, v->dm.target[0] ? v->dm.target : "table-less");
	else if (r == -EPERM)
		aur_error_set(err, AUR_EXIT_USAGE, "mapping \"%s\" is a temporary mapping of a "
			      "restore or copy in progress, not a volume", name);
	return r;
}

int aur_volume_list_open(struct aur_open_volume **vols, size_t *n, struct aur_error *err)
{
	char (*names)[AUR_DM_NAME_MAX] = NULL;
	size_t cnt = 0, i, k = 0;
	int r;

	*vols = NULL;
	*n = 0;
	r = aur_dm_list(&names, &cnt);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot list device-mapper devices: %s", strerror(-r));
		return r;
	}
	*vols = calloc(cnt + 1, sizeof(**vols));
	if (!*vols) {
		free(names);
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < cnt; i++)
		if (parse_open(names[i], &(*vols)[k]) == 0)
			k++;
	free(names);
	*n = k;
	return 0;
}

int aur_volume_find_open(const char *uuid, struct aur_open_volume *v)
{
	struct aur_open_volume *vols;
	size_t n, i;
	int r = -ENODEV;

	if (aur_volume_list_open(&vols, &n, NULL))
		return -ENODEV;
	for (i = 0; i < n; i++) {
		if (!strcmp(vols[i].uuid, uuid)) {
			*v = vols[i];
			r = 0;
			break;
		}
	}
	free(vols);
	return r;
}

int aur_volume_message(const char *uuid, const char *msg, char *resp, size_t resplen)
{
	char dmu[64];

	if (aur_dm_uuid_of(uuid, dmu, sizeof(dmu)))
		return -EINVAL;
	return aur_dm_message_uuid(dmu, msg, resp, resplen);
}

int aur_volume_table(const struct aur_hdr *h, dev_t dev, char *params, size_t len)
{
	char desc[AUR_KEY_DESC_MAX], opts[32] = "";

	aur_key_desc(h->uuid, desc);
	if (h->sector_size != 512)
		snprintf(opts, sizeof(opts), " 1 sector_size:%u", h->sector_size);
	return aur_snprintf(params, len, "%s :%d:logon:%s 0 %u:%u %" PRIu64 "%s",
			    AURORA_DM_CIPHER, AURORA_DM_KEY_SIZE, desc, major(dev), minor(dev),
			    h->data_offset / 512, opts);
}

int aur_volume_close(const char *name, struct aur_error *err)
{
	struct aur_open_volume v;
	char dmu[64];
	int r = aur_volume_get_open(name, &v, err), lk = -1;

	if (r)
		return r;
	/* Under the volume's lock, remove the very mapping looked at: by dm UUID. */
	if (v.uuid[0]) {
		lk = aur_volume_lock(v.uuid, AUR_VOLUME_LOCK_WAIT, err);
		if (lk < 0)
			return lk;
		aur_dm_uuid_of(v.uuid, dmu, sizeof(dmu));
		r = aur_dm_remove_uuid(dmu);
	} else {
		r = aur_dm_remove(name);
	}
	if (r) {
		aur_error_set(err, r == -EBUSY ? AUR_EXIT_BUSY : AUR_EXIT_KERNEL,
			      "cannot remove \"%s\": %s%s", name, strerror(-r),
			      r == -EBUSY ? " (still mounted or open?)" : "");
		aur_volume_unlock(lk);
		return r;
	}
	if (v.uuid[0] && aur_keyring_revoke(v.uuid) == -ENOKEY)
		aur_dbg("no kernel key left for volume %s", v.uuid);
	aur_volume_unlock(lk);
	return 0;
}

/* ------------------------------------------------------------------ */

/*
 * The verdict rules (Documentation/aurora.md, "Verdicts").  Decrypt of this
 * volume's own wrapped DEK is the authority: only its definitive failure can
 * be Lost, and DescribeKey only qualifies it.  DescribeKey alone (AccessDenied
 * because a policy leaves it out, or a state it reports while Decrypt works)
 * is never a verdict.
 */
void aur_volume_check_cmk(struct aur_kms *kms, const struct aur_hdr *h,
			  struct aur_cmk_check *c)
{
	struct aur_kms_status dst, xst;
	struct aur_secret *pt = NULL;
	enum aur_kms_err de, xe;
	bool described;

	memset(c, 0, sizeof(*c));
	/* Another provider or keystore cannot answer for this CMK: no KMS call. */
	if (aur_volume_config_matches(kms, h, c->message, sizeof(c->message)) ==
	    AUR_CONFIG_HARD_MISMATCH) {
		c->verdict = AUR_CMK_CONFIG_ERROR;
		c->kms_err = AUR_KMS_E_CONFIG;
		snprintf(c->reason, sizeof(c->reason), "%s", aur_kms_err_name(AUR_KMS_E_CONFIG));
		return;
	}
	memset(&dst, 0, sizeof(dst));
	memset(&xst, 0, sizeof(xst));
	de = kms->ops->describe_key(kms, h->cmk_arn, &c->info, &dst);
	described = de == AUR_KMS_OK;
	xe = kms->ops->decrypt(kms, h->cmk_arn, &h->ctx, &h->wrapped_dek, &pt, NULL, &xst);
	aur_secret_free(pt);

	if (xe == AUR_KMS_OK) {
		c->verdict = AUR_CMK_OK;
		if (!described)
			snprintf(c->message, sizeof(c->message),
				 "Decrypt works; DescribeKey failed (%s: %s), not a verdict",
				 aur_kms_err_name(de), dst.message);
		else if (c->info.state != AUR_KEY_ENABLED)
			snprintf(c->message, sizeof(c->message),
				 "Decrypt works although DescribeKey says the CMK is %s",
				 aur_key_state_name(c->info.state));
		return;
	}
	c->kms_err = xe;
	snprintf(c->reason, sizeof(c->reason), "%s", aur_kms_err_name(xe));
	snprintf(c->message, sizeof(c->message), "Decrypt: %s", xst.message);

	/* Configuration or credentials: never a verdict, whatever else was said. */
	if (xe == AUR_KMS_E_CONFIG || xe == AUR_KMS_E_CREDENTIALS ||
	    de == AUR_KMS_E_CONFIG || de == AUR_KMS_E_CREDENTIALS) {
		enum aur_kms_err ce = (xe == AUR_KMS_E_CONFIG || xe == AUR_KMS_E_CREDENTIALS) ? xe : de;

		c->verdict = AUR_CMK_CONFIG_ERROR;
		c->kms_err = ce;
		snprintf(c->reason, sizeof(c->reason), "%s", aur_kms_err_name(ce));
		snprintf(c->message, sizeof(c->message), "%s: %s", ce == xe ? "Decrypt" : "DescribeKey",
			 ce == xe ? xst.message : dst.message);
		return;
	}
	{
		/* A "no" that a wrong account or region explains is no verdict. */
		char why[512];

		if (aur_volume_classify(kms, h, xe, why, sizeof(why)) == AUR_KMS_E_CONFIG) {
			c->verdict = AUR_CMK_CONFIG_ERROR;
			c->kms_err = AUR_KMS_E_CONFIG;
			snprintf(c->reason, sizeof(c->reason), "%s", aur_kms_err_name(AUR_KMS_E_CONFIG));
			aur_snprintf(c->message, sizeof(c->message), "Decrypt: %s: %s; %s",
				     aur_kms_err_name(xe), xst.message, why);
			return;
		}
	}
	if (xe == AUR_KMS_E_INVALID_ARG) {
		/* The request is wrong, not the key: a configuration problem. */
		c->verdict = AUR_CMK_CONFIG_ERROR;
		return;
	}
	if (!aur_kms_err_is_definitive(xe)) {
		c->verdict = AUR_CMK_TRANSIENT;
		return;
	}
	/* A custom key store that is disconnected: the key is not gone. */
	if (described && c->info.state == AUR_KEY_UNAVAILABLE) {
		c->verdict = AUR_CMK_TRANSIENT;
		snprintf(c->reason, sizeof(c->reason), "KeyStateUnavailable");
		snprintf(c->message, sizeof(c->message), "Decrypt: %s: %s; the CMK is Unavailable "
			 "(custom key store disconnected?), not a verdict",
			 aur_kms_err_name(xe), xst.message);
		return;
	}
	if (xe == AUR_KMS_E_INVALID_STATE) {
		/* Lost only when DescribeKey names a state that means it. */
		if (described && (c->info.state == AUR_KEY_DISABLED ||
				  c->info.state == AUR_KEY_PENDING_DELETION ||
				  c->info.state == AUR_KEY_DELETED)) {
			c->verdict = AUR_CMK_LOST;
			snprintf(c->message, sizeof(c->message), "Decrypt: %s; the CMK is %s",
				 xst.message, aur_key_state_name(c->info.state));
			return;
		}
		c->verdict = AUR_CMK_TRANSIENT;
		snprintf(c->message, sizeof(c->message),
			 "Decrypt: %s; DescribeKey %s%s: not a definitive state, not a verdict",
			 xst.message, described ? "says " : "failed: ",
			 described ? aur_key_state_name(c->info.state) : aur_kms_err_name(de));
		return;
	}
	/* Disabled, NotFound, AccessDenied, the DEK no longer unwraps. */
	c->verdict = AUR_CMK_LOST;
}

const char *aur_cmk_verdict_name(enum aur_cmk_verdict v)
{
	switch (v) {
	case AUR_CMK_OK:		return "ok";
	case AUR_CMK_LOST:		return "lost";
	case AUR_CMK_TRANSIENT:		return "transient";
	case AUR_CMK_CONFIG_ERROR:	return "config-error";
	}
	return "unknown";
}

static bool reason_valid(const char *reason)
{
	return reason && *reason && strlen(reason) < AURORA_DM_REASON_MAX &&
	       strspn(reason, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
	       strlen(reason);
}

/*
 * Rewrite the header of @device under its lock with @fn (which returns false
 * when there is nothing to change).  Retries on a concurrent writer.
 */
static int update_header(const char *device, bool (*fn)(struct aur_hdr *h, void *arg), void *arg,
			 char *uuid_out, struct aur_error *err)
{
	struct aur_hdr_read hr;
	struct stat sb;
	char e[400];
	int fd, r, tries;

	fd = aur_volume_open_dev(device, O_RDWR, &sb, err);
	if (fd < 0)
		return fd;
	r = -ESTALE;
	for (tries = 0; tries < 5; tries++) {
		flock(fd, LOCK_EX);
		r = aur_hdr_read_fd(fd, &hr, e, sizeof(e));
		if (r) {
			aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", device, e);
			break;
		}
		if (uuid_out && !uuid_out[0])
			aur_strcpy(uuid_out, 37, hr.hdr.uuid);
		if (!fn(&hr.hdr, arg) && !hr.need_repair) {
			aur_hdr_free(&hr.hdr);
			flock(fd, LOCK_UN);
			break;
		}
		r = aur_hdr_write_fd(fd, &hr.hdr, hr.hdr.seqid, e, sizeof(e));
		aur_hdr_free(&hr.hdr);
		if (r != -ESTALE) {
			if (r)
				aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot write the header: %s",
					      device, e);
			break;
		}
	}
	close(fd);
	return r;
}

struct inacc_arg {
	const char *reason;
	int64_t now;
	uint64_t window;
};

static bool set_inaccessible(struct aur_hdr *h, void *arg)
{
	const struct inacc_arg *a = arg;

	if (h->state != AUR_VOL_ACTIVE)
		return false;	/* already inaccessible (keep its since) or terminal */
	h->state = AUR_VOL_INACCESSIBLE;
	aur_strcpy(h->inaccessible_reason, sizeof(h->inaccessible_reason), a->reason);
	h->inaccessible_since = a->now;
	h->recoverable_until = a->now + (int64_t)a->window;
	return true;
}

static bool set_active(struct aur_hdr *h, void *arg)
{
	(void)arg;
	if (h->state != AUR_VOL_INACCESSIBLE)
		return false;	/* terminal stays terminal */
	h->state = AUR_VOL_ACTIVE;
	h->inaccessible_reason[0] = '\0';
	h->inaccessible_since = 0;
	h->recoverable_until = 0;
	return true;
}

/* The target's first status word: 'a'ctive, 'i'naccessible, 't'erminal, 0 unknown. */
/* A message to the mapping of volume @vuuid by dm UUID (by @dm_name if unknown). */
static int vol_message(const char *vuuid, const char *dm_name, const char *msg, char *resp,
		       size_t resplen)
{
	if (vuuid && vuuid[0])
		return aur_volume_message(vuuid, msg, resp, resplen);
	return aur_dm_message(dm_name, msg, resp, resplen);
}

/*
 * The kernel state of the mapping of volume @vuuid, found by its dm UUID
 * (by @dm_name only when the volume's UUID is not known): 'a' active,
 * 'i' inaccessible, 't' terminal, 0 none.  A name read earlier may belong
 * to another volume's mapping by now.
 */
static char kernel_state(const char *vuuid, const char *dm_name)
{
	struct aur_open_volume v;

	if (vuuid && vuuid[0] ? aur_volume_find_open(vuuid, &v) : parse_open(dm_name, &v))
		return 0;
	if (v.kernel_terminal)
		return 't';
	if (v.kernel_inaccessible)
		return 'i';
	return aur_str_has_prefix(v.dm.status, AURORA_DM_STATE_ACTIVE) ? 'a' : 0;
}

int aur_volume_mark_inaccessible(const char *device, const char *dm_name, const char *uuid,
				 const char *reason, int64_t now, uint64_t window,
				 struct aur_error *err)
{
	struct inacc_arg a = { .reason = reason, .now = now, .window = window };
	char vuuid[37] = "", msg[200];
	int ret = 0, r;

	if (!reason_valid(reason)) {
		aur_error_set(err, AUR_EXIT_USAGE,
			      "a reason is 1..63 characters of [A-Za-z0-9._:-]");
		return -EINVAL;
	}
	if (uuid)
		aur_strcpy(vuuid, sizeof(vuuid), uuid);
	if (device) {
		r = update_header(device, set_inaccessible, &a, vuuid, err);
		if (r)
			ret = r;
	}
	if (dm_name && kernel_state(vuuid, dm_name) == 'a') {
		char resp[128];

		snprintf(msg, sizeof(msg), AURORA_DM_MSG_INACCESSIBLE " %s", reason);
		r = vol_message(vuuid, dm_name, msg, resp, sizeof(resp));
		if (r && kernel_state(vuuid, dm_name) != 'i') {
			aur_err("%s: message \"%s\" failed: %s", dm_name, msg, strerror(-r));
			if (!ret) {
				aur_error_set(err, AUR_EXIT_KERNEL, "%s: message \"%s\" failed: %s "
					      "(does the loaded dm-aurora know the inaccessible state?)",
					      dm_name, msg, strerror(-r));
				ret = r;
			}
		}
	}
	if (vuuid[0]) {
		r = aur_keyring_revoke(vuuid);
		if (r && r != -ENOKEY && !ret) {
			aur_error_set(err, AUR_EXIT_KERNEL, "cannot revoke the key of %s: %s", vuuid,
				      strerror(-r));
			ret = r;
		}
	}
	return ret;
}

int aur_volume_mark_active(const char *device, struct aur_error *err)
{
	return update_header(device, set_active, NULL, NULL, err);
}

int aur_volume_recover(struct aur_kms *kms, const char *device, const char *dm_name,
		       struct aur_error *err)
{
	struct aur_kms_status st;
	struct aur_secret *dek = NULL;
	struct aur_hdr_read hr;
	char msg[160], desc[AUR_KEY_DESC_MAX], resp[128];
	char dmu[sizeof(AUR_DM_UUID_PREFIX) + 37];
	int32_t serial, old;
	char ks;
	int r, r2;

	if (aur_volume_read_header(device, &hr, err))
		return -EIO;
	if (hr.hdr.state == AUR_VOL_TERMINAL) {
		char ts[32];

		aur_time_iso(hr.hdr.terminal_time, ts);
		aur_error_set(err, AUR_EXIT_TERMINAL, "volume %s is terminal since %s (%s): "
			      "restore it from a backup (aurora restore)", hr.hdr.uuid, ts,
			      hr.hdr.terminal_reason);
		aur_hdr_free(&hr.hdr);
		return -EKEYREVOKED;
	}
	ks = dm_name ? kernel_state(hr.hdr.uuid, dm_name) : 0;
	if (ks == 't') {
		aur_error_set(err, AUR_EXIT_TERMINAL, "mapping \"%s\" of volume %s is terminal in the "
			      "kernel: close it and open the volume again", dm_name, hr.hdr.uuid);
		aur_hdr_free(&hr.hdr);
		return -EKEYREVOKED;
	}
	if (kms->ops->decrypt(kms, hr.hdr.cmk_arn, &hr.hdr.ctx, &hr.hdr.wrapped_dek, &dek, NULL,
			      &st) != AUR_KMS_OK) {
		aur_error_from_kms(err, "cannot unwrap the volume key (Decrypt)", &st);
		if (err)
			err->exit_code = st.code == AUR_KMS_E_CONFIG || st.code == AUR_KMS_E_CREDENTIALS ?
					 AUR_EXIT_CONFIG : AUR_EXIT_INACCESSIBLE;
		aur_hdr_free(&hr.hdr);
		return -EACCES;
	}
	if (dek->len != AUR_KEY_BYTES) {
		aur_error_set(err, AUR_EXIT_HEADER, "the unwrapped key has %zu bytes, not %d",
			      dek->len, AUR_KEY_BYTES);
		aur_secret_free(dek);
		aur_hdr_free(&hr.hdr);
		return -EINVAL;
	}
	if (dm_name && ks == 'i') {
		/* The target dropped its key: a fresh logon key, then key set. */
		if (aur_keyring_find(hr.hdr.uuid, &old) == 0)
			aur_keyring_revoke(hr.hdr.uuid);
		r = aur_keyring_add(hr.hdr.uuid, dek, &serial);
		aur_secret_free(dek);
		dek = NULL;
		if (r) {
			aur_error_set(err, AUR_EXIT_KERNEL, "cannot add the volume key to the kernel "
				      "keyring: %s", strerror(-r));
			goto out;
		}
		aur_dm_uuid_of(hr.hdr.uuid, dmu, sizeof(dmu));
		r = aur_dm_suspend_uuid_skip_lockfs(dmu);
		if (r) {
			aur_error_set(err, AUR_EXIT_KERNEL, "cannot suspend \"%s\": %s", dm_name,
				      strerror(-r));
			aur_keyring_revoke(hr.hdr.uuid);
			goto out;
		}
		aur_key_desc(hr.hdr.uuid, desc);
		snprintf(msg, sizeof(msg), AURORA_DM_MSG_KEY " " AURORA_DM_MSG_KEY_SET " :%d:logon:%s",
			 AURORA_DM_KEY_SIZE, desc);
		r = aur_dm_message_uuid(dmu, msg, resp, sizeof(resp));
		if (r)
			aur_error_set(err, AUR_EXIT_KERNEL, "%s: message \"%s\" failed: %s", dm_name,
				      msg, strerror(-r));
		r2 = aur_dm_resume_uuid(dmu);
		if (!r && r2) {
			aur_error_set(err, AUR_EXIT_KERNEL, "cannot resume \"%s\": %s", dm_name,
				      strerror(-r2));
			r = r2;
		}
		aur_keyring_detach_process(serial);
		if (!r && kernel_state(hr.hdr.uuid, dm_name) != 'a') {
			aur_error_set(err, AUR_EXIT_KERNEL, "\"%s\" is not active after key set and "
				      "resume", dm_name);
			r = -EIO;
		}
		if (r) {
			aur_keyring_revoke(hr.hdr.uuid);
			goto out;
		}
	}
	aur_secret_free(dek);
	dek = NULL;
	r = 0;
	if (hr.hdr.state == AUR_VOL_INACCESSIBLE)
		r = aur_volume_mark_active(device, err);
out:
	aur_secret_free(dek);
	aur_hdr_free(&hr.hdr);
	return r;
}

int aur_volume_mark_terminal(const char *device, const char *dm_name, const char *uuid,
			     const char *reason, struct aur_error *err)
{
	char msg[200], e[400], vuuid[37] = "";
	int ret = 0, r, tries;

	if (!reason || !*reason || strlen(reason) >= AURORA_DM_REASON_MAX ||
	    strspn(reason, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") !=
	    strlen(reason)) {
		aur_error_set(err, AUR_EXIT_USAGE,
			      "a terminal reason is 1..63 characters of [A-Za-z0-9._:-]");
		return -EINVAL;
	}
	if (uuid)
		aur_strcpy(vuuid, sizeof(vuuid), uuid);
	if (device) {
		struct aur_hdr_read hr;
		struct stat sb;
		int fd = aur_volume_open_dev(device, O_RDWR, &sb, err);

		r = fd;
		for (tries = 0; fd >= 0 && tries < 5; tries++) {
			flock(fd, LOCK_EX);
			r = aur_hdr_read_fd(fd, &hr, e, sizeof(e));
			if (r) {
				aur_error_set(err, AUR_EXIT_HEADER, "%s: %s", device, e);
				break;
			}
			if (!vuuid[0])
				aur_strcpy(vuuid, sizeof(vuuid), hr.hdr.uuid);
			if (hr.hdr.state == AUR_VOL_TERMINAL && !hr.need_repair) {
				aur_hdr_free(&hr.hdr);
				break;
			}
			if (hr.hdr.state != AUR_VOL_TERMINAL) {
				hr.hdr.state = AUR_VOL_TERMINAL;
				aur_strcpy(hr.hdr.terminal_reason, sizeof(hr.hdr.terminal_reason), reason);
				hr.hdr.terminal_time = aur_now();
			}
			r = aur_hdr_write_fd(fd, &hr.hdr, hr.hdr.seqid, e, sizeof(e));
			aur_hdr_free(&hr.hdr);
			if (r != -ESTALE)
				break;
		}
		if (fd >= 0)
			close(fd);
		if (r) {
			if (r != fd)
				aur_error_set(err, AUR_EXIT_FAILURE, "%s: cannot persist the terminal state: %s",
					      device, e);
			ret = r;
		}
	}
	if (dm_name) {
		char resp[128];

		snprintf(msg, sizeof(msg), "terminal %s", reason);
		/* By dm UUID: the name may belong to another volume's mapping by now. */
		r = vuuid[0] ? aur_volume_message(vuuid, msg, resp, sizeof(resp)) :
			       aur_dm_message(dm_name, msg, resp, sizeof(resp));
		if (r) {
			aur_err("%s: message \"%s\" failed: %s", dm_name, msg, strerror(-r));
			if (!ret) {
				aur_error_set(err, AUR_EXIT_KERNEL, "%s: message \"%s\" failed: %s",
					      dm_name, msg, strerror(-r));
				ret = r;
			}
		}
	}
	if (vuuid[0]) {
		r = aur_keyring_revoke(vuuid);
		if (r && r != -ENOKEY && !ret) {
			aur_error_set(err, AUR_EXIT_KERNEL, "cannot revoke the key of %s: %s", vuuid,
				      strerror(-r));
			ret = r;
		}
	}
	if (!ret)
		aur_warn("volume %s%s%s is terminal: %s", vuuid, dm_name ? " / " : "",
			 dm_name ? dm_name : "", reason);
	return ret;
}
