#!/bin/bash
# Guest side of 'make bench': fio on a brd ramdisk through the raw device,
# dm-crypt (default flags, and no_read_workqueue+no_write_workqueue) and
# dm-aurora, with 512- and 4096-byte crypto sectors; the same key, the same
# data and the same jobs, interleaved (every configuration once per round,
# in a rotated order), several rounds.  Then the cipher's own limit from
# tcrypt.  Output: lines 'BENCH <json>' and the tcrypt lines, parsed on the
# host by tests/bench/report.py.
set -u
BENCH_TAG=bench
. /bench/lib.inc
SIZE_MB=$(opt size_mb 256)
REPS=$(opt reps 3)
RUNTIME=$(opt runtime 4)
JOBS=$(opt jobs "rr4k-qd1,rw4k-qd1,rr4k-qd32,rw4k-qd32,sr1m,sw1m")
CONFIGS=$(opt configs "raw,crypt-512,crypt-nowq-512,aurora-512,crypt-4k,crypt-nowq-4k,aurora-4k")
TCRYPT=$(opt tcrypt 1)
bench_setup "$SIZE_MB" || exit 1

# cpu_sampler: the aggregate 'cpu' line of /proc/stat, after the time in ms,
# every 0.25 s until killed.
cpu_sampler() {
	local l
	while :; do
		read -r l < /proc/stat
		echo "$((${EPOCHREALTIME/./} / 1000)) $l"
		sleep 0.25
	done
}

# cpu_busy LOG END_MS SPAN_MS: the share of all CPUs' time (0-1) that was not
# idle between the first and the last sample of LOG within the SPAN_MS
# before END_MS (fio's measured span), or null if there are too few.
cpu_busy() {
	awk -v end="$2" -v span="$3" '
	$1 >= end - span && $1 <= end {
		tot = 0
		for (i = 3; i <= 10 && i <= NF; i++) tot += $i
		idle = $6 + $7
		if (!n++) { t0 = tot; i0 = idle }
		t1 = tot; i1 = idle
	}
	END {
		if (n < 2 || t1 <= t0) print "null"
		else printf "%.4f\n", 1 - (i1 - i0) / (t1 - t0)
	}' "$1"
}

IFS=, read -r -a jobs <<< "$JOBS"
IFS=, read -r -a configs <<< "$CONFIGS"
n=${#configs[@]}
for ((rep = 1; rep <= REPS; rep++)); do
	for job in "${jobs[@]}"; do
		for ((i = 0; i < n; i++)); do
			# Rotate the order each round so no configuration always
			# runs first (or right after the same neighbour).
			cfg=${configs[$(((i + rep + ${#job}) % n))]}
			target=$dev
			if [ "$cfg" != raw ]; then
				name=bench-$cfg
				bench_table "$cfg" | dmsetup create "$name" || { log "dmsetup create $cfg failed"; exit 1; }
				target=/dev/mapper/$name
			fi
			cpu_sampler > /tmp/cpu.log &
			spid=$!
			# shellcheck disable=SC2046
			out=$(fio --name="$job" --filename="$target" --direct=1 --ioengine=libaio \
				--time_based --runtime="$RUNTIME" --ramp_time=1 --norandommap \
				--randrepeat=0 --size="${SIZE_MB}M" --lat_percentiles=1 --output-format=json \
				$(bench_fio_args "$job") 2>/dev/null)
			kill "$spid"
			wait "$spid" 2>/dev/null
			[ "$cfg" != raw ] && dmsetup remove "$name"
			flat=$(echo "$out" | tr -d '\n ')
			bw=$(echo "$flat" | grep -o '"bw_bytes":[0-9]*' | cut -d: -f2 | sort -n | tail -n 1)
			end=$(echo "$flat" | grep -o '"timestamp_ms":[0-9]*' | head -n 1 | cut -d: -f2)
			span=$(echo "$flat" | grep -o '"job_runtime":[0-9]*' | head -n 1 | cut -d: -f2)
			busy=$(cpu_busy /tmp/cpu.log "${end:-0}" "${span:-0}")
			# One compact record: the host extracts the fields it needs.
			printf 'BENCH {"rep":%d,"job":"%s","config":"%s","cpu_busy":%s,"fio":%s}\n' \
				"$rep" "$job" "$cfg" "$busy" "$(echo "$out" | tr -d '\n')"
			log "rep $rep $job $cfg: $((${bw:-0} / 1048576)) MiB/s"
		done
	done
done

if [ "$TCRYPT" = 1 ]; then
	log "tcrypt mode=500 (async skcipher speed, every cipher; takes minutes)"
	dmesg -c > /dev/null
	modprobe tcrypt mode=500 sec=1 2>/dev/null
	dmesg | sed 's/^/TCRYPT /'
fi
log "done"
