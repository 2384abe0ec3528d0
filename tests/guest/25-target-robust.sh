#!/bin/bash
# The target when things go wrong: key lifetime (a key that leaves service
# is released; key messages against resume; a key set held in its key
# lookup is not overtaken by a resume and runs in a NOIO scope), completion
# contexts that may be atomic (null_blk irqmode=0), memory pressure (a small
# memory cgroup; the global cap on bounce pages, with dm-delay holding the
# writes; fail_page_alloc on the writer, over null_blk), allocation failures
# in the constructor and in key set (failslab), and a lower device that
# fails every request (fail_make_request).  The fault-injection checks need
# a kernel with fault injection and debugfs (the debug lane); on Debian's
# kernels they are skipped, and the cap's check is skipped on the debug
# kernel (no dm-delay).  Every check asserts an outcome; the harness fails the run on any
# kernel report.
#
# aurora.robust_rounds=N sets the rounds of suspend/key set/resume (default
# 200, 1000 on the debug kernel).
# aurora.robust=SECTION[,SECTION...] on the guest's kernel command line runs
# only those sections (keys swap order nullb memcg cap fpa failslab fmr) and
# skips the others: scripts/revert-proof runs the check that proves one fix.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 23
dmesg_mark
tgt_modules

loop=$(tgt_loop 80)
sz=$(tgt_sectors "$loop")
dbg=/sys/kernel/debug
have_fault() { [ -d "$dbg/$1" ]; }
debug_kernel() { [ -e "$dbg/kmemleak" ]; }

# proc_has_key ID: the key (decimal ID) is still in /proc/keys.
proc_has_key() { grep -q "^$(printf '%08x' "$1") " /proc/keys; }

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds, for SECS
# seconds of the clock (not a count of polls: a poll can take far longer
# than 0.1 s on the debug kernel under TCG).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
only=$(sed -n 's/.*aurora\.robust=\([^ ]*\).*/\1/p' /proc/cmdline)
# want SECTION: the section runs.
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
# skip_all REASON DESC...: one skipped result per DESC.
skip_all() {
	local why=$1 d
	shift
	for d in "$@"; do ktap_skip "$d" "$why"; done
}

is_inaccessible() { [[ "$(tgt_status "$1")" == "inaccessible $2 key:wiped "* ]]; }
key_gone() { ! proc_has_key "$1"; }
alive() { kill -0 "$1" 2>/dev/null; }

# --- a key that leaves service is released ----------------------------------
# Dead keys are collected gc_delay seconds after they die, once nothing holds
# them: the target must not.
if want keys; then
	echo 1 > /proc/sys/kernel/keys/gc_delay
	for how in expire revoke; do
		read -r desc kid < <(tgt_key "gone-$how")
		name=$(uniq "aurora-gone-$how")
		tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
		if [ $how = expire ]; then
			keyctl timeout "$kid" 1
			reason=key-expired
		else
			keyctl revoke "$kid"
			reason=key-revoked
		fi
		wait_for 30 is_inaccessible "$name" "$reason"
		ktap_result "$how: inaccessible $reason, mapping still loaded" "$?"
		ktap_result "$how: the key is gone from /proc/keys while the table exists" \
			"$(wait_for 30 key_gone "$kid"; echo $?)"
		tgt_remove "$name"
	done
else
	skip_all "not selected" "expire: inaccessible" "expire: key gone" "revoke: inaccessible" "revoke: key gone"
fi

# (key set with the key in use revoked: 20-target-inaccessible.sh)

