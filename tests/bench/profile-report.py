#!/usr/bin/env python3
"""Group the guest's perf samples (tests/bench/guest-profile.sh) by where
they fell and print, per job, the CPU time per I/O of each configuration by
category, and the bound it puts on dm-aurora against the dm-crypt
configuration profiled for the same job.

Usage: profile-report.py OUT.md RUN-OUTPUT [KVER:RUN-OUTPUT...]
"""
import json
import re
import statistics
import sys

# Ordered: the first pattern that matches a sample's symbol wins.  Module
# symbols are matched by name (perf puts them in [kernel.kallsyms] when it
# has no module file).
CATEGORIES = [
    ('idle', re.compile(r'idle|safe_halt|mwait|cpuidle|do_idle')),
    ('dm-aurora', re.compile(r'^aurora_')),
    ('dm-crypt', re.compile(r'^(crypt_|kcryptd_|dmcrypt_)')),
    ('dm core', re.compile(r'^(dm_|__dm_|__map_bio|__split_and_process|clone_endio|'
                           r'alloc_io|free_io|dec_pending|__send_|__clone_and_map)')),
    ('cipher', re.compile(r'aes|xts|gf128|crypto|skcipher|cryptd|scatterwalk')),
    ('clock reads', re.compile(r'hpet|clock_gettime|ktime_get|read_tsc|clocksource')),
    ('aio + syscall', re.compile(r'^(__x64_sys|__do_sys|do_syscall|entry_SYSCALL|syscall_|'
                                 r'io_submit_one|aio_|__io_submit|lookup_ioctx|'
                                 r'io_getevents|read_events|do_io_getevents)')),
    ('copy (brd)', re.compile(r'brd_|memcpy|memmove|copy_page|copy_to|copy_from|'
                              r'rep_movs|memset|clear_page')),
    ('block layer', re.compile(r'bio|blk|submit|bvec|mempool|bdev|blkdev|iomap|dio')),
    ('scheduler', re.compile(r'schedule|sched|switch_to|wake|enqueue|dequeue|'
                             r'pick_next|update_curr|irq_work|finish_task|ttwu|'
                             r'hrtimer|tick')),
]
ORDER = ['cipher', 'copy (brd)', 'dm-aurora', 'dm-crypt', 'dm core', 'block layer',
         'aio + syscall', 'scheduler', 'clock reads', 'other kernel', 'user (fio)']
PERF = re.compile(r'^PERF (\S+) (\S+) ([0-9.]+)%\s+(\d+)\s+(\S+)\s+\[(.)\]\s+(.*)$')


def category(kind, sym):
    for name, rx in CATEGORIES:
        if rx.search(sym):
            return name
    return 'other kernel' if kind == 'k' else 'user (fio)'


def parse(path):
    """Runs by (job, config); the rounds of one are added up: samples by
    category and symbol, and the I/Os of every window."""
    runs = {}
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('PROFRUN '):
                p = json.loads(line[8:])
                r = runs.setdefault((p['job'], p['config']),
                                    {'freq': p['freq'], 'ios': 0.0, 'iops': [],
                                     'cat': {}, 'top': {}})
                r['ios'] += p['iops'] * p['window_s']
                r['iops'].append(p['iops'])
                continue
            m = PERF.match(line.rstrip('\n'))
            if not m:
                continue
            cfg, job, _, n, dso, kind, sym = m.groups()
            r = runs.get((job, cfg))
            if r is None:
                continue
            c = category(kind, sym.strip())
            r['cat'][c] = r['cat'].get(c, 0) + int(n)
            if c != 'idle':
                s = f'{sym.strip()} {dso}'
                r['top'][s] = r['top'].get(s, 0) + int(n)
    return runs


def us_per_io(r, n):
    # samples -> CPU seconds (freq samples per second per CPU) -> us per I/O
    return n / r['freq'] * 1e6 / max(r['ios'], 1)


