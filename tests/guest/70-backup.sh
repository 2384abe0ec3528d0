#!/bin/bash
# Backups and restore: the way out of terminal.  A volume with ext4 and
# files is backed up (header + ciphertext, no key), loses its CMK, and is
# restored onto another disk (same CMK re-enabled; another CMK with
# --kms-key-id): the files are identical and fsck is clean.  Bad input is
# refused with a clear error and the target left untouched; no plaintext
# marker is in any backup file or raw device.  Header backup and restore.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 63
dmesg_mark
ag_modules >&2

MARKER="AURORA-PLAINTEXT-MARKER-7f3c9e"
B=$AG_TMP/bk
mkdir -p "$B"

key_id() { aurora kms create-key --description "$1" --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
key_arn() { aurora kms describe-key --key-id "$1" --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'; }
hdr_field() { aurora status "$1" --json 2>/dev/null | tr -d ' \n' | grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
devsum() { sha256sum < "$1" | cut -d' ' -f1; }
# no_marker FILE|DEV: the plaintext marker is not in its raw bytes.
no_marker() { [ "$(grep -c -a "$MARKER" "$1")" = 0 ]; }

# refused RC PATTERN DEV CMD...: CMD exits RC, its stderr matches PATTERN,
# and DEV (if not "-") is byte for byte what it was.
refused() {
	local rc=$1 pat=$2 dev=$3 before="" got
	shift 3
	[ "$dev" = - ] || before=$(devsum "$dev")
	"$@" > "$AG_TMP/out" 2> "$AG_TMP/err"
	got=$?
	note "$(tr '\n' ' ' < "$AG_TMP/err")"
	[ "$got" = "$rc" ] || { note "exit $got, expected $rc"; return 1; }
	grep -q -- "$pat" "$AG_TMP/err" || { note "no \"$pat\" in the message"; return 1; }
	[ "$dev" = - ] || [ "$(devsum "$dev")" = "$before" ] || { note "$dev was written"; return 1; }
}

# --- A volume with files -------------------------------------------------
k=$(key_id backup-src)
arn=$(key_arn "$k")
src=$(ag_loop 24)
name=$(uniq bksrc)
ag_cleanup_on_exit "$name"
ktap_check "source: format + open" bash -c "aurora format $src --kms-key-id $k --yes && aurora open $src $name"
src_uuid=$(ag_uuid "$src")
mkdir -p "/mnt/$name"
fill() {
	mkfs.ext4 -q "/dev/mapper/$name" && mount "/dev/mapper/$name" "/mnt/$name" || return 1
	for i in 1 2 3 4 5 6 7 8; do echo "$MARKER line $i"; done > "/mnt/$name/marker.txt"
	dd if=/dev/urandom of="/mnt/$name/rand1" bs=64k count=40 status=none &&
	dd if=/dev/urandom of="/mnt/$name/rand2" bs=4k count=77 status=none &&
	mkdir "/mnt/$name/dir" && seq 1 20000 > "/mnt/$name/dir/seq" &&
	(cd "/mnt/$name" && sha256sum marker.txt rand1 rand2 dir/seq) > "$AG_TMP/sums" &&
	umount "/mnt/$name"
}
ktap_check "source: ext4 with files (and a plaintext marker)" fill
ktap_result "the marker is readable through the mapping (the marker check can fail)" \
	"$([ "$(grep -c -a "$MARKER" "/dev/mapper/$name")" -gt 0 ]; echo $?)"
ktap_check "source: close" aurora close "$name"

# --- Backup ----------------------------------------------------------------
ktap_check "backup of the closed volume" aurora backup "$src" "$B/full.bak"
ktap_check "backup verify" aurora backup verify "$B/full.bak"
j=$(aurora --json backup verify "$B/full.bak" | tr -d ' \n')
note "$j"
ktap_result "manifest: source UUID and CMK ARN" \
	"$([[ "$j" == *"\"volume_uuid\":\"$src_uuid\""* && "$j" == *"\"cmk_arn\":\"$arn\""* ]]; echo $?)"
holes=$(sed -n 's/.*"chunks":\([0-9]*\),"data_chunks":\([0-9]*\).*/\1 \2/p' <<< "$j")
ktap_result "sparse: some chunks are holes, not stored ($holes)" \
	"$(set -- $holes; [ -n "$2" ] && [ "$2" -gt 0 ] && [ "$2" -lt "$1" ]; echo $?)"
bsize=$(stat -c %s "$B/full.bak")
ktap_result "the backup file is smaller than the volume ($bsize bytes)" "$([ "$bsize" -lt $((24 * 1048576)) ]; echo $?)"
ktap_check "backup to stdout (-) then verify from stdin (-)" \
	bash -c "aurora backup $src - --quiet > $B/stdout.bak && aurora backup verify - < $B/stdout.bak"
