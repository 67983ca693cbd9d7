# SPDX-License-Identifier: GPL-2.0
#
# The guest side of "make bench" (lab/bench.sh): the measurements of one
# boot, as lines the host collects into benchmarks/rounds.csv.  What to
# run comes from the kernel command line (see lab/bench/plan):
#
#   lab.bench_sched=CASES  scheduler benchmarks, for each case of the comma
#                          list: plain, tenants, prctl, cgroup
#   lab.bench_vm=CASES     kvm_workload runs, filed under each label of the
#                          list; a label ending in "+k" runs with -k (the
#                          VMM sets per-VM cookies) and is filed as "-k"
#   lab.bench_shapes=LIST  1vm: one VM, a vCPU per CPU of the topology;
#                          2vm: two VMs with half as many vCPUs each
#   lab.bench_ipi=CASES    ipi_pingpong runs (two halting vCPUs on two
#                          siblings), for each case of the list: poll
#                          (KVM's halt polling), nopoll (the VM's halt
#                          polling off: -p 0)
#   lab.bench_realvm=CASES real guests (lab/realvm.sh -b, with build/realvm
#                          laid over the image), filed under each label
#                          of the list; "+c": QEMU in a cookie of its own
#                          (realvm.sh -c), filed as "-c"
#   lab.bench_quick=1      short measurements (make bench QUICK=1)
#
# Every benchmark runs under cs_bench_exec, which starts its tenants at
# the same instant: one tenant (plain), or two, each in a cgroup of its
# own (tenants), with a prctl cookie of its own as well (prctl), or in a
# cgroup tagged with cpu.core_sched (cgroup).  cyclictest's background
# load is its second tenant.  pipe, messaging and hackbench run pinned,
# tenant i on CPU i.
#
# Output:
#   info KEY=VALUE...                   the machine the guest sees
#   cmd BENCH COMMAND                   each benchmark's command line
#   r SECTION CASE BENCH METRIC VALUE   one number
#   err SECTION CASE BENCH MESSAGE      a measurement that failed
#   again SECTION CASE BENCH MESSAGE    a measurement that failed and
#                                       was run once more: its records
#                                       (or err line) are the second run's

CG=bench
OUT=/tmp/bench-out.

# cyclictest's -D takes whole seconds.
if [ "${LAB_BENCH_QUICK:-0}" = 1 ]; then
	PIPE_LOOPS=2000 MSG_ARGS="-g 1 -l 10" HB_ARGS="-g 1 -l 20"
	CYC_S=1 KVM_S=0.3 IPI_T=60 IPI_ARGS="-n 300 -w 10"
	REALVM_ARGS="-m 300 -d 2"
else
	PIPE_LOOPS=20000 MSG_ARGS="-g 2 -l 60" HB_ARGS="-g 2 -l 100"
	CYC_S=3 KVM_S=2 IPI_T=90 IPI_ARGS="-n 2000 -w 200"
	REALVM_ARGS="-m 2000 -d 16"
fi
WORKLOADS="cpu exit-kernel exit-user"

IFS=, read -r SOCKETS CORES THREADS <<EOT
${LAB_TOPO:-1,1,2}
EOT
NCPU=$((SOCKETS * CORES * THREADS))
ONLINE=$(cat /sys/devices/system/cpu/online)

err() {
	echo "err $*"
}

# The command of benchmark $1, in $c; printed once as a "cmd" line.
bench_cmd() {
	case $1 in
	pipe) c="perf bench sched pipe -l $PIPE_LOOPS" ;;
	messaging) c="perf bench sched messaging $MSG_ARGS" ;;
	hackbench) c="hackbench $HB_ARGS" ;;
	cyclictest) c="cyclictest -q -m -p 90 -i 1000 -d 0 -D $CYC_S -t 2 -a -v" ;;
	load) c="stress-ng --cpu 2 --timeout 600 -q" ;;
	esac
	case " $CMDS_SHOWN " in
	*" $1 "*) ;;
	*)
		case $1 in
		pipe | messaging | hackbench) echo "cmd $1 taskset -c I $c" ;;
		*) echo "cmd $1 $c" ;;
		esac
		CMDS_SHOWN="$CMDS_SHOWN $1"
		;;
	esac
}

