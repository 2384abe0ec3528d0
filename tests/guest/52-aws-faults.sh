#!/bin/bash
# A KMS that misbehaves is never a verdict (issue 16): the AWS provider
# through the relay (scripts/kms-relay.py) to moto, with faults injected by
# the relay for 10 times the interval each: throttling (400
# ThrottlingException), 5xx (503/500), timeouts (no answer), and broken
# connections (bytes that are not HTTP; the guest's bridge cannot send a TCP
# reset).  The agent passes (interval 1 s) see each fault, the volume stays
# active with verification transient, never inaccessible, and I/O works
# throughout; once the faults end the next pass says ok.
. /tests/lib.sh
. /tests/40-agent-lib.inc
PLAN=29
ktap_plan $PLAN

PORT=4566
if ! kms_bridge_start $PORT; then
	for i in $(seq $PLAN); do
		ktap_skip "faults through the relay ($i)" "no aurora.kms virtio-serial port"
	done
	exit 0
fi
# Short timeouts: a black-holed request fails in 3 s.
printf 'provider = aws\naccount = 123456789012\nregion = us-east-1\nendpoint = http://127.0.0.1:%s\nconnect_timeout = 3\ntimeout = 3\ninterval = 1\n' \
	"$PORT" > "$AURORA_CONF"
export AWS_ACCESS_KEY_ID=AKIAGUESTTEST AWS_SECRET_ACCESS_KEY=guest-secret-not-logged
unset AWS_PROFILE AWS_SESSION_TOKEN

# fault MODE: tell the relay how to answer from now on (never forwarded).
# The bridge carries one connection at a time: only between agent passes.
fault() {
	local status line len=0 body
	exec 5<>/dev/tcp/127.0.0.1/$PORT || return 1
	printf 'POST /__aurora_fault/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n' "$1" >&5
	IFS= read -r -t 30 status <&5 || { exec 5<&-; return 1; }
	while IFS= read -r -t 30 line <&5; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case "${line,,}" in content-length:*) len=${line#*:}; len=${len// /} ;; esac
	done
	body=$(head -c "$len" <&5)
	exec 5<&-
	[[ "$status" == *" 200 "* && "$body" == "fault $1" ]]
}

ag_modules >&2
kstate() { dmsetup status "$1" | awk '{ print $4 }'; }
reads_ok() { dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct status=none; }
sjson() { aurora status "$1" --json | tr -d ' \n'; }

loop=$(ag_loop 16)
name=$(uniq awsfault)
ag_cleanup_on_exit "$name"
ktap_check "a volume under alias/aurora-guest through moto" \
	bash -c "aurora format $loop --kms-key-id alias/aurora-guest --yes >&2 && aurora open $loop $name >&2"
ktap_check "a pass with the KMS healthy: ok" aurora agent --once

# run_fault MODE PATTERN: agent passes (--retries 0: one attempt a pass,
# the provider's own attempts inside it) under MODE, one a second, for at
# least 10 times the interval (1 s) and at least 2 passes.  Every pass must
# exit 5 (transient), the volume stay active (kernel and header) with
# verification transient and I/O working; PATTERN must appear in what the
# passes report (the fault reached the agent).
run_fault() {
	local mode=$1 pat=$2 i=0 rc bad=0 out=$AG_TMP/$1.out t0
	: > "$out"
	ktap_check "$mode: the relay injects it" fault "$mode"
	t0=$(date +%s)
	while [ $i -lt 2 ] || [ $(($(date +%s) - t0)) -lt 10 ]; do
		i=$((i + 1))
		aurora --json agent --once --retries 0 >> "$out" 2>&1
		rc=$?
		if [ "$rc" != 5 ] || [ "$(kstate "$name")" != active ] || ! reads_ok "$name"; then
			note "$mode: pass $i: exit $rc, kernel $(kstate "$name")"
			bad=1
		fi
		sleep 1
	done
	note "$mode: $i passes in $(($(date +%s) - t0)) s"
	ktap_result "$mode: $i passes over 10 intervals, each transient (exit 5), kernel active, I/O works" "$bad"
	ktap_result "$mode: header active, verification transient" \
		"$(j=$(sjson "$loop"); [[ "$j" == *'"state":"active"'* && "$j" == *'"verification":"transient"'* ]]; echo $?)"
	ktap_result "$mode: the passes saw it ($pat)" "$(grep -qiE "$pat" "$out"; echo $?)"
	ktap_result "$mode: never lost, never inaccessible" \
		"$(! grep -qE '"outcome":"(lost|inaccessible|terminated)"' "$out"; echo $?)"
	grep -m1 -E '"message"' "$out" | sed 's/^/# /'
	ktap_check "$mode: the relay forwards again" fault none
}

run_fault throttle 'ThrottlingException'
run_fault 5xx 'ServiceUnavailable|KMSInternal|HTTP 50[03]'
run_fault timeout 'timeout|timed out'
run_fault reset 'malformed HTTP reply|network error|truncated'

ktap_check "after the faults: a pass says ok" aurora agent --once
ktap_check "after the faults: verification ok, state active" \
	bash -c "aurora status $loop --json | tr -d ' \n' | grep -q '\"verification\":\"ok\"'"
ktap_check "close" aurora close "$name"