ktap_check "no plaintext marker in the backup file" no_marker "$B/full.bak"
ktap_check "no plaintext marker on the source device" no_marker "$src"
ktap_check "header backup" aurora header backup "$src" "$B/hdr.bak"

# --- The CMK is lost: the source goes terminal (or at least unusable) ----
ktap_check "source: open again for the agent to watch" aurora open "$src" "$name"
ktap_check "disable the source CMK" aurora kms disable-key --key-id "$k"
for _ in 1 2 3 4 5 6; do
	aurora agent --once >&2
	[ "$(hdr_field "$src" state)" = terminal ] && break
	sleep 1
done
note "source state after the agent: $(hdr_field "$src" state)"
aurora close "$name" >&2
ktap_check_fails "the source cannot be opened" aurora open "$src" "$name"
ktap_check "backup of the source in this state still works (no key needed)" \
	aurora backup "$src" "$B/late.bak"
dst=$(ag_loop 24)
ktap_check "restore while the CMK is disabled: refused naming the CMK, nothing written" \
	refused 4 "$arn" "$dst" aurora restore "$B/full.bak" "$dst"
ktap_check "enable the CMK again" aurora kms enable-key --key-id "$k"

# --- The way out: restore ------------------------------------------------
ktap_check "restore onto a second disk" aurora restore "$B/full.bak" "$dst"
new_uuid=$(ag_uuid "$dst")
ktap_result "restored volume has a new UUID ($new_uuid)" \
	"$([ ${#new_uuid} = 36 ] && [ "$new_uuid" != "$src_uuid" ]; echo $?)"
ktap_result "lineage.restored_from is the source UUID" \
	"$([ "$(hdr_field "$dst" restored_from)" = "$src_uuid" ]; echo $?)"
ktap_result "the restored header is active" "$([ "$(hdr_field "$dst" state)" = active ]; echo $?)"
ktap_check "restored volume: opens, fsck -n clean, checksums identical" ag_check_files "$dst" "$(uniq bkdst)"
ktap_check "no plaintext marker on the restored device" no_marker "$dst"
late=$(ag_loop 24)
ktap_check "restore of the late backup (source no longer active at backup time)" \
	aurora restore "$B/late.bak" "$late"
ktap_check "late restore: files identical, fsck clean" ag_check_files "$late" "$(uniq bklate)"
ktap_result "late restore's header is active" "$([ "$(hdr_field "$late" state)" = active ]; echo $?)"

# --- Restore under another CMK ---------------------------------------------
k2=$(key_id backup-other)
arn2=$(key_arn "$k2")
dst2=$(ag_loop 24)
ktap_check "restore with --kms-key-id (another CMK)" aurora restore "$B/full.bak" "$dst2" --kms-key-id "$k2"
ktap_result "its header names the other CMK" "$([ "$(hdr_field "$dst2" key_arn)" = "$arn2" ] ||
	aurora status "$dst2" --json | grep -q "$arn2"; echo $?)"
ktap_check "disable the source CMK again" aurora kms disable-key --key-id "$k"
ktap_check "volume restored under the other CMK opens with the source CMK disabled" \
	ag_check_files "$dst2" "$(uniq bkdst2)"
ktap_check "re-enable the source CMK" aurora kms enable-key --key-id "$k"
ktap_check "restore under a CMK that does not exist: refused naming it" \
	refused 4 "alias/no-such-key" "$dst2" aurora restore "$B/full.bak" "$dst2" --yes --kms-key-id alias/no-such-key

# --- From stdin -------------------------------------------------------------
dst3=$(ag_loop 24)
ktap_check "restore from stdin (-)" bash -c "aurora restore - $dst3 < $B/stdout.bak"
ktap_check "stdin restore: files identical, fsck clean" ag_check_files "$dst3" "$(uniq bkdst3)"

# --- Bad input ------------------------------------------------------------
victim=$(ag_loop 24)
dd if=/dev/urandom of="$victim" bs=1M count=4 status=none
mlen=$(od -An -tu4 -j12 -N4 "$B/full.bak" | tr -d ' ')
first=$((32 + mlen + 65536))
kind=$(od -An -tu4 -j$((first + 4)) -N4 "$B/full.bak" | tr -d ' ')
note "manifest $mlen bytes, chunk 0 record at $first, kind $kind"
cp "$B/full.bak" "$B/corrupt.bak"
printf 'XY' | dd of="$B/corrupt.bak" bs=1 seek=$((first + 48 + 5000)) conv=notrunc status=none
cmp -s "$B/full.bak" "$B/corrupt.bak" && printf 'ZW' | dd of="$B/corrupt.bak" bs=1 seek=$((first + 48 + 5000)) conv=notrunc status=none
ktap_result "chunk 0 is a stored data chunk (kind 1) in the backup" "$([ "$kind" = 1 ]; echo $?)"
ktap_check "backup verify: corrupted chunk refused, naming chunk 0" \
	refused 3 "chunk 0 " - aurora backup verify "$B/corrupt.bak"
