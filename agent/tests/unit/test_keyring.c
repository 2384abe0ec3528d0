// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel keyring handling of volume keys: added as logon keys, unreadable,
 * found and revoked by another process (as `aurora close` and the watching
 * agent do).  Skipped where the kernel keyring is not available.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

#include "volume/keyring.h"
#include "util/util.h"
#include "ktap.h"

int main(void)
{
	struct aur_secret *dek = aur_secret_alloc(64);
	char uuid[37], desc[AUR_KEY_DESC_MAX], buf[256];
	int32_t serial = 0, s2 = 0;
	pid_t pid;
	int r, st;

	if (!dek || keyctl_get_keyring_ID(KEY_SPEC_USER_KEYRING, 0) < 0) {
		printf("1..0 # SKIP no kernel keyring or no lockable memory\n");
		return 0;
	}
	memset(dek->data, 0x5a, 64);
	aur_uuid_generate(uuid);
	aur_key_desc(uuid, desc);
	ok(!strcmp(desc + 7, uuid) && !strncmp(desc, "aurora:", 7), "key description aurora:<uuid>");
	ok(aur_keyring_find(uuid, &serial) == -ENOKEY, "no key before open");
	r = aur_keyring_add(uuid, dek, &serial);
	ok(r == 0 && serial > 0, "logon key added (%d)", r);
	ok(aur_keyring_add(uuid, dek, &s2) == -EEXIST, "a second add for the same volume is refused");
	ok(keyctl_describe(serial, buf, sizeof(buf)) > 0 && !strncmp(buf, "logon;", 6) && strstr(buf, desc),
	   "key type logon: %s", buf);
	ok(keyctl_read(serial, buf, sizeof(buf)) < 0, "the key cannot be read back from userspace");
	ok(keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", AUR_KEYRING_NAME, 0) > 0,
	   "the agent's keyring is linked under the user keyring");
	ok(keyctl_search(KEY_SPEC_PROCESS_KEYRING, "logon", desc, 0) == serial,
	   "during open the key is in the process keyring (request_key finds it)");
	aur_keyring_detach_process(serial);
	ok(keyctl_search(KEY_SPEC_PROCESS_KEYRING, "logon", desc, 0) < 0 &&
	   aur_keyring_find(uuid, &s2) == 0 && s2 == serial, "after open: only in the agent's keyring");

	pid = fork();
	if (pid == 0) {
		int32_t k;

		/* Another process: `aurora close` or the watching agent. */
		if (aur_keyring_find(uuid, &k) != 0)
			_exit(2);
		_exit(aur_keyring_revoke(uuid) == 0 ? 0 : 3);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "another process finds and revokes the key (status %d)",
	   WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	ok(aur_keyring_find(uuid, &s2) == -ENOKEY, "revoked key is unlinked");
	ok(keyctl_describe(serial, buf, sizeof(buf)) < 0, "the key is revoked or gone");
	ok(aur_keyring_revoke(uuid) == -ENOKEY, "revoking again: no key (idempotent)");
	aur_secret_free(dek);
	return ktap_done();
}
