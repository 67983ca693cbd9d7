# SPDX-License-Identifier: GPL-2.0
#
# Why a real guest's vCPUs leave guest mode, and what takes the core from
# them: runs lab/guest/realvm.sh -b with the host's trace on and, for each
# of its phases (boot: QEMU's start to the guest's init; then each load),
# prints
#   - the VM-exits of each vCPU thread, by reason (kvm_exit);
#   - under coresched=vm, the kicks (IPIs taking a sibling out of guest
#     mode), by what took the core (sched_core_kick's why): a VM-exit
#     (with the reason of the CPU's last kvm_exit), host code an exit
#     handler needed before the exit's end, an idle CPU leaving idle (for
#     the task of its next switch), an entry abandoned after its claim, a
#     wait ended for host work or at its spin's end, a halt poll's end, an
#     NMI-like or (strict) interrupt entry;
#   - the CPUs leaving idle, by the task they leave it for;
#   - the waits (sched_core_wait) per task and kind: enter, a vCPU waiting
#     for its core; kick, a CPU waiting for the siblings it took it from;
#   - the counters of realvm.sh -b: exits, slow and fastpath exits, kicks.
# Without -M no tracepoint that the fastpath allow-list checks is turned
# on (kvm_msr, the APIC's), so exits handled in guest mode stay so.
# Tracing slows the host: lengths, and through more host interrupts per
# phase the counts too, differ from an untraced run's; the shares say
# which causes lead.
#
# usage: realvm-costs.sh [-m MS] [-d MB] [-P CPUS] [-r RUNS] [-M]
#   -m, -d, -P  as realvm.sh (default here: make bench's 2000 ms phases and
#               16 MB of disk; CPUs 0,1, or 0,0 where CPU 1 is offline)
#   -r RUNS     boot the guest this many times, a report each (default 1;
#               lab.runs=RUNS on the kernel command line, for lab/boot.sh)
#   -M          also the guest's MSR accesses by index (kvm_msr; lab.msrs=1):
#               that tracepoint sends MSR exits the slow way, so the kicks
#               are then those of a kernel without the MSR fastpath
# Needs build/realvm laid over the image: lab/boot.sh --extra build/realvm
# [--append coresched=vm] realvm-costs.
# Prints TAP, one test point per run: not ok if the guest failed, the
# trace lost events, a phase is missing, or (under vm) the boot had no
# kick or a kick of an unknown cause.

T=/sys/kernel/tracing
ms=2000 disk_mb=16 pcpus=0,1 runs=${LAB_RUNS:-1} msrs=${LAB_MSRS:-0}
[ "$(cat /sys/devices/system/cpu/cpu1/online 2>/dev/null)" = 0 ] && pcpus=0,0
while getopts m:d:P:r:M o; do
	case $o in
	m) ms=$OPTARG ;;
	d) disk_mb=$OPTARG ;;
	P) pcpus=$OPTARG ;;
	r) runs=$OPTARG ;;
	M) msrs=1 ;;
	*) echo "usage: realvm-costs.sh [-m MS] [-d MB] [-P CPUS] [-r RUNS] [-M]" >&2
	   exit 2 ;;
	esac
done
echo "1..$runs"

fail_all() {
	for i in $(seq "$runs"); do
		echo "not ok $i realvm-costs: $1"
	done
	exit 1
}

# set FILE VALUE: write a tracefs file, or fail every test point.
set_t() {
	echo "$2" > "$T/$1" || fail_all "cannot write '$2' to $T/$1"
}

[ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null
[ -d $T/events/kvm/kvm_exit ] || fail_all "no kvm_exit event in $T"
mode=$(cat /sys/kernel/debug/sched/coresched/mode 2>/dev/null || echo none)
claims=0
case $mode in
vm*)	[ -d $T/events/sched/sched_core_kick ] ||
		fail_all "coresched=$mode without the sched_core_kick event"
	claims=1 ;;
esac

# What the script turned on goes off again, however it ends.
# shellcheck disable=SC2317 # called by the trap
restore() {
	echo 0 > "$T/tracing_on"
	echo 0 > "$T/events/enable"
	echo 0 > "$T/events/sched/sched_switch/filter"
	echo "${size0:-1408}" > "$T/buffer_size_kb"
}
trap restore EXIT

set_t tracing_on 0
# "7 (expanded: 1408)" before the buffer is first used.
size0=$(sed 's/.*expanded: \([0-9]*\).*/\1/; s/ .*//' "$T/buffer_size_kb")
set_t buffer_size_kb 40000
set_t events/kvm/kvm_exit/enable 1
[ "$msrs" = 0 ] || set_t events/kvm/kvm_msr/enable 1
# A CPU leaving idle: the task it leaves it for.
set_t events/sched/sched_switch/filter "prev_pid == 0"
set_t events/sched/sched_switch/enable 1
if [ $claims = 1 ]; then
	set_t events/sched/sched_core_kick/enable 1
	set_t events/sched/sched_core_wait/enable 1
