#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the per-patch build check compiles when a patch changes headers.

usage: bisect-select.py OBJ SRC FROM TO

OBJ is a kbuild output directory whose objects were compiled from SRC at
FROM; SRC is now checked out at TO.  Prints one line per decision:

  header H   a header FROM..TO changed, which the caller makes look old,
             so that kbuild does not recompile everything that includes it
  target T   a target (relative to OBJ) that must be compiled again: the
             caller deletes it

For each changed header with targets that include it, the header's old
and new text are compared without comments.  All of its targets are
chosen when the change is to an #include, a #pragma or a conditional
(unless it adds or removes a whole balanced block), or when it changes
code that declares no name (a statement of an inline function).
Otherwise the changed lines give names: the members, functions,
variables, typedefs, enumerators and macros they declare, the arguments
of macros that declare (DECLARE_*), and, to a fixed point, what the
header declares with those (a function returning a changed typedef).  A
target is chosen when its source or any header it includes names one;
for a changed struct or union (and those that embed it or name it by
typedef), when its source takes the struct's size or a member's offset,
or a header it includes asserts one.  The targets that generate headers
from C (asm-offsets and the like) are always chosen, and so is one
vmlinux object that includes the header, for the header's own inline
code.  A header that a Makefile names is left to kbuild (all its
targets).

It is a heuristic: a change that breaks code naming none of those names
is not seen at that patch, as a layout assumption written without the
struct's name (sizeof(*p) in a source's static assertion) or through a
macro that takes any type.  The tip of the series is compiled whole.
"""
import difflib
import os
import re
import subprocess
import sys

NOT_NAMES = set('''
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Bool true false asm typeof NULL __always_inline
'''.split())
IDENT = re.compile(r'\b[A-Za-z_]\w*\b')
NOISE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'
                   r"'(?:\\.|[^'\\\n])*'", re.S)
DIRECTIVE = re.compile(r'\s*#\s*(\w+)')
COND_OPEN, COND_MID, COND_END = ({'if', 'ifdef', 'ifndef'}, {'else', 'elif'},
                                 {'endif'})
# In a source, what takes a size or an offset; in a header, only what
# asserts one (its other uses compile in every file that includes it)
ASSERT = r'BUILD_BUG_ON\w*|static_assert|_Static_assert'
LAYOUT = (r'\b(?:{}|sizeof|offsetof\w*|sizeof_field|OFFSET|'
          r'CHECK_MEMBER_AT_END_OF)\s*\([^;]*\b(?:{})\b')


def git(src, *args, ok=(0,)):
    r = subprocess.run(['git', '-C', src, '-c', 'color.ui=never'] +
                       list(args), capture_output=True, text=True)
    if r.returncode not in ok:
        sys.exit(f'bisect-select: git {" ".join(args)}: {r.stderr}')
    return r.stdout


def targets(obj, src):
    """{target: the SRC-relative files it was compiled from}, and
    {target: its source}"""
    block = re.compile(r'^(source|deps)_(\S+) :=((?:.*\\\n)*.*)', re.M)
    deps, sources, rel = {}, {}, {}

    def relative(p):
        if p not in rel:
            r = os.path.relpath(os.path.normpath(os.path.join(obj, p)), src)
            rel[p] = None if r.startswith('..') else r
        return rel[p]

    for root, _, files in os.walk(obj):
        for f in files:
            if not (f.startswith('.') and f.endswith('.cmd')):
                continue
            with open(os.path.join(root, f), errors='replace') as fh:
                text = fh.read()
            for kind, t, paths in block.findall(text):
                for p in paths.replace('\\', ' ').split():
                    p = None if p.startswith('$(') else relative(p)
                    if not p:
                        continue
                    deps.setdefault(t, set()).add(p)
                    if kind == 'source':
                        sources[t] = p
    return deps, sources


def strip(t):
    """T without comments (blanks, lines kept) and with empty literals"""
    return NOISE.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0))
                     if m.group(0)[0] == '/' else '""', t)


_text = {}


def text(src, f):
    """F's text in SRC without comments and literals (lines kept)"""
    if f not in _text:
        try:
            with open(os.path.join(src, f), errors='replace') as fh:
                t = fh.read()
        except OSError:
            t = ''
        _text[f] = strip(t)
    return _text[f]


_names = {}


def names_in(src, f):
    if f not in _names:
        _names[f] = set(IDENT.findall(text(src, f)))
    return _names[f]


def fragments(t):
    """[(first line, last line, text)]: directives (with their continuation
    lines) and the pieces of code between ; { and }"""
    out, cur, start = [], '', None
    lines = t.split('\n')
    i = 0
    while i < len(lines):
        ln = lines[i]
        if DIRECTIVE.match(ln) and not cur.strip():
            j = i
            while lines[j].endswith('\\') and j + 1 < len(lines):
                j += 1
            out.append((i, j, '\n'.join(lines[i:j + 1])))
            i = j + 1
            continue
        for ch in ln + '\n':
            if start is None and not ch.isspace():
                start = i
            cur += ch
            if ch in ';{}':
                if cur.strip():
                    out.append((start, i, cur))
                cur, start = '', None
        i += 1
    if cur.strip():
        out.append((start, len(lines) - 1, cur))
    return out


def declared(frag):
    """The names a fragment declares (or may: a superset)"""
    m = re.match(r'\s*#\s*(?:define|undef)\s+(\w+)', frag)
    if m:
        return {m.group(1)}
    if DIRECTIVE.match(frag) or re.match(
            r'\s*(return|if|while|for|switch|do|case|goto|else)\b', frag):
        return set()
    found = set(re.findall(r'\(\s*\*\s*(\w+)\s*\)\s*\(', frag))
    m = re.match(r'[^(]*?(\w+)\s*\(', frag)
    if m and m.group(1).isupper():
        # A macro that declares (DECLARE_*, TRACE_EVENT): its arguments too
        found |= set(IDENT.findall(frag))
    elif m:
        found.add(m.group(1))
    else:
        found |= set(re.findall(r'(\w+)\s*(?:[;=,\[:}]|$)', frag))
    return {n for n in found if not n[0].isdigit()} - NOT_NAMES


