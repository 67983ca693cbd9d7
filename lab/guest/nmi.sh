# SPDX-License-Identifier: GPL-2.0
#
# NMIs at a CPU whose sibling runs guest code, under coresched=vm on the
# debug kernel (CONFIG_SCHED_CORE_VM_DEBUG), on two cores of two threads:
# the NMI handler is host code, so the entry code must take the core (kick
# the sibling out of guest mode and wait) before it runs.  A VM's two
# vCPUs spin in the guest on the siblings CPU0 and CPU1 while CPU2, on the
# other core, sends test NMIs to CPU1 through the debugfs "nmi" file.
#
#   - the NMI path took the core (nmi_takes grew), the invariant checker
#     counted no violation, and every NMI was claimed (no "unknown reason"
#     in the kernel log);
#   - the negative control: with skip-wait injected (a take that does not
#     wait for the sibling to leave guest mode) the same NMIs make the
#     checker count violations, so the first check can fail.
#
# Then a sibling that does not take the kicks' IPIs.  The fault "stall"
# makes every entry into guest mode spin with interrupts disabled, right
# after its claim, until an NMI takes the core from it (or for two
# seconds): a kicker's IPIs wait in vain, as for a host whose hypervisor
# does not deliver them.  A VM's vCPU spins in the
# guest on CPU0, and a host task on its sibling CPU1 wakes every 10 ms,
# taking the core for the host from the idle loop, which kicks CPU0; the
# fault and the task are on for 4 of the VM's 8 seconds.
#
#   - the waits re-sent their IPIs and then sent NMIs (kick_retries and
#     kick_nmis grew), the NMIs took the core (nmi_takes grew: nothing
#     else sends NMIs here), none went unclaimed (no "unknown reason" in
#     the kernel log), the VM ran to its end, and the invariant checker
#     counted no violation;
#   - a wait that needed NMIs is reported in the kernel log, once: with
#     the once-only messages reset (clear_warn_once) before the stall,
#     one report across it, and none across the control's;
#   - the negative control: with the NMIs turned off (kick_nmi_ns 0) the
#     same fault makes no NMI and no NMI take, so the first checks can
#     fail, and the VM still ends (each stall gives up after its two
#     seconds).
#
# TAP, one point per check.

dir=/sys/kernel/debug/sched/coresched
nmis=${NMI_COUNT:-2000}
# shellcheck disable=SC1091 # the image's copy of lab/guest/tap-point.sh
. /lab/tap-point.sh
failed=0

stat() {
	awk -v k="$1" '$1 == k { print $2 }' "$dir/stats"
}

# burst INJECT: the VM spins on CPU0/CPU1, CPU2 sends $nmis NMIs to CPU1.
# Sets rc (the VM's), takes and viol (their change).
burst() {
	echo "$1" > "$dir/inject"
	t0=$(stat nmi_takes) v0=$(stat violations) u0=$(unknown_nmis)
	/lab/bin/kvm_workload -w cpu -n 1 -v 2 -c 0,1 -t 6 > /tmp/nmi.vm 2>&1 &
	vm=$!
	sleep 1
	taskset -c 2 sh -c "i=0; while [ \$i -lt $nmis ]; do
		echo 1 > $dir/nmi || exit 1; i=\$((i + 1)); done"
	sent=$?
	wait $vm
	rc=$?
	echo none > "$dir/inject"
	takes=$(($(stat nmi_takes) - t0)) viol=$(($(stat violations) - v0))
	unclaimed=$(($(unknown_nmis) - u0))
	echo "# inject=$1: $nmis NMIs (writer exit $sent), VM exit $rc," \
		"nmi_takes +$takes, violations +$viol, unknown NMIs +$unclaimed"
	sed 's/^/# /' /tmp/nmi.vm
}

