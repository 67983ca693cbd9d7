#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make run": boot the patched kernel (built by make's prerequisites) under
# QEMU on one core of two SMT threads, run the demonstration
# (lab/guest/demo.sh) and turn what it measured into a readable report.
#
# The guest prints "key=value" lines (see demo.sh and cs_measure.c); each
# section of the report formats one section of them.  Exit status: 0 if
# every measurement agrees with what core scheduling claims, 1 if one
# contradicts it, or the guest run failed, or a measurement is missing,
# or the host was so busy that a measurement had no verdict.
#
#   RUN_OUT=DIR   where the guest run's logs go (default build/runs/demo)
#   DEMO_MS=N     each measurement's length in ms (default 2000)
#   RUN_EXTRA=DIR also unpack DIR over the initramfs (boot.sh --extra; the
#                 KVM boots have build/realvm already)
#
# The report_* functions are called by name, from SECTIONS:
# shellcheck disable=SC2317
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

out=${RUN_OUT:-$BUILD/runs/demo}
kernel=$BUILD/bzImage
topo=1,1,2
log=$out/demo.log	# results.log without the serial port's CRs
problems=()	# contradictions, or what is missing
busy=()		# measurements the host starved of CPU: no verdict

# The sections of the report, in order: report_NAME formats the lines of
# the guest's section NAME.
SECTIONS=(machine cookies tenants)

declare -A f

# Load the fields of a "key=value ..." line into f.
parse() {
	local kv
	f=()
	for kv in $1; do
		[[ $kv == *=* ]] && f[${kv%%=*}]=${kv#*=}
	done
}

# The last line of the guest's output that starts with "$1" and holds "$2".
line() {
	grep -a "^$1 " "$log" | grep -a -- "$2" | tail -n 1
}

problem() {
	problems+=("$1")
}

mark() {
	case $1 in
	ok) printf '%sas claimed%s' "$c_grn" "$c_off" ;;
	starved) printf '%sno verdict: host too busy%s' "$c_yel" "$c_off" ;;
	*) printf '%sCONTRADICTED%s' "$c_red" "$c_off" ;;
	esac
}

heading() {
	printf '\n%s%s%s\n' "$c_bold" "$1" "$c_off"
}

report_machine() {
	local l
	heading "1. The machine the guest sees"
	while read -r l; do
		parse "$l"
		printf '   CPU %s: package %s, core %s, SMT siblings %s\n' \
			"${f[n]}" "${f[package]}" "${f[core]}" "${f[siblings]}"
	done < <(grep -a '^cpu ' "$log")
	parse "$(line topo cpus=)"
	if [ -z "${f[cpus]:-}" ]; then
		problem "the guest did not report its topology"
		return
	fi
	printf '   => %s package x %s core x %s threads per core (asked for %s), SMT %s\n' \
		"${f[packages]}" "${f[cores]}" "${f[threads]}" \
		"${topo//,/ x }" "$([ "${f[smt]}" = 1 ] && echo active || echo off)"
	if [ "${f[packages]},${f[cores]},${f[threads]}" != "$topo" ]; then
		problem "the guest sees ${f[packages]},${f[cores]},${f[threads]}, not $topo"
	fi
}

# One row of a measurement table: the last try of measurement $2.
row() {
	local label=$1 name=$2 tries
	tries=$(grep -c -a "^measure name=$name " "$log")
	parse "$(line measure "name=$name ")"
	if [ -z "${f[verdict]:-}" ]; then
		printf '   %-20s (no measurement)\n' "$label"
		problem "$label: no measurement"
		return 1
	fi
	printf '   %-20s %8s%%  %8s%%  %8s%%  %8s%%   %-14s %s\n' "$label" \
		"${f[overlap_pct]}" "${f[ran_a_pct]}" "${f[ran_b_pct]}" \
		"${f[guest_sum_pct]:-?}" \
		"$([ "${f[expect]}" = isolated ] && echo "never at once" || echo "together")" \
		"$(mark "${f[verdict]}")"
	[ "$tries" -le 1 ] ||
		printf '   %-20s (try %s: the host starved the vCPUs before)\n' '' "$tries"
	case ${f[verdict]} in
	ok) ;;
	starved)
		busy+=("$label: the tasks ran ${f[ran_a_pct]}% + ${f[ran_b_pct]}% of the time, the guest gave them ${f[guest_a_pct]}% + ${f[guest_b_pct]}%")
		;;
	*) problem "$label: overlap ${f[overlap_pct]}%, expected ${f[expect]}" ;;
	esac
}

