#!/bin/bash
# Guest side of 'make bench': fio on a brd ramdisk (or null_blk:
# bench.lower, tests/bench/lib.inc) through the raw device,
# dm-crypt (default flags, and no_read_workqueue+no_write_workqueue) and
# dm-aurora, with 512- and 4096-byte crypto sectors; the same key, the same
# data and the same jobs, interleaved (every configuration once per round,
# the ones compared next to each other, in an order that changes each
# round), several rounds.  Then the cipher's own limit from
# tcrypt.  Output: one line 'BENCHSET <json>' per job, dm-aurora's counters
# ('DMSTATUS') and the tcrypt lines, parsed on the host by
# tests/bench/report.py.
set -u
BENCH_TAG=bench
. /bench/lib.inc
SIZE_MB=$(opt size_mb 256)
REPS=$(opt reps 12)
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
# completed).
aurora_status() {
	local cfg
	for cfg in "${configs[@]}"; do
		case "$cfg" in
		aurora-*) echo "DMSTATUS $1 $2 $cfg $(dmsetup status "bench-$cfg")" ;;
		esac
	done
}

# The configurations that are compared run next to each other: one group
# per crypto sector size, dm-crypt default, dm-aurora and dm-crypt nowq in
# that order (dm-aurora next to both), any other configuration (raw) a group
# of its own.
groups=()
declare -A grouped
for cfg in "${configs[@]}"; do
	[ -n "${grouped[$cfg]:-}" ] && continue
	case "$cfg" in
	crypt-nowq-*) s=${cfg#crypt-nowq-} ;;
	crypt-* | aurora-*) s=${cfg#*-} ;;
	*) groups+=("$cfg"); grouped[$cfg]=1; continue ;;
	esac
	g=""
	for c in "crypt-$s" "aurora-$s" "crypt-nowq-$s"; do
		[ -n "${target[$c]:-}" ] || continue
		g="$g${g:+ }$c"
		grouped[$c]=1
	done
	groups+=("$g")
done
ng=${#groups[@]}

# One fio run per job, its sections back to back: for each round every
# configuration once.  The groups' order is rotated each round, and the
# order inside a group reversed every other round (A B C, then C B A), so
# that no configuration always runs first or always runs right after
# another.  Sections of a few seconds, with no process start between them,
# keep the configurations compared close in time: the guest's speed drifts
# with the host's load over seconds.  Each section's CPU use comes from
# /proc/stat read by fio right before and after it (exec_prerun/exec_postrun
# write <section>.prerun.txt/.postrun.txt).
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
			for ((i = 0; i < ng; i++)); do
				read -r -a members <<< "${groups[$(((i + rep + ${#job}) % ng))]}"
				m=${#members[@]}
				for ((j = 0; j < m; j++)); do
					cfg=${members[$((rep % 2 ? j : m - 1 - j))]}
					printf '[r%d-%s]\nstonewall\nfilename=%s\n' "$rep" "$cfg" "${target[$cfg]}"
				done
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
