#!/bin/bash
# aurora agent: a failure at any step of `aurora open` leaves nothing behind
# (no mapping, no kernel key).  Injected after each step with the test hook
# AURORA_FAULT=<step>, plus real failures: CMK disabled, access revoked,
# another configured region (the key ARN's region is asked).
. /tests/lib.sh
. /tests/40-agent-lib.inc
steps="header kms keyring dm-create dm-load dm-resume"
ktap_plan 36
dmesg_mark

ktap_check "dm-aurora module loads" ag_modules
loop=$(ag_loop 16)
name=$(uniq fault)
ag_cleanup_on_exit "$name"
ktap_check "aurora format" aurora format "$loop" --yes
uuid=$(ag_uuid "$loop")
note "volume $uuid on $loop"

for s in $steps; do
	ktap_check_fails "AURORA_FAULT=$s: open fails" env AURORA_FAULT="$s" aurora open "$loop" "$name"
	ktap_check "AURORA_FAULT=$s: no mapping left" ag_no_mapping "$name"
	ktap_check "AURORA_FAULT=$s: no kernel key left" ag_no_key "$uuid"
	ktap_result "AURORA_FAULT=$s: no stray aurora device" \
		"$([ -z "$(dmsetup ls --target aurora 2>/dev/null | grep -v 'No devices found')" ]; echo $?)"
done

ktap_check "after all that, a normal open works" aurora open "$loop" "$name"
ktap_check "and close" aurora close "$name"

# Real failures.
aurora kms disable-key --key-id alias/aurora/default >&2
ktap_result "CMK disabled: open fails with exit 4" \
	"$([ "$(ag_rc aurora open "$loop" "$name")" -eq 4 ]; echo $?)"
ktap_check "CMK disabled: nothing left" bash -c "$(declare -f ag_no_mapping ag_no_key); ag_no_mapping $name && ag_no_key $uuid"
aurora kms enable-key --key-id alias/aurora/default >&2
aurora kms revoke-access --key-id alias/aurora/default --grantee-account 111122223333 >&2
ktap_result "access revoked: open fails with exit 4" \
	"$([ "$(ag_rc aurora open "$loop" "$name")" -eq 4 ]; echo $?)"
ktap_check "access revoked: nothing left" bash -c "$(declare -f ag_no_mapping ag_no_key); ag_no_mapping $name && ag_no_key $uuid"
aurora kms grant-access --key-id alias/aurora/default --grantee-account 111122223333 >&2
ktap_result "configured for another region, it opens: the key ARN's region is asked" \
	"$(aurora --region us-east-2 open "$loop" "$name" >&2 && aurora close "$name" >&2; echo $?)"
ktap_check "open works again" aurora open "$loop" "$name"
ktap_check "close" aurora close "$name"
ktap_check "audit log recorded the failed Decrypt calls" \
	grep -q '"eventName":"Decrypt".*"errorCode":"DisabledException"' "$AG_TMP/ks/audit.log"

if [ "$_ktap_failed" -gt 0 ]; then dmesg_since_mark >&2; fi
exit 0
