/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: the configuration file /etc/aurora/aurora.conf.
 *
 *   # comment
 *   provider = local            # local | aws
 *   account  = 111122223333     # the caller's account (12 digits)
 *   region   = us-east-1
 *   keystore = /var/lib/aurora/kms
 *   interval = 300              # seconds between CMK checks (aurora agent)
 *   endpoint = https://...      # aws provider: KMS endpoint override
 *   ca_bundle = /path/ca.pem    # aws provider: CA bundle for TLS
 *
 * One `key = value` per line; unknown keys and malformed lines are errors
 * naming the line.  The path is --config, else $AURORA_CONF, else the default.
 *
 * Its interface is declared in aurora/aurora.h (the library's public header);
 * this header remains for the library's own files and the tests.
 */
#ifndef AURORA_CONFIG_H
#define AURORA_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "aurora/aurora.h"
#include "kms/kms.h"

#endif /* AURORA_CONFIG_H */
