# SPDX-License-Identifier: GPL-2.0
# Guest script for the lab's own tests: provoke the failure named by
# lab.fault= through LKDTM (WARNING, PANIC), hang (HUNG), or do nothing
# (NONE), so the host can check that the harness reports each.
echo "# provoking $LAB_FAULT"
case $LAB_FAULT in
NONE)	;;
HUNG)	sleep 100000 ;;
*)	echo "$LAB_FAULT" > /sys/kernel/debug/provoke-crash/DIRECT ;;
esac
echo "# still alive after $LAB_FAULT"
