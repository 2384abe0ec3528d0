#!/bin/bash
# dm-aurora inaccessible state: the keyring key revoked (idle and under fio),
# expired or invalidated, or the message 'inaccessible <reason>': EIO for
# reads and writes, key wiped and its reference dropped, a dm event; then
# the recovery an operator runs (suspend, add the key again, key set,
# resume): active again, data intact (fio --verify, a checksum, and
# dm-crypt reading the volume), new writes work.  key set while the key in
# use is revoked but not yet noticed is refused and makes the target
# inaccessible; a second key set recovers.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 52
dmesg_mark
tgt_modules

loop=$(tgt_loop 16)
sz=$(tgt_sectors "$loop")
# Dead keys are collected gc_delay seconds after they die, once nothing
# holds them: the target must not.
echo 1 > /proc/sys/kernel/keys/gc_delay

# fio_data write|verify DEV: 4 MiB at offset 4 MiB written with crc32c
# verification headers, or only verified (--verify_only) against them.
fio_data() {
	local extra=--do_verify=0
	[ "$1" = verify ] && extra=--verify_only
	fio --name=data --filename="$2" --rw=write --bs=64k --offset=4M \
		--size=4M --direct=1 --ioengine=psync --verify=crc32c \
		--verify_fatal=1 "$extra" --output=/dev/stderr >&2
}

# recover NAME KEYFILE BASE: the operator's recovery: suspend, add a logon
# key with the payload of KEYFILE under a new description, key set, resume.
# Leaves the new description in $rdesc.
recover() {
	dmsetup suspend "$1" || return 1
	read -r rdesc _ < <(tgt_key "$3" "$2") || return 1
	dmsetup message "$1" 0 key set ":64:logon:$rdesc" || return 1
	tgt_is "$1" "inaccessible " || return 1
	dmsetup resume "$1"
}

# --- revocation while idle, then recovery ------------------------------------
read -r desc kid < <(tgt_key inacc)
keyf=$TGT_TMP/$desc.key
name=$(uniq aurora-inacc)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
tgt_rand "$TGT_TMP/p" 1024
tgt_write "$dev" "$TGT_TMP/p"
ktap_check "fio writes 4 MiB with verification headers" fio_data write "$dev"
ev=$(tgt_events "$name")
timeout 60 dmsetup wait "$name" "$ev" >&2 &
waiter=$!
keyctl revoke "$kid"
# The target polls its key once a second while idle.
ktap_check "idle revocation: status 'inaccessible key-revoked key:wiped'" \
	tgt_wait_state "$name" "inaccessible key-revoked key:wiped " 30
wait "$waiter"
ktap_result "dmsetup wait woke up on the event" "$?"
ktap_result "dmsetup status: 4th word is 'inaccessible'" \
	"$([ "$(dmsetup status "$name" | cut -d' ' -f4)" = inaccessible ]; echo $?)"
ktap_check "direct read fails with EIO" tgt_eio read "$dev"
ktap_check "direct write fails with EIO" tgt_eio write "$dev"
n=$(tgt_status "$name" | sed -n 's/.*terminal_eio:\([0-9]*\).*/\1/p')
ktap_result "terminal_eio counts the failed bios ($n)" "$([ "${n:-0}" -ge 2 ]; echo $?)"
ktap_check "kernel logs the transition" \
	bash -c "dmesg | grep -q 'aurora: [0-9]*:[0-9]*: inaccessible: key-revoked'"
ktap_check_fails "key set refused while not suspended" \
	dmsetup message "$name" 0 key set ":64:logon:$desc"
ktap_check "suspend while inaccessible" dmsetup suspend "$name"
ktap_check "resume without key set works" dmsetup resume "$name"
ktap_result "... the target stays inaccessible" \
	"$(tgt_is "$name" "inaccessible key-revoked key:wiped "; echo $?)"
ktap_check "... and reads fail with EIO" tgt_eio read "$dev"
# The recovery: the same 64 bytes, added again (same description).
dmsetup suspend "$name"
keyctl padd logon "$desc" @s < "$keyf" >&2
ktap_check "suspended: key set with the key added again accepted" \
	dmsetup message "$name" 0 key set ":64:logon:$desc"