fi
echo "# mode: $mode$([ "$msrs" = 0 ] || echo ", MSR accesses traced (no MSR fastpath)"); cmdline: $(cat /proc/cmdline)"

# report: the trace on stdin, a paragraph per phase; fails on lost events,
# a phase without its end, or a claim without a cause.
report() {
	awk -v claims=$claims -v msrs="$msrs" -v overrun="$1" '
	function cpu(line) {
		match(line, /\[[0-9]+\]/)
		return substr(line, RSTART + 1, RLENGTH - 2) + 0
	}
	function stamp(line,    s) {
		match(line, /\] [^ ]+ +[0-9]+\.[0-9]+:/)
		s = substr(line, RSTART, RLENGTH - 1)
		sub(/.* /, "", s)
		return s + 0
	}
	# A task as the reader knows it: kworkers as one, per-CPU threads
	# without their CPU ("CPU 1/KVM" is a vCPU thread, and stays).
	function name(s) {
		if (s ~ /^kworker\//)
			return "kworker"
		if (s !~ /^CPU [0-9]+\/KVM$/ && s ~ /\/[0-9]+$/)
			sub(/[0-9]+$/, "N", s)
		return s
	}
	function task(line,    i) {
		i = match(line, /-[0-9]+ +\[[0-9]+\]/)
		line = substr(line, 1, i - 1)
		sub(/^ +/, "", line)
		return name(line)
	}
	function add(kind, key, n) {
		if (!((ph, kind, key) in cnt))
			keys[ph, kind] = keys[ph, kind] "|" key
		cnt[ph, kind, key] += n
	}
	/^CPU:[0-9]+ \[LOST [0-9]+ EVENTS\]/ { lost += $3; next }
	/tracing_mark_write: realvm: snap / {
		split($0, a, "realvm: snap ")
		m = a[2]
		sub(/[ \r]+$/, "", m)
		p = m
		sub(/\.[01]$/, "", p)
		if (m ~ /\.0$/) {
			# A guest booted again (realvm.sh retries): the last counts.
			if (!(p in gen))
				order[++np] = p
			ph = p "@" ++gen[p]
			t0[ph] = stamp($0)
			for (c in idle)
				delete idle[c]
		} else if (ph == p "@" gen[p]) {
			t1[ph] = stamp($0)
			for (c in idle)
				if (idle[c] == 2)
					add("claim", "idle CPU leaving (no switch seen)", 1)
			ph = ""
		}
		next
	}
	/ kvm_msr: / {
		if (ph != "" && match($0, /msr_(read|write) [0-9a-f]+/))
			add("msr", substr($0, RSTART, RLENGTH), 1)
		next
	}
	/ kvm_exit: / {
		c = cpu($0)
		match($0, /reason [A-Za-z_0-9]+/)
		last[c] = substr($0, RSTART + 7, RLENGTH - 7)
		if (ph == "")
			next
		add("exit", task($0) " " last[c], 1)
		nexit[ph]++
		next
	}
	ph == "" { next }
	/ sched_switch: / {
		c = cpu($0)
		match($0, /next_comm=.* next_pid=/)
		n = name(substr($0, RSTART + 10, RLENGTH - 20))
		add("wakeup", n, 1)
		if (idle[c] == 2)
			add("claim", "idle CPU leaving for " n, 1)
		idle[c] = 0
		next
	}
	# Traced once the siblings are out, after the wait event of the claim and
	# before any other event of the CPU that took the core.
	/ sched_core_kick: / {
		c = cpu($0)
		nclaim[ph]++
		match($0, /why=[a-z-]+/)
		w = substr($0, RSTART + 4, RLENGTH - 4)
		if (w == "exit")
			add("claim", "VM-exit " last[c], 1)
		else if (w == "host-work")
			add("claim", "host code an exit handler needed first", 1)
		else if (w == "idle") {
			# Two kicks of one idle exit (SMT4) wait for one switch.
			if (idle[c] == 2)
				add("claim", "idle CPU leaving (the same exit)", 1)
			idle[c] = 2
		}
		else if (w == "cancel")
			add("claim", "entry abandoned after its claim", 1)
		else if (w == "wait")
			add("claim", "wait ended for host work", 1)
		else if (w == "spin")
			add("claim", "wait ended at the end of its spin", 1)
		else if (w == "poll")
			add("claim", "halt poll ended", 1)
		else if (w == "nmi" || w == "irq")
			add("claim", w " entry", 1)
		else if (w == "online")
			add("claim", "CPU coming online", 1)
		else {
			add("claim", "unknown (" w ")", 1)
			unknown++
		}
		next
	}
	/ sched_core_wait: / {
		match($0, /kind=[a-z]+ ns=[0-9]+/)
		split(substr($0, RSTART, RLENGTH), kv, /[= ]/)
		add("wait", task($0) " " kv[2], 1)
		wns[ph, task($0) " " kv[2]] += kv[4]
		next
	}
	function show(q, kind, title, total,    n, k, i, line, f, cmd) {
		n = split(substr(keys[q, kind], 2), k, "|")
		printf "#   %s:%s\n", title, total ? " " total : (n ? "" : " none")
		if (!n)
			return
		f = "/tmp/realvm-costs.sort"
		for (i = 1; i <= n; i++)
			print cnt[q, kind, k[i]] "\t" k[i] > f
		close(f)
		cmd = "sort -rn " f
		shown = 0
		rest = 0
		while ((cmd | getline line) > 0) {
			i = index(line, "\t")
			v = substr(line, 1, i - 1) + 0
			if (++shown > 10) {
				rest += v
				continue
			}
			if (total)
				printf "#     %6d %5.1f%%  %s\n", v, 100 * v / total, substr(line, i + 1)
			else
				printf "#     %6d  %s\n", v, substr(line, i + 1)
		}
		close(cmd)
		if (rest)
			printf "#     %6d%s  %d more, each below these\n", rest,
				(total ? sprintf(" %5.1f%%", 100 * rest / total) : ""), shown - 10
	}
	END {
		bad = ""
		if (lost || overrun)
			bad = bad "; the trace lost events (" lost " marked, " overrun " overrun)"
		for (j = 1; j <= np; j++) {
			p = order[j]
			q = p "@" gen[p]
			if (!(q in t1)) {
				bad = bad "; phase " p " has no end"
				continue
			}
			printf "# phase %s: %.2f s traced%s\n", p, t1[q] - t0[q],
				(gen[p] > 1 ? " (the guest booted " gen[p] " times: the last counted)" : "")
			show(q, "exit", "VM-exits by vCPU thread and reason", nexit[q])
			if (claims)
				show(q, "claim", "kicks, by what claimed the core", nclaim[q])
			show(q, "wakeup", "CPUs leaving idle, for", 0)
			if (msrs)
				show(q, "msr", "MSR accesses by index (830 ICR, 838 timer count, 80b EOI, 6e0 TSC deadline)", 0)
			n = split(substr(keys[q, "wait"], 2), k, "|")
			printf "#   waits, per task and kind:%s\n", n ? "" : " none"
			for (i = 1; i <= n; i++)
				printf "#     %6d waits, %8.1f ms  %s\n", cnt[q, "wait", k[i]], wns[q, k[i]] / 1e6, k[i]
		}
		if (np == 0)
			bad = bad "; no phase in the trace"
		if (unknown)
			bad = bad "; " unknown " kicks of an unknown cause"
		if (claims && np && !nclaim[order[1] "@" gen[order[1]]])
			bad = bad "; no kick in the boot under coresched=vm"
		if (bad != "") {
			print "# " substr(bad, 3)
			exit 1
		}
	}'
}

