#!/bin/bash
# Cross-region copy of a backup with the AWS provider, against moto on the
# host (the path out of the guest: tests/guest/60-aws-moto.sh).  moto keeps
# its keys per region, chosen by the SigV4 signing region, and aurora signs
# each request for the region of the key ARN it names: one endpoint, two
# regions.  A CMK in us-east-1 (source) and one in eu-west-1 (destination)
# are created through the KMS; a volume formatted under the source CMK, with
# ext4 and files, is backed up and copied to the destination CMK.  Then the
# source CMK is disabled and the relay lets only requests signed for
# eu-west-1 through (scripts/kms-relay.py, region gate): the copy restores
# onto a second disk and opens, its files are identical and fsck is clean.
# moto runs with AWS's key-state rules (scripts/moto-strict.py): a disabled
# CMK refuses Decrypt and Encrypt.  Refusals: a CMK of the source's own
# region, a disabled destination CMK (named, no file left).
# Without the moto port (a run without moto), every check is skipped.
. /tests/lib.sh
. /tests/40-agent-lib.inc
PLAN=27
ktap_plan $PLAN

PORT=4566
if ! kms_bridge_start $PORT; then
	for i in $(seq $PLAN); do
		ktap_skip "cross-region copy through moto ($i)" "no aurora.kms virtio-serial port"
	done
	exit 0
fi
dmesg_mark
ag_modules >&2

SRC_REGION=us-east-1
DST_REGION=eu-west-1
MARKER="AURORA-PLAINTEXT-MARKER-copyaws-9b41"
B=$AG_TMP/bk
mkdir -p "$B"
# Provider aws, the source region configured; TCG guests are slow: generous
# timeouts.
printf 'provider = aws\naccount = 123456789012\nregion = %s\nendpoint = http://127.0.0.1:%s\nconnect_timeout = 10\ntimeout = 60\n' \
	"$SRC_REGION" "$PORT" > "$AURORA_CONF"
export AWS_ACCESS_KEY_ID=AKIAGUESTTEST AWS_SECRET_ACCESS_KEY=guest-secret-not-logged
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION

# http_call PATH REGION TARGET JSON: one raw JSON 1.1 call through the bridge,
# signed (in scope only: moto does not check signatures) for REGION.  Prints
# the reply body; true on HTTP 200.  Reads exactly Content-Length bytes.
http_call() {
	local body=$4 status line len=0
	exec 5<>/dev/tcp/127.0.0.1/$PORT || return 1
	printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.%s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAGUESTTEST/20260101/%s/kms/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: %s\r\n\r\n%s' \
		"$1" "$PORT" "$3" "$2" "${#body}" "$body" >&5
	IFS= read -r -t 60 status <&5 || { exec 5<&-; return 1; }
	while IFS= read -r -t 60 line <&5; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case "${line,,}" in content-length:*) len=${line#*:}; len=${len// /} ;; esac
	done
	[ "$len" -gt 0 ] && head -c "$len" <&5
	echo
	exec 5<&-
	[[ "$status" == *" 200 "* ]]
}
# kms_call REGION OPERATION JSON: a KMS call in REGION.
kms_call() { http_call / "$1" "$2" "$3"; }
# only_region REGION|any: the relay forwards only requests signed for REGION.
only_region() { http_call "/__aurora_region/$1" "$1" None '' | grep -qx "region $1"; }
on_exit "only_region any"
# new_key REGION DESCRIPTION: a new CMK in REGION, its ARN.
new_key() {
	kms_call "$1" CreateKey "{\"Description\":\"$2\"}" | tr -d ' \n' |
		sed -n 's/.*"Arn":"\(arn:aws:kms:[^"]*\)".*/\1/p'
}
key_state() { kms_call "$1" DescribeKey "{\"KeyId\":\"${2##*/}\"}" | tr -d ' \n' | sed -n 's/.*"KeyState":"\([^"]*\)".*/\1/p'; }
status_json() { aurora status "$1" --json 2>/dev/null | tr -d ' \n'; }
no_marker() { [ "$(grep -c -a "$MARKER" "$1")" = 0 ]; }

# --- A CMK in each region, a volume under the source CMK --------------------
src_arn=$(new_key "$SRC_REGION" copy-aws-src)
dst_arn=$(new_key "$DST_REGION" copy-aws-dst)
same_arn=$(new_key "$SRC_REGION" copy-aws-same)
off_arn=$(new_key "$DST_REGION" copy-aws-dst-off)
note "source $src_arn, destination $dst_arn"
ktap_result "CreateKey in $SRC_REGION and $DST_REGION through moto" \
	"$([[ "$src_arn" == arn:aws:kms:$SRC_REGION:* && "$same_arn" == arn:aws:kms:$SRC_REGION:* &&
	      "$dst_arn" == arn:aws:kms:$DST_REGION:* && "$off_arn" == arn:aws:kms:$DST_REGION:* ]]; echo $?)"
ktap_result "moto keeps keys per region: the destination CMK is not in $SRC_REGION" \
	"$([ "$(key_state "$DST_REGION" "$dst_arn")" = Enabled ] &&
	   ! kms_call "$SRC_REGION" DescribeKey "{\"KeyId\":\"${dst_arn##*/}\"}" > /dev/null; echo $?)"

