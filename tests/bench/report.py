#!/usr/bin/env python3
"""Turn the guest's benchmark output into a Markdown table, a JSON file with
every raw figure, and a throughput plot.

Usage: report.py OUTDIR KVER:RUN.OUT [KVER:RUN.OUT ...]
"""
import json
import os
import random
import re
import statistics
import subprocess
import sys

JOBS = ['rr4k-qd1', 'rw4k-qd1', 'rr4k-qd32', 'rw4k-qd32', 'sr1m', 'sw1m']
CONFIGS = ['raw', 'crypt-512', 'crypt-nowq-512', 'aurora-512',
           'crypt-4k', 'crypt-nowq-4k', 'aurora-4k']
TC = re.compile(r'testing speed of async (\S+) \((\S+)\) (encryption|decryption)')
TL = re.compile(r'test \d+ \((\d+) bit key, (\d+) byte blocks\): (\d+) operations in (\d+) seconds \((\d+) bytes\)')


SECTION = re.compile(r'^r(\d+)-(\S+)$')


def run_record(rep, job, config, fio_job, cpu_busy):
    """One fio run (a job section) as the report's flat record."""
    side = fio_job['write'] if job.startswith(('rw', 'sw')) else fio_job['read']
    # Total latency (submission to completion): with a target that
    # completes in the submitting task, clat alone is only the time from
    # completion to reaping.
    pct = side.get('lat_ns', {}).get('percentile', {})
    return {'rep': rep, 'job': job, 'config': config,
            'bw_bytes': side['bw_bytes'], 'iops': side['iops'],
            'p99_us': pct.get('99.000000', 0) / 1000.0, 'cpu_busy': cpu_busy}


def parse(path):
    runs, tcrypt = [], {}
    cur = None
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('BENCHSET '):
                # One fio run per job; its sections are named r<round>-<config>.
                try:
                    rec = json.loads(line[9:])
                except json.JSONDecodeError:
                    continue
                for fj in rec['fio']['jobs']:
                    m = SECTION.match(fj['jobname'])
                    if not m or fj.get('error'):
                        continue
                    runs.append(run_record(int(m.group(1)), rec['job'], m.group(2), fj,
                                           rec['cpu_busy'].get(fj['jobname'])))
            elif line.startswith('BENCH '):
                # Older runs: one record per fio process.
                try:
                    rec = json.loads(line[6:])
                except json.JSONDecodeError:
                    continue
                runs.append(run_record(rec['rep'], rec['job'], rec['config'],
                                       rec['fio']['jobs'][0], rec.get('cpu_busy')))
            elif line.startswith('TCRYPT '):
                m = TC.search(line)
                if m:
                    cur = (m.group(1), m.group(2), m.group(3))
                    continue
                m = TL.search(line)
                if m and cur and cur[0] == 'xts(aes)':
                    bits, blk, _, secs, nbytes = map(int, m.groups())
                    tcrypt[f'{cur[2]}-{bits}-{blk}'] = {'driver': cur[1],
                                                        'bytes_per_s': nbytes / secs}
    return runs, tcrypt


def median_ci(values, n=2000, seed=0):
    """95% bootstrap interval of the median of @values (percentile method,
    a fixed seed so that a report is reproducible)."""
    rng = random.Random(seed)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(n))
    return meds[int(0.025 * n)], meds[int(0.975 * n) - 1]


def parse_counters(path):
    """dm-aurora's counters over each job, by (job, config): the difference
    of its 'dmsetup status' after and before the job's fio run."""
    seen, out = {}, {}
    with open(path, errors='replace') as f:
        for line in f:
            p = line.split()
            if len(p) < 4 or p[0] != 'DMSTATUS' or p[2] not in ('before', 'after'):
                continue
            c = {k: int(v) for k, _, v in (w.partition(':') for w in p[4:])
                 if k in ('reads', 'writes') and v.isdigit()}
            seen.setdefault((p[1], p[3]), {})[p[2]] = c
    for key, v in seen.items():
        if 'before' in v and 'after' in v:
            out[key] = {k: v['after'][k] - v['before'].get(k, 0) for k in v['after']}
    return out


def med(runs, job, cfg, key):
    v = [r[key] for r in runs if r['job'] == job and r['config'] == cfg]
    return statistics.median(v) if v else None


