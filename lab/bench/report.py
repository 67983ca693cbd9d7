#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the numbers of "make bench" into BENCHMARKS.md, plots and a summary.

usage: report.py [--quick] [--check] DIR

Reads DIR/benchmarks/: rounds.csv (lab/bench.sh), run.txt, errors.txt, again.txt,
bloat.csv, sizes.csv and configs.txt (lab/bench/footprint.sh).  Writes
DIR/BENCHMARKS.md and DIR/benchmarks/*.png (gnuplot, lab/bench/*.gp),
and prints a short summary.

  --quick   the run was "make bench QUICK=1": say so in the report
  --check   only check that every number the plan asks for is there and
            numeric; print what is missing; exit 1 if anything is
"""
import csv
import math
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

SCHED_BENCHES = [('pipe', 'time_s'), ('messaging', 'time_s'),
                 ('hackbench', 'time_s')]
LAT_METRICS = ['p50_us', 'p99_us', 'max_us']
WORKLOADS = ['cpu', 'exit-kernel', 'exit-user']

# The scheduler cases: label, boot, case, reference (boot, case).
SCHED_ROWS = [
    ('vanilla', 'vanilla', 'plain', None),
    ('patched, coresched=off', 'off', 'plain', ('vanilla', 'plain')),
    ('patched, coresched=on, no cookie', 'on', 'plain', ('vanilla', 'plain')),
    ('patched, coresched=vm, no cookie', 'vm', 'plain', ('vanilla', 'plain')),
    ('vanilla, 2 tenants, a cgroup each (untagged)', 'vanilla', 'tenants', None),
    ('patched on, 2 tenants, a cgroup each (untagged)', 'on', 'tenants',
     ('vanilla', 'tenants')),
    ('vanilla, 2 tenants, a prctl cookie each (upstream)', 'vanilla', 'prctl',
     None),
    ('patched on, 2 tenants, a prctl cookie each', 'on', 'prctl',
     ('vanilla', 'prctl')),
    ('patched on, 2 tenants, a cgroup domain each', 'on', 'cgroup',
     ('vanilla', 'prctl')),
]

# The VM modes on SMT2: label, boot, kvm_workload case.
VM_ROWS = [
    ('unprotected SMT (vanilla)', 'vanilla', 'smt'),
    ('vanilla, per-VM cookies by the VMM (-k): upstream', 'vanilla', 'smt-k'),
    ('patched, coresched=on, no cookie', 'on', 'on'),
    ('patched, coresched=on, per-VM cookies by the VMM (-k)', 'on', 'on-k'),
    ('patched, coresched=vm', 'vm', 'vm'),
    ('patched, coresched=vm,strict', 'strict', 'vm'),
    ('nosmt (vanilla, one thread per core)', 'nosmt', 'nosmt'),
]

# The IPI ping-pong (lab/src/ipi_pingpong.c): label, boot, case.
IPI_ROWS = [
    ('vanilla, halt polling', 'vanilla', 'poll'),
    ('patched, coresched=on, halt polling', 'on', 'poll'),
    ('patched, coresched=on, no halt polling', 'on', 'nopoll'),
    ('patched, coresched=vm, halt polling', 'vm', 'poll'),
    ('patched, coresched=vm, no halt polling', 'vm', 'nopoll'),
    ('patched, coresched=vm,strict, halt polling', 'strict', 'poll'),
    ('patched, coresched=vm,strict, no halt polling', 'strict', 'nopoll'),
]
IPI_METRICS = ['median_us', 'p10_us', 'p90_us']

# The real guests (lab/guest/realvm.sh -b): label, boot, case.
REALVM_ROWS = [
    ('unprotected SMT (vanilla)', 'vanilla', 'smt'),
    ('vanilla, QEMU in a cookie of its own (libvirt sched_core=): upstream',
     'vanilla', 'smt-c'),
    ('patched, coresched=vm', 'vm', 'vm'),
    ('patched, coresched=vm,strict', 'strict', 'vm'),
    ('nosmt (vanilla, both vCPUs on CPU 0)', 'nosmt', 'nosmt'),
]
# Their loads: label, phase, metric, unit, higher is better.
REALVM_LOADS = [
    ('CPU-bound', 'spin', 'kloops_per_s', 'k loops/s', True),
    ('I/O (virtio-blk)', 'disk', 'mb_per_s', 'MB/s', True),
    ('boot', 'boot', 'boot_s', 's', False),
    ('pipe ping-pong', 'pingpong', 'msgs_per_s', 'msgs/s', True),
]
# KVM's exit counters (/sys/kernel/debug/kvm), by reason.
EXIT_REASONS = [('halt', 'kvm_halt_exits'), ('I/O', 'kvm_io_exits'),
                ('MMIO', 'kvm_mmio_exits'), ('intr', 'kvm_irq_exits'),
                ('intr window', 'kvm_irq_window_exits')]

# The topologies of the scale section: label, threads per core, boots
# (unprotected, coresched=vm).
SCALE_ROWS = [
    ('SMT2, 1 core (1,1,2)', 2, 'vanilla', 'vm'),
    ('SMT2, 2 cores (1,2,2)', 2, '2x2-van', '2x2-vm'),
    ('SMT4, 1 core (1,1,4)', 4, 'smt4-van', 'smt4-vm'),
]


def num(s):
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class Data:
    def __init__(self, dirname):
        self.dir = os.path.join(dirname, 'benchmarks')
        self.vals = {}          # (boot, section, case, bench, metric) -> {round: v}
        self.raw = {}           # same key -> {round: string}, for --check
        self.loads = []
        self.topo = {}          # boot -> topology
        self.rounds = set()
        with open(os.path.join(self.dir, 'rounds.csv')) as f:
            for row in csv.DictReader(f):
                key = (row['boot'], row['section'], row['case'], row['bench'],
                       row['metric'])
                r = int(row['round'])
                self.rounds.add(r)
                self.raw.setdefault(key, {})[r] = row['value']
                v = num(row['value'])
                if v is not None:
                    self.vals.setdefault(key, {})[r] = v
                load = num(row['host_load'])
                if load is not None:
                    self.loads.append(load)
                self.topo[row['boot']] = row['topo']
        self.info = {}
        self.boots = []         # the plan's lines, as run
        self.guests = {}        # boot -> the guest's info line
        self.cmds = {}
        for line in self.lines('run.txt'):
            key, _, rest = line.partition(' ')
            if key == 'boot':
                self.boots.append(rest.split())
            elif key == 'guest':
                b, _, what = rest.partition(' ')
                self.guests[b] = dict(kv.split('=', 1) for kv in what.split()
                                      if '=' in kv)
            elif key == 'cmd':
                name, _, what = rest.partition(' ')
                self.cmds[name] = what
            else:
                self.info[key] = rest
        for b in self.boots:
            self.topo.setdefault(b[0], b[2])
        self.errors = self.lines('errors.txt')
        self.again = self.lines('again.txt')
        self.bloat = self.table('bloat.csv')
        self.sizes = self.table('sizes.csv')
        self.configs = self.lines('configs.txt')

    def lines(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return [line.rstrip('\n') for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def table(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return list(csv.DictReader(f))
        except FileNotFoundError:
            return []

    def get(self, boot, section, case, bench, metric):
        return self.vals.get((boot, section, case, bench, metric), {})

    def ncpu(self, boot):
        t = self.topo.get(boot, '1,1,2').split(',')
        return int(t[0]) * int(t[1]) * int(t[2])


class Stat:
    """Median and spread of per-round values."""

    def __init__(self, byround):
        self.byround = byround
        v = sorted(byround.values())
        self.n = len(v)
        if v:
            self.med = statistics.median(v)
            self.lo, self.hi = v[0], v[-1]
        else:
            self.med = self.lo = self.hi = None

    def __bool__(self):
        return self.n > 0


def ratio(case, ref):
    """Per-round ratios of two series, over the rounds both have."""
    return Stat({r: case[r] / ref[r] for r in case
                 if r in ref and ref[r]})


def derived(d, boot, case, bench, fn):
    """A per-round quantity computed from the metrics of one kvm run."""
    keys = ['seconds', 'work_per_sec', 'work', 'min_vcpu_work',
            'stats_slow_exits',
            'stats_fastpath_exits', 'stats_kicks_sent', 'stats_kicks_received',
            'stats_wait_kick_ns', 'stats_wait_enter_ns']
    series = {k: d.get(boot, 'vm', case, bench, k) for k in keys}
    out = {}
    for r in series['work_per_sec']:
        m = {k: series[k].get(r) for k in keys}
        try:
            v = fn(m, d.ncpu(boot))
        except (TypeError, ZeroDivisionError):
            v = None
        if v is not None:
            out[r] = v
    return Stat(out)


def min_share(m, ncpu):
    """The least lucky vCPU's work against an equal share (1 vCPU per CPU)."""
    return m['min_vcpu_work'] * ncpu / m['work']


def kicks_per_exit(m, _):
    """Kicks per slow exit that was not itself the answer to a kick."""
    return m['stats_kicks_sent'] / (m['stats_slow_exits'] -
                                     m['stats_kicks_received'])


def fastpath_share(m, _):
    return 100.0 * m['stats_fastpath_exits'] / (
        m['stats_fastpath_exits'] + m['stats_slow_exits'])


def slow_per_sec(m, _):
    return m['stats_slow_exits'] / m['seconds']


def wait_kick_pct(m, ncpu):
    return 100.0 * m['stats_wait_kick_ns'] / (m['seconds'] * 1e9 * ncpu)


def wait_enter_pct(m, ncpu):
    return 100.0 * m['stats_wait_enter_ns'] / (m['seconds'] * 1e9 * ncpu)


def wait_per_kick_us(m, _):
    return m['stats_wait_kick_ns'] / 1e3 / m['stats_kicks_sent']


def per_round(series, first, fn):
    """@fn of each round's metrics (@series: metric -> {round: value}), for
    the rounds of metric @first; rounds it cannot compute are left out."""
    out = {}
    for r in series[first]:
        m = {k: v.get(r) for k, v in series.items()}
        try:
            v = fn(m)
        except (TypeError, ZeroDivisionError):
            v = None
        if v is not None:
            out[r] = v
    return Stat(out)


def ipi_derived(d, boot, case, fn):
    """A per-round quantity computed from the metrics of one ping-pong run."""
    keys = ['rounds', 'warmup', 'median_us', 'halt_successful_poll',
            'halt_attempted_poll', 'halt_wakeup', 'coresched_wait_ns']
    return per_round({k: d.get(boot, 'ipi', case, 'pingpong', k) for k in keys},
                     'median_us', fn)


def ipi_core_wait_us(m):
    """Time the two vCPUs waited for their core, per round trip."""
    return m['coresched_wait_ns'] / 1e3 / (m['rounds'] + m['warmup'])


def ipi_polls(m):
    """Share of halts that polling ended, in percent."""
    return 100.0 * m['halt_successful_poll'] / (m['halt_successful_poll'] +
                                                m['halt_wakeup'])


RV_KEYS = ['host_s', 'kvm_exits', 'kvm_coresched_wait_ns', 'cs_slow_exits',
           'cs_kicks_sent', 'cs_kicks_received', 'cs_wait_kick_ns',
           'cs_wait_enter_ns', 'cs_irq_takes', 'kvm_halt_successful_poll',
           'kvm_halt_wakeup'] + [k for _, k in EXIT_REASONS]


def rv_derived(d, boot, case, phase, fn):
    """A per-round quantity from the host's counters of one real-guest phase."""
    return per_round({k: d.get(boot, 'realvm', case, phase, k) for k in RV_KEYS},
                     'host_s', fn)


def rv_speed(d, boot, case, load, ref):
    """Per-round speed of a real-guest load against a reference (boot,
    case): throughput over throughput, or time over time inverted; above 1
    is faster."""
    _, phase, metric, _, higher = load
    cur = d.get(boot, 'realvm', case, phase, metric)
    base = d.get(ref[0], 'realvm', ref[1], phase, metric)
    return ratio(cur, base) if higher else ratio(base, cur)


def rv_exits_per_s(m):
    return m['kvm_exits'] / m['host_s']


def rv_slow_per_s(m):
    return m['cs_slow_exits'] / m['host_s']


def rv_kicks_per_exit(m):
    return m['cs_kicks_sent'] / (m['cs_slow_exits'] - m['cs_kicks_received'])


def rv_vcpu_wait_pct(m):
    """The share of each vCPU's time spent waiting for its core (2 vCPUs)."""
    return 100.0 * m['kvm_coresched_wait_ns'] / (2 * m['host_s'] * 1e9)


def rv_irq_takes_per_s(m):
    return m['cs_irq_takes'] / m['host_s']


def rv_reasons(d, boot, case, phase):
    """KVM's exits of a phase by reason, as shares of all its exits."""
    parts = []
    for name, key in EXIT_REASONS:
        st = rv_derived(d, boot, case, phase,
                        lambda m, k=key: 100.0 * m[k] / m['kvm_exits'])
        if st and st.med >= 0.5:
            parts.append((st.med, name))
    other = rv_derived(d, boot, case, phase, lambda m: 100.0 * (
        m['kvm_exits'] - sum(m[k] for _, k in EXIT_REASONS)) / m['kvm_exits'])
    if other and other.med >= 0.5:
        parts.append((other.med, 'other'))
    return ', '.join('%s %.0f%%' % (n, v) for v, n in sorted(parts, reverse=True))


def rv_why(d, boot, case, phase):
    """Where a real-guest phase's time went, from the host's counters."""
    parts = []
    w = rv_derived(d, boot, case, phase, rv_vcpu_wait_pct)
    if w:
        parts.append('each vCPU waited %.0f%% of the phase for its core' % w.med)
    k = rv_derived(d, boot, case, phase, rv_kicks_per_exit)
    sl = rv_derived(d, boot, case, phase, rv_slow_per_s)
    if sl:
        parts.append('%s slow exits/s, %s kicks per slow exit' % (
            g(sl.med), rfmt(k.med) if k else '–'))
    e = rv_derived(d, boot, case, phase, rv_exits_per_s)
    if e:
        parts.append('%s exits/s (%s)' % (g(e.med), rv_reasons(d, boot, case, phase)))
    return '; '.join(parts) or 'no counters'


def has_stats(d, boot, case, bench):
    s = Stat(d.get(boot, 'vm', case, bench, 'stats_slow_exits'))
    return bool(s) and s.hi > 0


# --- formatting --------------------------------------------------------------

def g(v, unit=''):
    if v is None:
        return '–'
    a = abs(v)
    if a >= 1e9:
        s = '%.3g G' % (v / 1e9)
    elif a >= 1e6:
        s = '%.3g M' % (v / 1e6)
    elif a >= 1e4:
        s = '%.3g k' % (v / 1e3)
    elif a >= 100:
        s = '%.0f' % v
    elif a >= 10:
        s = '%.1f' % v
    else:
        s = '%.3g' % v
    s = s.replace(' ', '\u202f') if s.endswith((' k', ' M', ' G')) else s
    return s + unit


def us(v, unit=''):
    """Microseconds, as ms from 1000 on."""
    if v is None:
        return '–'
    if abs(v) >= 1000:
        return '%.3g%s' % (v / 1000, ' ms' if unit else '')
    return '%.0f%s' % (v, ' µs' if unit else '')


def spread(st, unit='', fmt=g):
    if not st:
        return '–'
    if st.n == 1:
        return fmt(st.med, unit)
    if fmt is us:
        return '%s (%s–%s)' % (fmt(st.med, unit), fmt(st.lo, unit),
                               fmt(st.hi, unit))
    return '%s (%s–%s)' % (fmt(st.med, unit), fmt(st.lo), fmt(st.hi))


def rfmt(v, unit=''):
    return '–' if v is None else '%.2f%s' % (v, unit)


def rspread(st):
    return spread(st, fmt=rfmt)


def md_table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |',
           '| ' + ' | '.join(['---'] + ['---:'] * (len(head) - 1)) + ' |']
    out += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(out)


# --- the targets -------------------------------------------------------------

class Targets:
    def __init__(self):
        self.items = []         # (verdict, what, measured)

    def add(self, ok, what, measured):
        if ok is None:
            verdict = 'NO DATA'
        elif isinstance(ok, str):
            verdict = 'reported'
        else:
            verdict = 'met' if ok else 'NOT MET'
        self.items.append((verdict, what, measured))


def rounds_within(st, limit, above=False):
    v = st.byround.values()
    k = sum(1 for x in v if (x >= limit if above else x <= limit))
    return '%d/%d rounds' % (k, len(v))


def sched_targets(d, t):
    for boot, label in (('off', 'coresched=off'), ('on', 'coresched=on, no cookie')):
        for bench in ('pipe', 'messaging'):
            st = ratio(d.get(boot, 'sched', 'plain', bench, 'time_s'),
                       d.get('vanilla', 'sched', 'plain', bench, 'time_s'))
            t.add(st.med <= 1.02 if st else None,
                  'built in, unused (%s): %s within 2%% of vanilla' % (label, bench),
                  'time x%s, %s' % (rspread(st), rounds_within(st, 1.02)) if st else '–')
        st = ratio(d.get(boot, 'sched', 'plain', 'cyclictest', 'p99_us'),
                   d.get('vanilla', 'sched', 'plain', 'cyclictest', 'p99_us'))
        t.add(st.med <= 1.02 if st else None,
              'built in, unused (%s): cyclictest p99 no worse than vanilla' % label,
              'p99 x%s, %s' % (rspread(st), rounds_within(st, 1.02)) if st else '–')
    for case, label in (('prctl', 'prctl cookies'), ('cgroup', 'cgroup domains')):
        worst, parts, have = 0.0, [], True
        for bench, metric in SCHED_BENCHES + [('cyclictest', 'p99_us')]:
            st = ratio(d.get('on', 'sched', case, bench, metric),
                       d.get('vanilla', 'sched', 'prctl', bench, metric))
            if not st:
                have = False
                continue
            worst = max(worst, st.med)
            parts.append('%s x%.2f' % (bench if metric == 'time_s' else 'p99', st.med))
        t.add(worst <= 1.02 if have else None,
              'tagged (%s) no worse than upstream prctl-only core scheduling' % label,
              ', '.join(parts) or '–')


def vm_targets(d, t):
    st = ratio(d.get('vm', 'vm', 'vm', 'cpu/1vm', 'work_per_sec'),
               d.get('vanilla', 'vm', 'smt', 'cpu/1vm', 'work_per_sec'))
    t.add(st.med >= 0.95 if st else None,
          'coresched=vm, CPU-bound vCPU pair within 5% of unprotected SMT',
          'work x%s, %s' % (rspread(st), rounds_within(st, 0.95, above=True)) if st else '–')
    parts, worst, have = [], 0.0, True
    for w in WORKLOADS:
        for shape in ('1vm', '2vm'):
            b = '%s/%s' % (w, shape)
            st = ratio(d.get('on', 'vm', 'on-k', b, 'work_per_sec'),
                       d.get('vanilla', 'vm', 'smt-k', b, 'work_per_sec'))
            if not st:
                have = False
                continue
            worst = max(worst, 1 / st.med if st.med else float('inf'))
            parts.append('%s x%.2f' % (b, st.med))
    t.add(worst <= 1.02 if have else None,
          'coresched=on, per-VM cookies by the VMM: no worse than vanilla '
          'with the same cookies (upstream)', ', '.join(parts) or '–')
    for w in ('exit-kernel', 'exit-user'):
        b = w + '/1vm'
        vm = d.get('vm', 'vm', 'vm', b, 'work_per_sec')
        a = ratio(vm, d.get('vanilla', 'vm', 'smt', b, 'work_per_sec'))
        n = ratio(vm, d.get('nosmt', 'vm', 'nosmt', b, 'work_per_sec'))
        k = derived(d, 'vm', 'vm', b, kicks_per_exit)
        t.add('info' if a else None,
              'coresched=vm, %s pair: ratio to unprotected and to nosmt' % w,
              'x%s of unprotected, x%s of nosmt, %s kicks per exit' % (
                  rfmt(a.med), rfmt(n.med), rfmt(k.med)))
    # At most one kick per sibling per slow exit.
    for label, threads, _, boot in SCALE_ROWS:
        case = 'vm'
        worst, have = 0.0, False
        for w in WORKLOADS:
            k = derived(d, boot, case, w + '/1vm', kicks_per_exit)
            if k:
                have = True
                worst = max(worst, k.hi)
        t.add('info' if have else None,
              'coresched=vm on %s: kicks per exit against the floor of one '
              'per sibling in guest mode (%d)' % (label, threads - 1),
              'highest round: %.2f (kicks on leaving idle and on abandoned '
              'entries count too)' % worst if have else '–')
    for case, what in (('poll', 'with halt polling'), ('nopoll', 'without')):
        st = ratio(d.get('vm', 'ipi', case, 'pingpong', 'median_us'),
                   d.get('on', 'ipi', case, 'pingpong', 'median_us'))
        t.add('info' if st else None,
              'coresched=vm, IPI ping-pong %s: round trip against coresched=on' % what,
              'median round trip x%s of coresched=on' % rspread(st) if st else '–')
    fp = [derived(d, b, 'vm', w + '/1vm', lambda m, _: m['stats_fastpath_exits'])
          for _, _, _, b in SCALE_ROWS for w in WORKLOADS]
    total = sum(sum(s.byround.values()) for s in fp if s)
    t.add(None if total == 0 else 'info',
          'fastpath exits cost no kick',
          "not measurable: no VM-exit takes KVM's fastpath under the emulator (QEMU's "
          "TCG has no NRIPS, which KVM's SVM needs for it)" if total == 0
          else '%d fastpath exits seen; kicks per slow exit above' % total)


def realvm_targets(d, t):
    """Issue 10's targets for the real guests, and the strict mode's cost."""
    for load in REALVM_LOADS:
        label, phase = load[0], load[1]
        n = rv_speed(d, 'vm', 'vm', load, ('nosmt', 'nosmt'))
        a = rv_speed(d, 'vm', 'vm', load, ('vanilla', 'smt'))
        if not n:
            t.add(None, 'real guest, %s: coresched=vm faster than nosmt in '
                  'the median and in most rounds' % label, '–')
            continue
        k = sum(1 for x in n.byround.values() if x > 1)
        ok = n.med > 1 and 2 * k > n.n
        m = 'x%s of nosmt (speed), faster in %d/%d rounds; x%s of unprotected' % (
            rspread(n), k, n.n, rfmt(a.med) if a else '–')
        if not ok:
            m += '. Why: %s' % rv_why(d, 'vm', 'vm', phase)
        t.add(ok, 'real guest, %s: coresched=vm faster than nosmt in the '
              'median and in most rounds' % label, m)
    load = REALVM_LOADS[0]
    a = rv_speed(d, 'vm', 'vm', load, ('vanilla', 'smt'))
    m = ('x%s of unprotected, %s' % (rspread(a), rounds_within(a, 0.95, above=True))
         if a else '–')
    if a and a.med < 0.95:
        m += '. Why: %s' % rv_why(d, 'vm', 'vm', load[1])
    t.add(a.med >= 0.95 if a else None,
          'real guest, CPU-bound: coresched=vm within 5% of unprotected SMT', m)
    # The strict mode's extra cost over coresched=vm, case by case.
    parts, have = [], False
    for load in REALVM_LOADS:
        st = rv_speed(d, 'strict', 'vm', load, ('vm', 'vm'))
        have |= bool(st)
        parts.append('%s x%s' % (load[1], rspread(st)))
    t.add('info' if have else None,
          'coresched=vm,strict against coresched=vm, real guests (speed)',
          ', '.join(parts))
    parts, have = [], False
    for w in WORKLOADS:
        b = w + '/1vm'
        st = ratio(d.get('strict', 'vm', 'vm', b, 'work_per_sec'),
                   d.get('vm', 'vm', 'vm', b, 'work_per_sec'))
        have |= bool(st)
        parts.append('%s x%s' % (w, rspread(st)))
    for c in ('poll', 'nopoll'):
        st = ratio(d.get('vm', 'ipi', c, 'pingpong', 'median_us'),
                   d.get('strict', 'ipi', c, 'pingpong', 'median_us'))
        have |= bool(st)
        parts.append('IPI ping-pong %s x%s' % (c, rspread(st)))
    t.add('info' if have else None,
          'coresched=vm,strict against coresched=vm, kvm_workload pair and '
          'IPI ping-pong (speed)', ', '.join(parts))


def ipi_poll_target(d, t):
    """Issue 9: a halt-polling vCPU does not hold its core under vm."""
    poll = d.get('vm', 'ipi', 'poll', 'pingpong', 'median_us')
    st = ratio(poll, d.get('vm', 'ipi', 'nopoll', 'pingpong', 'median_us'))
    on = ratio(poll, d.get('on', 'ipi', 'poll', 'pingpong', 'median_us'))
    polls = ipi_derived(d, 'vm', 'poll', ipi_polls)
    polls_on = ipi_derived(d, 'on', 'poll', ipi_polls)
    # Whether polls succeed at all depends on the round trip against
    # halt_poll_ns, which emulation stretches: the verdict is the round
    # trip's; the success shares say whether polling had a chance.
    ok = st.med <= 1.02 if st else None
    m = ('round trip with polling x%s of none, x%s of coresched=on with '
         'polling; halts ended by polling: %s (coresched=on: %s)' % (
             rspread(st), rspread(on), g(polls.med, '%') if polls else '–',
             g(polls_on.med, '%') if polls_on else '–'))
    t.add(ok, 'coresched=vm: halt polling does not hold the core (a polling '
          'vCPU\'s sibling still enters the guest and sends the IPI that ends '
          'the poll): the round trip with polling no slower than with '
          'kvm.halt_poll_ns=0', m)


# --- plots ---------------------------------------------------------------------

def gnuplot(script, out, datadir):
    try:
        subprocess.run(['gnuplot', '-e', "dir='%s'; out='%s'" % (datadir, out),
                        os.path.join(HERE, script)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, 'stderr', b'') or b''
        sys.stderr.write('report.py: gnuplot %s failed: %s\n' % (
            script, ' '.join(err.decode(errors='replace').split())[-300:]))
        return False
    return True


def plot_sched(d, tmp):
    rows = [r for r in SCHED_ROWS if r[3]]
    benches = SCHED_BENCHES + [('cyclictest', 'p99_us')]
    with open(os.path.join(tmp, 'sched.dat'), 'w') as f:
        for bi, (bench, metric) in enumerate(benches):
            f.write('# %s\n' % (bench if metric == 'time_s' else 'cyclictest p99'))
            for ri, (label, boot, case, ref) in enumerate(rows):
                st = ratio(d.get(boot, 'sched', case, bench, metric),
                           d.get(ref[0], 'sched', ref[1], bench, metric))
                if st:
                    f.write('%g %g %g %g\n' % (ri + 1 + (bi - 1.5) * 0.17,
                                               st.med, st.lo, st.hi))
            f.write('\n\n')
    names = {'plain': 'no cookie', 'tenants': '2 cgroups',
             'prctl': '2 prctl', 'cgroup': '2 domains'}
    with open(os.path.join(tmp, 'sched-xtics.gp'), 'w') as f:
        f.write('set xtics (%s)\n' % ', '.join(
            '"%s\\n%s" %d' % (boot, names[case], ri + 1)
            for ri, (label, boot, case, ref) in enumerate(rows)))
        f.write('set xrange [0.4:%g]\n' % (len(rows) + 0.6))


def plot_vm(d, tmp):
    with open(os.path.join(tmp, 'vm.dat'), 'w') as f:
        for shape in ('1vm', '2vm'):
            for w in WORKLOADS:
                b = '%s/%s' % (w, shape)
                f.write('# %s\n' % b)
                ref = Stat(d.get('vanilla', 'vm', 'smt', b, 'work_per_sec'))
                nosmt = Stat(d.get('nosmt', 'vm', 'nosmt', b, 'work_per_sec'))
                for i, (label, boot, case) in enumerate(VM_ROWS[:-1]):
                    st = Stat(d.get(boot, 'vm', case, b, 'work_per_sec'))
                    if st:
                        f.write('%d %g %g %g %g %g\n' % (
                            i + 1, st.med, st.lo, st.hi,
                            ref.med if ref else float('nan'),
                            nosmt.med if nosmt else float('nan')))
                f.write('\n\n')


def plot_realvm(d, tmp):
    with open(os.path.join(tmp, 'realvm.dat'), 'w') as f:
        for load in REALVM_LOADS:
            f.write('# %s\n' % load[0])
            n = rv_speed(d, 'nosmt', 'nosmt', load, ('vanilla', 'smt'))
            for i, (_, boot, case) in enumerate(REALVM_ROWS[1:]):
                st = rv_speed(d, boot, case, load, ('vanilla', 'smt'))
                if st:
                    f.write('%d %g %g %g %g\n' % (
                        i + 1, st.med, st.lo, st.hi,
                        n.med if n else float('nan')))
            f.write('\n\n')


def plot_scale(d, tmp):
    with open(os.path.join(tmp, 'scale.dat'), 'w') as f:
        for w in WORKLOADS:
            f.write('# %s\n' % w)
            b = w + '/1vm'
            for i, (label, threads, van, vm) in enumerate(SCALE_ROWS):
                k = derived(d, vm, 'vm', b, kicks_per_exit)
                wk = derived(d, vm, 'vm', b, wait_kick_pct)
                we = derived(d, vm, 'vm', b, wait_enter_pct)
                rt = ratio(d.get(vm, 'vm', 'vm', b, 'work_per_sec'),
                           d.get(van, 'vm', 'smt', b, 'work_per_sec'))
                vals = [k.med, k.lo, k.hi, wk.med, we.med, rt.med]
                f.write('%d %s\n' % (i + 1, ' '.join(
                    'nan' if v is None else '%g' % v for v in vals)))
            f.write('\n\n')


# --- the report ------------------------------------------------------------------

def section_sched(d):
    out = []
    rows_t, rows_l = [], []
    for label, boot, case, ref in SCHED_ROWS:
        cells = [label]
        for bench, metric in SCHED_BENCHES:
            st = Stat(d.get(boot, 'sched', case, bench, metric))
            cells.append(spread(st, ' s'))
            if ref:
                rt = ratio(d.get(boot, 'sched', case, bench, metric),
                           d.get(ref[0], 'sched', ref[1], bench, metric))
                cells.append(rspread(rt))
            else:
                cells.append('ref.')
        rows_t.append(cells)
        cells = [label]
        for metric in LAT_METRICS:
            st = Stat(d.get(boot, 'sched', case, 'cyclictest', metric))
            cells.append(spread(st, ' µs', fmt=us))
            if ref:
                rt = ratio(d.get(boot, 'sched', case, 'cyclictest', metric),
                           d.get(ref[0], 'sched', ref[1], 'cyclictest', metric))
                cells.append(rspread(rt))
            else:
                cells.append('ref.')
        rows_l.append(cells)
    out.append('Time to finish (the later of two tenants where there are '
               'two), median (min–max) over the rounds, and the per-round '
               'ratio to the reference (the row marked "ref." above it: '
               'vanilla with the same tenants and, for the tagged cases, '
               'vanilla with a prctl cookie per tenant).  Lower is better; '
               'a ratio of 1.02 is 2% slower.\n')
    out.append(md_table(['case', 'sched pipe', 'ratio', 'sched messaging',
                         'ratio', 'hackbench', 'ratio'], rows_t))
    out.append('\ncyclictest wake-up latency under a CPU-bound background '
               'load (stress-ng on every CPU; in the two-tenant cases the '
               'load is the second tenant).  Lower is better.\n')
    out.append(md_table(['case', 'p50', 'ratio', 'p99', 'ratio', 'max',
                         'ratio'], rows_l))
    return '\n'.join(out)


def section_vm(d, shape):
    rows = []
    for w in WORKLOADS:
        b = '%s/%s' % (w, shape)
        ref = d.get('vanilla', 'vm', 'smt', b, 'work_per_sec')
        nosmt = d.get('nosmt', 'vm', 'nosmt', b, 'work_per_sec')
        for label, boot, case in VM_ROWS:
            cur = d.get(boot, 'vm', case, b, 'work_per_sec')
            cells = ['%s, %s' % (w, label), spread(Stat(cur), '/s'),
                     'ref.' if case == 'smt' else rspread(ratio(cur, ref)),
                     'ref.' if case == 'nosmt' else rspread(ratio(cur, nosmt)),
                     rspread(derived(d, boot, case, b, min_share))]
            if has_stats(d, boot, case, b):
                cells += [spread(derived(d, boot, case, b, slow_per_sec)),
                          rspread(derived(d, boot, case, b, kicks_per_exit)),
                          spread(derived(d, boot, case, b, fastpath_share), '%'),
                          spread(derived(d, boot, case, b, wait_kick_pct), '%'),
                          spread(derived(d, boot, case, b, wait_enter_pct), '%')]
            else:
                cells += ['–'] * 5
            rows.append(cells)
    return md_table(['workload, mode', 'guest work', '× unprotected',
                     '× nosmt', 'least vCPU', 'slow exits', 'kicks / exit',
                     'fastpath exits', 'waiting to kick', 'waiting to enter'],
                    rows)


def section_scale(d):
    rows = []
    for w in WORKLOADS:
        b = w + '/1vm'
        for label, threads, van, vm in SCALE_ROWS:
            cur = d.get(vm, 'vm', 'vm', b, 'work_per_sec')
            ref = d.get(van, 'vm', 'smt', b, 'work_per_sec')
            rows.append(['%s, %s' % (w, label),
                         spread(Stat(ref), '/s'), spread(Stat(cur), '/s'),
                         rspread(ratio(cur, ref)),
                         rspread(derived(d, vm, 'vm', b, kicks_per_exit)),
                         '%d' % (threads - 1),
                         spread(derived(d, vm, 'vm', b, wait_per_kick_us), ' µs', fmt=us),
                         spread(derived(d, vm, 'vm', b, wait_kick_pct), '%'),
                         spread(derived(d, vm, 'vm', b, wait_enter_pct), '%')])
    return md_table(['workload, topology', 'unprotected', 'coresched=vm',
                     'ratio', 'kicks / exit', 'siblings',
                     'wait per kick', 'waiting to kick',
                     'waiting to enter'], rows)


def ipi_statement(d):
    """Issue 9 in one paragraph: does halt polling hold the core under vm?"""
    def med(boot, case):
        return Stat(d.get(boot, 'ipi', case, 'pingpong', 'median_us'))
    vp, vn, op, on_ = med('vm', 'poll'), med('vm', 'nopoll'), \
        med('on', 'poll'), med('on', 'nopoll')
    if not (vp and vn and op):
        return 'Halt polling under coresched=vm: not measured in this run.'
    r = ratio(vp.byround, vn.byround)
    polls = ipi_derived(d, 'vm', 'poll', ipi_polls)
    held = r.med > 1.02
    return (
        '**Halt polling under coresched=vm.**  With halt polling the round '
        'trip is %s (x%s of coresched=on with polling, %s), without it %s '
        '(coresched=on without: %s): polling is x%s of no polling, and %s '
        'of the halts ended by polling.  %s' % (
            us(vp.med, 'u'), rfmt(vp.med / op.med), us(op.med, 'u'),
            us(vn.med, 'u'), us(on_.med, 'u') if on_ else '–', rspread(r),
            g(polls.med, '%') if polls else '–',
            'A polling vCPU still holds its core: its sibling cannot enter '
            'the guest to send the IPI that would end the poll, so polling '
            'costs more than it saves.' if held else
            'A polling vCPU does not hold its core: the sibling enters the '
            'guest and its IPI ends the poll, as under coresched=on.'))


def section_ipi(d):
    rows = []
    for label, boot, case in IPI_ROWS:
        cur = d.get(boot, 'ipi', case, 'pingpong', 'median_us')
        cells = [label]
        for metric in IPI_METRICS:
            cells.append(spread(Stat(d.get(boot, 'ipi', case, 'pingpong', metric)),
                                ' µs', fmt=us))
        ref = d.get('on', 'ipi', case, 'pingpong', 'median_us')
        cells.append('ref.' if boot == 'on' else rspread(ratio(cur, ref)))
        cells.append(spread(ipi_derived(d, boot, case, ipi_polls), '%'))
        wait = ipi_derived(d, boot, case, ipi_core_wait_us)
        cells.append(spread(wait, ' µs', fmt=us) if wait else '–')
        rows.append(cells)
    return md_table(['case', 'median', 'p10', 'p90', '× coresched=on',
                     'halts ended by polling', 'core wait per round trip'],
                    rows)


def section_realvm(d):
    out = []
    rows = []
    for load in REALVM_LOADS:
        label, phase, metric, unit, higher = load
        for rlabel, boot, case in REALVM_ROWS:
            cur = Stat(d.get(boot, 'realvm', case, phase, metric))
            a = rv_speed(d, boot, case, load, ('vanilla', 'smt'))
            n = rv_speed(d, boot, case, load, ('nosmt', 'nosmt'))
            if case == 'nosmt':
                faster = 'ref.'
            elif n:
                faster = '%d/%d' % (sum(1 for x in n.byround.values() if x > 1), n.n)
            else:
                faster = '–'
            rows.append(['%s, %s' % (label, rlabel), spread(cur, ' ' + unit),
                         'ref.' if case == 'smt' else rspread(a),
                         'ref.' if case == 'nosmt' else rspread(n), faster])
    out.append(md_table(['load, mode', 'measured', '× unprotected',
                         '× nosmt', 'rounds faster than nosmt'], rows))
    out.append('\nWhat the host saw during each load (its counters read at '
               'the load\'s start and end, announced on the guest\'s '
               'console): KVM\'s exits per second and their reasons '
               '(`/sys/kernel/debug/kvm/*_exits`; *intr*: an external '
               'interrupt, the host\'s timer tick among them; *other*: the '
               'rest, CPUID, MSR and nested-paging faults among them); slow '
               'exits per second and kicks per slow exit, as in section 2; '
               '*vCPU wait*: `coresched_wait_ns` (KVM\'s per-vCPU stat) over '
               'the two vCPUs\' time, the share of it each spent waiting for '
               'its core; *strict takes*: interrupts of an idle or waiting '
               'CPU that took the core (`irq_takes`, vm,strict).\n')
    rows = []
    for load in REALVM_LOADS:
        label, phase = load[0], load[1]
        for rlabel, boot, case in REALVM_ROWS:
            e = rv_derived(d, boot, case, phase, rv_exits_per_s)
            if not e:
                continue
            sl = rv_derived(d, boot, case, phase, rv_slow_per_s)
            cs = sl and sl.hi > 0
            rows.append(['%s, %s' % (label, rlabel), spread(e),
                         rv_reasons(d, boot, case, phase) or '–',
                         spread(sl) if sl else '–',
                         rspread(rv_derived(d, boot, case, phase,
                                            rv_kicks_per_exit)) if cs else '–',
                         spread(rv_derived(d, boot, case, phase,
                                           rv_vcpu_wait_pct), '%') if cs else '–',
                         spread(rv_derived(d, boot, case, phase,
                                           rv_irq_takes_per_s)) if boot == 'strict' else '–'])
    out.append(md_table(['load, mode', 'exits/s', 'by reason', 'slow exits/s',
                         'kicks / slow exit', 'vCPU wait', 'strict takes/s'],
                        rows))
    return '\n'.join(out)


def bench_texts(dirname, pattern, labels):
    """(label, lines) of each benchmarks/PATTERN % label that exists."""
    found = []
    for label in labels:
        path = os.path.join(dirname, 'benchmarks', pattern % label)
        if os.path.exists(path):
            with open(path) as f:
                found.append((label, f.read().rstrip('\n').splitlines()))
    return found


def section_costs(dirname):
    """The traced real-guest runs (lab/guest/realvm-costs.sh), if any."""
    runs = [(label, [ln[2:] if ln.startswith('# ') else ln for ln in lines
                     if ln.startswith('#') and not ln.startswith('# lab:')])
            for label, lines in bench_texts(dirname, 'realvm-costs-%s.txt',
                                            ('vm', 'nosmt'))]
    if not runs:
        return []
    L = ['\n### Why a real guest leaves guest mode, and what takes its core\n']
    L.append(
        'One more run of the same real guest (same phases) under '
        'coresched=vm and under nosmt, with the host\'s trace on, after the '
        'rounds (`lab/guest/realvm-costs.sh`).  Per phase: the VM-exits of '
        'each vCPU thread by reason (`kvm_exit`); under coresched=vm, the '
        'kicks (IPIs taking a sibling out of guest mode), '
        'by what took the core (`sched_core_kick`\'s *why*): a VM-exit and '
        'its reason, host code an exit handler needed first, an idle CPU '
        'leaving idle and the task it left it for, an entry abandoned after '
        'its claim, a wait ended for host work or at its spin\'s end, a halt '
        'poll\'s end, an NMI-like or interrupt entry; the tasks idle CPUs '
        'left idle for; the '
        'waits (`sched_core_wait`: *enter*, a vCPU waiting for its core; '
        '*kick*, a CPU waiting for the siblings it took it from); and the '
        'counters of the untraced kind, exits handled '
        'in guest mode (*fastpath*) among them.  *npf*: nested page faults, '
        'guest memory touched for the first time or emulated MMIO; *msr*: '
        'MSR accesses, the x2APIC\'s (timer, EOI, IPIs) among them; *io*: '
        'port I/O, the serial console\'s and the firmware\'s among it; '
        '*interrupt*: a host interrupt, a kick among them; *vintr*: the '
        'guest opening its interrupt window.  These are counts, not times: '
        'only the waits are durations.  Tracing slows the host, which '
        'changes the phases\' lengths and, through more host interrupts per '
        'phase, the counts too; the untraced rounds above are the '
        'reference, and the shares here say which causes lead.  No '
        'tracepoint that the fastpath allow-list checks is on.\n')
    for label, lines in runs:
        L.append('%s:\n' % ('coresched=vm (the patched kernel)' if label == 'vm'
                             else 'nosmt (the vanilla kernel)'))
        L.append('```')
        L += lines
        L.append('```\n')
    return L


def section_ticks(dirname):
    """The timer-tick experiments (lab/realvm-ticks.sh), if any were run."""
    found = bench_texts(dirname, 'realvm-ticks-%s.txt', ('host-nohz', 'guest-hz'))
    if not found:
        return []
    L = ['\n### What the timer ticks cost, and which settings cut it\n']
    L.append(
        'Separate runs of the same real guest, not part of `make bench`\'s '
        'rounds: `lab/realvm-ticks.sh host-nohz` boots a kernel with the full '
        'dynamic tick (the series\' kernel with `CONFIG_NO_HZ_FULL`) with and '
        'without `nohz_full=1`: CPU 0 keeps the tick for housekeeping and '
        'runs vCPU 0, as the lab\'s guest has one core, so this is not the '
        'recommended setting (housekeeping on other cores).  '
        '`lab/realvm-ticks.sh guest-hz` keeps the series\' kernel and gives the '
        'real VM a guest kernel ticking at 250 Hz instead of 1000.  Per case: '
        'the figures, each CPU\'s local timer interrupts per second over the '
        'run (one interrupt may expire several timers: host ticks and the '
        'host timers that stand in for the guest\'s APIC timer), exits and '
        'interrupt exits per second per phase (a kicked vCPU leaves guest '
        'mode by an interrupt exit), kicks per slow exit, the vCPUs\' wait; '
        'then speed ratios between cases of the same round.\n')
    for exp, lines in found:
        L.append('`%s`:\n' % exp)
        if any(ln.startswith('# FAILED') for ln in lines):
            L.append('**Some runs of this experiment failed** (the `# FAILED` '
                     'lines): its figures have fewer runs.\n')
        L.append('```')
        L += lines
        L.append('```\n')
    return L


def section_footprint(d, quick):
    out = []
    parts = {r['part']: r for r in d.bloat}
    names = {'series': 'the whole series (vanilla → patched)',
             'cgroup': 'CONFIG_SCHED_CORE_CGROUP (patched without it → patched)',
             'vm': 'CONFIG_SCHED_CORE_VM (patched without it → patched)'}
    rows = []
    for p in ('series', 'cgroup', 'vm'):
        r = parts.get(p)
        if r:
            rows.append([names[p], r['function'], r['data'], r['rodata'],
                         r['total']])
    if 'series' in parts and 'cgroup' in parts and 'vm' in parts:
        rest = [int(parts['series'][k]) - int(parts['cgroup'][k]) -
                int(parts['vm'][k]) for k in ('function', 'data', 'rodata', 'total')]
        rows.append(['the rest: boot parameter, prctl/effective cookie split '
                     '(CONFIG_SCHED_CORE; series − the two above)'] +
                    [str(x) for x in rest])
    if rows:
        out.append('Bytes added, by `scripts/bloat-o-meter -c` between the '
                   '`vmlinux` files (functions; data with bss; read-only '
                   'data):\n')
        out.append(md_table(['what', 'functions', 'data', 'ro data', 'total'],
                            rows))
    if 'cgroup' not in parts or 'vm' not in parts:
        out.append('\nThe per-option kernels (build/bench-nocg, '
                   'build/bench-novm) were not built%s, so the split per '
                   'option is missing.' % (' (quick mode)' if quick else ''))
    if d.sizes:
        out.append('\n`size` of the objects the series changes most:\n')
        rows = [[r['object'], r['kernel'], r['text'], r['data'], r['bss']]
                for r in d.sizes]
        out.append(md_table(['object', 'kernel', 'text', 'data', 'bss'], rows))
    if d.configs:
        out.append('\n**Warning:** the vanilla and patched configs differ '
                   'beyond the series\' options, so the sizes above include '
                   'more than the series: %s.' % '; '.join(
                       '`%s`' % c for c in d.configs[:12]))
    return '\n'.join(out) if out else 'No footprint data.'


def expected(d):
    """Every number the plan asks for: (round, key) pairs."""
    keys = []
    for b in d.boots:
        label, kernel, topo, cmdline, sched, vm, shapes = b[:7]
        if sched != '-':
            for case in sched.split(','):
                for bench, metric in SCHED_BENCHES:
                    keys.append((label, 'sched', case, bench, metric))
                for metric in LAT_METRICS:
                    keys.append((label, 'sched', case, 'cyclictest', metric))
        ipi = b[7] if len(b) > 7 else '-'
        realvm = b[8] if len(b) > 8 else '-'
        if realvm != '-':
            for case in realvm.split(','):
                case = case[:-2] + '-c' if case.endswith('+c') else case
                for _, phase, metric, _, _ in REALVM_LOADS:
                    keys.append((label, 'realvm', case, phase, metric))
                    keys.append((label, 'realvm', case, phase, 'kvm_exits'))
                    if kernel == 'patched':
                        for m in ('cs_slow_exits', 'cs_kicks_sent',
                                  'kvm_coresched_wait_ns'):
                            keys.append((label, 'realvm', case, phase, m))
        if ipi != '-':
            for case in ipi.split(','):
                for metric in IPI_METRICS:
                    keys.append((label, 'ipi', case, 'pingpong', metric))
        if vm != '-':
            for case in vm.split(','):
                case = case[:-2] + '-k' if case.endswith('+k') else case
                for shape in shapes.split(','):
                    for w in WORKLOADS:
                        keys.append((label, 'vm', case, '%s/%s' % (w, shape),
                                     'work_per_sec'))
                        if kernel == 'patched':
                            for m in ('stats_slow_exits', 'stats_kicks_sent',
                                      'stats_wait_kick_ns', 'stats_wait_enter_ns'):
                                keys.append((label, 'vm', case,
                                             '%s/%s' % (w, shape), m))
    rounds = int(d.info.get('rounds', '1'))
    return [(r, k) for r in range(1, rounds + 1) for k in keys]


def check(d):
    missing = []
    exp = expected(d)
    for r, k in exp:
        if r not in d.vals.get(k, {}):
            raw = d.raw.get(k, {}).get(r)
            missing.append('round %d %s%s' % (r, '/'.join(k),
                                              '' if raw is None else ' = %r' % raw))
    if not any(r['part'] == 'series' and num(r['total']) is not None
               for r in d.bloat):
        missing.append('footprint: bloat-o-meter vanilla → patched')
    return len(exp), missing


def report(d, dirname, quick):
    t = Targets()
    sched_targets(d, t)
    vm_targets(d, t)
    ipi_poll_target(d, t)
    realvm_targets(d, t)
    info = d.info
    loads = sorted(d.loads)
    load = ('%.1f–%.1f (median %.1f)' % (loads[0], loads[-1],
                                         statistics.median(loads))
            if loads else 'unknown')
    guest = d.guests.get('vanilla', {}), d.guests.get('on', {})
    took = int(info.get('took', '0'))
    L = []
    L.append('# Benchmarks: what core scheduling isolation costs\n')
    if quick:
        L.append('> **Quick run** (`make bench QUICK=1`): one short round, '
                 'for CI.  These numbers only show that the benchmark runs; '
                 'the published figures come from a full `make bench`.\n')
    L.append('Generated by `%s` on %s: %s round(s), %d min in all.  Host '
             'load (1-minute average) when each boot started: %s; the host '
             'is a shared %s.\n' % (
                 info.get('command', 'make bench'), info.get('date', '?'),
                 info.get('rounds', '?'), took // 60, load,
                 info.get('host_cpu', '?')))
    if d.configs:
        L.append('> **Warning:** the vanilla and patched kernels were not built '
                 'from the same config: they differ in %d symbols beyond the '
                 'series\' options (%s).  The comparisons below include that '
                 'difference; rebuild both (`make kernel vanilla`) and run '
                 'again.\n' % (len(d.configs), ', '.join(
                     '`%s`' % c.lstrip('<> ') for c in d.configs[:6])))
    L.append('## What ran\n')
    L.append('- Kernels: vanilla `%s` (%s) and patched `%s` (%s), configs '
             'from lab/config/, booted from the images `build/vanilla/bzImage` '
             '(sha256 %s…) and `build/bzImage` (sha256 %s…); repository at %s; '
             'base package %s.' % (
                 guest[0].get('kernel', '?'), info.get('vanilla_tree', '?'),
                 guest[1].get('kernel', '?'), info.get('patched_tree', '?'),
                 info.get('vanilla_image', '?'), info.get('patched_image', '?'),
                 info.get('repo', '?'), info.get('base', '?')))
    L.append('- QEMU: %s, `qemu-system-x86_64 %s` (TCG: every guest CPU is a '
             'host thread; the host has 2 cores).' % (
                 info.get('qemu', '?'), info.get('qemu_args', '')))
    L.append('- Rounds: each round boots every configuration below once; odd '
             'rounds in this order, even rounds in the reverse order, so the '
             'kernels and modes are interleaved and a drift of the host load '
             'within a round does not favour one of them.  Each boot runs '
             '`lab/guest/bench.sh` (kernel command line `lab.bench_*=`).\n')
    rows = [[b[0], b[1], '`%s`' % b[2], '`%s`' % b[3] if b[3] != '-' else '']
            + [c.replace(',', ', ') if c != '-' else ''
               for c in (b + ['-', '-'])[4:9]]
            for b in d.boots]
    L.append(md_table(['boot', 'kernel', '-smp S,C,T', 'command line',
                       'scheduler cases', 'VM cases', 'VM shapes',
                       'IPI cases', 'real-guest cases'], rows))
    L.append('\nThe commands (in the guest):\n')
    L.append('```')
    for name in sorted(d.cmds):
        L.append('%-12s %s' % (name, d.cmds[name]))
    L.append('```')
    L.append('Each runs under `cs_bench_exec` (lab/src), '
             'which sets up every tenant (cgroup, prctl cookie) and lets them '
             'go at the same instant.\n')

    L.append('## What a figure under TCG can tell, and what it cannot\n')
    L.append(
        'Everything here runs under QEMU\'s TCG emulation on a 2-core host '
        'that other jobs share.  A guest CPU is a host thread, about 50 '
        'times slower than hardware, and two "SMT siblings" are two host '
        'threads on two host cores: they share no execution units, caches '
        'or buffers.  So these figures can tell **ratios within one run**: '
        'the same benchmark, on the same emulated machine, in adjacent '
        'boots, with the kernel or mode as the only change; and '
        '**counts**: kicks per slow exit, the share of fastpath exits, how '
        'waits grow with siblings.  They cannot tell **absolute times** '
        '(a µs here is not a µs on hardware; latencies include the host '
        'descheduling a vCPU thread, hence the tens of ms), nor what SMT '
        'contention costs on real hardware: here a sibling forced idle '
        'frees nothing for the other, so nosmt and "one VM at a time" lose '
        'half the machine, where real SMT siblings would gain back '
        '10–30%.  An emulated VM-exit and IPI are also far more expensive '
        'relative to guest work than on hardware, which exaggerates the '
        'cost of exit-heavy workloads under coresched=vm.\n\n'
        'Kicks and the waits after them are spin-waits between emulated '
        'CPUs.  When the host deschedules the vCPU thread being waited for '
        '(a loaded host, or more emulated CPUs than host cores), a wait '
        'lasts a host time slice, milliseconds, where a kick round trip on '
        'hardware takes microseconds: the *wait per kick* column shows '
        'which regime a run was in, and the host load above says why.  '
        'Where it is in milliseconds, the VM isolation cost measured here '
        'is mostly that of the host, not of the kernel.  Spreads are '
        'min–max over the rounds; a ratio whose spread straddles 1 is not '
        'a measured difference.\n')

    L.append('## Targets\n')
    L.append(md_table(['', 'target', 'measured (median, min–max over rounds)'],
                      [[v if v in ('met', 'reported') else '**%s**' % v, w, m]
                       for v, w, m in t.items]))
    L.append('\n"No worse" is read as "within the 2% band" of the '
             'built-in-but-unused target: below that, TCG noise decides.  '
             'Ratios are per round (adjacent boots), then the median.\n')

    L.append('## 1. Scheduler cost\n')
    L.append(
        'Cases, all on one core of two threads (`-smp 2,sockets=1,cores=1,threads=2`):\n\n'
        '- *no cookie*: one instance of each benchmark, no cgroup, no cookie '
        '(vanilla, and the patched kernel in each mode: the cost of the '
        'series built in but unused).\n'
        '- *2 tenants*: two instances at once, each in a cgroup of its own '
        'under `/sys/fs/cgroup/bench` (cpu controller on).  *untagged*: '
        'nothing more; *prctl cookie each*: each tenant\'s first process '
        'also gets a new prctl cookie before it execs the benchmark, '
        'inherited by everything it forks (coresched(1) `new` style: one '
        'cookie per tenant process tree, the way upstream core scheduling '
        'is used); *cgroup domain each*: no prctl, the two cgroups are '
        'tagged with `cpu.core_sched=1`.\n'
        '- `perf bench sched pipe`, `perf bench sched messaging` and '
        '`hackbench` run pinned, tenant i on CPU i (`taskset`): a tenant\'s '
        'processes hand over on one CPU (an emulated cross-CPU wake-up '
        'waits for the host to run the target\'s vCPU thread, which made '
        'unpinned runs vary 4x from run to run), and two tenants sit on '
        'the two siblings, where their cookies meet.  cyclictest runs a '
        'thread on each CPU (`-a`) beside its load.\n\n'
        'Fairness: the tagged cases differ from their reference only in '
        'where the cookie comes from.  The same two tenants run in the same '
        'two cgroups on both kernels (so the cgroup scheduling overhead is '
        'in the reference too), the same tasks share a cookie, and the '
        'reference of both tagged cases on the patched kernel is vanilla '
        'with the prctl cookies: upstream core scheduling.  cyclictest\'s '
        'second tenant is its background load (`stress-ng --cpu 2`).\n')
    L.append(section_sched(d))
    L.append('\n![scheduler cost](benchmarks/sched-cost.png)\n')

    L.append('## 2. VM isolation cost\n')
    L.append(
        'In the guest, with KVM (nested SVM under TCG): `kvm_workload` '
        'VMs whose vCPUs are pinned one per CPU of the core.  *cpu*: the '
        'guest spins; *exit-kernel*: every iteration is a CPUID, handled by '
        'KVM in the kernel; *exit-user*: every iteration exits to the VMM. '
        '"Guest work" is loop iterations per second of all vCPUs.  The '
        'statistics columns come from `/sys/kernel/debug/sched/coresched/stats`, '
        'read before and after each run: slow exits per second; *kicks / '
        'exit*, the kicks sent per slow exit that was not itself the answer '
        'to a kick (`kicks_sent / (slow_exits − kicks_received)`: 1.00 on '
        'SMT2 when the sibling was always in guest mode, the floor the '
        'invariant sets); fastpath exits as a share of all exits; and the time '
        'CPUs spent waiting for kicked siblings and waiting to enter guest '
        'mode, as a share of the run\'s CPU time.  *Least vCPU*: the work '
        'of the least lucky vCPU against an equal share (1.00: fair; 0: a '
        'vCPU starved for the whole run).  nosmt is the same VMs on '
        'one thread per core: both vCPUs on CPU 0.\n')
    L.append('### A pair of vCPUs of one VM on the two siblings (`-n 1 -v 2`)\n')
    L.append(section_vm(d, '1vm'))
    L.append('\n### Two VMs of one vCPU each on the two siblings (`-n 2 -v 1`)\n')
    L.append('Per-VM cookies (`-k`, and coresched=vm) keep the two VMs off '
             'the core at the same time: the price of isolating VMs from each '
             'other, which under TCG is that of nosmt.\n')
    L.append(section_vm(d, '2vm'))
    L.append('\n![VM work per second](benchmarks/vm-work.png)\n')

    L.append('## 3. Scale: siblings and cores\n')
    L.append(
        'One VM with a vCPU per CPU, unprotected (vanilla) and under '
        'coresched=vm, on SMT2 (the pair above), two cores of SMT2 '
        '(`1,2,2`, 4 vCPUs) and one core of SMT4 (`1,1,4`, 4 vCPUs).  A slow '
        'exit kicks every sibling in guest mode: at most 1 per exit on SMT2, '
        '3 on SMT4.  The host has only 2 cores: with 4 guest CPUs, two '
        'emulated CPUs share each host core, so a kicked sibling\'s host '
        'thread is often not running at all and the kicker waits for the '
        'host scheduler (milliseconds), and SMT4 and 2x2 give no more '
        'throughput than SMT2.  The waits of those topologies are therefore '
        'upper bounds, and their work ratios say little; the kick counts '
        'are exact.\n')
    L.append(section_scale(d))
    L.append('\n*Kicks / exit* as in section 2; *wait per kick*: '
             '`wait_kick_ns / kicks_sent`, the round trip of one kick.')
    L.append('\n![kicks and waits against siblings](benchmarks/vm-scale.png)\n')

    L.append('## 4. IPI ping-pong and halt polling\n')
    L.append(
        'Two vCPUs of one VM, pinned to the two siblings, send each other a '
        'fixed x2APIC IPI in turn and halt (HLT, blocking in KVM) until '
        'the answer comes: `ipi_pingpong` (lab/src/), on the KVM selftest '
        'library.  The round trip is read from vCPU 0\'s TSC; per boot, the '
        'median, 10th and 90th percentile of the measured round trips, then '
        'the median (min–max) of those over the rounds.  *halt polling*: '
        'KVM\'s default (`halt_poll_ns`, 200 µs at most, adapted per vCPU); '
        '*no halt polling*: the VM\'s limit set to 0 with '
        '`KVM_CAP_HALT_POLL`, what `kvm.halt_poll_ns=0` on the command line '
        'does for every VM, measured in the same boot (not on the vanilla '
        'kernel: there its guest hung in it twice, the test\'s own timeout '
        'never firing, unexplained; coresched=on is the reference).  '
        '*Halts ended by '
        'polling*: `halt_successful_poll / (halt_successful_poll + '
        'halt_wakeup)` of both vCPUs; *core wait per round trip*: their '
        '`coresched_wait_ns` (KVM\'s per-vCPU stat) over the round trips, '
        'warm-up included.  Under coresched=vm a vCPU that halt-polls '
        'counts as waiting, so its sibling may enter guest mode meanwhile; '
        'the IPI that ends the poll comes from that sibling.\n')
    L.append(section_ipi(d))
    L.append('\n' + ipi_statement(d))

    L.append('\n## 5. Real guests: QEMU booting Linux\n')
    L.append(
        'Debian\'s `qemu-system-x86_64 -accel kvm` inside the benchmark '
        'guest boots a Linux guest (the patched kernel, busybox, '
        '`lab/guest/l2/init`) with two vCPUs pinned to the two siblings '
        '(nosmt: both on CPU 0, the only CPU online), 256 MB and a virtio '
        'disk served by an I/O thread (`lab/guest/realvm.sh -b`, command '
        'above).  In the guest, one after the other: *CPU-bound*, a loop '
        'on each vCPU for a fixed time (`realvm-work spin`, loops per '
        'second of both); *pipe ping-pong*, a byte bounced between a task '
        'on each vCPU (`realvm-work pingpong`: a cross-CPU wake-up, an IPI '
        'and a HLT per message: the messaging load; `hackbench` is not run '
        'there, as a guest image holding it crashed at boot in two runs of '
        'six under nested TCG); *I/O*, `dd` with O_DIRECT writing and reading back the '
        'disk (MB/s both ways); *boot*, QEMU\'s start to the guest\'s '
        'init, firmware and kernel decompression included.  Modes: '
        'vanilla with SMT; vanilla with QEMU started in a core scheduling '
        'cookie of its own before it has threads (`vmm-cookie`, the way '
        'libvirt\'s `sched_core=` and util-linux `coresched` start a VMM: '
        'upstream core scheduling, the vanilla config has '
        '`CONFIG_SCHED_CORE=y`); the patched kernel with coresched=vm and '
        'with vm,strict; vanilla with nosmt.  Ratios are speeds (time '
        'ratios inverted, so above 1 is faster in every column), per round '
        'against the reference boot of the same round, then the median '
        '(min–max).\n')
    L.append(section_realvm(d))
    L.append('\n![real guests against unprotected SMT and nosmt]'
             '(benchmarks/realvm.png)\n')
    L.append(
        'What TCG can tell here, and what it cannot.  The real guest runs '
        'under KVM on emulated SVM: every exit of the Linux guest is an '
        'emulated #VMEXIT, thousands of host instructions, and the '
        'benchmark guest\'s own timer ticks (the *intr* exits) come at the '
        'emulated rate; so exit-heavy loads (boot, I/O, messaging) cost far '
        'more per unit of guest work than on hardware, and so do the kicks '
        'and waits each slow exit brings under coresched=vm.  The ratios '
        'between modes, the exit counts by reason, the kicks per slow exit '
        'and the share of time the vCPUs waited are this machine\'s and '
        'can be compared between modes; absolute times cannot.  Above all, '
        'nosmt here loses a whole host core, where on hardware it loses '
        'only what the second thread adds (10–30%): beating nosmt under '
        'TCG is much easier than on hardware, and a ratio to nosmt measured '
        'here is an upper bound of the hardware one.  The CPU-bound ratio '
        'to unprotected SMT is the closest to hardware: it counts the host '
        'interrupts that reach the vCPUs\' CPUs and the kicks each brings.  '
        'A real guest is also the load most sensitive to the host\'s: on a '
        'host running other jobs (the load above 2 on this 2-core host), '
        'the vCPU and I/O threads of QEMU inside the benchmark guest wait '
        'for host CPU time, nosmt\'s single emulated CPU competes less for '
        'it than two, and the ratios move by more than the modes differ; '
        'only rounds on a quiet host measure the modes.\n')

    L += section_costs(dirname)
    L += section_ticks(dirname)

    L.append('\n## 6. Build and footprint\n')
    L.append(section_footprint(d, quick))

    if d.errors:
        L.append('\n## Failed measurements\n')
        L.append('```')
        L += d.errors[:40]
        L.append('```')
    if d.again:
        L.append('\n## Measured again\n')
        L.append('Outside coresched=vm, a kvm_workload run whose guest did not stop or '
                 'triple-faulted is measured once more (`vm` lines), and a real guest whose '
                 'kernel died while it booted (twice at most), or that hung or reset outside '
                 'coresched=vm (once), is booted again (`realvm` lines), for faults of the emulator that the '
                 'vanilla kernel shows too (README: the base tree\'s problems); the last '
                 'run\'s numbers stand, and its failure is among the failed measurements '
                 'above.\n')
        L.append('```')
        L += d.again[:40]
        L.append('```')
    L.append('\nRaw numbers: [benchmarks/rounds.csv](benchmarks/rounds.csv) '
             '(one row per number per round, with the host load), '
             '[benchmarks/bloat.csv](benchmarks/bloat.csv), '
             '[benchmarks/sizes.csv](benchmarks/sizes.csv); what ran: '
             '[benchmarks/run.txt](benchmarks/run.txt).')
    with open(os.path.join(dirname, 'BENCHMARKS.md'), 'w') as f:
        f.write('\n'.join(L) + '\n')
    return t


def summary(d, t, nexp, missing):
    print('\nSummary (%s rounds):' % d.info.get('rounds', '?'))
    for v, w, m in t.items:
        print('  %-8s %s: %s' % (v, w, m))
    for label, boot, case, ref in SCHED_ROWS:
        if not ref:
            continue
        parts = []
        for bench, metric in SCHED_BENCHES + [('cyclictest', 'p99_us')]:
            st = ratio(d.get(boot, 'sched', case, bench, metric),
                       d.get(ref[0], 'sched', ref[1], bench, metric))
            parts.append('%s x%s' % ('p99' if bench == 'cyclictest' else bench,
                                     rfmt(st.med)))
        print('  sched  %-48s %s' % (label, ', '.join(parts)))
    for w in WORKLOADS:
        b = w + '/1vm'
        ref = d.get('vanilla', 'vm', 'smt', b, 'work_per_sec')
        parts = []
        for label, boot, case in VM_ROWS[1:]:
            st = ratio(d.get(boot, 'vm', case, b, 'work_per_sec'), ref)
            parts.append('%s/%s x%s' % (boot, case, rfmt(st.med)))
        print('  vm     %-12s vs unprotected: %s' % (w, ', '.join(parts)))
    parts = []
    for label, boot, case in IPI_ROWS:
        st = Stat(d.get(boot, 'ipi', case, 'pingpong', 'median_us'))
        parts.append('%s/%s %s' % (boot, case, us(st.med, 'u') if st else '–'))
    print('  ipi    median round trip: %s' % ', '.join(parts))
    for load in REALVM_LOADS:
        parts = []
        for label, boot, case in REALVM_ROWS[1:]:
            st = rv_speed(d, boot, case, load, ('vanilla', 'smt'))
            parts.append('%s/%s x%s' % (boot, case, rfmt(st.med)))
        print('  realvm %-12s speed vs unprotected: %s' % (load[1], ', '.join(parts)))
    # The README's headline rows (README.md, "Headline ratios"), for
    # whoever publishes the run.
    cells = []
    for load in REALVM_LOADS:
        a = rv_speed(d, 'vm', 'vm', load, ('vanilla', 'smt'))
        n = rv_speed(d, 'vm', 'vm', load, ('nosmt', 'nosmt'))
        cells.append('%s x%s / x%s' % (load[1], rfmt(a.med), rfmt(n.med)))
    print('  README | `coresched=vm`, real guest (Debian\'s QEMU/KVM booting '
          'Linux, 2 vCPUs on the siblings): speed vs unprotected / vs nosmt '
          '| %s |' % ', '.join(cells))
    cells = []
    for load in REALVM_LOADS:
        st = rv_speed(d, 'strict', 'vm', load, ('vm', 'vm'))
        cells.append('%s x%s' % (load[1], rfmt(st.med)))
    for w in WORKLOADS:
        st = ratio(d.get('strict', 'vm', 'vm', w + '/1vm', 'work_per_sec'),
                   d.get('vm', 'vm', 'vm', w + '/1vm', 'work_per_sec'))
        cells.append('kvm_workload %s x%s' % (w, rfmt(st.med)))
    for c in ('poll', 'nopoll'):
        st = ratio(d.get('vm', 'ipi', c, 'pingpong', 'median_us'),
                   d.get('strict', 'ipi', c, 'pingpong', 'median_us'))
        cells.append('IPI ping-pong %s x%s' % (c, rfmt(st.med)))
    print('  README | `coresched=vm,strict` vs `vm`: real guest, kvm_workload '
          'pair, IPI ping-pong (speed) | %s |' % ', '.join(cells))
    print('  %d numbers expected, %d missing%s' % (
        nexp, len(missing), ': ' + '; '.join(missing[:5]) if missing else ''))
    if d.errors:
        print('  %d failed measurements (see the report)' % len(d.errors))
    if d.again:
        print('  %d measured again after a failure (see the report)' % len(d.again))


def main(argv):
    quick = '--quick' in argv
    only_check = '--check' in argv
    args = [a for a in argv if not a.startswith('--')]
    if len(args) != 1:
        sys.stderr.write(__doc__)
        return 2
    dirname = args[0]
    d = Data(dirname)
    nexp, missing = check(d)
    if only_check:
        print('%d numbers expected, %d missing' % (nexp, len(missing)))
        for m in missing:
            print('missing: ' + m)
        if d.again:
            print('measured again: %d (benchmarks/again.txt)' % len(d.again))
        return 1 if missing or not nexp else 0
    t = report(d, dirname, quick)
    with tempfile.TemporaryDirectory() as tmp:
        plot_sched(d, tmp)
        plot_vm(d, tmp)
        plot_scale(d, tmp)
        plot_realvm(d, tmp)
        for gp, png in (('sched-cost.gp', 'sched-cost.png'),
                        ('vm-work.gp', 'vm-work.png'),
                        ('vm-scale.gp', 'vm-scale.png'),
                        ('realvm.gp', 'realvm.png')):
            gnuplot(gp, os.path.join(d.dir, png), tmp)
    summary(d, t, nexp, missing)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
