#!/bin/bash
# dkms.conf builds dm-aurora for every installed Debian kernel: the source
# tree is registered under a version of its own (so a real installation of
# dm-aurora on this host is never touched), built for 6.1 and 6.12, and
# removed again.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
ver="0.0.$$"
src=/usr/src/dm-aurora-$ver
n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }
cleanup() {
	dkms remove "dm-aurora/$ver" --all >/dev/null 2>&1
	rm -rf "$src"
}
trap cleanup EXIT
echo "1..5"
if ! command -v dkms >/dev/null; then
	for i in 1 2 3 4 5; do echo "ok $i - dkms # SKIP dkms is not installed"; done
	exit 0
fi
mkdir -p "$src"
(cd "$top" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -C "$src" -xf -
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$src/dkms.conf"
if dkms add "dm-aurora/$ver" >&2; then ok "dkms add"; else nok "dkms add"; fi
for k in 6.1 6.12; do
	kv=$("$top/scripts/kver" "$k") || { nok "dkms build for $k (no kernel)"; continue; }
	if timeout 600 dkms build "dm-aurora/$ver" -k "$kv" >&2 &&
	   ls /var/lib/dkms/dm-aurora/"$ver"/"$kv"/x86_64/module/dm-aurora.ko* >/dev/null 2>&1; then
		ok "dkms build for $kv"
	else
		nok "dkms build for $kv"
	fi
done
if dkms status "dm-aurora/$ver" | grep -q built; then ok "dkms status says built"; else nok "dkms status says built"; fi
dkms remove "dm-aurora/$ver" --all >&2
if ! dkms status "dm-aurora/$ver" | grep -q .; then ok "dkms remove"; else nok "dkms remove"; fi
exit $fail
