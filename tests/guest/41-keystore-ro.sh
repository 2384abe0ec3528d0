#!/bin/bash
# Embedded keystore safety (issue 16): a read-only keystore (read-only bind
# mount, as ProtectSystem=strict makes it) serves `aurora open`, `aurora
# agent --once` and reads; an empty mount point in place of the keystore
# (its filesystem not mounted) gets nothing created in it by reads, and the
# agent does not mark the volume lost.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 22

ktap_check "dm-aurora module loads" ag_modules
loop=$(ag_loop 32)
name=$(uniq ksro)
ag_cleanup_on_exit "$name"
dev=/dev/mapper/$name
ks=$AG_TMP/ks

state_is() { aurora status "$name" --json 2>/dev/null | grep -q "\"state\":\"$1\""; }
io_ok() {
	dd if=/dev/urandom of="$AG_TMP/blk" bs=64k count=1 status=none &&
	dd if="$AG_TMP/blk" of="$dev" bs=64k count=1 seek=3 oflag=direct conv=notrunc status=none &&
	cmp "$AG_TMP/blk" <(dd if="$dev" bs=64k skip=3 count=1 iflag=direct status=none)
}
empty_dir() { [ -z "$(ls -A "$1")" ]; }

ktap_check "format (creates the keystore and the default CMK)" aurora format "$loop" --yes
ktap_check "the keystore holds keystore.json and master.key" \
	test -s "$ks/keystore.json" -a -s "$ks/master.key"

# --- read-only keystore --------------------------------------------------
mount --bind "$ks" "$ks" && mount -o remount,bind,ro "$ks"
on_exit "umount $ks 2>/dev/null"
ktap_check_fails "the keystore is now read-only" touch "$ks/probe"
ktap_check "open with a read-only keystore" aurora open "$loop" "$name"
ktap_check "I/O on the volume" io_ok
ktap_check "agent --once with a read-only keystore succeeds" aurora agent --once
ktap_check "the volume stays active" state_is active
ktap_check "status" aurora status "$name"
ktap_check "kms describe-key alias/aurora/default on the read-only keystore" \
	aurora kms describe-key --key-id alias/aurora/default
ktap_check "kms list-keys on the read-only keystore" aurora kms list-keys
ktap_check "close" aurora close "$name"
umount "$ks"
ktap_check "reopen with the keystore writable again" aurora open "$loop" "$name"

# --- an empty mount point in place of the keystore -----------------------
mkdir -p "$AG_TMP/empty"
chmod 0700 "$AG_TMP/empty"
mount --bind "$AG_TMP/empty" "$ks"
ktap_check "the keystore path is now an empty mount point" empty_dir "$ks"
rc=$(ag_rc aurora kms describe-key --key-id alias/aurora/default)
ktap_result "kms describe-key alias/aurora/default fails (exit $rc)" "$([ "$rc" -ne 0 ]; echo $?)"
ktap_check "... and creates nothing in the empty keystore" empty_dir "$ks"
rc=$(ag_rc aurora agent --once)
note "agent --once with the empty keystore: exit $rc"
ktap_result "agent --once does not succeed silently (exit $rc)" "$([ "$rc" -ne 0 ]; echo $?)"
ktap_check "... creates nothing in the empty keystore" empty_dir "$ks"
ktap_check_fails "... does not mark the volume terminal" state_is terminal
ktap_check "I/O still works" io_ok
umount "$ks"
ktap_check "the keystore back: agent --once succeeds" aurora agent --once
ktap_check "still active" state_is active
aurora close "$name" >&2
