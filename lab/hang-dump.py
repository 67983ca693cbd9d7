#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a hung guest is stuck, from QEMU's QMP socket: every CPU's
registers, the top of its stack and, given the offset of the kernel's
per-CPU pcpu_hot (from its System.map), its current task and preempt
count.  The guest is stopped for the dump, so that the figures are of one
moment; "cont" lets it run on afterwards.

Preempt count as x86 keeps it: 0x80000000 set means no reschedule is
pending (the bit is inverted), 0x00f00000 counts NMIs, 0x000f0000 hard
interrupts: an NMI entered and never left shows as 0x00110000 in a task.
Map the addresses with the System.map saved beside the run.

usage: hang-dump.py stop|cont QMP_SOCKET NCPU [PCPU_HOT_OFFSET_HEX]
"""
import json
import re
import socket
import sys


def main():
    after, sock, ncpu = sys.argv[1], sys.argv[2], int(sys.argv[3])
    hot = sys.argv[4] if len(sys.argv) > 4 else ''
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
    if after == 'cont':
        qmp('cont')


main()
