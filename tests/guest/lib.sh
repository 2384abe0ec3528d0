# shellcheck shell=bash
# Shared helpers for guest tests.  Each test script sources this file and
# prints a flat KTAP list on stdout: a plan, then one line per result.
# Anything else a test prints goes to stderr (or behind '# ' via note).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DM_DISABLE_UDEV=1
_ktap_n=0
_ktap_failed=0

ktap_plan() { echo "1..$1"; }
note() { echo "# $*"; }

ktap_ok() {
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n - $*"
}

ktap_fail() {
	_ktap_n=$((_ktap_n + 1))
	_ktap_failed=$((_ktap_failed + 1))
	echo "not ok $_ktap_n - $*"
}

# ktap_skip DESC REASON
ktap_skip() {
	_ktap_n=$((_ktap_n + 1))
	echo "ok $_ktap_n - $1 # SKIP $2"
}

# ktap_result DESC STATUS: ok iff STATUS is 0.
ktap_result() {
	if [ "$2" -eq 0 ]; then ktap_ok "$1"; else ktap_fail "$1"; fi
}

# ktap_check DESC CMD...: ok iff CMD exits 0 (its output goes to stderr).
ktap_check() {
	local desc=$1
	shift
	if "$@" >&2; then ktap_ok "$desc"; else ktap_fail "$desc"; fi
}

# ktap_check_fails DESC CMD...: ok iff CMD exits non-zero.
ktap_check_fails() {
	local desc=$1
	shift
	if "$@" >&2; then ktap_fail "$desc"; else ktap_ok "$desc"; fi
}

# on_exit CMD: run CMD (a shell string) when the script exits, last first.
# Safe to call from a subshell, e.g. a helper run as loop=$(tgt_loop 8): the
# commands go to a file, not to a variable the subshell would lose (bash
# runs no EXIT trap of its parent in a subshell, so each command runs once,
# when the script itself exits).
_on_exit_file=$(mktemp /tmp/aurora-on-exit.XXXXXX)
on_exit() { printf '%s\0' "$1" >> "$_on_exit_file"; }

_run_on_exit() {
	local i cmds=()
	mapfile -d '' -t cmds < "$_on_exit_file"
	for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do
		eval "${cmds[$i]}" >&2 2>&1 || true
	done
	rm -f "$_on_exit_file"
}
trap _run_on_exit EXIT

# uniq NAME: a name no other test (or earlier run of this one) uses.
uniq() { echo "$1-$$-$RANDOM"; }

# Dump the kernel log since the last mark to stderr (for failures).
dmesg_mark() { dmesg | wc -l > /tmp/.dmesg-mark; }
dmesg_since_mark() {
	local n
	n=$(cat /tmp/.dmesg-mark 2>/dev/null || echo 0)
	dmesg | tail -n +"$((n + 1))"
}

# kms_bridge_start PORT: listen on 127.0.0.1:PORT in the guest and carry each
# connection over the virtio-serial port 'aurora.kms' to the host's relay
# (scripts/kms-relay.py), which forwards it to a KMS on the host's loopback.
# Returns non-zero when the guest was booted without the port.
kms_bridge_start() {
	local p dev=
	for p in /sys/class/virtio-ports/*; do
		[ -e "$p/name" ] && [ "$(cat "$p/name")" = aurora.kms ] && dev=/dev/${p##*/}
	done
	[ -n "$dev" ] || return 1
	# The port is opened once and held (a second open would fail with
	# EBUSY while the previous connection's socat is still closing); each
	# connection's socat child relays over the inherited descriptor.
	socat -t 0 "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" FD:7 7<>"$dev" 2>/dev/null &
	on_exit "kill $! 2>/dev/null"
	# Ready when the socket listens (state 0A in /proc/net/tcp).
	local hex i
	hex=$(printf '%04X' "$1")
	for i in $(seq 1 50); do
		grep -q ":$hex 00000000:0000 0A" /proc/net/tcp && return 0
		sleep 0.1
	done
	return 1
}
