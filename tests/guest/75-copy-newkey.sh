#!/bin/bash
# copy --new-data-key: a backup is copied under a fresh data key, the data
# re-encrypted chunk by chunk through two temporary dm-aurora mappings.  The
# copy verifies, holds no plaintext marker, and its chunks are not the
# source's (other ciphertext); its data key is not the source's (both
# unwrapped through the KMS and compared by hash, never printed).  With the
# source CMK disabled afterwards, the copy still restores, opens, fsck is
# clean and the files are identical.  No temporary mapping, key, loop device
# or file is left; a bad --tmpdir or an unusable CMK is refused, no file left.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 27
dmesg_mark
ag_modules >&2
keys0=$(ag_live_keys)

MARKER="AURORA-PLAINTEXT-MARKER-newkey-c07e"
B=$AG_TMP/bk
mkdir -p "$B"
key_id() { aurora kms create-key --description "$1" --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
key_arn() { aurora kms describe-key --key-id "$1" --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'; }
hdr_field() { aurora status "$1" --json 2>/dev/null | tr -d ' \n' | grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
no_marker() { [ "$(grep -c -a "$MARKER" "$1")" = 0 ]; }
loops() { losetup -a | grep -c .; }
no_tmp_left() {
	local ok=0 keys
	dmsetup info -c --noheadings -o name,uuid 2>/dev/null | grep -E '^aurora-tmp-|:AURTMP-' >&2 &&
		{ note "temporary mapping left"; ok=1; }
	keys=$(ag_new_live_keys "$keys0")
	[ -z "$keys" ] || { note "logon keys left: $keys"; ok=1; }
	[ "$(loops)" = "$nloops" ] || { note "loop devices: $(losetup -a | tr '\n' ' ') (were $nloops)"; ok=1; }
	[ -z "$(ls -A "$B/tmp")" ] || { note "files left in $B/tmp: $(ls -A "$B/tmp")"; ok=1; }
	return $ok
}
# The chunk records start after preamble, manifest and the 64 KiB header area;
# first_chunk FILE: the bytes of chunk 0 (a data chunk: ext4's superblock).
recs() { local m; m=$(od -An -tu4 -j12 -N4 "$1" | tr -d ' '); tail -c +$((32 + m + 65536 + 1)) "$1"; }
first_chunk() { recs "$1" | head -c $((48 + 1048576)) | tail -c 1048576; }
json_num() { aurora --json backup verify "$1" | tr -d ' \n' | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }
# dek_hash DEV UUID: SHA-256 of the volume's data key, unwrapped by the KMS.
dek_hash() { ag_dek_hex "$1" "$2" | sha256sum | cut -d' ' -f1; }

# --- A volume with files, backed up -------------------------------------------
k1=$(key_id newkey-src)
k2=$(key_id newkey-dst)
arn2=$(key_arn "$k2")
src=$(ag_loop 24)
name=$(uniq nksrc)
ag_cleanup_on_exit "$name"
ktap_check "format and open" bash -c "aurora format $src --kms-key-id $k1 --yes && aurora open $src $name"
src_uuid=$(ag_uuid "$src")
mkdir -p "/mnt/$name"
fill() {
	mkfs.ext4 -q "/dev/mapper/$name" && mount "/dev/mapper/$name" "/mnt/$name" || return 1
	for i in $(seq 1 100); do echo "$MARKER line $i"; done > "/mnt/$name/marker.txt"
	dd if=/dev/urandom of="/mnt/$name/rand" bs=64k count=60 status=none &&
	seq 1 40000 > "/mnt/$name/seq" &&
	(cd "/mnt/$name" && sha256sum marker.txt rand seq) > "$AG_TMP/sums" &&
	umount "/mnt/$name"
}
ktap_check "ext4 with files" fill
ktap_check "close and back up" bash -c "aurora close $name && aurora backup $src $B/src.bak --quiet"
mkdir -p "$B/tmp"
nloops=$(loops)

# --- Refusals ------------------------------------------------------------------
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$k2" --new-data-key --tmpdir "$B/nothere" \
	> "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a missing --tmpdir is refused (exit $rc), no file left" \
	"$([ $rc != 0 ] && grep -q "$B/nothere" "$AG_TMP/err" && [ ! -e "$B/x.bak" ]; echo $?)"
aurora kms disable-key --key-id "$k2" >&2
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$k2" --new-data-key --tmpdir "$B/tmp" \
	> "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a disabled destination CMK is refused naming it (exit $rc), no file left" \
	"$([ $rc = 4 ] && grep -q "$k2" "$AG_TMP/err" && [ ! -e "$B/x.bak" ]; echo $?)"
aurora kms enable-key --key-id "$k2" >&2
ktap_check "nothing left behind by the refusals" no_tmp_left

# --- The copy -------------------------------------------------------------------
ktap_check "copy --new-data-key" \
	aurora copy "$B/src.bak" "$B/new.bak" --kms-key-id "$k2" --new-data-key --tmpdir "$B/tmp" --quiet
ktap_check "no temporary mapping, key, loop device or file left" no_tmp_left
j=$(aurora --json backup verify "$B/new.bak" | tr -d ' \n')
note "$j"
ktap_result "the copy verifies; its manifest names the new CMK and a new UUID" \
	"$([[ "$j" == *"\"cmk_arn\":\"$arn2\""* && "$j" != *"$src_uuid"* ]]; echo $?)"
