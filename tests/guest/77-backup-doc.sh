#!/bin/bash
# The operator's procedures of Documentation/backup.md, run as written: each
# shell block marked '<!-- procedure: NAME -->' is taken from the document
# (copied into the guest as /tests/doc/backup.md) and run with bash -e -o
# pipefail, its placeholders ($CMK, $BACKUP, $DEST_CMK) set as the prose
# defines them.  The world the document assumes is built first: a thin pool
# vg/pool with the thin LVs vg/db (the volume 'db', ext4 with files),
# vg/db-new and vg/db-eu, the embedded KMS in us-east-1 (the copy's
# "destination host" is the same keystore configured for eu-west-1).  Every
# procedure's outcome is asserted: the files' checksums, fsck, lineage, the
# keystore brought back, the header put back, the way out of terminal.
# For the streaming example, 'aws s3 cp' is a stand-in (a directory as the
# bucket): the guest has no AWS CLI and no network.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 35
dmesg_mark
ag_modules >&2
modprobe dm-thin-pool 2> /dev/null
modprobe dm-snapshot 2> /dev/null

DOC=/tests/doc/backup.md
[ -r "$DOC" ] || { echo "Bail out! no $DOC in the guest"; exit 1; }
# proc NAME: the text of the procedure block NAME of the document.
proc() {
	awk -v want="<!-- procedure: $1 -->" '
		$0 == want { armed = 1; next }
		armed == 1 && /^```sh$/ { armed = 2; next }
		armed == 2 && /^```$/ { exit }
		armed == 2 { print }
		armed == 1 { exit 1 }' "$DOC"
}
# run_proc NAME: run the block NAME as written (bash -e, pipefail), its
# text and output as KTAP comments; true when every command succeeded.
# Its output is also kept in $AG_TMP/proc-NAME.out.
run_proc() {
	local text rc
	text=$(proc "$1") && [ -n "$text" ] || { note "no procedure '$1' in $DOC"; return 1; }
	note "procedure $1:"
	printf '%s\n' "$text" | sed 's/^/#   | /'
	bash -e -o pipefail -c "$text" > "$AG_TMP/proc-$1.out" 2>&1
	rc=$?
	sed 's/^/#   > /' "$AG_TMP/proc-$1.out" | head -n 40
	[ $rc = 0 ] || note "procedure $1: exit $rc"
	return $rc
}
# proc_check NAME [VAR VALUE]: run_proc NAME (with VAR exported as VALUE for
# it) as one test.
proc_check() {
	local desc="procedure $1 runs as written${4:+ ($4)}" r
	if [ -n "${2:-}" ]; then
		with_env "$2" "$3" run_proc "$1"
	else
		run_proc "$1"
	fi
	r=$?
	ktap_result "$desc" $r
}
# with_env VAR VALUE CMD...: CMD with VAR exported as VALUE, then VAR as it was.
with_env() {
	local var=$1 old=${!1} r
	export "$1=$2"
	shift 2
	"$@"
	r=$?
	export "$var=$old"
	return $r
}

# The embedded KMS, the source region us-east-1; one agent pass makes a
# lost CMK terminal (the inaccessible window: 52-verdicts.sh).
printf 'keystore = %s/ks\naccount = 111122223333\nregion = us-east-1\nconfirm_passes = 1\nrecovery_window = 0\n' \
	"$AG_TMP" > "$AURORA_CONF"
sed 's/^region = .*/region = eu-west-1/' "$AURORA_CONF" > "$AG_TMP/eu.conf"
export AURORA_CONF

# --- The world the document assumes -------------------------------------
if lvm vgs vg > /dev/null 2>&1 || [ -e /backups ] || [ -e /secure ] || [ -e /srv/db ]; then
	echo "Bail out! a VG 'vg', /backups, /secure or /srv/db exists already"
	exit 1