rc=0
for i in $(seq "$runs"); do
	set_t trace ""
	set_t tracing_on 1
	sh /lab/realvm.sh -b "/tmp/realvm-costs.$i" -m "$ms" -d "$disk_mb" -P "$pcpus" > /tmp/realvm-costs.tap 2>&1
	st=$?
	set_t tracing_on 0
	if [ $st = 0 ]; then
		grep -E '^# (guest boot time|total run time|lab-retry)' /tmp/realvm-costs.tap
	else
		grep -E '^#|^not ok' /tmp/realvm-costs.tap
	fi
	# The counters' growth per phase, untraced by nature: exits handled
	# in guest mode (fastpath) next to slow ones.
	awk '$2 ~ /^(kvm_exits|cs_slow_exits|cs_fastpath_exits|cs_kicks_sent)$/ {
		k = $2; sub(/^(cs|kvm)_/, "", k); v[$1] = v[$1] " " k "=" $3 }
	END { for (p in v) print "# counters " p ":" v[p] }' "/tmp/realvm-costs.$i" | sort
	overrun=$(cat $T/per_cpu/cpu*/stats | awk '/^overrun:/ { s += $2 } END { print s + 0 }')
	out=$(report "$overrun" < $T/trace)
	ok=$?
	echo "$out"
	if [ $st = 0 ] && [ $ok = 0 ]; then
		echo "ok $i realvm-costs: run $i traced"
	else
		echo "not ok $i realvm-costs: run $i (realvm.sh exit $st; report: $(echo "$out" | tail -n 1 | sed 's/^# //'))"
		rc=1
	fi
done
exit $rc
