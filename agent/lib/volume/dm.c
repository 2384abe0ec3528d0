// SPDX-License-Identifier: GPL-2.0
/* aurora: device-mapper via libdevmapper (see dm.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdevmapper.h>

#include "volume/dm.h"
#include "util/util.h"

static void aur_dm_logfn(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...) __attribute__((format(printf, 5, 6)));
static void aur_dm_logfn(int level, const char *file, int line, int dm_errno_or_class,
		      const char *f, ...)
{
	char buf[512];
	va_list ap;

	if ((level & 7) > 3)
		return;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	aur_dbg("device-mapper: %s", buf);
}

void aur_dm_init_logging(void)
{
	dm_log_with_errno_init(aur_dm_logfn);
}

static int run(struct dm_task *dmt, bool with_cookie)
{
	uint32_t cookie = 0;
	int ok, e;

	if (with_cookie && !dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	errno = 0;
	ok = dm_task_run(dmt);
	e = errno;
	if (with_cookie)
		(void)dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	if (!ok)
		return e ? -e : -EIO;
	return 0;
}

/*
 * Address @dmt at one mapping: by its dm UUID when @dm_uuid is set (the
 * name is then ignored), else by @name.  A dm UUID never changes while the
 * mapping exists and is unique: a mapping removed and re-created under the
 * same name by another volume is never the one addressed.
 */
static bool set_target(struct dm_task *dmt, const char *name, const char *dm_uuid)
{
	if (dm_uuid)
		return dm_task_set_uuid(dmt, dm_uuid);
	return dm_task_set_name(dmt, name);
}

int aur_dm_uuid_of(const char *vol_uuid, char *out, size_t len)
{
	if (!vol_uuid || !aur_uuid_valid(vol_uuid))
		return -EINVAL;
	return aur_snprintf(out, len, AUR_DM_UUID_PREFIX "%s", vol_uuid);
}

int aur_dm_create(const char *name, const char *dm_uuid, bool read_only)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_CREATE);

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || (dm_uuid && !dm_task_set_uuid(dmt, dm_uuid)) ||
	    (read_only && !dm_task_set_ro(dmt))) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	/* No uevent for a device without a table (Linux >= 5.15): no cookie. */
	return run(dmt, false);
}

static int load(const char *name, const char *dm_uuid, uint64_t sectors, const char *target,
		const char *params, bool read_only)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_RELOAD);

	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid) || !dm_task_secure_data(dmt) ||
	    (read_only && !dm_task_set_ro(dmt)) ||
	    !dm_task_add_target(dmt, 0, sectors, target, params)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	return run(dmt, false);
}

int aur_dm_load(const char *name, uint64_t sectors, const char *target,
		const char *params, bool read_only)
{
	return load(name, NULL, sectors, target, params, read_only);
}

int aur_dm_load_uuid(const char *dm_uuid, uint64_t sectors, const char *target,
		     const char *params, bool read_only)
{
	return dm_uuid ? load(NULL, dm_uuid, sectors, target, params, read_only) : -EINVAL;
}

