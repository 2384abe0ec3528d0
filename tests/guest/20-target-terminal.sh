#!/bin/bash
# dm-aurora terminal state: only the message 'terminal <reason>' makes a
# target terminal, from active or (the normal path) from inaccessible, with
# a recovery key pending or not.  Terminal is permanent: EIO, key wiped, one
# event, key set refused, 'inaccessible' changes nothing, resume works and
# I/O keeps failing, remove works; the data stays readable by a new table.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 27
dmesg_mark
tgt_modules

loop=$(tgt_loop 8)
sz=$(tgt_sectors "$loop")
tgt_rand "$TGT_TMP/p" 1024

# --- inaccessible (revoked), then terminal ------------------------------------
read -r desc kid < <(tgt_key term)
name=$(uniq aurora-term)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
tgt_write "$dev" "$TGT_TMP/p"
keyctl revoke "$kid"
ktap_check "revoked key: inaccessible key-revoked (not terminal)" \
	tgt_wait_state "$name" "inaccessible key-revoked key:wiped " 30
ev=$(tgt_events "$name")
timeout 60 dmsetup wait "$name" "$ev" >&2 &
waiter=$!
ktap_check "message 'terminal cmk-deleted' accepted" \
	dmsetup message "$name" 0 terminal cmk-deleted
ktap_result "status 'terminal cmk-deleted key:wiped' (the message's reason)" \
	"$(tgt_is "$name" "terminal cmk-deleted key:wiped "; echo $?)"
wait "$waiter"
ktap_result "dmsetup wait woke up on the terminal event" "$?"
ktap_result "dmsetup status: 4th word is 'terminal'" \
	"$([ "$(dmsetup status "$name" | cut -d' ' -f4)" = terminal ]; echo $?)"
ktap_check "kernel logs the terminal transition" \
	bash -c "dmesg | grep -q 'aurora: [0-9]*:[0-9]*: terminal: cmk-deleted'"
ktap_check "direct read fails with EIO" tgt_eio read "$dev"
ktap_check "direct write fails with EIO" tgt_eio write "$dev"
ev=$(tgt_events "$name")
ktap_check "message 'inaccessible' after terminal is accepted" \
	dmsetup message "$name" 0 inaccessible kms-back
ktap_result "... and changes nothing (terminal cmk-deleted, no event)" \
	"$(tgt_is "$name" "terminal cmk-deleted key:wiped " &&
	   [ "$(tgt_events "$name")" = "$ev" ]; echo $?)"
dmsetup message "$name" 0 terminal other >&2
ktap_result "terminal reason is sticky" \
	"$(tgt_is "$name" "terminal cmk-deleted "; echo $?)"
# A valid key with the same bytes revives nothing.
keyctl padd logon "$desc" @s < "$TGT_TMP/$desc.key" >&2
ktap_check "terminal mapping suspends" dmsetup suspend "$name"
ktap_check_fails "key set refused while terminal (valid key)" \
	dmsetup message "$name" 0 key set ":64:logon:$desc"
ktap_check "terminal mapping resumes" dmsetup resume "$name"
ktap_result "... still terminal, key wiped" \
	"$(tgt_is "$name" "terminal cmk-deleted key:wiped "; echo $?)"
ktap_check "... and reads fail with EIO" tgt_eio read "$dev"
ktap_check "dmsetup remove of a terminal mapping works" tgt_remove "$name"
# Data is intact for a new table (the agent would refuse; dm-crypt can read).
tgt_create "$name" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_check "data written before is intact (dm-crypt reads it)" \
	cmp "$TGT_TMP/p" "$TGT_TMP/r"
tgt_remove "$name"

# --- terminal while a recovery is pending -------------------------------------
read -r desc kid < <(tgt_key pend)
name=$(uniq aurora-pend)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
dmsetup message "$name" 0 inaccessible cmk-disabled >&2
dmsetup suspend "$name"
dmsetup message "$name" 0 key set ":64:logon:$desc" >&2
ktap_result "inaccessible, suspended, key set: recovery pending (key:loaded)" \
	"$(tgt_is "$name" "inaccessible cmk-disabled key:loaded "; echo $?)"
ktap_check "message 'terminal window-expired' while suspended" \
	dmsetup message "$name" 0 terminal window-expired
ktap_result "... the pending key is wiped: 'terminal window-expired key:wiped'" \
	"$(tgt_is "$name" "terminal window-expired key:wiped "; echo $?)"
ktap_check "... resume works" dmsetup resume "$name"
ktap_result "... and the target stays terminal, writes fail with EIO" \
	"$(tgt_is "$name" "terminal window-expired " && tgt_eio write "$dev"; echo $?)"
tgt_remove "$name"

# --- terminal from active, reason sanitized and bounded ------------------------
read -r desc kid < <(tgt_key msg)
name=$(uniq aurora-msg)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
ev=$(tgt_events "$name")
dmsetup message "$name" 0 terminal 'cmk-disabled/by:ops!' >&2
ktap_result "terminal from active: sanitized reason, key wiped, event" \
	"$(tgt_is "$name" "terminal cmk-disabled_by:ops_ key:wiped " &&
	   [ "$(tgt_events "$name")" -gt "$ev" ]; echo $?)"
ktap_check_fails "messages with bad arity are refused" dmsetup message "$name" 0 terminal a b
tgt_remove "$name"
name=$(uniq aurora-msg2)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
long=$(head -c 200 /dev/zero | tr '\0' 'x')
dmsetup message "$name" 0 terminal "$long" >&2
r=$(tgt_status "$name" | cut -d' ' -f2)
ktap_result "long reason is bounded (${#r} chars)" "$([ "${#r}" -eq 63 ]; echo $?)"
tgt_remove "$name"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
