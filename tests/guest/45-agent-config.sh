#!/bin/bash
# A configuration that does not match a volume is a configuration error,
# never a verdict (issue 16, items 1 and 5):
#  - a volume formatted in eu-west-1 by account 111122223333 with one
#    keystore; the agent run with another region, no region line, another
#    account, another (empty) keystore leaves it active (header and kernel);
#    another region or none opens it (the key ARN's region is asked); another
#    account or keystore:
#    open exits 10 naming both sides, nothing is left behind; the right
#    configuration still opens it, data intact;
#  - two opens of one volume (by another path, and two at once held at the
#    KMS): the first mapping keeps its key and works, the second is refused;
#  - a mapping name reused by another volume while the agent checks the first
#    one: the verdict meant for the first never reaches the second (mappings
#    are addressed by dm UUID).
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 55
dmesg_mark
ag_modules >&2
KS=$AG_TMP/ks
A1=111122223333

kstate() { dmsetup status "$1" 2>/dev/null | awk '{ print $4 }'; }
# k_ok NAME: the kernel says active with its key loaded, and a direct read works.
k_ok() {
	[ "$(kstate "$1")" = active ] && dmsetup status "$1" | grep -q 'key:loaded' &&
		dd if="/dev/mapper/$1" of=/dev/null bs=4k count=1 iflag=direct status=none
}
hdr_active() {
	local j
	j=$(aurora status "$1" --json | tr -d ' \n')
	[[ "$j" == *'"state":"active"'* && "$j" != *'"state":"terminal"'* &&
	   "$j" != *'"state":"inaccessible"'* ]]
}
key_id() { aurora "$@" kms create-key --description t --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p'; }
sum1m() { dd if="/dev/mapper/$1" bs=1M count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1; }
# open_err LABEL OPTS...: run `aurora OPTS open $LOOP $NAME`, stderr to $AG_TMP/err.LABEL; the exit code.
open_err() {
	local l=$1
	shift
	aurora "$@" open "$LOOP" "$NAME" 2> "$AG_TMP/err.$l" >&2
	echo $?
}
# ks_hold: hold the keystore's lock until ks_release (every KMS call waits).
ks_hold() {
	local i
	rm -f "$AG_TMP/rel" "$AG_TMP/held"
	mkfifo "$AG_TMP/rel"
	exec 9<> "$AG_TMP/rel"
	flock-hold "$KS/.lock" <&9 > "$AG_TMP/held" &
	HOLDER=$!
	on_exit "kill $HOLDER 2>/dev/null"
	for i in $(seq 600); do
		grep -q locked "$AG_TMP/held" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
ks_release() { echo go >&9; wait "$HOLDER"; exec 9>&-; }
waiters() { grep -c -- '->' /proc/locks; }

# --- 1. Configuration mismatch ------------------------------------------
LOOP=$(ag_loop 16)
NAME=$(uniq cfg)
ag_cleanup_on_exit "$NAME"
ktap_check "format in eu-west-1, account $A1" aurora format "$LOOP" --yes
UUID=$(ag_uuid "$LOOP")
KSID=$(aurora status "$LOOP" --json | tr -d ' \n' | sed -n 's/.*"keystore_id":"\([^"]*\)".*/\1/p')
note "volume $UUID, keystore $KSID"
ktap_result "the header records the keystore identity and the caller's account" \
	"$([[ "$KSID" == ks-* ]] && aurora status "$LOOP" --json | tr -d ' \n' |
	   grep -q "\"caller_account\":\"$A1\""; echo $?)"
ktap_check "open with the right configuration" aurora open "$LOOP" "$NAME"
ktap_check "write 1 MiB" dd if=/dev/urandom of="/dev/mapper/$NAME" bs=1M count=1 oflag=direct status=none
SUM=$(sum1m "$NAME")
printf 'keystore = %s\naccount = %s\n' "$KS" "$A1" > "$AG_TMP/noregion.conf"
mkdir -m 0700 "$AG_TMP/ks-empty"
for v in "region:--region us-east-1" "no-region:--config $AG_TMP/noregion.conf" \
	 "account:--account 000000000000" "keystore:--keystore $AG_TMP/ks-empty"; do
	l=${v%%:*}
	# shellcheck disable=SC2086
	aurora ${v#*:} agent --once >&2
	note "$l: agent --once exited $?"
	ktap_check "$l: agent pass leaves the header active" hdr_active "$LOOP"
	ktap_check "$l: ... and the kernel active, key loaded, I/O ok" k_ok "$NAME"
done
ktap_result "another keystore: the agent created nothing in it" \
	"$([ -z "$(ls -A "$AG_TMP/ks-empty")" ]; echo $?)"
ktap_check "close" aurora close "$NAME"

# The region configured is the default for new keys: a key named by its ARN
# is asked for in the ARN's region (eu-west-1), whatever the configuration.
rc=$(open_err region --region us-east-1)
note "open with region us-east-1: exit $rc: $(cat "$AG_TMP/err.region")"
ktap_result "open with region us-east-1: opens (the ARN's region is asked), data intact" \
	"$([ "$rc" = 0 ] && [ "$(sum1m "$NAME")" = "$SUM" ]; echo $?)"
ktap_check "... close" aurora close "$NAME"
rc=$(open_err noregion --config "$AG_TMP/noregion.conf")
note "open with no region line: exit $rc: $(cat "$AG_TMP/err.noregion")"
ktap_result "open with no region line: opens, data intact" \
	"$([ "$rc" = 0 ] && [ "$(sum1m "$NAME")" = "$SUM" ]; echo $?)"
ktap_check "... close" aurora close "$NAME"
ktap_result "open with another account: exit 10 naming both accounts" \
	"$([ "$(open_err account --account 000000000000)" = 10 ] &&
	   grep -q "account $A1" "$AG_TMP/err.account" && grep -q 'account 000000000000' "$AG_TMP/err.account"; echo $?)"
ktap_result "open with an empty keystore: exit 10 naming the volume's keystore" \
	"$([ "$(open_err empty --keystore "$AG_TMP/ks-empty")" = 10 ] &&
	   grep -q "keystore $KSID" "$AG_TMP/err.empty" && grep -q 'no master key' "$AG_TMP/err.empty"; echo $?)"