ktap_result "... status 'inaccessible key-revoked key:loaded' until resume" \
	"$(tgt_is "$name" "inaccessible key-revoked key:loaded "; echo $?)"
ev=$(tgt_events "$name")
ktap_check "resume after key set" dmsetup resume "$name"
ktap_result "status back to 'active key:loaded'" \
	"$(tgt_is "$name" "active key:loaded "; echo $?)"
ktap_result "the recovery raised an event" \
	"$([ "$(tgt_events "$name")" -gt "$ev" ]; echo $?)"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_check "data written before the revocation reads back intact" \
	cmp "$TGT_TMP/p" "$TGT_TMP/r"
ktap_check "fio --verify_only: the 4 MiB written before verify" fio_data verify "$dev"
tgt_rand "$TGT_TMP/p2" 256
tgt_write "$dev" "$TGT_TMP/p2" $((2 * 1024 * 1024))
tgt_read "$dev" "$TGT_TMP/r2" $((256 * 1024)) $((2 * 1024 * 1024))
ktap_check "new writes work after the recovery" cmp "$TGT_TMP/p2" "$TGT_TMP/r2"
tgt_remove "$name"
tgt_create "$name" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
tgt_read "$dev" "$TGT_TMP/r2" $((256 * 1024)) $((2 * 1024 * 1024))
ktap_result "dm-crypt (same key) reads what was written before and after" \
	"$(cmp "$TGT_TMP/p" "$TGT_TMP/r" >&2 && cmp "$TGT_TMP/p2" "$TGT_TMP/r2" >&2; echo $?)"
ktap_check "fio --verify_only through dm-crypt" fio_data verify "$dev"
tgt_remove "$name"

# --- expiry: the key leaves memory; recovery under a new description ---------
read -r desc kid < <(tgt_key expire)
keyf=$TGT_TMP/$desc.key
name=$(uniq aurora-expire)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
fio_data write "$dev"
ev=$(tgt_events "$name")
keyctl timeout "$kid" 1
ktap_check "expired key: 'inaccessible key-expired key:wiped'" \
	tgt_wait_state "$name" "inaccessible key-expired key:wiped " 30
ktap_result "an event was raised" "$([ "$(tgt_events "$name")" -gt "$ev" ]; echo $?)"
ktap_result "the expired key is gone from /proc/keys while the table exists" \
	"$(tgt_wait_for 30 eval "! tgt_key_in_proc $kid"; echo $?)"
ktap_check "recovery: suspend, new logon key (same bytes), key set, resume" \
	recover "$name" "$keyf" expire-new
ktap_result "... active key:loaded" "$(tgt_is "$name" "active key:loaded "; echo $?)"
ktap_check "... fio --verify_only: data intact" fio_data verify "$dev"
ktap_result "... the table names the new key" \
	"$(dmsetup table "$name" | grep -q ":64:logon:$rdesc "; echo $?)"
tgt_remove "$name"

# --- invalidation ------------------------------------------------------------
read -r desc kid < <(tgt_key inval)
name=$(uniq aurora-inval)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
keyctl invalidate "$kid"
ktap_check "invalidated key: 'inaccessible key-invalidated key:wiped'" \
	tgt_wait_state "$name" "inaccessible key-invalidated key:wiped " 30
ktap_check "... reads fail with EIO" tgt_eio read "/dev/mapper/$name"
tgt_remove "$name"

# --- the message 'inaccessible <reason>' ---------------------------------------
read -r desc kid < <(tgt_key msg)
name=$(uniq aurora-msg)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
tgt_write "$dev" "$TGT_TMP/p"
ev=$(tgt_events "$name")
ktap_check "message 'inaccessible <reason>' accepted" \
	dmsetup message "$name" 0 inaccessible 'cmk-disabled/by:ops!'
ktap_check "status 'inaccessible <sanitized reason> key:wiped'" \
	tgt_wait_state "$name" "inaccessible cmk-disabled_by:ops_ key:wiped " 30
ev2=$(tgt_events "$name")
ktap_result "the message raised an event" "$([ "$ev2" -gt "$ev" ]; echo $?)"
ktap_check "writes fail with EIO" tgt_eio write "$dev"
ktap_check "a second 'inaccessible' message is accepted" \
	dmsetup message "$name" 0 inaccessible other
