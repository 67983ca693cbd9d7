#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where each CPU of a hung guest was, by name: the hang dump
(hang-registers.txt, lab/hang-dump.py) read with the System.map saved
beside the run.  For each CPU: the function RIP is in, the preempt count
and the kernel text addresses found in the top of its stack, innermost
first; under coresched=vm, each CPU's place in its core's state word.  Stack words that point into kernel text are not all return
addresses (a frame may keep a stale one), so this is a lead, not a
backtrace; it is short enough to go into the run's failure report, where
the run's files may not be at hand.

usage: hang-symbols.py RUN_DIR [MAX_FRAMES]
"""
import bisect
import re
import sys


def load_map(path):
    """The text symbols, in address order (System.map is sorted: nm -n)."""
    addrs, names = [], []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[1] in 'tTwW':
                addrs.append(int(parts[0], 16))
                names.append(parts[2])
    return addrs, names


def main():
    run = sys.argv[1]
    most = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    try:
        text = open(run + '/hang-registers.txt').read()
        addrs, names = load_map(run + '/System.map')
    except OSError:
        return
    if not addrs:
        return
    start = {n: a for a, n in zip(addrs, names)}
    lo, hi = start.get('_stext', addrs[0]), start.get('_etext', addrs[-1])

    def name(addr):
        if not lo <= addr < hi:
            return None
        i = bisect.bisect_right(addrs, addr) - 1
        return '%s+0x%x' % (names[i], addr - addrs[i]) if i >= 0 else None

    rip, hot, stack, words = {}, {}, {}, []
    cpu, cur = None, None
    for line in text.splitlines():
        m = re.match(r'^\(qemu(?: cpu (\d+))?\) (?:x /(\d+)gx)?', line)
        if m:
            cur = None
            into = {'2': hot, '64': stack}.get(m.group(2))
            if m.group(1) and into is not None:
                cur = into.setdefault(int(m.group(1)), [])
            continue
        if re.match(r'^# CPU \d+: core ', line):
            words.append(line[2:])
        m = re.match(r'^CPU#(\d+)', line)
        if m:
            cpu = int(m.group(1))
        m = re.match(r'^RIP=([0-9a-f]+)', line)
        if m and cpu is not None and cpu not in rip:
            rip[cpu] = int(m.group(1), 16)
        m = re.match(r'^[0-9a-f]+: ((?:0x[0-9a-f]+ ?)+)$', line)
        if m and cur is not None:
            cur.extend(int(w, 16) for w in m.group(1).split())
    for cpu in sorted(rip):
        where = name(rip[cpu]) or 'user or outside kernel text (%x)' % rip[cpu]
        pc = ''
        if len(hot.get(cpu, [])) >= 2:
            pc = ', preempt_count 0x%08x' % (hot[cpu][1] & 0xffffffff)
        print('CPU %d: RIP %s%s' % (cpu, where, pc))
        frames = [n for n in map(name, stack.get(cpu, [])) if n][:most]
        if frames:
            print('  text in its stack, innermost first: ' + ', '.join(frames))
    # Under coresched=vm: each CPU's slot in its core's state word.
    for line in words:
        print(line)


main()