# stall_burst NMI_NS: the VM spins on CPU0, a task wakes on CPU1, "stall" injected,
# kick_nmi_ns at NMI_NS.  Sets rc (the VM's), retries, nmis, takes and
# viol (their change) and unclaimed (unknown NMIs reported meanwhile).
stall_burst() {
	echo "$1" > "$dir/kick_nmi_ns"
	r0=$(stat kick_retries) n0=$(stat kick_nmis) t0=$(stat nmi_takes)
	v0=$(stat violations) u0=$(unknown_nmis)
	/lab/bin/kvm_workload -w cpu -n 1 -v 1 -c 0 -t 8 > /tmp/stall.vm 2>&1 &
	vm=$!
	# Not for the whole run: the vCPU, stalled until CPU1's NMI takes the
	# core and then kicked out at once, runs no guest code meanwhile, and
	# the workload fails a vCPU that did no work.
	sleep 2
	echo stall > "$dir/inject"
	taskset -c 1 sh -c 'while :; do usleep 10000; done' &
	busy=$!
	sleep 4
	echo none > "$dir/inject"
	kill $busy
	busy=
	wait $vm
	rc=$?
	echo "$nmi0" > "$dir/kick_nmi_ns"
	retries=$(($(stat kick_retries) - r0)) knmis=$(($(stat kick_nmis) - n0))
	takes=$(($(stat nmi_takes) - t0)) viol=$(($(stat violations) - v0))
	unclaimed=$(($(unknown_nmis) - u0))
	echo "# kick_nmi_ns=$1: VM exit $rc, kick_retries +$retries," \
		"kick_nmis +$knmis, nmi_takes +$takes, violations +$viol," \
		"unknown NMIs +$unclaimed"
	sed 's/^/# /' /tmp/stall.vm
}

# The kernel log's reports of waits that needed NMIs.
nmi_reports() {
	dmesg | grep -c 'coresched: CPU[0-9]* waited [0-9]* us for siblings to leave guest mode'
}

unknown_nmis() {
	dmesg | grep -c 'NMI received for unknown reason\|Dazed and confused'
}

echo "TAP version 13"
echo "1..9"
nmi0=$(cat "$dir/kick_nmi_ns" 2>/dev/null)
busy=
# Whatever ends this script, the tests after it run without a fault.
trap '[ -z "$busy" ] || kill $busy 2>/dev/null; echo none > "$dir/inject"
	[ -z "$nmi0" ] || echo "$nmi0" > "$dir/kick_nmi_ns"' EXIT
trap 'exit 1' TERM INT HUP
if [ "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)" != 0-1 ] ||
   [ ! -w "$dir/nmi" ] || [ ! -w "$dir/kick_nmi_ns" ] ||
   [ ! -w /sys/kernel/debug/clear_warn_once ] ||
   ! echo none > "$dir/inject" 2>/dev/null || [ -z "$(stat kick_nmis)" ]; then
	echo "# needs CPU0/CPU1 siblings, a CPU2, $dir/nmi, kick_nmi_ns and" \
		"inject, clear_warn_once, and kick_nmis in the stats (the debug kernel under" \
		"coresched=vm)"
	for _ in 1 2 3 4 5 6 7 8 9; do point 1 "setup"; done
	exit 1
fi

burst none
[ "$rc" = 0 ]
point $? "the VM's vCPUs ran while CPU1 took NMIs (exit $rc)"
[ "$takes" -gt 0 ] && [ "$viol" = 0 ] && [ "$unclaimed" = 0 ]
point $? "NMIs at a sibling of guest code took the core: nmi_takes +$takes, violations +$viol, unknown NMIs +$unclaimed"

burst skip-wait
[ "$rc" = 0 ]
point $? "skip-wait: the VM's vCPUs ran (exit $rc)"
[ "$viol" -gt 0 ]
point $? "skip-wait: the checker counts violations (+$viol)"

echo 1 > /sys/kernel/debug/clear_warn_once
reports0=$(nmi_reports)
stall_burst 100000000
reports=$(nmi_reports)
[ "$rc" = 0 ]
point $? "stall: the VM's vCPU ran to the end (exit $rc)"
[ "$retries" -gt 0 ] && [ "$knmis" -gt 0 ] && [ "$takes" -gt 0 ] &&
	[ "$unclaimed" = 0 ] && [ "$viol" = 0 ]
point $? "stall: the waits sent their IPIs again, then NMIs, which took the core: kick_retries +$retries, kick_nmis +$knmis, nmi_takes +$takes, unknown NMIs +$unclaimed, violations +$viol"

[ $((reports - reports0)) = 1 ]
point $? "the kernel log reports a wait that needed NMIs, once: $((reports - reports0)) report(s) over the stall's $knmis NMIs"

echo 1 > /sys/kernel/debug/clear_warn_once
reports0=$(nmi_reports)
stall_burst 0
reports=$(nmi_reports)
[ "$rc" = 0 ]
point $? "stall, no NMIs: the VM's vCPU ran to the end (exit $rc)"
[ "$knmis" = 0 ] && [ "$takes" = 0 ] && [ "$retries" -gt 0 ] && [ "$reports" = "$reports0" ]
point $? "stall, no NMIs: no NMI was sent or took the core (kick_nmis +$knmis, nmi_takes +$takes), no wait reported ($((reports - reports0))), the IPIs were sent again (kick_retries +$retries)"
exit "$failed"
