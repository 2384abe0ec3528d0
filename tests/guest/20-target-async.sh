#!/bin/bash
# dm-aurora on an asynchronous cipher.  tests/kmod/aurora-async-xts.c is a
# test-only xts(aes), preferred once loaded, that answers -EINPROGRESS,
# -EBUSY (backlogged, or refused when the request may not be backlogged)
# and 0 in turn.  Through it the target writes and reads at queue depth one
# (reads decrypted in the completion, continued from the cipher's callback
# or on a worker), in large bios (parts on workers) and from several readers
# at once; the ciphertext must be dm-crypt's, whose tables are loaded
# before the module, on the regular cipher.  The module is unloaded at the
# end, so that no later test uses it.
. /tests/lib.sh
. /tests/20-target-lib.inc

P=/sys/module/aurora_async_xts/parameters
SIZES="512 4096"
ktap_plan 23
dmesg_mark
tgt_modules

LEN=4096	# 2 MiB
loop=$(tgt_loop 4)
read -r desc _ < <(tgt_key async)
ref=:64:logon:$desc
declare -A crypt
for ss in $SIZES; do
	o=
	[ "$ss" != 512 ] && o="1 sector_size:$ss"
	crypt[$ss]=$(uniq crypt)
	tgt_create "${crypt[$ss]}" "0 $LEN crypt aes-xts-plain64 $ref 0 $loop 0 $o"
done

on_exit "! [ -d /sys/module/aurora_async_xts ] || rmmod aurora_async_xts"
# The templates of its child cipher, xts(ecb(aes-generic)): the guest has
# no /sbin/modprobe for the kernel to load them on demand.
modprobe -a xts ecb 2>/dev/null
ktap_check "the asynchronous xts(aes) loads" modprobe aurora-async-xts
ktap_check "it is registered as an xts(aes)" bash -c \
	"grep -A3 '^name *: xts(aes)' /proc/crypto | grep -q 'driver *: xts-aes-aurora-async-test'"

# readers N DEV FILE: N direct readers of 4 KiB blocks of DEV at once, each
# over its own share, into FILE; the shares in order.
readers() {
	local n=$1 dev=$2 out=$3 share i pids=()
	share=$((LEN * 512 / n))
	for ((i = 0; i < n; i++)); do
		dd if="$dev" of="$out.$i" bs=4k count=$((share / 4096)) \
			skip=$((i * share / 4096)) iflag=direct status=none &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || return 1; done
	for ((i = 0; i < n; i++)); do cat "$out.$i"; done > "$out"
}

for ss in $SIZES; do
	o=
	[ "$ss" != 512 ] && o="1 sector_size:$ss"
	a=$(uniq aur)
	k=/dev/mapper/${crypt[$ss]}
	tgt_rand "$TGT_TMP/p" $((LEN / 2))
	tgt_create "$a" "0 $LEN aurora aes-xts-plain64 $ref 0 $loop 0 $o"
	ktap_check "ss=$ss: aurora writes 4 KiB at a time" \
		dd if="$TGT_TMP/p" of="/dev/mapper/$a" bs=4k oflag=direct status=none
	rm -f "$TGT_TMP/r"
	dd if="/dev/mapper/$a" of="$TGT_TMP/r" bs=4k iflag=direct status=none
	ktap_check "ss=$ss: aurora reads it back 4 KiB at a time" cmp "$TGT_TMP/p" "$TGT_TMP/r"
	tgt_read "$k" "$TGT_TMP/r" $((LEN * 512))
	ktap_check "ss=$ss: dm-crypt reads the same" cmp "$TGT_TMP/p" "$TGT_TMP/r"

	tgt_rand "$TGT_TMP/p" $((LEN / 2))
	tgt_write "$k" "$TGT_TMP/p"
	rm -f "$TGT_TMP/r"
	dd if="/dev/mapper/$a" of="$TGT_TMP/r" bs=4k iflag=direct status=none
	ktap_check "ss=$ss: dm-crypt writes, aurora reads 4 KiB at a time" \
		cmp "$TGT_TMP/p" "$TGT_TMP/r"
	rm -f "$TGT_TMP/r"
	dd if="/dev/mapper/$a" of="$TGT_TMP/r" bs=1M iflag=direct status=none
	ktap_check "ss=$ss: aurora reads it in 1 MiB bios" cmp "$TGT_TMP/p" "$TGT_TMP/r"
	readers 4 "/dev/mapper/$a" "$TGT_TMP/r"
	ktap_check "ss=$ss: aurora reads it with 4 readers at once" \
		cmp "$TGT_TMP/p" "$TGT_TMP/r"
	dd if="$TGT_TMP/p" of="/dev/mapper/$a" bs=1M oflag=direct status=none
	tgt_read "$k" "$TGT_TMP/r" $((LEN * 512))
	ktap_check "ss=$ss: aurora writes 1 MiB bios, dm-crypt reads the same" \
		cmp "$TGT_TMP/p" "$TGT_TMP/r"
	tgt_remove "$a"
done

for c in async async_nobacklog backlogged refused sync; do
	n=$(cat "$P/$c" 2>/dev/null)
	note "aurora_async_xts: $c=$n"
	ktap_result "the cipher answered $c at least once" "$([ "${n:-0}" -gt 0 ]; echo $?)"
done
for ss in $SIZES; do tgt_remove "${crypt[$ss]}"; done
ktap_check "the asynchronous xts(aes) unloads" rmmod aurora_async_xts
ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