# The time a benchmark reports in its output file $2.
bench_time() {
	case $1 in
	hackbench) awk '/^Time:/ { t = $2 } END { print t }' "$2" ;;
	*) awk '/Total time:/ { t = $3 } END { print t }' "$2" ;;
	esac
}

# p50, p99 and max of the latencies cyclictest -v wrote to $1
# ("thread: cycle: latency" lines), and their number.
latencies() {
	awk -F: 'NF == 3 && $1 ~ /^ *[0-9]+$/ && $3 ~ /^ *[0-9]+$/ {
		print $3 + 0 }' "$1" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (!NR) exit 1
			i50 = int((NR * 50 + 99) / 100)
			i99 = int((NR * 99 + 99) / 100)
			print v[i50], v[i99], v[NR], NR
		}'
}

setup_cgroups() {
	echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
	mkdir -p /sys/fs/cgroup/$CG
	echo +cpu > /sys/fs/cgroup/$CG/cgroup.subtree_control
	mkdir -p /sys/fs/cgroup/$CG/t0 /sys/fs/cgroup/$CG/t1
}

tag() {
	for t in t0 t1; do
		echo "$1" > /sys/fs/cgroup/$CG/$t/cpu.core_sched || return 1
	done
}

# One measurement of benchmark $2 in case $1.
sched_one() {
	case=$1 b=$2
	set --
	case $case in
	plain) ;;
	tenants | cgroup) set -- -g "$CG/t" ;;
	prctl) set -- -c -g "$CG/t" ;;
	esac
	if [ "$b" = cyclictest ]; then
		bench_cmd load
		load=$c
		bench_cmd "$b"
		set -- "$@" -k -o "$OUT" "$c" "$load"
	else
		# Each tenant pinned to a CPU of its own, tenant i to CPU i: its
		# processes hand over on one CPU (an emulated cross-CPU wake-up
		# costs a host scheduling delay, which would drown the
		# scheduler), and two tenants sit on the two siblings, where
		# their cookies meet.
		bench_cmd "$b"
		set -- "$@" -o "$OUT" "taskset -c 0 $c"
		[ "$case" = plain ] || set -- "$@" "taskset -c 1 $c"
	fi
	rm -f "$OUT"*
	if ! /lab/bin/cs_bench_exec "$@" > /tmp/bench-exec 2>&1; then
		err sched "$case" "$b" "$(tr '\n' ' ' < /tmp/bench-exec)" \
			"$(tail -n 3 "${OUT}0" 2>/dev/null | tr '\n' ' ')"
		return 1
	fi
	wall=$(sed -n 's/^makespan=//p' /tmp/bench-exec)
	if [ "$b" = cyclictest ]; then
		if ! lat=$(latencies "${OUT}0"); then
			err sched "$case" "$b" "no latencies: $(tail -n 3 "${OUT}0" | tr '\n' ' ')"
			return 1
		fi
		# shellcheck disable=SC2086
		set -- $lat
		echo "r sched $case $b p50_us $1"
		echo "r sched $case $b p99_us $2"
		echo "r sched $case $b max_us $3"
		echo "r sched $case $b samples $4"
		return 0
	fi
	# The time of a pair is the time of the tenant that finished last.
	worst=''
	for f in "$OUT"*; do
		t=$(bench_time "$b" "$f")
		if [ -z "$t" ]; then
			err sched "$case" "$b" "no time in $(tail -n 3 "$f" | tr '\n' ' ')"
			return 1
		fi
		worst=$(echo "$worst $t" | awk '{ print ($1 == "" || $2 > $1) ? $2 : $1 }')
	done
	echo "r sched $case $b time_s $worst"
	echo "r sched $case $b wall_s $wall"
}

section_sched() {
	setup_cgroups
	# Warm up: the first run of each program pays for page faults.
	perf bench sched pipe -l 50 > /dev/null 2>&1
	hackbench -g 1 -l 2 > /dev/null 2>&1
	for case in $(echo "$1" | tr , ' '); do
		if [ "$case" = cgroup ] && ! tag 1; then
			err sched "$case" all "cannot tag the tenants' cgroups"
			continue
		fi
		for b in pipe messaging hackbench cyclictest; do
			sched_one "$case" "$b"
		done
		[ "$case" != cgroup ] || tag 0
	done
}

