#!/bin/bash
# restore --plaintext: an unencrypted ext4 image (the snapshot of an
# unencrypted volume) becomes a new encrypted volume.  The image holds a
# plaintext marker; after the restore the raw device does not, the volume
# opens, fsck is clean and the files are identical; lineage.restored_from
# says the source was a plaintext image.  Bad input (no --kms-key-id, a
# device too small, a device holding a filesystem without --yes, a missing
# image, an aurora volume given as the image) is refused with a clear error
# and the device is left byte for byte as it was.  No temporary mapping or
# key is left behind.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 27
dmesg_mark
ag_modules >&2
keys0=$(ag_live_keys)

MARKER="AURORA-PLAINTEXT-MARKER-plain-9b41"
key_id() { aurora kms create-key --description "$1" --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
key_arn() { aurora kms describe-key --key-id "$1" --json | sed -n 's/.*"Arn":"\([^"]*\)".*/\1/p'; }
hdr_field() { aurora status "$1" --json 2>/dev/null | tr -d ' \n' | grep -o "\"$2\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }
devsum() { sha256sum < "$1" | cut -d' ' -f1; }
no_marker() { [ "$(grep -c -a "$MARKER" "$1")" = 0 ]; }
no_tmp_left() {
	! dmsetup ls 2>/dev/null | grep -q '^aurora-tmp-' &&
	! dmsetup info -c --noheadings -o uuid 2>/dev/null | grep -q '^AURTMP-' &&
	# No live (not revoked) logon key aurora:* that was not there at the start.
	[ -z "$(ag_new_live_keys "$keys0")" ]
}

# refused RC PATTERN DEV CMD...: CMD exits RC, its stderr matches PATTERN,
# and DEV is byte for byte what it was (its first MiB and the whole of it).
refused() {
	local rc=$1 pat=$2 dev=$3 before first got
	shift 3
	before=$(devsum "$dev")
	first=$(head -c 1048576 "$dev" | sha256sum)
	"$@" > "$AG_TMP/out" 2> "$AG_TMP/err"
	got=$?
	note "$(tr '\n' ' ' < "$AG_TMP/err")"
	[ "$got" = "$rc" ] || { note "exit $got, expected $rc"; return 1; }
	grep -q -- "$pat" "$AG_TMP/err" || { note "no \"$pat\" in the message"; return 1; }
	[ "$(head -c 1048576 "$dev" | sha256sum)" = "$first" ] || { note "$dev: first MiB written"; return 1; }
	[ "$(devsum "$dev")" = "$before" ] || { note "$dev was written"; return 1; }
}

# --- An unencrypted ext4 image with files -----------------------------------
k=$(key_id plain-restore)
arn=$(key_arn "$k")
img=$AG_TMP/plain.img
mkimage() {
	truncate -s 20M "$img" && mkfs.ext4 -q -F "$img" >&2 || return 1
	mkdir -p "$AG_TMP/m" && mount -o loop "$img" "$AG_TMP/m" || return 1
	for i in $(seq 1 200); do echo "$MARKER line $i"; done > "$AG_TMP/m/marker.txt"
	dd if=/dev/urandom of="$AG_TMP/m/rand" bs=64k count=80 status=none &&
	seq 1 50000 > "$AG_TMP/m/seq" && mkdir "$AG_TMP/m/d" && cp "$AG_TMP/m/marker.txt" "$AG_TMP/m/d/copy" &&
	(cd "$AG_TMP/m" && sha256sum marker.txt rand seq d/copy) > "$AG_TMP/sums"
	local r=$?
	umount "$AG_TMP/m" || return 1
	return $r
}
ktap_check "an ext4 image with files" mkimage
ktap_result "the image holds the plaintext marker (so its absence below means something)" \
	"$([ "$(grep -c -a "$MARKER" "$img")" -gt 0 ]; echo $?)"

# --- Bad input: refused, nothing written ------------------------------------
dev=$(ag_loop 32)
small=$(ag_loop 16)
fsdev=$(ag_loop 32)
mkfs.ext4 -q -F "$fsdev" >&2
ktap_check "no --kms-key-id: refused (usage)" \
	refused 2 "--kms-key-id" "$dev" aurora restore --plaintext "$img" "$dev"
ktap_check "a device whose data area is smaller than the image: refused naming both sizes" \
	refused 2 "20971520 bytes.*15728640 bytes" "$small" \
	aurora restore --plaintext "$img" "$small" --kms-key-id "$k"
ktap_check "a device holding a filesystem, without --yes: refused" \
	refused 7 "holds.*--yes" "$fsdev" aurora restore --plaintext "$img" "$fsdev" --kms-key-id "$k"
ktap_check "a missing image: refused" \
	refused 8 "$AG_TMP/nothere.img: No such file" "$dev" \
	aurora restore --plaintext "$AG_TMP/nothere.img" "$dev" --kms-key-id "$k"
ktap_check "an unknown CMK: refused by the KMS, device untouched" \
	refused 4 "GenerateDataKey" "$dev" \
	aurora restore --plaintext "$img" "$dev" --kms-key-id 00000000-0000-0000-0000-000000000000
vol=$(ag_loop 24)
aurora format "$vol" --kms-key-id "$k" --yes >&2
ktap_check "an aurora volume given as the image: refused" \
	refused 2 "holds an aurora volume" "$dev" aurora restore --plaintext "$vol" "$dev" --kms-key-id "$k"
ktap_check "no temporary mapping or key left by the refusals" no_tmp_left

# --- The restore --------------------------------------------------------------
ktap_check "restore --plaintext onto an empty device" \
	aurora restore --plaintext "$img" "$dev" --kms-key-id "$k" --quiet
ktap_check "no plaintext marker on the raw device" no_marker "$dev"
ktap_check "no temporary mapping or key left" no_tmp_left
uuid=$(ag_uuid "$dev")
note "new volume $uuid"
ktap_result "a new volume under the named CMK" \
	"$([ -n "$uuid" ] && [ "$(hdr_field "$dev" key_arn)" = "$arn" ]; echo $?)"
rf=$(hdr_field "$dev" restored_from)
note "restored_from=$rf"
ktap_result "lineage.restored_from says plaintext:$img" "$([ "$rf" = "plaintext:$img" ]; echo $?)"
name=$(uniq plain)
ag_cleanup_on_exit "$name"
ktap_check "it opens, fsck is clean, the files are identical" ag_check_files "$dev" "$name"
ktap_check "the mapping's size is the device's data area" bash -c \
	"[ \"\$(aurora status $dev --json | tr -d ' \n' | grep -o '\"data_size\":[0-9]*' | head -n1 | cut -d: -f2)\" = $((31 * 1048576)) ]"

# --- --yes over a filesystem; a block device as the image ----------------------
ktap_check "--yes: restore over the device holding a filesystem" \
	aurora restore --plaintext "$img" "$fsdev" --kms-key-id "$k" --yes --quiet
ktap_check "no plaintext marker on it" no_marker "$fsdev"
name2=$(uniq plain2)
ag_cleanup_on_exit "$name2"
ktap_check "it opens, fsck is clean, the files are identical" ag_check_files "$fsdev" "$name2"
imgdev=$(losetup -f --show -r "$img")
on_exit "losetup -d $imgdev"
dev3=$(ag_loop 24)
ktap_check "a block device as the image" \
	aurora restore --plaintext "$imgdev" "$dev3" --kms-key-id "$k" --quiet
ktap_check "no plaintext marker on it" no_marker "$dev3"
name3=$(uniq plain3)
ag_cleanup_on_exit "$name3"
ktap_check "it opens, fsck is clean, the files are identical" ag_check_files "$dev3" "$name3"
ktap_result "each restore made its own volume (three UUIDs)" \
	"$([ "$(printf '%s\n' "$uuid" "$(ag_uuid "$fsdev")" "$(ag_uuid "$dev3")" | sort -u | grep -c .)" = 3 ]; echo $?)"
# --- a temporary mapping (dm UUID AURTMP-) is no volume ---------------------
# One made by hand, as restore --plaintext and copy --new-data-key make
# theirs: status and an agent pass leave it out (no "header unreadable").
tdev=$(ag_loop 8)
tname=$(uniq aurora-tmp-check)
tdesc=aurora:$(cat /proc/sys/kernel/random/uuid)
tkey=$(head -c 64 /dev/urandom | keyctl padd logon "$tdesc" @s)
on_exit "keyctl revoke $tkey"
dmsetup create "$tname" --uuid "AURTMP-${tdesc#aurora:}" \
	--table "0 $(($(blockdev --getsz "$tdev") - 2048)) aurora aes-xts-plain64 :64:logon:$tdesc 0 $tdev 2048"
on_exit "dmsetup remove $tname"
ktap_result "status lists no temporary mapping" \
	"$(aurora status --json | grep -qF "$tname"; [ $? -ne 0 ]; echo $?)"
out=$(aurora status "$tname" 2>&1); rc=$?
note "status $tname: exit $rc: $out"
ktap_result "status of a temporary mapping says it is one (exit $rc)" \
	"$([ "$rc" = 2 ] && [[ "$out" == *"temporary mapping"* ]]; echo $?)"
out=$(aurora agent --once 2>&1)
note "agent --once: $out"
ktap_result "an agent pass does not look at it" "$([[ "$out" != *"$tname"* ]]; echo $?)"
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