def balanced(lines):
    depth = 0
    for ln in lines:
        m = DIRECTIVE.match(ln)
        if not m:
            continue
        d = m.group(1)
        if d in COND_OPEN:
            depth += 1
        elif d in COND_MID and depth == 0:
            return False
        elif d in COND_END:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def structs_at(t, lines):
    """The structs and unions whose bodies hold any of LINES of T"""
    found, stack, line = set(), [], 0
    for m in re.finditer(r'\b(?:struct|union)\s+(\w+)\s*\{|[{}\n]', t):
        s = m.group(0)
        if s == '\n':
            line += 1
            named = [n for n in stack if n]
            if named and line in lines:
                found.add(named[-1])
        elif s == '}':
            if stack:
                stack.pop()
        else:
            stack.append(m.group(1))
            if line in lines and m.group(1):
                found.add(m.group(1))
    return found


def change(src, old, h):
    """(names, structs), or None when every target must be compiled"""
    a = strip(git(src, 'show', f'{old}:{h}', ok=(0, 128)))
    b = text(src, h)
    al = [ln.rstrip() for ln in a.split('\n')]
    bl = [ln.rstrip() for ln in b.split('\n')]
    gone, new = set(), set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
            None, al, bl, autojunk=False).get_opcodes():
        if tag == 'equal':
            continue
        block = al[i1:i2] + bl[j1:j2]
        whole = tag != 'replace' and balanced(block)
        for ln in block:
            m = DIRECTIVE.match(ln)
            if m and m.group(1) not in ('define', 'undef') and not (
                    whole and m.group(1) in COND_OPEN | COND_MID | COND_END):
                return None
        gone.update(range(i1, i2))
        new.update(range(j1, j2))
    if not gone and not new:
        return set(), set()
    names = set()
    for t, changed in ((a, gone), (b, new)):
        for first, last, frag in fragments(t):
            if any(first <= n <= last for n in changed):
                names |= declared(frag)
    if not names:
        return None
    # What the header declares by way of the changed names
    frags = [f for _, _, f in fragments(b)]
    while True:
        more = set()
        for f in frags:
            if set(IDENT.findall(f)) & names:
                more |= declared(f)
        if more <= names:
            break
        names |= more
    return names, structs_at(a, gone) | structs_at(b, new)


def containers(src, universe, structs):
    """STRUCTS, the structs that embed them by value, and their typedefs,
    to a fixed point"""
    out, new = set(structs), set(structs)
    while new:
        pat = '|'.join(sorted(new))
        embed = re.compile(r'\b(?:struct|union)\s+(?:' + pat +
                           r')\s+\w+\s*[;\[]')
        tdef = re.compile(r'\btypedef\s+(?:struct|union)\s+(?:' + pat +
                          r')\s+(\w+)\s*;')
        found = set()
        for f in universe:
            if not names_in(src, f) & new:
                continue
            t = text(src, f)
            found.update(tdef.findall(t))
            for m in embed.finditer(t):
                found |= structs_at(t, {t.count('\n', 0, m.start())})
        new = found - out
        out |= new
    return out


def makefile_named(src, h):
    return bool(git(src, 'grep', '-lwF', os.path.basename(h), '--',
                    '*Makefile*', '*Kbuild*', '*.mk', ':!tools', ok=(0, 1)))


def main():
    obj, src, old, new = sys.argv[1:5]
    headers = [h for h in git(src, 'diff', '--no-ext-diff', '--name-only',
                              old, new).split() if h.endswith('.h')]
    deps, sources = targets(obj, src)
    chosen = set()
    for h in headers:
        users = sorted(t for t, d in deps.items() if h in d)
        if not users or makefile_named(src, h):
            continue
        print('header', h)
        built = [t for t in users if t.endswith('.o') and
                 not t.startswith('arch/x86/boot/') and
                 os.path.exists(os.path.join(src, sources.get(t, '-')))]
        sel = {t for t in users if t.endswith('.s')}
        what = change(src, old, h)
        if what is None:
            sel = set(users)
            why = 'all: #include, #pragma or conditional, or no name'
        elif what == (set(), set()):
            sel, why = set(), 'comments only'
        else:
            names, structs = what
            universe = set().union(*(deps[t] for t in users))
            named = {f for f in universe if names_in(src, f) & names} - {h}
            if structs:
                every = containers(src, universe, structs)
                pat = '|'.join(sorted(every))
                lay = (re.compile(LAYOUT.format(ASSERT, pat)),
                       re.compile(r'\b(?:{})\s*\([^;]*\b(?:{})\b'.format(
                           ASSERT, pat)))
                named |= {f for f in universe
                          if names_in(src, f) & every and
                          lay[f.endswith('.h')].search(text(src, f))}
            sel |= {t for t in users if deps[t] & named}
            if built and not sel & set(built):
                sel.add(built[0])
            why = (f'names: {" ".join(sorted(names)[:8])}'
                   f'{" ..." if len(names) > 8 else ""}'
                   f'{"; structs: " + " ".join(sorted(structs)) if structs else ""}')
        print(f'# {h}: {len(sel)} of the {len(users)} targets that include '
              f'it ({why})', file=sys.stderr)
        chosen |= sel
    for t in sorted(chosen):
        print('target', t)


main()