ktap_result "... and the empty keystore is still empty" "$([ -z "$(ls -A "$AG_TMP/ks-empty")" ]; echo $?)"
mkdir -m 0700 "$AG_TMP/ks2"
key_id --keystore "$AG_TMP/ks2" > /dev/null
ktap_result "open with another keystore: exit 10 naming both keystores" \
	"$([ "$(open_err ks2 --keystore "$AG_TMP/ks2")" = 10 ] && grep -q "keystore $KSID" "$AG_TMP/err.ks2" &&
	   grep -Eq 'configured with keystore ks-[0-9a-f]{32}' "$AG_TMP/err.ks2" &&
	   ! grep -q "configured with keystore $KSID" "$AG_TMP/err.ks2"; echo $?)"
note "$(cat "$AG_TMP/err.ks2")"
ktap_result "no mapping and no kernel key left by the refused opens" \
	"$(ag_no_mapping "$NAME" && ag_no_key "$UUID"; echo $?)"
ktap_check "the right configuration opens it" aurora open "$LOOP" "$NAME"
ktap_result "data intact, header and kernel active" \
	"$([ "$(sum1m "$NAME")" = "$SUM" ] && hdr_active "$LOOP" && k_ok "$NAME"; echo $?)"

ktap_check "close" aurora close "$NAME"

# --- 2. Two opens of one volume (a volume of its own) ------------------------
LOOP=$(ag_loop 16)
UUID=$(aurora format "$LOOP" --yes --json | sed -n 's/.*"uuid":"\([^"]*\)".*/\1/p')
ktap_check "second volume: format, open, write 1 MiB" bash -c \
	"aurora open $LOOP $NAME && dd if=/dev/urandom of=/dev/mapper/$NAME bs=1M count=1 oflag=direct status=none"
SUM=$(sum1m "$NAME")
BACK=$(losetup -n -O BACK-FILE "$LOOP" | sed 's/ *$//')
LOOP2=$(losetup -f --show "$BACK")
on_exit "losetup -d $LOOP2"
N2=$(uniq cfg2)
ag_cleanup_on_exit "$N2"
ktap_result "a second open of the volume (another path, another name): exit 7" \
	"$(aurora open "$LOOP2" "$N2" 2> "$AG_TMP/err.2"; [ $? = 7 ]; echo $?)"
ktap_result "... saying where it is open" "$(grep -q "volume $UUID is already open as \"$NAME\"" "$AG_TMP/err.2"; echo $?)"
ktap_check "the first mapping keeps working (active, key:loaded, I/O)" k_ok "$NAME"
ktap_check "... its key is still in the keyring" keyctl search @u logon "aurora:$UUID"
ktap_check "close" aurora close "$NAME"

