#!/bin/bash
# The agent's state machine on the embedded KMS (issue 16): a lost CMK
# (disabled, scheduled for deletion, the account's access revoked) makes its
# volume inaccessible after confirm_passes (3) Lost passes, not before: EIO,
# kernel key revoked, header inaccessible with its recovery window.  Access
# back within the window: active again, data written before intact (sha256
# of a file on ext4, fsck -n clean).  Window over: terminal, open refused
# (exit 6).  aurora recover and aurora open of an inaccessible volume.  A
# kernel-only event (the keyring key revoked by hand) while the CMK is fine:
# the agent brings the mapping back, the header is never touched.  Finally
# the running agent (interval 1 s): latencies from disable-key to EIO and
# from enable-key to working I/O are measured (notes, not asserted).
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 67
dmesg_mark
ag_modules >&2
printf 'interval = 1\n' >> "$AURORA_CONF"
# The expiry case: a 20 s window, in a configuration of its own.
SHORT=$AG_TMP/short.conf
cp "$AURORA_CONF" "$SHORT"
printf 'recovery_window = 20s\n' >> "$SHORT"
OTHER=444455556666

key_id() { aurora kms create-key --description "$1" --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
key_arn() { aurora kms describe-key --key-id "$1" --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'; }
kstate() { dmsetup status "$1" | awk '{ print $4 }'; }
is_k() { [ "$(kstate "$1")" = "$2" ]; }
reads_ok() { dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct status=none; }
read_eio() { dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct 2>&1 | grep -q 'Input/output error'; }
sjson() { aurora "${@:2}" status "$1" --json | tr -d ' \n'; }
# hdr_is DEV STATE [REASON]: the header's state (and reason) in status --json.
hdr_is() {
	local j
	j=$(sjson "$1")
	[[ "$j" == *"\"state\":\"$2\""* ]] || return 1
	[ -z "${3:-}" ] || [[ "$j" == *"\"state_reason\":\"$3\""* ]]
}
has_json() { [[ "$(sjson "$1")" == *"$2"* ]]; }
agent_rc() { ag_rc aurora "$@" agent --once; }
both_active() { is_k "$1" active && hdr_is "$2" active; }
hdr_recoverable() { hdr_is "$1" inaccessible "$2" && has_json "$1" '"recoverable_until":"'; }
pass_verified() {
	aurora agent --once >&2 && has_json "$1" '"verification":"ok"' &&
		has_json "$1" '"last_verified":"'
}
revoke_by_hand() { keyctl revoke "$(keyctl search @u logon "aurora:$1")"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# new_volume KEY [GLOBAL OPTS...]: format + open a 32 MiB volume with ext4
# and a file on it (its sha256 in $SUM), mounted; sets NAME LOOP UUID.
new_volume() {
	local k=$1
	shift
	LOOP=$(ag_loop 32) && NAME=$(uniq verd) || return 1
	ag_cleanup_on_exit "$NAME"
	aurora "$@" format "$LOOP" --kms-key-id "$k" --yes >&2 &&
		aurora "$@" open "$LOOP" "$NAME" >&2 || return 1
	UUID=$(ag_uuid "$LOOP")
	mkdir -p "/mnt/$NAME"
	mkfs.ext4 -q -E lazy_itable_init=0,lazy_journal_init=0 "/dev/mapper/$NAME" && mount "/dev/mapper/$NAME" "/mnt/$NAME" &&
		dd if=/dev/urandom of="/mnt/$NAME/data" bs=64k count=64 status=none && sync || return 1
	SUM=$(sha256sum < "/mnt/$NAME/data")
}

# data_intact NAME: remount, sha256 of the file as before, fsck -n clean.
data_intact() {
	umount "/mnt/$1" 2>/dev/null
	fsck.ext4 -n -f "/dev/mapper/$1" >&2 || return 1
	mount "/dev/mapper/$1" "/mnt/$1" || return 1
	[ "$(sha256sum < "/mnt/$1/data")" = "$SUM" ]
}

# three_passes NAME DEV REASON [GLOBAL OPTS...]: passes 1 and 2 leave the
# volume active, pass 3 makes it inaccessible (exit 11).
three_passes() {
	local n=$1 d=$2 why=$3 rc
	shift 3
	rc=$(agent_rc "$@")
	ktap_result "$n: pass 1 after the loss: exit 0, still active, I/O works" \
		"$([ "$rc" = 0 ] && is_k "$NAME" active && reads_ok "$NAME" && hdr_is "$d" active; echo $?)"
	agent_rc "$@" > /dev/null
	rc=$(agent_rc "$@")
	ktap_result "$n: pass 3: exit 11, the target inaccessible" \
		"$([ "$rc" = 11 ] && is_k "$NAME" inaccessible; echo $?)"
	ktap_check "$n: header inaccessible ($why) with recoverable_until" hdr_recoverable "$d" "$why"
	ktap_check "$n: reads fail with EIO" read_eio "$NAME"
	ktap_check "$n: the kernel key is revoked" ag_no_key "$UUID"
}

# --- Disabled CMK, re-enabled within the window --------------------------------
k=$(key_id disable)
ktap_check "disable: volume with ext4 and data" new_volume "$k"
ktap_check "disable: a pass with the CMK enabled: verification ok, last_verified" \
	pass_verified "$LOOP"
ktap_check "disable: disable-key" aurora kms disable-key --key-id "$k"
three_passes disable "$LOOP" DisabledException
ktap_check "disable: status says verification lost" has_json "$LOOP" '"verification":"lost"'
ktap_check "disable: enable-key within the window" aurora kms enable-key --key-id "$k"
ktap_result "disable: next pass recovers (exit 0)" "$([ "$(agent_rc)" = 0 ]; echo $?)"
ktap_check "disable: target active again" is_k "$NAME" active
ktap_check "disable: header active again" hdr_is "$LOOP" active
ktap_check "disable: data written before intact, fsck clean" data_intact "$NAME"
ktap_check "disable: new writes work" \
	bash -c "dd if=/dev/urandom of=/mnt/$NAME/new bs=64k count=16 conv=fsync status=none"
umount "/mnt/$NAME"; aurora close "$NAME" >&2

# --- Scheduled for deletion, cancelled within the window -----------------------
k=$(key_id deletion)
ktap_check "deletion: volume with ext4 and data" new_volume "$k"
ktap_check "deletion: schedule-key-deletion" \
	aurora kms schedule-key-deletion --key-id "$k" --pending-window-in-days 7
three_passes deletion "$LOOP" KMSInvalidStateException
ktap_check "deletion: cancel-key-deletion, enable-key" \
	bash -c "aurora kms cancel-key-deletion --key-id $k >&2 && aurora kms enable-key --key-id $k >&2"
aurora agent --once >&2
ktap_check "deletion: active again (target and header)" both_active "$NAME" "$LOOP"
ktap_check "deletion: data intact, fsck clean" data_intact "$NAME"
umount "/mnt/$NAME"; aurora close "$NAME" >&2

# --- The account's access revoked, granted back; aurora recover ----------------
k=$(key_id shared)
arn=$(key_arn "$k")
aurora kms put-key-policy --key-id "$k" --allowed-accounts "111122223333,$OTHER" >&2
ktap_check "policy: account $OTHER's volume on the shared CMK" new_volume "$arn" --account "$OTHER"
ktap_check "policy: revoke-access" aurora kms revoke-access --key-id "$k" --grantee-account "$OTHER"
three_passes policy "$LOOP" AccessDeniedException --account "$OTHER"
ktap_result "policy: aurora recover while still denied: exit 11" \
	"$([ "$(ag_rc aurora --account "$OTHER" recover "$NAME")" = 11 ]; echo $?)"
ktap_check "policy: ... and the volume stays inaccessible" is_k "$NAME" inaccessible
ktap_check "policy: grant-access" aurora kms grant-access --key-id "$k" --grantee-account "$OTHER"
ktap_result "policy: aurora recover: exit 0" \
	"$([ "$(ag_rc aurora --account "$OTHER" recover "$NAME")" = 0 ]; echo $?)"
ktap_check "policy: active again (target and header)" both_active "$NAME" "$LOOP"
ktap_check "policy: data intact, fsck clean" data_intact "$NAME"
umount "/mnt/$NAME"; aurora close "$NAME" >&2

# --- aurora open of an inaccessible volume ----------------------------------
k=$(key_id reopen)
ktap_check "reopen: volume with ext4 and data" new_volume "$k"
umount "/mnt/$NAME"
aurora kms disable-key --key-id "$k" >&2
for _ in 1 2 3; do aurora agent --once >&2; done
ktap_check "reopen: inaccessible after three passes" hdr_is "$LOOP" inaccessible DisabledException
ktap_check "reopen: close of an inaccessible volume works" aurora close "$NAME"
ktap_result "reopen: open while the CMK is disabled: exit 11" \
	"$([ "$(ag_rc aurora open "$LOOP" "$NAME")" = 11 ]; echo $?)"
ktap_check "reopen: the refusal names the reason and recoverable-until" \
	bash -c "aurora open $LOOP $NAME 2>&1 | grep 'DisabledException' | grep -q 'recoverable until'"
aurora kms enable-key --key-id "$k" >&2
ktap_check "reopen: open after enable-key works" aurora open "$LOOP" "$NAME"
ktap_check "reopen: header active again" hdr_is "$LOOP" active
ktap_check "reopen: data intact, fsck clean" data_intact "$NAME"
umount "/mnt/$NAME"; aurora close "$NAME" >&2

# --- Kernel-only event: the keyring key revoked by hand ----------------------
k=$(key_id kernelonly)
ktap_check "kernel-only: volume with ext4 and data" new_volume "$k"
ktap_check "kernel-only: keyctl revoke of the volume's key" revoke_by_hand "$UUID"
for _ in $(seq 1 50); do is_k "$NAME" inaccessible && break; reads_ok "$NAME" 2>/dev/null; sleep 0.2; done
ktap_check "kernel-only: the target is inaccessible (key-revoked)" \
	bash -c "dmsetup status $NAME | grep -q 'inaccessible key-revoked'"
ktap_check "kernel-only: header still active" hdr_is "$LOOP" active
ktap_result "kernel-only: agent pass: exit 0" "$([ "$(agent_rc)" = 0 ]; echo $?)"
ktap_check "kernel-only: the agent brought the mapping back" is_k "$NAME" active
ktap_check "kernel-only: header active, never terminal nor inaccessible" hdr_is "$LOOP" active
ktap_check "kernel-only: data intact, fsck clean" data_intact "$NAME"
umount "/mnt/$NAME"; aurora close "$NAME" >&2

# --- Window over: terminal ----------------------------------------------------
k=$(key_id expiry)
ktap_check "expiry: volume with ext4 and data (recovery_window 20s)" new_volume "$k"
umount "/mnt/$NAME"
aurora kms disable-key --key-id "$k" >&2
for _ in 1 2 3; do aurora --config "$SHORT" agent --once >&2; done
ktap_check "expiry: inaccessible" hdr_is "$LOOP" inaccessible DisabledException
for _ in $(seq 1 120); do
	hdr_is "$LOOP" terminal && break
	aurora --config "$SHORT" agent --once >&2
	sleep 1
done
ktap_check "expiry: window over with the CMK still disabled: header terminal" \
	hdr_is "$LOOP" terminal DisabledException
ktap_check "expiry: the target is terminal" is_k "$NAME" terminal
aurora kms enable-key --key-id "$k" >&2
aurora --config "$SHORT" agent --once >&2
ktap_check "expiry: re-enabling afterwards revives nothing" is_k "$NAME" terminal
ktap_check "expiry: close" aurora close "$NAME"
ktap_result "expiry: open refused with exit 6" \
	"$([ "$(ag_rc aurora open "$LOOP" "$NAME")" = 6 ]; echo $?)"

# --- The running agent: latencies ---------------------------------------------
k=$(key_id daemon)
ktap_check "daemon: volume with ext4 and data" new_volume "$k"
aurora agent --interval 1 > "$AG_TMP/agent.log" 2>&1 &
agent=$!
on_exit "kill $agent 2>/dev/null"
sleep 2
aurora kms disable-key --key-id "$k" >&2
t0=$(date +%s.%N)
for _ in $(seq 1 600); do read_eio "$NAME" && break; sleep 0.1; done
t1=$(date +%s.%N)
ktap_check "daemon: the running agent makes the volume inaccessible" is_k "$NAME" inaccessible
note "LATENCY $(uname -r): disable-key -> EIO $(elapsed "$t0" "$t1") s (interval 1 s, confirm_passes 3)"
aurora kms enable-key --key-id "$k" >&2
t0=$(date +%s.%N)
for _ in $(seq 1 600); do reads_ok "$NAME" 2>/dev/null && break; sleep 0.1; done
t1=$(date +%s.%N)
ktap_check "daemon: the running agent recovers the volume" is_k "$NAME" active
note "LATENCY $(uname -r): enable-key -> I/O works $(elapsed "$t0" "$t1") s (interval 1 s)"
ktap_check "daemon: data intact, fsck clean" data_intact "$NAME"
kill "$agent"
ktap_check "daemon: the agent stops cleanly on SIGTERM" wait "$agent"
grep -E 'INACCESSIBLE|recovered' "$AG_TMP/agent.log" | sed 's/^/# agent: /'
umount "/mnt/$NAME"; aurora close "$NAME" >&2

if dmesg_since_mark | grep -E 'BUG:|WARNING:|Call Trace' >&2; then
	ktap_fail "no kernel warnings"
else
	ktap_ok "no kernel warnings"
fi
