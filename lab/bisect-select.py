#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the per-patch build check compiles when a patch changes headers.

usage: bisect-select.py OBJ SRC FROM TO

OBJ is a kbuild output directory whose objects were compiled from SRC at
FROM; SRC is now checked out at TO.  Prints one line per decision:

  header H   a header FROM..TO changed: the caller makes it look old, so
             that kbuild does not recompile everything that includes it
  target T   a target (relative to OBJ) that must be compiled again: the
             caller deletes it

A change to a header can break only the code that names what changed:
the identifiers on its changed lines (not counting comments, keywords and
the basic types), the macros whose bodies name those (to a fixed point),
and code that takes the size or an offset of a struct whose members
changed.  So a target that includes a changed header is compiled when its
source or one of its other dependencies names one of those, and for each
header one target that includes it is compiled in any case, for the
header's own inline code.  A changed #include line means any identifier
may now clash: every target that includes the header is compiled.  What
this does not see: a layout assumption written without the struct's name
(sizeof(*p) in a static assertion).  The tip of the series is compiled
whole, so it has no such gap.
"""
import os
import re
import subprocess
import sys

NOT_NAMES = set('''
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Bool bool true false asm typeof NULL
    define undef ifdef ifndef endif elif defined include error warning
    u8 u16 u32 u64 s8 s16 s32 s64 size_t
    __u8 __u16 __u32 __u64 __s8 __s16 __s32 __s64 __always_inline
'''.split())
IDENT = re.compile(r'\b[A-Za-z_]\w*\b')
HUNK = re.compile(r'^@@ [^@]* @@ ?(.*)$')
STRUCT = re.compile(r'\b(struct|union)\s+(\w+)\s*\{')


def git(src, *args):
    return subprocess.run(['git', '-C', src] + list(args), check=True,
                          capture_output=True, text=True).stdout


def targets_and_deps(obj, src):
    """{target: the SRC-relative files it was compiled from}"""
    # Relative when ccache compiled it (CCACHE_BASEDIR), else absolute
    prefixes = (os.path.relpath(src, obj) + '/', os.path.abspath(src) + '/')
    block = re.compile(r'^(?:source|deps)_(\S+) :=((?:.*\\\n)*.*)', re.M)
    out = {}
    for root, dirs, files in os.walk(obj):
        for f in files:
            if not (f.startswith('.') and f.endswith('.cmd')):
                continue
            with open(os.path.join(root, f), errors='replace') as fh:
                text = fh.read()
            for m in block.finditer(text):
                paths = m.group(2).replace('\\', ' ').split()
                out.setdefault(m.group(1), set()).update(
                    p[len(x):] for p in paths for x in prefixes
                    if p.startswith(x))
    return {t: d for t, d in out.items() if d}


def changed_lines(diff):
    """[(hunk context, [changed lines])] of a -U0 diff of one file"""
    hunks = []
    for line in diff.splitlines():
        m = HUNK.match(line)
        if m:
            hunks.append((m.group(1), []))
        elif hunks and line[:1] in '+-' and not line.startswith(('+++',
                                                                '---')):
            hunks[-1][1].append(line[1:])
    return hunks


def names(lines):
    text = '\n'.join(lines)
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//.*', ' ', text)
    text = re.sub(r'"(\\.|[^"\\])*"', ' ', text)
    # What is left of a comment the hunk opens or closes
    text = re.sub(r'/\*.*', ' ', text, flags=re.S)
    text = '\n'.join(ln for ln in text.splitlines()
                     if not re.match(r'\s*\*', ln) and '*/' not in ln)
    return set(IDENT.findall(text)) - NOT_NAMES


_text = {}


def text(src, f):
    if f not in _text:
        try:
            with open(os.path.join(src, f), errors='replace') as fh:
                _text[f] = fh.read()
        except OSError:
            _text[f] = ''
    return _text[f]


_names = {}


def names_in(src, f):
    if f not in _names:
        _names[f] = set(IDENT.findall(text(src, f)))
    return _names[f]


DEFINE = re.compile(r'^[ \t]*#[ \t]*define[ \t]+(\w+)(\([^)]*\))?'
                    r'((?:.*\\\n)*.*)', re.M)


def macros_naming(src, files, idents):
    """Macros defined in FILES whose bodies name one of IDENTS"""
    found = set()
    for f in files:
        for m in DEFINE.finditer(text(src, f)):
            params = set(IDENT.findall(m.group(2) or ''))
            if (set(IDENT.findall(m.group(3))) - params) & idents:
                found.add(m.group(1))
    return found


def naming(src, universe, idents, enough):
    """The files of UNIVERSE that name IDENTS or a macro that does, to a
    fixed point, or until ENOUGH(files) says that more would change
    nothing"""
    idents = set(idents)
    files = new_files = {f for f in universe if names_in(src, f) & idents}
    while not enough(files):
        new = macros_naming(src, new_files, idents) - idents
        if not new:
            break
        idents |= new
        new_files = {f for f in universe if names_in(src, f) & new}
        files |= new_files
    return files


LAYOUT = (r'(?:sizeof|offsetof|offsetofend|sizeof_field|struct_size)'
          r'\s*\(\s*(?:struct|union)\s+(\w+)|\bOFFSET\s*\(\s*\w+\s*,\s*(\w+)')


def layout_users(src, universe, structs):
    """Sources that take the size or a member's offset of STRUCTS

    A header's own uses are compiled with any target that includes it.
    """
    return {f for f in universe if f.endswith(('.c', '.S')) and structs &
            {a or b for a, b in re.findall(LAYOUT, text(src, f))}}


def main():
    obj, src, old, new = sys.argv[1:5]
    headers = [h for h in git(src, 'diff', '--name-only', old, new).split()
               if h.endswith('.h')]
    deps = targets_and_deps(obj, src)
    chosen = set()
    for h in headers:
        print('header', h)
        users = sorted(t for t, d in deps.items() if h in d)
        if not users:
            continue
        hunks = changed_lines(git(src, 'diff', '-U0', old, new, '--', h))
        lines = [ln for _, ctx in hunks for ln in ctx]
        if any(re.match(r'\s*#\s*include\b', ln) for ln in lines):
            sel = set(users)
        else:
            def enough(files):
                return all(deps[t] & (files - {h}) for t in users)
            universe = set().union(*(deps[t] for t in users))
            named = naming(src, universe, names(lines), enough) - {h}
            structs = {m.group(2) for c, _ in hunks
                       for m in [STRUCT.search(c)] if m}
            named |= layout_users(src, universe, structs)
            sel = {t for t in users if deps[t] & named}
            if not sel:
                sel.add(users[0])
        print(f'# {h}: {len(sel)} of the {len(users)} targets that '
              'include it', file=sys.stderr)
        chosen |= sel
    for t in sorted(chosen):
        print('target', t)


main()
