#!/bin/bash
# tests/bench/report.py on a made-up guest output: one fio run per job whose
# sections are named r<round>-<config> (BENCHSET), an older per-run record
# (BENCH), a section fio reported as failed, and tcrypt lines.  Checks the
# records, the per-round ratios against the best dm-crypt and the cipher
# ratio the report derives from them.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/aurora-bench-report.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "1..7"
python3 - "$tmp/run.out" <<'PY'
import json, sys

def section(name, bw, iops, p99_us, error=0, write=False):
    side = {'bw_bytes': bw, 'iops': iops,
            'lat_ns': {'percentile': {'99.000000': p99_us * 1000}}}
    empty = {'bw_bytes': 0, 'iops': 0, 'lat_ns': {'percentile': {}}}
    return {'jobname': name, 'error': error,
            'read': empty if write else side, 'write': side if write else empty}

out = []
# sr1m: dm-crypt default is the best dm-crypt; aurora-4k 1.10x, 0.90x, 1.20x.
jobs, busy = [], {}
for rep, (crypt, aurora) in enumerate([(100, 110), (100, 90), (50, 60)], 1):
    mib = 1048576
    jobs += [section(f'r{rep}-crypt-4k', crypt * mib, crypt, 0),
             section(f'r{rep}-crypt-nowq-4k', crypt * mib // 2, crypt / 2, 0),
             section(f'r{rep}-aurora-4k', aurora * mib, aurora, 0)]
    busy.update({f'r{rep}-crypt-4k': 1.0, f'r{rep}-crypt-nowq-4k': 0.5,
                 f'r{rep}-aurora-4k': 0.98})
# A section fio failed: left out, so round 4 has no pair.
jobs.append(section('r4-aurora-4k', 10 * 1048576, 10, 0, error=5))
out.append('BENCHSET ' + json.dumps({'job': 'sr1m', 'cpu_busy': busy, 'fio': {'jobs': jobs}}))
# rw4k-qd1 in the older format: p99 aurora 80 us against nowq 100 us.
for cfg, iops, p99 in [('crypt-nowq-4k', 1000, 100), ('crypt-4k', 500, 300), ('aurora-4k', 1200, 80)]:
    rec = {'rep': 1, 'job': 'rw4k-qd1', 'config': cfg, 'cpu_busy': None,
           'fio': {'jobs': [section('rw4k-qd1', iops * 4096, iops, p99, write=True)]}}
    out.append('BENCH ' + json.dumps(rec))
# dm-aurora's counters around sr1m: 400 bios; a configuration with no
# 'after' line is left out.
out.append('DMSTATUS sr1m before aurora-4k 0 8 aurora active key:loaded reads:100 writes:50 '
           'terminal_eio:0')
out.append('DMSTATUS sr1m after aurora-4k 0 8 aurora active key:loaded reads:450 writes:100 '
           'terminal_eio:0')
out.append('DMSTATUS sr1m before aurora-512 0 8 aurora active key:loaded reads:1 writes:0 '
           'terminal_eio:0')
out.append('TCRYPT [ 1.0] testing speed of async xts(aes) (xts-aes-aesni) decryption')
out.append('TCRYPT [ 1.0] test 4 (512 bit key, 4096 byte blocks): 1000 operations in 1 seconds (52428800 bytes)')
with open(sys.argv[1], 'w') as f:
    f.write('\n'.join(out) + '\n')
PY
python3 "$top/tests/bench/report.py" "$tmp/out" "test:$tmp/run.out" > "$tmp/report.txt" 2> "$tmp/report.err"
rc=$?
if [ $rc -eq 0 ]; then echo "ok 1 - report.py runs"; else echo "not ok 1 - report.py runs (exit $rc)"; sed 's/^/# /' "$tmp/report.err"; fi
python3 - "$tmp/out/results.json" <<'PY'
import json, sys
n = 1
def check(cond, what):
    global n
    n += 1
    print(('ok' if cond else 'not ok') + f' {n} - {what}')
try:
    k = json.load(open(sys.argv[1]))['kernels']['test']
except (OSError, ValueError, KeyError) as e:
    for what in ('records', 'sections mapped', 'per-round ratios', 'counters', 'p99 ratio'):
        check(False, f'{what} ({e})')
    sys.exit(0)
runs = k['runs']
check(len(runs) == 12, f'records: 9 sections and 3 older runs, the failed section left out ({len(runs)})')
a2 = [r for r in runs if r['job'] == 'sr1m' and r['rep'] == 2 and r['config'] == 'aurora-4k']
check(len(a2) == 1 and a2[0]['cpu_busy'] == 0.98 and a2[0]['bw_bytes'] == 90 * 1048576,
      'a section maps to its round, configuration, throughput and CPU use')
pr = k['per_round_ratios'].get('sr1m/4k', {})
# The interval of the median lies within the range and holds the median.
lo, hi = [round(x, 3) for x in pr.get('median_ci95') or [0, 0]]
check(pr.get('against') == 'crypt-4k' and [round(x, 3) for x in pr.get('ratios', [])] == [1.1, 0.9, 1.2]
      and 0.9 <= lo <= 1.1 <= hi <= 1.2,
      f'per-round ratios against the best dm-crypt, the interval of their median within their range ({pr})')
c = k.get('aurora_counters', {})
check(c == {'sr1m/aurora-4k': {'reads': 350, 'writes': 50}},
      f'dm-aurora counters: after minus before, a configuration without both left out ({c})')
p99 = k['per_round_ratios'].get('rw4k-qd1-p99/4k', {})
check(p99.get('against') == 'crypt-nowq-4k' and [round(x, 3) for x in p99.get('ratios', [])] == [0.8],
      f'p99 ratio against the lowest dm-crypt p99 ({p99})')
PY
# Median aurora-4k sr1m 90 MiB/s (the failed section left out) over tcrypt's 50 MiB/s.
if grep -q '| sr1m (MiB/s) |.*| 1.80x |$' "$tmp/out/results.md"; then
	echo "ok 7 - ratio to the cipher's limit"
else
	echo "not ok 7 - ratio to the cipher's limit"; grep sr1m "$tmp/out/results.md" | sed 's/^/# /'
fi
