#!/bin/bash
# Load/unload dm-aurora 20 times, each time creating, using and removing a
# mapping (and one going terminal): no leak in /proc/slabinfo.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 5
dmesg_mark
modprobe loop
modprobe dm-crypt

if dmsetup table 2>/dev/null | grep -q ' aurora '; then
	for i in 1 2 3 4 5; do ktap_skip "module load/unload $i" "aurora mappings exist"; done
	exit 0
fi

loop=$(tgt_loop 2)
sz=$(tgt_sectors "$loop")
read -r desc kid < <(tgt_key modload)
head -c 65536 /dev/urandom > "$TGT_TMP/p"

cycle() {
	local name rdesc rkid
	modprobe dm-aurora || return 1
	name=$(uniq aurora-mod)
	dmsetup create "$name" --table "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0" >&2 || return 1
	tgt_write "/dev/mapper/$name" "$TGT_TMP/p" || return 1
	tgt_read "/dev/mapper/$name" "$TGT_TMP/r" 65536 || return 1
	cmp "$TGT_TMP/p" "$TGT_TMP/r" >&2 || return 1
	dmsetup message "$name" 0 terminal modload-test >&2 || return 1
	dmsetup remove --retry "$name" >&2 || return 1
	modprobe -r dm-aurora || return 1
}

# slab_snapshot FILE: "<cache> <active_objs>" for every cache.
slab_snapshot() {
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 1
	awk 'NR > 2 { print $1, $2 }' /proc/slabinfo | sort > "$1"
}

fail=0
for i in 1 2 3; do cycle || fail=1; done	# warm up caches
slab_snapshot "$TGT_TMP/s0"
for i in $(seq 1 20); do cycle || { fail=1; break; }; done
slab_snapshot "$TGT_TMP/s1"
ktap_result "20 load / map / I/O / terminal / remove / unload cycles" "$fail"
ktap_result "module is unloaded at the end" "$(! grep -q '^dm_aurora ' /proc/modules; echo $?)"

# A leak of one object per cycle shows up as >= 20 more active objects.
join "$TGT_TMP/s0" "$TGT_TMP/s1" | awk '$3 - $2 >= 20 { print $1, $2, "->", $3 }' > "$TGT_TMP/grown"
sed 's/^/# grown: /' "$TGT_TMP/grown"
ngrow=$(wc -l < "$TGT_TMP/grown")
ktap_result "no slab cache grew by >= 20 objects over 20 cycles ($ngrow grew)" \
	"$([ "$ngrow" -eq 0 ]; echo $?)"
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	n=$(grep -c unreferenced /sys/kernel/debug/kmemleak)
	ktap_result "kmemleak: no unreferenced objects ($n)" "$([ "$n" -eq 0 ]; echo $?)"
else
	ktap_skip "kmemleak: no unreferenced objects" "kmemleak not enabled in this kernel"
fi
modprobe dm-aurora
ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
