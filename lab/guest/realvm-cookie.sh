# SPDX-License-Identifier: GPL-2.0
#
# lab/guest/realvm.sh with QEMU started the way libvirt's sched_core= and
# util-linux's coresched start a VMM, in a core scheduling cookie of its
# own process (realvm.sh -c), under a test name of its own.
exec sh /lab/realvm.sh -c "$@"
