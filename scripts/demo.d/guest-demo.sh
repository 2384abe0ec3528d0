#!/bin/bash
# The dm-aurora demo, run inside the QEMU guest by scripts/demo.
# Every step says what it shows and checks that it behaved as narrated;
# the first step that does not makes the demo fail (exit 1).
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin DM_DISABLE_UDEV=1
DEV=/dev/vdb
NAME=demo
MNT=/mnt/demo
SECRET="Quarterly results: revenue up 42% - CONFIDENTIAL $(date +%s)"
n=0
state() { dmsetup status "$NAME" | awk '{ print $4 }'; }

say() { printf '\n\033[1m[%d] %s\033[0m\n' "$((n += 1))" "$*"; }
run() { printf '  $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/    /'; return "${PIPESTATUS[0]}"; }
good() { printf '  \033[32mOK\033[0m  %s\n' "$*"; }
die() { printf '  \033[31mFAILED\033[0m  %s\n' "$*"; exit 1; }

mkdir -p /etc/aurora /var/lib/aurora "$MNT"
cat > /etc/aurora/aurora.conf <<CONF
# Embedded KMS: one host, no network.
provider = local
account  = 111122223333
region   = eu-west-1
keystore = /var/lib/aurora/kms
interval = 2
# A loss counts after 2 passes in a row; then the volume is inaccessible and
# recoverable for 20 s (production: 3 passes, 7 days) before it is terminal.
confirm_passes = 2
recovery_window = 20s
CONF
modprobe dm-aurora || die "cannot load dm-aurora"