static int suspend_resume(const char *name, const char *dm_uuid, int type)
{
	struct dm_task *dmt = dm_task_create(type);
	char dev_name[AUR_DM_NAME_MAX] = "", node[AUR_DM_NAME_MAX + 16];
	uint32_t cookie = 0;
	bool resume = type == DM_DEVICE_RESUME;
	const char *n;
	int ok, e;

	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	/* Only a resume sends a uevent to wait for. */
	if (resume && !dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	errno = 0;
	ok = dm_task_run(dmt);
	e = errno;
	n = ok ? dm_task_get_name(dmt) : NULL;
	if (n)
		snprintf(dev_name, sizeof(dev_name), "%s", n);
	if (resume)
		(void)dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	if (!ok)
		return e ? -e : -EIO;
	/*
	 * Addressed by UUID, libdevmapper does not know the name and creates
	 * no /dev/mapper node when udev does not: create it from the name the
	 * kernel reported for this very device.
	 */
	if (resume && dm_uuid && dev_name[0] &&
	    snprintf(node, sizeof(node), "%s/%s", dm_dir(), dev_name) < (int)sizeof(node) &&
	    access(node, F_OK) != 0)
		(void)dm_mknodes(dev_name);
	return 0;
}

int aur_dm_resume(const char *name)
{
	return suspend_resume(name, NULL, DM_DEVICE_RESUME);
}

int aur_dm_resume_uuid(const char *dm_uuid)
{
	return dm_uuid ? suspend_resume(NULL, dm_uuid, DM_DEVICE_RESUME) : -EINVAL;
}

int aur_dm_suspend_uuid(const char *dm_uuid)
{
	return dm_uuid ? suspend_resume(NULL, dm_uuid, DM_DEVICE_SUSPEND) : -EINVAL;
}

static int remove_dev(const char *name, const char *dm_uuid)
{
	int tries, r = -EIO;

	for (tries = 0; tries < 5; tries++) {
		struct dm_task *dmt = dm_task_create(DM_DEVICE_REMOVE);

		if (!dmt)
			return -ENOMEM;
		if (!set_target(dmt, name, dm_uuid) || !dm_task_retry_remove(dmt)) {
			dm_task_destroy(dmt);
			return -EINVAL;
		}
		r = run(dmt, true);
		if (r != -EBUSY)
			return r;
		usleep(200000);
	}
	return r;
}

int aur_dm_remove(const char *name)
{
	return remove_dev(name, NULL);
}

int aur_dm_remove_uuid(const char *dm_uuid)
{
	return dm_uuid ? remove_dev(NULL, dm_uuid) : -EINVAL;
}

/* Run @dmt and read its info: 0, or -errno / -ENODEV with @dmt destroyed. */
static int run_info(struct dm_task *dmt, struct dm_info *di)
{
	int e;

	if (dm_task_run(dmt) && dm_task_get_info(dmt, di)) {
		if (di->exists)
			return 0;
		dm_task_destroy(dmt);
		return -ENODEV;
	}
	e = errno;
	dm_task_destroy(dmt);
	return e ? -e : -EIO;
}

static int get_first(const char *name, const char *dm_uuid, int type, struct aur_dm_info *info,
		     char *out, size_t outlen)
{
	struct dm_task *dmt = dm_task_create(type);
	uint64_t start, len;
	char *ttype = NULL, *params = NULL;
	struct dm_info di;
	int r;

	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid) || !dm_task_no_open_count(dmt)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	if (type == DM_DEVICE_TABLE)
		dm_task_secure_data(dmt);
	r = run_info(dmt, &di);
	if (r)
		return r;
	dm_get_next_target(dmt, NULL, &start, &len, &ttype, &params);
	if (info) {
		info->sectors = len;
		snprintf(info->target, sizeof(info->target), "%s", ttype ? ttype : "");
	}
	snprintf(out, outlen, "%s", params ? params : "");
	dm_task_destroy(dmt);
	return 0;
}

static int info_of(const char *name, const char *dm_uuid, struct aur_dm_info *info)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_INFO);
	struct dm_info di;
	const char *u;
	int r;

	memset(info, 0, sizeof(*info));
	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid)) {
		r = errno ? -errno : -EIO;
		dm_task_destroy(dmt);
		return r;
	}
	r = run_info(dmt, &di);
	if (r)
		return r;
	info->exists = true;
	info->live_table = di.live_table;
	info->suspended = di.suspended;
	info->read_only = di.read_only;
	info->open_count = di.open_count;
	info->major = di.major;
	info->minor = di.minor;
	u = dm_task_get_uuid(dmt);
	snprintf(info->uuid, sizeof(info->uuid), "%s", u ? u : "");
	dm_task_destroy(dmt);
	/* Table and status of the very mapping found: by its uuid when it has one. */
	if (info->live_table) {
		const char *by = info->uuid[0] ? info->uuid : NULL;

		get_first(by ? NULL : name, by, DM_DEVICE_TABLE, info, info->table, sizeof(info->table));
		get_first(by ? NULL : name, by, DM_DEVICE_STATUS, NULL, info->status,
			  sizeof(info->status));
	}
	return 0;
}

