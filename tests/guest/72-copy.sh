#!/bin/bash
# Cross-region copy of a backup (aurora copy), embedded KMS with two
# regions: a volume formatted under a us-east-1 CMK, with ext4 and files, is
# backed up and copied to a CMK of eu-west-1.  The source CMK is then
# disabled: the copy still restores and opens in eu-west-1, its files are
# identical, fsck is clean and lineage.copied_from names the source.  The
# chunks of the copy are the backup's (the data stayed ciphertext); a CMK of
# the source's own region and an unusable CMK are refused by name.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 22
dmesg_mark
ag_modules >&2

MARKER="AURORA-PLAINTEXT-MARKER-copy-51d2"
B=$AG_TMP/bk
mkdir -p "$B"
SRC_REGION=us-east-1
DST_REGION=$AG_REGION	# eu-west-1, the configured region
[ "$SRC_REGION" != "$DST_REGION" ] || { echo "Bail out! the two regions are the same"; exit 1; }

# key_arn REGION DESCRIPTION: a new CMK in REGION, its ARN.
key_arn() {
	aurora --region "$1" kms create-key --description "$2" --json |
		sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'
}
status_json() { aurora status "$1" --json 2>/dev/null | tr -d ' \n'; }
no_marker() { [ "$(grep -c -a "$MARKER" "$1")" = 0 ]; }

# --- A volume in us-east-1 with files ------------------------------------
src_arn=$(key_arn "$SRC_REGION" copy-src)
dst_arn=$(key_arn "$DST_REGION" copy-dst)
note "source CMK $src_arn, destination CMK $dst_arn"
ktap_result "a CMK in each region" \
	"$([[ "$src_arn" == arn:*:kms:$SRC_REGION:* && "$dst_arn" == arn:*:kms:$DST_REGION:* ]]; echo $?)"
src=$(ag_loop 24)
name=$(uniq cpsrc)
ag_cleanup_on_exit "$name"
ktap_check "format in $SRC_REGION and open" bash -c \
	"aurora --region $SRC_REGION format $src --kms-key-id $src_arn --yes && aurora --region $SRC_REGION open $src $name"
src_uuid=$(ag_uuid "$src")
mkdir -p "/mnt/$name"
fill() {
	mkfs.ext4 -q "/dev/mapper/$name" && mount "/dev/mapper/$name" "/mnt/$name" || return 1
	for i in 1 2 3 4; do echo "$MARKER line $i"; done > "/mnt/$name/marker.txt"
	dd if=/dev/urandom of="/mnt/$name/rand" bs=64k count=50 status=none &&
	seq 1 30000 > "/mnt/$name/seq" &&
	(cd "/mnt/$name" && sha256sum marker.txt rand seq) > "$AG_TMP/sums" &&
	umount "/mnt/$name"
}
ktap_check "ext4 with files" fill
ktap_check "close" aurora close "$name"
ktap_check "backup" aurora backup "$src" "$B/src.bak" --quiet

# --- Refusals --------------------------------------------------------------
same_arn=$(key_arn "$SRC_REGION" copy-same)
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$same_arn" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a CMK of the source's region is refused (exit $rc), no file left" \
	"$([ $rc = 2 ] && grep -q "$SRC_REGION" "$AG_TMP/err" && [ ! -e "$B/x.bak" ]; echo $?)"
aurora kms disable-key --key-id "$dst_arn" >&2
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$dst_arn" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a disabled destination CMK is refused naming it (exit $rc), no file left" \
	"$([ $rc = 4 ] && grep -q "$dst_arn" "$AG_TMP/err" && [ ! -e "$B/x.bak" ]; echo $?)"
aurora kms enable-key --key-id "$dst_arn" >&2

# --- The copy ----------------------------------------------------------------
ktap_check "copy to the $DST_REGION CMK" aurora copy "$B/src.bak" "$B/copy.bak" --kms-key-id "$dst_arn" --quiet
j=$(aurora --json backup verify "$B/copy.bak" | tr -d ' \n')
note "$j"
ktap_result "the copy verifies; its manifest names the $DST_REGION CMK and a new UUID" \
	"$([[ "$j" == *"\"cmk_arn\":\"$dst_arn\""* && "$j" == *"\"cmk_region\":\"$DST_REGION\""* && "$j" != *"$src_uuid"* ]]; echo $?)"
# The chunk records start after preamble, manifest and the 64 KiB header area.
recs() { local m; m=$(od -An -tu4 -j12 -N4 "$1" | tr -d ' '); tail -c +$((32 + m + 65536 + 1)) "$1"; }
trailer_len() { local c; c=$(aurora --json backup verify "$1" | tr -d ' \n' | sed -n 's/.*"chunks":\([0-9]*\),.*/\1/p'); echo $((24 + c * 32 + 32)); }
tl=$(trailer_len "$B/src.bak")
ktap_result "the copy's chunks are the backup's, byte for byte (ciphertext, not re-encrypted)" \
	"$(cmp -s <(recs "$B/src.bak" | head -c -"$tl") <(recs "$B/copy.bak" | head -c -"$tl"); echo $?)"
ktap_check "no plaintext marker in the copy" no_marker "$B/copy.bak"

# --- The source CMK is disabled; the copy restores and opens in eu-west-1 ---
ktap_check "disable the source CMK ($SRC_REGION)" aurora kms disable-key --key-id "$src_arn"
dst=$(ag_loop 24)
ktap_check_fails "the original backup no longer restores" aurora restore "$B/src.bak" "$dst"
ktap_check "the copy restores in $DST_REGION" aurora --region "$DST_REGION" restore "$B/copy.bak" "$dst"
s=$(status_json "$dst")
note "$s"
ktap_result "lineage.copied_from is the source volume ($src_uuid)" \
	"$([[ "$s" == *"\"copied_from\":\"$src_uuid\""* ]]; echo $?)"
ktap_result "the restored copy is under the $DST_REGION CMK" "$([[ "$s" == *"$dst_arn"* ]]; echo $?)"
cname=$(uniq cpdst)
ag_cleanup_on_exit "$cname"
ktap_check "the restored copy opens" aurora --region "$DST_REGION" open "$dst" "$cname"
ktap_check "fsck clean" e2fsck -f -n "/dev/mapper/$cname"
mkdir -p "/mnt/$cname"
ktap_check "files identical" bash -c \
	"mount -o ro /dev/mapper/$cname /mnt/$cname && (cd /mnt/$cname && sha256sum -c $AG_TMP/sums) >&2; r=\$?; umount /mnt/$cname; exit \$r"
ktap_check "close" aurora close "$cname"
ktap_check "no plaintext marker on either device" bash -c "! grep -q -a '$MARKER' $src && ! grep -q -a '$MARKER' $dst"
aurora kms enable-key --key-id "$src_arn" >&2
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
