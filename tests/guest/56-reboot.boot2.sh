#!/bin/bash
# Second boot (see 55-boot-attach.sh): the terminal state of the volume on
# /dev/vdb survived the reboot, and open refuses it.
. /tests/lib.sh
. /tests/40-agent-lib.inc
ktap_plan 3
ag_modules >&2
persist=/dev/vdb
j=$(aurora status "$persist" --json | tr -d ' \n')
note "status after reboot: ${j:0:300}"
ktap_result "after reboot: the header still says terminal (DisabledException)" \
	"$([[ "$j" == *'"state":"terminal"'* && "$j" == *'"terminal_reason":"DisabledException"'* ]]; echo $?)"
n=$(uniq reboot)
aurora open "$persist" "$n" >&2
rc=$?
ktap_result "after reboot: open refused with exit 6" "$([ $rc = 6 ]; echo $?)"
ktap_check "after reboot: no mapping was left" ag_no_mapping "$n"