# --- key messages against suspend and resume, under fio ----------------------
if want swap; then
	read -r desc kid < <(tgt_key swap)
	read -r desc2 _ < <(tgt_key swap2 "$TGT_TMP/$desc.key")
	name=$(uniq aurora-swap)
	tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
	dev=/dev/mapper/$name
	rounds=200
	debug_kernel && rounds=1000
	# aurora.robust_rounds=N: make check's debug lane (scripts/check) runs
	# fewer rounds than make check-debug, to fit CI's time.
	r=$(sed -n 's/.*aurora\.robust_rounds=\([0-9][0-9]*\).*/\1/p' /proc/cmdline)
	[ -n "$r" ] && rounds=$r
	ok=0 fio_bad=0 runs=0 i=0
	while [ "$i" -lt "$rounds" ] && [ "$ok" = 0 ]; do
		# Each fio run writes and verifies 16 MiB while rounds go on.
		fio --name=swap --filename="$dev" --rw=randwrite --bs=4k-64k --size=16M \
			--direct=1 --ioengine=libaio --iodepth=8 --verify=crc32c \
			--verify_fatal=1 --do_verify=1 --randrepeat=0 \
			--output="$TGT_TMP/fio-swap" > /dev/null 2>&1 &
		fio_pid=$!
		runs=$((runs + 1))
		while kill -0 "$fio_pid" 2>/dev/null && [ "$i" -lt "$rounds" ]; do
			d=$desc
			[ $((i % 2)) = 1 ] && d=$desc2
			dmsetup suspend "$name" &&
				dmsetup message "$name" 0 key set ":64:logon:$d" &&
				dmsetup resume "$name" || { ok=1; break; }
			i=$((i + 1))
		done
		wait "$fio_pid" || { fio_bad=1; cat "$TGT_TMP/fio-swap" >&2; }
	done
	ktap_result "$rounds rounds of suspend, key set (two descriptions, same key), resume under fio ($i done)" "$ok"
	ktap_result "... each of the $runs fio runs verifies what it wrote" "$fio_bad"
	# key wipe against resume: whatever wins, a resumed device has its key.
	bad=0
	for ((i = 0; i < 100; i++)); do
		dmsetup suspend "$name"
		dmsetup message "$name" 0 key wipe 2>/dev/null &
		w=$!
		dmsetup resume "$name" 2>/dev/null
		wait "$w"
		if dmsetup info "$name" | grep -q '^State: *ACTIVE' &&
		   [[ "$(tgt_status "$name")" != "active key:loaded "* ]]; then
			bad=$((bad + 1))
			dmsetup suspend "$name"
		fi
		if dmsetup info "$name" | grep -q SUSPENDED; then
			dmsetup message "$name" 0 key set ":64:logon:$desc" && dmsetup resume "$name"
		fi
	done
	ktap_result "key wipe racing resume, 100 rounds: no resumed device without its key ($bad)" \
		"$([ "$bad" = 0 ]; echo $?)"
	ktap_check "... and it reads" tgt_read "$dev" "$TGT_TMP/swap.rd" 65536
	tgt_remove "$name"
else
	skip_all "not selected" "suspend/key set/resume rounds under fio" "fio runs verify" "key wipe racing resume" "... and it reads"
fi

# --- a key message and a resume, in turn ------------------------------------
# key set is held in its key lookup: the key it names is under construction
# (a "keyctl request2" whose /sbin/request-key upcall waits for a go), and
# request_key() waits for it.  A resume started meanwhile must wait until the
# key set is done, not resume the device under it: the check of "suspended"
# and the key change are one step against resume.  And key set, which
# allocates while the device is suspended, is in a NOIO scope meanwhile.
if want order; then
	read -r desc _ < <(tgt_key order)
	name=$(uniq aurora-order)
	tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
	up=$TGT_TMP/upcall
	mkdir -p "$up"
	cp "$TGT_TMP/$desc.key" "$up/key"
	# The kernel runs /sbin/request-key create KEY UID GID TKR PKR SKR.
	printf '#!/bin/sh\nexec key-hold %s "$2" 2>> %s/log\n' "$up" "$up" > /sbin/request-key
	chmod 755 /sbin/request-key
	on_exit "rm -f /sbin/request-key"
	rdesc=aurora:$(uniq upcall)
	dmsetup suspend "$name"
	keyctl request2 logon "$rdesc" upcall @s > /dev/null &
	k=$!
	first=x mrc=x noio=x fl=none
	if wait_for 60 test -e "$up/started"; then
		dmsetup message "$name" 0 key set ":64:logon:$rdesc" &
		m=$!
		in_lookup() { grep -q wait_for_key_construction "/proc/$m/stack"; }
		if wait_for 60 in_lookup; then
			# Field 9 of /proc/PID/stat: the task's flags.
			fl=$(sed 's/.*) //' "/proc/$m/stat" | cut -d' ' -f7)
			noio=$(((fl & 0x80000) != 0))
			dmsetup resume "$name" &
			r=$!
			# With the key set done first, the resume cannot end
			# before the go.
			wait_for 30 eval '! alive '"$r"
			first=$((! $?))
		fi
		touch "$up/go"
		wait "$m"
		mrc=$?
		wait "$r" 2>/dev/null
	fi
	touch "$up/go"
	wait "$k"
	[ -s "$up/log" ] && sed 's/^/# request-key: /' "$up/log"
	ktap_result "resume during key set waits for it (resumed first: $first, key set exit $mrc)" \
		"$([ "$first" = 0 ] && [ "$mrc" = 0 ]; echo $?)"
	# Allocations of key set while the device is suspended must not
	# wait for its I/O: a NOIO scope (PF_MEMALLOC_NOIO, 0x80000).
	ktap_result "key set runs in a NOIO scope (task flags $fl)" \
		"$([ "$noio" = 1 ]; echo $?)"
	dmsetup resume "$name" 2>/dev/null
	tgt_remove "$name"