# kvm_workload's key=value line $4 as records of case $1, workload $2
# and shape $3.
kvm_records() {
	for kv in $4; do
		key=${kv%%=*} val=${kv#*=}
		case $key in
		work_per_sec | work | min_vcpu_work | seconds | exits_user | exits_intr | stats_*)
			echo "r vm $1 $2/$3 $key $val" ;;
		esac
	done
}

section_vm() {
	vm_cases=$1 shapes=$2
	for shape in $(echo "$shapes" | tr , ' '); do
		case $shape in
		1vm) nvm=1 nvcpu=$NCPU ;;
		2vm) nvm=2 nvcpu=$((NCPU / 2)) ;;
		*) err vm all "$shape" "unknown shape"; continue ;;
		esac
		for w in $WORKLOADS; do
			for c in $(echo "$vm_cases" | tr , ' '); do
				k='' label=$c
				case $c in
				*+k) k=-k label=${c%+k}-k ;;
				esac
				# shellcheck disable=SC2086
				set -- -w "$w" -n "$nvm" -v "$nvcpu" -c "$ONLINE" -t "$KVM_S" $k
				echo "cmd kvm-$shape-on-$ONLINE kvm_workload -w WORKLOAD -n $nvm -v $nvcpu -c $ONLINE -t $KVM_S [-k]"
				# A vCPU starved for the whole run fails the run
				# but its numbers stand: keep both.
				# Its result line follows the KVM selftest
				# library's seed line.
				line=$(/lab/bin/kvm_workload "$@" 2> /tmp/bench-kvm)
				rc=$?
				# Outside coresched=vm a guest beside host code
				# now and then never sees its stop flag or
				# triple-faults under the emulator (README):
				# measured once more, which the host judges
				# against lab/retries.list.
				if [ $rc != 0 ] && [ "${mode#vm}" = "$mode" ] &&
				   grep -q -E 'did not stop|unexpected exit SHUTDOWN' /tmp/bench-kvm; then
					echo "again vm $label $w/$shape: exit $rc: $(tr '\n' ' ' < /tmp/bench-kvm)"
					line=$(/lab/bin/kvm_workload "$@" 2> /tmp/bench-kvm)
					rc=$?
				fi
				line=$(echo "$line" | grep '^workload=')
				case $line in
				workload=*) kvm_records "$label" "$w" "$shape" "$line" ;;
				esac
				[ $rc = 0 ] || err vm "$label" "$w/$shape" \
					"exit $rc: $(tr '\n' ' ' < /tmp/bench-kvm)"

			done
		done
	done
}

# ipi_pingpong's key=value line $2 as records of case $1.
ipi_records() {
	for kv in $2; do
		key=${kv%%=*} val=${kv#*=}
		case $key in
		rounds | warmup | *_us | halt_successful_poll | halt_attempted_poll | \
		halt_wakeup | coresched_wait_ns)
			echo "r ipi $1 pingpong $key $val" ;;
		esac
	done
}

# If ipi_pingpong of case $3 (pid $2) outlives its own timeout by 30 s
# ($1: both), where each of its threads is, as comments, then SIGKILL: it
# once held the benchmark's guest to its timeout with nothing on the
# console.  A thread that SIGKILL does not end (uninterruptible, or in
# the exit) keeps the caller's wait, and the guest, to the timeout: an
# err line says so first.  Polled, so that the watcher ends with the
# program.
ipi_watch() {
	i=0
	while [ -d "/proc/$2" ] && [ $i -lt "$1" ]; do
		sleep 1
		i=$((i + 1))
	done
	[ -d "/proc/$2" ] || return 0
	for t in /proc/"$2"/task/*; do
		echo "# ipi_pingpong stuck: thread ${t##*/} state $(cut -d' ' -f3 "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/#   /' "$t/stack" 2>/dev/null
	done
	kill -9 "$2" 2>/dev/null
	sleep 10
	[ ! -d "/proc/$2" ] ||
		err ipi "$3" pingpong "still there 10 s after SIGKILL, $1 s after its start"
}

