#!/bin/bash
# The harness itself: the guest has what the other tests rely on.
. /tests/lib.sh
ktap_plan 6
ktap_check "session keyring is a real session" keyctl describe @s
desc="aurora-test:$(uniq harness)"
id=$(keyctl add logon "$desc" "0123456789abcdef0123456789abcdef" @s 2>/dev/null)
ktap_check "logon key can be added to @s" test -n "$id"
[ -n "$id" ] && keyctl revoke "$id" 2>/dev/null
ktap_check "device-mapper is available" dmsetup version
ktap_check "scratch disk /dev/vda is present" test -b /dev/vda
ktap_check "dm-crypt module loads" modprobe dm-crypt
ktap_check "dm-aurora module is installed" modinfo dm-aurora