int aur_dm_info(const char *name, struct aur_dm_info *info)
{
	return info_of(name, NULL, info);
}

int aur_dm_info_uuid(const char *dm_uuid, struct aur_dm_info *info)
{
	if (!dm_uuid) {
		memset(info, 0, sizeof(*info));
		return -EINVAL;
	}
	return info_of(NULL, dm_uuid, info);
}

static int message(const char *name, const char *dm_uuid, const char *msg, char *resp,
		   size_t resplen)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_TARGET_MSG);
	const char *r;
	int e;

	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, msg)) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	errno = 0;
	if (!dm_task_run(dmt)) {
		e = errno;
		dm_task_destroy(dmt);
		return e ? -e : -EIO;
	}
	r = dm_task_get_message_response(dmt);
	if (resp && resplen)
		snprintf(resp, resplen, "%s", r ? r : "");
	dm_task_destroy(dmt);
	return 0;
}

int aur_dm_message(const char *name, const char *msg, char *resp, size_t resplen)
{
	return message(name, NULL, msg, resp, resplen);
}

int aur_dm_message_uuid(const char *dm_uuid, const char *msg, char *resp, size_t resplen)
{
	return dm_uuid ? message(NULL, dm_uuid, msg, resp, resplen) : -EINVAL;
}

int aur_dm_list(char (**names)[AUR_DM_NAME_MAX], size_t *n)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_LIST);
	struct dm_names *nm;
	char (*out)[AUR_DM_NAME_MAX] = NULL;
	size_t cnt = 0;
	unsigned int next = 0;

	*names = NULL;
	*n = 0;
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_run(dmt)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	nm = dm_task_get_names(dmt);
	if (nm && nm->dev) {
		do {
			struct aur_dm_info info;
			char params[16];

			nm = (struct dm_names *)((char *)nm + next);
			memset(&info, 0, sizeof(info));
			if (get_first(nm->name, NULL, DM_DEVICE_TABLE, &info, params, sizeof(params)) == 0 &&
			    !strcmp(info.target, AUR_DM_TARGET)) {
				char (*tmp)[AUR_DM_NAME_MAX] = realloc(out, (cnt + 1) * sizeof(*out));

				if (!tmp) {
					free(out);
					dm_task_destroy(dmt);
					return -ENOMEM;
				}
				out = tmp;
				snprintf(out[cnt++], AUR_DM_NAME_MAX, "%s", nm->name);
			}
			next = nm->next;
		} while (next);
	}
	dm_task_destroy(dmt);
	*names = out;
	*n = cnt;
	return 0;
}

bool aur_dm_available(void)
{
	char v[64];

	return access("/dev/mapper/control", F_OK) == 0 && dm_driver_version(v, sizeof(v));
}

static int suspend_skip(const char *name, const char *dm_uuid, bool skip_lockfs)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_SUSPEND);

	if (!dmt)
		return -ENOMEM;
	if (!set_target(dmt, name, dm_uuid) || (skip_lockfs && !dm_task_skip_lockfs(dmt))) {
		dm_task_destroy(dmt);
		return -EINVAL;
	}
	return run(dmt, false);
}

int aur_dm_suspend(const char *name, bool skip_lockfs)
{
	return name ? suspend_skip(name, NULL, skip_lockfs) : -EINVAL;
}

int aur_dm_suspend_uuid_skip_lockfs(const char *dm_uuid)
{
	return dm_uuid ? suspend_skip(NULL, dm_uuid, true) : -EINVAL;
}
