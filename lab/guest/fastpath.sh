# SPDX-License-Identifier: GPL-2.0
#
# Exits that KVM handles in guest mode (its fastpath) under coresched=vm,
# beside a sibling that keeps taking the core for the host.  A VM's vCPU
# on CPU0 writes the x2APIC ICR in a loop (kvm_workload -w fastpath: an
# IPI to nobody, each write a fastpath exit), while a task on its sibling
# CPU1 wakes every millisecond, taking the core for the host from the idle
# loop, which kicks CPU0.
#
#   - the fastpath ran in guest mode (fastpath_exits grew), and some of
#     its exits found the sibling taking the core and ended the slow way
#     rather than re-enter for an entry the kick would end at once
#     (fastpath_yields grew): a kernel that re-enters anyway counts none;
#   - the control: the same with a guest that makes no exits of its own
#     (-w cpu): the sibling's wakes kicked it (kicks_sent grew) and
#     neither fastpath counter moved, so they count fastpath exits only.
#
# TAP, one point per check.

dir=/sys/kernel/debug/sched/coresched
# shellcheck disable=SC1091 # the image's copy of lab/guest/tap-point.sh
. /lab/tap-point.sh
failed=0

stat() {
	awk -v k="$1" '$1 == k { print $2 }' "$dir/stats"
}

# run WORKLOAD: the VM's vCPU on CPU0, the waking task on CPU1.  Sets rc
# (the VM's) and exits, yields, kicks (the counters' change).
run() {
	e0=$(stat fastpath_exits) y0=$(stat fastpath_yields) k0=$(stat kicks_sent)
	taskset -c 1 sh -c 'while :; do usleep 1000; done' &
	busy=$!
	/lab/bin/kvm_workload -w "$1" -n 1 -v 1 -c 0 -t 4 > /tmp/fastpath.vm 2>&1
	rc=$?
	kill $busy
	busy=
	exits=$(($(stat fastpath_exits) - e0)) yields=$(($(stat fastpath_yields) - y0))
	kicks=$(($(stat kicks_sent) - k0))
	echo "# -w $1: VM exit $rc, fastpath_exits +$exits, fastpath_yields +$yields," \
		"kicks_sent +$kicks"
	sed 's/^/# /' /tmp/fastpath.vm
}

echo "TAP version 13"
echo "1..4"
busy=
trap '[ -z "$busy" ] || kill $busy 2>/dev/null' EXIT
trap 'exit 1' TERM INT HUP
if [ "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)" != 0-1 ] ||
   [ "$(cat "$dir/mode" 2>/dev/null)" != vm ] || [ -z "$(stat fastpath_yields)" ]; then
	echo "# needs CPU0/CPU1 siblings, coresched=vm and fastpath_yields in $dir/stats"
	for _ in 1 2 3 4; do point 1 "setup"; done
	exit 1
fi

run fastpath
[ "$rc" = 0 ]
point $? "the VM's vCPU ran its ICR writes beside a waking sibling (exit $rc)"
[ "$exits" -gt 0 ] && [ "$yields" -gt 0 ]
point $? "exits handled in guest mode re-entered, and those that found the sibling taking the core ended the slow way: fastpath_exits +$exits, fastpath_yields +$yields"

run cpu
[ "$rc" = 0 ]
point $? "control: the VM's vCPU ran beside a waking sibling (exit $rc)"
[ "$kicks" -gt 0 ] && [ "$exits" = 0 ] && [ "$yields" = 0 ]
point $? "control: a guest without exits of its own was kicked, no fastpath counted: kicks_sent +$kicks, fastpath_exits +$exits, fastpath_yields +$yields"
exit "$failed"
