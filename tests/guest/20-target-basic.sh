#!/bin/bash
# dm-aurora: round trips, table/status format, no plaintext on the device,
# large bios, fio --verify, WRITE_ZEROES and discards.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 24
dmesg_mark

ktap_check "dm-aurora module loads" tgt_modules
ktap_check "target 'aurora' is registered with version 1.8.1" \
	bash -c 'dmsetup targets | grep -E "^aurora +v1\.8\.1"'

read -r desc _ < <(tgt_key basic)
loop=$(tgt_loop 8)
sz=$(tgt_sectors "$loop")
name=$(uniq aurora-basic)
ktap_check "mapping created on a loop device" \
	tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name

tbl=$(dmsetup table "$name")
keyhex=$(od -A n -v -t x1 "$TGT_TMP/$desc.key" | tr -d ' \n')
note "table: $tbl"
ktap_result "table shows the key reference" \
	"$([[ "$tbl" == "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 "*" 0" ]]; echo $?)"
ktap_result "table never shows the key bytes" \
	"$(dmsetup table --showkeys "$name" | grep -qi "${keyhex:0:32}"; [ $? -ne 0 ]; echo $?)"
st=$(tgt_status "$name")
ktap_result "fresh status is 'active key:loaded reads:N writes:0 terminal_eio:0'" \
	"$([[ "$st" =~ ^active\ key:loaded\ reads:[0-9]+\ writes:0\ terminal_eio:0$ ]]; echo $?)"
note "status: $st"

# Direct I/O round trip of random data.
tgt_rand "$TGT_TMP/p1" 4096
tgt_write "$dev" "$TGT_TMP/p1"
tgt_read "$dev" "$TGT_TMP/r1" $((4096 * 1024))
ktap_check "direct I/O round trip of 4 MiB random data" cmp "$TGT_TMP/p1" "$TGT_TMP/r1"

# Buffered round trip through the page cache, caches dropped in between.
tgt_rand "$TGT_TMP/p2" 1024
dd if="$TGT_TMP/p2" of="$dev" bs=4k seek=1024 conv=notrunc,fsync status=none
echo 3 > /proc/sys/vm/drop_caches
dd if="$dev" of="$TGT_TMP/r2" bs=4k skip=1024 count=256 status=none
ktap_check "buffered round trip after drop_caches" cmp "$TGT_TMP/p2" "$TGT_TMP/r2"

# One 4 MiB direct write: bigger than BIO_MAX_VECS pages, split by the target.
tgt_rand "$TGT_TMP/p3" 4096
dd if="$TGT_TMP/p3" of="$dev" bs=4M count=1 oflag=direct conv=notrunc status=none
tgt_read "$dev" "$TGT_TMP/r3" $((4096 * 1024))
ktap_check "single 4 MiB direct write reads back" cmp "$TGT_TMP/p3" "$TGT_TMP/r3"

# No plaintext on the raw device.
yes AURORA-PLAINTEXT-MARKER-0123456789 | head -c $((1024 * 1024)) > "$TGT_TMP/marker"
tgt_write "$dev" "$TGT_TMP/marker" $((2048 * 1024))
blockdev --flushbufs "$loop"
tgt_read "$loop" "$TGT_TMP/raw" $((8 * 1024 * 1024))
n=$(grep -c -a AURORA-PLAINTEXT-MARKER "$TGT_TMP/raw")
ctl=$(grep -c -a AURORA-PLAINTEXT-MARKER "$TGT_TMP/marker")
ktap_result "no plaintext marker on the raw device (found $n; $ctl in the plaintext)" \
	"$([ "$ctl" -gt 0 ] && [ "$n" -eq 0 ]; echo $?)"
tgt_read "$dev" "$TGT_TMP/rm" $((1024 * 1024)) $((2048 * 1024))
ktap_check "marker reads back through the target" cmp "$TGT_TMP/marker" "$TGT_TMP/rm"

