# SPDX-License-Identifier: GPL-2.0
# The debug kernel's kmemleak, after every other test of the run: any
# object it reports as leaked fails the run.  An object is reported only
# once a scan found it unreferenced and unchanged since the scan before,
# so it takes two scans, the second after the minimum age (5 s).
f=/sys/kernel/debug/kmemleak
echo "TAP version 13"
echo "1..1"
if [ ! -w $f ]; then
	echo "not ok 1 kmemleak: no $f, or it is off (CONFIG_DEBUG_KMEMLEAK)"
	exit 1
fi
echo scan > $f
sleep 6
echo scan > $f
leaks=$(grep -c '^unreferenced object' $f)
if [ "$leaks" != 0 ]; then
	sed 's/^/# /' $f | head -n 200
	echo "not ok 1 kmemleak: $leaks objects leaked"
	exit 1
fi
echo "ok 1 kmemleak: no leak"
