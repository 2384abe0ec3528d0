#!/bin/bash
# Guest side of scripts/bench-profile: where the CPU time goes on a brd
# ramdisk for 4 KiB I/O at queue depth 1 and for 1 MiB sequential I/O,
# through dm-crypt's faster configuration for each job and dm-aurora, with
# 4096- and 512-byte sectors.  perf samples every CPU on the cpu-clock
# software event (TCG has no PMU) while fio runs; the host
# (tests/bench/profile-report.py) groups the samples by where they fell.
# Output: 'PROFRUN <json>' per run and 'PERF <cfg> <job> <line>' for every
# line of 'perf report -n --sort dso,sym'.
set -u
BENCH_TAG=profile
. /bench/lib.inc
SIZE_MB=$(opt size_mb 64)
RUNTIME=$(opt runtime 4)
FREQ=$(opt freq 999)
# Rounds: every configuration profiled once per round, in an order rotated
# each round; the report adds up the samples and I/Os of all rounds.
ROUNDS=$(opt rounds 1)
JOBS=$(opt jobs "rr4k-qd1,rw4k-qd1,sr1m,sw1m")
# By default each job against dm-crypt's faster configuration for it: nowq
# at queue depth 1, the default (workqueues) for 1 MiB.
CONFIGS=$(opt configs "")
default_configs() {
	case "$1" in
	s*) echo "crypt-4k,aurora-4k,crypt-512,aurora-512" ;;
	*)  echo "raw,crypt-nowq-4k,aurora-4k,crypt-nowq-512,aurora-512" ;;
	esac
}
command -v perf chrt > /dev/null || { log "no perf or chrt in the guest image"; exit 1; }
bench_setup "$SIZE_MB" || exit 1
echo -1 > /proc/sys/kernel/perf_event_paranoid
echo 0 > /proc/sys/kernel/kptr_restrict

IFS=, read -r -a jobs <<< "$JOBS"
for job in "${jobs[@]}"; do
	IFS=, read -r -a configs <<< "${CONFIGS:-$(default_configs "$job")}"
	n=${#configs[@]}
	for ((round = 0; round < ROUNDS; round++)); do
		for ((i = 0; i < n; i++)); do
			cfg=${configs[$(((i + round) % n))]}
			target=$dev
			if [ "$cfg" != raw ]; then
				bench_table "$cfg" | dmsetup create "prof-$cfg" || { log "dmsetup create $cfg failed"; exit 1; }
				target=/dev/mapper/prof-$cfg
			fi
			# Samples only from the steady state: fio starts (its start-up
			# is long under TCG), runs a 2 s ramp, then perf records for
			# RUNTIME seconds while fio measures the same span.
			# shellcheck disable=SC2046
			fio --name="$job" --filename="$target" --direct=1 --ioengine=libaio \
				--time_based --ramp_time=2 --runtime="$((RUNTIME + 1))" \
				--norandommap --randrepeat=0 --size="${SIZE_MB}M" \
				--output-format=json $(bench_fio_args "$job") > /tmp/fio.json 2>/dev/null &
			fpid=$!
			sleep 3
			# perf at a real-time priority: its start-up (it reads every
			# process's maps) competes with jobs that keep both CPUs busy
			# (1 MiB), and at the normal priority it began sampling only
			# after fio had finished, profiling an idle guest.
			chrt -f 50 perf record -q -m 512 -e cpu-clock -F "$FREQ" -a \
				-o /tmp/perf.data -- sleep "$RUNTIME"
			wait $fpid
			[ "$cfg" != raw ] && dmsetup remove "prof-$cfg"
			iops=$(tr -d '\n ' < /tmp/fio.json | grep -o '"iops":[0-9.]*' | cut -d: -f2 | sort -n | tail -n 1)
			printf 'PROFRUN {"job":"%s","config":"%s","round":%d,"iops":%s,"window_s":%d,"freq":%d,"cpus":%d}\n' \
				"$job" "$cfg" "$round" "${iops:-0}" "$RUNTIME" "$FREQ" "$(nproc)"
			perf report -i /tmp/perf.data -n --stdio -q --sort dso,sym 2>/dev/null |
				sed -n "s/^ *\([0-9.]*%\)/PERF $cfg $job \1/p"
			# Which tasks the samples fell in, and their top symbols.
			perf report -i /tmp/perf.data -n --stdio -q --sort comm,sym 2>/dev/null |
				head -n 40 | sed -n "s/^ *\([0-9.]*%\)/PERFCOMM $cfg $job \1/p"
			log "$job $cfg: ${iops:-0} IOPS"
			rm -f /tmp/perf.data
		done
	done
done
log "done"