src=$(ag_loop 24)
name=$(uniq cpaws)
ag_cleanup_on_exit "$name"
ktap_check "format under the $SRC_REGION CMK (provider aws) and open" \
	bash -c "aurora format $src --kms-key-id $src_arn --yes >&2 && aurora open $src $name >&2"
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

# --- Refusals ----------------------------------------------------------------
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$same_arn" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a CMK of the source's region ($SRC_REGION) is refused (exit $rc), no file left" \
	"$([ $rc = 2 ] && grep -q "$SRC_REGION" "$AG_TMP/err" && [ ! -e "$B/x.bak" ]; echo $?)"
ktap_check "DisableKey of a destination CMK" kms_call "$DST_REGION" DisableKey "{\"KeyId\":\"${off_arn##*/}\"}"
aurora copy "$B/src.bak" "$B/x.bak" --kms-key-id "$off_arn" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a disabled destination CMK is refused naming it (exit $rc), no file left" \
	"$([ $rc = 4 ] && grep -q "$off_arn" "$AG_TMP/err" && grep -q DisabledException "$AG_TMP/err" &&
	   [ ! -e "$B/x.bak" ]; echo $?)"

# --- The copy ----------------------------------------------------------------
ktap_check "copy to the $DST_REGION CMK" \
	aurora copy "$B/src.bak" "$B/copy.bak" --kms-key-id "$dst_arn" --quiet
j=$(aurora --json backup verify "$B/copy.bak" | tr -d ' \n')
note "$j"
ktap_result "the copy's manifest names the $DST_REGION CMK and region, and a new UUID" \
	"$([[ "$j" == *"\"cmk_arn\":\"$dst_arn\""* && "$j" == *"\"cmk_region\":\"$DST_REGION\""* &&
	      "$j" != *"$src_uuid"* ]]; echo $?)"
# The copy's header (the volume header area after preamble and manifest).
m=$(od -An -tu4 -j12 -N4 "$B/copy.bak" | tr -d ' ')
dd if="$B/copy.bak" of="$AG_TMP/copy.hdr" bs=1 skip=$((32 + m)) count=65536 status=none
loop_h=$(ag_loop 1)
dd if="$AG_TMP/copy.hdr" of="$loop_h" bs=64k conv=notrunc status=none
h=$(status_json "$loop_h")
note "copy header: $h"
ktap_result "the copy's header: the $DST_REGION CMK and region, lineage.copied_from the source" \
	"$([[ "$h" == *"\"key_arn\":\"$dst_arn\""* && "$h" == *"\"region\":\"$DST_REGION\""* &&
	      "$h" == *"\"copied_from\":\"$src_uuid\""* && "$h" != *"$src_arn"* ]]; echo $?)"
ktap_check "no plaintext marker in the backup or the copy" \
	bash -c "$(declare -f no_marker); MARKER='$MARKER'; no_marker $B/src.bak && no_marker $B/copy.bak"

# --- The source CMK disabled, only the destination region reachable -------
ktap_check "DisableKey of the source CMK ($SRC_REGION)" \
	kms_call "$SRC_REGION" DisableKey "{\"KeyId\":\"${src_arn##*/}\"}"
ktap_result "the source CMK is Disabled" "$([ "$(key_state "$SRC_REGION" "$src_arn")" = Disabled ]; echo $?)"
dst=$(ag_loop 24)
before=$(sha256sum < "$dst")
aurora restore "$B/src.bak" "$dst" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "the original backup no longer restores: exit 4 naming its CMK, disk untouched" \
	"$([ $rc = 4 ] && grep -q "$src_arn" "$AG_TMP/err" && [ "$(sha256sum < "$dst")" = "$before" ]; echo $?)"
ktap_check "the relay now forwards only requests signed for $DST_REGION" only_region "$DST_REGION"
aurora restore "$B/src.bak" "$dst" > "$AG_TMP/out" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "$SRC_REGION is unreachable: the original backup's restore is transient (exit $rc)" \
	"$([ $rc = 5 ]; echo $?)"
ktap_check "the copy restores onto a second disk (config region $DST_REGION)" \
	aurora --region "$DST_REGION" restore "$B/copy.bak" "$dst" --quiet
s=$(status_json "$dst")
note "$s"
ktap_result "the restored volume: the $DST_REGION CMK, lineage.copied_from the source" \
	"$([[ "$s" == *"\"key_arn\":\"$dst_arn\""* && "$s" == *"\"region\":\"$DST_REGION\""* &&
	      "$s" == *"\"copied_from\":\"$src_uuid\""* ]]; echo $?)"
cname=$(uniq cpawsdst)
ag_cleanup_on_exit "$cname"
ktap_check "the restored copy opens (Decrypt in $DST_REGION only)" \
	aurora --region "$DST_REGION" open "$dst" "$cname"
ktap_check "fsck clean" e2fsck -f -n "/dev/mapper/$cname"
mkdir -p "/mnt/$cname"
ktap_check "files identical" bash -c \
	"mount -o ro /dev/mapper/$cname /mnt/$cname && (cd /mnt/$cname && sha256sum -c $AG_TMP/sums) >&2; r=\$?; umount /mnt/$cname; exit \$r"
ktap_check "close" aurora close "$cname"
ktap_check "the relay forwards every region again" only_region any
ktap_check "no plaintext marker on either device" \
	bash -c "! grep -q -a '$MARKER' $src && ! grep -q -a '$MARKER' $dst"
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
