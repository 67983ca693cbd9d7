# SPDX-License-Identifier: GPL-2.0
#
# The negative control of coresched=vm's invariant checker and of the
# guest-side timeline test (kvm/x86_64/coresched_timeline_test): with a
# fault injected into the protocol through
# /sys/kernel/debug/sched/coresched/inject (skip-kick: a VM-exit does not
# kick its siblings out of guest mode; skip-wait: it does not wait until
# they are out), the checker must count violations, and with skip-kick the
# timeline test must fail for the reason it exists (a vCPU ran guest code
# across host code); with nothing injected, the same test passes and the
# count stands still.  With skip-wait the kick still reaches the sibling
# within microseconds, less than the timeline resolves when a kicked vCPU
# takes milliseconds to come back (the host emulated): the timeline's
# verdict is printed, not judged.  TAP, one point per check.  For the debug kernel
# (CONFIG_SCHED_CORE_VM_DEBUG) booted with coresched=vm.
#
# NEGATIVE_KINDS: the timeline test's exit kinds (default cpuid,io).

dir=/sys/kernel/debug/sched/coresched
bin=/selftests/kvm/x86_64/coresched_timeline_test
kinds=${NEGATIVE_KINDS:-cpuid,io}
out=/tmp/negative.out
# shellcheck disable=SC1091 # the image's copy of lab/guest/tap-point.sh
. /lab/tap-point.sh

violations() {
	awk '$1 == "violations" { print $2 }' "$dir/stats" 2>/dev/null
}

# timeline INJECT: run the test with INJECT in place; its output as
# diagnostics.  Sets rc and crossed (1 if it saw guest code across host
# code).
timeline() {
	echo "# inject=$1: $bin -m vm -k $kinds"
	echo "$1" > "$dir/inject"
	(cd "${bin%/*}" && "./${bin##*/}" -m vm -k "$kinds") > "$out" 2>&1
	rc=$?
	echo none > "$dir/inject"
	sed 's/^/# /' "$out"
	crossed=0
	grep -q 'A ran guest code across' "$out" && crossed=1
}

echo "TAP version 13"
echo "1..6"
failed=0

if ! echo none > "$dir/inject" 2>/dev/null; then
	echo "# no fault injection: $dir/inject is missing or refuses 'none'"
	for t in "checker counts violations" "no injection: timeline passes" \
		"no injection: no violation" "skip-kick: timeline fails" \
		"skip-kick: violations" "skip-wait: violations"; do
		point 1 "$t"
	done
	exit 1
fi

v0=$(violations)
[ -n "$v0" ]
point $? "the checker counts violations (CONFIG_SCHED_CORE_VM_DEBUG)"
v0=${v0:-0}

timeline none
v1=$(violations)
[ "$rc" = 0 ]
point $? "no injection: the timeline test passes (exit $rc)"
[ "${v1:-0}" = "$v0" ]
point $? "no injection: no violation ($v0 -> ${v1:-?})"

for fault in skip-kick skip-wait; do
	before=$(violations)
	timeline "$fault"
	after=$(violations)
	if [ "$fault" = skip-kick ]; then
		[ "$rc" != 0 ] && [ "$crossed" = 1 ]
		point $? "$fault: the timeline test fails, guest code seen across host code (exit $rc)"
	else
		echo "# $fault: the timeline test exited $rc (crossed: $crossed)"
	fi
	[ "${after:-0}" -gt "${before:-0}" ]
	point $? "$fault: the checker counts violations (${before:-?} -> ${after:-?})"
done

exit "$failed"