fi
pv=$(ag_loop 400)
on_exit "rm -rf /backups /secure /srv/db"
on_exit "lvm vgremove -q -f vg; lvm pvremove -q -f $pv"
on_exit "umount /srv/db 2>/dev/null; aurora close db 2>/dev/null; aurora close db-eu 2>/dev/null"
thin() {
	lvm pvcreate -q "$pv" && lvm vgcreate -q vg "$pv" &&
		lvm lvcreate -q -L 300M -T vg/pool &&
		for lv in db db-new db-eu; do lvm lvcreate -q -V 48M -T vg/pool -n $lv || return 1; done
	test -b /dev/vg/db && test -b /dev/vg/db-new && test -b /dev/vg/db-eu
}
ktap_check "thin pool vg/pool, thin LVs vg/db, vg/db-new, vg/db-eu" thin
CMK=$(aurora kms create-key --description db --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p')
export CMK
mkdir -p /mnt/doc
setup() {
	aurora format /dev/vg/db --kms-key-id "$CMK" --yes && aurora open /dev/vg/db db &&
		mkfs.ext4 -q /dev/mapper/db && mount /dev/mapper/db /mnt/doc &&
		dd if=/dev/urandom of=/mnt/doc/rand bs=64k count=64 status=none &&
		seq 1 40000 > /mnt/doc/seq && (cd /mnt/doc && sha256sum rand seq) > "$AG_TMP/sums" &&
		umount /mnt/doc
}
ktap_check "volume db on /dev/vg/db under $CMK: ext4 with files, open" setup
db_uuid=$(ag_uuid /dev/vg/db)
# files_ok DEV: DEV (a mapping) has a clean filesystem and the files.
files_ok() {
	e2fsck -f -n "$1" >&2 && mount -o ro "$1" /mnt/doc || return 1
	(cd /mnt/doc && sha256sum -c "$AG_TMP/sums") >&2
	local r=$?
	umount /mnt/doc
	return $r
}
mkdir -p /secure
( umask 077; echo 'correct horse battery staple' > /secure/passfile )

# --- A regular backup schedule ----------------------------------------------
BACKUP=/backups/db-$(date +%F).bak
export BACKUP
proc_check schedule
ktap_result "schedule: the day's backup and the header backup exist" \
	"$([ -s "$BACKUP" ] && [ -s /backups/db.hdr ]; echo $?)"
ktap_result "schedule: no temporary snapshot left" \
	"$(! lvm lvs --noheadings -o lv_name vg | grep -q aurora-backup; echo $?)"
# The object-storage stand-in, a function exported to the procedure's
# shell: 'aws s3 cp - s3://B/K' stores stdin, 'aws s3 cp s3://B/K -' prints it.
S3=$AG_TMP/s3
export S3
aws() {
	[ "$1 $2" = "s3 cp" ] || { echo "aws stand-in: only s3 cp" >&2; return 2; }
	case "$3 $4" in
	"- s3://"*) mkdir -p "$S3/$(dirname "${4#s3://}")" && cat > "$S3/${4#s3://}" ;;
	"s3://"*" -") cat "$S3/${3#s3://}" ;;
	*) echo "aws stand-in: s3 cp - s3://... or s3 cp s3://... -" >&2; return 2 ;;
	esac
}
export -f aws
proc_check schedule-stream "" "" "aws s3 cp: a stand-in"
ktap_result "schedule-stream: the object is a backup that verifies" \
	"$(f=$S3/bucket/db-$(date +%F).bak; [ -s "$f" ] && aurora backup verify "$f" --quiet >&2; echo $?)"
# The stream's reader gone mid-way (the upload failed): the backup fails
# with an error and removes its temporary snapshot (it was killed by
# SIGPIPE, leaving vg/aurora-backup-<pid> behind, before the CLI ignored it).
aurora backup db - 2> "$AG_TMP/pipe.err" | head -c 4096 > /dev/null
rcs=("${PIPESTATUS[@]}")
note "backup into a closed pipe: exit ${rcs[0]}: $(tr '\n' ' ' < "$AG_TMP/pipe.err")"
ktap_result "a stream whose reader goes away: the backup fails, no temporary snapshot left" \
	"$([ "${rcs[0]}" != 0 ] && [ "${rcs[0]}" -lt 128 ] && grep -qi 'pipe' "$AG_TMP/pipe.err" &&
	   ! lvm lvs --noheadings -o lv_name vg | grep -q aurora-backup; echo $?)"

