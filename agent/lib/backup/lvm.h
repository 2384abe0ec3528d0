/* SPDX-License-Identifier: GPL-2.0 */
/* aurora: running lvm2 (lib/backup/snapshot.c). */
#ifndef AURORA_BACKUP_LVM_H
#define AURORA_BACKUP_LVM_H

#include <stddef.h>

#include "aurora/backup.h"
#include "volume/dm.h"

/*
 * Run `lvm ARGS...` (execvp, argv only, stdin /dev/null): its stdout into
 * @out (NUL-terminated; NULL: discarded), its stderr into @err.  0 when it
 * exits 0; -ENOENT when lvm cannot be executed; -EIO otherwise.
 */
int aur_lvm_run(const char *const *args, char *out, size_t outlen, char *err, size_t errlen);

#endif /* AURORA_BACKUP_LVM_H */
