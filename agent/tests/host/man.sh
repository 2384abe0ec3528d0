#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test: aurora(8) documents every verb, option and kms operation of the
# command table (`aurora help --list`) and every global option of
# `aurora --help`, and names no verb the table lacks.  Flat KTAP on stdout.
set -u
A=${AURORA_BIN:-$(dirname "$0")/../../aurora}
M=${AURORA_SRC:-$(dirname "$0")/../..}/man/aurora.8
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() { n=$((n + 1)); out+=("not ok $n - $1"); echo "FAILED: $1" >&2; }
# roff writes - as \-: compare with the escapes taken out
text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$M")
list=$("$A" help --list) || { notok "aurora help --list runs"; list=""; }
[ -n "$list" ] && ok "aurora help --list runs"

while read -r verb rest; do
	[ -n "$verb" ] || continue
	if [ "$verb" = kms ] && [ -n "$rest" ] && [ "${rest#--}" = "$rest" ]; then
		# a kms operation
		if grep -q -- "^\.[BT][ A-Z]*$rest\b\|^\.B $rest" <<< "$text"; then ok "man: kms $rest"
		else notok "man: kms $rest"; fi
	elif [ -n "$rest" ]; then
		if grep -q -- "$rest\b" <<< "$text"; then ok "man: $verb $rest"
		else notok "man: $verb $rest"; fi
	else
		if grep -qx -- "\.SS $verb" <<< "$text"; then ok "man: section for $verb"
		else notok "man: section for $verb"; fi
	fi
done <<< "$list"

for g in $("$A" --help | grep -o -- '--[a-z-]*' | sort -u); do
	if grep -q -- "$g\b" <<< "$text"; then ok "man: global $g"; else notok "man: global $g"; fi
done

for s in $(grep '^\.SS ' <<< "$text" | cut -d' ' -f2); do
	if grep -qx -- "$s" <<< "$list"; then ok "man: $s is a verb of the table"
	else notok "man: $s is a verb of the table"; fi
done

echo "1..$n"
printf '%s\n' "${out[@]}"
for l in "${out[@]}"; do case $l in "not ok"*) exit 1;; esac; done
exit 0
