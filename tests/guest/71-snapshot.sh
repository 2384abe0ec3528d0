#!/bin/bash
# Snapshots of an open volume on LVM thin storage: taken while fio writes
# with verify on the mounted ext4, the snapshot backs up and restores to a
# consistent filesystem (journal replayed on mount, then fsck -n clean) with
# the files written before it intact; the live volume is unaffected (fio's
# verify passes, files intact).  Backup of the open volume goes through a
# temporary snapshot, removed afterwards.  A volume not on thin LVM gets a
# clear error.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 32
dmesg_mark
ag_modules >&2
modprobe dm-thin-pool 2>/dev/null
modprobe dm-snapshot 2>/dev/null

B=$AG_TMP/bk
mkdir -p "$B"
vg=aurvg$$
pv=$(ag_loop 192)
on_exit "lvm vgremove -q -f $vg; lvm pvremove -q -f $pv"
thin() {
	lvm pvcreate -q "$pv" && lvm vgcreate -q "$vg" "$pv" &&
		lvm lvcreate -q -L 128M -T "$vg/pool" &&
		lvm lvcreate -q -V 48M -T "$vg/pool" -n vol
}
ktap_check "LVM thin pool and a 48 MiB thin LV (no udev)" thin
dev=/dev/mapper/$vg-vol
ktap_check "thin LV device node exists" test -b "$dev"
name=$(uniq snapvol)
ag_cleanup_on_exit "$name"
on_exit "dmsetup resume $name 2>/dev/null"
mnt=/mnt/$name
mkdir -p "$mnt"
setup() {
	aurora format "$dev" --yes && aurora open "$dev" "$name" &&
		mkfs.ext4 -q "/dev/mapper/$name" && mount "/dev/mapper/$name" "$mnt" &&
		dd if=/dev/urandom of="$mnt/stable1" bs=64k count=32 status=none &&
		seq 1 30000 > "$mnt/stable2" && sync &&
		(cd "$mnt" && sha256sum stable1 stable2) > "$AG_TMP/sums"
}
ktap_check "aurora volume on the thin LV, ext4 mounted, files written" setup
uuid=$(ag_uuid "$dev")

# Not on thin LVM: a clear error.
loop=$(ag_loop 16)
lname=$(uniq snaploop)
ag_cleanup_on_exit "$lname"
aurora format "$loop" --yes >&2 && aurora open "$loop" "$lname" >&2
aurora snapshot create "$lname" nope > /dev/null 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "snapshot of a volume on a loop device: refused (exit 2) saying what snapshots need" \
	"$([ $rc = 2 ] && grep -q "LVM thin logical volume" "$AG_TMP/err"; echo $?)"
ktap_check "the refused volume is still usable (not left suspended)" \
	dd if="/dev/mapper/$lname" of=/dev/null bs=4k count=1 iflag=direct status=none
aurora close "$lname" >&2
ktap_check "snapshot of a mapping that does not exist: refused" bash -c "! aurora snapshot create no-such-$$ s 2>/dev/null"
ktap_check "bad snapshot name refused" bash -c "! aurora snapshot create $name '-bad' 2>/dev/null"

# Snapshot under load.
fio --name=load --filename="$mnt/fio.dat" --size=8M --rw=randwrite --bs=4k \
	--ioengine=psync --verify=crc32c --do_verify=1 --time_based --runtime=25 \
	--fsync=16 --output="$AG_TMP/fio.out" >/dev/null 2>&1 &
fio_pid=$!
sleep 4
ktap_check "snapshot create while fio writes" timeout 200 aurora snapshot create "$name" snap1
ktap_check "the live volume is not left suspended" \
	bash -c "[ \"\$(dmsetup info -c --noheadings -o attr $name | cut -c3)\" != s ]"
wait "$fio_pid"
rc=$?
tail -n 5 "$AG_TMP/fio.out" >&2
ktap_result "fio with verify on the live volume passes across the snapshot" "$rc"
ktap_check "live volume: files intact" bash -c "cd $mnt && sha256sum -c $AG_TMP/sums"
list=$(aurora snapshot list)
note "$list"
ktap_result "snapshot list shows $vg/snap1 of volume $uuid" \
	"$(grep -q "^$vg/snap1 .*$uuid" <<< "$list"; echo $?)"
