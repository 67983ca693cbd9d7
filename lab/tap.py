#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn test output into result records and summarise them.

Records are lines of a TSV file: status (pass, fail, skip, retry: a test run
again after its first attempt failed), name, detail.

  tap.py guest RUN RUNDIR      records of one guest run, judged against the
                               plan the host makes itself (below)
  tap.py plan RUN|--mode M     the tests the host plans for a run of
                               lab/runs.list, or for lab.mode=M
  tap.py lists                 one record: lab/runs.list, lab/guest/tests.list
                               and lab/skips.list agree with each other
  tap.py add STATUS NAME [DETAIL]   one record (host-side checks)
  tap.py expects-retry RUN TEST TEXT   exit 0, printing where, if
                               lab/retries.list expects that failure
                               (TEST "boot": a whole run booted again,
                               of the vanilla kernel or of the series'
                               outside coresched=vm)
  tap.py bench-again FILE      records of the quick benchmark's measurements
                               run again (its benchmarks/again.txt): a
                               "retry" each where lab/retries.list expects
                               it (runs "bench", test kvm_workload or
                               lab/realvm), a failure otherwise, and always
                               for a kvm_workload of a boot of
                               lab/bench/plan under coresched=vm
  tap.py summary               per-test summary, then "N passed, N failed"
                               (", N skipped"); exit 1 on any failure

The host owns the plan: the tests of a run are those of tests.list whose
modes hold the run's lab.mode (from the kernel command line the run was
booted with, RUNDIR/cmdline), narrowed by its lab.only.  Each planned test
must begin and end in the guest's output (results.log, framed by
"# lab-test-begin/end" lines) and print TAP: a plan "1..N" and exactly N
test points, or "1..0 # SKIP reason".  A test point that fails, a test
that printed no TAP, a plan that does not match the points printed, a
"Bail out!", an exit code other than 0 (or 4 with a whole-test skip), a
test that never began or never ended, a run that ran no test, and a skip
that lab/skips.list does not expect for that run and test each fail.

The records file is $LAB_RESULTS (default build/test/results.tsv);
A test run again after a failure (a "# lab-retry: WHY" line: tests.list's
retry: mark, or a test that boots a guest again) is a "retry" record if
lab/retries.list expects that failure for that run and test, and a
failure otherwise; the points before the line are the first attempt's
and do not count.

$LAB_TESTS_LIST, $LAB_RUNS_LIST, $LAB_SKIPS_LIST, $LAB_RETRIES_LIST and
$LAB_BENCH_PLAN replace the lab's lists (the lab's own tests use them).
"""
import os
import re
import sys

LAB = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.environ.get('LAB_RESULTS', os.path.join(
    os.path.dirname(LAB), 'build', 'test', 'results.tsv'))
TESTS_LIST = os.environ.get('LAB_TESTS_LIST', os.path.join(LAB, 'guest', 'tests.list'))
RUNS_LIST = os.environ.get('LAB_RUNS_LIST', os.path.join(LAB, 'runs.list'))
SKIPS_LIST = os.environ.get('LAB_SKIPS_LIST', os.path.join(LAB, 'skips.list'))
RETRIES_LIST = os.environ.get('LAB_RETRIES_LIST', os.path.join(LAB, 'retries.list'))
BENCH_PLAN = os.environ.get('LAB_BENCH_PLAN', os.path.join(LAB, 'bench', 'plan'))
PLAN_NAME = os.path.join(os.path.basename(os.path.dirname(BENCH_PLAN)),
                         os.path.basename(BENCH_PLAN))

TAP_RE = re.compile(r'^(not )?ok (\d+)\s*-?\s*(.*?)\s*(?:#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$',
                    re.IGNORECASE)
PLAN_RE = re.compile(r'^1\.\.(\d+)\s*(?:#\s*SKIP\b\s*(.*))?$', re.IGNORECASE)


def add(status, name, detail=''):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, 'a') as f:
        f.write('%s\t%s\t%s\n' % (status, name, detail.replace('\t', ' ')
                                   .replace('\n', ' ')))


def lines_of(path):
    """(line number, fields) of each line that is not a comment."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.strip() and not line.lstrip().startswith('#'):
                yield n, line.split()