NA=$(uniq cfga)
NB=$(uniq cfgb)
ag_cleanup_on_exit "$NA"
ag_cleanup_on_exit "$NB"
ktap_check "hold the keystore so that both opens reach the KMS together" ks_hold
aurora open "$LOOP" "$NA" 2> "$AG_TMP/err.a" &
pa=$!
aurora open "$LOOP2" "$NB" 2> "$AG_TMP/err.b" &
pb=$!
arrived=1
for _ in $(seq 1200); do
	w=$(waiters)
	if [ "$w" -ge 2 ] || { [ "$w" -ge 1 ] && grep -q 'waiting for another aurora process' "$AG_TMP/err.a" "$AG_TMP/err.b"; }; then
		arrived=0
		break
	fi
	sleep 0.1
done
ktap_result "both opens are under way" "$arrived"
ks_release
wait "$pa"
ra=$?
wait "$pb"
rb=$?
note "concurrent opens: $NA exit $ra, $NB exit $rb"
if [ "$ra" = 0 ]; then WIN=$NA LOSE=$NB; else WIN=$NB LOSE=$NA; fi
ktap_result "one open succeeds, the other is refused with exit 7" \
	"$({ [ "$ra" = 0 ] && [ "$rb" = 7 ]; } || { [ "$ra" = 7 ] && [ "$rb" = 0 ]; }; echo $?)"
ktap_check "the first mapping keeps working (active, key:loaded, I/O)" k_ok "$WIN"
ktap_result "... data intact" "$([ "$(sum1m "$WIN")" = "$SUM" ]; echo $?)"
ktap_check "... a write works" dd if=/dev/zero of="/dev/mapper/$WIN" bs=4k seek=1000 count=1 oflag=direct status=none
ktap_check "no second mapping" ag_no_mapping "$LOSE"
ktap_check "the header is still active" hdr_active "$LOOP"
aurora agent --once >&2
ktap_check "an agent pass afterwards: still active" k_ok "$WIN"
ktap_check "close" aurora close "$WIN"

# --- 3. A mapping name reused while the agent checks ------------------------
# One pass is a verdict here (confirm_passes 1, no recovery window), so that
# the pass that lists X as volume A sends A's terminal message.
printf 'confirm_passes = 1\nrecovery_window = 0\n' >> "$AURORA_CONF"
KA=$(key_id)
LA=$(ag_loop 16)
LB=$(ag_loop 16)
X=$(uniq cfgx)
ag_cleanup_on_exit "$X"
ktap_check "volume A with its own CMK, open as X" \
	bash -c "aurora format $LA --kms-key-id $KA --yes && aurora open $LA $X"
UA=$(ag_uuid "$LA")
ktap_check "volume B in another keystore" aurora --keystore "$AG_TMP/ks2" format "$LB" --yes
UB=$(ag_uuid "$LB")
ktap_check "A's CMK disabled (A is lost)" aurora kms disable-key --key-id "$KA"
ktap_check "hold the keystore: the agent waits at A's KMS check" ks_hold
aurora agent --once 2> "$AG_TMP/err.agent" &
pg=$!
arrived=1
for _ in $(seq 1200); do
	[ "$(waiters)" -ge 1 ] && { arrived=0; break; }
	sleep 0.1
done
ktap_result "the agent has listed X (volume A) and waits at the KMS" "$arrived"
ktap_check "close X (A)" aurora close "$X"
ktap_check "open volume B as X" aurora --keystore "$AG_TMP/ks2" open "$LB" "$X"
ks_release
wait "$pg"
note "agent exited $?: $(tr '\n' ' ' < "$AG_TMP/err.agent")"
ktap_result "X is volume B" "$(dmsetup info -c --noheadings -o uuid "$X" | grep -q "AURORA-$UB"; echo $?)"
ktap_check "the verdict for A did not reach B: active, key:loaded, I/O ok" k_ok "$X"
ktap_check "B's key is in the keyring" keyctl search @u logon "aurora:$UB"
ktap_check "B's header is active" hdr_active "$LB"
ktap_check "close X (B)" aurora close "$X"
note "A $UA, B $UB"

ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -Eq 'WARNING|BUG|Oops' && echo 1 || echo 0)"
