#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the aurora CLI: arguments, help, exit codes, format on image
# files, and the embedded KMS through `aurora kms`.  No device-mapper needed.
# Prints flat KTAP on stdout.
set -u
A=${AURORA_BIN:-$(dirname "$0")/../../aurora}
T=$(mktemp -d /tmp/aurora-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
: > "$T/empty.conf"
export AURORA_CONF=$T/empty.conf
KS=$T/ks
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() { n=$((n + 1)); out+=("not ok $n - $1"); echo "FAILED: $1" >&2; }
# expect RC DESC CMD...: run CMD, compare exit code
expect() {
	local want=$1 desc=$2; shift 2
	"$@" > "$T/out" 2> "$T/err"; local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$desc (exit $rc)"; else
		notok "$desc (exit $rc, want $want)"; sed 's/^/# /' "$T/err" >&2; fi
}
has() { # has FILE PATTERN DESC
	if grep -q -- "$2" "$1"; then ok "$3"; else notok "$3"; sed 's/^/# /' "$1" >&2; fi
}
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[int(k)] if isinstance(d,list) else d[k]
print(d)' "$@"; }
au() { "$A" --keystore "$KS" "$@"; }

# help and usage
expect 0 "aurora --help" "$A" --help
has "$T/out" "cannot be changed" "top-level help says a volume's CMK cannot be changed"
has "$T/out" "Exit codes" "top-level help lists exit codes"
for c in format open close status kms; do
	expect 0 "aurora $c --help" "$A" "$c" --help
done
"$A" format --help > "$T/out"
has "$T/out" "Encryption cannot be removed" "format help says encryption cannot be removed"
expect 2 "no command" "$A"
expect 2 "unknown command" "$A" frobnicate
expect 2 "format without a device" au format
expect 2 "format with two devices" au format a b --yes
expect 2 "format with a bad sector size" au format "$T/x" --sector-size 1000 --yes
expect 2 "format with an unknown option" au format "$T/x" --bogus
expect 2 "open without a name" au open /dev/null
expect 2 "close without a name" au close
expect 2 "status with two arguments" au status a b
expect 2 "kms without an operation" au kms
expect 2 "kms unknown operation" au kms make-coffee
expect 2 "describe-key without --key-id" au kms describe-key
expect 2 "bad --account" au --account 12 kms list-keys
expect 2 "bad --region" au --region 'EU WEST' kms list-keys
expect 2 "relative --keystore" "$A" --keystore rel kms list-keys
echo "colour = blue" > "$T/bad.conf"
expect 2 "configuration with an unknown key" "$A" --config "$T/bad.conf" kms list-keys
has "$T/err" "line 1" "configuration error names the line"
expect 2 "missing --config file" "$A" --config "$T/none.conf" kms list-keys

# format on image files
truncate -s 8M "$T/img"
expect 2 "format refuses without --yes when not on a terminal" au format "$T/img" < /dev/null
expect 0 "format an image" au format "$T/img" --yes
expect 7 "format refuses an aurora volume" au format "$T/img" --yes
has "$T/err" "use --force" "refusal says how to force"
truncate -s 8M "$T/fs"
printf '\x53\xef' | dd of="$T/fs" bs=1 seek=1080 conv=notrunc status=none
expect 7 "format refuses an ext4 signature" au format "$T/fs" --yes
expect 0 "format --force over it" au format "$T/fs" --yes --force --sector-size 4096
expect 0 "status of the image (json)" au status "$T/img" --json
[ "$(jget "$T/out" state)" = active ] && ok "status: state active" || notok "status: state active"
[ "$(jget "$T/out" kms.key_id)" = alias/aurora/default ] && ok "status: CMK as named" || notok "status: CMK as named"
case $(jget "$T/out" kms.key_arn) in arn:aws:kms:us-east-1:000000000000:key/*) ok "status: CMK as resolved";; *) notok "status: CMK as resolved";; esac
[ "$(jget "$T/out" copies.1.valid)" = True ] && ok "status: both copies valid" || notok "status: both copies valid"
expect 3 "status of a non-aurora file" au status "$T/empty.conf"
expect 8 "status of a missing device" au status "$T/nope"
expect 2 "open of an image file asks for losetup" au open "$T/img" vol0
has "$T/err" "losetup" "message names losetup"
expect 4 "format with an unknown CMK" au format "$T/fs" --yes --force --kms-key-id alias/none
has "$T/err" "NotFoundException" "message names NotFoundException"

# embedded KMS
expect 0 "create-key" au --json kms create-key --description "db key"
KID=$(jget "$T/out" KeyMetadata.KeyId); ARN=$(jget "$T/out" KeyMetadata.Arn)
expect 0 "create-alias" au kms create-alias --alias-name alias/db --target-key-id "$KID"
expect 2 "create-alias duplicate" au kms create-alias --alias-name alias/db --target-key-id "$KID"
expect 0 "list-aliases" au kms list-aliases
has "$T/out" "alias/db" "alias listed"
expect 0 "list-keys" au --json kms list-keys
for form in "$KID" "$ARN" alias/db "arn:aws:kms:us-east-1:000000000000:alias/db"; do
	expect 0 "describe-key by $form" au kms describe-key --key-id "$form"
done
expect 0 "generate-data-key with plaintext to a 0600 file" au --json kms generate-data-key --key-id alias/db \
	--number-of-bytes 64 --encryption-context purpose=test,vol=1 --plaintext-out "$T/pt"
BLOB=$(jget "$T/out" CiphertextBlob)
[ "$(stat -c %a "$T/pt")" = 600 ] && ok "plaintext file is 0600" || notok "plaintext file is 0600"
expect 0 "generate-data-key without --plaintext-out" au kms generate-data-key --key-id alias/db
if grep -q Plaintext "$T/out"; then notok "no plaintext printed by default"; else ok "no plaintext printed by default"; fi
expect 0 "decrypt with the right context" au kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=1,purpose=test --plaintext-out "$T/pt2"
cmp -s "$T/pt" "$T/pt2" && ok "decrypted data key equals the generated one" || notok "decrypted data key equals the generated one"
expect 4 "decrypt with a wrong context" au kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=2,purpose=test
has "$T/err" InvalidCiphertextException "wrong context: InvalidCiphertextException"
expect 4 "decrypt with another key: IncorrectKeyException" au kms decrypt --ciphertext-blob "$BLOB" --key-id alias/aurora/default --encryption-context vol=1,purpose=test
has "$T/err" IncorrectKeyException "IncorrectKeyException named"
expect 0 "re-encrypt to the default CMK" au --json kms re-encrypt --ciphertext-blob "$BLOB" --source-encryption-context vol=1,purpose=test --destination-key-id alias/aurora/default --destination-encryption-context vol=9
B2=$(jget "$T/out" CiphertextBlob)
expect 0 "decrypt the re-encrypted blob" au kms decrypt --ciphertext-blob "$B2" --encryption-context vol=9 --plaintext-out "$T/pt3"
cmp -s "$T/pt" "$T/pt3" && ok "re-encrypt keeps the data key" || notok "re-encrypt keeps the data key"
expect 0 "disable-key" au kms disable-key --key-id alias/db
expect 4 "decrypt under a disabled key" au kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=1,purpose=test
has "$T/err" DisabledException "DisabledException named"
expect 0 "enable-key" au kms enable-key --key-id alias/db
expect 0 "rotate-key-on-demand" au --json kms rotate-key-on-demand --key-id alias/db
[ "$(jget "$T/out" KeyMaterialVersion)" = 2 ] && ok "material version 2" || notok "material version 2"
expect 0 "old blob decrypts after rotation" au kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=1,purpose=test
expect 0 "enable-key-rotation" au kms enable-key-rotation --key-id alias/db --rotation-period-in-days 180
expect 2 "schedule-key-deletion with 3 days" au kms schedule-key-deletion --key-id alias/db --pending-window-in-days 3
expect 4 "another account cannot see the key" au --account 444455556666 kms describe-key --key-id "$ARN"
has "$T/err" AccessDeniedException "AccessDeniedException named"
expect 0 "grant-access to another account" au kms grant-access --key-id alias/db --grantee-account 444455556666
expect 0 "granted account describes by ARN" au --account 444455556666 kms describe-key --key-id "$ARN"
expect 4 "granted account cannot manage" au --account 444455556666 kms disable-key --key-id "$ARN"
expect 0 "put-key-policy" au --json kms put-key-policy --key-id alias/db --allowed-accounts 000000000000
[ "$(jget "$T/out" AllowedAccounts.0)" = 000000000000 ] && ok "policy replaced" || notok "policy replaced"
expect 4 "revoked account denied" au --account 444455556666 kms decrypt --ciphertext-blob "$BLOB" --key-id "$ARN" --encryption-context vol=1,purpose=test
expect 0 "schedule-key-deletion" au --json kms schedule-key-deletion --key-id alias/db --pending-window-in-days 7
expect 4 "decrypt pending deletion" au kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=1,purpose=test
has "$T/err" KMSInvalidStateException "KMSInvalidStateException named"
expect 0 "cancel-key-deletion" au kms cancel-key-deletion --key-id alias/db
expect 0 "describe after cancel" au --json kms describe-key --key-id alias/db
[ "$(jget "$T/out" KeyMetadata.KeyState)" = Disabled ] && ok "cancelled deletion leaves Disabled" || notok "cancelled deletion leaves Disabled"
expect 2 "management refused for a bad grantee" au kms grant-access --key-id alias/db --grantee-account abc

# audit
[ -f "$KS/audit.log" ] && [ "$(stat -c %a "$KS/audit.log")" = 600 ] && ok "audit.log exists, 0600" || notok "audit.log exists, 0600"
python3 - "$KS/audit.log" <<'PY' && ok "every audit line is a JSON record with time, operation, account, region, outcome" || notok "audit records well formed"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ("eventTime", "eventName", "callerAccount", "region", "outcome"):
        assert k in r, (k, r)
    assert r["outcome"] in ("Success", "Failure")
    if r["outcome"] == "Failure":
        assert r["errorCode"].endswith("Exception") or r["errorCode"] in ("InternalError",), r
PY
PT=$(cat "$T/pt")
if grep -qF "${PT%%=*}" "$KS/audit.log" "$KS/keystore.json"; then notok "no data key in audit log or keystore"; else ok "no data key in audit log or keystore"; fi
[ "$(stat -c %a "$KS")" = 700 ] && [ "$(stat -c %a "$KS/keystore.json")" = 600 ] && [ "$(stat -c %a "$KS/master.key")" = 600 ] \
	&& ok "keystore 0700, files 0600" || notok "keystore 0700, files 0600"

echo "1..$n"
printf '%s\n' "${out[@]}"
for l in "${out[@]}"; do case $l in "not ok"*) exit 1;; esac; done
exit 0
