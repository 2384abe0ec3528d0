// SPDX-License-Identifier: GPL-2.0
/*
 * odirect-write DEVICE OFFSET BYTES [FAIL]: one O_DIRECT write of BYTES
 * (pseudo-random, seeded by OFFSET) at OFFSET of DEVICE from a buffer that
 * is allocated, locked and filled first; DEVICE "-" writes the same bytes to
 * standard output instead, to compare with.  With FAIL = 1 the write runs with
 * /proc/self/make-it-fail set, so that the fault-injection knobs with
 * task-filter (fail_page_alloc, failslab) fail the kernel's allocations for
 * this task during the write itself and nothing before it.
 * Exit status: 0 written, 1 the write failed (message on stderr), 2 usage
 * or set-up error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* @mif: /proc/self/make-it-fail, opened beforehand (opening allocates). */
static int set_fail(int mif, int on)
{
	return pwrite(mif, on ? "1" : "0", 1, 0) == 1 ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long long off, len;
	uint64_t x;
	void *buf;
	ssize_t n;
	int fd, mif = -1, fail = 0;
	size_t i;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: odirect-write DEVICE OFFSET BYTES [FAIL]\n");
		return 2;
	}
	off = strtoull(argv[2], NULL, 0);
	len = strtoull(argv[3], NULL, 0);
	if (argc == 5)
		fail = atoi(argv[4]);
	if (!len || len % 4096 || off % 4096 || len > (64ULL << 20)) {
		fprintf(stderr, "odirect-write: OFFSET and BYTES: multiples of 4096, at most 64 MiB\n");
		return 2;
	}
	if (posix_memalign(&buf, 4096, len) || mlock(buf, len)) {
		perror("odirect-write: buffer");
		return 2;
	}
	x = off | 1;
	for (i = 0; i < len / sizeof(x); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		((uint64_t *)buf)[i] = x;
	}
	if (!strcmp(argv[1], "-")) {
		for (i = 0; i < len; i += (size_t)n) {
			n = write(1, (char *)buf + i, len - i);
			if (n <= 0) {
				perror("odirect-write: stdout");
				return 2;
			}
		}
		return 0;
	}
	fd = open(argv[1], O_WRONLY | O_DIRECT);
	if (fd < 0) {
		perror("odirect-write: open");
		return 2;
	}
	/*
	 * Nothing of ours may need a page while the task's allocations fail:
	 * a page fault then loops for ever ("VM_FAULT_OOM leaked out"), in
	 * our code, not in the write.  So every mapping is populated and
	 * locked, page tables included, and the knob's file is opened first.
	 */
	if (fail) {
		mif = open("/proc/self/make-it-fail", O_WRONLY);
		if (mif < 0 || mlockall(MCL_CURRENT) || set_fail(mif, 1)) {
			perror("odirect-write: /proc/self/make-it-fail");
			return 2;
		}
	}
	n = pwrite(fd, buf, len, off);
	if (fail && set_fail(mif, 0)) {
		perror("odirect-write: /proc/self/make-it-fail");
		return 2;
	}
	if (n != (ssize_t)len) {
		fprintf(stderr, "odirect-write: write: %s\n",
			n < 0 ? strerror(errno) : "short write");
		return 1;
	}
	if (fsync(fd)) {
		perror("odirect-write: fsync");
		return 1;
	}
	close(fd);
	return 0;
}