ktap_result "... keeps the first reason and raises no second event" \
	"$(tgt_is "$name" "inaccessible cmk-disabled_by:ops_ " &&
	   [ "$(tgt_events "$name")" = "$ev2" ]; echo $?)"
ktap_check_fails "messages with bad arity are refused" \
	dmsetup message "$name" 0 inaccessible a b
# The key in the keyring is still valid: the agent's recovery after the KMS
# came back is key set + resume.
dmsetup suspend "$name"
ktap_check "recovery with the unchanged key: key set, resume" \
	bash -c "dmsetup message $name 0 key set :64:logon:$desc && dmsetup resume $name"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_result "... active, data intact" \
	"$(tgt_is "$name" "active key:loaded " && cmp "$TGT_TMP/p" "$TGT_TMP/r" >&2; echo $?)"
tgt_remove "$name"

# --- key set while the key in use is revoked, not yet noticed --------------
# The watch polls once a second: it may notice a revocation before the key
# set right after it does (then that key set is the recovery and is
# accepted).  Try until the key set came first, with a fresh key each time.
read -r desc kid < <(tgt_key ksrev)
keyf=$TGT_TMP/$desc.key
name=$(uniq aurora-ksrev)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
tgt_write "$dev" "$TGT_TMP/p"
hit=0 bad=0
for ((i = 1; i <= 10; i++)); do
	read -r d2 _ < <(tgt_key "ksrev$i" "$keyf")
	dmsetup suspend "$name"
	keyctl revoke "$kid" >&2 || bad=1
	if dmsetup message "$name" 0 key set ":64:logon:$d2"; then
		# the watch came first: this key set was the recovery
		tgt_is "$name" "inaccessible key-revoked key:loaded " || bad=1
	else
		hit=1
		break
	fi
	dmsetup resume "$name"
	tgt_is "$name" "active key:loaded " || bad=1
	kid=$(keyctl search @s logon "$d2")
done
ktap_result "key set right after revoking the key in use is refused (try $i)" \
	"$([ "$hit" = 1 ] && [ "$bad" = 0 ]; echo $?)"
ktap_result "... the target is 'inaccessible key-revoked key:wiped'" \
	"$(tgt_is "$name" "inaccessible key-revoked key:wiped "; echo $?)"
ktap_check "... a second key set is accepted" \
	dmsetup message "$name" 0 key set ":64:logon:$d2"
ktap_check "... and resume recovers" dmsetup resume "$name"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_result "... active, data intact" \
	"$(tgt_is "$name" "active key:loaded " && cmp "$TGT_TMP/p" "$TGT_TMP/r" >&2; echo $?)"
tgt_remove "$name"

# --- revocation under running fio, recovery after -------------------------------
read -r desc kid < <(tgt_key fio)
keyf=$TGT_TMP/$desc.key
name=$(uniq aurora-fio)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
fio_data write "$dev"
fio --name=load --filename="$dev" --rw=randrw --bs=4k-64k --size=4M \
	--direct=1 --ioengine=libaio --iodepth=16 --numjobs=2 --time_based \
	--runtime=60 --output=/dev/null >&2 2>&1 &
fiopid=$!
tgt_wait_for 30 bash -c "[ \$(dmsetup status $name | sed -n 's/.*writes:\([0-9]*\).*/\1/p') -gt 200 ]"
keyctl revoke "$kid"
ktap_check "revocation under fio: 'inaccessible key-revoked key:wiped'" \
	tgt_wait_state "$name" "inaccessible key-revoked key:wiped " 30
tgt_wait_for 30 eval "! kill -0 $fiopid"
ktap_result "fio stops on EIO, nothing hangs" "$(! kill -0 "$fiopid" 2>/dev/null; echo $?)"
kill -9 "$fiopid" 2>/dev/null
wait "$fiopid" 2>/dev/null
ktap_check "recovery after fio: suspend, key set, resume" \
	recover "$name" "$keyf" fio-new
ktap_check "... fio --verify_only: data outside fio's range intact" fio_data verify "$dev"
ktap_check "remove after recovery" tgt_remove "$name"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
