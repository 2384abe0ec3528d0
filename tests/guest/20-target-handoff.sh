#!/bin/bash
# The write paths, each checked for correctness only: a write alone in
# flight is encrypted in map() by its submitter (dd at queue depth 1) but
# for the probes, the writes of a deep queue on the workqueue (fio at depth
# 32), every write on the workqueue with write_workqueue; the writes
# encrypted on the workqueue reach the lower device through the writer
# thread, sorted by sector, whether it is rotational or not.  Data is
# checked with fio's verification, read back, and read through dm-crypt
# over the same device with the same key; then the same at depth 32 over
# brd, where the submitter helps the workers.  Which path a bio took in a deep
# queue and how often is a scheduling outcome: make bench measures the
# cost, this test does not.  At queue depth 1 it is certain, and the
# probes are checked.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 39
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

# Who submits the writes that reach the lower device, seen by tracefs
# (block_bio_queue on the loop device, writes with data): the writer thread
# kaurora_write/<dev> (writes encrypted on the workqueue) or fio itself (a
# write alone in flight, encrypted in map()), never a worker, on a
# rotational device and on a non-rotational one alike.  The
# writer takes every write waiting in its tree at once and submits them in
# sector order under a plug.  Where one batch ends is not traced, but the
# first write of each batch opens a new plug: with merges off on the loop
# device (nomerges=2) every write is a request of its own, so a block_plug
# event of the writer follows the first write of every batch (and of some
# writes within a batch, when the plug is flushed early).  Between two
# such writes the writer's sectors must not go down, however the writes
# were grouped into batches.  Which path a write took and how many were
# batched are scheduling outcomes: only noted.
trc=/sys/kernel/tracing
[ -d "$trc/events" ] || mount -t tracefs nodev "$trc" 2>/dev/null
trace_why=
if [ ! -r "$trc/events/block/block_bio_queue/filter" ] ||
   [ ! -r "$trc/events/block/block_plug/filter" ]; then
	trace_why="no tracefs with block events on this kernel"
elif ! mkdir "$trc/instances/aurora-$$" 2>/dev/null; then
	trace_why="no tracefs instances on this kernel"
else
	on_exit "rmdir $trc/instances/aurora-$$"
fi

# wl_deep DEV: fio random writes at depth 32, verified.
wl_deep() {
	fio --name=trace --filename="$1" --rw=randwrite --bs=4k --size=8M \
		--direct=1 --ioengine=libaio --iodepth=32 --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --randrepeat=0 --output=/dev/stderr
}

# wl_qd1 DEV: 64 writes of 4 KiB at queue depth 1 from sector 0, read back.
wl_qd1() {
	tgt_rand "$TGT_TMP/probe" 256 &&
		dd if="$TGT_TMP/probe" of="$1" bs=4k oflag=direct status=none &&
		dd if="$1" of="$TGT_TMP/probe.back" bs=4k count=64 iflag=direct \
			status=none &&
		cmp "$TGT_TMP/probe" "$TGT_TMP/probe.back"
}

# trace_writes LABEL ROT WORKLOAD: the shell function WORKLOAD run on a
# fresh mapping with the lower device's rotational set to ROT, traced;
# leaves the trace in $TGT_TMP/LABEL.trace and a summary line per write
# ("<pid> <comm> <sector>", or "P <pid>" for a plug) in $TGT_TMP/LABEL.ev.
trace_writes() {
	local label=$1 r=$2 wl=$3 ti=$trc/instances/aurora-$$ name dev mm devt ok=1
	echo "$r" > "$rot"
	echo 2 > "/sys/block/${loop#/dev/}/queue/nomerges"
	mm=$(stat -Lc '%t %T' "$loop")
	devt=$(( (0x${mm% *} << 20) | 0x${mm#* } ))
	echo counter > "$ti/trace_clock"
	echo 4096 > "$ti/buffer_size_kb"
	echo "dev == $devt && nr_sector > 0 && rwbs ~ \"*W*\"" \
		> "$ti/events/block/block_bio_queue/filter"
	echo 'comm ~ "kaurora_write*"' > "$ti/events/block/block_plug/filter"
	name=$(uniq "aurora-$label")
	tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0" || return 1
	dev=/dev/mapper/$name
	echo > "$ti/trace"
	echo 1 > "$ti/events/block/block_bio_queue/enable"
	echo 1 > "$ti/events/block/block_plug/enable"
	echo 1 > "$ti/tracing_on"
	"$wl" "$dev" && ok=0
	echo 0 > "$ti/tracing_on"
	echo 0 > "$ti/events/block/block_bio_queue/enable"
	echo 0 > "$ti/events/block/block_plug/enable"
	cat "$ti/trace" > "$TGT_TMP/$label.trace"
	tgt_remove "$name"
	echo 0 > "/sys/block/${loop#/dev/}/queue/nomerges"
	# Every event must be there: a ring buffer that overflowed lost some.
	if ! awk '/entries-in-buffer\/entries-written:/ {
			split($3, n, "/"); found = 1; exit (n[1] == n[2] ? 0 : 1) }
		END { if (!found) exit 1 }' "$TGT_TMP/$label.trace"; then
		note "$label: the trace lost events:"
		grep 'entries-in-buffer' "$TGT_TMP/$label.trace" | sed 's/^/# /'
		return 1
	fi
	awk '/ block_bio_queue: / || / block_plug: / {
		if (!match($0, /-[0-9]+ +\[[0-9]+\]/)) next
		pid = substr($0, RSTART + 1, RLENGTH - 1); sub(/ .*/, "", pid)
		if (!match($0, /\[[^]]*\]$/)) next
		comm = substr($0, RSTART + 1, RLENGTH - 2); gsub(/ /, "_", comm)
		if ($0 ~ / block_plug: /) { print "P", pid; next }
		for (i = 1; i <= NF; i++) if ($i == "block_bio_queue:") break
		print pid, comm, $(i + 3)
	}' "$TGT_TMP/$label.trace" > "$TGT_TMP/$label.ev"
	return $ok
}

