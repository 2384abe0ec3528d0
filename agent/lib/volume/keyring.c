// SPDX-License-Identifier: GPL-2.0
/* aurora: volume keys in the kernel keyring (see keyring.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <keyutils.h>

#include "volume/keyring.h"
#include "util/util.h"

#define KEY_PERM (KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_SEARCH | KEY_USR_LINK | KEY_USR_SETATTR)
#define RING_PERM (KEY_POS_ALL | KEY_USR_ALL)

void aur_key_desc(const char *uuid, char out[AUR_KEY_DESC_MAX])
{
	snprintf(out, AUR_KEY_DESC_MAX, "aurora:%s", uuid);
}

/* The agent's keyring under root's user keyring; created on first use. */
static int32_t our_ring(bool create)
{
	long r = keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", AUR_KEYRING_NAME, 0);
	key_serial_t k;

	if (r >= 0 || !create)
		return r >= 0 ? (int32_t)r : -ENOKEY;
	/* Created in the process keyring (possessed) to set its permissions. */
	k = add_key("keyring", AUR_KEYRING_NAME, NULL, 0, KEY_SPEC_PROCESS_KEYRING);
	if (k < 0)
		return -errno;
	if (keyctl_setperm(k, RING_PERM) < 0 ||
	    keyctl_link(k, KEY_SPEC_USER_KEYRING) < 0) {
		int e = errno;

		keyctl_unlink(k, KEY_SPEC_PROCESS_KEYRING);
		return -e;
	}
	/* Now held by the user keyring; the process keyring must not keep it
	 * (its keys would otherwise stay reachable from this process). */
	keyctl_unlink(k, KEY_SPEC_PROCESS_KEYRING);
	return k;
}

int aur_keyring_find(const char *uuid, int32_t *serial)
{
	char desc[AUR_KEY_DESC_MAX];
	long r;

	aur_key_desc(uuid, desc);
	r = keyctl_search(KEY_SPEC_USER_KEYRING, "logon", desc, 0);
	if (r < 0)
		r = keyctl_search(KEY_SPEC_PROCESS_KEYRING, "logon", desc, 0);
	if (r < 0)
		return -ENOKEY;		/* absent, or revoked: no usable key either way */
	*serial = (int32_t)r;
	return 0;
}

int aur_keyring_add(const char *uuid, const struct aur_secret *dek, int32_t *serial)
{
	char desc[AUR_KEY_DESC_MAX];
	int32_t ring, old;
	key_serial_t k;
	int e;

	if (aur_keyring_find(uuid, &old) == 0)
		return -EEXIST;
	ring = our_ring(true);
	if (ring < 0)
		return ring;
	aur_key_desc(uuid, desc);
	k = add_key("logon", desc, dek->data, dek->len, KEY_SPEC_PROCESS_KEYRING);
	if (k < 0)
		return -errno;
	if (keyctl_setperm(k, KEY_PERM) < 0 || keyctl_link(k, ring) < 0) {
		e = errno;
		keyctl_revoke(k);
		keyctl_unlink(k, KEY_SPEC_PROCESS_KEYRING);
		return -e;
	}
	*serial = k;
	return 0;
}

int aur_keyring_add_private(const char *uuid, const struct aur_secret *dek, int32_t *serial)
{
	char desc[AUR_KEY_DESC_MAX];
	int32_t old;
	key_serial_t k;

	if (aur_keyring_find(uuid, &old) == 0)
		return -EEXIST;
	aur_key_desc(uuid, desc);
	k = add_key("logon", desc, dek->data, dek->len, KEY_SPEC_PROCESS_KEYRING);
	if (k < 0)
		return -errno;
	if (keyctl_setperm(k, KEY_PERM) < 0) {
		int e = errno;

		keyctl_revoke(k);
		keyctl_unlink(k, KEY_SPEC_PROCESS_KEYRING);
		return -e;
	}
	*serial = k;
	return 0;
}

int aur_keyring_revoke(const char *uuid)
{
	int32_t k, ring;
	int r = -ENOKEY;

	ring = our_ring(false);
	while (aur_keyring_find(uuid, &k) == 0) {
		if (keyctl_revoke(k) < 0 && errno != EKEYREVOKED)
			return -errno;
		if (ring >= 0)
			keyctl_unlink(k, ring);
		keyctl_unlink(k, KEY_SPEC_PROCESS_KEYRING);
		r = 0;
	}
	return r;
}

void aur_keyring_detach_process(int32_t serial)
{
	keyctl_unlink(serial, KEY_SPEC_PROCESS_KEYRING);
}