else
	skip_all "not selected" "resume during key set waits for it" \
		"key set runs in a NOIO scope"
fi

# --- reads completed in the submitter's context (null_blk irqmode=0) ------
if want nullb; then
	if modprobe null_blk nr_devices=1 irqmode=0 queue_mode=2 memory_backed=1 \
		gb=1 bs=512 2>/dev/null && [ -b /dev/nullb0 ]; then
		on_exit "rmmod null_blk"
		read -r desc _ < <(tgt_key nullb)
		name=$(uniq aurora-nullb)
		tgt_create "$name" "0 131072 aurora aes-xts-plain64 :64:logon:$desc 0 /dev/nullb0 0"
		ktap_check "null_blk irqmode=0: fio randrw 4k-64k, 4 jobs, --verify=crc32c" \
			fio --name=nullb --filename="/dev/mapper/$name" --rw=randrw \
			--bsrange=4k-64k --size=16M --offset_increment=16M --numjobs=4 \
			--direct=1 --ioengine=libaio --iodepth=16 --verify=crc32c \
			--verify_fatal=1 --randrepeat=0 --output=/dev/stderr
		tgt_remove "$name"
		# Memory-backed, null_blk is a blocking driver (dispatched under SRCU).
		# Without memory backing it is not: it is dispatched, and with
		# irqmode=0 completes, inside an RCU read section, which is preemptible
		# with PREEMPT_RCU (Debian's kernels, the debug kernel): a completion
		# there must not be taken for a context that may sleep.  The data read
		# is whatever null_blk returns.
		name=$(uniq aurora-nullr)
		if rmmod null_blk && modprobe null_blk nr_devices=1 irqmode=0 queue_mode=2 \
			memory_backed=0 gb=1 bs=512 && [ -b /dev/nullb0 ]; then
			tgt_create "$name" "0 131072 aurora aes-xts-plain64 :64:logon:$desc 0 /dev/nullb0 0"
			ktap_check "null_blk irqmode=0, not memory-backed (completions in an RCU read section): read storm, sync reads, 4 jobs" \
				fio --name=storm --filename="/dev/mapper/$name" --rw=randread \
				--bs=4k --size=64M --numjobs=4 --direct=1 --ioengine=psync \
				--io_size=16M --output=/dev/null
			tgt_remove "$name"
		else
			ktap_result "null_blk reloaded without memory backing" 1
		fi
	else
		ktap_skip "null_blk irqmode=0: fio" "no null_blk"
		ktap_skip "null_blk irqmode=0: read storm" "no null_blk"
	fi
else
	skip_all "not selected" "null_blk irqmode=0: fio" "null_blk irqmode=0: read storm"
fi

