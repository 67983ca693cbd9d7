# SPDX-License-Identifier: GPL-2.0
# Guest script for the lab's own tests: provoke the failure named by
# lab.fault= through LKDTM (WARNING, PANIC), hang (HUNG; after a WARNING:
# WARNHUNG), compute 30 s in silence (SPIN: longer than the 15 s of
# silence after which the self-test's host takes an idle guest as hung,
# plus up to 5 s to the host's next look and the second that "date"'s
# whole seconds may lose, with room for a console line that comes late),
# print the TAP of a failing test and of a test that never starts (TAP),
# judge two untagged tasks as if they had to be isolated (ISOLATED:
# cs_measure untagged, whose exit code must say "contradicted"), provoke a
# WARNING 10 s after the script ended (LATE), or do nothing (NONE), so the
# host can check that the harness reports each.
echo "# provoking $LAB_FAULT"
case $LAB_FAULT in
NONE)	;;
HUNG)	sleep 100000 ;;
SPIN)
	end=$(($(date +%s) + 30))
	while [ "$(date +%s)" -lt "$end" ]; do :; done ;;
WARNHUNG)
	echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT
	sleep 100000 ;;
TAP)
	echo "# lab-test-plan: fault/passes"
	echo "# lab-test-plan: fault/fails"
	echo "# lab-test-plan: fault/never-starts"
	for t in passes fails; do
		echo "# lab-test-begin: fault/$t"
		echo "TAP version 13"
		echo "1..1"
		[ $t = passes ] && echo "ok 1 a point that passes"
		[ $t = fails ] && echo "not ok 1 a point that fails"
		echo "# lab-test-end: fault/$t rc=0"
	done
	;;
LATE)
	# A report that comes after the script, as a detector's does.
	(sleep 10; echo WARNING > /sys/kernel/debug/provoke-crash/DIRECT) &
	;;
ISOLATED)
	/lab/bin/cs_measure untagged
	echo "# lab-measure: rc=$?"
	;;
*)	echo "$LAB_FAULT" > /sys/kernel/debug/provoke-crash/DIRECT ;;
esac
echo "# still alive after $LAB_FAULT"
