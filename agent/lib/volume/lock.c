// SPDX-License-Identifier: GPL-2.0
/*
 * aurora: the per-volume lock (see internal.h).  An flock(2) on
 * <lock dir>/<volume uuid>.lock, held by `open` from its header read to the
 * resume of the mapping and by `close`: whatever name or path two commands
 * are given for one volume, they meet on the same lock.  The files are
 * never removed (removing a lock file races with its next user); they live
 * on /run, a tmpfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "volume/internal.h"

#define LOCK_DIR_DEFAULT	"/run/aurora/lock"

static const char *lock_dir(void)
{
	const char *d = getenv("AURORA_LOCK_DIR");

	return d && d[0] == '/' ? d : LOCK_DIR_DEFAULT;
}

int aur_volume_lock(const char *uuid, unsigned int wait_s, struct aur_error *err)
{
	const char *dir = lock_dir();
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char path[PATH_MAX];
	unsigned int tries, max = wait_s * 10;
	bool said = false;
	int fd, r;

	if (!aur_uuid_valid(uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "bad volume UUID \"%.40s\"", uuid);
		return -EINVAL;
	}
	r = aur_mkdir_p(dir, 0700);
	if (r || aur_snprintf(path, sizeof(path), "%s/%s.lock", dir, uuid)) {
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot create the lock directory %s: %s", dir,
			      strerror(r ? -r : ENAMETOOLONG));
		return r ? r : -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		aur_error_set(err, AUR_EXIT_FAILURE, "cannot open the volume lock %s: %s", path,
			      strerror(-r));
		return r;
	}
	for (tries = 0;; tries++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			aur_error_set(err, AUR_EXIT_FAILURE, "cannot lock %s: %s", path, strerror(-r));
			break;
		}
		if (tries >= max) {
			r = -EBUSY;
			aur_error_set(err, AUR_EXIT_BUSY,
				      "volume %s is being opened or closed by another aurora process "
				      "(lock %s held for more than %u s); try again later",
				      uuid, path, wait_s);
			break;
		}
		if (!said) {
			aur_info("volume %s: waiting for another aurora process to finish with it",
				 uuid);
			said = true;
		}
		nanosleep(&ts, NULL);
	}
	close(fd);
	return r;
}

void aur_volume_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* releases the flock */
}
