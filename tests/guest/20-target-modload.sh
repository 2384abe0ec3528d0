#!/bin/bash
# Load/unload dm-aurora 2 x 20 times, each time creating, using and removing a
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
read -r desc _ < <(tgt_key modload)
head -c 65536 /dev/urandom > "$TGT_TMP/p"

cycle() {
	local name
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

# slab_snapshot FILE: "<cache> <active_objs>" for the caches the module
# allocates from (kmalloc, bios, bvecs).  SLUB counts the free objects of
# per-CPU slabs as active, so a reading is exact only right after the caches
# are shrunk (which flushes the per-CPU slabs) and before anything else
# allocates: shrink and read with shell builtins only, no fork or exec in
# between.  A command run between the two pulls whole slabs back to a CPU and
# moves the count by up to a few hundred objects (seen: kmalloc-32 +128/+256
# from one reading to the next with no object allocated).
# Objects freed through RCU are still counted for a while: take the minimum
# of three readings two seconds apart.
slab_snapshot() {
	local c i name active num size per rest
	local -A min=() per_slab=()
	sync
	echo 3 > /proc/sys/vm/drop_caches
	for i in 1 2 3; do
		sleep 2
		for c in /sys/kernel/slab/{kmalloc-,kmalloc-cg-,bio-,biovec-}*/shrink; do
			echo 1 > "$c"
		done 2>/dev/null
		while read -r name active num size per rest; do
			case $name in
			kmalloc-*|bio-*|biovec-*) ;;
			*) continue ;;
			esac
			per_slab[$name]=$per
			[ -n "${min[$name]:-}" ] && [ "${min[$name]}" -le "$active" ] ||
				min[$name]=$active
		done < /proc/slabinfo
	done
	for name in "${!min[@]}"; do
		echo "$name ${min[$name]} ${per_slab[$name]}"
	done > "$1"
}

# grown A B MIN: caches that grew by at least MIN objects from A to B.
grown() {
	awk -v min="$3" 'NR == FNR { a[$1] = $2; next }
		($1 in a) && $2 - a[$1] >= min { print $1, a[$1], "->", $2 }' "$1" "$2"
}

fail=0
for i in 1 2 3; do cycle || fail=1; done	# warm up caches
slab_snapshot "$TGT_TMP/s0"
for i in $(seq 1 20); do cycle || { fail=1; break; }; done
slab_snapshot "$TGT_TMP/s1"
for i in $(seq 1 20); do cycle || { fail=1; break; }; done
slab_snapshot "$TGT_TMP/s2"
ncache=$(wc -l < "$TGT_TMP/s2")
ktap_result "2 x 20 load / map / I/O / terminal / remove / unload cycles" "$fail"
ktap_result "module is unloaded at the end" "$(! grep -q '^dm_aurora ' /proc/modules; echo $?)"

# A leak of k objects per cycle grows a cache by ~20k objects in each run of
# 20 cycles, at the same rate twice.  One-off growth (cache warm-up, batches
# of RCU-deferred frees) does not repeat at the same rate.  Growth by a whole
# number of slabs in both runs (seen: kmalloc-96 +42, +42, one 42-object
# slab each time) is a slab that a CPU took back between the shrink and the
# read, not objects.  A real leak of k per cycle looks like that only when 20k
# is a multiple of the objects per slab (k = 32 for kmalloc-32's 128, k = 2
# for kmalloc-4k's 8).
grown "$TGT_TMP/s0" "$TGT_TMP/s1" 1 | sed 's/^/# first 20 cycles: /'
grown "$TGT_TMP/s1" "$TGT_TMP/s2" 1 | sed 's/^/# next 20 cycles: /'
leaks=$(awk 'FILENAME == ARGV[1] { a[$1] = $2; next }
	     FILENAME == ARGV[2] { b[$1] = $2; next }
	     ($1 in a) && ($1 in b) {
		g1 = b[$1] - a[$1]; g2 = $2 - b[$1]
		slabs = $3 > 0 && g1 % $3 == 0 && g2 % $3 == 0
		if (g1 >= 15 && g2 >= 15 && g1 <= 2 * g2 && g2 <= 2 * g1 && !slabs)
			printf "%s(+%d,+%d) ", $1, g1, g2
	     }' "$TGT_TMP/s0" "$TGT_TMP/s1" "$TGT_TMP/s2")
ktap_result "no slab cache grows steadily by >= 15 objects per 20 cycles (${ncache} caches; ${leaks:-none})" \
	"$([ "$ncache" -gt 5 ] && [ -z "$leaks" ]; echo $?)"
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
