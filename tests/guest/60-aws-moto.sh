#!/bin/bash
# The AWS KMS provider end to end: the guest's aurora speaks AWS KMS's wire
# protocol (JSON 1.1, SigV4) to moto on the host.  The only path out of the
# guest is the virtio-serial port aurora.kms: socat on 127.0.0.1 here, the
# host's scripts/kms-relay.py, moto on the host's 127.0.0.1 (started by
# scripts/vm-run with scripts/moto-kms.py: alias/aurora-guest and
# alias/aurora-guest-off in us-east-1).  No other address carries traffic.
# Without the port (a run without moto), every check is skipped.
. /tests/lib.sh
. /tests/40-agent-lib.inc
PLAN=28
ktap_plan $PLAN

PORT=4566
if ! kms_bridge_start $PORT; then
	for i in $(seq $PLAN); do
		ktap_skip "AWS provider through moto ($i)" "no aurora.kms virtio-serial port"
	done
	exit 0
fi

# Provider aws, endpoint on the guest's loopback (plain http because the
# URL says so).  TCG guests are slow: generous per-attempt timeouts.
# confirm_passes 1, recovery_window 0: a confirmed loss is terminal at once
# (the inaccessible state and its window: 52-verdicts.sh, 52-aws-faults.sh).
printf 'provider = aws\naccount = 123456789012\nregion = us-east-1\nendpoint = http://127.0.0.1:%s\nconnect_timeout = 10\ntimeout = 60\nconfirm_passes = 1\nrecovery_window = 0\n' \
	"$PORT" > "$AURORA_CONF"
export AWS_ACCESS_KEY_ID=AKIAGUESTTEST AWS_SECRET_ACCESS_KEY=guest-secret-not-logged
unset AWS_PROFILE AWS_SESSION_TOKEN

# kms_call OPERATION JSON: one raw JSON 1.1 call to moto (a check of the
# bridge only: moto does not verify signatures, but routes a request to KMS
# by the credential scope of its Authorization header).  Prints the reply
# body; true on HTTP 200.  The relay keeps connections alive: read exactly
# Content-Length bytes.
kms_call() {
	local body=$2 status line len=0
	exec 5<>/dev/tcp/127.0.0.1/$PORT || return 1
	printf 'POST / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: TrentService.%s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAGUESTTEST/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Length: %s\r\n\r\n%s' \
		"$PORT" "$1" "${#body}" "$body" >&5
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

dmesg_mark
ktap_check "dm-aurora module loads" ag_modules
ktap_check "moto answers DescribeKey through the bridge" \
	bash -c "$(declare -f kms_call); PORT=$PORT; kms_call DescribeKey '{\"KeyId\":\"alias/aurora-guest\"}' | grep -q '\"KeyState\": *\"Enabled\"'"

loop=$(ag_loop 32)
name=$(uniq aws)
ag_cleanup_on_exit "$name"
dev=/dev/mapper/$name

ktap_check "aurora format with provider aws (GenerateDataKey from moto)" \
	aurora format "$loop" --kms-key-id alias/aurora-guest --yes
st=$(aurora status "$loop" --json 2>/dev/null)
note "status: $(echo "$st" | tr -d '\n' | head -c 600)"
ktap_result "the header names the CMK by its moto ARN" \
	"$(echo "$st" | grep -q 'arn:aws:kms:us-east-1:123456789012:key/'; echo $?)"
uuid=$(ag_uuid "$loop")
ktap_check "aurora open (Decrypt through moto)" aurora open "$loop" "$name"
ktap_check "the logon key aurora:<uuid> is in the keyring" keyctl search @u logon "aurora:$uuid"
head -c $((4 << 20)) /dev/urandom > "$AG_TMP/rand"
ktap_check "write 4 MiB" dd if="$AG_TMP/rand" of="$dev" bs=1M oflag=direct conv=notrunc status=none
ktap_check "aurora close" aurora close "$name"
ktap_check "reopen through moto" aurora open "$loop" "$name"
ktap_check "the data reads back" cmp "$AG_TMP/rand" <(dd if="$dev" bs=1M count=4 iflag=direct status=none)
ktap_check "close again" aurora close "$name"

# A missing alias is the KMS's definitive "no": exit 4, nothing written.
loop2=$(ag_loop 16)
ktap_result "format under a missing alias: exit 4 (KMS refused)" \
	"$([ "$(ag_rc aurora format "$loop2" --kms-key-id alias/no-such-key --yes)" -eq 4 ]; echo $?)"

# The KMS unreachable (nothing listens on that loopback port): exit 5, the
# volume is neither opened nor touched, nothing is left behind.
sed "s/:$PORT\$/:$((PORT + 1))/" "$AURORA_CONF" > "$AG_TMP/dead.conf"
ktap_result "KMS unreachable at open: exit 5 (retry later)" \
	"$([ "$(ag_rc aurora --config "$AG_TMP/dead.conf" open "$loop" "$name")" -eq 5 ]; echo $?)"
ktap_result "no mapping and no kernel key left behind" \
	"$(ag_no_mapping "$name" && ag_no_key "$uuid"; echo $?)"
ktap_check "the volume still opens once the KMS is back" \
	bash -c "aurora open $loop $name && aurora close $name"

# The watching agent over the AWS wire protocol: an unreachable KMS is
# transient, a disabled CMK makes the volume terminal: Decrypt answers
# DisabledException (moto with AWS's key-state rules, scripts/moto-strict.py).
is_terminal() { [ "$(dmsetup status "$1" | awk '{ print $4 }')" = terminal ]; }
loop3=$(ag_loop 16)
name3=$(uniq awsoff)
ag_cleanup_on_exit "$name3"
ktap_check "agent: a volume under alias/aurora-guest-off, opened through moto" \
	bash -c "aurora format $loop3 --kms-key-id alias/aurora-guest-off --yes && aurora open $loop3 $name3"
ktap_check "agent: a pass through moto with the CMK enabled succeeds" aurora agent --once
ktap_result "agent: the KMS unreachable: exit 5, the volume stays active" \
	"$([ "$(ag_rc aurora --config "$AG_TMP/dead.conf" agent --once --retries 1)" -eq 5 ] &&
	   ! is_terminal "$name3"; echo $?)"
