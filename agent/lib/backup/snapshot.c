// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: snapshots of open volumes on LVM thin storage (aurora/backup.h).
 * lvm2 is run as a program (argv, never a shell); device-mapper suspend
 * through libdevmapper.  With DM_DISABLE_UDEV set (initramfs, test guests)
 * lvm2 creates its device nodes itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libdevmapper.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup/lvm.h"
#include "util/util.h"
#include "volume/volume.h"

#define LVM_OUT_MAX	(256 * 1024)
#define AUR_LVM_TIMEOUT	120	/* seconds */
/*
 * lvm scans every block device for labels; a suspended one (our aurora
 * mapping while the snapshot is taken) would block that scan for good.
 */
#define LVM_SKIP_SUSPENDED	"devices { ignore_suspended_devices = 1 }"

static int read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (int)got;
}

int aur_lvm_run(const char *const *args, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *argv[32];
	int po[2], efd, status, n = 0;
	pid_t pid;

	argv[n++] = "lvm";
	while (args[n - 1] && n < 31) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	efd = memfd_create("aurora-lvm-stderr", MFD_CLOEXEC);
	if (efd < 0 || pipe2(po, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot run lvm: %s", strerror(errno));
		if (efd >= 0)
			close(efd);
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot run lvm: %s", strerror(errno));
		close(po[0]);
		close(po[1]);
		close(efd);
		return -EAGAIN;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		dup2(po[1], STDOUT_FILENO);
		dup2(efd, STDERR_FILENO);
		/* lvm warns about descriptors it inherits. */
		setenv("LVM_SUPPRESS_FD_WARNINGS", "1", 1);
		/* A hung lvm (it may run while a mapping is suspended) is killed. */
		alarm(AUR_LVM_TIMEOUT);
		execvp("lvm", (char *const *)argv);
		dprintf(STDERR_FILENO, "cannot execute lvm: %s (is lvm2 installed?)", strerror(errno));
		_exit(127);
	}
	close(po[1]);
	if (out)
		read_all(po[0], out, outlen);
	else {
		char sink[4096];

		while (read(po[0], sink, sizeof(sink)) > 0)
			;
	}
	close(po[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	lseek(efd, 0, SEEK_SET);
	read_all(efd, err, errlen);
	close(efd);
	{
		char *t = aur_strtrim(err);

		if (t != err)
			memmove(err, t, strlen(t) + 1);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!err[0])
		snprintf(err, errlen, "lvm %s failed (status %d)", args[0], status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
}

/* ------------------------------------------------------------------ */

static int dm_suspend(const char *name)
{
	struct dm_task *dmt = dm_task_create(DM_DEVICE_SUSPEND);
	int r = 0;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_name(dmt, name) || !dm_task_run(dmt))
		r = -EIO;
	dm_task_destroy(dmt);
	return r;
}

static bool valid_lv_name(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len < 100 && s[0] != '-' && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_.-") == len;
}

/* The thin LV under device M:m: 0 with vg/lv, -ENOTSUP with a reason. */
static int thin_lv_of(uint32_t ma, uint32_t mi, char *vg, char *lv, char *why, size_t whylen)
{
	char p[128], *dmname = NULL, out[1024], e[1024], mp[AUR_DM_NAME_MAX + 16];
	char *f[3], *save = NULL, *line;
	size_t len, i;
	int r;

	snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/dm/name", ma, mi);
	if (aur_read_file(p, 8192, &dmname, &len)) {
		snprintf(why, whylen, "it is not a device-mapper device, so not an LVM logical volume");
		return -ENOTSUP;
	}
	aur_strtrim(dmname);
	snprintf(mp, sizeof(mp), "/dev/mapper/%s", dmname);
	free(dmname);
	{
		const char *args[] = { "lvs", "--noheadings", "--separator", "|", "-o",
				       "vg_name,lv_name,segtype", mp, NULL };

		r = aur_lvm_run(args, out, sizeof(out), e, sizeof(e));
	}
	if (r) {
		snprintf(why, whylen, "lvm does not know it as a logical volume (%s)", e);
		return r == -ENOENT ? -ENOENT : -ENOTSUP;
	}
	line = aur_strtrim(out);
	for (i = 0; i < 3; i++) {
		f[i] = strtok_r(i ? NULL : line, "|", &save);
		if (!f[i]) {
			snprintf(why, whylen, "unexpected lvs output \"%s\"", out);
			return -ENOTSUP;
		}
		f[i] = aur_strtrim(f[i]);
	}
	if (strcmp(f[2], "thin")) {
		snprintf(why, whylen, "it is the LVM logical volume %s/%s of type %s, not a thin volume",
			 f[0], f[1], f[2]);
		return -ENOTSUP;
	}
	if (aur_strcpy(vg, AUR_LVM_NAME_MAX, f[0]) || aur_strcpy(lv, AUR_LVM_NAME_MAX, f[1])) {
		snprintf(why, whylen, "LVM names too long");
		return -ENOTSUP;
	}
	return 0;
}

int aur_snapshot_create(const char *name, const char *snap, struct aur_snapshot *out,
			struct aur_error *err)
{
	struct aur_open_volume v;
	struct aur_snapshot s;
	char why[1200], e[2048], vglv[2 * AUR_LVM_NAME_MAX + 2], tag[64];
	int r, rr;

	memset(&s, 0, sizeof(s));
	if (!valid_lv_name(snap)) {
		aur_error_set(err, AUR_EXIT_USAGE, "bad snapshot name \"%s\": an LVM name of letters, "
			      "digits and +_.- (not starting with -)", snap);
		return -EINVAL;
	}
	r = aur_volume_get_open(name, &v, err);
	if (r)
		return r;
	if (v.kernel_terminal) {
		aur_error_set(err, AUR_EXIT_TERMINAL, "volume %s is terminal: nothing to snapshot "
			      "(restore it from a backup)", name);
		return -EIO;
	}
	r = thin_lv_of(v.dev_major, v.dev_minor, s.vg, s.origin, why, sizeof(why));
	if (r) {
		aur_error_set(err, r == -ENOENT ? AUR_EXIT_FAILURE : AUR_EXIT_USAGE,
			      "volume %s is on %s: %s. Snapshots need the volume's ciphertext on an "
			      "LVM thin logical volume (lvcreate --thin)", name,
			      v.device[0] ? v.device : "its device", why);
		return r == -ENOENT ? r : -ENOTSUP;
	}
	snprintf(vglv, sizeof(vglv), "%s/%s", s.vg, s.origin);
	snprintf(tag, sizeof(tag), "aurora_volume:%s", v.uuid);
	/* Suspend (flush) the aurora mapping: the snapshot is crash-consistent. */
	r = dm_suspend(name);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot suspend %s: %s", name, strerror(-r));
		return r;
	}
	{
		const char *args[] = { "lvcreate", "--config", LVM_SKIP_SUSPENDED, "--quiet",
				       "--snapshot", "--name", snap,
				       "--setactivationskip", "n", "--addtag", AUR_SNAPSHOT_TAG,
				       "--addtag", tag, vglv, NULL };

		r = aur_lvm_run(args, NULL, 0, e, sizeof(e));
	}
	rr = aur_dm_resume(name);
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "lvcreate --snapshot of %s failed: %s", vglv, e);
		if (rr)
			aur_err("cannot resume %s: %s: resume it with dmsetup resume %s", name,
				strerror(-rr), name);
		return r;
	}
	if (rr) {
		aur_error_set(err, AUR_EXIT_KERNEL, "snapshot %s/%s taken, but %s cannot be resumed: "
			      "%s (dmsetup resume %s)", s.vg, snap, name, strerror(-rr), name);
		return rr;
	}
	aur_strcpy(s.lv, sizeof(s.lv), snap);
	aur_strcpy(s.volume_uuid, sizeof(s.volume_uuid), v.uuid);
	if (out) {
		struct aur_snapshot *all = NULL;
		size_t n = 0, i;

		*out = s;
		if (aur_snapshot_list(&all, &n, NULL) == 0) {
			for (i = 0; i < n; i++)
				if (!strcmp(all[i].vg, s.vg) && !strcmp(all[i].lv, snap))
					*out = all[i];
			free(all);
		}
	}
	return 0;
}

