/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: secrets in locked memory.
 *
 * A struct aur_secret lives in its own mmap()ed, mlock()ed region marked
 * MADV_DONTDUMP (never in a core dump) and MADV_WIPEONFORK, and is wiped with
 * explicit_bzero() before it is unmapped.
 */
#ifndef AURORA_SECMEM_H
#define AURORA_SECMEM_H

#include <stddef.h>
#include <stdint.h>

struct aur_secret {
	size_t len;
	size_t map_len;			/* private */
	uint8_t data[];
};

/* Returns NULL (errno set) when memory cannot be locked. */
struct aur_secret *aur_secret_alloc(size_t len);
void aur_secret_free(struct aur_secret *s);

/* Lock the process against dumps and ptrace: call once at start-up. */
int aur_secmem_harden_process(void);

#endif /* AURORA_SECMEM_H */