def test_name(field):
    """tests.list's test field: "retry:" ("retryN:", N from 2 to 9) marks a
    test run again if it fails, three (N) attempts at most, "exit:" one
    that prints no TAP."""
    field = re.sub(r'^retry[2-9]?:', '', field)
    return field[len('exit:'):] if field.startswith('exit:') else field


def read_tests():
    """tests.list: (modes, test name, line number) in order."""
    return [(f[0].split(','), test_name(f[2]), n) for n, f in lines_of(TESTS_LIST)
            if len(f) >= 3]


def read_runs():
    """runs.list: {name: (mode, line number, kernel, command line)} and the
    names in order."""
    runs, order = {}, []
    for n, f in lines_of(RUNS_LIST):
        if len(f) < 7:
            raise ValueError('%s:%d: fewer than 7 fields' % (RUNS_LIST, n))
        if f[0] in runs:
            raise ValueError('%s:%d: run %s twice' % (RUNS_LIST, n, f[0]))
        runs[f[0]] = (f[3], n, f[1], ' '.join(f[7:]))
        order.append(f[0])
    return runs, order


def read_skips(path=None):
    """skips.list (or retries.list, the same form): (runs or None for all,
    test, compiled regex, line number)."""
    path = path or SKIPS_LIST
    skips = []
    try:
        entries = list(lines_of(path))
    except FileNotFoundError:
        return skips
    for n, f in entries:
        if len(f) < 3:
            raise ValueError('%s:%d: want <runs> <test> <reason>' % (path, n))
        with open(path) as fh:
            raw = fh.readlines()[n - 1]
        pattern = raw.strip().split(None, 2)[2]
        runs = None if f[0] == '*' else set(f[0].split(','))
        skips.append((runs, f[1], re.compile(pattern), n))
    return skips


def plan_of(mode, only=None):
    """The tests of a run in mode @mode, narrowed by lab.only."""
    plan = [t for modes, t, _ in read_tests() if mode in modes or '*' in modes]
    if only:
        wanted = only.split(',')
        plan = [t for t in plan if t in wanted] + [t for t in wanted if t not in plan]
    return plan


def expected_skip(skips, run, test, text):
    for runs, t, regex, n in skips:
        if (runs is None or run in runs) and t == test and regex.search(text):
            return n
    return None


def cmdline_args(rundir):
    """lab.KEY=VALUE of the kernel command line the run was booted with."""
    try:
        with open(os.path.join(rundir, 'cmdline')) as f:
            words = f.read().split()
    except FileNotFoundError:
        return None
    return dict(w[4:].split('=', 1) for w in words if w.startswith('lab.') and '=' in w)


class Test:
    def __init__(self, name):
        self.name = name
        self.ended = False
        self.rc = None
        self.plans = []         # (count, skip reason or None)
        self.points = []        # (not ok, number, description, directive, reason, diag)
        self.bail = None
        self.diag = []
        self.retries = []       # why each attempt run again failed


def parse(text):
    """The guest's announced plan and its tests, from results.log."""
    announced, tests, cur = [], {}, None
    for line in text.splitlines():
        line = line.rstrip('\r')
        m = re.match(r'^# lab-test-plan: (\S+)', line)
        if m:
            announced.append(m.group(1))
            continue
        m = re.match(r'^# lab-test-begin: (\S+)', line)
        if m:
            cur = tests.setdefault(m.group(1), Test(m.group(1)))
            continue
        m = re.match(r'^# lab-test-end: (\S+) rc=(\d+)', line)
        if m and cur and m.group(1) == cur.name:
            cur.ended, cur.rc, cur = True, int(m.group(2)), None
            continue
        m = re.match(r'^# lab-retry: (.*)', line)
        if m and cur:
            # What came before was the first attempt: it does not count.
            cur.retries.append(m.group(1).strip() or 'no reason given')
            cur.plans, cur.points, cur.bail, cur.diag = [], [], None, []
            continue
        if cur is None:
            continue
        m = PLAN_RE.match(line)
        if m:
            cur.plans.append((int(m.group(1)), m.group(2)))
            continue
        m = TAP_RE.match(line)
        if m:
            # With the diagnostics just before it: the failure's story.
            cur.points.append(m.groups() + (' | '.join(cur.diag[-3:]),))
        elif line.startswith('Bail out!'):
            cur.bail = line[len('Bail out!'):].strip() or 'no reason given'
        elif line.startswith('#'):
            cur.diag.append(line.lstrip('# ').strip())
    return announced, tests


