#!/bin/bash
# Guest side of 'make bench' for backups (BENCH_BACKUP): aurora backup and
# aurora restore against dd of the raw device on the same storage, the
# ceiling.  Two brd ramdisks of SIZE_MB: the source volume (formatted with
# the embedded KMS, filled with random data through the mapping, closed)
# and the restore target; the backup file and dd's image on tmpfs.  Each
# round, interleaved, in an order reversed every other round:
#   dd-read   dd of the source ramdisk (O_DIRECT) to a file on tmpfs
#   backup    aurora backup of the closed volume to a file on tmpfs
#   dd-write  dd of that image to the target ramdisk (O_DIRECT, fsync)
#   restore   aurora restore of the backup onto the target ramdisk
# Caches are dropped before each step.  Output: one line
# 'BACKUPBENCH <json>' per step ({"round", "op", "bytes", "ns"}), parsed
# on the host by tests/bench/backup-report.py.
set -u
BENCH_TAG=bench-backup
. /bench/lib.inc
SIZE_MB=$(opt size_mb 256)
REPS=$(opt backup_reps 5)

modprobe dm-mod 2> /dev/null
modprobe dm-aurora || { log "no dm-aurora module"; exit 1; }
modprobe brd rd_nr=2 rd_size=$((SIZE_MB * 1024)) max_part=0 || { log "brd failed"; exit 1; }
command -v aurora > /dev/null || { log "no aurora binary (make -C agent all)"; exit 1; }
src=/dev/ram0
dst=/dev/ram1
work=/tmp/bench-backup
rm -rf "$work" && mkdir -p "$work" || exit 1
export AURORA_CONF=$work/aurora.conf
printf 'keystore = %s/ks\naccount = 111122223333\nregion = eu-west-1\n' "$work" > "$AURORA_CONF"

log "format $src ($SIZE_MB MiB), fill it with random data through the mapping"
aurora format "$src" --yes > /dev/null || { log "format failed"; exit 1; }
aurora open "$src" bench-bk > /dev/null || { log "open failed"; exit 1; }
dd if=/dev/urandom of=/dev/mapper/bench-bk bs=1M oflag=direct status=none 2> /dev/null
aurora close bench-bk || { log "close failed"; exit 1; }
bytes=$(blockdev --getsize64 "$src")

# step ROUND OP CMD...: run CMD after dropping caches, print its record.
step() {
	local r=$1 op=$2 t0 t1 ns
	shift 2
	sync
	echo 3 > /proc/sys/vm/drop_caches
	t0=$EPOCHREALTIME
	if ! "$@" > "$work/step.log" 2>&1; then
		log "round $r: $op failed: $(tail -n 3 "$work/step.log" | tr '\n' ' ')"
		return 1
	fi
	t1=$EPOCHREALTIME
	ns=$(( (${t1%.*} - ${t0%.*}) * 1000000000 + (10#${t1#*.} - 10#${t0#*.}) * 1000 ))
	printf 'BACKUPBENCH {"round":%d,"op":"%s","bytes":%s,"ns":%s}\n' "$r" "$op" "$bytes" "$ns"
}
dd_read() { dd if="$src" of="$work/raw.img" bs=1M iflag=direct status=none; }
backup() { aurora backup "$src" "$work/vol.bak" --quiet --force; }
dd_write() { dd if="$work/raw.img" of="$dst" bs=1M oflag=direct conv=fsync status=none; }
restore() { aurora restore "$work/vol.bak" "$dst" --yes --quiet; }

for ((r = 1; r <= REPS; r++)); do
	log "round $r of $REPS"
	# Reading pair, then writing pair: aurora first on even rounds.
	if ((r % 2)); then
		step "$r" dd-read dd_read && step "$r" backup backup
		step "$r" dd-write dd_write && step "$r" restore restore
	else
		step "$r" backup backup && step "$r" dd-read dd_read
		step "$r" restore restore && step "$r" dd-write dd_write
	fi
done
# A restore (untimed: a round may end with dd-write) holds the source's data.
ok=1
restore && aurora open "$dst" bench-rs > /dev/null && aurora open "$src" bench-bk > /dev/null &&
	cmp /dev/mapper/bench-bk /dev/mapper/bench-rs || ok=0
aurora close bench-rs 2> /dev/null
aurora close bench-bk 2> /dev/null
echo "BACKUPCHECK {\"restored_identical\":$([ $ok = 1 ] && echo true || echo false)}"
rm -rf "$work"
log "done"