# --- writes in a small memory cgroup -------------------------------------
if want memcg; then
	cg=/sys/fs/cgroup
	mountpoint -q "$cg" || mount -t cgroup2 none "$cg" 2>/dev/null
	if grep -qw memory "$cg/cgroup.controllers" 2>/dev/null; then
		echo +memory > "$cg/cgroup.subtree_control" 2>/dev/null
		mkdir -p "$cg/aurora-small"
		echo 48M > "$cg/aurora-small/memory.max"
		on_exit "rmdir $cg/aurora-small"
		read -r desc _ < <(tgt_key memcg)
		name=$(uniq aurora-memcg)
		tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
		ktap_check "memory.max 48M: buffered fio writes of 64 MiB with verification" \
			bash -c "echo \$\$ > $cg/aurora-small/cgroup.procs && exec fio --name=memcg \
				--filename=/dev/mapper/$name --rw=write --bs=1M --size=64M \
				--ioengine=psync --end_fsync=1 --verify=crc32c --verify_fatal=1 \
				--output=/dev/stderr"
		tgt_remove "$name"
	else
		ktap_skip "memory.max: buffered writes" "no memory controller"
	fi
else
	skip_all "not selected" "memory.max: buffered writes"
fi

# --- the global cap on bounce pages -----------------------------------------
# Writes held below the target keep their bounce pages.  Every aurora
# target together may hold AURORA_PAGES_PERCENT (2) % of RAM in bounce pages
# (totalram_pages() / 100 * 2, as the kernel computes it; MemTotal is
# totalram in KiB), plus what the targets' own reserves hold (256 pages
# each, allocated when they are created): over that, a writer takes from its
# target's reserve and then waits for it.  Here dm-delay holds every write
# for 10 minutes under a target fed 1 MiB O_DIRECT writes (one 256-page
# bounce bio each), far more of them in flight than the cap allows.  The
# number of writes dm-delay holds must stay within the cap until the
# writer waits for pages with every write that got them held; then the
# delay is lifted, and every write completes and verifies.
if ! want cap; then
	skip_all "not selected" "bounce pages capped" "... the held writes complete and verify"
elif ! modprobe dm-delay 2>/dev/null || ! dmsetup targets | grep -q '^delay '; then
	skip_all "no dm-delay in this kernel" "bounce pages capped" \
		"... the held writes complete and verify"