ktap_result "as many chunks and holes as the source" \
	"$([ "$(json_num "$B/new.bak" chunks)" = "$(json_num "$B/src.bak" chunks)" ] &&
	   [ "$(json_num "$B/new.bak" data_chunks)" = "$(json_num "$B/src.bak" data_chunks)" ]; echo $?)"
ktap_result "the first data chunk's ciphertext differs from the source's" \
	"$(! cmp -s <(first_chunk "$B/src.bak") <(first_chunk "$B/new.bak"); echo $?)"
ktap_check "no plaintext marker in the copy" no_marker "$B/new.bak"

# --- Interrupted: SIGTERM while the copy waits on a pipe nobody reads ---------
mkfifo "$AG_TMP/cfifo"
aurora copy "$B/src.bak" - --kms-key-id "$k2" --new-data-key --tmpdir "$B/tmp" \
	> "$AG_TMP/cfifo" 2> "$AG_TMP/cint.err" &
cpid=$!
exec 8< "$AG_TMP/cfifo"
i=0
until dmsetup ls 2>/dev/null | grep -q "^aurora-tmp-$cpid-" || [ $i -ge 600 ]; do
	sleep 0.1; i=$((i + 1))
done
ktap_result "a copy --new-data-key into a pipe nobody reads: its temporary mappings exist" \
	"$(dmsetup ls 2>/dev/null | grep -q "^aurora-tmp-$cpid-"; echo $?)"
kill -TERM "$cpid"
cat <&8 > /dev/null
exec 8<&-
wait "$cpid"
rc=$?
note "interrupted copy: exit $rc: $(cat "$AG_TMP/cint.err")"
ktap_result "SIGTERM: the copy ends by the signal (exit $rc)" "$([ $rc = 143 ]; echo $?)"
ktap_check "... and leaves no temporary mapping, key, loop device or file" no_tmp_left

# --- Restore the copy; compare the keys through the KMS ---------------------------
dst=$(ag_loop 24)
ktap_check "the copy restores" aurora restore "$B/new.bak" "$dst" --quiet
dst_uuid=$(ag_uuid "$dst")
ktap_result "lineage.copied_from is the source volume" \
	"$([ "$(hdr_field "$dst" copied_from)" = "$src_uuid" ]; echo $?)"
h_src=$(dek_hash "$src" "$src_uuid")
h_dst=$(dek_hash "$dst" "$dst_uuid")
empty=$(printf '' | sha256sum | cut -d' ' -f1)
ktap_result "the copy's data key is not the source's (unwrapped by the KMS, compared by hash)" \
	"$([ "$h_src" != "$empty" ] && [ "$h_dst" != "$empty" ] && [ "$h_src" != "$h_dst" ]; echo $?)"

# --- The source CMK unusable: the copy is not affected -----------------------------
ktap_check "disable the source CMK" aurora kms disable-key --key-id "$k1"
dst2=$(ag_loop 24)
ktap_check_fails "the original backup no longer restores" aurora restore "$B/src.bak" "$dst2" --quiet
ktap_check "the copy restores again" aurora restore "$B/new.bak" "$dst2" --quiet
cname=$(uniq nkdst)
ag_cleanup_on_exit "$cname"
ktap_check "the restored copy opens" aurora open "$dst2" "$cname"
ktap_check "fsck clean" e2fsck -f -n "/dev/mapper/$cname"
mkdir -p "/mnt/$cname"
ktap_check "files identical" bash -c \
	"mount -o ro /dev/mapper/$cname /mnt/$cname && (cd /mnt/$cname && sha256sum -c $AG_TMP/sums) >&2; r=\$?; umount /mnt/$cname; exit \$r"
ktap_check "close" aurora close "$cname"
ktap_check "no plaintext marker on any device" bash -c \
	"! grep -q -a '$MARKER' $src && ! grep -q -a '$MARKER' $dst && ! grep -q -a '$MARKER' $dst2"
aurora kms enable-key --key-id "$k1" >&2
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
