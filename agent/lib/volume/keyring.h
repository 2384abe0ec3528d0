/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aurora: volume keys in the kernel keyring.
 *
 * The DEK of an open volume is a `logon` key "aurora:<volume-uuid>" (logon
 * keys cannot be read back from userspace).  It is added to the calling
 * process's keyring, so that the kernel's request_key() during the table
 * load of the same process finds it, and linked into the agent's own
 * keyring "aurora:volumes" under root's user keyring, so that `aurora close`
 * and the watching agent (other processes) can find and revoke it later.
 * Permissions: possessor all; user (uid 0) view, search, link, setattr.
 */
#ifndef AURORA_KEYRING_H
#define AURORA_KEYRING_H

#include <stdint.h>

#include "aurora/aurora.h"
#include "util/secmem.h"

#define AUR_KEYRING_NAME	"aurora:volumes"
#define AUR_KEY_DESC_MAX	64

void aur_key_desc(const char *uuid, char out[AUR_KEY_DESC_MAX]);
/* Add the key; *serial receives its id.  -EEXIST when one is present. */
int aur_keyring_add(const char *uuid, const struct aur_secret *dek, int32_t *serial);
/*
 * Add the key to the calling process's keyring only (not linked into
 * "aurora:volumes"): for a temporary mapping of this process, whose key
 * must not outlive it even when it is killed.  aur_keyring_revoke() drops it.
 */
int aur_keyring_add_private(const char *uuid, const struct aur_secret *dek, int32_t *serial);
/* Drop the process keyring's link once the table is loaded. */
void aur_keyring_detach_process(int32_t serial);
/* Revoke and unlink the volume's key: 0, -ENOKEY, -errno. */
int aur_keyring_revoke(const char *uuid);

#endif /* AURORA_KEYRING_H */
