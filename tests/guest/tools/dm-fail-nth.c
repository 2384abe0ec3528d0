// SPDX-License-Identifier: GPL-2.0
/*
 * dm-fail-nth N load NAME START LENGTH TYPE PARAMS
 * dm-fail-nth N message NAME SECTOR MESSAGE
 *
 * One device-mapper ioctl (DM_TABLE_LOAD or DM_TARGET_MSG) with the Nth
 * fault-injection point the kernel reaches on its behalf failing
 * (/proc/self/fail-nth, Documentation/fault-injection/fault-injection.rst):
 * with failslab armed (probability non-zero, ignore-gfp-wait N), that is its
 * Nth slab allocation.  Everything else (opening the control device and the
 * fail-nth file, building the request) happens before, so N counts the
 * ioctl's own allocations only, from the first, and not those of exec or of
 * the dynamic loader as a dmsetup run under make-it-fail would.
 *
 * Prints one line: "injected rc=0", "injected rc=ERRNO-NAME", or
 * "not-injected rc=..." when the ioctl reached fewer than N points.
 * Exit status: 0 the fault was injected and the ioctl failed with an error
 * or succeeded; 1 no fault was injected (N is past the ioctl's last point);
 * 3 no fault was injected and the ioctl failed anyway; 2 usage or set-up
 * error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/dm-ioctl.h>

/*
 * At most a page: the kernel copies the request with kvmalloc(), which for
 * more than a page falls back to vmalloc() when kmalloc() fails, and
 * vmalloc() warns, with a stack trace, when its own allocations fail.
 */
#define BUF_SIZE 4096

static union {
	struct dm_ioctl io;
	char bytes[BUF_SIZE];
} req;

static int usage(void)
{
	fprintf(stderr,
		"usage: dm-fail-nth N load NAME START LENGTH TYPE PARAMS\n"
		"       dm-fail-nth N message NAME SECTOR MESSAGE\n");
	return 2;
}

/* Copies @s and its NUL to @off in the request; returns the next offset. */
static size_t put_str(size_t off, const char *s)
{
	size_t len = strlen(s) + 1;

	if (off > sizeof(req) || len > sizeof(req) - off) {
		fprintf(stderr, "dm-fail-nth: the request is over %d bytes\n",
			BUF_SIZE);
		exit(2);
	}
	memcpy(req.bytes + off, s, len);
	return off + len;
}

static size_t align8(size_t off)
{
	return (off + 7) & ~(size_t)7;
}

int main(int argc, char **argv)
{
	unsigned long nth;
	unsigned long cmd;
	char numbuf[32];
	size_t off = sizeof(struct dm_ioctl);
	ssize_t r;
	int ctl, fnth, rc, err;
	char *end;

	if (argc < 5)
		return usage();
	errno = 0;
	nth = strtoul(argv[1], &end, 10);
	if (errno || *end || !nth || nth > 1000000)
		return usage();
	if (strlen(argv[3]) >= DM_NAME_LEN) {
		fprintf(stderr, "dm-fail-nth: name too long\n");
		return 2;
	}
	req.io.version[0] = DM_VERSION_MAJOR;
	req.io.version[1] = 0;
	req.io.version[2] = 0;
	memcpy(req.io.name, argv[3], strlen(argv[3]) + 1);
	req.io.data_start = sizeof(struct dm_ioctl);

	if (!strcmp(argv[2], "load") && argc == 8) {
		struct dm_target_spec spec;
		size_t spec_off = off;

		memset(&spec, 0, sizeof(spec));
		spec.sector_start = strtoull(argv[4], NULL, 10);
		spec.length = strtoull(argv[5], NULL, 10);
		if (strlen(argv[6]) >= DM_MAX_TYPE_NAME)
			return usage();
		memcpy(spec.target_type, argv[6], strlen(argv[6]) + 1);
		off = put_str(spec_off + sizeof(spec), argv[7]);
		off = align8(off);
		spec.next = 0;
		memcpy(req.bytes + spec_off, &spec, sizeof(spec));
		req.io.target_count = 1;
		cmd = DM_TABLE_LOAD;
	} else if (!strcmp(argv[2], "message") && argc == 6) {
		struct dm_target_msg msg;

		memset(&msg, 0, sizeof(msg));
		msg.sector = strtoull(argv[4], NULL, 10);
		memcpy(req.bytes + off, &msg, sizeof(msg));
		put_str(off + sizeof(msg), argv[5]);
		/* The whole page: room for what the target answers. */
		off = sizeof(req);
		cmd = DM_TARGET_MSG;
	} else {
		return usage();
	}
	req.io.data_size = off;

	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		perror("dm-fail-nth: /dev/mapper/control");
		return 2;
	}
	fnth = open("/proc/self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fnth < 0) {
		perror("dm-fail-nth: /proc/self/fail-nth");
		return 2;
	}
	rc = snprintf(numbuf, sizeof(numbuf), "%lu", nth);
	if (pwrite(fnth, numbuf, rc, 0) != rc) {
		perror("dm-fail-nth: arming fail-nth");
		return 2;
	}
	rc = ioctl(ctl, cmd, &req);
	err = errno;
	r = pread(fnth, numbuf, sizeof(numbuf) - 1, 0);
	if (r <= 0) {
		perror("dm-fail-nth: reading fail-nth");
		return 2;
	}
	numbuf[r] = 0;
	/* Disarm before anything else runs in this task. */
	if (pwrite(fnth, "0", 1, 0) != 1) {
		perror("dm-fail-nth: disarming fail-nth");
		return 2;
	}
	/* 0: the fault was injected; N > 0: N points were still to come. */
	if (strtoul(numbuf, NULL, 10) == 0) {
		printf("injected rc=%s\n", rc ? strerrorname_np(err) : "0");
		return 0;
	}
	printf("not-injected rc=%s\n", rc ? strerrorname_np(err) : "0");
	return rc ? 3 : 1;
}
