// SPDX-License-Identifier: GPL-2.0
/* aurora: /etc/auroratab (see tab.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "volume/header.h"
#include "config/tab.h"
#include "util/util.h"

static bool tab_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= sizeof(((struct aur_tab_entry *)0)->name) ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int tab_options(struct aur_tab_entry *e, char *opts, char *err, size_t errlen)
{
	char *save = NULL, *o;

	if (!strcmp(opts, "-") || !strcmp(opts, "defaults") || !strcmp(opts, "none"))
		return 0;
	for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (!strcmp(o, "read-only") || !strcmp(o, "ro"))
			e->read_only = true;
		else if (!strcmp(o, "_netdev"))
			e->netdev = true;
		else if (!strcmp(o, "noauto"))
			e->noauto = true;
		else if (!strcmp(o, "nofail"))
			e->nofail = true;
		else if (!strcmp(o, "defaults") || aur_str_has_prefix(o, "x-systemd."))
			continue;
		else {
			snprintf(err, errlen, "line %u: unknown option '%.64s'", e->line, o);
			return -EINVAL;
		}
	}
	return 0;
}

int aur_tab_parse(struct aur_tab *t, const char *text, size_t len,
		  char *err, size_t errlen)
{
	size_t pos = 0, cap = 0;
	unsigned int lineno = 0;
	char line[PATH_MAX + 512];
	int ret = 0;

	memset(t, 0, sizeof(*t));
	while (pos < len) {
		struct aur_tab_entry e;
		char *f[4], *save = NULL, *hash;
		size_t end = pos, l, k;

		while (end < len && text[end] != '\n')
			end++;
		l = end - pos;
		lineno++;
		if (l >= sizeof(line)) {
			snprintf(err, errlen, "line %u: too long", lineno);
			ret = -EINVAL;
			goto fail;
		}
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', l)) {
			snprintf(err, errlen, "line %u: NUL byte", lineno);
			ret = -EINVAL;
			goto fail;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (k = 0; k < 4; k++)
			f[k] = strtok_r(k ? NULL : line, " \t\r", &save);
		if (!f[0])
			continue;
		if (f[3]) {
			snprintf(err, errlen, "line %u: too many fields (name device [options])",
				 lineno);
			ret = -EINVAL;
			goto fail;
		}
		memset(&e, 0, sizeof(e));
		e.line = lineno;
		if (!tab_name_valid(f[0])) {
			snprintf(err, errlen, "line %u: bad volume name '%.64s'", lineno, f[0]);
			ret = -EINVAL;
			goto fail;
		}
		aur_strcpy(e.name, sizeof(e.name), f[0]);
		if (!f[1]) {
			snprintf(err, errlen, "line %u: '%s' has no device", lineno, e.name);
			ret = -EINVAL;
			goto fail;
		}
		if (aur_str_has_prefix(f[1], "UUID=")) {
			if (!aur_uuid_valid(f[1] + 5)) {
				snprintf(err, errlen, "line %u: bad UUID '%.64s'", lineno, f[1] + 5);
				ret = -EINVAL;
				goto fail;
			}
			aur_strcpy(e.uuid, sizeof(e.uuid), f[1] + 5);
		} else if (f[1][0] == '/' && aur_strcpy(e.device, sizeof(e.device), f[1]) == 0) {
			/* a path */
		} else {
			snprintf(err, errlen, "line %u: device must be an absolute path or UUID=<uuid>",
				 lineno);
			ret = -EINVAL;
			goto fail;
		}
		if (f[2]) {
			ret = tab_options(&e, f[2], err, errlen);
			if (ret)
				goto fail;
		}
		if (aur_tab_find(t, e.name)) {
			snprintf(err, errlen, "line %u: volume '%s' is listed twice", lineno, e.name);
			ret = -EINVAL;
			goto fail;
		}
		if (t->n == cap) {
			struct aur_tab_entry *ne;

			if (cap >= AUR_TAB_MAX_ENTRIES) {
				snprintf(err, errlen, "line %u: more than %d volumes", lineno,
					 AUR_TAB_MAX_ENTRIES);
				ret = -E2BIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 8;
			ne = realloc(t->e, cap * sizeof(*ne));
			if (!ne) {
				snprintf(err, errlen, "out of memory");
				ret = -ENOMEM;
				goto fail;
			}
			t->e = ne;
		}
		t->e[t->n++] = e;
	}
	return 0;
fail:
	aur_tab_free(t);
	return ret;
}

int aur_tab_load(struct aur_tab *t, const char *path, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = aur_read_file(path, AUR_TAB_MAX_SIZE, &text, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = aur_tab_parse(t, text, len, err, errlen);
	free(text);
	return ret;
}

void aur_tab_free(struct aur_tab *t)
{
	free(t->e);
	t->e = NULL;
	t->n = 0;
}

const struct aur_tab_entry *aur_tab_find(const struct aur_tab *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->e[i].name, name))
			return &t->e[i];
	return NULL;
}

int aur_tab_resolve(const struct aur_tab_entry *e, char *dev, size_t devlen,
		    char *err, size_t errlen)
{
	struct dirent *d;
	DIR *dir;

	if (e->device[0]) {
		if (aur_strcpy(dev, devlen, e->device))
			return -ENAMETOOLONG;
		return 0;
	}
	dir = opendir("/sys/class/block");
	if (!dir) {
		snprintf(err, errlen, "/sys/class/block: %s", strerror(errno));
		return -errno;
	}
	while ((d = readdir(dir))) {
		struct aur_hdr_read r;
		char path[PATH_MAX], e2[160];
		int fd, ok;

		/* Mappings hold plaintext, never a header: skip them. */
		if (d->d_name[0] == '.' || aur_str_has_prefix(d->d_name, "dm-"))
			continue;
		if (aur_snprintf(path, sizeof(path), "/dev/%s", d->d_name))
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ok = aur_hdr_read_fd(fd, &r, e2, sizeof(e2)) == 0;
		close(fd);
		if (!ok)
			continue;
		ok = !strcmp(r.hdr.uuid, e->uuid);
		aur_hdr_free(&r.hdr);
		if (ok) {
			closedir(dir);
			return aur_strcpy(dev, devlen, path);
		}
	}
	closedir(dir);
	snprintf(err, errlen, "no block device holds aurora volume %s", e->uuid);
	return -ENODEV;
}