def report(kver, runs):
    md = [f'### Kernel {kver}\n']
    for job in sorted({j for j, _ in runs}):
        cfgs = [c for (j, c) in runs if j == job]
        md.append(f'#### {job}: CPU time per I/O (us, all CPUs, idle excluded)\n')
        rounds = max(len(runs[(job, c)]['iops']) for c in cfgs)
        if rounds > 1:
            md.append(f'{rounds} rounds, configurations rotated each round; IOPS: median '
                      'of the rounds; CPU time: all samples over all I/Os of the rounds.\n')
        md.append('| config | IOPS | busy | ' + ' | '.join(ORDER) + ' |')
        md.append('|---|---|---|' + '---|' * len(ORDER))
        busy = {}
        for c in cfgs:
            r = runs[(job, c)]
            b = sum(v for k, v in r['cat'].items() if k != 'idle')
            busy[c] = us_per_io(r, b)
            iops = statistics.median(r['iops'])
            md.append(f'| {c} | {iops:.0f} | {busy[c]:.1f} | ' +
                      ' | '.join(f'{us_per_io(r, r["cat"].get(k, 0)):.1f}' for k in ORDER) + ' |')
        md.append('')
        for ss in ('4k', '512'):
            a = f'aurora-{ss}'
            d = next((c for c in (f'crypt-nowq-{ss}', f'crypt-{ss}') if c in busy), None)
            if a not in busy or not d:
                continue
            dname = 'dm-crypt nowq' if 'nowq' in d else 'dm-crypt (default)'
            # What a target can change about a QD1 I/O: its own code, dm
            # core's, and (generously) all of the block layer's.  The rest
            # (cipher, copy, syscalls, fio, clock reads) is the same work
            # whatever the target.  Shares within one run: they do not
            # depend on how fast this TCG boot happens to run.
            own = {}
            for c, mod in ((a, 'dm-aurora'), (d, 'dm-crypt')):
                r = runs[(job, c)]
                tot = sum(v for k, v in r['cat'].items() if k != 'idle') or 1
                own[c] = sum(r['cat'].get(k, 0) for k in (mod, 'dm core', 'block layer')) / tot
            md.append(f'- {ss} sectors: the target module, dm core and the whole block layer are '
                      f'{100 * own[d]:.1f}% of {dname}\'s CPU time per I/O and '
                      f'{100 * own[a]:.1f}% of dm-aurora\'s; the rest is the same work for '
                      f'both. At the same CPU use, a target whose own path cost nothing would be '
                      f'at most **{1 / (1 - own[d]):.2f}x** {dname} '
                      f'(measured here: {busy[d] / busy[a]:.2f}x in CPU time per I/O).')
        md.append('')
        for c in cfgs:
            top = sorted(((n, s) for s, n in runs[(job, c)]['top'].items()),
                         reverse=True)[:8]
            tot = sum(v for k, v in runs[(job, c)]['cat'].items() if k != 'idle') or 1
            md.append(f'- top symbols, {c}: ' +
                      ', '.join(f'{s} {100 * n / tot:.0f}%' for n, s in top))
        md.append('')
    return md


def main():
    out = sys.argv[1]
    md = ['# Where the CPU time of an I/O goes (perf in the guest)\n',
          'perf record -a on the cpu-clock event (TCG has no PMU) for the steady state of each '
          'fio run (after its start-up and a 2 s ramp); samples grouped by symbol; I/Os in the '
          'window from fio\'s IOPS over the same span. TCG figures are emulated: the shares carry, the absolute '
          'numbers do not. Nor does the CPU time per I/O of one run against another: the same cipher '
          'work (the cipher column within a sector size) differs between runs, as samples are '
          'lost while the host deschedules a vCPU, so the bounds below use shares within a run.\n']
    for arg in sys.argv[2:]:
        kver, _, path = arg.rpartition(':')
        md += report(kver or path, parse(path))
    with open(out, 'w') as f:
        f.write('\n'.join(md) + '\n')
    print('\n'.join(md))


if __name__ == '__main__':
    main()
