/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: fault injection, the one mechanism (for tests).
 *
 * AURORA_FAULT=<step> in the environment makes the operation fail right
 * after <step> succeeded, so that a test can prove the rollback leaves
 * nothing behind.  Only the step tables of multi-step operations ask
 * (today the steps of aur_volume_open(): header, lock, kms, keyring, dm-create,
 * dm-load, dm-resume; see volume/open.c); no step calls it itself, so the
 * main path reads as the product.  It can only make an operation fail,
 * never skip a check.  It is compiled into every build because the guest
 * suite injects faults through the installed binary.
 */
#ifndef AURORA_FAULT_H
#define AURORA_FAULT_H

#include <stdbool.h>

/* True (with a warning) when AURORA_FAULT names @step. */
bool aur_fault_requested(const char *step);

#endif /* AURORA_FAULT_H */
