/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: /etc/auroratab, the volumes to open at boot.
 *
 *   # name   device                                     options
 *   data0    /dev/disk/by-id/virtio-data0               -
 *   logs     UUID=0b6e1c0a-1111-4222-8333-944445555666  _netdev,nofail
 *
 * name: the mapping (/dev/mapper/<name>), [A-Za-z0-9._-], at most 127 bytes.
 * device: a path, or UUID=<aurora volume UUID> (found by scanning block
 * devices for an aurora header).  options (comma separated, '-' or
 * 'defaults' for none): read-only (ro), _netdev, noauto, nofail,
 * x-systemd.* (for the generator; ignored here).
 *
 * Its interface is declared in aurora/aurora.h (the library's public header);
 * this header remains for the library's own files and the tests.
 */
#ifndef AURORA_TAB_H
#define AURORA_TAB_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "aurora/aurora.h"

#endif /* AURORA_TAB_H */
