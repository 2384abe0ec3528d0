#!/bin/bash
# Guest side of 'make bench': fio on a brd ramdisk through the raw device,
# dm-crypt (default flags, and no_read_workqueue+no_write_workqueue) and
# dm-aurora, with 512- and 4096-byte crypto sectors; the same key, the same
# data and the same jobs, interleaved (every configuration once per round,
# in a rotated order), several rounds.  Then the cipher's own limit from
# tcrypt.  Output: one line 'BENCHSET <json>' per job, dm-aurora's counters
# ('DMSTATUS') and the tcrypt lines, parsed on the host by
# tests/bench/report.py.
set -u
BENCH_TAG=bench
. /bench/lib.inc
SIZE_MB=$(opt size_mb 256)
REPS=$(opt reps 8)
RUNTIME=$(opt runtime 2)
RAMP=$(opt ramp 1)
JOBS=$(opt jobs "rr4k-qd1,rw4k-qd1,rr4k-qd32,rw4k-qd32,sr1m,sw1m")
CONFIGS=$(opt configs "raw,crypt-512,crypt-nowq-512,aurora-512,crypt-4k,crypt-nowq-4k,aurora-4k")
TCRYPT=$(opt tcrypt 1)
bench_setup "$SIZE_MB" || exit 1

# stat_busy PRE POST: the share of all CPUs' time (0-1) that was not idle
# between two copies of the aggregate 'cpu' line of /proc/stat, or null.
stat_busy() {
	if [ ! -s "$1" ] || [ ! -s "$2" ]; then
		echo null
		return
	fi
	cat "$1" "$2" | awk '
	{
		tot = 0
		for (i = 2; i <= 9 && i <= NF; i++) tot += $i
		t[NR] = tot; idle[NR] = $5 + $6
	}
	END {
		if (NR != 2 || t[2] <= t[1]) print "null"
		else printf "%.4f\n", 1 - (idle[2] - idle[1]) / (t[2] - t[1])
	}'
}

# Every configuration's device, for the whole run.
IFS=, read -r -a configs <<< "$CONFIGS"
n=${#configs[@]}
declare -A target
for cfg in "${configs[@]}"; do
	if [ "$cfg" = raw ]; then
		target[$cfg]=$dev
		continue
	fi
	bench_table "$cfg" | dmsetup create "bench-$cfg" || { log "dmsetup create $cfg failed"; exit 1; }
	target[$cfg]=/dev/mapper/bench-$cfg
done

# dm-aurora's counters before and after each job: 'DMSTATUS <job> <when>
# <config> <dmsetup status line>'; the host takes the difference (bios
# handed off to other CPUs, shared with a helper).
aurora_status() {
	local cfg
	for cfg in "${configs[@]}"; do
		case "$cfg" in
		aurora-*) echo "DMSTATUS $1 $2 $cfg $(dmsetup status "bench-$cfg")" ;;
		esac
	done
}

# One fio run per job, its sections back to back: for each round every
# configuration once, in an order rotated each round so that none always
# runs first or after the same neighbour.  Sections of a few seconds, with
# no process start between them, keep the configurations compared close in
# time: the guest's speed drifts with the host's load over seconds.  Each
# section's CPU use comes from /proc/stat read by fio right before and after
# it (exec_prerun/exec_postrun write <section>.prerun.txt/.postrun.txt).
IFS=, read -r -a jobs <<< "$JOBS"
work=/tmp/bench-fio
for job in "${jobs[@]}"; do
	rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
	{
		echo "[global]"
		printf '%s\n' direct=1 ioengine=libaio time_based "runtime=$RUNTIME" \
			"ramp_time=$RAMP" norandommap randrepeat=0 "size=${SIZE_MB}M" \
			lat_percentiles=1 "exec_prerun=head -n 1 /proc/stat" \
			"exec_postrun=head -n 1 /proc/stat"
		for a in $(bench_fio_args "$job"); do echo "${a#--}"; done
		for ((rep = 1; rep <= REPS; rep++)); do
			for ((i = 0; i < n; i++)); do
				cfg=${configs[$(((i + rep + ${#job}) % n))]}
				printf '[r%d-%s]\nstonewall\nfilename=%s\n' "$rep" "$cfg" "${target[$cfg]}"
			done
		done
	} > job.fio
	log "$job: $REPS rounds of ${configs[*]}"
	aurora_status "$job" before
	if ! fio --output-format=json --output=out.json job.fio > fio.log 2>&1; then
		log "$job: fio failed: $(tail -n 3 fio.log | tr '\n' ' ')"
		continue
	fi
	aurora_status "$job" after
	busy=""
	for ((rep = 1; rep <= REPS; rep++)); do
		for cfg in "${configs[@]}"; do
			s=r$rep-$cfg
			busy="$busy${busy:+,}\"$s\":$(stat_busy "$s.prerun.txt" "$s.postrun.txt")"
		done
	done
	# One record per job: the host splits it by section name.
	printf 'BENCHSET {"job":"%s","cpu_busy":{%s},"fio":%s}\n' \
		"$job" "$busy" "$(tr -d '\n' < out.json)"
	log "$job: done"
done
cd /
for cfg in "${configs[@]}"; do
	[ "$cfg" != raw ] && dmsetup remove "bench-$cfg"
done

if [ "$TCRYPT" = 1 ]; then
	log "tcrypt mode=500 (async skcipher speed, every cipher; takes minutes)"
	dmesg -c > /dev/null
	modprobe tcrypt mode=500 sec=1 2>/dev/null
	dmesg | sed 's/^/TCRYPT /'
fi
log "done"
