#!/bin/bash
# The KUnit suite of dm-aurora (kernel/dm-aurora-test.c: key references,
# optional parameters, the plain64 IV, reasons, state bits, the cipher
# implementation chosen, the writer thread's sector order): it runs
# when the module is loaded, on a kernel with KUnit (the debug lane);
# Debian's kernels have none.
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
ktap_result "KUnit suite dm-aurora ran (9 cases)" \
	"$([ "$(grep -cE '^ *ok [0-9]+ aurora_test_' "$res")" -eq 9 ] ||
	   [ "$(grep -cE '^ *(not )?ok [0-9]+ aurora_test_' "$res")" -eq 9 ]; echo $?)"
ktap_result "KUnit suite dm-aurora passed" \
	"$(! grep -qE '^ *not ok' "$res" && grep -qE '^ok [0-9]+ dm-aurora' "$res"; echo $?)"
exit 0
