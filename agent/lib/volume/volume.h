/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: volume orchestration: format, open, close, status, and what the
 * watching agent (issue 5) needs: list open volumes, read a header, check
 * the CMK, mark a volume terminal.
 *
 * Every call reports failure as a negative errno plus an aur_error whose
 * exit_code is the CLI's exit code class (util.h enum aur_exit).
 *
 * Test hook: AURORA_FAULT=<step> (util/fault.h) makes `open` fail right after <step>
 * succeeded (header, lock, kms, keyring, dm-create, dm-load, dm-resume), to prove
 * that nothing is left behind; it can only make an open fail.
 *
 * Its interface is declared in aurora/aurora.h (the library's public header);
 * this header remains for the library's own files and the tests.
 */
#ifndef AURORA_VOLUME_H
#define AURORA_VOLUME_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "aurora/aurora.h"
#include "volume/dm.h"
#include "volume/header.h"
#include "kms/kms.h"
#include "util/util.h"

#endif /* AURORA_VOLUME_H */
