#!/bin/bash
# scripts/deps chooses the kernels from recorded archive answers
# (tests/data/apt/<date>/: 'apt-cache pkgnames' and 'apt-cache policy' as the
# archive gave them that day), and from variations of them: the signed 6.12
# image lagging its headers (as on 2026-12-03 before the signed .118 came),
# headers with no image at all, nothing installable (fall back to what is
# installed), and nothing at all.  --print installs nothing.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
data=$top/tests/data/apt/2026-12-03
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
echo "1..10"

# A stand-in apt-cache answering from $FAKE/pkgnames and $FAKE/policy, and
# a stand-in dpkg-query answering from $FAKE/installed ("PACKAGE" lines).
cat > "$tmp/apt-cache" <<'EOF'
#!/bin/bash
cmd=$1; shift
case $cmd in
pkgnames) grep "^$1" "$FAKE/pkgnames" ;;
policy)
	for p in "$@"; do
		awk -v p="$p:" '/^[^ ]/ { on = ($0 == p) } on' "$FAKE/policy"
	done ;;
*) echo "fake apt-cache: $cmd not recorded" >&2; exit 100 ;;
esac
EOF
cat > "$tmp/dpkg-query" <<'EOF'
#!/bin/bash
# dpkg-query -W -f=FORMAT PATTERN
fmt=${2#-f=}; pat=$3
found=0
while read -r p; do
	# shellcheck disable=SC2053
	[[ $p == $pat ]] || continue
	found=1
	case $fmt in
	'${Status}\n') echo "install ok installed" ;;
	*) echo "$p install ok installed" ;;
	esac
done < "$FAKE/installed"
[ $found = 1 ] || { echo "dpkg-query: no packages found matching $pat" >&2; exit 1; }
EOF
# apt-get must never run with --print: a stand-in that records any call.
cat > "$tmp/apt-get" <<'EOF'
#!/bin/sh
echo "apt-get $*" >> "$FAKE/apt-get.calls"
EOF
chmod +x "$tmp/apt-cache" "$tmp/dpkg-query" "$tmp/apt-get"

# deps_print CASE-DIR: scripts/deps --print against that case's answers.
deps_print() {
	FAKE=$1 PATH="$tmp:$PATH" APT_CACHE="$tmp/apt-cache" DPKG_QUERY="$tmp/dpkg-query" \
		"$top/scripts/deps" --print 2> "$1/err"
}

# mkcase NAME: a case starting from the recorded answers, nothing installed.
mkcase() {
	mkdir -p "$tmp/$1"
	cp "$data/pkgnames" "$data/policy" "$tmp/$1/"
	: > "$tmp/$1/installed"
	echo "$tmp/$1"
}

# no_candidate DIR PACKAGE: the archive only references PACKAGE.
no_candidate() {
	awk -v p="$2:" '/^[^ ]/ { on = ($0 == p) }
		on && /^  Candidate:/ { print "  Candidate: (none)"; next } { print }' \
		"$1/policy" > "$1/policy.new" && mv "$1/policy.new" "$1/policy"
}

# expect DESC CASE-DIR PATTERN: --print succeeded and its output matches.
expect() {
	local out
	if out=$(deps_print "$2") && grep -qE "$3" <<<"$out"; then
		ok "$1"
	else
		nok "$1"
		printf '%s\n' "$out" "$(cat "$2/err")" | sed 's/^/# /'
	fi
}

c=$(mkcase today)
expect "2026-12-03 archive: 6.12.118, signed image" "$c" \
	'^kernel 6\.12: 6\.12\.118\+deb12-amd64 \(linux-image-6\.12\.118\+deb12-amd64, linux-headers-6\.12\.118\+deb12-amd64\)$'
expect "2026-12-03 archive: 6.1.0-57, signed image" "$c" \
	'^kernel 6\.1: 6\.1\.0-57-amd64 \(linux-image-6\.1\.0-57-amd64, '
if [ ! -e "$c/apt-get.calls" ]; then ok "--print runs no apt-get"; else nok "--print runs no apt-get"; fi

c=$(mkcase lag)
no_candidate "$c" linux-image-6.12.118+deb12-amd64
expect "signed 6.12.118 only referenced: its -unsigned image with the .118 headers" "$c" \
	'^kernel 6\.12: 6\.12\.118\+deb12-amd64 \(linux-image-6\.12\.118\+deb12-amd64-unsigned, linux-headers-6\.12\.118\+deb12-amd64\)$'

# dpkg_only DIR PACKAGE: PACKAGE's candidate is known only from dpkg's status
# file (removed with its configuration kept, or dropped by the archive).
dpkg_only() {
	awk -v p="$2:" '/^[^ ]/ { on = ($0 == p) }
		on && /^        [0-9]+ http/ { print "        100 /var/lib/dpkg/status"; next } { print }' \
		"$1/policy" > "$1/policy.new" && mv "$1/policy.new" "$1/policy"
}

c=$(mkcase dpkgonly)
dpkg_only "$c" linux-headers-6.12.118+deb12-amd64
expect "headers of .118 known only from dpkg's status, not installed: .117" "$c" \
	'^kernel 6\.12: 6\.12\.117\+deb12-amd64 '

c=$(mkcase noimage)
echo "linux-headers-6.12.119+deb12-amd64" >> "$c/pkgnames"
printf 'linux-headers-6.12.119+deb12-amd64:\n  Installed: (none)\n  Candidate: 6.12.119-1~deb12u1\n' >> "$c/policy"
no_candidate "$c" linux-image-6.12.118+deb12-amd64
no_candidate "$c" linux-image-6.12.118+deb12-amd64-unsigned
expect "headers of .119 with no image, .118 with none installable: .117" "$c" \
	'^kernel 6\.12: 6\.12\.117\+deb12-amd64 \(linux-image-6\.12\.117\+deb12-amd64, '

c=$(mkcase noheaders)
no_candidate "$c" linux-headers-6.12.118+deb12-amd64
expect "image of .118 with headers only referenced: .117" "$c" \
	'^kernel 6\.12: 6\.12\.117\+deb12-amd64 '

c=$(mkcase fallback)
for v in $(sed -n 's/^linux-headers-\(6\.12\..*\)$/\1/p' "$c/pkgnames"); do
	no_candidate "$c" "linux-image-$v"
	no_candidate "$c" "linux-image-$v-unsigned"
done
printf '%s\n' linux-headers-6.12.110+deb12-amd64 linux-image-6.12.110+deb12-amd64-unsigned \
	> "$c/installed"
expect "nothing installable: the installed 6.12.110 (unsigned image)" "$c" \
	'^kernel 6\.12: 6\.12\.110\+deb12-amd64 \(installed'

c=$(mkcase nothing)
for v in $(sed -n 's/^linux-headers-\(6\.12\..*\)$/\1/p' "$c/pkgnames"); do
	no_candidate "$c" "linux-headers-$v"
done
if deps_print "$c" > /dev/null; then
	nok "nothing installable nor installed: deps fails"
else
	ok "nothing installable nor installed: deps fails"
fi
if grep -q "no Debian 6.12 kernel" "$c/err"; then
	ok "... saying which series"
else
	nok "... saying which series"
	sed 's/^/# /' "$c/err"
fi
