/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: secrets in locked memory.
 *
 * A struct aur_secret lives in its own mmap()ed, mlock()ed region marked
 * MADV_DONTDUMP (never in a core dump) and MADV_WIPEONFORK, and is wiped with
 * explicit_bzero() before it is unmapped.
 *
 * Its interface is declared in aurora/aurora.h (the library's public header);
 * this header remains for the library's own files and the tests.
 */
#ifndef AURORA_SECMEM_H
#define AURORA_SECMEM_H

#include <stddef.h>
#include <stdint.h>

#include "aurora/aurora.h"

#endif /* AURORA_SECMEM_H */
