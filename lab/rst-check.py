#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Parse reST documentation with docutils; any warning or error fails.

usage: rst-check.py KERNEL_DOC SRCTREE... -- FILE.rst...

The kernel's documentation is built by Sphinx with extensions that plain
docutils does not know.  The one the series uses, ``.. kernel-doc::``, is
done here as Documentation/sphinx/kerneldoc.py does it: scripts/kernel-doc
(KERNEL_DOC) turns the named comment of the source file into reST, which
is parsed in place, so that the text it pulls in is checked as well.  The
source path is looked up in each SRCTREE in turn (the repository first,
then the patched tree for upstream files).  A file that is not there, a
DOC: section that is not in it, or a kernel-doc warning on the file fails,
as they make warnings in "make htmldocs".  Only :doc: is supported: the
other options produce Sphinx C-domain markup that docutils cannot parse,
so they fail rather than pass unchecked.  Every other directive or role
docutils does not know stays an error.
"""
import os
import subprocess
import sys

import docutils.core
from docutils import nodes
from docutils.parsers.rst import Directive, directives
from docutils.statemachine import StringList
from docutils.utils import SystemMessage

KERNEL_DOC = None
SRCTREES = []


class KernelDoc(Directive):
    required_arguments = 1
    has_content = False
    option_spec = {
        'doc': directives.unchanged_required,
        'export': directives.unchanged,
        'internal': directives.unchanged,
        'identifiers': directives.unchanged,
        'no-identifiers': directives.unchanged,
        'functions': directives.unchanged,
    }

    def run(self):
        path = self.arguments[0]
        others = sorted(set(self.options) - {'doc'})
        if others or 'doc' not in self.options:
            raise self.error('kernel-doc: only :doc: is checked here, not %s'
                             % (', '.join(':%s:' % o for o in others) or 'none'))
        src = next((os.path.join(t, path) for t in SRCTREES
                    if os.path.isfile(os.path.join(t, path))), None)
        if src is None:
            raise self.error('kernel-doc: no %s in %s' % (path, ', '.join(SRCTREES)))

        # The version only selects between Sphinx markup styles; a DOC:
        # section comes out the same in all of them.
        cmd = ['perl', KERNEL_DOC, '-rst', '-sphinx-version', '3.4.3',
               '-function', self.options['doc'], src]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode or res.stderr.strip():
            raise self.error('kernel-doc %s (exit %d): %s'
                             % (path, res.returncode,
                                '; '.join(res.stderr.strip().splitlines())))
        if not res.stdout.strip():
            raise self.error('kernel-doc: nothing for DOC: %s in %s'
                             % (self.options['doc'], path))

        text = StringList(res.stdout.splitlines(), source=src)
        node = nodes.section()
        self.state.nested_parse(text, self.content_offset, node, match_titles=1)
        return node.children


def main(argv):
    global KERNEL_DOC, SRCTREES
    if '--' not in argv or argv.index('--') < 2:
        sys.exit(__doc__.split('\n\n')[1])
    sep = argv.index('--')
    KERNEL_DOC, SRCTREES, files = argv[0], argv[1:sep], argv[sep + 1:]
    directives.register_directive('kernel-doc', KernelDoc)
    for f in files:
        with open(f) as fh:
            src = fh.read()
        # halt_level 2: the first warning stops the parse and fails.
        try:
            docutils.core.publish_doctree(src, source_path=f,
                                          settings_overrides={'halt_level': 2,
                                                              'report_level': 2})
        except SystemMessage:
            # docutils has printed it.
            sys.exit(1)


if __name__ == '__main__':
    main(sys.argv[1:])
