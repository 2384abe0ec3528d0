#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of kms export-keystore / import-keystore (embedded KMS): export,
# wipe, import, and a data key wrapped before the wipe unwraps again; a wrong
# passphrase, an altered or truncated file and another keystore are refused
# with nothing written; the passphrase is read from a file descriptor only.
# Flat KTAP on stdout.
set -u
A=${AURORA_BIN:-$(dirname "$0")/../../aurora}
T=$(mktemp -d /tmp/aurora-ksx-XXXXXX)
trap 'rm -rf "$T"' EXIT
printf 'keystore = %s/ks\naccount = 111122223333\nregion = eu-west-1\n' "$T" > "$T/conf"
printf 'keystore = %s/ks2\naccount = 111122223333\nregion = eu-west-1\n' "$T" > "$T/conf2"
export AURORA_CONF=$T/conf
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() { n=$((n + 1)); out+=("not ok $n - $1"); echo "FAILED: $1" >&2; }
expect() {
	local want=$1 pat=$2 desc=$3; shift 3
	"$@" > "$T/out" 2> "$T/err"; local rc=$?
	if [ "$rc" -eq "$want" ] && { [ -z "$pat" ] || grep -q -- "$pat" "$T/err"; }; then
		ok "$desc (exit $rc)"
	else
		notok "$desc (exit $rc, want $want, pattern '$pat')"; sed 's/^/# /' "$T/err" "$T/out" >&2
	fi
}
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }
PW="correct horse battery staple"
printf '%s\n' "$PW" > "$T/pw"
printf 'wrong horse battery staple\n' > "$T/badpw"
printf 'short\n' > "$T/shortpw"
FAST=(--pbkdf-memory 8192 --pbkdf-time 2)
kssum() { cat "$T/ks/master.key" "$T/ks/keystore.json" 2>/dev/null | sha256sum; }

# A CMK and a data key wrapped under it before the export.
k=$("$A" kms create-key --description old --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])')
"$A" --json kms generate-data-key --key-id "$k" --encryption-context volume=v1 \
	--plaintext-out "$T/dk" > "$T/gen.json" 2>/dev/null
blob=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["CiphertextBlob"])' "$T/gen.json")
check "a data key wrapped under the CMK" '[ -s "$T/dk" ] && [ -n "$blob" ]'

expect 0 "" "export (passphrase on fd 3)" bash -c "'$A' kms export-keystore '$T/ex' --passphrase-fd 3 ${FAST[*]} 3< '$T/pw'"
check "export file is mode 0600" '[ "$(stat -c %a "$T/ex")" = 600 ]'
check "export starts with AURKSX1, Argon2id t=2 m=8192 p=1" \
	'[ "$(head -c 8 "$T/ex" | tr -d "\0")" = AURKSX1 ] && [ "$(od -An -tu4 -j12 -N16 "$T/ex" | xargs)" = "2 2 8192 1" ]'
check "neither passphrase nor master key in the export" \
	'python3 -c "import sys; ex = open(sys.argv[1], \"rb\").read(); sys.exit(sys.argv[2].encode() in ex or open(sys.argv[3], \"rb\").read() in ex)" "$T/ex" "$PW" "$T/ks/master.key"'
id0=$(od -An -c -j80 -N35 "$T/ex" | tr -d ' \n')
expect 0 "" "export with the default Argon2id parameters" bash -c "'$A' kms export-keystore '$T/exd' --passphrase-fd 3 3< '$T/pw'"
check "defaults: t=4 m=65536 KiB p=1" '[ "$(od -An -tu4 -j16 -N12 "$T/exd" | xargs)" = "4 65536 1" ]'
expect 7 "force" "export onto an existing file refused" bash -c "'$A' kms export-keystore '$T/ex' --passphrase-fd 3 ${FAST[*]} 3< '$T/pw'"
expect 2 "at least" "a short passphrase refused" bash -c "'$A' kms export-keystore '$T/ex2' --passphrase-fd 3 ${FAST[*]} 3< '$T/shortpw'"
expect 2 "passphrase-fd" "no terminal and no --passphrase-fd: refused" setsid -w "$A" kms export-keystore "$T/ex3" </dev/null
check "nothing written by the refused exports" '[ ! -e "$T/ex2" ] && [ ! -e "$T/ex3" ]'
expect 2 "expected" "export without FILE" "$A" kms export-keystore --passphrase-fd 0

