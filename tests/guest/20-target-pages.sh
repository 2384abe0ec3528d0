#!/bin/bash
# Write bounce pages from the mempool's reserve and the page allocator:
# writes that reuse them put the same ciphertext on disk as dm-crypt, and
# tables that hold a full reserve come and go cleanly (the pages go back to
# the system when the table is unloaded).  Free memory over those tables is
# noted, not asserted: with
# 6.12's per-CPU free lists it moved by -10 to +32 MiB for a correct build,
# as much as a build that never returned the pages lost (22-28 MiB).
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 4
dmesg_mark
tgt_modules

read -r desc _ < <(tgt_key pages)
loop=$(tgt_loop 16)
sz=$(tgt_sectors "$loop")
table="0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"

# write_1m DEV: 8 MiB written in 1 MiB bios, four in flight.
write_1m() {
	fio --name=w --filename="$1" --rw=write --bs=1M --size=8M --direct=1 \
		--ioengine=libaio --iodepth=4 --output=/dev/null >&2
}

# write_twice DEV FILE: FILE written twice in 1 MiB bios, one at a time.
write_twice() {
	dd if="$2" of="$1" bs=1M oflag=direct status=none >&2 &&
		dd if="$2" of="$1" bs=1M oflag=direct status=none >&2
}

# Twice the same 8 MiB: the second pass runs on pages the first freed.
name=$(uniq aurora-pages)
tgt_rand "$TGT_TMP/data" 8192
tgt_create "$name" "$table"
ktap_check "8 MiB written twice in 1 MiB bios" write_twice "/dev/mapper/$name" "$TGT_TMP/data"
tgt_remove "$name"
crypt=$(uniq crypt-pages)
tgt_create "$crypt" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0"
tgt_read "/dev/mapper/$crypt" "$TGT_TMP/back" $((8 << 20))
ktap_check "dm-crypt reads back what the reused pages carried" cmp "$TGT_TMP/data" "$TGT_TMP/back"
tgt_remove "$crypt"

# mem_free_kib: free memory once clean caches are dropped.
mem_free_kib() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sed -n 's/^MemFree: *\([0-9]*\) kB$/\1/p' /proc/meminfo
}

# cycle N: create a mapping, write 8 MiB at 1 MiB x 4 in flight (up to
# 4 MiB of pages kept), remove it.
cycle() {
	local n
	n=$(uniq "aurora-pages$1")
	tgt_create "$n" "$table" && write_1m "/dev/mapper/$n" && tgt_remove "$n"
}

cycle 0
m0=$(mem_free_kib)
ok=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	cycle "$i" || ok=1
done
m1=$(mem_free_kib)
ktap_result "12 tables created, written and removed" "$ok"
note "free memory fell by $(((m0 - m1) / 1024)) MiB over them"
ktap_check "kernel log clean" tgt_kernel_clean