# --- Snapshots on LVM thin storage -------------------------------------------
proc_check snapshot
ktap_result "snapshot: its backup verifies and names volume db" \
	"$(aurora --json backup verify /backups/db-snap1.bak | tr -d ' \n' | grep -q "\"volume_uuid\":\"$db_uuid\""; echo $?)"
ktap_result "snapshot: snapshot list showed vg/db-snap1; it is deleted" \
	"$(grep -q 'db-snap1' "$AG_TMP/proc-snapshot.out" && ! lvm lvs vg/db-snap1 > /dev/null 2>&1; echo $?)"

# --- Keystore recovery ---------------------------------------------------------
proc_check keystore-export
ktap_result "keystore-export: the export exists" "$([ -s "/secure/ks-$(date +%F).aks" ]; echo $?)"
ktap_check "the keystore is lost: db closed, the keystore directory gone" \
	bash -c "aurora close db && rm -rf $AG_TMP/ks"
ktap_check_fails "db does not open without its keystore" aurora open /dev/vg/db db
proc_check keystore-import
ktap_check "keystore-import: db is open again, fsck clean, files identical" files_ok /dev/mapper/db

# --- Restoring a damaged header -----------------------------------------------
ktap_check "both header copies destroyed (db closed)" \
	bash -c "aurora close db && dd if=/dev/zero of=/dev/vg/db bs=64k count=2 conv=fsync status=none"
ktap_check_fails "db does not open with its header gone" aurora open /dev/vg/db db
proc_check header
ktap_check "header: db is open again, fsck clean, files identical" files_ok /dev/mapper/db
ktap_result "header: the same volume (UUID $db_uuid)" "$([ "$(ag_uuid /dev/vg/db)" = "$db_uuid" ]; echo $?)"

# --- A cross-region copy ---------------------------------------------------------
proc_check copy-key
DEST_CMK=$(grep -o 'arn:aws:kms:eu-west-1:[0-9]*:key/[0-9a-f-]*' "$AG_TMP/proc-copy-key.out" | head -n 1)
export DEST_CMK
note "DEST_CMK=$DEST_CMK"
ktap_result "copy-key: it printed the ARN of a CMK in eu-west-1" "$([ -n "$DEST_CMK" ]; echo $?)"
proc_check copy
ktap_result "copy: the copy is under \$DEST_CMK in eu-west-1" \
	"$(aurora --json backup verify /backups/db.eu.bak | tr -d ' \n' | grep -q "\"cmk_arn\":\"$DEST_CMK\",\"cmk_region\":\"eu-west-1\""; echo $?)"
proc_check copy-restore AURORA_CONF "$AG_TMP/eu.conf" "the host configured for eu-west-1"
ktap_result "copy-restore: lineage.copied_from is db ($db_uuid), CMK \$DEST_CMK" \
	"$(j=$(tr -d ' \n' < "$AG_TMP/proc-copy-restore.out"); [[ "$j" == *"\"copied_from\":\"$db_uuid\""* && "$j" == *"\"key_arn\":\"$DEST_CMK\""* ]]; echo $?)"
ktap_check "copy-restore: db-eu fsck clean, files identical" files_ok /dev/mapper/db-eu
aurora close db-eu >&2

# --- The way out of terminal -------------------------------------------------------
ktap_check "the CMK disabled" aurora kms disable-key --key-id "$CMK"
aurora agent --once >&2
ktap_result "db is terminal" \
	"$([ "$(dmsetup status db | awk '{ print $4 }')" = terminal ] &&
	   aurora status /dev/vg/db --json | tr -d ' \n' | grep -q '"state":"terminal"'; echo $?)"
proc_check way-out
ktap_result "way-out: /srv/db holds the files, identical" \
	"$(cd /srv/db && sha256sum -c "$AG_TMP/sums" >&2; echo $?)"
s=$(aurora status /dev/vg/db-new --json | tr -d ' \n')
note "$s"
ktap_result "way-out: a new volume on /dev/vg/db-new restored from db, active" \
	"$([[ "$s" == *"\"restored_from\":\"$db_uuid\""* && "$s" == *'"state":"active"'* && "$s" != *"\"uuid\":\"$db_uuid\""* ]]; echo $?)"
umount /srv/db
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