# writes_by LABEL: "<count> <submitter>" per submitter (kworker/* as one;
# lib.sh's uniq() is not uniq(1)).
writes_by() {
	awk '$1 != "P" { c = $2; sub(/\/.*/, "/*", c); print c }' \
		"$TGT_TMP/$1.ev" | sort | command uniq -c
}

# writer_descents LABEL: the writer's sectors that are lower than the one
# before them within a plug segment (see above); prints them, fails if any.
writer_descents() {
	awk '
	function done(p) {
		if (!start[p] && (p in last) && pend[p] < last[p]) {
			printf "pid %s: sector %s after %s\n", p, pend[p], last[p]
			bad++
		}
		last[p] = pend[p]
		delete pend[p]
	}
	$1 == "P" { if ($2 in pend) start[$2] = 1; next }
	$2 ~ /^kaurora_write\// {
		if ($1 in pend) done($1)
		pend[$1] = $3 + 0; start[$1] = 0; n++
	}
	END {
		for (p in pend) done(p)
		if (n == 0) print "no write from the writer thread"
		exit bad ? 1 : 0
	}' "$TGT_TMP/$1.ev"
}

# check_trace LABEL ROT: fio at depth 32 traced over the lower device with
# rotational ROT; every write that reached it came from the writer thread,
# from fio or from a kworker (a write alone in flight when mapped that went
# to the workqueue: the first of a run, or a probe), and the writer's
# ascend within each batch.
check_trace() {
	local label=$1 trace_ok=0 d_rc=0 others descents
	if [ -n "$trace_why" ]; then
		for t in "fio randwrite iodepth 32, traced" \
			"every write reaching $loop came from kaurora_write, fio or a kworker" \
			"the writer's writes ascend within each batch"; do
			ktap_skip "$label: $t" "$trace_why"
		done
		return
	fi
	trace_writes "$label" "$2" wl_deep || trace_ok=1
	ktap_result "$label: fio randwrite iodepth 32, traced" $trace_ok
	note "$label: writes by submitter:" "$(writes_by "$label" | tr -s '\n ' '  ')"
	note "$label: plug segments of the writer with 2 writes or more:" \
		"$(awk '$1 == "P" { if (k > 1) m++; k = 0; next }
			$2 ~ /^kaurora_write\// { k++ }
			END { if (k > 1) m++; print m + 0 }' "$TGT_TMP/$label.ev")"
	others=$(awk '$1 != "P" && $2 != "fio" && $2 !~ /^kaurora_write\// &&
		$2 !~ /^kworker\// { print $2 }' \
		"$TGT_TMP/$label.ev" | sort | command uniq -c)
	[ -n "$others" ] && note "$label: other submitters:" "$(tr -s '\n ' '  ' <<< "$others")"
	ktap_result "$label: every write reaching $loop came from kaurora_write, fio or a kworker" \
		"$([ $trace_ok = 0 ] && grep -qv '^P ' "$TGT_TMP/$label.ev" && [ -z "$others" ]; echo $?)"
	descents=$(writer_descents "$label") || d_rc=1
	[ -n "$descents" ] && note "$label: $(wc -l <<< "$descents") found, the first:" \
		"$(head -3 <<< "$descents" | tr '\n' ';')"
	ktap_result "$label: the writer's writes ascend within each batch" \
		"$([ $trace_ok = 0 ] && [ $d_rc = 0 ]; echo $?)"
}

check_trace rot-trace 1
check_trace nonrot-trace 0

