# SPDX-License-Identifier: GPL-2.0
#
# One run of the real VM for make bench's figures (lab/guest/realvm.sh -b
# -m 2000 -d 16), with each CPU's local timer interrupts over the run, for
# lab/realvm-ticks.sh, which boots it with and without a setting.
# lab.p=CPUS: the host CPUs of vCPU 0 and 1 (realvm.sh -P; default 0,1).
# Prints TAP, one test point: ok if the guest ran and gave every figure
# and the counts were read; then "# ticks CPU0/s CPU1/s" ("-": offline), the
# nohz_full CPUs, and realvm.sh's "PHASE METRIC VALUE" lines as "# r ...";
# "# retried: WHY" if realvm.sh booted its guest again, whose timer rates
# then span the boot that died too.

f=/tmp/realvm-ticks
echo "1..1"
# The local timer interrupts of CPU 0 and 1 (-1 if offline: nosmt) and the
# uptime, on one line.
ticks() {
	awk '/^ *LOC:/ { print $2, ($3 ~ /^[0-9]+$/ ? $3 : -1) }' /proc/interrupts
	cut -d' ' -f1 /proc/uptime
}
before=$(ticks | tr '\n' ' ')
rm -f $f
sh /lab/realvm.sh -b $f -P "${LAB_P:-0,1}" -m 2000 -d 16 > /tmp/realvm-ticks.tap 2>&1
rc=$?
after=$(ticks | tr '\n' ' ')
rates=$(echo "$before $after" | awk 'NF == 6 && $6 > $3 {
	printf "%.0f %s", ($4 - $1) / ($6 - $3),
		$2 < 0 ? "-" : sprintf("%.0f", ($5 - $2) / ($6 - $3)) }')
missing=''
for m in "boot boot_s" "spin kloops_per_s" "pingpong msgs_per_s" "disk mb_per_s"; do
	grep -q "^$m " $f 2>/dev/null || missing="$missing, $m"
done
if [ $rc = 0 ] && [ -z "$missing" ] && [ -n "$rates" ]; then
	echo "ok 1 realvm-ticks: the real VM ran, every figure read"
else
	echo "not ok 1 realvm-ticks: realvm.sh exit $rc${missing:+, missing$missing}${rates:-, no timer counts}"
	grep '^not ok\|^# ' /tmp/realvm-ticks.tap | tail -n 30
fi
sed -n 's/^# lab-retry: /# retried: /p' /tmp/realvm-ticks.tap
echo "# ticks $rates"
echo "# nohz_full $(cat /sys/devices/system/cpu/nohz_full 2>/dev/null)"
[ -f $f ] && sed 's/^/# r /' $f
exit $((rc != 0))
