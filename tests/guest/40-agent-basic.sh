#!/bin/bash
# aurora agent: format / open / write / close / open / read, ext4 on top, no
# plaintext on the raw device, no key in the table, read-only, refusals,
# 4096-byte sectors, and dm-crypt reading the same volume given the DEK.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 44
dmesg_mark

ktap_check "dm-aurora module loads" ag_modules
loop=$(ag_loop 32)
name=$(uniq agent)
ag_cleanup_on_exit "$name"
dev=/dev/mapper/$name

ktap_check "aurora format" aurora format "$loop" --yes
uuid=$(ag_uuid "$loop")
note "volume $uuid on $loop"
ktap_result "status reads the header (uuid $uuid)" "$([ ${#uuid} -eq 36 ]; echo $?)"
ktap_check "aurora open" aurora open "$loop" "$name"
ktap_check "/dev/mapper/$name is a block device" test -b "$dev"
tbl=$(dmsetup table "$name")
note "table: $tbl"
ktap_result "table: aurora target with the :64:logon:aurora:<uuid> reference" \
	"$([[ "$tbl" == "0 63488 aurora aes-xts-plain64 :64:logon:aurora:$uuid 0 "*" 2048" ]]; echo $?)"
ktap_result "dmsetup table --showkeys shows no key bytes" \
	"$(dmsetup table --showkeys "$name" | grep -Eq '[0-9a-fA-F]{32}'; [ $? -ne 0 ]; echo $?)"
ktap_check "the logon key aurora:<uuid> is in the agent's keyring" keyctl search @u logon "aurora:$uuid"
st=$(aurora status "$name" --json)
ktap_result "aurora status: active, key present" \
	"$(echo "$st" | grep -q '"terminal":false' && echo "$st" | grep -q '"key_present":true' &&
	   echo "$st" | grep -q '"state":"active"'; echo $?)"
ktap_check "status by device finds the mapping" bash -c "aurora status $loop | grep -q 'mapping:.*$name'"

# Write, close, check the raw device, reopen, read back.
head -c $((4 << 20)) /dev/urandom > "$AG_TMP/rand"
yes AURORA-PLAINTEXT-MARKER-0123456789 | head -c $((1 << 20)) > "$AG_TMP/marker"
ktap_check "write 4 MiB random data" dd if="$AG_TMP/rand" of="$dev" bs=1M oflag=direct conv=notrunc status=none
ktap_check "write a 1 MiB plaintext marker" dd if="$AG_TMP/marker" of="$dev" bs=1M seek=8 oflag=direct conv=notrunc status=none
ktap_check "aurora close" aurora close "$name"
ktap_check "mapping removed" ag_no_mapping "$name"
ktap_check "kernel key revoked and unlinked" ag_no_key "$uuid"
blockdev --flushbufs "$loop"
n=$(dd if="$loop" bs=1M status=none | grep -c -a AURORA-PLAINTEXT-MARKER)
ktap_result "no plaintext marker on the raw device (found $n)" "$([ "$n" -eq 0 ]; echo $?)"
ktap_check_fails "raw data area differs from the plaintext" \
	cmp -s -n $((4 << 20)) "$AG_TMP/rand" <(dd if="$loop" bs=1M skip=1 count=4 status=none)
ktap_check "reopen" aurora open "$loop" "$name"
ktap_check "random data reads back" cmp "$AG_TMP/rand" <(dd if="$dev" bs=1M count=4 iflag=direct status=none)
ktap_check "marker reads back" cmp "$AG_TMP/marker" <(dd if="$dev" bs=1M skip=8 count=1 iflag=direct status=none)

# dm-crypt reads the same ciphertext given the DEK.
hex=$(ag_dek_hex "$loop" "$uuid")
ktap_result "DEK unwrapped through aurora kms decrypt (${#hex} hex digits)" "$([ ${#hex} -eq 128 ]; echo $?)"
cname=$(uniq crypt)
dmsetup create "$cname" --readonly --table "0 63488 crypt aes-xts-plain64 $hex 0 $loop 2048" >&2
on_exit "dmsetup remove --retry $cname 2>/dev/null"
unset hex
ktap_check "dm-crypt reads the same plaintext (interoperability)" \
	cmp "$AG_TMP/rand" <(dd if="/dev/mapper/$cname" bs=1M count=4 iflag=direct status=none)