else
	depth=128
	cloop=$(tgt_loop $((depth + 8)))
	csz=$(tgt_sectors "$cloop")
	dname=$(uniq aurora-capdelay)
	tgt_create "$dname" "0 $csz delay $cloop 0 0 $cloop 0 600000 $cloop 0 0"
	read -r desc _ < <(tgt_key cap)
	cname=$(uniq aurora-cap)
	tgt_create "$cname" "0 $csz aurora aes-xts-plain64 :64:logon:$desc 0 /dev/mapper/$dname 0"
	cdev=/dev/mapper/$cname
	sysdm=/sys/dev/block/$(dmsetup info -c --noheadings -o major,minor "$cname" | tr -d ' ')
	# held: the writes dm-delay holds (status: reads writes flushes).
	held() { dmsetup status "$dname" | cut -d' ' -f5; }
	# inflight: the target's writes past map() (allocated) not completed.
	inflight() { awk '{ print $2 }' "$sysdm/inflight"; }
	# waiting: a task waits in mempool_alloc() for the target's pages.
	waiting() {
		grep -l 'mempool_alloc' /proc/[0-9]*/stack 2>/dev/null |
			xargs -r grep -l 'aurora' 2>/dev/null | grep -q .
	}
	settled_one() { [ "$(held)" -gt 0 ] && [ "$(held)" = "$(inflight)" ]; }
	# How many bios one 1 MiB write is below the target (1: the target
	# takes it whole, one 256-page bounce bio): one write, held, then let
	# go (a suspend of dm-delay sends what it holds).
	odirect-write "$cdev" 0 1048576 &
	cw=$!
	wait_for 60 settled_one
	per=$(held)
	dmsetup suspend "$dname" && dmsetup resume "$dname"
	wait "$cw"
	ram=$(sed -n 's/^MemTotal: *\([0-9]*\) kB$/\1/p' /proc/meminfo)
	cap=$((ram / 4 / 100 * 2))
	ntgt=$(dmsetup table --target aurora | grep -c ' aurora ')
	# Held writes of 256/per pages each: at most cap + the reserves.
	max=$(((cap + 256 * ntgt) * per / 256))
	note "cap: MemTotal $ram KiB: cap $cap pages; $ntgt aurora targets; a 1 MiB write is $per bio(s) below; at most $max held"
	fio --name=cap --filename="$cdev" --rw=write --bs=1M --size=${depth}M \
		--direct=1 --ioengine=libaio --iodepth=$depth --verify=crc32c \
		--verify_fatal=1 --do_verify=1 --output="$TGT_TMP/fio-cap" \
		> /dev/null 2>&1 &
	f=$!
	peak=0 settled=1 end=$((SECONDS + 300))
	while [ "$SECONDS" -lt "$end" ]; do
		h=$(held)
		[ "$h" -gt "$peak" ] && peak=$h
		[ "$h" -gt "$max" ] && break
		if [ "$h" -gt 0 ] && waiting && [ "$h" = "$(inflight)" ]; then
			settled=0
			break
		fi
		sleep 0.1
	done
	note "cap: held $(held), peak $peak, target's writes in flight $(inflight), writer waiting: $((! settled))"
	ktap_result "bounce pages capped: at most $max writes held below the target (cap $cap pages, $per bio(s) per 1 MiB write; peak $peak of $depth, writer waiting for pages: $((! settled)))" \
		"$([ "$settled" = 0 ] && [ "$peak" -le "$max" ]; echo $?)"
	# Lift the delay: the held writes go down, the others follow.
	dmsetup load "$dname" --table "0 $csz delay $cloop 0 0 $cloop 0 0 $cloop 0 0"
	dmsetup resume "$dname"
	rc=stuck
	if wait_for 300 eval '! alive '"$f"; then
		wait "$f"
		rc=$?
	fi
	[ "$rc" = 0 ] || cat "$TGT_TMP/fio-cap" >&2
	ktap_result "... the held writes complete and verify (fio exit $rc)" \
		"$([ "$rc" = 0 ]; echo $?)"
	[ "$rc" = stuck ] || { tgt_remove "$cname"; tgt_remove "$dname"; }
fi

# --- fail_page_alloc on the writing task -----------------------------------
read -r desc _ < <(tgt_key fpa)
name=$(uniq aurora-fpa)
tgt_create "$name" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
dev=/dev/mapper/$name
if ! want fpa; then
	skip_all "not selected" "1 MiB O_DIRECT write under fail_page_alloc" "... reads back"