say "Create a customer master key (CMK) in the embedded KMS"
out=$(aurora kms create-key --description "demo cluster CMK" --json) || die "create-key failed"
KEY=$(echo "$out" | tr -d ' \n' | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p')
[ -n "$KEY" ] || die "no KeyId in: $out"
run aurora kms create-alias --alias-name alias/demo-cluster --target-key-id "$KEY" || die "create-alias failed"
run aurora kms describe-key --key-id alias/demo-cluster || die "describe-key failed"
good "CMK $KEY, alias alias/demo-cluster"

say "Format $DEV: a new 512-bit data key (DEK), wrapped by the CMK, kept only in the header"
run aurora format "$DEV" --kms-key-id alias/demo-cluster --yes || die "format failed"
run aurora status "$DEV" || die "status failed"
good "volume formatted"

say "Open it: the agent unwraps the DEK through the KMS and hands it to the kernel keyring"
run aurora open "$DEV" "$NAME" || die "open failed"
run dmsetup table "$NAME"
dmsetup table "$NAME" | grep -q ':64:logon:' || die "the table does not reference a keyring key"
good "the table names a keyring key (:64:logon:...), never the key itself"

say "Make an ext4 filesystem on /dev/mapper/$NAME and write a file"
run mkfs.ext4 -q -F "/dev/mapper/$NAME" || die "mkfs failed"
run mount "/dev/mapper/$NAME" "$MNT" || die "mount failed"
echo "$SECRET" > "$MNT/report.txt"
run cat "$MNT/report.txt"
run umount "$MNT" || die "umount failed"
good "file written"

say "The raw device holds no plaintext"
printf '  $ grep -c "Quarterly results" %s\n' "$DEV"
hits=$(grep -a -c "Quarterly results" "$DEV")
echo "    $hits"
[ "$hits" = 0 ] || die "plaintext found on the raw device"
good "only ciphertext on $DEV"

say "Close, reopen, read it back"
run aurora close "$NAME" || die "close failed"
run aurora open "$DEV" "$NAME" || die "reopen failed"
run mount "/dev/mapper/$NAME" "$MNT" || die "mount after reopen failed"
run cat "$MNT/report.txt"
[ "$(cat "$MNT/report.txt")" = "$SECRET" ] || die "the file did not read back"
run umount "$MNT"
good "data intact across close and reopen"

say "Back up the closed volume: its header and ciphertext, no key needed"
BAK=/var/backups/demo.bak
mkdir -p /var/backups
run aurora close "$NAME" || die "close failed"
run aurora backup "$DEV" "$BAK" || die "backup failed"
run aurora backup verify "$BAK" || die "backup verify failed"
printf '  $ grep -c "Quarterly results" %s\n' "$BAK"
hits=$(grep -a -c "Quarterly results" "$BAK")
echo "    $hits"
[ "$hits" = 0 ] || die "plaintext found in the backup"
run aurora open "$DEV" "$NAME" || die "reopen after the backup failed"
good "backup $BAK verified: ciphertext only"

say "Start the watching agent (checks the CMK every 2 s), then disable the CMK"
aurora agent --interval 2 > /tmp/agent.log 2>&1 &
AGENT=$!
sleep 3
run aurora kms disable-key --key-id alias/demo-cluster || die "disable-key failed"
wait_state() {	# wait_state STATE SECONDS
	printf '  waiting for the agent (%s)' "$1"
	for _ in $(seq 1 "$2"); do
		[ "$(state)" = "$1" ] && break
		printf '.'
		sleep 1
	done
	echo
	[ "$(state)" = "$1" ]
}
wait_state inaccessible 60 || die "the volume did not go inaccessible"
run dmsetup status "$NAME"
run aurora status "$NAME"
good "two passes confirmed the loss: inaccessible, I/O fails, recoverable for 20 s"

say "Access comes back within the window: the agent recovers the volume"
run aurora kms enable-key --key-id alias/demo-cluster || die "enable-key failed"
wait_state active 60 || die "the volume did not come back"
run fsck.ext4 -n "/dev/mapper/$NAME" || die "the filesystem is not clean"
good "active again: the key was unwrapped, set and the device resumed, data intact"

say "Disable the CMK again and let the recovery window run out"
run aurora kms disable-key --key-id alias/demo-cluster || die "disable-key failed"
wait_state inaccessible 60 || die "the volume did not go inaccessible"
wait_state terminal 90 || die "the volume did not go terminal"
sed 's/^/    agent: /' /tmp/agent.log | tail -n 3
run dmsetup status "$NAME"
good "the window ran out: the agent made the volume terminal"

say "A terminal volume: I/O fails with EIO, status says terminal, open is refused"
printf '  $ dd if=/dev/mapper/%s of=/dev/null bs=4k count=1 iflag=direct\n' "$NAME"
if dd if="/dev/mapper/$NAME" of=/dev/null bs=4k count=1 iflag=direct 2>/tmp/dd.err; then
	die "a read from a terminal volume succeeded"
fi
sed 's/^/    /' /tmp/dd.err
grep -q 'Input/output error' /tmp/dd.err || die "the read did not fail with EIO"
run aurora status "$NAME"
run aurora close "$NAME" || die "close of a terminal volume failed"
printf '  $ aurora kms enable-key --key-id alias/demo-cluster   # too late\n'
aurora kms enable-key --key-id alias/demo-cluster >/dev/null 2>&1
printf '  $ aurora open %s %s\n' "$DEV" "$NAME"
aurora open "$DEV" "$NAME" > /tmp/open.out 2>&1
rc=$?
sed 's/^/    /' /tmp/open.out
[ "$rc" -ne 0 ] || die "a terminal volume was opened"
good "open refused (exit $rc): the way back is aurora restore from a backup"
kill "$AGENT" 2>/dev/null

say "The way out of terminal: restore the backup onto a new disk (the CMK is usable again)"
modprobe loop 2>/dev/null
truncate -s 64M /tmp/restore.img
RDEV=$(losetup -f --show /tmp/restore.img) || die "no loop device"
run aurora restore "$BAK" "$RDEV" || die "restore failed"
run aurora status "$RDEV" || die "status of the restored volume failed"
run aurora open "$RDEV" demo-restored || die "open of the restored volume failed"
run e2fsck -f -n /dev/mapper/demo-restored || die "fsck of the restored volume is not clean"
run mount /dev/mapper/demo-restored "$MNT" || die "mount of the restored volume failed"
run cat "$MNT/report.txt"
[ "$(cat "$MNT/report.txt")" = "$SECRET" ] || die "the restored file differs"
run umount "$MNT"
run aurora close demo-restored
good "a new volume, restored from the backup, with the data intact"

printf '\n\033[1mDemo complete: every step behaved as narrated.\033[0m\n'