# When each task ran: strips LABEL A B.
strips() {
	printf '   %-20s A |%s|\n' "$1" "$2"
	printf '   %-20s B |%s|\n' '' "$3"
}

explain() {
	parse "$(line limits gap_us=)"
	local gap=${f[gap_us]:-?} iso=${f[isolated_max_pct]:-?} ran=${f[min_ran_pct]:-?}
	local slack=${f[guest_slack_pct]:-?} longest=${f[isolated_longest_us]:-?}
	local floor=${f[shared_min_pct]:-?} chance=${f[shared_min_chance]:-?}
	local share=${f[host_min_share]:-?}
	cat <<EOF
   Each task spins, pinned to its own sibling, reading the clock and counting
   in shared memory; a gap of more than ${gap} us between two readings means it
   was off its CPU.  Overlap: the time both ran at the same instant (each saw
   the other's count move while it ran), in % of the ${DEMO_MS:-2000} ms window.
   The guest's own account decides first: the CPU time it gave the two tasks
   sums to at most 100% (+${slack}) of the window if they take turns, to about
   200% if they run together, whatever the host does.
   Never at once: CPU sum <= 100+${slack}%, overlap <= ${iso}% and no piece over
   ${longest} us (each ran >= ${ran}%).  Together: CPU sum >= 200-${slack}%, overlap
   >= ${floor}% and >= ${chance} x what chance alone gives.  The host is shared:
   if a task ran less than ${share} x the time the guest gave it, an overlap too
   small is the host's doing, and the measurement is repeated.

   $(printf '%-20s %9s  %9s  %9s  %9s' '' overlap 'A ran' 'B ran' 'CPU sum')
EOF
}

report_cookies() {
	local da db sa sb ms
	heading "2. Two CPU-bound tasks on the two siblings of one core (prctl cookies)"
	explain
	row "different cookies" different-cookies
	da=${f[strip_a]:-} db=${f[strip_b]:-} ms=${f[strip_ms]:-}
	row "same cookie" same-cookie
	sa=${f[strip_a]:-} sb=${f[strip_b]:-}
	[ -n "$da" ] && [ -n "$sa" ] || return 0
	printf '\n   %s ms of each run (#: running, +: part of the time, .: not running):\n' "$ms"
	strips "different cookies" "$da" "$db"
	strips "same cookie" "$sa" "$sb"
}

report_tenants() {
	local fa fb
	heading "3. Two cgroup tenants, cpu.core_sched=1 each, one task each on one core"
	printf '   %-20s %9s  %9s  %9s  %9s\n' '' overlap 'A ran' 'B ran' 'CPU sum'
	row "tenants A and B" tenants || return
	fa=${f[force_idle_a_us]:-0} fb=${f[force_idle_b_us]:-0}
	printf '\n   %s ms of the run:\n' "${f[strip_ms]}"
	strips "tenants A and B" "${f[strip_a]}" "${f[strip_b]}"
	echo
	[ "${f[verdict]}" != ok ] || printf '   They took turns, never at once.  '
	printf 'The price: a sibling kept idle while the\n'
	printf '   other tenant ran, %s ms charged to tenant A and %s ms to tenant B\n' \
		"$((fa / 1000))" "$((fb / 1000))"
	printf '   in %s ms (cpu.stat core_sched.force_idle_usec).\n' "${f[window_ms]}"
	[ $((fa + fb)) -gt 0 ] || problem "tenants: no forced idle accounted"
}

# The KVM demonstration: kvm/x86_64/coresched_timeline_test, the test, in
# two more boots of the same kernel, coresched=on and coresched=vm (its
# runs of lab/guest/tests.list: tl-on, tl-vm).  Its diagnostics say, per
# kind of VM-exit, how often vCPU A was seen running guest code across
# host code on B's CPU; its points say whether that is what the mode claims.
vm_rows() {
	local mode=$1 res=$2 kind n ev cont crossed verdict
	# The serial port's lines end in CR: drop them before reading numbers.
	tr -d '\r' < "$res" > "$res.txt" 2>/dev/null
	for kind in cpuid msr io hlt ipi idle; do
		n=$(sed -n -E "s/^# $kind: host code: ([0-9]+) events .*, ([0-9]+) contested, ([0-9]+) crossed by A$/\1 \2 \3/p" \
			"$res.txt" | tail -n 1)
		read -r ev cont crossed <<< "$n"
		verdict=$(grep -a -E "^(not )?ok [0-9]+ $kind( |$)" "$res.txt" | tail -n 1)
		if [ -z "$verdict" ]; then
			printf '   %-14s %-6s (no measurement)\n' "coresched=$mode" "$kind"
			problem "VM demo, coresched=$mode, $kind: no measurement"
			continue
		fi
		printf '   %-14s %-6s %10s %10s %10s   %s\n' "coresched=$mode" "$kind" \
			"${ev:--}" "${cont:--}" "${crossed:--}" \
			"$(mark "$([ "${verdict%% *}" = ok ] && echo ok)")"
		[ "${verdict%% *}" = ok ] ||
			problem "VM demo, coresched=$mode, $kind: the test says: $verdict"
	done
}

report_vm() {
	local mode
	heading "4. A VM on one core: vCPU A runs guest code, vCPU B's CPU runs host code"
	printf '%s\n' \
		"   vCPU A reads its TSC in a loop on one sibling; on the other, vCPU B takes" \
		"   VM-exits of one kind over and over (CPUID, RDMSR, an exit to the VMM, HLT," \
		"   an IPI; idle: no B).  Every moment B's CPU runs host code is timestamped" \
		"   and put on A's timeline: did A run guest code across it?  Under" \
		"   coresched=vm never (interrupts of an idle CPU are the documented" \
		"   exception); under coresched=on it does (the control)." ""
	printf '   %-14s %-6s %10s %10s %10s\n' '' kind 'host code' contested 'A across'
	for mode in on vm; do
		"$LAB/boot.sh" --kernel "$kernel" --topo "$topo" --timeout 900 \
			--out "$out/vm-$mode" --extra "$BUILD/realvm" "${extra[@]}" \
			--append "lab.mode=$mode lab.only=kvm/x86_64/coresched_timeline_test,lab/realvm coresched=$mode tsc=reliable" \
			tests > "$out/vm-$mode.boot" 2>&1 ||
			problem "VM demo, coresched=$mode: the guest run failed: $(cat "$out/vm-$mode/verdict" 2>/dev/null)"
		vm_rows "$mode" "$out/vm-$mode/results.log"
	done
}

# The real VMM: lab/guest/realvm.sh in the same two boots.  Its "#" lines
# give the times, the guest's counters and the stats deltas.
realvm_row() {
	local mode=$1 res=$out/vm-$1/results.log t boot total k v
	local -A stat=() cpu=()
	t=$(tr -d '\r' < "$res" 2>/dev/null |
	    sed -n '/^# lab-test-begin: lab\/realvm$/,/^# lab-test-end: lab\/realvm /p')
	if [ -z "$t" ]; then
		printf '   %-14s (no run)\n' "coresched=$mode"
		problem "real VMM, coresched=$mode: the test did not run"
		return
	fi
	boot=$(echo "$t" | sed -n 's/^# guest boot time: \([0-9.]*\) s.*/\1/p')
	total=$(echo "$t" | sed -n 's/^# total run time: \([0-9.]*\) s.*/\1/p')
	while read -r k v; do
		stat[$k]=${v#+}
	done < <(echo "$t" | sed -n 's/^# stats: //p' | tr ' ' '\n' | tr '=' ' ')
	for k in 0 1; do
		cpu[$k]=$(echo "$t" | sed -n "s/^# vCPU cpu$k: spin=\([0-9]*\) pingpong=\([0-9]*\) ipis=\([0-9]*\)/\1 \2 \3/p")
	done
	printf '   %-14s %6s %6s %12s %12s %9s %10s %10s %12s %13s\n' "coresched=$mode" \
		"${boot:-?} s" "${total:-?} s" "$(cut -d' ' -f1 <<< "${cpu[0]:-?}")" \
		"$(cut -d' ' -f1 <<< "${cpu[1]:-?}")" "$(cut -d' ' -f2 <<< "${cpu[0]:-?}")" \
		"${stat[slow_exits]:--}" "${stat[kicks_sent]:--}" \
		"$(( ${stat[wait_kick_ns]:-0} / 1000000 ))" "$(( ${stat[wait_enter_ns]:-0} / 1000000 ))"
	# The test's own verdicts: completion, progress, disk, console, kicks.
	echo "$t" | grep -a '^not ok ' | sed 's/^not ok [0-9]* //' |
	while read -r why; do
		echo "real VMM, coresched=$mode: the test says: not ok: $why"
	done > "$out/realvm-$mode.notok"
	while read -r why; do
		problem "$why"
	done < "$out/realvm-$mode.notok"
	echo "$t" | grep -q -a '^ok .*: the guest completed' ||
		problem "real VMM, coresched=$mode: the guest did not complete"
}

report_realvm() {
	heading "5. A real VM: Debian's QEMU with KVM boots Linux on the same core"
	printf '%s\n' \
		"   In the same two boots, QEMU (-accel kvm) boots the lab's kernel as a guest" \
		"   with 2 vCPUs, their threads pinned to the two siblings.  The guest spins on" \
		"   both vCPUs, idles, bounces messages between them (each one wakes the other" \
		"   vCPU with an IPI), writes and reads back 8 MB on a virtio disk served by" \
		"   QEMU's I/O thread, and powers off.  Boot: QEMU start to the guest's init." ""
	printf '   %-14s %6s %6s %12s %12s %9s %10s %10s %12s %13s\n' '' boot total \
		'vCPU0 spins' 'vCPU1 spins' pingpong 'slow exits' 'kicks sent' \
		'wait kick ms' 'wait enter ms'
	realvm_row on
	realvm_row vm
	printf '%s\n' "" \
		"   (spins: thousands of loop rounds; pingpong: round trips.)  Under coresched=vm" \
		"   every VM-exit that needs host code (a slow exit: the console, the disk, a" \
		"   timer, an IPI) makes its CPU a host CPU: a sibling in guest mode is kicked" \
		"   out first (an IPI, \"kicks sent\"), and the exit waits for it to leave (\"wait" \
		"   kick\"); the sibling waits to re-enter until the host code is done (\"wait" \
		"   enter\").  That is the price of never running guest code beside host code;" \
		"   under coresched=on there is none, and no isolation either."
}

say "make run: booting $(basename "$kernel") on one core of two threads"
rc=0
extra=()
[ -z "${RUN_EXTRA:-}" ] || extra=(--extra "$RUN_EXTRA")
"$LAB/boot.sh" --kernel "$kernel" --topo "$topo" --timeout 300 --out "$out" \
	--append "lab.demo_ms=${DEMO_MS:-2000}" "${extra[@]}" demo || rc=$?
if [ ! -s "$out/results.log" ]; then
	die "the guest produced no results ($out)"
fi
tr -d '\r' < "$out/results.log" > "$log"
[ "$rc" = 0 ] || problem "the guest run failed: $(cat "$out/verdict" 2>/dev/null)"

parse "$(line info kernel=)"
heading "Core scheduling isolation: demonstration"
IFS=, read -r sockets cores threads <<< "$topo"
printf '   kernel %s (%s) under QEMU TCG: %s socket x %s core x %s threads;\n' \
	"${f[kernel]:-?}" "${kernel#"$TOP"/}" "$sockets" "$cores" "$threads"
printf '   core scheduling mode (coresched=): %s\n' "${f[mode]:-?}"
for s in "${SECTIONS[@]}"; do
	"report_$s"
	st=$(line status "section=$s ")
	parse "$st"
	case ${f[rc]:-missing} in
	0 | 1 | 3) ;;	# as claimed, contradicted, starved: the rows said which
	*) problem "section $s: ${st:-did not run} (could not measure)" ;;
	esac
done
say "booting it twice more, coresched=on and coresched=vm, for KVM"
report_vm
report_realvm

echo
if [ ${#problems[@]} = 0 ] && [ ${#busy[@]} = 0 ]; then
	printf '%sEvery measurement agrees with the claim.%s  Logs: %s\n' \
		"$c_grn" "$c_off" "${out#"$TOP"/}"
	exit 0
fi
if [ ${#problems[@]} != 0 ]; then
	printf '%sThe demonstration does not support the claim:%s\n' "$c_red" "$c_off"
	printf '   %s\n' "${problems[@]}"
fi
if [ ${#busy[@]} != 0 ]; then
	printf '%sThe host was too busy to demonstrate anything (run again when it is idle):%s\n' \
		"$c_yel" "$c_off"
	printf '   %s\n' "${busy[@]}"
fi
printf '   Logs: %s\n' "${out#"$TOP"/}"
exit 1
