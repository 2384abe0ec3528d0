#!/bin/bash
# The paths of small bios, each forced in turn with the module parameter
# force_path (1 inline, 2 shared with a helper, 3 handed off to another CPU)
# and then chosen per bio (0): data written at queue depth 1 (dd) and 32
# (fio) is checked with fio's verification, read back, and read through
# dm-crypt over the same device with the same key.  How often each path is
# chosen on its own is a scheduling outcome: make bench reports it
# (handed_off, shared); this test asserts only what is deterministic.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 50
dmesg_mark
tgt_modules

param=/sys/module/dm_aurora/parameters/force_path
on_exit "echo 0 > $param"

read -r desc _ < <(tgt_key handoff)
loop=$(tgt_loop 16)
sz=$(tgt_sectors "$loop")
ncpu=$(nproc)
note "online CPUs: $ncpu"

# handed_off NAME, shared NAME: counters of the mapping.
handed_off() { tgt_status "$1" | sed -n 's/.* handed_off:\([0-9]*\).*/\1/p'; }
shared() { tgt_status "$1" | sed -n 's/.* shared:\([0-9]*\).*/\1/p'; }

# run_path MODE LABEL SS: one mapping (data unit SS bytes) with force_path
# MODE; 4 MiB at queue depth 1 (4 KiB bios, or 16 KiB with 4096-byte units),
# fio at depth 32 with verification, everything compared through dm-crypt.
run_path() {
	local mode=$1 label=$2 ss=$3 name dev cname opt= bs=4k cnt=1024 h0 s0 h1 s1
	[ "$ss" = 4096 ] && opt=" 1 sector_size:4096" && bs=16k && cnt=256
	echo "$mode" > "$param"
	name=$(uniq "aurora-$label")
	if ! tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0$opt"; then
		ktap_fail "$label: mapping created"
		for _ in 1 2 3 4 5; do ktap_skip "$label" "no mapping"; done
		return
	fi
	ktap_ok "$label: mapping created"
	dev=/dev/mapper/$name
	tgt_rand "$TGT_TMP/qd1" 4096
	h0=$(handed_off "$name")
	s0=$(shared "$name")
	dd if="$TGT_TMP/qd1" of="$dev" bs=$bs seek=$((12 * 1024 * 1024 / ${bs%k} / 1024)) \
		oflag=direct status=none
	h1=$(handed_off "$name")
	dd if="$dev" of="$TGT_TMP/qd1.back" bs=$bs skip=$((12 * 1024 * 1024 / ${bs%k} / 1024)) \
		count=$cnt iflag=direct status=none
	s1=$(shared "$name")
	note "$label: queue depth 1: $((h1 - h0)) of $cnt writes handed off, $((s1 - s0)) bios shared"
	ktap_check "$label: queue depth 1: 4 MiB read back as written" \
		cmp "$TGT_TMP/qd1" "$TGT_TMP/qd1.back"
	case $mode in
	1)	ktap_result "$label: no bio handed off or shared ($((h1 - h0)), $((s1 - s0)))" \
			"$([ $((h1 - h0)) -eq 0 ] && [ $((s1 - s0)) -eq 0 ]; echo $?)" ;;
	3)	ktap_result "$label: every one of the $cnt writes handed off ($((h1 - h0)))" \
			"$([ $((h1 - h0)) -eq "$cnt" ]; echo $?)" ;;
	2)	ktap_result "$label: no write handed off ($((h1 - h0)))" \
			"$([ $((h1 - h0)) -eq 0 ]; echo $?)" ;;
	*)	ktap_result "$label: status counts handed_off and shared ($h1, $s1)" \
			"$([[ $h1 =~ ^[0-9]+$ && $s1 =~ ^[0-9]+$ ]]; echo $?)" ;;
	esac
	ktap_check "$label: fio randwrite iodepth 32 with --verify=crc32c" \
		fio --name=deep --filename="$dev" --rw=randwrite --bs=$bs --size=8M \
		--direct=1 --ioengine=libaio --iodepth=32 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=0 --output=/dev/stderr
	tgt_read "$dev" "$TGT_TMP/a" $((16 * 1024 * 1024))
	tgt_remove "$name"
	cname=$(uniq "crypt-$label")
	tgt_create "$cname" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0$opt"
	tgt_read "/dev/mapper/$cname" "$TGT_TMP/c" $((16 * 1024 * 1024))
	tgt_remove "$cname"
	ktap_check "$label: dm-crypt reads the same 16 MiB" cmp "$TGT_TMP/a" "$TGT_TMP/c"
	tail -c $((4 * 1024 * 1024)) "$TGT_TMP/c" > "$TGT_TMP/c.qd1"
	ktap_check "$label: of which the last 4 MiB are what was written at queue depth 1" \
		cmp "$TGT_TMP/qd1" "$TGT_TMP/c.qd1"
}

for ss in 512 4096; do
	for m in 1:inline 2:shared 3:handoff 0:auto; do
		mode=${m%%:*} label=${m#*:}-$ss
		if [ "$ncpu" -lt 2 ] && [ "$mode" != 0 ]; then
			for _ in 1 2 3 4 5 6; do
				ktap_skip "$label" "one CPU: every small bio is converted inline"
			done
			continue
		fi
		run_path "$mode" "$label" "$ss"
	done
done
echo 0 > "$param"

# Mixed sizes and directions at depth 16, paths chosen per bio: small bios
# handed off and large bios chunked over CPUs at the same time.
name=$(uniq aurora-mixed)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
ktap_check "fio randrw 4k-256k iodepth 16, 2 jobs, --verify=crc32c" \
	fio --name=mixed --filename="/dev/mapper/$name" --rw=randrw --bsrange=4k-256k \
	--size=4M --offset_increment=4M --numjobs=2 --direct=1 \
	--ioengine=libaio --iodepth=16 --verify=crc32c --verify_fatal=1 \
	--randrepeat=0 --output=/dev/stderr
tgt_remove "$name"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
