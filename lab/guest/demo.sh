# SPDX-License-Identifier: GPL-2.0
#
# The guest side of "make run" (lab/run.sh): what the guest sees, then the
# measurements, as "key=value" lines that the host formats into a report.
# The measurements are the tests' own (lab/src/cs_measure.c, on the
# coresched selftests' measurement and verdicts):
#   cpu ...       one line per CPU, from sysfs
#   topo ...      the topology as the tests read it
#   measure ...   one per measurement, ending in ok=1 (as claimed) or ok=0
#   status ...    each section's exit code: 0 as claimed, 1 contradicted,
#                 2 could not measure
# Each section is a function; run.sh formats the sections it knows.

DURATION_MS=${LAB_DEMO_MS:-2000}

section_machine() {
	echo "info kernel=$(uname -r) mode=$(cat /sys/kernel/debug/sched/coresched/mode 2>/dev/null || echo none) smt_active=$(cat /sys/devices/system/cpu/smt/active)"
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		t=$c/topology
		[ -d "$t" ] || continue
		echo "cpu n=${c##*cpu} package=$(cat "$t/physical_package_id") core=$(cat "$t/core_id") siblings=$(cat "$t/thread_siblings_list")"
	done
	/lab/bin/cs_measure topo
	echo "status section=machine rc=$?"
}

# Two tasks on the two siblings of one core: different prctl cookies,
# then the same cookie.
section_cookies() {
	/lab/bin/cs_measure cookies -d "$DURATION_MS"
	echo "status section=cookies rc=$?"
}

# Two cgroup tenants, cpu.core_sched=1 each, one task in each.
section_tenants() {
	/lab/bin/cs_measure tenants -d "$DURATION_MS"
	echo "status section=tenants rc=$?"
}

# The KVM demonstration needs coresched=on and coresched=vm: lab/run.sh
# boots twice more for it and runs the test itself
# (kvm/x86_64/coresched_timeline_test).

for s in machine cookies tenants; do
	echo "section name=$s"
	"section_$s"
done