int aur_snapshot_list(struct aur_snapshot **list, size_t *n, struct aur_error *err)
{
	const char *args[] = { "lvs", "--noheadings", "--separator", "|", "-o",
			       "vg_name,lv_name,origin,lv_time,lv_tags,lv_active,lv_dm_path",
			       "@" AUR_SNAPSHOT_TAG, NULL };
	char *out = malloc(LVM_OUT_MAX), e[2048], *line, *save = NULL;
	size_t cap = 0;
	int r;

	*list = NULL;
	*n = 0;
	if (!out) {
		aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
		return -ENOMEM;
	}
	r = aur_lvm_run(args, out, LVM_OUT_MAX, e, sizeof(e));
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "lvs failed: %s", e);
		free(out);
		return r;
	}
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[7], *s2 = NULL, *t;
		struct aur_snapshot *sn;
		size_t i;

		for (i = 0; i < 7; i++) {
			f[i] = strtok_r(i ? NULL : line, "|", &s2);
			if (!f[i])
				break;
			f[i] = aur_strtrim(f[i]);
		}
		if (i < 4)
			continue;
		if (*n == cap) {
			struct aur_snapshot *nl;

			cap = cap ? 2 * cap : 8;
			nl = realloc(*list, cap * sizeof(**list));
			if (!nl) {
				free(*list);
				*list = NULL;
				*n = 0;
				free(out);
				aur_error_set(err, AUR_EXIT_FAILURE, "out of memory");
				return -ENOMEM;
			}
			*list = nl;
		}
		sn = &(*list)[(*n)++];
		memset(sn, 0, sizeof(*sn));
		aur_strcpy(sn->vg, sizeof(sn->vg), f[0]);
		aur_strcpy(sn->lv, sizeof(sn->lv), f[1]);
		aur_strcpy(sn->origin, sizeof(sn->origin), f[2]);
		aur_strcpy(sn->time, sizeof(sn->time), f[3]);
		if (i > 4 && (t = strstr(f[4], "aurora_volume:")))
			snprintf(sn->volume_uuid, sizeof(sn->volume_uuid), "%.36s", t + 14);
		sn->active = i > 5 && !strcmp(f[5], "active");
		if (i > 6)
			aur_strcpy(sn->dm_path, sizeof(sn->dm_path), f[6]);
	}
	free(out);
	return 0;
}

