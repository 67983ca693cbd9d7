# SPDX-License-Identifier: GPL-2.0
#
# NMIs at a CPU whose sibling runs guest code, under coresched=vm on the
# debug kernel (CONFIG_SCHED_CORE_VM_DEBUG), on two cores of two threads:
# the NMI handler is host code, so the entry code must take the core (kick
# the sibling out of guest mode and wait) before it runs.  A VM's two
# vCPUs spin in the guest on the siblings CPU0 and CPU1 while CPU2, on the
# other core, sends test NMIs to CPU1 through the debugfs "nmi" file.
#
#   - the NMI path took the core (nmi_takes grew) and the invariant checker
#     counted no violation;
#   - the negative control: with skip-wait injected (a take that does not
#     wait for the sibling to leave guest mode) the same NMIs make the
#     checker count violations, so the first check can fail.
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
	t0=$(stat nmi_takes) v0=$(stat violations)
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
	echo "# inject=$1: $nmis NMIs (writer exit $sent), VM exit $rc," \
		"nmi_takes +$takes, violations +$viol"
	sed 's/^/# /' /tmp/nmi.vm
}

echo "TAP version 13"
echo "1..4"
if [ "$(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)" != 0-1 ] ||
   [ ! -w "$dir/nmi" ] || ! echo none > "$dir/inject" 2>/dev/null; then
	echo "# needs CPU0/CPU1 siblings, a CPU2, and $dir/nmi and inject" \
		"(the debug kernel under coresched=vm)"
	for _ in 1 2 3 4; do point 1 "setup"; done
	exit 1
fi

burst none
[ "$rc" = 0 ]
point $? "the VM's vCPUs ran while CPU1 took NMIs (exit $rc)"
[ "$takes" -gt 0 ] && [ "$viol" = 0 ]
point $? "NMIs at a sibling of guest code took the core: nmi_takes +$takes, violations +$viol"

burst skip-wait
[ "$rc" = 0 ]
point $? "skip-wait: the VM's vCPUs ran (exit $rc)"
[ "$viol" -gt 0 ]
point $? "skip-wait: the checker counts violations (+$viol)"
exit "$failed"
