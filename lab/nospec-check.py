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
FUNCTION (or a compiler's clone of it, FUNCTION.constprop.0 and the like)
spins (has a PAUSE) and has a site that an "lfence" replaces where the
spin's exits land (a branch of the function jumps to the site), and names
what it found either way.  Emulation does not speculate, so no guest test
can see the barrier; this reads the image that the tests boot.
"""
import re
import struct
import subprocess
import sys

LFENCE = bytes.fromhex('0faee8')
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
        instr, rel, _, instrlen, repllen = ALT_ENTRY.unpack_from(table, i)
        site = vma + i + instr
        r = vma + i + 4 + rel - rvma
        if repllen == len(LFENCE) and instrlen >= repllen and \
           0 <= r and repl[r:r + repllen] == LFENCE:
            sites.append(site)
    return sites


def code(vmlinux, start, end):
    """The PAUSEs of [start, end), and the targets of its jumps."""
    out = run('objdump', '-d', '--no-show-raw-insn', f'--start-address={start:#x}',
              f'--stop-address={end:#x}', vmlinux)
    spins = re.findall(r'^\s*([0-9a-f]+):\s+pause\b', out, re.M)
    jumps = re.findall(r'^\s*[0-9a-f]+:\s+j[a-z]+\s+([0-9a-f]+) <', out, re.M)
    return [int(a, 16) for a in spins], {int(a, 16) for a in jumps}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2])
    vmlinux, name = sys.argv[1:]
    funcs = functions(vmlinux, name)
    if not funcs:
        print(f'FAIL {name}: no such function in {vmlinux} (inlined? then check its callers)')
        return 1
    sites = lfence_sites(vmlinux, sections(vmlinux))
    ok = True
    for sym, start, end in funcs:
        spins, targets = code(vmlinux, start, end)
        landing = [s for s in sites if start <= s < end and s in targets]
        if not spins:
            print(f'FAIL {sym}: no PAUSE, so no spin to check')
            ok = False
        elif not landing:
            print(f'FAIL {sym}: spins, but no branch of it lands on an lfence site')
            ok = False
        else:
            print(f'ok {sym}: spins, and its branches land on an lfence site at {landing[0]:#x}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