st=$(tgt_status "$name")
r=$(echo "$st" | sed -n 's/.* reads:\([0-9]*\) .*/\1/p')
w=$(echo "$st" | sed -n 's/.* writes:\([0-9]*\) .*/\1/p')
ktap_result "status counts served reads and writes ($r/$w)" \
	"$([ "${r:-0}" -gt 0 ] && [ "${w:-0}" -gt 0 ]; echo $?)"

# fio with verification on top (async, mixed sizes, queue depth 8).
ktap_check "fio --verify=crc32c randwrite 4k-128k, iodepth 8" \
	fio --name=verify --filename="$dev" --rw=randwrite --bsrange=4k-128k \
	--size=6M --direct=1 --ioengine=libaio --iodepth=8 --verify=crc32c \
	--verify_fatal=1 --do_verify=1 --randrepeat=0 --output=/dev/stderr

# WRITE_ZEROES must not put plaintext zeroes on the device.
blkdiscard -z -o $((1024 * 1024)) -l $((1024 * 1024)) "$dev" >&2
rc=$?
ktap_result "blkdiscard -z (zero-out) on the target succeeds" "$rc"
head -c $((1024 * 1024)) /dev/zero > "$TGT_TMP/zero"
tgt_read "$dev" "$TGT_TMP/rz" $((1024 * 1024)) $((1024 * 1024))
ktap_check "zeroed range reads back as zeroes" cmp "$TGT_TMP/zero" "$TGT_TMP/rz"
blockdev --flushbufs "$loop"
tgt_read "$loop" "$TGT_TMP/rawz" $((1024 * 1024)) $((1024 * 1024))
nz=$(tr -d '\000' < "$TGT_TMP/rawz" | wc -c)
# Ciphertext has ~1/256 zero bytes (~4100 in 1 MiB); one zero sector adds 512.
ktap_result "zeroed range is ciphertext on the raw device ($((1048576 - nz)) zero bytes)" \
	"$([ $((1048576 - nz)) -lt 4900 ]; echo $?)"
fallocate -z -o $((3 * 1024 * 1024)) -l $((256 * 1024)) "$dev" >&2
blockdev --flushbufs "$loop"
tgt_read "$loop" "$TGT_TMP/rawf" $((256 * 1024)) $((3 * 1024 * 1024))
nz=$(tr -d '\000' < "$TGT_TMP/rawf" | wc -c)
ktap_result "fallocate zero-range leaves ciphertext ($((262144 - nz)) zero bytes)" \
	"$([ $((262144 - nz)) -lt 1400 ]; echo $?)"

ktap_check_fails "discard refused without allow_discards" \
	blkdiscard -o 0 -l 65536 "$dev"
ktap_check "mapping removed" tgt_remove "$name"

name2=$(uniq aurora-discard)
tgt_create "$name2" \
	"0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0 2 allow_discards no_read_inline"
ktap_check "allow_discards: discard passes through" \
	blkdiscard -o 0 -l $((1024 * 1024)) "/dev/mapper/$name2"
tgt_write "/dev/mapper/$name2" "$TGT_TMP/p2" $((6 * 1024 * 1024))
tgt_read "/dev/mapper/$name2" "$TGT_TMP/r4" $((1024 * 1024)) $((6 * 1024 * 1024))
ktap_check "no_read_inline (workqueue decryption) round trip" \
	cmp "$TGT_TMP/p2" "$TGT_TMP/r4"
tgt_remove "$name2"

name3=$(uniq aurora-wwq)
ktap_check "write_workqueue mapping created" tgt_create "$name3" \
	"0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0 2 write_workqueue sector_size:4096"
ktap_check "write_workqueue: fio --verify, 2 jobs, iodepth 8" \
	fio --name=wwq --filename="/dev/mapper/$name3" --rw=randwrite \
	--bsrange=4k-256k --size=3M --offset_increment=3M --numjobs=2 \
	--direct=1 --ioengine=libaio --iodepth=8 --verify=crc32c \
	--verify_fatal=1 --randrepeat=0 --output=/dev/stderr
tgt_remove "$name3"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
