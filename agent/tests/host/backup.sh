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

# copy to another region: Decrypt in eu-west-1, Encrypt in us-west-2
kw=$("$A" --region us-west-2 kms create-key --description west --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])')
case $kw in arn:*:kms:us-west-2:*) ok "a CMK in us-west-2";; *) notok "a CMK in us-west-2 ($kw)";; esac
expect 2 "kms-key-id" "copy without --kms-key-id refused" "$A" copy "$T/b" "$T/c"
expect 2 "another region\|region of the backup" "copy to a CMK of the same region refused" "$A" copy "$T/b" "$T/c" --kms-key-id "$k2"
[ ! -e "$T/c" ] && ok "refused copy left no file" || notok "refused copy left no file"
expect 4 "arn:aws:kms:us-west-2:111122223333:key/00000000-0000-4000-8000-000000000000" "copy to an unknown CMK: refused naming it" \
	"$A" copy "$T/b" "$T/c" --kms-key-id arn:aws:kms:us-west-2:111122223333:key/00000000-0000-4000-8000-000000000000
expect 3 "chunk $i " "copy of a corrupt backup refused naming the chunk" "$A" copy "$T/bc" "$T/c" --kms-key-id "$kw"
[ ! -e "$T/c" ] && ok "no copy of a corrupt backup" || notok "no copy of a corrupt backup"
expect 0 "" "copy to the us-west-2 CMK" "$A" copy "$T/b" "$T/c" --kms-key-id "$kw"
expect 0 "" "the copy verifies" "$A" backup verify "$T/c"
expect 7 "" "copy onto an existing file refused" "$A" copy "$T/b" "$T/c" --kms-key-id "$kw"
"$A" --json backup verify "$T/c" > "$T/jc"
python3 - "$T/j" "$T/jc" <<'PY' && ok "copy manifest: new UUID, us-west-2 CMK, same chunks" || notok "copy manifest: new UUID, us-west-2 CMK, same chunks"
import json, sys
a, c = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(not (c["volume_uuid"] != a["volume_uuid"] and c["cmk_region"] == "us-west-2" and
              ":us-west-2:" in c["cmk_arn"] and c["chunks"] == a["chunks"] and
              c["data_chunks"] == a["data_chunks"]))
PY
# the chunk records (ciphertext) are byte for byte those of the source backup
recs() { local m; m=$(od -An -tu4 -j12 -N4 "$1" | tr -d ' '); tail -c +$((32 + m + 65536 + 1)) "$1" | head -c -$((24 + 112 * 32 + 32)); }
same <(recs "$T/b") <(recs "$T/c") "copy: chunk records identical (data stays ciphertext)"
head -c 70000 "$T/c" | tr -d '\0' | grep -q "\"copied_from\": *\"$uuid_src\"" &&
	ok "lineage.copied_from in the copy's header" || notok "lineage.copied_from in the copy's header"
"$A" kms disable-key --key-id "$arn" >/dev/null 2>&1
truncate -s 8M "$T/d4"
expect 0 "" "source CMK disabled: the copy restores" "$A" --region us-west-2 restore "$T/c" "$T/d4"
same <(data "$T/src") <(data "$T/d4") "restored copy: ciphertext identical"
head -c 70000 "$T/d4" | tr -d '\0' | grep -q "\"copied_from\": *\"$uuid_src\"" &&
	ok "restored copy keeps lineage.copied_from" || notok "restored copy keeps lineage.copied_from"
head -c 70000 "$T/d4" | tr -d '\0' | grep -q "$kw" && ok "restored copy under the us-west-2 CMK" || notok "restored copy under the us-west-2 CMK"
"$A" kms enable-key --key-id "$arn" >/dev/null 2>&1
"$A" kms disable-key --key-id "$kw" >/dev/null 2>&1
expect 4 "$kw" "destination CMK disabled: the copy's restore names it" "$A" restore "$T/c" "$T/d3" --yes
"$A" kms enable-key --key-id "$kw" >/dev/null 2>&1
"$A" copy "$T/b" - --kms-key-id "$kw" --quiet > "$T/c2" && ok "copy to stdout" || notok "copy to stdout"
expect 0 "" "copy from stdin verifies" bash -c "'$A' copy - '$T/c3' --kms-key-id '$kw' < '$T/b' && '$A' backup verify '$T/c3'"

# restore --plaintext and copy --new-data-key: what is refused before any
# device-mapper work (the rest runs in the guest: 74-restore-plaintext, 75-copy-newkey)
truncate -s 4M "$T/plain.img"
truncate -s 8M "$T/pd"
sum_pd=$(sum "$T/pd")
expect 2 "kms-key-id" "restore --plaintext without --kms-key-id refused" "$A" restore --plaintext "$T/plain.img" "$T/pd"
expect 8 "nothere.img" "restore --plaintext of a missing image refused" \
	"$A" restore --plaintext "$T/nothere.img" "$T/pd" --kms-key-id "$kw"
expect 2 "holds an aurora volume" "restore --plaintext of an aurora volume refused" \
	"$A" restore --plaintext "$T/src" "$T/pd" --kms-key-id "$kw"
expect 2 "not a block device" "restore --plaintext onto an image file refused (a mapping needs a block device)" \
	"$A" restore --plaintext "$T/plain.img" "$T/pd" --kms-key-id "$kw"
truncate -s 0 "$T/empty.img"
expect 2 "is empty" "restore --plaintext of an empty image refused" \
	"$A" restore --plaintext "$T/empty.img" "$T/pd" --kms-key-id "$kw"
[ "$(sum "$T/pd")" = "$sum_pd" ] && ok "refused plaintext restores wrote nothing" || notok "refused plaintext restores wrote nothing"
expect 2 "tmpdir" "copy --tmpdir without --new-data-key refused" \
	"$A" copy "$T/b" "$T/cn" --kms-key-id "$kw" --tmpdir "$T"
expect 3 "chunk $i " "copy --new-data-key of a corrupt backup refused naming the chunk" \
	"$A" copy "$T/bc" "$T/cn" --kms-key-id "$kw" --new-data-key --tmpdir "$T"
expect 4 "00000000-0000-4000-8000-000000000000" "copy --new-data-key to an unknown CMK refused naming it" \
	"$A" copy "$T/b" "$T/cn" --kms-key-id arn:aws:kms:us-west-2:111122223333:key/00000000-0000-4000-8000-000000000000 --new-data-key
[ ! -e "$T/cn" ] && ok "refused --new-data-key copies left no file" || notok "refused --new-data-key copies left no file"

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