def judge_test(run, t, skips, retries):
    """The records of one test that began."""
    name = '%s/%s' % (run, t.name)
    last = ' | '.join(t.diag[-3:])
    for why in t.retries:
        n = expected_skip(retries, run, t.name, why)
        if n:
            add('retry', name, 'run again after: %s (expected: %s:%d)' % (
                why, os.path.basename(RETRIES_LIST), n))
        else:
            add('fail', name + ': run again', 'after a failure %s does not expect: %s' % (
                os.path.basename(RETRIES_LIST), why))
    for notok, num, desc, directive, reason, before in t.points:
        pname = '%s: %s' % (name, desc or num)
        directive = (directive or '').upper()
        if directive == 'SKIP':
            n = expected_skip(skips, run, t.name, ' '.join(x for x in (desc, reason) if x))
            if n:
                add('skip', pname, '%s (expected: %s:%d)' % (reason or '', os.path.basename(SKIPS_LIST), n))
            else:
                add('fail', pname, 'unexpected skip: %s (not in %s)' % (
                    reason or 'no reason', os.path.basename(SKIPS_LIST)))
        elif directive:
            add('fail', pname, '%s: the lab accepts no %s' % (directive, directive))
        elif notok:
            add('fail', pname, before)
        else:
            add('pass', pname)
    if not t.ended:
        add('fail', name, 'did not finish (the run ended or the guest stopped)')
        return
    whole_skip = None
    if not t.plans and not t.points:
        add('fail', name, 'printed no TAP (exit code %s)%s' % (
            t.rc, '; ' + last if last else ''))
    elif len(t.plans) != 1:
        add('fail', name + ': TAP plan', '%s plan lines, %d test points' % (
            len(t.plans) or 'no', len(t.points)))
    else:
        count, reason = t.plans[0]
        if reason is not None and count == 0 and not t.points:
            whole_skip = reason
            n = expected_skip(skips, run, t.name, reason)
            if n:
                add('skip', name, '%s (expected: %s:%d)' % (reason, os.path.basename(SKIPS_LIST), n))
            else:
                add('fail', name, 'unexpected skip: %s (not in %s)' % (
                    reason, os.path.basename(SKIPS_LIST)))
        elif count != len(t.points):
            add('fail', name + ': TAP plan', 'plan 1..%d, %d test points printed' % (
                count, len(t.points)))
        elif count == 0:
            add('fail', name + ': TAP plan', 'plan 1..0 without a skip')
    if t.bail is not None:
        add('fail', name + ': bail out', t.bail)
    if t.rc == 0 or (t.rc == 4 and whole_skip is not None):
        return
    add('fail', name + ': exit code', 'exit code %d%s' % (
        t.rc, ' (timeout)' if t.rc in (124, 143) else ''))


