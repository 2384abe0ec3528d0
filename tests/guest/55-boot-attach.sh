#!/bin/bash
# Boot-time unlock: 'aurora attach <name>' opens what /etc/auroratab lists
# (by path or by UUID=<volume uuid>, with its options), as aurora@.service
# does at boot; and the terminal state persists in the header across a
# reboot: this script leaves a terminal volume on /dev/vdb that
# 56-reboot.boot2.sh checks after the harness boots the guest again.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 13
ag_modules >&2

tab=$AG_TMP/auroratab
l1=$(ag_loop 16)
l2=$(ag_loop 16)
aurora format "$l1" --yes >&2
aurora format "$l2" --yes >&2
u2=$(ag_uuid "$l2")
n1=$(uniq tabpath)
n2=$(uniq tabuuid)
ag_cleanup_on_exit "$n1"
ag_cleanup_on_exit "$n2"
cat > "$tab" <<TAB
# name  device        options
$n1     $l1           -
$n2     UUID=$u2      ro,_netdev,x-systemd.device-timeout=10s
TAB

ktap_check "attach by path" aurora attach "$n1" --tab "$tab"
ktap_check "... the mapping exists" test -b "/dev/mapper/$n1"
ktap_check "attach again: already open, success" aurora attach "$n1" --tab "$tab"
ktap_check "attach by UUID= (found by its header)" aurora attach "$n2" --tab "$tab"
ktap_result "... on the right device, read-only as the entry says" \
	"$(aurora status "$n2" --json | tr -d ' \n' | grep -q '"read_only":true'; echo $?)"
ktap_check_fails "... writes are refused" dd if=/dev/zero of="/dev/mapper/$n2" bs=4k count=1 oflag=direct status=none
aurora attach nosuch --tab "$tab" >&2
ktap_result "an unlisted name: exit 8 (not found)" "$([ $? = 8 ]; echo $?)"
printf 'bad/name /dev/x\n' > "$AG_TMP/badtab"
aurora attach x --tab "$AG_TMP/badtab" >&2
ktap_result "a malformed auroratab: exit 2 with the line named" "$([ $? = 2 ]; echo $?)"
ktap_check "close both" bash -c "aurora close $n1 && aurora close $n2"

# Leave a terminal volume on the persistent disk for the second boot.
persist=/dev/vdb
printf 'keystore = /tmp/ks-persist\naccount = 111122223333\nregion = eu-west-1\nconfirm_passes = 1\nrecovery_window = 0\n' > "$AG_TMP/p.conf"
k=$(AURORA_CONF=$AG_TMP/p.conf aurora kms create-key --json | sed -n 's/.*"KeyId":"\([^"]*\)".*/\1/p')
ktap_check "persist: format $persist" env AURORA_CONF="$AG_TMP/p.conf" aurora format "$persist" --kms-key-id "$k" --yes --force
np=$(uniq persist)
AURORA_CONF=$AG_TMP/p.conf aurora open "$persist" "$np" >&2
ag_cleanup_on_exit "$np"
AURORA_CONF=$AG_TMP/p.conf aurora kms disable-key --key-id "$k" >&2
AURORA_CONF=$AG_TMP/p.conf aurora agent --once >&2
ktap_check "persist: the volume on $persist is terminal" \
	bash -c "aurora status $persist --json | tr -d ' \n' | grep -q '\"state\":\"terminal\"'"
ktap_check "persist: closed" aurora close "$np"
# The keystore (and the CMK, re-enabled) go with the disk image: copy it
# past the volume's data area end is not needed; the second boot checks
# only the header and that open refuses before asking any KMS.
ktap_check "persist: synced" sync