elif have_fault fail_page_alloc; then
	# The write must reach the target in bios as large as they can be:
	# a loop device takes at most 255 sectors per request, null_blk as
	# many as it is told (the target's own limits then cap them).
	# null_blk's backing pages are allocated by its first write, so the
	# range is written once before the faults.
	fdev=$dev
	if { rmmod null_blk 2>/dev/null; modprobe null_blk nr_devices=1 queue_mode=2 \
		memory_backed=1 gb=1 bs=512 max_sectors=2048; } && [ -b /dev/nullb0 ]; then
		on_exit "rmmod null_blk"
		fname=$(uniq aurora-fpanb)
		tgt_create "$fname" "0 131072 aurora aes-xts-plain64 :64:logon:$desc 0 /dev/nullb0 0"
		fdev=/dev/mapper/$fname
	fi
	dd if=/dev/zero of="$fdev" bs=1M count=1 seek=1 oflag=direct status=none
	q=/sys/dev/block/$(dmsetup info -c --noheadings -o major,minor "$fdev" | tr -d ' ')/queue
	cat "$q/max_hw_sectors_kb" > "$q/max_sectors_kb" 2>/dev/null
	note "fpa: $fdev max_sectors_kb $(cat "$q/max_sectors_kb"), max_segments $(cat "$q/max_segments"), max_segment_size $(cat "$q/max_segment_size")"
	f=$dbg/fail_page_alloc
	echo 1 > "$f/task-filter"; echo N > "$f/ignore-gfp-wait"
	echo N > "$f/ignore-gfp-highmem"; echo 0 > "$f/min-order"
	echo 100 > "$f/probability"; echo 1 > "$f/interval"; echo -1 > "$f/times"
	echo 0 > "$f/verbose"
	# A writer that waits for pages forever sleeps uninterruptibly, so no
	# signal ends it: wait for it with a generous bound, then say where
	# it is and stop failing its allocations, which lets it finish.
	odirect-write "$fdev" 1048576 1048576 1 &
	w=$!
	wait_for 300 eval '! alive '"$w"
	done=$?
	if [ "$done" != 0 ]; then
		note "fpa: the write has not completed after 300 s; the writer's kernel stack:"
		sed 's/^/#   /' "/proc/$w/stack" 2>/dev/null
		sed 's/^/fpa stuck writer: /' "/proc/$w/stack" > /dev/kmsg 2>/dev/null
	fi
	echo 0 > "$f/probability"
	rc=stuck
	if wait_for 120 eval '! alive '"$w"; then
		wait "$w"
		rc=$?
	fi
	how="exit $rc"
	[ "$done" = 0 ] || how="not done after 300 s, $how once the faults stopped"
	ktap_result "1 MiB O_DIRECT write with every page allocation of the writer failing: completes ($how)" \
		"$([ "$done" = 0 ] && [ "$rc" = 0 ]; echo $?)"
	if [ "$rc" = stuck ]; then
		ktap_fail "... reads back (the writer is still stuck)"
		exit 0
	fi
	odirect-write - 1048576 1048576 > "$TGT_TMP/fpa.exp"
	tgt_read "$fdev" "$TGT_TMP/fpa.got" 1048576 1048576
	ktap_check "... and reads back as written" cmp "$TGT_TMP/fpa.exp" "$TGT_TMP/fpa.got"
	[ "$fdev" = "$dev" ] || tgt_remove "$fname"
else
	ktap_skip "1 MiB O_DIRECT write under fail_page_alloc" "no fail_page_alloc"
	ktap_skip "... reads back" "no fail_page_alloc"
fi

