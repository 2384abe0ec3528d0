#!/bin/bash
# dm-aurora terminal state: revocation while idle (wiped within ~1-2 s),
# dmsetup wait wakes, EIO for reads and writes, sticky after re-adding the
# key, invalidation, expiry, message terminal, revocation under fio.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 27
dmesg_mark
tgt_modules

loop=$(tgt_loop 8)
sz=$(tgt_sectors "$loop")

# wait_terminal NAME REASON SECS: poll the status until terminal.
wait_terminal() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[[ "$(tgt_status "$1")" == "terminal $2 key:wiped "* ]] && return 0
		sleep 0.1
	done
	tgt_status "$1" >&2
	return 1
}

events() { dmsetup info -c -o events --noheadings "$1" | tr -d ' '; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# --- revocation while idle ---
read -r desc kid < <(tgt_key term)
name=$(uniq aurora-term)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
tgt_rand "$TGT_TMP/p" 1024
tgt_write "$dev" "$TGT_TMP/p"
ev=$(events "$name")
timeout 15 dmsetup wait "$name" "$ev" >&2 &
waiter=$!
sleep 0.5
t0=$(now_ms)
keyctl revoke "$kid"
# The target polls its key once a second while idle: allow for a loaded
# host (the latency is a figure for make bench, not a check).
wait_terminal "$name" key-revoked 30
rc=$?
t1=$(now_ms)
ms=$((t1 - t0))
ktap_result "idle revocation, no I/O: status 'terminal key-revoked key:wiped'" "$rc"
note "terminal ${ms} ms after revocation"
wait "$waiter"
ktap_result "dmsetup wait woke up on the terminal event" "$?"
ktap_check "direct read fails with EIO" tgt_eio read "$dev"
ktap_check "direct write fails with EIO" tgt_eio write "$dev"
n=$(tgt_status "$name" | sed -n 's/.*terminal_eio:\([0-9]*\).*/\1/p')
ktap_result "terminal_eio counts failed bios ($n)" "$([ "${n:-0}" -ge 2 ]; echo $?)"
ktap_check "kernel logs the terminal transition" \
	bash -c "dmesg | grep -q 'aurora: [0-9]*:[0-9]*: terminal: key-revoked'"

# Re-adding a key with the same description revives nothing.
keyctl padd logon "$desc" @s < "$TGT_TMP/$desc.key" >&2
sleep 1.5
ktap_result "still terminal after re-adding the key" \
	"$([[ "$(tgt_status "$name")" == "terminal key-revoked key:wiped "* ]]; echo $?)"
ktap_check "reads still fail (EIO) after re-adding the key" tgt_eio read "$dev"
ktap_check "terminal mapping suspends" dmsetup suspend "$name"
ktap_check_fails "key set refused while terminal" \
	dmsetup message "$name" 0 key set ":64:logon:$desc"
ktap_check "terminal mapping resumes (I/O keeps failing)" dmsetup resume "$name"
ktap_check "dmsetup remove of a terminal mapping works" tgt_remove "$name"
# Data is intact for a new table (the agent would refuse; dm-crypt can read).
tgt_create "$name" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_check "data written before revocation is intact (dm-crypt reads it)" \
	cmp "$TGT_TMP/p" "$TGT_TMP/r"
tgt_remove "$name"

# --- invalidation ---
read -r desc kid < <(tgt_key inval)
name=$(uniq aurora-inval)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
keyctl invalidate "$kid"
ktap_check "invalidated key: terminal key-invalidated" wait_terminal "$name" key-invalidated 30
tgt_remove "$name"

# --- expiry ---
read -r desc kid < <(tgt_key expire)
name=$(uniq aurora-expire)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
keyctl timeout "$kid" 1
ktap_check "expired key: terminal key-expired" wait_terminal "$name" key-expired 30
tgt_remove "$name"

# --- message terminal, reason sanitized ---
read -r desc kid < <(tgt_key msg)
name=$(uniq aurora-msg)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
ktap_check "write before message terminal succeeds" tgt_write "$dev" "$TGT_TMP/p"
ev=$(events "$name")
ktap_check "message 'terminal <reason>' accepted" \
	dmsetup message "$name" 0 terminal 'cmk-disabled/by:ops!'
ktap_check "status shows the sanitized reason, key wiped" \
	wait_terminal "$name" 'cmk-disabled_by:ops_' 30
ktap_result "message terminal raised an event" \
	"$([ "$(events "$name")" -gt "$ev" ]; echo $?)"
dmsetup message "$name" 0 terminal other >&2
ktap_result "terminal reason is sticky" \
	"$([[ "$(tgt_status "$name")" == "terminal cmk-disabled_by:ops_ "* ]]; echo $?)"
long=$(head -c 200 /dev/zero | tr '\0' 'x')
ktap_check_fails "messages with bad arity are refused" dmsetup message "$name" 0 terminal a b
ktap_check "writes fail with EIO after message terminal" tgt_eio write "$dev"
tgt_remove "$name"
name=$(uniq aurora-msg2)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dmsetup message "$name" 0 terminal "$long" >&2
r=$(tgt_status "$name" | cut -d' ' -f2)
ktap_result "long reason is bounded (${#r} chars)" "$([ "${#r}" -eq 63 ]; echo $?)"
tgt_remove "$name"

# --- revocation under running fio ---
read -r desc kid < <(tgt_key fio)
name=$(uniq aurora-fio)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
fio --name=load --filename="/dev/mapper/$name" --rw=randrw --bs=4k-64k \
	--direct=1 --ioengine=libaio --iodepth=16 --numjobs=2 --time_based \
	--runtime=60 --output=/dev/null >&2 2>&1 &
fiopid=$!
sleep 3
keyctl revoke "$kid"
ktap_check "revocation under fio: terminal key-revoked" wait_terminal "$name" key-revoked 30
t0=$(date +%s)
for ((i = 0; i < 200; i++)); do kill -0 "$fiopid" 2>/dev/null || break; sleep 0.1; done
ktap_result "fio stops on EIO, nothing hangs ($(($(date +%s) - t0)) s)" \
	"$(! kill -0 "$fiopid" 2>/dev/null; echo $?)"
kill -9 "$fiopid" 2>/dev/null
wait "$fiopid" 2>/dev/null
ktap_check "remove after revocation under fio" tgt_remove "$name"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
