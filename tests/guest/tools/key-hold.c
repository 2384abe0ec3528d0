// SPDX-License-Identifier: GPL-2.0
/*
 * key-hold DIR KEY: a request-key handler that holds a key under
 * construction until told to finish.  Run as /sbin/request-key's handler
 * ("/sbin/request-key create KEY UID GID TKR PKR SKR" from the kernel, which
 * a wrapper script turns into "key-hold DIR KEY").  It assumes the authority
 * to instantiate KEY, creates DIR/started, waits (at most 120 s) for DIR/go
 * to exist, then instantiates KEY with the contents of DIR/key (at most
 * 4096 bytes), linking it nowhere.  Meanwhile any request_key() of the same
 * description waits for the construction.
 * Exit status: 0 instantiated, 1 error (message on stderr, in DIR/log when
 * the wrapper sends it there).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/keyctl.h>

static long kctl(int op, unsigned long a, unsigned long b, unsigned long c,
		 unsigned long d)
{
	return syscall(SYS_keyctl, op, a, b, c, d);
}

int main(int argc, char **argv)
{
	char path[4096], buf[4096];
	ssize_t len;
	long key;
	int fd, i;

	if (argc != 3) {
		fprintf(stderr, "usage: key-hold DIR KEY\n");
		return 1;
	}
	key = strtol(argv[2], NULL, 10);
	if (kctl(KEYCTL_ASSUME_AUTHORITY, key, 0, 0, 0) < 0) {
		perror("key-hold: assume authority");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/started", argv[1]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror("key-hold: started");
		return 1;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/go", argv[1]);
	for (i = 0; i < 1200 && access(path, F_OK); i++)
		usleep(100000);
	snprintf(path, sizeof(path), "%s/key", argv[1]);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror("key-hold: key");
		return 1;
	}
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len <= 0) {
		fprintf(stderr, "key-hold: key: empty or unreadable\n");
		return 1;
	}
	if (kctl(KEYCTL_INSTANTIATE, key, (unsigned long)buf, len, 0) < 0) {
		perror("key-hold: instantiate");
		return 1;
	}
	return 0;
}