# The probe: writes 1, 2, 4, 8, ... of a run of writes alone in flight go
# to the workqueue all the same, so that a submitter whose device completes
# each write before the next comes can show its depth; being alone, they
# are submitted by their worker, not by the writer thread.  dd waits for
# each write: which writes are alone is certain.  Without the probes dd
# would submit all but the first; through the writer thread, kaurora_write
# would submit them.
if [ -n "$trace_why" ]; then
	ktap_skip "probe: 64 writes at queue depth 1, traced, read back" "$trace_why"
	ktap_skip "probe: writes 1, 2, 4, ..., 64 submitted by a kworker, the others by dd" "$trace_why"
else
	probe_ok=0
	trace_writes probe 0 wl_qd1 || probe_ok=1
	ktap_result "probe: 64 writes at queue depth 1, traced, read back" $probe_ok
	note "probe: writes by submitter:" "$(writes_by probe | tr -s '\n ' '  ')"
	note "probe: sectors written by a kworker:" \
		"$(awk '$2 ~ /^kworker\// { printf "%s ", $3 }' "$TGT_TMP/probe.ev")"
	# Write k (1-64) is at sector 8 * (k - 1); the probes are the k that
	# are powers of 2.
	probe_bad=$(awk '
		$1 == "P" { next }
		{
			k = $3 / 8 + 1; n++
			for (p = k; p > 1 && p % 2 == 0; p /= 2) ;
			want = p == 1 ? "kworker" : "dd"
			who = $2; sub(/\/.*/, "", who)
			if (k != int(k) || k < 1 || k > 64 || who != want || seen[k]++)
				printf "sector %s by %s (want %s); ", $3, $2, want
		}
		END { if (n != 64) printf "%d writes traced, want 64", n }' "$TGT_TMP/probe.ev")
	[ -n "$probe_bad" ] && note "probe: wrong submitters: $probe_bad"
	ktap_result "probe: writes 1, 2, 4, ..., 64 submitted by a kworker, the others by dd" \
		"$([ $probe_ok = 0 ] && [ -z "$probe_bad" ]; echo $?)"
fi

# The submitter helps: brd completes every bio inside submit_bio(), so the
# reads of a deep queue complete in their submitter's task, which decrypts
# one itself once the workers have their share (AURORA_HELP_PER_CPU bios
# each), and a write mapped then is encrypted by its submitter and goes
# through the writer thread.  Which bios took that path is a scheduling
# outcome; the data is checked: fio's verification (its reads at depth 32
# too), and the same bytes read through dm-crypt.
if ! lsmod | grep -q '^brd ' && modprobe brd rd_nr=1 rd_size=16384 max_part=0 &&
	[ -b /dev/ram0 ]; then
	on_exit "rmmod brd"
	ktap_ok "brd: a ramdisk as the lower device"
	rsz=$(tgt_sectors /dev/ram0)
	for ss in 512 4096; do
		topt= bs=4k
		[ $ss = 4096 ] && topt=" 1 sector_size:4096" && bs=16k
		name=$(uniq "aurora-brd-$ss")
		tgt_create "$name" "0 $rsz aurora aes-xts-plain64 :64:logon:$desc 0 /dev/ram0 0$topt"
		ktap_check "brd, $ss-byte units: fio randwrite iodepth 32, 2 jobs, verified at depth 32" \
			fio --name=brd --filename="/dev/mapper/$name" --rw=randwrite --bs=$bs \
			--size=8M --offset_increment=8M --numjobs=2 --direct=1 \
			--ioengine=libaio --iodepth=32 --verify=crc32c --verify_fatal=1 \
			--do_verify=1 --randrepeat=0 --output=/dev/stderr
		tgt_read "/dev/mapper/$name" "$TGT_TMP/brd-a" $((16 * 1024 * 1024))
		tgt_remove "$name"
		cname=$(uniq "crypt-brd-$ss")
		tgt_create "$cname" "0 $rsz crypt aes-xts-plain64 :64:logon:$desc 0 /dev/ram0 0$topt"
		tgt_read "/dev/mapper/$cname" "$TGT_TMP/brd-c" $((16 * 1024 * 1024))
		tgt_remove "$cname"
		ktap_check "brd, $ss-byte units: dm-crypt reads the same 16 MiB" \
			cmp "$TGT_TMP/brd-a" "$TGT_TMP/brd-c"
	done
else
	ktap_fail "brd: a ramdisk as the lower device"
	for ss in 512 4096; do
		ktap_skip "brd, $ss-byte units: fio randwrite iodepth 32, 2 jobs, verified at depth 32" "no brd"
		ktap_skip "brd, $ss-byte units: dm-crypt reads the same 16 MiB" "no brd"
	done
fi

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