# Lose the keystore.
cp -a "$T/ks" "$T/ks.orig"
rm -rf "$T/ks"
expect 10 "" "keystore wiped: the data key no longer unwraps" "$A" kms decrypt --ciphertext-blob "$blob" --encryption-context volume=v1
expect 4 "wrong recovery passphrase" "wrong passphrase refused" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 3< '$T/badpw'"
check "wrong passphrase: nothing written" '[ ! -e "$T/ks/master.key" ] && [ ! -e "$T/ks/keystore.json" ]'
cp "$T/ex" "$T/exc"; printf '\xff' | dd of="$T/exc" bs=1 seek=200 conv=notrunc status=none
expect 4 "altered" "a changed payload byte refused" bash -c "'$A' kms import-keystore '$T/exc' --passphrase-fd 3 3< '$T/pw'"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[90] = ord("0") if b[90] != ord("0") else ord("1"); open(sys.argv[2],"wb").write(b)' "$T/ex" "$T/exh"
expect 4 "" "a changed header byte (identity) refused" bash -c "'$A' kms import-keystore '$T/exh' --passphrase-fd 3 3< '$T/pw'"
head -c 300 "$T/ex" > "$T/ext"
expect 3 "payload length" "a truncated export refused" bash -c "'$A' kms import-keystore '$T/ext' --passphrase-fd 3 3< '$T/pw'"
expect 3 "not an aurora keystore export" "not an export refused" bash -c "'$A' kms import-keystore '$T/conf' --passphrase-fd 3 3< '$T/pw'"
check "refused imports: nothing written" '[ ! -e "$T/ks/master.key" ] && [ ! -e "$T/ks/keystore.json" ]'
expect 0 "" "import into the empty keystore" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 3< '$T/pw'"
check "master.key and keystore.json as they were" 'cmp -s "$T/ks/master.key" "$T/ks.orig/master.key" && cmp -s "$T/ks/keystore.json" "$T/ks.orig/keystore.json"'
check "imported files are mode 0600" '[ "$(stat -c %a "$T/ks/master.key")" = 600 ] && [ "$(stat -c %a "$T/ks/keystore.json")" = 600 ]'
expect 0 "" "the old data key unwraps again" "$A" kms decrypt --ciphertext-blob "$blob" --encryption-context volume=v1 --plaintext-out "$T/dk2"
check "... to the same key" 'cmp -s "$T/dk" "$T/dk2"'
expect 0 "" "import again into the same keystore (nothing changed)" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 3< '$T/pw'"

# The keystore changed since the export: --force needed.
"$A" kms create-key --description newer >/dev/null 2>&1
s0=$(kssum)
expect 7 "differs" "a keystore changed since the export: refused" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 3< '$T/pw'"
check "... nothing written" '[ "$(kssum)" = "$s0" ]'
expect 0 "" "--force replaces keystore.json" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 --force 3< '$T/pw'"
check "... with the export's" 'cmp -s "$T/ks/keystore.json" "$T/ks.orig/keystore.json"'

# Another keystore: refused, even with --force.
AURORA_CONF=$T/conf2 "$A" kms create-key --description other >/dev/null 2>&1
s2=$(cat "$T/ks2/master.key" "$T/ks2/keystore.json" | sha256sum)
expect 10 "same one" "import into another keystore refused" env AURORA_CONF="$T/conf2" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 --force 3< '$T/pw'"
check "... nothing written" '[ "$(cat "$T/ks2/master.key" "$T/ks2/keystore.json" | sha256sum)" = "$s2" ]'
rm -f "$T/ks2/master.key"
expect 10 "without master.key" "a keystore.json without master.key: refused" env AURORA_CONF="$T/conf2" bash -c "'$A' kms import-keystore '$T/ex' --passphrase-fd 3 3< '$T/pw'"
check "the identity in the header is the keystore's ($id0)" '[ "${#id0}" = 35 ]'

echo "1..$n"
printf '%s\n' "${out[@]}"
for l in "${out[@]}"; do case $l in "not ok"*) exit 1;; esac; done
exit 0