# --- failslab in the constructor and in key set ------------------------------
# Each slab allocation the ioctl makes fails in turn, the first, then the
# second, and so on until one run reaches no failure: /proc/self/fail-nth in
# dm-fail-nth, armed right before the ioctl, so that the count is the
# ioctl's own (per task, from zero: failslab's 'interval' counter is global
# and never reset, and a dmsetup run under make-it-fail spends hundreds of
# allocations on exec and the loader first).  Every run must end in a clean
# error or a success; kmemleak, KASAN and the log check see what it leaves.
if want failslab; then
	if have_fault failslab && [ -e /proc/self/fail-nth ]; then
		f=$dbg/failslab
		# Arms failslab's static key (probability non-zero) while failing
		# nothing by itself: task-filter, and no task has make-it-fail.
		echo 1 > "$f/task-filter"; echo N > "$f/ignore-gfp-wait"
		echo 0 > "$f/verbose"; echo -1 > "$f/times"; echo 1 > "$f/interval"
		echo 100 > "$f/probability"
		# Only slab allocations count: page allocation faults off.
		have_fault fail_page_alloc && echo 0 > "$dbg/fail_page_alloc/probability"
		fslab_max=3000
		# failing WHAT DM-FAIL-NTH-ARGS...: runs the ioctl with its Nth slab
		# allocation failing for N = 1, 2, ... until one run reaches no
		# failure; prints "N-1 BAD SUMMARY": the allocations, the runs that
		# did not end cleanly, and the count of each outcome.
		failing() {
			local what=$1 n out bad=0 st
			shift
			declare -A seen=()
			for ((n = 1; n <= fslab_max; n++)); do
				out=$(dm-fail-nth "$n" "$@" 2>&1)
				st=$?
				"$cleanup"
				[ "$st" = 1 ] && break
				if [ "$st" != 0 ]; then
					bad=$((bad + 1))
					note "failslab: $what, allocation $n: $out (exit $st)" >&2
				fi
				seen[$out]=$((${seen[$out]:-0} + 1))
			done
			local sum="" k
			for k in "${!seen[@]}"; do sum+=" ${k// /:}=${seen[$k]}"; done
			echo "$((n - 1)) $bad$sum"
		}
		fname=$(uniq aurora-fslab)
		# Each load goes into a fresh device's inactive slot; removing the
		# device destroys whatever the constructor built.
		cleanup_ctr() {
			dmsetup remove "$fname" >/dev/null 2>&1
			dmsetup create "$fname" --notable >/dev/null 2>&1
		}
		cleanup=cleanup_ctr
		dmsetup create "$fname" --notable
		read -r n bad sum < <(failing load load "$fname" 0 "$sz" aurora "aes-xts-plain64 :64:logon:$desc 0 $loop 0")
		note "failslab: load: $n slab allocations; outcomes:$sum"
		ktap_result "failslab: the constructor with each of its $n slab allocations failing in turn: clean errors" \
			"$([ "$n" -ge 1 ] && [ "$n" -lt "$fslab_max" ] && [ "$bad" = 0 ]; echo $?)"
		dmsetup remove "$fname"
		tgt_create "$fname" "0 $sz aurora aes-xts-plain64 :64:logon:$desc 0 $loop 0"
		# key set is accepted while suspended; a success swaps the key, so
		# each run starts from a suspended device either way.
		cleanup_ks() {
			dmsetup resume "$fname" >/dev/null 2>&1
			dmsetup suspend "$fname" >/dev/null 2>&1
		}
		cleanup=cleanup_ks
		dmsetup suspend "$fname"
		read -r n bad sum < <(failing "key set" message "$fname" 0 "key set :64:logon:$desc")
		note "failslab: key set: $n slab allocations; outcomes:$sum"
		echo 0 > "$f/probability"
		dmsetup message "$fname" 0 key set ":64:logon:$desc" >&2
		dmsetup resume "$fname"
		ktap_result "failslab: key set with each of its $n slab allocations failing in turn: clean errors" \
			"$([ "$n" -ge 1 ] && [ "$n" -lt "$fslab_max" ] && [ "$bad" = 0 ]; echo $?)"
		ktap_check "... the mapping still reads and writes" \
			bash -c "odirect-write /dev/mapper/$fname 0 65536 && dd if=/dev/mapper/$fname of=/dev/null bs=64k count=1 iflag=direct status=none"
		tgt_remove "$fname"
	else
		ktap_skip "failslab: the constructor" "no failslab or fail-nth"
		ktap_skip "failslab: key set" "no failslab or fail-nth"
		ktap_skip "failslab: mapping still works" "no failslab or fail-nth"
	fi
else
	skip_all "not selected" "failslab: the constructor" "failslab: key set" "failslab: mapping still works"
fi

# --- the lower device fails every request ----------------------------------
if want fmr; then
	if have_fault fail_make_request && [ -e "/sys/block/${loop#/dev/}/make-it-fail" ]; then
		f=$dbg/fail_make_request
		echo 100 > "$f/probability"; echo -1 > "$f/times"; echo 0 > "$f/verbose"
		echo 1 > "/sys/block/${loop#/dev/}/make-it-fail"
		ktap_result "fail_make_request on the lower device: reads fail with EIO, no hang" \
			"$(timeout 60 bash -c "tgt_eio() { dd if=$dev of=/dev/null bs=64k count=1 iflag=direct 2>&1 | grep -q 'Input/output error'; }; tgt_eio"; echo $?)"
		ktap_result "... writes fail with EIO, no hang" \
			"$(timeout 60 odirect-write "$dev" 0 65536 2>&1 | grep -q 'Input/output error'; echo $?)"
		echo 0 > "/sys/block/${loop#/dev/}/make-it-fail"
		echo 0 > "$f/probability"
	else
		ktap_skip "fail_make_request: reads" "no fail_make_request"
		ktap_skip "fail_make_request: writes" "no fail_make_request"
	fi
else
	skip_all "not selected" "fail_make_request: reads" "fail_make_request: writes"
fi

tgt_remove "$name"

ktap_check "kernel log has no warnings" tgt_kernel_clean
exit 0
