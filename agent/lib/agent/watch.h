/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the watching agent.
 *
 * Every pass looks at each open aurora mapping, reads its header and asks
 * the KMS about the volume's CMK (DescribeKey, then a trial Decrypt of the
 * volume's DEK: aur_volume_check_cmk).  A definitive answer (disabled,
 * pending deletion, deleted, access denied, the DEK no longer unwraps) makes
 * the volume terminal: header state persisted, `terminal <reason>` sent to
 * the target, kernel key revoked.  A transient one (timeout, throttling,
 * 5xx, a malformed reply, an unreadable keystore) is retried with jittered
 * exponential backoff and never makes a volume terminal.
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
