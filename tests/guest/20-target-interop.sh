#!/bin/bash
# dm-aurora <-> dm-crypt ciphertext compatibility for every option
# combination, both directions; and cases on /dev/vda for the host-side
# check (tests/host-post/target-ciphertext.py) against Python cryptography.
. /tests/lib.sh
. /tests/20-target-lib.inc

# sector_size iv_large_sectors iv_offset device_offset
COMBOS=(
	"512 0 0 0"
	"512 0 1000 0"
	"512 1 0 7"
	"1024 0 2 6"
	"1024 1 0 0"
	"2048 0 0 0"
	"2048 1 12 16"
	"4096 0 0 0"
	"4096 1 0 0"
	"4096 0 64 8"
	"4096 1 8589934592 24"
	"512 0 17179869184 1"
)
ktap_plan $((${#COMBOS[@]} * 3 + 7))
dmesg_mark
tgt_modules

LEN=2048	# 1 MiB per case
loop=$(tgt_loop 4)
read -r desc _ < <(tgt_key interop)
ref=:64:logon:$desc

opts_for() {
	local ss=$1 large=$2 n=0 o=
	[ "$ss" != 512 ] && { n=$((n + 1)); o="$o sector_size:$ss"; }
	[ "$large" = 1 ] && { n=$((n + 1)); o="$o iv_large_sectors"; }
	[ "$n" -gt 0 ] && echo "$n$o"
}

for c in "${COMBOS[@]}"; do
	read -r ss large ivo off <<< "$c"
	opts=$(opts_for "$ss" "$large")
	what="ss=$ss large=$large iv_offset=$ivo offset=$off"
	a=$(uniq aur)
	k=$(uniq crypt)
	tgt_rand "$TGT_TMP/pa" 1024
	tgt_rand "$TGT_TMP/pc" 1024
	rm -f "$TGT_TMP/ra" "$TGT_TMP/rc"

	# aurora writes, dm-crypt reads.
	ok=1
	dmsetup create "$a" --table "0 $LEN aurora aes-xts-plain64 $ref $ivo $loop $off $opts" >&2 &&
	tgt_write "/dev/mapper/$a" "$TGT_TMP/pa" &&
	tgt_read "/dev/mapper/$a" "$TGT_TMP/ra" $((LEN * 512)) &&
	cmp "$TGT_TMP/pa" "$TGT_TMP/ra" >&2 && ok=0
	ktap_result "aurora round trip: $what" "$ok"
	dmsetup remove --retry "$a" >&2
	ok=1
	dmsetup create "$k" --table "0 $LEN crypt aes-xts-plain64 $ref $ivo $loop $off $opts" >&2 &&
	tgt_read "/dev/mapper/$k" "$TGT_TMP/rc" $((LEN * 512)) &&
	cmp "$TGT_TMP/pa" "$TGT_TMP/rc" >&2 && ok=0
	ktap_result "aurora writes, dm-crypt reads: $what" "$ok"

	# dm-crypt writes, aurora reads.
	ok=1
	tgt_write "/dev/mapper/$k" "$TGT_TMP/pc" &&
	dmsetup remove --retry "$k" >&2 &&
	dmsetup create "$a" --table "0 $LEN aurora aes-xts-plain64 $ref $ivo $loop $off $opts" >&2 &&
	tgt_read "/dev/mapper/$a" "$TGT_TMP/ra" $((LEN * 512)) &&
	cmp "$TGT_TMP/pc" "$TGT_TMP/ra" >&2 && ok=0
	ktap_result "dm-crypt writes, aurora reads: $what" "$ok"
	dmsetup remove --retry "$a" >&2 2>/dev/null
	dmsetup remove --retry "$k" >&2 2>/dev/null
done

# 64-bit sector math: a 3 TiB sparse device, I/O at 2.5 TiB (sector > 2^32).
big=$TGT_TMP/big.img
truncate -s $((3 << 40)) "$big"
bigloop=$(losetup -f --show "$big")
on_exit "losetup -d $bigloop"
bsz=$(tgt_sectors "$bigloop")
ktap_result "3 TiB sparse loop device ($bsz sectors)" "$([ "${bsz:-0}" -gt $((1 << 32)) ]; echo $?)"
pos=$((5 << 39))	# 2.5 TiB, in bytes
a=$(uniq aur-big)
k=$(uniq crypt-big)
tgt_rand "$TGT_TMP/pb" 1024
ok=1
dmsetup create "$a" --table "0 $((bsz - 8)) aurora aes-xts-plain64 $ref 0 $bigloop 8 1 sector_size:4096" >&2 &&
tgt_write "/dev/mapper/$a" "$TGT_TMP/pb" "$pos" &&
dmsetup remove --retry "$a" >&2 &&
dmsetup create "$k" --table "0 $((bsz - 8)) crypt aes-xts-plain64 $ref 0 $bigloop 8 1 sector_size:4096" >&2 &&
tgt_read "/dev/mapper/$k" "$TGT_TMP/rb" $((1024 * 1024)) "$pos" &&
cmp "$TGT_TMP/pb" "$TGT_TMP/rb" >&2 && ok=0
ktap_result "beyond 2 TiB: aurora writes, dm-crypt reads" "$ok"
ok=1
tgt_rand "$TGT_TMP/pb" 1024
tgt_write "/dev/mapper/$k" "$TGT_TMP/pb" $((pos + (1 << 20))) &&
dmsetup remove --retry "$k" >&2 &&
dmsetup create "$a" --table "0 $((bsz - 8)) aurora aes-xts-plain64 $ref 0 $bigloop 8 1 sector_size:4096" >&2 &&
tgt_read "/dev/mapper/$a" "$TGT_TMP/rb" $((1024 * 1024)) $((pos + (1 << 20))) &&
cmp "$TGT_TMP/pb" "$TGT_TMP/rb" >&2 && ok=0
ktap_result "beyond 2 TiB: dm-crypt writes, aurora reads" "$ok"
dmsetup remove --retry "$a" >&2 2>/dev/null
dmsetup remove --retry "$k" >&2 2>/dev/null
losetup -d "$bigloop"
rm -f "$big"

# Host check cases on /dev/vda, with a fixed test-only key (bytes 0..63).
# Layout: a text manifest in the first 64 KiB; case i at 1 MiB + i * 1 MiB:
# ciphertext region (256 KiB + device offset slack) at +0, plaintext copy at
# +512 KiB.  Each case is written through the target on /dev/vda 16 KiB at
# a time (queue depth 1: the submitter shares the data units of each bio
# with a helper) and read back 64 KiB at a time (virtio: completions in interrupt context, so reads decrypt on the
# workqueue).
fixed=$TGT_TMP/fixed.key
printf "$(printf '\\x%02x' $(seq 0 63))" > "$fixed"
read -r fdesc _ < <(tgt_key hostcheck "$fixed")
man=$TGT_TMP/manifest
echo "aurora-hostcheck v1 key=$(od -A n -v -t x1 "$fixed" | tr -d ' \n')" > "$man"
HLEN=512	# 256 KiB
i=0
ok=0
for c in "${COMBOS[@]}"; do
	read -r ss large ivo off <<< "$c"
	opts=$(opts_for "$ss" "$large")
	base=$((1024 * 1024 * (i + 1)))
	start=$((base / 512 + off))
	plain=$((base + 512 * 1024))
	a=$(uniq vda)
	tgt_rand "$TGT_TMP/ph" 256
	if dmsetup create "$a" --table "0 $HLEN aurora aes-xts-plain64 :64:logon:$fdesc $ivo /dev/vda $start $opts" >&2 &&
	   dd if="$TGT_TMP/ph" of="/dev/mapper/$a" bs=16k oflag=direct \
		conv=notrunc status=none >&2 &&
	   tgt_read "/dev/mapper/$a" "$TGT_TMP/rh" $((HLEN * 512)) &&
	   cmp "$TGT_TMP/ph" "$TGT_TMP/rh" >&2 &&
	   tgt_write /dev/vda "$TGT_TMP/ph" "$plain"; then
		echo "case sector_size=$ss iv_large=$large iv_offset=$ivo cipher_byte=$((start * 512)) plain_byte=$plain len=$((HLEN * 512))" >> "$man"
	else
		ok=1
	fi
	dmsetup remove --retry "$a" >&2
	i=$((i + 1))
done
echo "end" >> "$man"
ktap_result "host-check cases written to /dev/vda and read back via the workqueue path" "$ok"
head -c 65536 /dev/zero > "$TGT_TMP/mpad"
dd if="$man" of="$TGT_TMP/mpad" conv=notrunc status=none
ktap_check "manifest written to /dev/vda" tgt_write /dev/vda "$TGT_TMP/mpad" 0
sync
ktap_check "no mapping left behind" bash -c "! dmsetup ls | grep -E '^(aur|crypt|vda)-'"
ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
