#!/bin/bash
# The write paths, each checked for correctness only: a write alone in
# flight is encrypted in map() by its submitter (dd at queue depth 1), the
# writes of a deep queue on the workqueue (fio at depth 32), every write on
# the workqueue with write_workqueue; a lower device that is rotational
# gets the writes encrypted on the workqueue through the writer thread,
# sorted by sector, a non-rotational one directly.  Data is checked with
# fio's verification, read back, and read through dm-crypt over the same
# device with the same key.  Which path a bio took and how often is a
# scheduling outcome: make bench measures the cost, this test does not.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 26
dmesg_mark
tgt_modules

read -r desc _ < <(tgt_key handoff)
loop=$(tgt_loop 16)
rot=/sys/block/${loop#/dev/}/queue/rotational
sz=$(tgt_sectors "$loop")
note "online CPUs: $(nproc), $loop rotational: $(cat "$rot")"

# run_path LABEL SS ROT OPT: one mapping (data unit SS bytes, optional
# parameter OPT) over the loop device with rotational ROT; 4 MiB at queue
# depth 1 (4 KiB bios, or 16 KiB with 4096-byte units), fio at depth 32
# with verification, everything compared through dm-crypt.
run_path() {
	local label=$1 ss=$2 r=$3 opt=$4 name dev cname copt= topt bs=4k cnt=1024 n=1
	[ "$ss" = 4096 ] && copt="sector_size:4096" && bs=16k && cnt=256
	ktap_check "$label: lower device rotational=$r" \
		bash -c "echo $r > $rot && [ \"\$(cat $rot)\" = $r ]"
	topt=$copt
	[ -n "$opt" ] && topt="$topt $opt"
	topt=${topt# }
	[ -n "$topt" ] && n=$(wc -w <<< "$topt") && topt=" $n $topt"
	name=$(uniq "aurora-$label")
	if ! tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0$topt"; then
		ktap_fail "$label: mapping created"
		for _ in 1 2 3 4; do ktap_skip "$label" "no mapping"; done
		return
	fi
	ktap_ok "$label: mapping created"
	dev=/dev/mapper/$name
	tgt_rand "$TGT_TMP/qd1" 4096
	dd if="$TGT_TMP/qd1" of="$dev" bs=$bs seek=$((12 * 1024 * 1024 / ${bs%k} / 1024)) \
		oflag=direct status=none
	dd if="$dev" of="$TGT_TMP/qd1.back" bs=$bs skip=$((12 * 1024 * 1024 / ${bs%k} / 1024)) \
		count=$cnt iflag=direct status=none
	ktap_check "$label: queue depth 1: 4 MiB read back as written" \
		cmp "$TGT_TMP/qd1" "$TGT_TMP/qd1.back"
	ktap_check "$label: fio randwrite iodepth 32 with --verify=crc32c" \
		fio --name=deep --filename="$dev" --rw=randwrite --bs=$bs --size=8M \
		--direct=1 --ioengine=libaio --iodepth=32 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=0 --output=/dev/stderr
	tgt_read "$dev" "$TGT_TMP/a" $((16 * 1024 * 1024))
	tgt_remove "$name"
	cname=$(uniq "crypt-$label")
	[ -n "$copt" ] && copt=" 1 $copt"
	tgt_create "$cname" "0 $sz crypt aes-xts-plain64 :64:logon:$desc 0 $loop 0$copt"
	tgt_read "/dev/mapper/$cname" "$TGT_TMP/c" $((16 * 1024 * 1024))
	tgt_remove "$cname"
	ktap_check "$label: dm-crypt reads the same 16 MiB" cmp "$TGT_TMP/a" "$TGT_TMP/c"
	tail -c $((4 * 1024 * 1024)) "$TGT_TMP/c" > "$TGT_TMP/c.qd1"
	ktap_check "$label: of which the last 4 MiB are what was written at queue depth 1" \
		cmp "$TGT_TMP/qd1" "$TGT_TMP/c.qd1"
}

run_path rot-512 512 1 ""
run_path nonrot-wq-512 512 0 write_workqueue
run_path rot-wq-4096 4096 1 write_workqueue
run_path nonrot-4096 4096 0 ""

# Mixed sizes and directions at depth 16 on a rotational device: small
# writes through the writer thread and large bios chunked over the CPUs at
# the same time.
echo 1 > "$rot"
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
