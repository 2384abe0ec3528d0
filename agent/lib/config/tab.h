/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: /etc/auroratab, the volumes to open at boot.
 *
 *   # name   device                                     options
 *   data0    /dev/disk/by-id/virtio-data0               -
 *   logs     UUID=0b6e1c0a-1111-4222-8333-944445555666  _netdev,nofail
 *
 * name: the mapping (/dev/mapper/<name>), [A-Za-z0-9._-], at most 127 bytes.
 * device: a path, or UUID=<aurora volume UUID> (found by scanning block
 * devices for an aurora header).  options (comma separated, '-' or
 * 'defaults' for none): read-only (ro), _netdev, noauto, nofail,
 * x-systemd.* (for the generator; ignored here).
 */
#ifndef AURORA_TAB_H
#define AURORA_TAB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define AUR_TAB_DEFAULT		"/etc/auroratab"
#define AUR_TAB_MAX_SIZE	(256 * 1024)
#define AUR_TAB_MAX_ENTRIES	1024

struct aur_tab_entry {
	char name[128];
	char device[PATH_MAX];		/* path, or "" when by UUID */
	char uuid[37];			/* "" when by path */
	bool read_only, netdev, noauto, nofail;
	unsigned int line;
};

struct aur_tab {
	size_t n;
	struct aur_tab_entry *e;	/* malloc()ed */
};

/* Parse text; on error -EINVAL with @err naming the line. */
int aur_tab_parse(struct aur_tab *t, const char *text, size_t len,
		  char *err, size_t errlen);
int aur_tab_load(struct aur_tab *t, const char *path, char *err, size_t errlen);
void aur_tab_free(struct aur_tab *t);
const struct aur_tab_entry *aur_tab_find(const struct aur_tab *t, const char *name);

/*
 * Resolve an entry to a device node: its path, or the block device whose
 * aurora header has the entry's UUID (scanning /sys/class/block).
 */
int aur_tab_resolve(const struct aur_tab_entry *e, char *dev, size_t devlen,
		    char *err, size_t errlen);

#endif /* AURORA_TAB_H */