ktap_check "restore: corrupted chunk refused naming chunk 0, device untouched" \
	refused 3 "chunk 0 " "$victim" aurora restore "$B/corrupt.bak" "$victim" --yes
ktap_check "restore from stdin: corrupted chunk refused naming chunk 0, no header written" \
	bash -c "! aurora restore - $victim --yes < $B/corrupt.bak 2>$AG_TMP/e2; grep 'chunk 0 ' $AG_TMP/e2 >&2 && ! aurora status $victim >/dev/null 2>&1"
dd if=/dev/urandom of="$victim" bs=1M count=4 status=none
head -c $((bsize - 5000)) "$B/full.bak" > "$B/trunc.bak"
ktap_check "truncated backup: refused (truncated), device untouched" \
	refused 3 "truncated" "$victim" aurora restore "$B/trunc.bak" "$victim" --yes
head -c 5000 "$B/full.bak" > "$B/short.bak"
ktap_check "backup cut inside the header: refused (truncated)" \
	refused 3 "truncated" "$victim" aurora restore "$B/short.bak" "$victim" --yes
ktap_check "backup verify of a truncated file fails" refused 3 "truncated" - aurora backup verify "$B/trunc.bak"
seq 1 100000 > "$B/notabackup"
ktap_check "a file that is not a backup: refused" \
	refused 3 "not an aurora backup" "$victim" aurora restore "$B/notabackup" "$victim" --yes
ktap_check "restore of a header backup as a volume: refused" \
	refused 3 "header backup" "$victim" aurora restore "$B/hdr.bak" "$victim" --yes
small=$(ag_loop 8)
ktap_check "device smaller than needed: refused (too small)" \
	refused 2 "too small" "$small" aurora restore "$B/full.bak" "$small"
fsdev=$(ag_loop 24)
mkfs.ext4 -q -F "$fsdev"
ktap_check "device holding a filesystem: refused without --yes" \
	refused 7 "ext2/ext3/ext4 filesystem" "$fsdev" aurora restore "$B/full.bak" "$fsdev"
ktap_check "device holding another aurora volume: refused without --yes" \
	refused 7 "aurora volume header" "$dst3" aurora restore "$B/full.bak" "$dst3"
ktap_check "device holding a filesystem: restored with --yes" aurora restore "$B/full.bak" "$fsdev" --yes
ktap_check "... and its files are identical" ag_check_files "$fsdev" "$(uniq bkfs)"
ktap_check "backup onto an existing file: refused without --force" \
	refused 7 "force" - aurora backup "$dst" "$B/full.bak"
ktap_check "backup of an open volume not on thin LVM: refused, saying to close it" \
	bash -c "aurora open $dst bkopen-$$ && ! aurora backup $dst $B/open.bak 2>$AG_TMP/e3; r=\$?; cat $AG_TMP/e3 >&2; aurora close bkopen-$$; [ \$r = 0 ] && grep -q 'is open.*close it' $AG_TMP/e3 && [ ! -e $B/open.bak ]"

# --- Header backup and restore -------------------------------------------
hdst=$(ag_loop 24)
ktap_check "header test volume: restore a copy" aurora restore "$B/full.bak" "$hdst"
ktap_check "header backup of it" aurora header backup "$hdst" "$B/hdst.hdr"
dd if=/dev/zero of="$hdst" bs=64k count=1 conv=notrunc status=none
ktap_check_fails "header wiped: open refused" aurora open "$hdst" "$(uniq bkh)"
ktap_check "header restore onto the wiped device" aurora header restore "$B/hdst.hdr" "$hdst"
ktap_check "after header restore: opens, files identical" ag_check_files "$hdst" "$(uniq bkh2)"
ktap_check "header restore of another volume's header: refused, device untouched" \
	refused 7 "another\|holds volume" "$hdst" aurora header restore "$B/hdr.bak" "$hdst"
ktap_check "header restore of a volume backup: refused" \
	refused 3 "not a header backup" "$hdst" aurora header restore "$B/full.bak" "$hdst"
ktap_check "header restore --force writes another volume's header" \
	aurora header restore "$B/hdr.bak" "$hdst" --force
ktap_result "... and the device now has that volume's UUID" "$([ "$(ag_uuid "$hdst")" = "$src_uuid" ]; echo $?)"

# --- No plaintext anywhere ---------------------------------------------------
allclean=0
for f in "$B"/*.bak "$src" "$dst" "$dst2" "$dst3" "$late" "$fsdev" "$hdst"; do
	no_marker "$f" || { note "marker found in $f"; allclean=1; }
done
ktap_result "no plaintext marker in any backup file or raw device" $allclean
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
