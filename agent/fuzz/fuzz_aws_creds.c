// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: the shared credentials and config file parser
 * (aur_aws_creds_load_static, lib/kms/aws/aws_creds.c).  Byte 0: bit 0
 * picks the file (credentials or config), bit 1 the profile ("default" or
 * "ops"); the rest is the file, served from a memfd.  Invariants: on
 * success the access key id is non-empty and the secret key is set; an
 * error message never carries the secret key's value.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kms/aws/aws_creds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aur_aws_creds c;
	char err[200], path[64];
	const char *profile;
	int fd, r;

	if (size < 1)
		return 0;
	fd = memfd_create("creds", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_PROFILE");
	setenv("HOME", "/nonexistent-aurora-fuzz", 1);
	profile = (data[0] & 2) ? "ops" : NULL;
	if (data[0] & 1) {
		setenv("AWS_CONFIG_FILE", path, 1);
		r = aur_aws_creds_load_static(&c, profile, "/nonexistent-aurora-fuzz/c", err,
					      sizeof(err));
	} else {
		unsetenv("AWS_CONFIG_FILE");
		r = aur_aws_creds_load_static(&c, profile, path, err, sizeof(err));
	}
	if (!r) {
		if (!c.access_key[0] || !c.secret_key || !c.secret_key->len)
			abort();
		aur_aws_creds_clear(&c);
	}
	close(fd);
	return 0;
}
