/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the watching agent.
 *
 * Every pass looks at each open aurora mapping (each in its own thread, with
 * its own KMS handle and a deadline of one interval), reads its header and
 * asks the KMS about the volume's CMK (DescribeKey and a trial Decrypt of
 * the volume's DEK: aur_volume_check_cmk).  Only a definitive Decrypt
 * failure is Lost; confirm_passes Lost passes in a row make the volume
 * inaccessible (header, `inaccessible <reason>` to the target, kernel key
 * revoked); access back within recovery_window recovers it (key set and
 * resume); a Lost pass after the window makes it terminal.  Transient and
 * configuration errors are retried with jittered exponential backoff and
 * are never a verdict.  Per-pass data (Lost count, last verdict) lives in
 * /run/aurora/state/<uuid>.  Documentation/aurora.md, "State machine".
 *
 * Its interface is declared in aurora/aurora.h (the library's public header);
 * this header remains for the library's own files and the tests.
 */
#ifndef AURORA_WATCH_H
#define AURORA_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "aurora/aurora.h"
#include "kms/kms.h"
#include "volume/volume.h"

#endif /* AURORA_WATCH_H */
