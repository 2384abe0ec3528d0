// SPDX-License-Identifier: GPL-2.0
/*
 * flock-hold FILE: take an exclusive flock(2) on FILE (created 0600 if
 * missing), print "locked" on stdout, hold it until a line or EOF arrives
 * on stdin, then exit (which releases it).  The guest has no flock(1).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char c;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: flock-hold FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		perror("flock-hold");
		return 1;
	}
	printf("locked\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
		;
	close(fd);
	return 0;
}
