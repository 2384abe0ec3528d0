// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the backup file reader (lib/backup/bfile.c): the
 * input is the whole backup file, read through a memfd as restore and
 * verify read it (preamble, manifest, header copy, chunk records, trailer).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backup/bfile.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_chunk(uint64_t index, const uint8_t *buf, size_t len, void *ctx,
		       char *err, size_t errlen)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_stream s;
	struct bk_meta m;
	uint64_t n = 0;
	char err[600];
	int fd = memfd_create("fuzz-backup", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (aur_pwrite_full(fd, data, size, 0) || lseek(fd, 0, SEEK_SET) != 0 ||
	    bk_stream_init(&s, fd, "fuzz")) {
		close(fd);
		return 0;
	}
	if (bk_read_head(&s, &m, err, sizeof(err)) == 0 &&
	    bk_read_chunks(&s, &m, count_chunk, &n, false, "fuzz", err, sizeof(err)) == 0 &&
	    n != m.info.chunks)
		abort();
	bk_meta_free(&m);
	bk_stream_fini(&s);
	close(fd);
	return 0;
}
