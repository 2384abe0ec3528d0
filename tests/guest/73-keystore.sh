#!/bin/bash
# Keystore recovery (embedded KMS): a volume formatted and written, the
# keystore exported under a recovery passphrase (read from a file
# descriptor), the keystore directory wiped so that the volume cannot be
# opened, a wrong passphrase refused, then the import: the old volume opens
# again with its data intact.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 12
dmesg_mark
ag_modules >&2

KS=$AG_TMP/ks
printf 'recovery passphrase for the test\n' > "$AG_TMP/pw"
printf 'not the recovery passphrase\n' > "$AG_TMP/bad"
FAST="--pbkdf-memory 16384 --pbkdf-time 2"

dev=$(ag_loop 16)
name=$(uniq ksx)
ag_cleanup_on_exit "$name"
ktap_check "format and open" bash -c "aurora format $dev --yes && aurora open $dev $name"
ktap_check "write data" bash -c "dd if=/dev/urandom of=$AG_TMP/data bs=64k count=32 status=none && dd if=$AG_TMP/data of=/dev/mapper/$name bs=64k oflag=direct status=none"
ktap_check "close" aurora close "$name"
ktap_check "export the keystore" bash -c "aurora kms export-keystore $AG_TMP/ks.export --passphrase-fd 3 $FAST 3< $AG_TMP/pw"
ktap_check "wipe the keystore" rm -rf "$KS"
ktap_check_fails "the volume cannot be opened without its keystore" aurora open "$dev" "$name"
aurora kms import-keystore "$AG_TMP/ks.export" --passphrase-fd 3 3< "$AG_TMP/bad" 2> "$AG_TMP/err"
rc=$?
note "$(cat "$AG_TMP/err")"
ktap_result "a wrong passphrase is refused (exit $rc), nothing written" \
	"$([ $rc = 4 ] && grep -q "wrong recovery passphrase" "$AG_TMP/err" && [ ! -e "$KS/master.key" ]; echo $?)"
ktap_check "import the keystore" bash -c "aurora kms import-keystore $AG_TMP/ks.export --passphrase-fd 3 3< $AG_TMP/pw"
ktap_check "the old volume opens again" aurora open "$dev" "$name"
ktap_check "its data is intact" bash -c "cmp <(head -c 2097152 /dev/mapper/$name) $AG_TMP/data"
ktap_check "close" aurora close "$name"
dmesg_since_mark | grep -E 'BUG|WARNING|Oops' >&2
ktap_result "no kernel warnings" "$(dmesg_since_mark | grep -qE 'BUG|WARNING|Oops'; [ $? -ne 0 ]; echo $?)"
