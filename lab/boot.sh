#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a lab kernel under QEMU (TCG) on an explicit SMT topology, run one
# guest script and judge the run.
#
# usage: boot.sh [options] NAME
#   NAME             the guest script, lab/guest/NAME.sh ("shell": interactive)
#   --kernel FILE    bzImage (default build/bzImage)
#   --topo S,C,T     sockets, cores per socket, threads per core (default 1,1,2)
#   --append ARGS    extra kernel command line (e.g. "coresched=vm")
#   --mem SIZE       guest memory (default 2G)
#   --timeout SECS   kill the guest after this long (default 600)
#   --out DIR        where console.log and results.log go
#                    (default build/runs/NAME)
#   --extra DIR      also unpack DIR's files over the initramfs (a second
#                    cpio archive: the kernel unpacks them in order), for
#                    trying a test without rebuilding the image; may be
#                    given more than once
#   --cpu MODEL      QEMU CPU model (default EPYC,+svm,+npt)
#   lab.host_cpus=LIST in --append: QEMU runs on those host CPUs only
#                    (taskset -c LIST), so that with one CPU its emulated
#                    CPUs run in turn, never at the same time (README: a
#                    fault of nested SVM under QEMU's TCG); the guest
#                    ignores it, and run.info has the host CPUs QEMU was
#                    allowed, which judge.sh checks
#
# The run is judged by lab/judge.sh from the files it leaves in DIR:
# console.log (the kernel console), results.log (what the script printed,
# TAP), qemu.log (QEMU's own messages), qemu.cmd (the exact QEMU command,
# to boot the run again by hand), cmdline (the kernel command line),
# run.info (QEMU's exit code, the timeout, the time taken) and, with
# --extra, initrd.cpio.gz (the image booted); the verdict goes to
# DIR/verdict.  "lab/judge.sh DIR" judges the run again from these files.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
# The script is one block: bash reads it whole before running any of it,
# so editing this file while it runs (a run takes long) cannot derail it.
{

kernel=$BUILD/bzImage topo=1,1,2 append='' mem=2G timeout=600 out='' extras=()
cpu=EPYC,+svm,+npt
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--topo) topo=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--extra) extras+=("$2"); shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	-*) die "boot.sh: unknown option $1" ;;
	*) break ;;
	esac
done
name=${1:?usage: boot.sh [options] NAME}
out=$(realpath -m "${out:-$BUILD/runs/$name}")
initrd=$BUILD/initramfs.cpio.gz
# Nothing of an earlier run may pass for this one's, even if we stop here.
if [ "$name" != shell ]; then
	mkdir -p "$out"
	rm -f "$out"/{console.log,results.log,qemu.log,qemu.cmd,cmdline,run.info} \
		"$out"/{verdict,results.tsv,initrd.cpio.gz,hang,hang-registers.txt,System.map}
