#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn test output into result records and summarise them.

Records are lines of a TSV file: status (pass, fail, skip), name, detail.

  tap.py guest RUN RUNDIR      records of one guest run: every TAP test
                               point of every test, a record per test that
                               printed none, and the run's own verdict
  tap.py add STATUS NAME [DETAIL]   one record (host-side checks)
  tap.py summary               per-test summary, then "N passed, N failed"
                               (", N skipped"); exit 1 on any failure

The records file is $LAB_RESULTS (default build/test/results.tsv).
"""
import os
import re
import sys

RESULTS = os.environ.get('LAB_RESULTS', os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    'build', 'test', 'results.tsv'))

TAP_RE = re.compile(r'^(not )?ok (\d+)\s*-?\s*(.*?)\s*(?:#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$',
                    re.IGNORECASE)


def add(status, name, detail=''):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, 'a') as f:
        f.write('%s\t%s\t%s\n' % (status, name, detail.replace('\t', ' ')
                                   .replace('\n', ' ')))


def guest(run, rundir):
    def read(name):
        try:
            with open(os.path.join(rundir, name), errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    verdict = read('verdict').strip() or 'missing'
    cur = None          # test whose output we are in
    points = 0
    diag = []
    planned = []        # the tests the guest announced, in order
    begun = set()
    for line in read('results.log').splitlines():
        line = line.rstrip('\r')
        m = re.match(r'^# lab-test-plan: (\S+)', line)
        if m:
            planned.append(m.group(1))
            continue
        m = re.match(r'^# lab-test-begin: (\S+)', line)
        if m:
            cur, points, diag = m.group(1), 0, []
            begun.add(cur)
            continue
        m = re.match(r'^# lab-test-end: (\S+) rc=(\d+)', line)
        if m and cur:
            rc = int(m.group(2))
            name = '%s/%s' % (run, cur)
            if points == 0:
                # Not a TAP test (cs_prctl_test): its exit code decides;
                # kselftest's 4 means skip.
                if rc == 0:
                    add('pass', name)
                elif rc == 4:
                    add('skip', name, 'exit code 4 (skip)')
                else:
                    add('fail', name, 'exit code %d; %s' % (rc, ' | '.join(diag[-3:])))
            elif rc not in (0, 4):
                # Any TAP failure was recorded already; an exit code
                # that disagrees with all-ok (crash, timeout) is its own.
                add('fail', name + ' (exit)', 'exit code %d%s' % (
                    rc, ' (timeout)' if rc in (124, 143) else ''))
            cur = None
            continue
        if cur is None:
            continue
        m = TAP_RE.match(line)
        if m:
            points += 1
            notok, num, desc, directive, reason = m.groups()
            name = '%s/%s: %s' % (run, cur, desc or num)
            if directive and directive.upper() == 'SKIP':
                add('skip', name, reason or '')
            elif notok:
                add('fail', name, ' | '.join(diag[-3:]))
            else:
                add('pass', name)
        elif line.startswith('#'):
            diag.append(line.lstrip('# ').strip())
    if cur is not None:
        add('fail', '%s/%s' % (run, cur), 'did not finish (run verdict: %s)' % verdict)
    # A test that was planned and never began is a failure, not a pass
    # by omission (the guest stopped, or lab.only named no such test).
    for name in planned:
        if name not in begun:
            add('fail', '%s/%s' % (run, name),
                'planned but never started (run verdict: %s)' % verdict)
    if verdict == 'ok':
        add('pass', '%s: boot, run to completion, console clean' % run)
    else:
        add('fail', '%s: boot, run to completion, console clean' % run,
            'verdict %s, see %s/console.log' % (verdict, rundir))


def summary():
    try:
        with open(RESULTS) as f:
            recs = [l.rstrip('\n').split('\t', 2) for l in f if l.strip()]
    except FileNotFoundError:
        recs = []
    count = {'pass': 0, 'fail': 0, 'skip': 0}
    tty = sys.stdout.isatty()
    colour = {'pass': '\033[32m', 'fail': '\033[31m', 'skip': '\033[33m'}
    for status, name, detail in ((r + ['', ''])[:3] for r in recs):
        count[status] = count.get(status, 0) + 1
        tag = status.upper()
        if tty:
            tag = colour.get(status, '') + tag + '\033[0m'
        print('%-4s  %s%s' % (tag, name, ('  -- ' + detail) if detail and status != 'pass' else ''))
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
    print(line)
    return 1 if count['fail'] or not recs else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == 'guest':
        guest(argv[1], argv[2])
    elif len(argv) >= 2 and argv[0] == 'add':
        add(argv[1], argv[2], ' '.join(argv[3:]))
    elif argv[:1] == ['summary']:
        return summary()
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
