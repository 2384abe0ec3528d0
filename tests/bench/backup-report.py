#!/usr/bin/env python3
"""Backup and restore throughput against dd (tests/bench/guest-backup.sh).

Usage: backup-report.py OUTDIR KVER:RUNFILE...
Reads the 'BACKUPBENCH {...}' and 'BACKUPCHECK {...}' lines of each run,
writes OUTDIR/backup.md and OUTDIR/backup.json and prints the table.

Per kernel and operation: the median throughput (MiB/s) over the rounds;
the ratios are per round (backup against the dd read of the same round,
restore against the dd write of the same round), their median reported:
steps of one round ran next to each other, so the host's drifting load
weighs on both sides of a ratio alike.
"""
import json
import statistics
import sys

PAIRS = (('backup', 'dd-read'), ('restore', 'dd-write'))
OPS = ('dd-read', 'backup', 'dd-write', 'restore')


def parse(path):
    steps, check = [], None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('BACKUPBENCH '):
                steps.append(json.loads(line[len('BACKUPBENCH '):]))
            elif line.startswith('BACKUPCHECK '):
                check = json.loads(line[len('BACKUPCHECK '):])
    return steps, check


def mibs(s):
    return s['bytes'] / (1 << 20) / (s['ns'] / 1e9) if s['ns'] > 0 else 0.0


def summarise(steps):
    by = {}
    for s in steps:
        by.setdefault(s['round'], {})[s['op']] = mibs(s)
    res = {'rounds': len(by), 'mib_s': {}, 'ratio': {}, 'ratio_min': {}, 'ratio_max': {}}
    for op in OPS:
        v = [r[op] for r in by.values() if op in r]
        res['mib_s'][op] = statistics.median(v) if v else None
    for a, b in PAIRS:
        v = [r[a] / r[b] for r in by.values() if a in r and b in r and r[b] > 0]
        res['ratio'][a] = statistics.median(v) if v else None
        res['ratio_min'][a] = min(v) if v else None
        res['ratio_max'][a] = max(v) if v else None
    return res


def fmt(x, f):
    return '-' if x is None else f % x


def main():
    out = sys.argv[1]
    results = {}
    for arg in sys.argv[2:]:
        kver, path = arg.split(':', 1)
        steps, check = parse(path)
        if not steps:
            print(f'backup-report: no BACKUPBENCH lines in {path}', file=sys.stderr)
            continue
        r = summarise(steps)
        r['bytes'] = steps[0]['bytes']
        r['restored_identical'] = bool(check and check.get('restored_identical'))
        results[kver] = r
    lines = ['# Backup and restore against dd of the raw device', '',
             'Median over the rounds; ratio: per round, against dd on the same ramdisk '
             '(the ceiling), then the median (min-max).', '',
             '| kernel | size MiB | rounds | dd read MiB/s | backup MiB/s | backup/dd '
             '| dd write MiB/s | restore MiB/s | restore/dd | restored data identical |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for k, r in results.items():
        m, q = r['mib_s'], r['ratio']
        lines.append(
            f"| {k} | {r['bytes'] >> 20} | {r['rounds']} | {fmt(m['dd-read'], '%.0f')} "
            f"| {fmt(m['backup'], '%.0f')} | {fmt(q['backup'], '%.2f')} "
            f"({fmt(r['ratio_min']['backup'], '%.2f')}-{fmt(r['ratio_max']['backup'], '%.2f')}) "
            f"| {fmt(m['dd-write'], '%.0f')} | {fmt(m['restore'], '%.0f')} "
            f"| {fmt(q['restore'], '%.2f')} "
            f"({fmt(r['ratio_min']['restore'], '%.2f')}-{fmt(r['ratio_max']['restore'], '%.2f')}) "
            f"| {'yes' if r['restored_identical'] else 'NO'} |")
    text = '\n'.join(lines) + '\n'
    with open(f'{out}/backup.md', 'w') as f:
        f.write(text)
    with open(f'{out}/backup.json', 'w') as f:
        json.dump(results, f, indent=1)
    print(text)
    if not results or not all(r['restored_identical'] for r in results.values()):
        sys.exit('backup-report: a run has no figures or its restore did not give the data back')


if __name__ == '__main__':
    main()
