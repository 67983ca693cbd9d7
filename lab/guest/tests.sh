# SPDX-License-Identifier: GPL-2.0
#
# Run the kselftests of /lab/tests.list that belong to this run's mode
# (lab.mode=, default "default").  Each test's output is framed by
# "# lab-test-begin: NAME" and "# lab-test-end: NAME rc=N" so the host can
# attribute TAP lines and exit codes to tests.

mode=${LAB_MODE:-default}
IFS=, read -r LAB_SOCKETS LAB_CORES LAB_THREADS <<EOT
${LAB_TOPO:-1,1,2}
EOT
export LAB_SOCKETS LAB_CORES LAB_THREADS

echo "# lab: mode=$mode topo=$LAB_TOPO kernel=$(uname -r)"
echo "# lab: cmdline: $(cat /proc/cmdline)"
grep -v '^#' /lab/tests.list | while read -r modes tmo test args; do
	[ -n "$test" ] || continue
	case ",$modes," in
	*",$mode,"* | *",*,"*) ;;
	*) continue ;;
	esac
	# lab.only=a/b,c/d narrows the run to those tests.
	[ -z "$LAB_ONLY" ] || case ",$LAB_ONLY," in
		*",$test,"*) ;;
		*) continue ;;
	esac
	args=$(eval echo "$args")
	echo "# lab-test-begin: $test"
	case $test in
	lab/*)
		# A guest script of the lab that prints TAP itself.
		# shellcheck disable=SC2086
		timeout "$tmo" sh "/$test.sh" $args < /dev/null
		rc=$?
		;;
	*)
		cd "/selftests/${test%/*}" || exit 1
		# shellcheck disable=SC2086
		timeout "$tmo" "./${test#*/}" $args < /dev/null
		rc=$?
		cd /
		;;
	esac
	echo "# lab-test-end: $test rc=$rc"
done
