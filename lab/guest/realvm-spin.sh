# SPDX-License-Identifier: GPL-2.0
#
# What the wait's spin-then-sleep policy buys a real guest under
# coresched=vm: boots the real VM (lab/guest/realvm.sh -b) under each
# policy in turn, with the bounds the kernel exposes in debugfs
# (wait_spin_min_ns, wait_spin_max_ns):
#   adaptive  the defaults: spin between 50 us and a tick, adapted per CPU
#   tick      spin a tick, then sleep
#   sleep     sleep at once whenever a sibling runs host code
#   long      spin 100 ms, then sleep (close to spinning only)
# Each round runs them in another order (rounds 1 to 4: each policy in
# each place, and after each other policy once), as each CPU's adapted
# spin carries over from one run to the next.  Prints each run's figures
# (boot time, loops, messages, MB/s, the share of the boot the vCPUs
# waited for their core) as "# POLICY ROUND ..." lines, then per policy
# the median of its runs.
#
# usage: realvm-spin.sh [-r ROUNDS] [-m MS]  (lab.runs=ROUNDS for boot.sh)
# Needs build/realvm laid over the image and coresched=vm.  Prints TAP:
# one test point per run, ok if the guest ran and gave every figure.

d=/sys/kernel/debug/sched/coresched
rounds=${LAB_RUNS:-3} ms=2000
while getopts r:m: o; do
	case $o in
	r) rounds=$OPTARG ;;
	m) ms=$OPTARG ;;
	*) echo "usage: realvm-spin.sh [-r ROUNDS] [-m MS]" >&2; exit 2 ;;
	esac
done
policies="adaptive tick sleep long"
echo "1..$((rounds * 4))"
if [ ! -w $d/wait_spin_min_ns ] || [ "$(cat $d/mode)" != vm ]; then
	for i in $(seq $((rounds * 4))); do
		echo "not ok $i realvm-spin: needs coresched=vm and $d/wait_spin_*"
	done
	exit 1
fi
min0=$(cat $d/wait_spin_min_ns) max0=$(cat $d/wait_spin_max_ns)
# shellcheck disable=SC2317 # called by the trap
restore() {
	echo "$min0" > "$d/wait_spin_min_ns"
	echo "$max0" > "$d/wait_spin_max_ns"
}
trap restore EXIT

# knob FILE VALUE: set a bound and read it back.
knob() {
	{ echo "$2" > "$d/$1"; } 2>/dev/null && [ "$(cat "$d/$1")" = "$2" ]
}

all=/tmp/realvm-spin.all
: > $all
n=0 rc=0
for r in $(seq "$rounds"); do
	# A balanced Latin square of the four: no policy always follows the
	# same one.
	case $(( (r - 1) % 4 )) in
	0) order="adaptive tick long sleep" ;;
	1) order="tick sleep adaptive long" ;;
	2) order="sleep long tick adaptive" ;;
	3) order="long adaptive sleep tick" ;;
	esac
	for p in $order; do
		case $p in
		adaptive) lo=$min0 hi=$max0 ;;
		tick) lo=$max0 hi=$max0 ;;
		sleep) lo=0 hi=0 ;;
		long) lo=100000000 hi=100000000 ;;
		esac
		n=$((n + 1))
		if ! knob wait_spin_max_ns "$hi" || ! knob wait_spin_min_ns "$lo"; then
			echo "not ok $n realvm-spin: $p, round $r: cannot set the bounds to $lo-$hi ns"
			rc=1
			continue
		fi
		f=/tmp/realvm-spin.$p.$r
		if sh /lab/realvm.sh -b "$f" -m "$ms" -d 16 > /tmp/realvm-spin.tap 2>&1 &&
		   line=$(awk -v p="$p" -v r="$r" '
			{ v[$1 " " $2] = $3 }
			END {
				n = split("boot boot_s|spin kloops_per_s|pingpong msgs_per_s|disk mb_per_s|boot host_s|boot kvm_coresched_wait_ns", k, "|")
				for (i = 1; i <= n; i++)
					if (!(k[i] in v) || v[k[i]] == "")
						exit 1
				if (v["boot host_s"] <= 0)
					exit 1
				printf "%s %s boot_s=%s kloops_per_s=%s msgs_per_s=%s mb_per_s=%s boot_wait=%.3f\n",
					p, r, v["boot boot_s"], v["spin kloops_per_s"],
					v["pingpong msgs_per_s"], v["disk mb_per_s"],
					v["boot kvm_coresched_wait_ns"] / 1e9 / (2 * v["boot host_s"])
			}' "$f"); then
			echo "# $line"
			echo "$line" >> $all
			echo "ok $n realvm-spin: $p, round $r"
		else
			echo "not ok $n realvm-spin: $p, round $r: the guest did not run, or a figure is missing"
			# Its failures and what realvm.sh said of them, not the console.
			grep -E '^not ok|^# [^ ]' /tmp/realvm-spin.tap | head -n 30 | sed 's/^/#   /'
			rc=1
		fi
	done
done

# The median of each figure per policy, over the runs that gave one.
for p in $policies; do
	awk -v p="$p" '$1 == p {
		k = 0
		for (i = 3; i <= NF; i++) {
			split($i, kv, "=")
			key[++k] = kv[1]
			v[k, ++c[k]] = kv[2]
		}
		nk = k
	}
	END {
		if (!c[1]) {
			print "# median " p ": no run"
			exit
		}
		s = "median " p " (" c[1] " runs)"
		for (k = 1; k <= nk; k++) {
			n = c[k]
			for (x = 1; x <= n; x++)
				a[x] = v[k, x] + 0
			for (x = 1; x <= n; x++)
				for (y = x + 1; y <= n; y++)
					if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
			s = s " " key[k] "=" sprintf("%.4g", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
		}
		print "# " s
	}' $all
done
exit $rc
