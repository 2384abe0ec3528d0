#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of backup, backup verify, restore and header backup/restore on
# image files with the embedded KMS (no device-mapper needed): round trip,
# stdin/stdout, holes, corruption, truncation, refusals, CMK rewrap and a
# disabled CMK.  Flat KTAP on stdout.
set -u
A=${AURORA_BIN:-$(dirname "$0")/../../aurora}
T=$(mktemp -d /tmp/aurora-backup-XXXXXX)
trap 'rm -rf "$T"' EXIT
printf 'keystore = %s/ks\naccount = 111122223333\nregion = eu-west-1\n' "$T" > "$T/conf"
export AURORA_CONF=$T/conf
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() { n=$((n + 1)); out+=("not ok $n - $1"); echo "FAILED: $1" >&2; }
# expect RC PATTERN DESC CMD...: exit code RC and PATTERN ("" none) in stderr
expect() {
	local want=$1 pat=$2 desc=$3; shift 3
	"$@" > "$T/out" 2> "$T/err"; local rc=$?
	if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$T/err"; }; then
		ok "$desc (exit $rc)"
	else
		notok "$desc (exit $rc, want $want, pattern '$pat')"; sed 's/^/# /' "$T/err" >&2
	fi
}
same() { if cmp -s "$1" "$2"; then ok "$3"; else notok "$3"; fi; }
data() { tail -c +$((1048576 + 1)) "$1"; }
sum() { sha256sum < "$1"; }

truncate -s 8M "$T/src"
expect 0 "" "format an image" "$A" format "$T/src" --yes
dd if=/dev/urandom of="$T/src" bs=64k seek=20 count=9 conv=notrunc status=none
dd if=/dev/urandom of="$T/src" bs=64k seek=100 count=1 conv=notrunc status=none
expect 0 "" "backup" "$A" backup "$T/src" "$T/b" --chunk-size 65536
expect 0 "" "backup verify" "$A" backup verify "$T/b"
"$A" --json backup verify "$T/b" > "$T/j"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["chunks"] == 112 and 0 < d["data_chunks"] < 20))' "$T/j" &&
	ok "holes: 112 chunks, only the written ones stored" || notok "holes: 112 chunks, only the written ones stored"
expect 7 "force" "backup onto an existing file refused" "$A" backup "$T/src" "$T/b"
truncate -s 8M "$T/d1"
expect 0 "" "restore onto an empty image" "$A" restore "$T/b" "$T/d1"
same <(data "$T/src") <(data "$T/d1") "restored ciphertext identical"
uuid_src=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["volume_uuid"])' "$T/j")
head -c 70000 "$T/d1" | tr -d '\0' | grep -q "\"restored_from\": *\"$uuid_src\"" &&
	ok "lineage.restored_from in the new header" || notok "lineage.restored_from in the new header"
expect 7 "aurora volume header" "restore onto a volume refused without --yes" "$A" restore "$T/b" "$T/d1"
"$A" backup "$T/src" - --quiet > "$T/b2" && ok "backup to stdout" || notok "backup to stdout"
expect 0 "" "verify from stdin" bash -c "'$A' backup verify - < '$T/b2'"
truncate -s 8M "$T/d2"
expect 0 "" "restore from stdin" bash -c "'$A' restore - '$T/d2' < '$T/b2'"
same <(data "$T/src") <(data "$T/d2") "stdin restore: ciphertext identical"

# bad input
mlen=$(od -An -tu4 -j12 -N4 "$T/b" | tr -d ' ')
rec=$((32 + mlen + 65536))
i=0
while [ "$(od -An -tu4 -j$((rec + 4)) -N4 "$T/b" | tr -d ' ')" = 2 ]; do rec=$((rec + 48)); i=$((i + 1)); done
cp "$T/b" "$T/bc"
printf '\x01\x02' | dd of="$T/bc" bs=1 seek=$((rec + 48 + 100)) conv=notrunc status=none
dd if=/dev/urandom of="$T/d3" bs=1M count=8 status=none
s0=$(sum "$T/d3")
expect 3 "chunk $i " "corrupt chunk $i: verify names it" "$A" backup verify "$T/bc"
expect 3 "chunk $i .*nothing was written" "corrupt chunk $i: restore refused, nothing written" "$A" restore "$T/bc" "$T/d3" --yes
[ "$(sum "$T/d3")" = "$s0" ] && ok "target untouched" || notok "target untouched"
head -c 100000 "$T/b" > "$T/bt"
expect 3 "truncated" "truncated backup refused" "$A" restore "$T/bt" "$T/d3" --yes
expect 3 "not an aurora backup" "not a backup refused" "$A" restore "$T/conf" "$T/d3" --yes
: > "$T/empty"
expect 3 "not an aurora backup" "empty file refused" "$A" backup verify "$T/empty"
cat "$T/b" "$T/conf" > "$T/bx"
expect 3 "after the trailer" "data after the trailer refused" "$A" backup verify "$T/bx"
[ "$(sum "$T/d3")" = "$s0" ] && ok "target still untouched" || notok "target still untouched"
truncate -s 4M "$T/small"
expect 2 "too small" "small target refused" "$A" restore "$T/b" "$T/small"
expect 8 "" "missing backup file" "$A" restore "$T/nope" "$T/d3"

# KMS: another CMK, a disabled CMK
k2=$("$A" kms create-key --description other --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["KeyId"])')
expect 0 "" "restore under another CMK" "$A" restore "$T/b" "$T/d1" --yes --kms-key-id "$k2"
head -c 40000 "$T/d1" | tr -d '\0' | grep -q "$k2" && ok "new header names the other CMK" || notok "new header names the other CMK"
arn=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cmk_arn"])' "$T/j")
"$A" kms disable-key --key-id "$arn" >/dev/null 2>&1
s0=$(sum "$T/d3")
expect 4 "$arn" "disabled CMK: refused naming it" "$A" restore "$T/b" "$T/d3" --yes
[ "$(sum "$T/d3")" = "$s0" ] && ok "disabled CMK: target untouched" || notok "disabled CMK: target untouched"
expect 0 "" "verify needs no usable key" "$A" backup verify "$T/b"
"$A" kms enable-key --key-id "$arn" >/dev/null 2>&1

# header backup / restore
expect 0 "" "header backup" "$A" header backup "$T/src" "$T/h"
cp "$T/src" "$T/src2"
dd if=/dev/zero of="$T/src2" bs=64k count=1 conv=notrunc status=none
expect 0 "" "header restore onto a wiped header" "$A" header restore "$T/h" "$T/src2"
same "$T/src" "$T/src2" "header restored byte for byte"
expect 7 "holds volume" "header of another volume refused" "$A" header restore "$T/h" "$T/d2"
expect 3 "not a header backup" "volume backup as a header refused" "$A" header restore "$T/b" "$T/src2"
expect 0 "" "--force writes it" "$A" header restore "$T/h" "$T/d2" --force

echo "1..$n"
printf '%s\n' "${out[@]}"
for l in "${out[@]}"; do case $l in "not ok"*) exit 1;; esac; done
exit 0
