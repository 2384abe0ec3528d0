#!/bin/bash
# The boot units: aurora-generator turns /etc/auroratab into the right
# instances and ordering, and every unit passes 'systemd-analyze verify'.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok "$d"; else nok "$d"; fi; }
echo "1..18"

gen=$top/agent/systemd/aurora-generator
cat > "$tmp/tab" <<'TAB'
# name   device                 options
data0    /dev/vdb
data1    UUID=0b6e1c0a-1111-4222-8333-944445555666  _netdev,nofail
logs     /dev/disk/by-id/virtio-x  noauto,x-systemd.device-timeout=30s
bad/name /dev/vdc
TAB
out=$tmp/gen
mkdir -p "$out"
printf '/dev/mapper/data0 /srv/data0 ext4 defaults 0 2\n' > "$tmp/fstab"
AURORA_FSTAB=$tmp/fstab AURORA_CONF=/nonexistent AURORATAB=$tmp/tab "$gen" "$out" "$tmp/early" "$tmp/late" 2> "$tmp/gen.err"
check "generator runs" test -d "$out/aurora@data0.service.d"
check "local volume is required by cryptsetup.target" test -L "$out/cryptsetup.target.requires/aurora@data0.service"
check "local volume binds to its backing device" grep -qx 'BindsTo=dev-vdb.device' "$out/aurora@data0.service.d/generated.conf"
check "nofail volume is pulled in by its device, not by remote-cryptsetup.target" \
	bash -c "test -L '$out/dev-disk-by\\x2daurora\\x2duuid-0b6e1c0a\\x2d1111\\x2d4222\\x2d8333\\x2d944445555666.device.wants/aurora@data1.service' && ! ls '$out'/remote-cryptsetup.target.* 2>/dev/null | grep -q data1"
check "_netdev volume is ordered after network-online.target" grep -q 'After=network-online.target' "$out/aurora@data1.service.d/generated.conf"
check "noauto volume is not pulled in at boot" test ! -e "$out/cryptsetup.target.requires/aurora@logs.service"
check "the mapped device requires its unit" test -L "$out/dev-mapper-logs.device.requires/aurora@logs.service"
check "device timeout is applied to the backing device" grep -q 'JobRunningTimeoutSec=30s' "$out/dev-disk-by\\x2did-virtio\\x2dx.device.d/aurora-timeout.conf"
check "UUID= volume waits for /dev/disk/by-aurora-uuid/<uuid> (udev), no settle" \
	bash -c "grep -qx 'BindsTo=dev-disk-by\\\\x2daurora\\\\x2duuid-0b6e1c0a\\\\x2d1111\\\\x2d4222\\\\x2d8333\\\\x2d944445555666.device' '$out/aurora@data1.service.d/generated.conf' && ! grep -q settle '$out/aurora@data1.service.d/generated.conf'"
check "local volume: after systemd-remount-fs, RequiresMountsFor= the keystore" \
	bash -c "grep -qx After=systemd-remount-fs.service '$out/aurora@data0.service.d/generated.conf' && grep -qx RequiresMountsFor=/var/lib/aurora/kms '$out/aurora@data0.service.d/generated.conf'"
check "keystore on the root filesystem: before local-fs-pre.target" grep -qx 'Before=local-fs-pre.target' "$out/aurora@data0.service.d/generated.conf"
check "an fstab mount of /dev/mapper/data0 is bound to aurora@data0" grep -qx 'BindsTo=aurora@data0.service' "$out/srv-data0.mount.d/aurora.conf"
out2=$tmp/gen2
mkdir -p "$out2"
printf '/dev/vdz /var/lib/aurora ext4 defaults 0 2\n' > "$tmp/fstab2"
AURORA_FSTAB=$tmp/fstab2 AURORA_CONF=/nonexistent AURORATAB=$tmp/tab "$gen" "$out2" "$tmp/early" "$tmp/late" 2>/dev/null
check "keystore on its own filesystem: no local-fs-pre.target ordering (no cycle)" \
	bash -c "! grep -q local-fs-pre '$out2/aurora@data0.service.d/generated.conf' && grep -qx Before=local-fs.target '$out2/aurora@data0.service.d/generated.conf'"
check "x-systemd.device-timeout bounds the unit's job too" grep -qx 'JobRunningTimeoutSec=30s' "$out/aurora@logs.service.d/generated.conf"
check "a bad volume name is refused with a message" grep -q "bad volume name 'bad/name'" "$tmp/gen.err"
check "no unit is generated for the bad name" test -z "$(find "$out" -name '*bad*')"

# systemd-analyze verify, in a root that has the units and an aurora binary.
root=$tmp/root
mkdir -p "$root/usr/sbin" "$root/usr/lib/systemd/system" "$root/etc/systemd/system"
if [ -x "$top/agent/aurora" ]; then
	cp "$top/agent/aurora" "$root/usr/sbin/aurora"
else
	printf '#!/bin/sh\nexit 0\n' > "$root/usr/sbin/aurora"
	chmod +x "$root/usr/sbin/aurora"
fi
# The stock targets and services the units are ordered against.
cp -a /usr/lib/systemd/system/*.target /usr/lib/systemd/system/systemd-modules-load.service \
	/usr/lib/systemd/system/systemd-udev-settle.service "$root/usr/lib/systemd/system/" 2>/dev/null
cp "$top/agent/systemd/"*.service "$root/usr/lib/systemd/system/"
mkdir -p "$root/usr/lib/aurora"
cp "$top/agent/systemd/aurora-attach" "$root/usr/lib/aurora/"
cp -r "$out/aurora@data0.service.d" "$root/etc/systemd/system/"
v1=$(cd "$root/usr/lib/systemd/system" && systemd-analyze verify --root="$root" aurora-agent.service 2>&1)
if [ -z "$v1" ]; then ok "aurora-agent.service passes systemd-analyze verify"; else
	echo "$v1" | sed 's/^/# /'; nok "aurora-agent.service passes systemd-analyze verify"; fi
v2=$(cd "$root/usr/lib/systemd/system" && systemd-analyze verify --root="$root" aurora@data0.service 2>&1)
if [ -z "$v2" ]; then ok "aurora@data0.service (template + generated drop-in) passes verify"; else
	echo "$v2" | sed 's/^/# /'; nok "aurora@data0.service (template + generated drop-in) passes verify"; fi
exit $fail