section_ipi() {
	echo "cmd ipi-pingpong /lab/bin/ipi_pingpong $IPI_ARGS -t $IPI_T [-p 0: nopoll]"
	for c in $(echo "$1" | tr , ' '); do
		case $c in
		poll) p='' ;;
		nopoll) p='-p 0' ;;
		*) err ipi "$c" pingpong "unknown case"; continue ;;
		esac
		# shellcheck disable=SC2086
		/lab/bin/ipi_pingpong $IPI_ARGS -t $IPI_T $p > /tmp/bench-ipi.out 2> /tmp/bench-ipi &
		pid=$!
		ipi_watch $((IPI_T + 30)) $pid "$c" &
		wpid=$!
		# No "Killed" from the shell in the results.
		wait $pid 2> /dev/null
		rc=$?
		wait $wpid
		out=$(cat /tmp/bench-ipi.out)
		# The KVM selftest library prints its random seed first.
		line=$(echo "$out" | grep -E '^(rounds|error)=')
		case $line in
		rounds=*) ipi_records "$c" "$line" ;;
		esac
		[ $rc = 0 ] || err ipi "$c" pingpong \
			"exit $rc: $line $(tr '\n' ' ' < /tmp/bench-ipi)"
	done
}

# A real guest per case: realvm.sh's "PHASE METRIC VALUE" lines as records
# "r realvm CASE PHASE METRIC VALUE"; its TAP (the guest completed, every
# vCPU made progress, the disk's data came back, no splat) decides whether
# they count.
section_realvm() {
	# nosmt: one CPU online, both vCPUs on it.
	cpus=0,1
	[ "$ONLINE" != 0 ] || cpus=0,0
	echo "cmd realvm /lab/realvm.sh -b FILE -P $cpus $REALVM_ARGS [-c]"
	for c in $(echo "$1" | tr , ' '); do
		k='' label=$c
		case $c in
		*+c) k=-c label=${c%+c}-c ;;
		esac
		rm -f /tmp/bench-realvm
		# shellcheck disable=SC2086 # options are words
		sh /lab/realvm.sh -b /tmp/bench-realvm -P "$cpus" $REALVM_ARGS $k \
			> /tmp/bench-realvm.tap 2>&1
		rc=$?
		# Each boot of the guest again ("# lab-retry:"), for the host
		# to judge against lab/retries.list.
		sed -n "s/^# lab-retry: /again realvm $label: /p" /tmp/bench-realvm.tap
		bad=$(grep '^not ok' /tmp/bench-realvm.tap | cut -d' ' -f4- | tr '\n' ';')
		if [ $rc != 0 ] || [ -n "$bad" ]; then
			err realvm "$label" all "exit $rc: ${bad:-no failed test point}"
			# The console's tail says why; realvm.sh printed it.
			grep '^# ' /tmp/bench-realvm.tap | tail -n 40 | sed 's/^/# realvm: /'
			continue
		fi
		while read -r phase metric val; do
			echo "r realvm $label $phase $metric $val"
		done < /tmp/bench-realvm
	done
}

mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
mode=$(cat /sys/kernel/debug/sched/coresched/mode 2>/dev/null || echo none)
echo "info kernel=$(uname -r) version=$(cut -d' ' -f3,4 /proc/version | tr ' ' _) mode=$mode online=$ONLINE smt_active=$(cat /sys/devices/system/cpu/smt/active 2>/dev/null || echo ?) ncpu=$NCPU topo=${LAB_TOPO:-1,1,2} quick=${LAB_BENCH_QUICK:-0}"
[ "${LAB_BENCH_SCHED:--}" = - ] || section_sched "$LAB_BENCH_SCHED"
[ "${LAB_BENCH_VM:--}" = - ] || section_vm "$LAB_BENCH_VM" "${LAB_BENCH_SHAPES:-1vm}"
[ "${LAB_BENCH_IPI:--}" = - ] || section_ipi "$LAB_BENCH_IPI"
[ "${LAB_BENCH_REALVM:--}" = - ] || section_realvm "$LAB_BENCH_REALVM"
echo "info done"
