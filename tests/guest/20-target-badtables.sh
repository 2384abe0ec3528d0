#!/bin/bash
# dm-aurora refuses every malformed table line, with a clear error and no
# kernel warning.
. /tests/lib.sh
. /tests/20-target-lib.inc
dmesg_mark
tgt_modules

loop=$(tgt_loop 4)
sz=$(tgt_sectors "$loop")
read -r desc _ < <(tgt_key bad)
ref=:64:logon:$desc
hex=$(od -A n -v -t x1 "$TGT_TMP/$desc.key" | tr -d ' \n')
# A user-type key and a 32-byte logon key, and a revoked one.
udesc=aurora:$(uniq user)
keyctl padd user "$udesc" @s < "$TGT_TMP/$desc.key" >&2
read -r sdesc _ < <(head -c 32 /dev/urandom > "$TGT_TMP/short.key"; tgt_key short "$TGT_TMP/short.key")
read -r rdesc rkid < <(tgt_key revoked)
keyctl revoke "$rkid"

ok="aes-xts-plain64 $ref"
# "description|table|expected ti->error fragment"
CASES=(
	"wrong cipher|0 $sz aurora aes-cbc-essiv:sha256 $ref 0 $loop 0|Unsupported cipher"
	"cipher_null|0 $sz aurora cipher_null-ecb - 0 $loop 0|Unsupported cipher"
	"hex key|0 $sz aurora aes-xts-plain64 $hex 0 $loop 0|Hex keys are refused"
	"wrong key size in reference|0 $sz aurora aes-xts-plain64 :32:logon:$desc 0 $loop 0|Invalid key size"
	"user key type|0 $sz aurora aes-xts-plain64 :64:user:$udesc 0 $loop 0|Invalid key type"
	"unknown key|0 $sz aurora aes-xts-plain64 :64:logon:aurora:no-such-key-$$ 0 $loop 0|Key not found"
	"32-byte logon payload|0 $sz aurora aes-xts-plain64 :64:logon:$sdesc 0 $loop 0|not 64 bytes"
	"revoked key|0 $sz aurora aes-xts-plain64 :64:logon:$rdesc 0 $loop 0|revoked"
	"empty key description|0 $sz aurora aes-xts-plain64 :64:logon: 0 $loop 0|Empty key description"
	"bad device|0 $sz aurora $ok 0 /dev/nonexistent-aurora 0|Device lookup failed"
	"offset past the end|0 8 aurora $ok 0 $loop $sz|Device too small"
	"length past the end|0 $((sz + 8)) aurora $ok 0 $loop 0|Device too small"
	"length not a multiple of sector_size|0 $((sz - 4)) aurora $ok 0 $loop 0 1 sector_size:4096|not a multiple of sector_size"
	"iv_offset not a multiple of sector_size|0 $sz aurora $ok 4 $loop 0 1 sector_size:4096|Invalid iv_offset"
	"bad iv_offset|0 $sz aurora $ok x12 $loop 0|Invalid iv_offset"
	"negative offset|0 $sz aurora $ok 0 $loop -8|Invalid device sector"
	"unknown option|0 $sz aurora $ok 0 $loop 0 1 no_such_option|Unknown optional parameter"
	"dm-crypt only option|0 $sz aurora $ok 0 $loop 0 1 same_cpu_crypt|Unknown optional parameter"
	"duplicate option|0 $sz aurora $ok 0 $loop 0 2 iv_large_sectors iv_large_sectors|Duplicate optional parameter"
	"duplicate sector_size|0 $sz aurora $ok 0 $loop 0 2 sector_size:4096 sector_size:4096|Duplicate optional parameter"
	"bad sector_size value|0 $sz aurora $ok 0 $loop 0 1 sector_size:8192|Invalid sector_size"
	"non-numeric sector_size|0 $sz aurora $ok 0 $loop 0 1 sector_size:4k|Invalid sector_size"
	"too few arguments|0 $sz aurora $ok 0 $loop|Not enough arguments"
	"option count too large|0 $sz aurora $ok 0 $loop 0 2 allow_discards|Invalid number of optional parameters"
	"option count not a number|0 $sz aurora $ok 0 $loop 0 x allow_discards|Invalid number of optional parameters"
	"too many options|0 $sz aurora $ok 0 $loop 0 6 allow_discards iv_large_sectors no_read_inline sector_size:512 write_workqueue x|Invalid number of optional parameters"
	"too many arguments|0 $sz aurora $ok 0 $loop 0 1 allow_discards extra|Too many arguments"
	"arguments after offset without count|0 $sz aurora $ok 0 $loop 0 allow_discards|Invalid number of optional parameters"
)
ktap_plan $((${#CASES[@]} * 2 + 4))

for c in "${CASES[@]}"; do
	IFS='|' read -r what table err <<< "$c"
	name=$(uniq aurora-bad)
	dmesg_mark
	if dmsetup create "$name" --table "$table" >&2 2>&1; then
		dmsetup remove "$name" >&2
		ktap_fail "refused: $what"
	else
		ktap_ok "refused: $what"
	fi
	ktap_result "clear error for $what ('$err')" \
		"$(dmesg_since_mark | grep -q "aurora: .*$err"; echo $?)"
done

ktap_result "no aurora mapping left behind" \
	"$(dmsetup ls | grep -q aurora-bad; [ $? -ne 0 ]; echo $?)"
name=$(uniq aurora-good)
ktap_check "the same key and device make a valid table" \
	tgt_create "$name" "0 $sz aurora $ok 0 $loop 0 5 write_workqueue no_read_inline allow_discards sector_size:4096 iv_large_sectors"
ktap_result "table lists the options back" \
	"$(dmsetup table "$name" | grep -q ' 5 sector_size:4096 iv_large_sectors allow_discards no_read_inline write_workqueue$'; echo $?)"
tgt_remove "$name"
dmesg_mark
echo 0 > /dev/null
ktap_check "kernel log has no warnings" \
	bash -c "! dmesg | grep -E 'BUG:|WARNING:|Oops|Call Trace|general protection'"
exit 0