def guest(run, rundir):
    def read(name):
        try:
            with open(os.path.join(rundir, name), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    verdict = read('verdict').strip() or 'missing'
    args = cmdline_args(rundir)
    skips = read_skips()
    retries = read_skips(RETRIES_LIST)
    if args is None:
        add('fail', '%s: plan' % run, 'no kernel command line in %s/cmdline' % rundir)
        plan = []
    else:
        mode = args.get('mode', 'default')
        try:
            runs, _ = read_runs()
        except (FileNotFoundError, ValueError) as e:
            runs = {}
            add('fail', '%s: plan' % run, str(e))
        if run in runs and runs[run][0] != mode:
            add('fail', '%s: plan' % run, 'booted with lab.mode=%s, %s says %s' % (
                mode, os.path.basename(RUNS_LIST), runs[run][0]))
        plan = plan_of(mode, args.get('only'))
        if not plan:
            add('fail', '%s: plan' % run, 'no test in %s for lab.mode=%s' % (
                os.path.basename(TESTS_LIST), mode))
        dups = sorted(set(t for t in plan if plan.count(t) > 1))
        if dups:
            add('fail', '%s: plan' % run, 'tests twice in one run: %s' % ' '.join(dups))

    announced, tests = parse(read('results.log'))
    if announced and set(announced) != set(plan):
        add('fail', '%s: plan' % run, 'the guest planned %s, the host %s (a stale image?)' % (
            ' '.join(sorted(set(announced) - set(plan))) or 'fewer',
            ' '.join(sorted(set(plan) - set(announced))) or 'fewer'))
    for t in tests.values():
        judge_test(run, t, skips, retries)
        if t.name not in plan:
            add('fail', '%s/%s' % (run, t.name), 'ran, but the host did not plan it')
    for name in plan:
        if name not in tests:
            add('fail', '%s/%s' % (run, name),
                'planned but never started (run verdict: %s)' % verdict)
    if plan and not tests:
        add('fail', '%s: ran no test' % run, 'run verdict: %s' % verdict)
    if verdict == 'ok':
        add('pass', '%s: boot, run to completion, console clean' % run)
    else:
        add('fail', '%s: boot, run to completion, console clean' % run,
            'verdict %s, see %s/console.log' % (verdict, rundir))


def under_vm(cmdline):
    """Whether a kernel command line asks for coresched=vm (or vm,strict)."""
    return any(w.startswith('coresched=vm') for w in cmdline.split())


def boot_allowed(run):
    """Whether a run may be booted again after a failure of the base tree:
    one of the vanilla kernel, or of the series' outside coresched=vm (no
    whole run under coresched=vm is ever booted again)."""
    return run[2] == 'vanilla/bzImage' or (run[2] == 'bzImage' and not under_vm(run[3]))


def read_bench_plan():
    """lab/bench/plan: {boot label: (command line, kvm_workload cases,
    real-guest cases)}."""
    boots = {}
    for n, f in lines_of(BENCH_PLAN):
        if len(f) < 10:
            raise ValueError('%s:%d: fewer than 10 fields' % (BENCH_PLAN, n))
        boots[f[0]] = ('' if f[3] == '-' else f[3], f[5], f[8])
    return boots


# What the benchmark runs again: kvm_workload (lab/guest/bench.sh, its
# "again vm" lines) and the real guest (lab/guest/realvm.sh boots it
# again, "again realvm"), by the first word after the boot's label.
BENCH_AGAIN = {'vm': 'kvm_workload', 'realvm': 'lab/realvm'}
# The one reason lab/guest/realvm.sh boots a guest again under coresched=vm.
REALVM_VM_AGAIN = re.compile(r"^realvm \S+: the guest's kernel died before its init ran")


def bench_retry_problems(f, n, sruns, t):
    """A "bench" entry: only in retries.list, for kvm_workload where a boot
    of lab/bench/plan runs it outside coresched=vm (the guest measures
    nothing again under vm), or for lab/realvm where a boot runs a real
    guest."""
    where = '%s:%d' % (f, n)
    if f != 'retries.list':
        return ['%s: "bench" is for retries.list' % where]
    if sruns != {'bench'}:
        return ['%s: "bench" names the quick benchmark, not runs: %s' % (
            where, ','.join(sorted(sruns)))]
    if t not in BENCH_AGAIN.values():
        return ['%s: the benchmark runs only %s again, not %s' % (
            where, ' and '.join(sorted(BENCH_AGAIN.values())), t)]
    try:
        boots = read_bench_plan()
    except (FileNotFoundError, ValueError) as e:
        return ['%s: %s' % (where, e)]
    if t == 'kvm_workload' and not any(vm != '-' and not under_vm(c)
                                       for c, vm, _ in boots.values()):
        return ['%s: no boot of %s runs kvm_workload outside coresched=vm' % (
            where, PLAN_NAME)]
    if t == 'lab/realvm' and all(rv == '-' for _, _, rv in boots.values()):
        return ['%s: no boot of %s runs a real guest' % (where, PLAN_NAME)]
    return []


AGAIN_RE = re.compile(r'^round (\d+), (\S+): (.+)$')


def bench_again(path):
    """The quick benchmark's measurements run again (lab/bench.sh's
    again.txt, "round R, BOOT: WHAT" a line), each judged against
    retries.list's "bench" entries; a kvm_workload of a boot under
    coresched=vm, and a real guest of one booted again for anything but a
    kernel that died before its init ran, fail whatever the list says."""
    try:
        with open(path, errors='replace') as f:
            lines = [l.rstrip('\n') for l in f if l.strip()]
        boots = read_bench_plan()
        # Entries for the benchmark by name only: "*" is for the runs.
        retries = [e for e in read_skips(RETRIES_LIST) if e[0] == {'bench'}]
    except (OSError, ValueError, re.error) as e:
        add('fail', 'bench: measured again', str(e))
        return
    for line in lines:
        m = AGAIN_RE.match(line)
        test = BENCH_AGAIN.get((m.group(3).split() or [''])[0]) if m else None
        n = None
        if not test:
            why = 'not a line of again.txt'
        elif m.group(2) not in boots:
            why = 'no boot %s in %s' % (m.group(2), PLAN_NAME)
        elif test == 'kvm_workload' and under_vm(boots[m.group(2)][0]):
            why = 'nothing is measured again under coresched=vm'
        elif (test == 'lab/realvm' and under_vm(boots[m.group(2)][0]) and
              not REALVM_VM_AGAIN.match(m.group(3))):
            why = 'under coresched=vm a real guest boots again only if its kernel died before its init ran'
        else:
            n = expected_skip(retries, 'bench', test, line)
            why = 'after a failure %s does not expect' % os.path.basename(RETRIES_LIST)
        if n:
            add('retry', 'bench: ' + test, 'measured again after: %s (expected: %s:%d)' % (
                line, os.path.basename(RETRIES_LIST), n))
        else:
            add('fail', 'bench: %s: measured again' % test if test else 'bench: measured again',
                '%s: %s' % (why, line))


def boot_retry_problems(f, n, sruns, runs):
    """A "boot" entry: a whole run booted again after a failure of the base
    tree, never a run under coresched=vm nor of the debug kernel."""
    if f != 'retries.list' or not sruns:
        return ['%s:%d: "boot" is for retries.list, with the runs named' % (f, n)]
    return ['%s:%d: run %s %s' % (f, n, r, 'does not exist' if r not in runs else
                                   'boots %s %s: neither the vanilla kernel nor the '
                                   "series' outside coresched=vm" % (runs[r][2], runs[r][3]))
            for r in sorted(sruns)
            if r not in runs or not boot_allowed(runs[r])]


def lists():
    """The lists agree: every run plans tests, every test runs somewhere,
    every expected skip and retry names a run that plans its test; a whole
    run booted again ("boot") is a retry of named runs of the vanilla
    kernel, or of the series' outside coresched=vm; a "bench" entry is for
    what the quick benchmark runs again (bench_retry_problems())."""
    name = 'lab: runs.list, tests.list, skips.list and retries.list agree'
    problems = []
    try:
        runs, order = read_runs()
        tests = read_tests()
        skips = [('skips.list',) + e for e in read_skips()]
        skips += [('retries.list',) + e for e in read_skips(RETRIES_LIST)]
    except (FileNotFoundError, ValueError, re.error) as e:
        add('fail', name, str(e))
        return
    modes = set(v[0] for v in runs.values())
    if 'bench' in runs:
        problems.append('run bench: the name retries.list keeps for the benchmark')
    plans = {r: plan_of(runs[r][0]) for r in order}
    for r in order:
        if not plans[r]:
            problems.append('run %s (lab.mode=%s) plans no test' % (r, runs[r][0]))
        dups = sorted(set(t for t in plans[r] if plans[r].count(t) > 1))
        if dups:
            problems.append('run %s plans %s twice' % (r, ' '.join(dups)))
    for tmodes, t, n in tests:
        if '*' not in tmodes and not modes.intersection(tmodes):
            problems.append('tests.list:%d: %s runs in no run (modes %s)' % (
                n, t, ','.join(tmodes)))
    for f, sruns, t, _, n in skips:
        # The quick benchmark's measurements (lab/tests/bench-quick.sh).
        if sruns and 'bench' in sruns:
            problems += bench_retry_problems(f, n, sruns, t)
            continue
        if t == 'boot':
            problems += boot_retry_problems(f, n, sruns, runs)
            continue
        for r in sorted(sruns) if sruns else order:
            if r not in runs:
                problems.append('%s:%d: no run %s' % (f, n, r))
            elif sruns and t not in plans[r]:
                problems.append('%s:%d: run %s does not run %s' % (f, n, r, t))
        if not sruns and not any(t in p for p in plans.values()):
            problems.append('%s:%d: no run runs %s' % (f, n, t))
    if problems:
        add('fail', name, '; '.join(problems))
    else:
        add('pass', name)


def summary():
    try:
        with open(RESULTS) as f:
            recs = [l.rstrip('\n').split('\t', 2) for l in f if l.strip()]
    except FileNotFoundError:
        recs = []
    count = {'pass': 0, 'fail': 0, 'skip': 0, 'retry': 0}
    tty = sys.stdout.isatty()
    colour = {'pass': '\033[32m', 'fail': '\033[31m', 'skip': '\033[33m',
              'retry': '\033[33m'}
    for status, name, detail in ((r + ['', ''])[:3] for r in recs):
        count[status] = count.get(status, 0) + 1
        tag = status.upper()
        if tty:
            tag = colour.get(status, '') + tag + '\033[0m'
        print('%-5s  %s%s' % (tag, name, ('  -- ' + detail) if detail and status != 'pass' else ''))
    print()
    failed = [r for r in recs if r[0] == 'fail']
    if failed:
        print('Failed:')
        for r in failed:
            print('  ' + r[1])
        print()
    line = '%d passed, %d failed' % (count['pass'], count['fail'])
    if count['skip']:
        line += ', %d skipped' % count['skip']
    if count['retry']:
        line += ', %d run again after a failure' % count['retry']
    print(line)
    return 1 if count['fail'] or not recs else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == 'guest':
        guest(argv[1], argv[2])
    elif len(argv) == 3 and argv[:2] == ['plan', '--mode']:
        print('\n'.join(plan_of(argv[2])))
    elif len(argv) == 2 and argv[0] == 'plan':
        runs, _ = read_runs()
        if argv[1] not in runs:
            sys.stderr.write('no run %s in %s\n' % (argv[1], RUNS_LIST))
            return 1
        print('\n'.join(plan_of(runs[argv[1]][0])))
    elif argv == ['lists']:
        lists()
    elif len(argv) >= 2 and argv[0] == 'add':
        add(argv[1], argv[2], ' '.join(argv[3:]))
    elif len(argv) == 4 and argv[0] == 'expects-retry':
        n = expected_skip(read_skips(RETRIES_LIST), argv[1], argv[2], argv[3])
        if n is None:
            return 1
        if argv[2] == 'boot':
            runs, _ = read_runs()
            if argv[1] not in runs or not boot_allowed(runs[argv[1]]):
                return 1
        print('%s:%d' % (os.path.basename(RETRIES_LIST), n))
    elif len(argv) == 2 and argv[0] == 'bench-again':
        bench_again(argv[1])
    elif argv[:1] == ['summary']:
        return summary()
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