fi
[ -f "$kernel" ] || die "no kernel $kernel: run make first"
[ -f "$initrd" ] || die "no initramfs $initrd: run make first"
if [ ${#extras[@]} -gt 0 ]; then
	img=$out/initrd.cpio.gz
	if [ "$name" = shell ]; then
		img=$(mktemp)
		# shellcheck disable=SC2064
		trap "rm -f '$img'" EXIT
	fi
	cp "$initrd" "$img"
	for extra in "${extras[@]}"; do
		[ -d "$extra" ] || die "--extra $extra: not a directory"
		(cd "$extra" && find . -print0 | cpio --null -o -H newc --quiet) |
			gzip -1 >> "$img"
	done
	initrd=$img
fi

IFS=, read -r sockets cores threads <<< "$topo"
ncpu=$((sockets * cores * threads))
smp="$ncpu,sockets=$sockets,cores=$cores,threads=$threads"
# The emulated CPUs stop whenever the host does not run QEMU's threads:
# on a busy host (itself a VM that shares its CPUs) a whole guest was
# seen standing still for over 20 s.  So:
#   no_timer_check: the boot's check that the timer interrupt works (ten
#     ticks must arrive within a delay loop) failed at random, and the
#     kernel panicked ("IO-APIC + timer doesn't work!"); the runs, not
#     that check, show that timers work;
#   watchdog_thresh=30: a soft lockup is reported after 60 s, not 20 s
#     (every CPU of a guest that stood still was reported stuck for 22 s),
#     the same as the debug config's hung task and RCU stall timeouts (a
#     CPU that is really stuck stays stuck: it is still reported);
#   rcupdate.rcu_cpu_stall_timeout=60: the debug config's RCU stall
#     timeout on every kernel, not 21 s (a guest's clock once jumped by
#     30 s in a 5 s run, and RCU reported a stall during the boot).
cmdline="console=ttyS0,115200 panic=-1 no_timer_check watchdog_thresh=30"
cmdline+=" rcupdate.rcu_cpu_stall_timeout=60"
cmdline+=" lab.run=$name lab.topo=$topo $append"

# shellcheck disable=SC2054 # QEMU's option values have commas
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu "$cpu"
      -smp "$smp" -m "$mem" -kernel "$kernel" -initrd "$initrd"
      -append "$cmdline" -no-reboot -display none -nodefaults)

# lab.host_cpus=LIST: QEMU under taskset -c LIST; one such word at most,
# a list of CPUs and ascending ranges.
host_cpus='' pin=() n=0
read -r -a words <<< "$append"
for w in "${words[@]}"; do
	case $w in
	lab.host_cpus=*) host_cpus=${w#lab.host_cpus=} n=$((n + 1)) ;;
	esac
done
if [ $n -gt 0 ]; then
	[ $n = 1 ] || die "lab.host_cpus= given $n times"
	[[ $host_cpus =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] ||
		die "lab.host_cpus=$host_cpus: not a list of host CPUs"
	for r in ${host_cpus//,/ }; do
		[ "${r%-*}" -le "${r#*-}" ] || die "lab.host_cpus=$host_cpus: range $r runs backwards"
	done
	pin=(taskset -c "$host_cpus")
fi

if [ "$name" = shell ]; then
	say "booting $(basename "$kernel") on -smp $smp; Ctrl-a x quits"
	"${pin[@]}" "${qemu[@]}" -serial mon:stdio -serial null 2>/dev/null
	exit 0
fi

console=$out/console.log results=$out/results.log
# QEMU refuses a socket path over 107 bytes: a short one then (qemu.cmd,
# booted again by hand, needs that directory made first).
qmpdir=''
monitor=$out/qmp.sock
if [ ${#monitor} -gt 100 ]; then
	qmpdir=$(mktemp -d)
	monitor=$qmpdir/qmp.sock
fi
run=(timeout -k 10 "$timeout" "${pin[@]}" "${qemu[@]}"
     -monitor none -qmp "unix:$monitor,server=on,wait=off"
     -serial "file:$console" -serial "file:$results")
printf '%q ' "${run[@]}" > "$out/qemu.cmd"
echo >> "$out/qemu.cmd"
echo "$cmdline" > "$out/cmdline"
: > "$console"
: > "$results"

# The kernel's symbols go with the run, to read its dump by: a rebuild
# replaces the build's System.map.
for map in "${kernel%.bzImage}.System.map" "$(dirname "$kernel")/obj/System.map"; do
	if [ -f "$map" ]; then
		cp "$map" "$out/System.map"
		break
	fi
done

# Where a hung guest is stuck, into hang-registers.txt (lab/hang-dump.py):
# a console that stops mid-splat says nothing more.  @1: "stop" to leave
# the guest stopped, "cont" to let it run on.
dump_registers() {
	timeout 120 python3 "$LAB/hang-dump.py" "$1" "$monitor" "$ncpu" \
		"$out/System.map" > "$out/hang-registers.txt" 2>&1 || true
}

# A guest that prints nothing and leaves QEMU idle (under 3% of a host
# CPU) for LAB_IDLE_HANG seconds (default 300, 0: never) is taken as hung
# and stopped then, not at its timeout: no test of the lab sleeps that
# long without a word (a guest whose timers stopped never wakes; two
# guests stopped so, it seems).  A silent guest that computes runs on.
#
# A guest that printed a splat has failed its run; if its tests then print
# nothing for LAB_SPLAT_HANG seconds (default 120, 0: never), it is
# stopped too: a deadlock spins until the timeout (a debug run's is 40
# minutes), and the soft lockup detector's reports keep the console busy.
#
# The registers are saved before the guest is killed, and 15 s before its
# timeout.  The watcher stops with the run.
watch_guest() {
	local tpid=$1 q t st ticks win_t=0 win_ticks=0 dumped=0
	local size last=-1 rsize rlast=-1 quiet=0 why=''
	local idle=${LAB_IDLE_HANG:-300} splat=${LAB_SPLAT_HANG:-120} tck t0=$SECONDS
	tck=$(getconf CLK_TCK)
	trap 'exit 0' TERM
	while sleep 5 & wait $!; kill -0 "$tpid" 2>/dev/null; do
		t=$((SECONDS - t0))
		q=$(pgrep -P "$tpid" | head -n 1) || continue
		{ read -r -a st < "/proc/$q/stat"; } 2>/dev/null || continue
		ticks=$((st[13] + st[14]))
		size=$(cat "$console" "$results" 2>/dev/null | wc -c || true)
		rsize=$(wc -c < "$results" 2>/dev/null || true)
		[ "$rsize" = "$rlast" ] || rlast=$rsize quiet=$t
		if [ "$size" != "$last" ]; then
			last=$size win_t=$t win_ticks=$ticks
		elif [ "$idle" -gt 0 ] && [ $((t - win_t)) -ge "$idle" ]; then
			if [ $(((ticks - win_ticks) * 100 / tck)) -ge $((idle * 3)) ]; then
				win_t=$t win_ticks=$ticks
			else
				why="nothing printed and QEMU idle for ${idle}s (hang)"
			fi
		fi
		if [ -z "$why" ] && [ "$splat" -gt 0 ] && [ $((t - quiet)) -ge "$splat" ] &&
		   [ -n "$(console_splats "$console")" ]; then
			why="a splat on the console, then no test output for ${splat}s"
		fi
		if [ -n "$why" ]; then
			trap '' TERM
			dump_registers stop
			kill "$tpid" 2>/dev/null && echo "$why" > "$out/hang"
			return 0
		fi
		if [ $dumped = 0 ] && [ $t -ge $((timeout - 15)) ]; then
			trap '' TERM
			dump_registers cont
			trap 'exit 0' TERM
			dumped=1
		fi
	done
}

start=$SECONDS
rc=0
"${run[@]}" </dev/null 2> "$out/qemu.log" &
tpid=$!
wpid=''
# Interrupted, take QEMU and the watcher along, and leave no socket.
trap 'kill "$tpid" ${wpid:+"$wpid"} 2>/dev/null; rm -rf "$monitor" ${qmpdir:+"$qmpdir"}; exit 130' INT TERM
# Pinned, the host CPUs QEMU may run on, as its scheduler has them, once
# it is QEMU (taskset sets them, then becomes it): for judge.sh.
allowed=''
while [ ${#pin[@]} -gt 0 ] && kill -0 "$tpid" 2>/dev/null && [ $((SECONDS - start)) -lt 60 ]; do
	q=$(pgrep -P "$tpid" | head -n 1) || q=''
	if [ -n "$q" ] && [[ $(cat "/proc/$q/comm" 2>/dev/null) == qemu* ]]; then
		allowed=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$q/status" 2>/dev/null) ||
			allowed=''
		break
	fi
	sleep 0.1
done
watch_guest "$tpid" &
wpid=$!
wait "$tpid" || rc=$?
# The watcher ends at once unless it is saving a dump.
kill "$wpid" 2>/dev/null || true
wait "$wpid" || true
trap - INT TERM
rm -rf "$monitor" ${qmpdir:+"$qmpdir"}
took=$((SECONDS - start))
cat > "$out/run.info" <<EOF
script=$name
kernel=$kernel
kernel_sha256=$(sha256sum < "$kernel" | cut -d' ' -f1)
initrd=$initrd
initrd_sha256=$(sha256sum < "$initrd" | cut -d' ' -f1)
smp=-smp $smp
append=$append
timeout=$timeout
qemu_rc=$rc
seconds=$took
hang=$(cat "$out/hang" 2>/dev/null || true)
host_cpus_asked=$host_cpus
host_cpus=$allowed
EOF

exec "$LAB/judge.sh" --console "$out"
}
