#!/bin/bash
# The watching agent with recovery_window = 0 and confirm_passes = 1: a CMK
# lost for good (disabled, scheduled for deletion, the account's access
# revoked) makes its volume terminal as soon as the loss is confirmed; a KMS
# that cannot be reached does not.  Terminal is sticky: re-enabling the CMK
# revives nothing, open is refused (exit 6, naming aurora restore); 'dmsetup
# wait' wakes; a filesystem on top sees EIO and unmounts.  The inaccessible
# state, confirm_passes and the recovery window: 52-verdicts.sh.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 39
dmesg_mark
ag_modules >&2
printf 'interval = 1\nconfirm_passes = 1\nrecovery_window = 0\n' >> "$AURORA_CONF"
OTHER=444455556666

key_id() { aurora kms create-key --description "$1" --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
key_arn() { aurora kms describe-key --key-id "$1" --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'; }
is_terminal() { [ "$(dmsetup status "$1" | awk '{ print $4 }')" = terminal ]; }
reads_ok() { dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct status=none; }
read_eio() { dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct 2>&1 | grep -q 'Input/output error'; }
write_fails() { ! dd if=/dev/zero of="/dev/mapper/$1" bs=4k count=1 oflag=direct status=none 2>/dev/null; }
hdr_terminal() {
	local j
	j=$(aurora status "$1" --json | tr -d ' \n')
	[[ "$j" == *'"state":"terminal"'* && "$j" == *"\"terminal_reason\":\"$2\""* ]]
}
open_rc() { aurora open "$1" "$2" >&2; echo $?; }

# new_volume KEY [GLOBAL OPTS...]: format + open a 16 MiB volume; sets NAME LOOP UUID.
new_volume() {
	local k=$1
	shift
	LOOP=$(ag_loop 16) && NAME=$(uniq term) || return 1
	ag_cleanup_on_exit "$NAME"
	aurora "$@" format "$LOOP" --kms-key-id "$k" --yes >&2 &&
		aurora "$@" open "$LOOP" "$NAME" >&2 || return 1
	UUID=$(ag_uuid "$LOOP")
}

# --- Disabled CMK ------------------------------------------------------
k=$(key_id disable)
ktap_check "disable: volume formatted and opened" new_volume "$k"
ktap_check "disable: agent pass with the CMK enabled succeeds" aurora agent --once
ktap_check_fails "disable: ... and leaves the volume active" is_terminal "$NAME"
mkdir -p "/mnt/$NAME"
ktap_check "disable: ext4 on top, mounted" bash -c "mkfs.ext4 -q /dev/mapper/$NAME && mount /dev/mapper/$NAME /mnt/$NAME && echo data > /mnt/$NAME/f && sync"
ev=$(dmsetup info -c --noheadings -o events "$NAME" | tr -d ' ')
timeout 30 dmsetup wait "$NAME" "$ev" >&2 &
waiter=$!
ktap_check "disable: disable-key" aurora kms disable-key --key-id "$k"
ktap_result "disable: agent pass after disable-key exits 6 (made terminal)" \
	"$([ "$(ag_rc aurora agent --once)" = 6 ]; echo $?)"
ktap_check "disable: dmsetup status says terminal" is_terminal "$NAME"
wait "$waiter"
ktap_result "disable: dmsetup wait woke on the terminal event" $?
ktap_check "disable: reads fail with EIO" read_eio "$NAME"
ktap_check "disable: writes fail" write_fails "$NAME"
ktap_check_fails "disable: the filesystem sees the error (write+sync fails)" \
	bash -c "dd if=/dev/urandom of=/mnt/$NAME/g bs=64k count=4 conv=fsync status=none"
ktap_check "disable: the filesystem unmounts" umount "/mnt/$NAME"
ktap_check "disable: header says terminal (DisabledException)" hdr_terminal "$LOOP" DisabledException
ktap_check "disable: the kernel key is revoked" ag_no_key "$UUID"
ktap_check "disable: re-enable the CMK" aurora kms enable-key --key-id "$k"
aurora agent --once >&2
ktap_check "disable: still terminal after re-enabling and another pass" is_terminal "$NAME"
ktap_check "disable: close of a terminal volume works" aurora close "$NAME"
ktap_result "disable: open refused with exit 6 (restore from a backup)" \
	"$([ "$(open_rc "$LOOP" "$NAME")" = 6 ]; echo $?)"
ktap_check "disable: the refusal names aurora restore" \
	bash -c "aurora open $LOOP $NAME 2>&1 | grep -q 'aurora restore'"

# --- Scheduled for deletion ----------------------------------------------
k=$(key_id deletion)
ktap_check "deletion: volume formatted and opened" new_volume "$k"
ktap_check "deletion: schedule-key-deletion (7 days)" \
	aurora kms schedule-key-deletion --key-id "$k" --pending-window-in-days 7
aurora agent --once >&2
ktap_check "deletion: terminal" is_terminal "$NAME"
ktap_check "deletion: header reason KMSInvalidStateException" hdr_terminal "$LOOP" KMSInvalidStateException
ktap_check "deletion: close" aurora close "$NAME"

# --- The account's access revoked (cross-account CMK, by ARN) -------------
k=$(key_id shared)
arn=$(key_arn "$k")
aurora kms put-key-policy --key-id "$k" --allowed-accounts "111122223333,$OTHER" >&2
ktap_check "policy: account $OTHER formats and opens with the shared CMK (by ARN)" \
	new_volume "$arn" --account "$OTHER"
ktap_check "policy: agent pass as $OTHER: active" aurora --account "$OTHER" agent --once
ktap_check_fails "policy: not terminal while allowed" is_terminal "$NAME"
ktap_check "policy: revoke $OTHER's access" aurora kms revoke-access --key-id "$k" --grantee-account "$OTHER"
aurora --account "$OTHER" agent --once >&2
ktap_check "policy: terminal (AccessDeniedException)" hdr_terminal "$LOOP" AccessDeniedException
ktap_check "policy: close" aurora close "$NAME"

# --- KMS unreachable: never terminal -------------------------------------
k=$(key_id unreachable)
ktap_check "unreachable: volume formatted and opened" new_volume "$k"
ks=$AG_TMP/ks
mv "$ks" "$ks.away"
aurora agent --once --retries 1 >&2
rc=$?
# A keystore that is not there is a configuration problem (not mounted?),
# never a verdict: exit 10.
ktap_result "unreachable: agent pass with the keystore gone exits 10 (configuration error, exit $rc)" \
	"$([ $rc = 10 ]; echo $?)"
ktap_check_fails "unreachable: the volume is not terminal" is_terminal "$NAME"
ktap_check "unreachable: I/O still works" reads_ok "$NAME"
rm -rf "$ks"  # the empty mount point the agent saw
mv "$ks.away" "$ks"
ktap_check "unreachable: KMS back: agent pass succeeds" aurora agent --once
ktap_check_fails "unreachable: still active" is_terminal "$NAME"

# --- The daemon: terminal within the interval ---------------------------
aurora agent --interval 1 > "$AG_TMP/agent.log" 2>&1 &
agent=$!
on_exit "kill $agent 2>/dev/null"
sleep 2
aurora kms disable-key --key-id "$k" >&2
t0=$(date +%s)
for _ in $(seq 1 120); do is_terminal "$NAME" && break; sleep 0.5; done
t1=$(date +%s)
note "terminal $((t1 - t0)) s after disable-key (interval 1 s)"
ktap_check "daemon: the running agent makes the volume terminal after disable-key" \
	is_terminal "$NAME"
kill "$agent"
ktap_check "daemon: the agent stops cleanly on SIGTERM" wait "$agent"
aurora close "$NAME" >&2

if dmesg_since_mark | grep -E 'BUG:|WARNING:|Call Trace' >&2; then
	ktap_fail "no kernel warnings"
else
	ktap_ok "no kernel warnings"
fi
