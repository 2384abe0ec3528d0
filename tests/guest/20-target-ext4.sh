#!/bin/bash
# ext4 on dm-aurora survives unmount, remove and re-create (fsck clean, data
# intact), with 512- and 4096-byte sectors; a filesystem that saw EIO after
# revocation unmounts, and after the recovery (key set, resume) mounts with
# its files intact and checks clean.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 17
dmesg_mark
tgt_modules
mnt=$TGT_TMP/mnt
mkdir -p "$mnt"

loop=$(tgt_loop 24)
sz=$(tgt_sectors "$loop")
read -r desc kid < <(tgt_key ext4)
tgt_rand "$TGT_TMP/f1" 2048
tgt_rand "$TGT_TMP/f2" 300

for opts in "" "1 sector_size:4096"; do
	what=${opts:-"sector_size 512"}
	what=${what#1 }
	name=$(uniq aurora-ext4)
	table="0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0 $opts"
	tgt_create "$name" "$table"
	dev=/dev/mapper/$name
	ok=1
	mkfs.ext4 -q -F "$dev" >&2 && mount -t ext4 "$dev" "$mnt" &&
	cp "$TGT_TMP/f1" "$TGT_TMP/f2" "$mnt/" && mkdir "$mnt/d" &&
	for i in $(seq 1 50); do echo "file $i" > "$mnt/d/$i"; done &&
	sync && umount "$mnt" && ok=0
	ktap_result "$what: mkfs, mount, write files, umount" "$ok"
	ktap_check "$what: remove the mapping" tgt_remove "$name"
	ktap_check "$what: re-create with the same key" tgt_create "$name" "$table"
	ktap_check "$what: fsck clean" e2fsck -f -n "$dev"
	ok=1
	mount -t ext4 -o ro "$dev" "$mnt" &&
	cmp "$TGT_TMP/f1" "$mnt/f1" >&2 && cmp "$TGT_TMP/f2" "$mnt/f2" >&2 &&
	[ "$(cat "$mnt/d/50")" = "file 50" ] && ok=0
	umount "$mnt" 2>/dev/null
	ktap_result "$what: files intact after re-create" "$ok"
	[ -z "$opts" ] || break
	tgt_remove "$name"
done

# Revocation under a mounted filesystem, then the recovery.
mount -t ext4 "$dev" "$mnt" >&2
keyctl revoke "$kid"
tgt_wait_state "$name" "inaccessible key-revoked " 30
dd if=/dev/urandom of="$mnt/after" bs=64k count=4 conv=fsync status=none 2>/dev/null
ktap_result "writes on the filesystem fail after revocation" "$([ $? -ne 0 ]; echo $?)"
umount "$mnt" >&2 2>&1 || umount -l "$mnt" >&2 2>&1
ktap_result "filesystem that saw EIO unmounts" "$(! grep -q " $mnt " /proc/mounts; echo $?)"
dmsetup suspend "$name"
keyctl padd logon "$desc" @s < "$TGT_TMP/$desc.key" >&2
ktap_check "recovery: suspend, key added again, key set, resume" \
	bash -c "dmsetup message $name 0 key set :64:logon:$desc && dmsetup resume $name"
ok=1
mount -t ext4 "$dev" "$mnt" >&2 &&
cmp "$TGT_TMP/f1" "$mnt/f1" >&2 && cmp "$TGT_TMP/f2" "$mnt/f2" >&2 &&
[ "$(cat "$mnt/d/50")" = "file 50" ] && umount "$mnt" && ok=0
ktap_result "after recovery: mounts, files intact" "$ok"
ktap_check "after recovery and unmount: fsck clean" e2fsck -f -n "$dev"
ktap_check "mapping removed" tgt_remove "$name"
ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
