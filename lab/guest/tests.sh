# SPDX-License-Identifier: GPL-2.0
#
# Run the kselftests of /lab/tests.list that belong to this run's mode
# (lab.mode=, default "default").  The tests planned are announced first,
# one "# lab-test-plan: NAME" each, so that the host can fail a test that
# never ran; then each test's output is framed by "# lab-test-begin: NAME"
# and "# lab-test-end: NAME rc=N" so the host can attribute TAP lines and
# exit codes to tests.  Each test runs in a session of its own, killed
# whole when it ends: a test stopped by its timeout leaves no workers
# behind to disturb the next one.

mode=${LAB_MODE:-default}
IFS=, read -r LAB_SOCKETS LAB_CORES LAB_THREADS <<EOT
${LAB_TOPO:-1,1,2}
EOT
export LAB_SOCKETS LAB_CORES LAB_THREADS
plan=/tmp/lab-tests.plan

echo "# lab: mode=$mode topo=$LAB_TOPO kernel=$(uname -r)"
echo "# lab: cmdline: $(cat /proc/cmdline)"

# The tests of this mode (lab.only=a/b,c/d narrows them), as in the list.
grep -v '^#' /lab/tests.list | while read -r modes tmo test args; do
	[ -n "$test" ] || continue
	case ",$modes," in
	*",$mode,"* | *",*,"*) ;;
	*) continue ;;
	esac
	[ -z "$LAB_ONLY" ] || case ",$LAB_ONLY," in
		*",$test,"*) ;;
		*) continue ;;
	esac
	echo "$tmo $test $args"
done > "$plan"
while read -r tmo test args; do
	echo "# lab-test-plan: $test"
done < "$plan"
# A name in lab.only that this mode does not have is a mistake, not a pass.
for t in $(echo "$LAB_ONLY" | tr ',' ' '); do
	grep -q " $t\( \|$\)" "$plan" || echo "# lab-test-plan: $t"
done

# run_test TIMEOUT COMMAND...: in a session of its own, killed whole after.
# The inner shell stays the session leader (no exec): busybox's timeout
# runs the command in its own process, which as a session leader could
# not start a process group of its own (sched/cs_prctl_test does).
run_test() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	setsid sh -c 'echo $$ > /tmp/lab-test.pgid; timeout "$@"; exit $?' sh "$@" < /dev/null
	rc=$?
	kill -9 -"$(cat /tmp/lab-test.pgid)" 2>/dev/null
	return $rc
}

while read -r tmo test args; do
	args=$(eval echo "$args")
	echo "# lab-test-begin: $test"
	case $test in
	lab/*)
		# A guest script of the lab that prints TAP itself.
		# shellcheck disable=SC2086
		run_test "$tmo" sh "/$test.sh" $args
		rc=$?
		;;
	*)
		# suite/test or suite/dir/test (kvm/x86_64/NAME): run from
		# the test's own directory, as kselftest's runner does.
		if cd "/selftests/${test%/*}" 2>/dev/null; then
			# shellcheck disable=SC2086
			run_test "$tmo" "./${test##*/}" $args
			rc=$?
			cd /
		else
			echo "# lab: no suite /selftests/${test%/*}"
			rc=127
		fi
		;;
	esac
	echo "# lab-test-end: $test rc=$rc"
done < "$plan"
