#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Where a hung guest is stuck, from QEMU's QMP socket: every CPU's
registers, the top of its stack and, given the offset of the kernel's
per-CPU pcpu_hot (from its System.map), its current task and preempt
count.  An NMI entered and never left shows in the preempt count.
Map the addresses with the kernel's System.map.

usage: hang-dump.py QMP_SOCKET NCPU [PCPU_HOT_OFFSET_HEX]
"""
import json
import re
import socket
import sys


def main():
    sock, ncpu = sys.argv[1], int(sys.argv[2])
    hot = sys.argv[3] if len(sys.argv) > 3 else ''
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sock)
    f = s.makefile('rw')

    def qmp(cmd, **args):
        f.write(json.dumps({'execute': cmd, 'arguments': args}) + '\n')
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if 'return' in reply or 'error' in reply:
                return reply.get('return', reply.get('error'))

    def hmp(line):
        text = qmp('human-monitor-command', **{'command-line': line})
        if not isinstance(text, str):
            text = json.dumps(text)
        print('(qemu) ' + line)
        print(text)
        return text

    f.readline()                # the greeting
    qmp('qmp_capabilities')
    regs = hmp('info registers -a')
    gs = re.findall(r'^GS =\w+ ([0-9a-f]+)', regs, re.M)
    rsp = re.findall(r'\bRSP=([0-9a-f]+)', regs)
    for cpu in range(min(ncpu, len(rsp))):
        hmp('cpu %d' % cpu)
        if hot and cpu < len(gs):
            print('# CPU %d: pcpu_hot: current_task, then '
                  'cpu_number:preempt_count' % cpu)
            hmp('x /2gx 0x%x' % (int(gs[cpu], 16) + int(hot, 16)))
        hmp('x /64gx 0x' + rsp[cpu])


main()