j=$(aurora --json snapshot list | tr -d ' \n')
ktap_result "snapshot list --json: origin vol, active" \
	"$([[ "$j" == *'"snapshot":"snap1","origin":"vol"'* && "$j" == *'"active":true'* ]]; echo $?)"
ktap_check "the snapshot device holds the same volume header (ciphertext, same key)" \
	bash -c "[ \"\$(aurora status /dev/mapper/$vg-snap1 --json | grep -o '\"uuid\":\"[^\"]*\"' | head -n 1)\" = '\"uuid\":\"$uuid\"' ]"

# Back up the snapshot, restore it, check it.
ktap_check "backup of the snapshot" aurora backup "/dev/mapper/$vg-snap1" "$B/snap1.bak"
ktap_check "backup verify" aurora backup verify "$B/snap1.bak"
r1=$(ag_loop 52)
ktap_check "restore of the snapshot backup" aurora restore "$B/snap1.bak" "$r1"
rname=$(uniq snaprest)
ag_cleanup_on_exit "$rname"
consistent() {
	local ok=0
	aurora open "$1" "$rname" || return 1
	mkdir -p "/mnt/$rname"
	# A crash-consistent image: mounting replays the journal.
	if mount "/dev/mapper/$rname" "/mnt/$rname"; then
		(cd "/mnt/$rname" && sha256sum -c "$AG_TMP/sums") || ok=1
		umount "/mnt/$rname" || ok=1
	else
		ok=1
	fi
	e2fsck -f -n "/dev/mapper/$rname" || ok=1
	aurora close "$rname" || ok=1
	return $ok
}
ktap_check "restored snapshot: journal replays, files intact, fsck -n clean" consistent "$r1"

# Backup of the open volume itself: through a temporary snapshot.
ktap_check "backup of the open volume (temporary snapshot)" aurora backup "$name" "$B/live.bak"
ktap_check "... verifies" aurora backup verify "$B/live.bak"
ktap_result "... and the temporary snapshot is gone" \
	"$(aurora snapshot list | grep -q aurora-backup; [ $? -ne 0 ]; echo $?)"
r2=$(ag_loop 52)
ktap_check "restore of the live backup" aurora restore "$B/live.bak" "$r2"
ktap_check "restored live backup: files intact, fsck -n clean" consistent "$r2"
ktap_check "backup of the open volume by its device path works too" aurora backup "$dev" "$B/live2.bak"

# Interrupted: SIGTERM while the backup of the open volume waits on a full
# pipe.  The temporary snapshot goes, then the signal takes its course.
mkfifo "$AG_TMP/fifo"
aurora backup "$name" - > "$AG_TMP/fifo" 2> "$AG_TMP/int.err" &
bpid=$!
exec 9< "$AG_TMP/fifo"
i=0
until aurora snapshot list | grep -q "aurora-backup-$bpid" || [ $i -ge 600 ]; do
	sleep 0.1; i=$((i + 1))
done
ktap_result "a backup of the open volume writing into a pipe nobody reads: its temporary snapshot exists" \
	"$(aurora snapshot list | grep -q "aurora-backup-$bpid"; echo $?)"
kill -TERM "$bpid"
cat <&9 > /dev/null
exec 9<&-
wait "$bpid"
rc=$?
note "interrupted backup: exit $rc: $(cat "$AG_TMP/int.err")"
ktap_result "SIGTERM: the backup ends by the signal (exit $rc)" "$([ $rc = 143 ]; echo $?)"
ktap_result "... and its temporary snapshot is gone" \
	"$(aurora snapshot list | grep -q aurora-backup; [ $? -ne 0 ]; echo $?)"

# Delete.
ktap_check "snapshot delete" aurora snapshot delete snap1
ktap_result "snapshot list is empty" "$([ -z "$(aurora snapshot list)" ]; echo $?)"
ktap_check "delete of a snapshot that does not exist: refused" bash -c "! aurora snapshot delete snap1 2>/dev/null"
ktap_check "live volume still intact at the end" bash -c "cd $mnt && sha256sum -c $AG_TMP/sums"
umount "$mnt"
aurora close "$name" >&2
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
