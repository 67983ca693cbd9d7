#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Is there a speculation barrier after a spin-wait, in the built kernel?

usage: nospec-check.py VMLINUX FUNCTION

Under coresched=vm a CPU that kicked its siblings spins until none is in
guest mode, then runs host code: barrier_nospec() after the spin keeps that
code from running ahead of the spin's end speculatively.  On x86 it is an
alternative, "lfence" patched over a 3-byte NOP at boot where LFENCE is
serializing, so the disassembly shows a NOP; the kernel's table of
alternatives (.altinstructions) says what replaces it.  This passes if
FUNCTION, or each of its compiler's clones that spins (FUNCTION.part.0 and
the like; one must), has a PAUSE and a site that an "lfence" replaces on
X86_FEATURE_LFENCE_RDTSC where the spin's exits land: a conditional
branch of the function jumps to the site, and the spin's back edge (the
jump after the PAUSE) does not.  It names what it found either way.
Emulation does not speculate, so no guest test can see the barrier; this
reads the image that the tests boot.
"""
import re
import struct
import subprocess
import sys

LFENCE = bytes.fromhex('0faee8')
# X86_FEATURE_LFENCE_RDTSC, word 20 bit 2 of arch/x86/include/asm/cpufeatures.h
LFENCE_RDTSC = 20 * 32 + 2
ALT_ENTRY = struct.Struct('<iiIBB')	# struct alt_instr, __packed


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sections(vmlinux):
    """name -> (vma, file offset, size) from objdump -h."""
    out = {}
    for line in run('objdump', '-h', vmlinux).splitlines():
        f = line.split()
        if len(f) >= 6 and f[0].isdigit():
            out[f[1]] = (int(f[3], 16), int(f[5], 16), int(f[2], 16))
    return out


def functions(vmlinux, name):
    """(symbol, start, end) of NAME and its clones."""
    pat = re.compile(re.escape(name) + r'(\.[a-z]+\.[0-9]+)*$')
    found = []
    for line in run('nm', '-S', vmlinux).splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in 'tT' and pat.match(f[3]):
            start = int(f[0], 16)
            found.append((f[3], start, start + int(f[1], 16)))
    return found


def lfence_sites(vmlinux, secs):
    """Addresses of the alternative sites an lfence replaces."""
    vma, off, size = secs['.altinstructions']
    rvma, roff, rsize = secs['.altinstr_replacement']
    with open(vmlinux, 'rb') as f:
        f.seek(off)
        table = f.read(size)
        f.seek(roff)
        repl = f.read(rsize)
    if size % ALT_ENTRY.size:
        sys.exit(f'.altinstructions is {size} bytes, not entries of {ALT_ENTRY.size}')
    sites = []
    for i in range(0, size, ALT_ENTRY.size):
        instr, rel, flags, instrlen, repllen = ALT_ENTRY.unpack_from(table, i)
        site = vma + i + instr
        r = vma + i + 4 + rel - rvma
        if repllen == len(LFENCE) and instrlen >= repllen and \
           (flags & 0xffff) == LFENCE_RDTSC and \
           0 <= r and repl[r:r + repllen] == LFENCE:
            sites.append(site)
    return sites


def code(vmlinux, start, end):
    """[start, end)'s PAUSEs, the targets of its conditional jumps, and
    the targets of the jumps right after a PAUSE (the spin's back edges)."""
    out = run('objdump', '-d', '--no-show-raw-insn', f'--start-address={start:#x}',
              f'--stop-address={end:#x}', vmlinux)
    insns = re.findall(r'^\s*([0-9a-f]+):\s+(\S+)\s*([0-9a-f]*)', out, re.M)
    spins, cond, back = [], set(), set()
    for k, (addr, op, arg) in enumerate(insns):
        if op == 'pause':
            spins.append(int(addr, 16))
            nxt = insns[k + 1] if k + 1 < len(insns) else None
            if nxt and nxt[1] == 'jmp' and nxt[2]:
                back.add(int(nxt[2], 16))
        elif op.startswith('j') and op != 'jmp' and arg:
            cond.add(int(arg, 16))
    return spins, cond, back


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    vmlinux, name = sys.argv[1:]
    funcs = functions(vmlinux, name)
    if not funcs:
        print(f'FAIL {name}: no such function in {vmlinux} (inlined? then check its callers)')
        return 1
    sites = lfence_sites(vmlinux, sections(vmlinux))
    spun = False
    for sym, start, end in funcs:
        spins, cond, back = code(vmlinux, start, end)
        if not spins:
            print(f'{sym}: no PAUSE')
            continue
        spun = True
        landing = [a for a in sites if start <= a < end and a in cond and a not in back]
        if not landing:
            print(f'FAIL {sym}: spins, but no exit of it lands on an lfence site')
            return 1
        print(f'ok {sym}: spins, and its exits land on an lfence site at {landing[0]:#x}')
    if not spun:
        print(f'FAIL {name}: no PAUSE, so no spin to check')
        return 1
    return 0

if __name__ == '__main__':
    sys.exit(main())