kid=$(kms_call DescribeKey '{"KeyId":"alias/aurora-guest-off"}' | sed -n 's/.*"KeyId": *"\([^"]*\)".*/\1/p')
ktap_check "agent: DisableKey through moto" kms_call DisableKey "{\"KeyId\":\"$kid\"}"
ktap_result "agent: a pass after DisableKey exits 6 (made terminal)" \
	"$([ "$(ag_rc aurora agent --once)" -eq 6 ]; echo $?)"
ktap_check "agent: the volume is terminal" is_terminal "$name3"
ktap_result "agent: the header records DisabledException" \
	"$(aurora status "$loop3" --json | tr -d ' \n' | grep -q '"terminal_reason":"DisabledException"'; echo $?)"

# Region routing (issue 16): the CMK's ARN in the header is in us-east-1.  A
# host configured for eu-west-1, or with no region line and AWS_REGION set,
# still asks us-east-1 (endpoint kept, SigV4 scope of the ARN's region):
# moto keeps keys per region, chosen by the signing region, so a request
# signed for eu-west-1 would find no such key.
aurora close "$name3" >&2
sed 's/^region = .*/region = eu-west-1/' "$AURORA_CONF" > "$AG_TMP/euw1.conf"
grep -v '^region' "$AURORA_CONF" > "$AG_TMP/noregion.conf"
ktap_check "region: open with region = eu-west-1 (the CMK is in us-east-1)" \
	aurora --config "$AG_TMP/euw1.conf" open "$loop" "$name"
ktap_check "region: an agent pass with region = eu-west-1 succeeds" \
	aurora --config "$AG_TMP/euw1.conf" agent --once
ktap_check_fails "region: the volume is not terminal" is_terminal "$name"
ktap_check "region: close" aurora close "$name"
ktap_check "region: AWS_REGION=eu-west-1 and no region line: open" \
	env AWS_REGION=eu-west-1 aurora --config "$AG_TMP/noregion.conf" open "$loop" "$name"
ktap_check "region: AWS_REGION=eu-west-1: an agent pass succeeds, then close" \
	bash -c "AWS_REGION=eu-west-1 aurora --config $AG_TMP/noregion.conf agent --once && aurora close $name"