dmsetup remove --retry "$cname" >&2

# Refusals while open.
ktap_result "opening the same volume again under another name: exit 7" \
	"$([ "$(ag_rc aurora open "$loop" "$name-2")" -eq 7 ]; echo $?)"
ktap_result "format refuses the device while it is mapped: exit 7" \
	"$([ "$(ag_rc aurora format "$loop" --yes --force)" -eq 7 ]; echo $?)"
ktap_result "an existing mapping name is refused: exit 7" \
	"$([ "$(ag_rc aurora open "$loop" "$name")" -eq 7 ]; echo $?)"

# ext4 on top.
mkdir -p "/mnt/$name"
ktap_check "mkfs.ext4 on the mapping" mkfs.ext4 -q -F "$dev"
ktap_check "mount it and write a file" bash -c "mount $dev /mnt/$name && cp $AG_TMP/rand /mnt/$name/file && sync && umount /mnt/$name"
ktap_check "close, reopen" bash -c "aurora close $name && aurora open $loop $name"
ktap_check "the file reads back from ext4" bash -c "mount -o ro $dev /mnt/$name && cmp $AG_TMP/rand /mnt/$name/file; r=\$?; umount /mnt/$name; exit \$r"
ktap_check "e2fsck finds the filesystem clean" e2fsck -fn "$dev"
n=$(dd if="$loop" bs=1M status=none | grep -c -a AURORA-PLAINTEXT-MARKER)
ktap_result "still no plaintext on the raw device" "$([ "$n" -eq 0 ]; echo $?)"
ktap_check "close" aurora close "$name"

# Read-only.
ktap_check "open --read-only" aurora open "$loop" "$name" --read-only
ktap_check_fails "writes to a read-only mapping fail" \
	dd if=/dev/zero of="$dev" bs=4k count=1 oflag=direct conv=notrunc status=none
ktap_check "close the read-only mapping" aurora close "$name"
ktap_result "format refuses an aurora volume without --force: exit 7" \
	"$([ "$(ag_rc aurora format "$loop" --yes)" -eq 7 ]; echo $?)"

# The kernel's terminal state as aurora status reports it.
ktap_check "open for the terminal check" aurora open "$loop" "$name"
dmsetup message "$name" 0 terminal test-reason >&2
st=$(aurora status "$name" --json)
note "$(echo "$st" | grep -E '"(terminal|terminal_reason|target_status)"' | tr -d '\n')"
ktap_result "status: kernel terminal with its reason" \
	"$(echo "$st" | grep -q '"terminal":true' && echo "$st" | grep -q '"terminal_reason":"test-reason"'; echo $?)"
ktap_check_fails "I/O on the terminal mapping fails" dd if="$dev" of=/dev/null bs=4k count=1 iflag=direct status=none
ktap_check "close the terminal mapping" aurora close "$name"

# 4096-byte sectors.
loop2=$(ag_loop 16)
name2=$(uniq agent4k)
ag_cleanup_on_exit "$name2"
ktap_check "format with --sector-size 4096" aurora format "$loop2" --yes --sector-size 4096
ktap_check "open it" aurora open "$loop2" "$name2"
ktap_result "table carries sector_size:4096" \
	"$(dmsetup table "$name2" | grep -q ' 1 sector_size:4096$'; echo $?)"
ktap_check "4 MiB round trip with 4096-byte sectors" bash -c \
	"dd if=$AG_TMP/rand of=/dev/mapper/$name2 bs=1M oflag=direct conv=notrunc status=none &&
	 cmp $AG_TMP/rand <(dd if=/dev/mapper/$name2 bs=1M count=4 iflag=direct status=none) &&
	 aurora close $name2"

if [ "$_ktap_failed" -gt 0 ]; then dmesg_since_mark >&2; fi
exit 0