def paired(runs, job, a_cfg, b_cfg, key):
    """Ratios a/b of the runs of one round, one per round that has both."""
    by = {}
    for r in runs:
        if r['job'] == job and r['config'] in (a_cfg, b_cfg) and r[key]:
            by.setdefault(r['rep'], {})[r['config']] = r[key]
    return [v[a_cfg] / v[b_cfg] for _, v in sorted(by.items()) if len(v) == 2]


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    everything, md = {}, []
    for arg in sys.argv[2:]:
        kver, path = arg.split(':', 1)
        runs, tcrypt = parse(path)
        everything[kver] = {'runs': runs, 'tcrypt_xts_aes': tcrypt}
        jobs = [j for j in JOBS if any(r['job'] == j for r in runs)]
        md.append(f'### Kernel {kver}\n')
        md.append('| job | raw | dm-crypt 512 | dm-crypt nowq 512 | dm-aurora 512 | aurora/crypt-best 512 '
                  '| dm-crypt 4k | dm-crypt nowq 4k | dm-aurora 4k | aurora/crypt-best 4k | aurora 4k / cipher |')
        md.append('|' + '---|' * 11)
        for job in jobs:
            unit = 'MiB/s' if job.startswith('s') else 'IOPS'
            key = 'bw_bytes' if unit == 'MiB/s' else 'iops'
            div = 1048576 if unit == 'MiB/s' else 1
            cells = [job + f' ({unit})']
            for ss in ('512', '4k'):
                vals = {c: med(runs, job, c, key) for c in (f'crypt-{ss}', f'crypt-nowq-{ss}', f'aurora-{ss}')}
                if ss == '512':
                    raw = med(runs, job, 'raw', key)
                    cells.append(f'{raw / div:.0f}' if raw else '-')
                for c in (f'crypt-{ss}', f'crypt-nowq-{ss}', f'aurora-{ss}'):
                    cells.append(f'{vals[c] / div:.0f}' if vals[c] else '-')
                best = max([v for c, v in vals.items() if c.startswith('crypt') and v] or [0])
                a = vals[f'aurora-{ss}']
                cells.append(f'**{a / best:.2f}x**' if a and best else '-')
            lim = None
            if job in ('sr1m', 'sw1m'):
                t = tcrypt.get(('decryption' if job == 'sr1m' else 'encryption') + '-512-4096')
                a = med(runs, job, 'aurora-4k', 'bw_bytes')
                if t and a:
                    lim = a / t['bytes_per_s']
            cells.append(f'{lim:.2f}x' if lim else '-')
            md.append('| ' + ' | '.join(cells) + ' |')
        md.append('')
        # Ratios within each round: the guest's speed drifts from round to
        # round (it moves every configuration alike), which a ratio of
        # medians over all rounds does not cancel.
        md.append('Per-round ratios, dm-aurora / the best dm-crypt configuration of the table above, in the '
                  'same round: median (lowest-highest; 95% bootstrap interval of the median) over the '
                  'rounds; p99 at QD1: lower is better.\n')
        md.append('| job | 512 | 4k |')
        md.append('|---|---|---|')
        per_round = {}
        qd1 = [j for j in ('rr4k-qd1', 'rw4k-qd1') if j in jobs]
        rows = [(job, job, 'bw_bytes' if job.startswith('s') else 'iops', max) for job in jobs]
        rows += [(job, job + ' p99', 'p99_us', min) for job in qd1]
        for job, label, key, pick in rows:
            cells = [label]
            for ss in ('512', '4k'):
                # The best dm-crypt: highest throughput, or lowest p99.
                cands = [c for c in (f'crypt-{ss}', f'crypt-nowq-{ss}') if med(runs, job, c, key)]
                best = pick(cands, key=lambda c: med(runs, job, c, key)) if cands else None
                r = paired(runs, job, f'aurora-{ss}', best, key) if best else []
                ci = median_ci(r) if r else None
                per_round[label.replace(' ', '-') + '/' + ss] = {'against': best, 'ratios': r,
                                                                 'median_ci95': ci}
                cells.append(f'**{statistics.median(r):.2f}x** ({min(r):.2f}-{max(r):.2f}; '
                             f'{ci[0]:.2f}-{ci[1]:.2f}) vs {best}' if r else '-')
            md.append('| ' + ' | '.join(cells) + ' |')
        md.append('')
        everything[kver]['per_round_ratios'] = per_round
        heads = '| job | dm-crypt 512 | dm-crypt nowq 512 | dm-aurora 512 | dm-crypt 4k | dm-crypt nowq 4k | dm-aurora 4k |'
        if qd1:
            md.append('p99 total latency (submission to completion) at 4 KiB QD1 (us, median of runs):\n')
            md.append(heads)
            md.append('|---|---|---|---|---|---|---|')
            for job in qd1:
                p99 = [med(runs, job, c, 'p99_us') for c in CONFIGS[1:]]
                cells = [job] + ['-' if v is None else f'{v:.0f}' for v in p99]
                md.append('| ' + ' | '.join(cells) + ' |')
            md.append('')
        # How much of the two vCPUs each configuration kept busy: where a
        # job saturates them, throughput is CPU time per byte, not waiting.
        busy = [r for r in runs if r['cpu_busy'] is not None]
        if busy:
            md.append('CPU busy: the share of all vCPUs\' time that was not idle during each run '
                      '(/proc/stat read right before and after it, ramp included; median of runs; '
                      '100% = every vCPU busy):\n')
            md.append(heads)
            md.append('|---|---|---|---|---|---|---|')
            for job in jobs:
                cells = [job]
                for c in CONFIGS[1:]:
                    v = med(busy, job, c, 'cpu_busy')
                    cells.append(f'{100 * v:.0f}%' if v is not None else '-')
                md.append('| ' + ' | '.join(cells) + ' |')
            md.append('')
        # What dm-aurora did with the bios of each job.
        counters = parse_counters(path)
        everything[kver]['aurora_counters'] = {f'{j}/{c}': v for (j, c), v in counters.items()}
        if counters:
            md.append('dm-aurora\'s counters over each job\'s fio run (all rounds, ramps included; '
                      'from `dmsetup status`): bios completed:\n')
            md.append('| job | bios 512 | bios 4k |')
            md.append('|---|---|---|')
            for job in jobs:
                cells = [job]
                for ss in ('512', '4k'):
                    v = counters.get((job, f'aurora-{ss}'))
                    n = v and v.get('reads', 0) + v.get('writes', 0)
                    cells.append(str(n) if n else '-')
                md.append('| ' + ' | '.join(cells) + ' |')
            md.append('')
        for k in sorted(tcrypt):
            if k.endswith('-512-4096') or k.endswith('-512-1024'):
                md.append(f'- tcrypt xts(aes) {k}: {tcrypt[k]["bytes_per_s"] / 1048576:.0f} MiB/s ({tcrypt[k]["driver"]})')
        md.append('')
    ac = os.path.join(outdir, 'agent-cost.json')
    if os.path.exists(ac):
        with open(ac) as f:
            a = json.load(f)
        md.append('### Agent costs (host, embedded KMS)\n')
        md.append('| what | median | p99 |')
        md.append('|---|---|---|')
        md.append(f'| read header + unwrap DEK + build table (`aurora open` before the kernel) '
                  f'| {a["unwrap_and_table"]["median_us"]:.0f} us | {a["unwrap_and_table"]["p99_us"]:.0f} us |')
        md.append(f'| one CMK check (DescribeKey + trial Decrypt, per volume and pass) '
                  f'| {a["cmk_check"]["median_us"]:.0f} us | {a["cmk_check"]["p99_us"]:.0f} us |')
        md.append('')
        md.append(f'- a watch pass over {a["volumes"]} volumes: {a["watch_pass_ms"]:.0f} ms; resident memory '
                  f'{a["rss_kib_after_pass"] / 1024:.1f} MiB after it (peak {a["rss_kib_peak"] / 1024:.1f} MiB), '
                  f'the daemon\'s code and state with {a["volumes"]} volumes simulated as header images '
                  '(device-mapper is not available on the host).')
        md.append('')
    with open(os.path.join(outdir, 'results.json'), 'w') as f:
        json.dump({'kernels': everything,
                   'agent_cost': a if os.path.exists(ac) else None}, f, indent=1)
    with open(os.path.join(outdir, 'results.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')
    # Plot: median throughput (MiB/s) by job and configuration.
    dat = os.path.join(outdir, 'throughput.dat')
    with open(dat, 'w') as f:
        for kver, d in everything.items():
            f.write(f'# {kver}\njob ' + ' '.join(CONFIGS) + '\n')
            for job in [j for j in JOBS if any(r['job'] == j for r in d['runs'])]:
                vals = [med(d['runs'], job, c, 'bw_bytes') or 0 for c in CONFIGS]
                f.write(job + ' ' + ' '.join(f'{v / 1048576:.1f}' for v in vals) + '\n')
            f.write('\n\n')
    gp = f"""set terminal pngcairo size 1200,{450 * len(everything)}
set output '{os.path.join(outdir, 'throughput.png')}'
set style data histograms
set style histogram clustered gap 1
set style fill solid border -1
set ylabel 'MiB/s (median)'
set key outside right
set logscale y
set multiplot layout {len(everything)},1
"""
    for i, kver in enumerate(everything):
        gp += f"set title 'kernel {kver} (QEMU TCG: ratios carry, absolute numbers do not)'\n"
        gp += f"plot for [c=2:{len(CONFIGS) + 1}] '{dat}' index {i} using c:xtic(1) title columnhead\n"
    gp += 'unset multiplot\n'
    try:
        subprocess.run(['gnuplot'], input=gp.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'report: no plot ({e})', file=sys.stderr)
    print('\n'.join(md))


if __name__ == '__main__':
    main()
