# SPDX-License-Identifier: GPL-2.0
# Print what the guest sees: kernel, command line, SMT topology.
echo "kernel:   $(uname -r)"
echo "cmdline:  $(cat /proc/cmdline)"
echo "smt:      active=$(cat /sys/devices/system/cpu/smt/active) control=$(cat /sys/devices/system/cpu/smt/control)"
for c in /sys/devices/system/cpu/cpu[0-9]*; do
	t=$c/topology
	[ -d "$t" ] || continue
	echo "$(basename "$c"): package $(cat "$t/physical_package_id") core $(cat "$t/core_id") siblings $(cat "$t/thread_siblings_list")"
done
