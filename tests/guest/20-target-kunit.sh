#!/bin/bash
# The KUnit suite of dm-aurora (kernel/dm-aurora-test.c: key references,
# optional parameters, the plain64 IV, reasons, state bits, the cipher
# implementation chosen, the writer thread's sector order, the probes of
# aurora_alone()): it runs when the module is loaded, on a kernel with
# KUnit (the debug lane); Debian's kernels have none.
. /tests/lib.sh
. /tests/20-target-lib.inc
ktap_plan 2
tgt_modules
res=/sys/kernel/debug/kunit/dm-aurora/results
if [ ! -r "$res" ]; then
	ktap_skip "KUnit suite dm-aurora ran" "kernel without KUnit"
	ktap_skip "KUnit suite dm-aurora passed" "kernel without KUnit"
	exit 0
fi
sed 's/^/# /' "$res"
# Every case kernel/dm-aurora-test.c lists (counted by scripts/mkinitramfs)
# ran, passed or not; whether they passed is the next check.
want=$(cat /tests/kunit-cases 2>/dev/null || echo 0)
ran=$(grep -cE '^ *(not )?ok [0-9]+ aurora_test_' "$res")
echo "# KUnit cases: $ran ran, $want listed"
ktap_result "KUnit suite dm-aurora ran (every listed case)" \
	"$([ "$want" -gt 0 ] && [ "$ran" -eq "$want" ]; echo $?)"
ktap_result "KUnit suite dm-aurora passed" \
	"$(! grep -qE '^ *not ok' "$res" && grep -qE '^ok [0-9]+ dm-aurora' "$res"; echo $?)"
exit 0
