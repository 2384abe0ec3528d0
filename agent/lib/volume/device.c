// SPDX-License-Identifier: GPL-2.0
/* aurora: a device's size and the signatures on it (declared in header.h). */
#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "volume/header.h"

int aur_dev_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) != 0)
			return -errno;
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	return -ENOTBLK;
}

int aur_probe_signatures(int fd, uint64_t size, char *what, size_t whatlen)
{
	static const struct {
		uint64_t off;
		const char *magic;
		size_t len;
		const char *name;
	} sigs[] = {
		{ 0, AUR_HDR_MAGIC, 8, "an aurora volume header" },
		{ AUR_HDR_AREA, AUR_HDR_MAGIC, 8, "an aurora volume header (second copy)" },
		{ 0, "LUKS\xba\xbe", 6, "a LUKS header" },
		{ 16384, "SKUL\xba\xbe", 6, "a LUKS2 secondary header" },
		{ 1024 + 56, "\x53\xef", 2, "an ext2/ext3/ext4 filesystem" },
		{ 0, "XFSB", 4, "an XFS filesystem" },
		{ 65536 + 64, "_BHRfS_M", 8, "a btrfs filesystem" },
		{ 4096 - 10, "SWAPSPACE2", 10, "a swap area" },
		{ 4096 - 10, "SWAP-SPACE", 10, "a swap area" },
		{ 512, "LABELONE", 8, "an LVM2 physical volume" },
		{ 4096, "\xfc\x4e\x2b\xa9", 4, "an md RAID member" },
		{ 512, "EFI PART", 8, "a GPT partition table" },
		{ 0, "hsqs", 4, "a squashfs filesystem" },
		{ 32769, "CD001", 5, "an ISO 9660 filesystem" },
		{ 3, "NTFS    ", 8, "an NTFS filesystem" },
		{ 82, "FAT32   ", 8, "a FAT32 filesystem" },
		{ 54, "FAT1", 4, "a FAT filesystem" },
		{ 510, "\x55\xaa", 2, "a DOS partition table or boot sector" },
	};
	uint8_t buf[16];
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		int r;

		if (sigs[i].off + sigs[i].len > size)
			continue;
		r = aur_pread_full(fd, buf, sigs[i].len, sigs[i].off);
		if (r)
			return r;
		if (!memcmp(buf, sigs[i].magic, sigs[i].len)) {
			snprintf(what, whatlen, "%s", sigs[i].name);
			return 1;
		}
	}
	return 0;
}
