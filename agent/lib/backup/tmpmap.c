// SPDX-License-Identifier: GPL-2.0
/* aurora: temporary dm-aurora mappings, loop devices and temporary files (tmpmap.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backup/tmpmap.h"
#include "util/util.h"
#include "volume/dm.h"
#include "volume/keyring.h"

int bk_tmpmap_open(struct bk_tmpmap *t, const struct aur_hdr *h, dev_t dev,
		   const struct aur_secret *dek, const char *role, struct aur_error *err)
{
	struct aur_hdr th;
	struct stat sb;
	char params[512];
	int32_t serial;
	int r;

	memset(t, 0, sizeof(*t));
	if (aur_uuid_generate(t->key_uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "no randomness for a UUID");
		return -EIO;
	}
	snprintf(t->name, sizeof(t->name), "aurora-tmp-%d-%s", (int)getpid(), role);
	snprintf(t->dm_uuid, sizeof(t->dm_uuid), "%s%s", AUR_DM_TMP_UUID_PREFIX, t->key_uuid);
	snprintf(t->path, sizeof(t->path), "/dev/mapper/%s", t->name);
	/* The table names the key by the header's UUID: a private one here. */
	th = *h;
	th.json = NULL;
	aur_strcpy(th.uuid, sizeof(th.uuid), t->key_uuid);
	r = aur_volume_table(&th, dev, params, sizeof(params));
	if (r) {
		aur_error_set(err, AUR_EXIT_FAILURE, "temporary mapping %s: table too long", t->name);
		return r;
	}
	r = aur_keyring_add_private(t->key_uuid, dek, &serial);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot add a temporary key to the kernel keyring: %s",
			      strerror(-r));
		return r;
	}
	t->keyed = true;
	r = aur_dm_create(t->name, t->dm_uuid, false);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot create temporary mapping %s: %s", t->name,
			      strerror(-r));
		goto fail;
	}
	t->created = true;
	r = aur_dm_load(t->name, h->data_size / 512, AUR_DM_TARGET, params, false);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot load the aurora table of temporary mapping "
			      "%s: %s (is the dm-aurora module loaded? see dmesg)", t->name,
			      strerror(-r));
		goto fail;
	}
	r = aur_dm_resume(t->name);
	if (r) {
		aur_error_set(err, AUR_EXIT_KERNEL, "cannot activate temporary mapping %s: %s", t->name,
			      strerror(-r));
		goto fail;
	}
	if (stat(t->path, &sb) != 0 || !S_ISBLK(sb.st_mode)) {
		r = -ENOENT;
		aur_error_set(err, AUR_EXIT_KERNEL, "temporary mapping %s has no device node", t->path);
		goto fail;
	}
	return 0;
fail:
	bk_tmpmap_close(t);
	return r;
}

void bk_tmpmap_close(struct bk_tmpmap *t)
{
	int r;

	if (t->created) {
		r = aur_dm_remove(t->name);
		if (r)
			aur_err("cannot remove temporary mapping %s: %s (remove it with dmsetup "
				"remove %s)", t->name, strerror(-r), t->name);
		t->created = false;
	}
	if (t->keyed) {
		aur_keyring_revoke(t->key_uuid);
		t->keyed = false;
	}
}

int bk_tmpfile(const char *dir, uint64_t size, struct aur_error *err)
{
	char path[PATH_MAX];
	int fd, e;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		if (aur_snprintf(path, sizeof(path), "%s/.aurora-tmp-XXXXXX", dir) == 0) {
			fd = mkostemp(path, O_CLOEXEC);
			if (fd >= 0)
				unlink(path);
		} else {
			errno = ENAMETOOLONG;
		}
	}
	if (fd < 0) {
		e = errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot create a temporary file in %s: %s", dir,
			      strerror(e));
		return -e;
	}
	if (ftruncate(fd, (off_t)size) != 0) {
		e = errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot size a temporary file in %s: %s", dir,
			      strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int bk_loop_attach(int fd, dev_t *dev, struct aur_error *err)
{
	struct loop_config cfg;
	struct stat sb;
	char path[64];
	int ctl, lfd, n, tries, e = EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		e = errno;
		aur_error_set(err, AUR_EXIT_KERNEL, "/dev/loop-control: %s (is the loop module loaded?)",
			      strerror(e));
		return -e;
	}
	for (tries = 0; tries < 8; tries++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			e = errno;
			break;
		}
		snprintf(path, sizeof(path), "/dev/loop%d", n);
		lfd = open(path, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			e = errno;
			continue;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned int)fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0 && fstat(lfd, &sb) == 0) {
			close(ctl);
			*dev = sb.st_rdev;
			return lfd;
		}
		e = errno;
		close(lfd);
		if (e != EBUSY)
			break;
	}
	close(ctl);
	aur_error_set(err, AUR_EXIT_KERNEL, "cannot attach a temporary file to a loop device: %s",
		      strerror(e));
	return -e;
}

static void held_set(sigset_t *s)
{
	sigemptyset(s);
	sigaddset(s, SIGINT);
	sigaddset(s, SIGTERM);
	sigaddset(s, SIGHUP);
}

void bk_signals_hold(sigset_t *old)
{
	sigset_t s;

	held_set(&s);
	sigprocmask(SIG_BLOCK, &s, old);
}

bool bk_signal_pending(void)
{
	sigset_t p;

	return sigpending(&p) == 0 &&
	       (sigismember(&p, SIGINT) == 1 || sigismember(&p, SIGTERM) == 1 ||
		sigismember(&p, SIGHUP) == 1);
}

void bk_signals_release(const sigset_t *old)
{
	/* A signal still pending is delivered now, once everything is cleaned up. */
	sigprocmask(SIG_SETMASK, old, NULL);
}
