# SPDX-License-Identifier: GPL-2.0
#
# Run the kselftests of /lab/tests.list that belong to this run's mode
# (lab.mode=, default "default").  The tests planned are announced first,
# one "# lab-test-plan: NAME" each (the host, which makes the same plan
# from its own tests.list, fails a run whose image planned otherwise);
# then each test's output is framed by "# lab-test-begin: NAME" and
# "# lab-test-end: NAME rc=N" so the host can attribute TAP lines and exit
# codes to tests.  Each test runs in a session of its own, killed whole
# when it ends: a test stopped by its timeout leaves no workers behind to
# disturb the next one.  A test listed as exit:SUITE/TEST prints no TAP of
# its own: its exit code becomes its one test point, as kselftest's runner
# reports every test.  A test listed as retry:TEST, for a fault the base
# tree shows as well, runs again if it fails, three attempts at most
# (retryN:TEST, N from 2 to 9: N attempts at most):
# "# lab-retry: WHY" after a failed attempt's output says so, and the last
# attempt's TAP and exit code are the test's (the host accepts each retry
# only as lab/retries.list expects it).

mode=${LAB_MODE:-default}
IFS=, read -r LAB_SOCKETS LAB_CORES LAB_THREADS <<EOT
${LAB_TOPO:-1,1,2}
EOT
export LAB_SOCKETS LAB_CORES LAB_THREADS
plan=/tmp/lab-tests.plan

# bare FIELD: the test's name, without its retry[N]: or exit: mark.
bare() {
	case $1 in
	retry:* | retry[2-9]:*) _bare=${1#*:} ;;
	*) _bare=$1 ;;
	esac
	echo "${_bare#exit:}"
}

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
		*",$(bare "$test"),"*) ;;
		*) continue ;;
	esac
	echo "$tmo $test $args"
done > "$plan"
while read -r tmo test args; do
	echo "# lab-test-plan: $(bare "$test")"
done < "$plan"
# A name in lab.only that this mode does not have is a mistake, not a pass.
for t in $(echo "$LAB_ONLY" | tr ',' ' '); do
	grep -q " \(retry[2-9]\?:\)\?\(exit:\)\?$t\( \|$\)" "$plan" || echo "# lab-test-plan: $t"
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

# run_one TIMEOUT TEST ARGS...: run one test of the list (no retry: mark),
# its TAP on the output; its exit code in $rc.
run_one() {
	_tmo=$1 _test=$2
	shift 2
	_name=${_test#exit:}
	case $_test in
	exit:*)
		if cd "/selftests/${_name%/*}" 2>/dev/null; then
			echo "TAP version 13"
			echo "1..1"
			run_test "$_tmo" "./${_name#*/}" "$@" > /tmp/lab-test.out 2>&1
			rc=$?
			sed 's/^/# /' /tmp/lab-test.out
			case $rc in
			0) echo "ok 1 $_name" ;;
			4) echo "ok 1 $_name # SKIP exit code 4" ;;
			*) echo "# exit code $rc"; echo "not ok 1 $_name" ;;
			esac
			cd /
		else
			echo "# lab: no suite /selftests/${_name%/*}"
			rc=127
		fi
		;;
	lab/*)
		# A guest script of the lab that prints TAP itself.
		run_test "$_tmo" sh "/$_test.sh" "$@"
		rc=$?
		;;
	*)
		# suite/test or suite/dir/test (kvm/x86_64/NAME): run from
		# the test's own directory, as kselftest's runner does.
		if cd "/selftests/${_test%/*}" 2>/dev/null; then
			run_test "$_tmo" "./${_test##*/}" "$@"
			rc=$?
			cd /
		else
			echo "# lab: no suite /selftests/${_test%/*}"
			rc=127
		fi
		;;
	esac
}

while read -r tmo test args; do
	args=$(eval echo "$args")
	name=$(bare "$test")
	echo "# lab-test-begin: $name"
	case $test in
	retry:* | retry[2-9]:*)
		# Each attempt streams as any test does (a guest that dies
		# meanwhile leaves its output), and is kept to say why it failed.
		most=${test%%:*}
		most=${most#retry}
		most=${most:-3}
		tries=1
		while :; do
			rm -f /tmp/lab-test.rc
			# shellcheck disable=SC2086 # the test's arguments are words
			{ run_one "$tmo" "${test#*:}" $args; echo "$rc" > /tmp/lab-test.rc; } 2>&1 |
				tee /tmp/lab-test.try
			rc=$(cat /tmp/lab-test.rc 2>/dev/null || echo 1)
			if [ "$rc" = 0 ] || [ "$tries" -ge "$most" ]; then
				break
			fi
			why=$(grep -a -m 1 -E 'unexpected exit|not stopped|Unhandled exception|^not ok|did not' /tmp/lab-test.try)
			echo "# lab-retry: exit code $rc: ${why:-$(tail -n 1 /tmp/lab-test.try)}"
			tries=$((tries + 1))
		done
		;;
	*)
		# shellcheck disable=SC2086
		run_one "$tmo" "$test" $args
		;;
	esac
	echo "# lab-test-end: $name rc=$rc"
done < "$plan"
