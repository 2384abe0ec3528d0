#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of embedded keystore safety (issue 16) through the aurora CLI:
#  - a read-only keystore (a read-only bind mount in a private mount
#    namespace, as ProtectSystem=strict makes it) serves every read:
#    describe-key, decrypt, list-keys, list-aliases, get-key-policy, and
#    generate-data-key under an existing CMK; writing calls fail clearly;
#  - reads against a missing or empty keystore fail naming it and create
#    nothing (no directory, .lock, master.key, keystore.json, audit.log);
#  - master.key is never created while keystore.json holds keys;
#  - a key ARN of another region is served from that region's keys.
# No device-mapper needed.  Flat KTAP on stdout.
set -u
A=${AURORA_BIN:-$(dirname "$0")/../../aurora}
T=$(mktemp -d /tmp/aurora-ksro-XXXXXX)
trap 'rm -rf "$T"' EXIT
: > "$T/empty.conf"
export AURORA_CONF=$T/empty.conf
KS=$T/ks
n=0
out=()
ok() { n=$((n + 1)); out+=("ok $n - $1"); }
notok() { n=$((n + 1)); out+=("not ok $n - $1"); echo "FAILED: $1" >&2; }
check() { # check DESC CMD...: ok when CMD succeeds
	local d=$1; shift
	if "$@" > "$T/out" 2> "$T/err"; then ok "$d"; else notok "$d"; sed 's/^/# /' "$T/err" >&2; fi
}
check_fails() { # check_fails DESC PATTERN CMD...: CMD fails and stderr matches PATTERN
	local d=$1 pat=$2; shift 2
	if "$@" > "$T/out" 2> "$T/err"; then notok "$d (succeeded)"
	elif grep -q -- "$pat" "$T/err"; then ok "$d"
	else notok "$d (message)"; sed 's/^/# /' "$T/err" >&2; fi
}
empty_dir() { [ -d "$1" ] && [ -z "$(ls -A "$1")" ]; }
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[int(k)] if isinstance(d,list) else d[k]
print(d)' "$@"; }
au() { "$A" --keystore "$KS" "$@"; }

# --- a keystore that does not exist / is empty: reads create nothing ------
check_fails "describe-key alias/aurora/default, no keystore: fails naming it" "does not exist" \
	au kms describe-key --key-id alias/aurora/default
if [ -e "$KS" ]; then notok "... and no keystore directory was created"; else
	ok "... and no keystore directory was created"; fi
mkdir -m 0700 "$KS"
check_fails "describe-key alias/aurora/default, empty keystore: fails naming it" "$KS.*empty" \
	au kms describe-key --key-id alias/aurora/default
check_fails "list-keys, empty keystore: fails" "empty" au kms list-keys
check_fails "decrypt, empty keystore: fails" "empty" \
	au kms decrypt --ciphertext-blob QUtXAQ== --encryption-context a=b
if empty_dir "$KS"; then ok "the empty keystore is still empty (no .lock, master.key, audit.log)"
else notok "the empty keystore is still empty"; ls -la "$KS" >&2; fi

# --- a keystore with keys -------------------------------------------------
check "create-key" au --json kms create-key --description ro
KID=$(jget "$T/out" KeyMetadata.KeyId 2>/dev/null)
ARN=$(jget "$T/out" KeyMetadata.Arn 2>/dev/null)
check "create-alias alias/db" au kms create-alias --alias-name alias/db --target-key-id "$KID"
check "generate-data-key under alias/db" au --json kms generate-data-key --key-id alias/db \
	--encryption-context vol=1 --plaintext-out "$T/pt"
BLOB=$(jget "$T/out" CiphertextBlob 2>/dev/null)
cp "$KS/keystore.json" "$T/ks.before"
check_fails "describe-key of the missing default CMK: NotFoundException" NotFoundException \
	au kms describe-key --key-id alias/aurora/default
