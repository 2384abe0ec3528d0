// SPDX-License-Identifier: GPL-2.0
/* aurora: secrets in locked memory (see secmem.h). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/secmem.h"

struct aur_secret *aur_secret_alloc(size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t need = sizeof(struct aur_secret) + len;
	size_t map_len;
	struct aur_secret *s;
	void *p;

	if (page <= 0)
		page = 4096;
	if (len > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	map_len = (need + (size_t)page - 1) & ~((size_t)page - 1);
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, map_len) != 0) {
		int e = errno;

		munmap(p, map_len);
		errno = e;
		return NULL;
	}
	(void)madvise(p, map_len, MADV_DONTDUMP);
#ifdef MADV_WIPEONFORK
	(void)madvise(p, map_len, MADV_WIPEONFORK);
#endif
	s = p;
	s->len = len;
	s->map_len = map_len;
	return s;
}

void aur_secret_free(struct aur_secret *s)
{
	size_t map_len;

	if (!s)
		return;
	map_len = s->map_len;
	explicit_bzero(s, map_len);
	munlock(s, map_len);
	munmap(s, map_len);
}

int aur_secmem_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	/* No core dumps: a crash must not write key material to disk. */
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -errno;
	return 0;
}
