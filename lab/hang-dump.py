#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a hung guest is stuck, from QEMU's QMP socket: every CPU's
registers, the top of its stack, its local APIC and, given the offset of the kernel's
per-CPU pcpu_hot (from its System.map), its current task and preempt
count.  The guest is stopped for the dump, so that the figures are of one
moment; "cont" lets it run on afterwards.

Under coresched=vm, also each CPU's place in its core's state word (the
word, decoded: which slots are HOST, GUEST, kicked, sleeping), read
through a CPU that runs the kernel: a CPU in guest mode shows the guest's
registers, not its own per-CPU base.

Preempt count as x86 keeps it: 0x80000000 set means no reschedule is
pending (the bit is inverted), 0x00f00000 counts NMIs, 0x000f0000 hard
interrupts: an NMI entered and never left shows as 0x00110000 in a task.
Map the addresses with the System.map saved beside the run.

usage: hang-dump.py stop|cont QMP_SOCKET NCPU [SYSTEM_MAP]
"""
import json
import re
import socket
import sys


def load_map(path):
    """The System.map's data symbols that the dump reads, by name."""
    want = {'pcpu_hot', '__per_cpu_offset', 'sched_core_vm_cpus',
            'scs_violation'}
    syms = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] in want:
                    syms[parts[2]] = parts[0]
    except OSError:
        pass
    return syms


def words(text):
    """The values of an "x /Ngx" or "x /Nwx" dump, in order."""
    return [int(w, 16) for line in text.splitlines() if ':' in line
            for w in line.split(':', 1)[1].split()]


def slots(byte):
    return ','.join(str(i) for i in range(8) if byte >> i & 1) or '-'


def dump_vm_state(hmp, ncpu, reader, syms):
    """Each CPU's core, slot and the core's state word (coresched=vm)."""
    if reader is None or 'sched_core_vm_cpus' not in syms or \
            '__per_cpu_offset' not in syms:
        return
    print('# coresched=vm: each CPU\'s core state word, read through CPU %d'
          % reader)
    bases = words(hmp('x /%dgx 0x%s' % (ncpu, syms['__per_cpu_offset']),
                      reader))
    where = ['idle', 'host', 'wait', 'guest']
    debug = 'scs_violation' in syms
    for cpu, base in enumerate(bases[:ncpu]):
        # struct sched_core_vm_cpu: core, then slot and (debug) where; in
        # 32-bit words, which hang-symbols.py does not take for a stack.
        vc = words(hmp('x /4wx 0x%x' % (base + int(syms['sched_core_vm_cpus'],
                                                     16)), reader))
        if len(vc) < 4 or not vc[0] | vc[1]:
            print('# CPU %d: no core' % cpu)
            continue
        core, slot = vc[0] | vc[1] << 32, vc[2]
        word = words(hmp('x /1wx 0x%x' % core, reader))
        cpus = words(hmp('x /9wx 0x%x' % (core + 64), reader))
        if not word or len(cpus) < 9:
            continue
        w = word[0]
        line = ('# CPU %d: core %x slot %d; word %08x: host %s guest %s '
                'kick %s sleep %s; slots\' CPUs %s' %
                (cpu, core, slot, w, slots(w & 0xff), slots(w >> 8 & 0xff),
                 slots(w >> 16 & 0xff), slots(w >> 24 & 0xff),
                 ','.join(str(c) for c in cpus[1:1 + cpus[0]])))
        if debug:
            rec = vc[3]
            line += '; checker: %s' % (where[rec] if rec < 4 else rec)
        print(line)


def main():
    after, sock, ncpu = sys.argv[1], sys.argv[2], int(sys.argv[3])
    syms = load_map(sys.argv[4]) if len(sys.argv) > 4 else {}
    hot = syms.get('pcpu_hot', '')
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    f = s.makefile('rw')

    def qmp(cmd, **args):
        f.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
        f.flush()
        while True:
            reply = json.loads(f.readline())
            # Events come unasked, between the replies.
            if 'return' in reply or 'error' in reply:
                return reply.get('return', reply.get('error'))

    def hmp(line, cpu=None):
        args = {'command-line': line}
        if cpu is not None:
            args['cpu-index'] = cpu     # the CPU whose MMU translates
        text = qmp('human-monitor-command', **args)
        if not isinstance(text, str):
            text = json.dumps(text)
        text = text.replace('\r', '')
        print('(qemu%s) %s' % ('' if cpu is None else ' cpu %d' % cpu, line))
        print(text)
        return text

    f.readline()                        # the greeting
    qmp('qmp_capabilities')
    qmp('stop')
    regs = hmp('info registers -a')
    reader = None
    # One block per CPU, each from its "CPU#N" line.
    for cpu, block in re.findall(r'^CPU#(\d+)\n(.*?)(?=^CPU#|\Z)', regs,
                                 re.M | re.S):
        cpu = int(cpu)
        if cpu >= ncpu:
            continue
        sp = re.search(r'\b[RE]SP=([0-9a-f]+)', block)
        gs = re.search(r'^GS =\w+ ([0-9a-f]+)', block, re.M)
        kernel = re.search(r'\bCPL=0\b', block)
        if hot and gs and kernel:
            print('# CPU %d: pcpu_hot: current_task, then '
                  'cpu_number:preempt_count' % cpu)
            hmp('x /2gx 0x%x' % (int(gs.group(1), 16) + int(hot, 16)), cpu)
        if sp:
            hmp('x /64gx 0x' + sp.group(1), cpu)
        # Whether an interrupt waits (IRR) behind one never ended (ISR).
        hmp('info lapic', cpu)
        rip = re.search(r'\bRIP=([0-9a-f]+)', block)
        if reader is None and kernel and rip and \
                int(rip.group(1), 16) >= 0xffffffff80000000:
            reader = cpu
    dump_vm_state(hmp, ncpu, reader, syms)
    if after == 'cont':
        qmp('cont')


main()