if cmp -s "$KS/keystore.json" "$T/ks.before"; then ok "... and no default CMK was created"
else notok "... and no default CMK was created"; fi
check "describe-key by ARN from another region (--region us-west-2): served from the ARN's region" \
	au --region us-west-2 kms describe-key --key-id "$ARN"
check "generate-data-key with no key creates the default CMK" \
	au kms generate-data-key --encryption-context vol=2
check "describe-key alias/aurora/default now" au kms describe-key --key-id alias/aurora/default

# --- the same keystore read-only -----------------------------------------
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
	cat > "$T/ro.sh" <<EOS
set -u
mount --bind "$KS" "$KS" && mount -o remount,bind,ro "$KS" || exit 99
a() { "$A" --keystore "$KS" "\$@"; }
echo "touch \$(touch "$KS/probe" 2>/dev/null; echo \$?)"
echo "describe \$(a kms describe-key --key-id alias/aurora/default >/dev/null 2>&1; echo \$?)"
echo "describe_arn \$(a kms describe-key --key-id "$ARN" >/dev/null 2>&1; echo \$?)"
echo "list_keys \$(a kms list-keys >/dev/null 2>&1; echo \$?)"
echo "list_aliases \$(a kms list-aliases >/dev/null 2>&1; echo \$?)"
echo "policy \$(a kms get-key-policy --key-id alias/db >/dev/null 2>&1; echo \$?)"
echo "decrypt \$(a kms decrypt --ciphertext-blob "$BLOB" --encryption-context vol=1 --plaintext-out "$T/pt2" >/dev/null 2>&1; echo \$?)"
echo "generate \$(a kms generate-data-key --key-id alias/db >/dev/null 2>&1; echo \$?)"
echo "create \$(a kms create-key 2>"$T/create.err" >/dev/null; echo \$?)"
echo "disable \$(a kms disable-key --key-id alias/db >/dev/null 2>&1; echo \$?)"
EOS
	unshare -m bash "$T/ro.sh" > "$T/ro.out" 2> "$T/ro.log"
	v() { sed -n "s/^$1 //p" "$T/ro.out"; }
	[ "$(v touch)" != 0 ] && [ -n "$(v touch)" ] && ok "the keystore is read-only in the namespace" ||
		notok "the keystore is read-only in the namespace"
	for op in describe describe_arn list_keys list_aliases policy decrypt generate; do
		[ "$(v $op)" = 0 ] && ok "read-only keystore: $op works" ||
			notok "read-only keystore: $op works (exit $(v $op))"
	done
	cmp -s "$T/pt" "$T/pt2" && ok "read-only keystore: decrypt yields the data key" ||
		notok "read-only keystore: decrypt yields the data key"
	[ "$(v create)" != 0 ] && grep -qi "read-only" "$T/create.err" &&
		ok "read-only keystore: create-key fails and says read-only" ||
		{ notok "read-only keystore: create-key fails and says read-only"; cat "$T/create.err" >&2; }
	[ "$(v disable)" != 0 ] && ok "read-only keystore: disable-key fails" ||
		notok "read-only keystore: disable-key fails"
else
	for i in $(seq 1 11); do n=$((n + 1)); out+=("ok $n # SKIP needs root and unshare -m"); done
fi

# --- master.key missing while keystore.json holds keys --------------------
rm -f "$KS/master.key"
check_fails "create-key with master.key missing: fails naming master.key" "master.key" \
	au kms create-key --description x
grep -q keystore.json "$T/err" && ok "... and naming keystore.json" || notok "... and naming keystore.json"
[ -e "$KS/master.key" ] && notok "no new master.key was created" || ok "no new master.key was created"
check_fails "generate-data-key under alias/db: fails (the material cannot be unwrapped)" "master.key" \
	au kms generate-data-key --key-id alias/db
[ -e "$KS/master.key" ] && notok "still no master.key" || ok "still no master.key"

echo "1..$n"
printf '%s\n' "${out[@]}"
for l in "${out[@]}"; do [[ $l == not* ]] && exit 1; done
exit 0