int aur_snapshot_delete(const char *snap, struct aur_error *err)
{
	struct aur_snapshot *all = NULL, *hit = NULL;
	char vglv[2 * AUR_LVM_NAME_MAX + 2], e[2048];
	size_t n = 0, i, matches = 0;
	int r;

	r = aur_snapshot_list(&all, &n, err);
	if (r)
		return r;
	for (i = 0; i < n; i++) {
		snprintf(vglv, sizeof(vglv), "%s/%s", all[i].vg, all[i].lv);
		if (!strcmp(vglv, snap) || !strcmp(all[i].lv, snap)) {
			hit = &all[i];
			matches++;
		}
	}
	if (matches != 1) {
		aur_error_set(err, matches ? AUR_EXIT_USAGE : AUR_EXIT_NOT_FOUND,
			      matches ? "\"%s\" names snapshots in several volume groups: say VG/%s" :
			      "no aurora snapshot \"%s\" (aurora snapshot list)", snap, snap);
		free(all);
		return matches ? -EINVAL : -ENOENT;
	}
	snprintf(vglv, sizeof(vglv), "%s/%s", hit->vg, hit->lv);
	free(all);
	{
		const char *args[] = { "lvremove", "--quiet", "--yes", vglv, NULL };

		r = aur_lvm_run(args, NULL, 0, e, sizeof(e));
	}
	if (r) {
		aur_error_set(err, strstr(e, "in use") ? AUR_EXIT_BUSY : AUR_EXIT_FAILURE,
			      "lvremove %s failed: %s", vglv, e);
		return r;
	}
	return 0;
}
