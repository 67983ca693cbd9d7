# SPDX-License-Identifier: GPL-2.0
#
# The base tree's own KVM selftests as a regression check of the series:
# runs the tests of /lab/kvm-selftests.list (lab/kvm-selftests.list) from
# /selftests/kvm/ one by one and prints TAP, one test point per selftest,
# by its exit code: 0 passes; anything else, a crash or running past
# KVM_TIMEOUT seconds fails, and so does 4, kselftest's skip: every test
# of the list passed on the vanilla kernel when it was chosen, so one that
# skips now, on vanilla or under the series, lost what it tests (a
# regression, or an environment that no longer has what the test needs).
# A missing or empty list fails.  A test's own output is kept as "#" lines
# only when it did not pass.
#
# Run as the guest script of a lab run (lab.run=kvm-regression), its TAP
# is framed as the test "kvm/regression" the way tests.sh frames tests.
# KVM_LIST, KVM_DIR and KVM_TIMEOUT override the list, the directory and
# the per-test timeout (default 300 s).

list=${KVM_LIST:-/lab/kvm-selftests.list}
dir=${KVM_DIR:-/selftests/kvm}
tmo=${KVM_TIMEOUT:-300}
framed=
[ "$LAB_RUN" = kvm-regression ] && framed=1

# The list: one test a line, "#" starts a comment.
tests=$(sed 's/#.*//' "$list" 2>/dev/null | awk 'NF { print $1 }')
n=$(echo "$tests" | grep -c .)

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

run_one() {
	i=$1 t=$2
	out=/tmp/kvm-regression.out
	start=$(uptime_s)
	(cd "$dir/$(dirname "$t")" && timeout "$tmo" "./$(basename "$t")") \
		> "$out" 2>&1 < /dev/null
	rc=$?
	secs=$(awk -v a="$start" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
	0)
		echo "# $t: ${secs}s"
		echo "ok $i $t"
		;;
	4)
		sed 's/^/# /' "$out" | tail -n 5
		echo "# $t: skipped (exit code 4) after ${secs}s, but it passed on vanilla"
		echo "not ok $i $t"
		failed=$((failed + 1))
		;;
	*)
		sed 's/^/# /' "$out" | tail -n 30
		if [ "$rc" = 124 ] || [ "$rc" = 143 ]; then
			echo "# $t: still running after ${tmo}s: killed"
		elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
			echo "# $t: killed by signal $((rc - 128))"
		fi
		echo "# $t: exit code $rc after ${secs}s"
		echo "not ok $i $t"
		failed=$((failed + 1))
		;;
	esac
}

[ -n "$framed" ] && echo "# lab-test-begin: kvm/regression"
echo "# kvm regression: $n tests from $list, kernel $(uname -r)"
echo "# cmdline: $(cat /proc/cmdline)"
echo "TAP version 13"
failed=0
i=0
if [ "$n" = 0 ]; then
	# Nothing to run is nothing tested: one point, failed.
	echo "1..1"
	echo "# no test in $list ($([ -r "$list" ] && echo empty || echo missing))"
	echo "not ok 1 the list of KVM selftests"
	failed=1
	n=1
elif [ ! -e /dev/kvm ]; then
	echo "1..$n"
	# The runs that call this expect KVM: without it nothing was tested.
	for t in $tests; do
		i=$((i + 1))
		echo "not ok $i $t # no /dev/kvm"
	done
	failed=$n
else
	echo "1..$n"
	for t in $tests; do
		i=$((i + 1))
		run_one "$i" "$t"
	done
fi
echo "# kvm regression: $((n - failed)) of $n passed"
rc=0
[ "$failed" = 0 ] || rc=1
[ -n "$framed" ] && echo "# lab-test-end: kvm/regression rc=$rc"
exit "$rc"
