#!/bin/bash
# dm-aurora key wipe / key set on a suspended device (dm-crypt semantics).
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 16
dmesg_mark
tgt_modules

loop=$(tgt_loop 4)
sz=$(tgt_sectors "$loop")
read -r desc kid < <(tgt_key susp)
name=$(uniq aurora-susp)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0 1 sector_size:4096"
dev=/dev/mapper/$name
tgt_rand "$TGT_TMP/p" 1024
tgt_write "$dev" "$TGT_TMP/p"

ktap_check_fails "key wipe refused while active" dmsetup message "$name" 0 key wipe
ktap_check "suspend" dmsetup suspend "$name"
ktap_check "key wipe accepted while suspended" dmsetup message "$name" 0 key wipe
ktap_result "status shows key:wiped, still active" \
	"$([[ "$(tgt_status "$name")" == "active key:wiped "* ]]; echo $?)"
ktap_check_fails "resume refused while the key is wiped" dmsetup resume "$name"
ktap_check_fails "key set with a wrong size refused" \
	dmsetup message "$name" 0 key set ":32:logon:$desc"
ktap_check_fails "key set with a hex key refused" \
	dmsetup message "$name" 0 key set "$(od -A n -v -t x1 "$TGT_TMP/$desc.key" | tr -d ' \n')"
ktap_check_fails "key set with an unknown key refused" \
	dmsetup message "$name" 0 key set ":64:logon:aurora:no-such-key-$$"
ktap_check "key set with the right key accepted" \
	dmsetup message "$name" 0 key set ":64:logon:$desc"
ktap_check "resume after key set" dmsetup resume "$name"
ktap_result "status back to 'active key:loaded'" \
	"$([[ "$(tgt_status "$name")" == "active key:loaded "* ]]; echo $?)"
tgt_read "$dev" "$TGT_TMP/r" $((1024 * 1024))
ktap_check "data reads back after wipe/set" cmp "$TGT_TMP/p" "$TGT_TMP/r"

# key set may name another key (same bytes, new description).
read -r desc2 kid2 < <(tgt_key susp2 "$TGT_TMP/$desc.key")
dmsetup suspend "$name"
ktap_check "key set with another description accepted" \
	dmsetup message "$name" 0 key set ":64:logon:$desc2"
dmsetup resume "$name" >&2
ktap_result "table shows the new key reference" \
	"$(dmsetup table "$name" | grep -q ":64:logon:$desc2 "; echo $?)"
# The target now watches the new key.
keyctl revoke "$kid2"
for _ in $(seq 1 300); do
	[[ "$(tgt_status "$name")" == "inaccessible key-revoked key:wiped "* ]] && break
	sleep 0.1
done
ktap_result "revoking the new key makes the target inaccessible" \
	"$([[ "$(tgt_status "$name")" == "inaccessible key-revoked key:wiped "* ]]; echo $?)"
tgt_remove "$name"
ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
