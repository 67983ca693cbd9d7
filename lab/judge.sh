#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Judge a finished guest run from its files alone, as boot.sh does when
# the guest ends; run again, it gives the same verdict.
#
# usage: judge.sh [--console] RUNDIR
#
# The run passes when the guest script finished ("# lab: done rc=0") and
# the console holds no splat: no line matching lab/splat.re but for the
# exceptions of lab/splat.allow, and, if the command line asked for QEMU
# on some host CPUs only (lab.host_cpus=), QEMU ran on those.  The verdict
# (ok, unpinned, timeout, panic, incomplete, failed, splat) goes to
# RUNDIR/verdict; the exit code is 0 for ok.  Then, unless --console is given, a run of the kselftests
# (lab.run=tests) has its tests judged against the host's plan (tap.py
# guest) into RUNDIR/results.tsv, with a summary: the verdict "make test"
# gives that run, the run's name being the directory's.
#
# The files: RUNDIR/console.log (first serial port), results.log (second
# serial port: what the guest script printed), run.info (QEMU's exit code,
# the timeout, why boot.sh stopped a hung guest early: hang=, the host
# CPUs asked for and those QEMU was allowed: host_cpus_asked=, host_cpus=),
# cmdline (the kernel command line), qemu.cmd (the exact QEMU command, to
# boot the run again by hand); of a hung guest, hang-registers.txt and the
# kernel's System.map, from which a failure's report names where each CPU
# was (lab/hang-symbols.py).
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

console_only=0
[ "${1:-}" = --console ] && { console_only=1; shift; }
dir=${1:?usage: judge.sh [--console] RUNDIR}
[ -f "$dir/run.info" ] || die "$dir: no run.info, not a finished run"
console=$dir/console.log results=$dir/results.log
info() { sed -n "s/^$1=//p" "$dir/run.info"; }
rc=$(info qemu_rc) timeout=$(info timeout) took=$(info seconds)
label="$(info script) ($(info smp)$(sed -n 's/^append=\(..*\)/, \1/p' "$dir/run.info"), ${took}s)"

splats=$(console_splats "$console")

# cpu_set LIST: the CPUs of a list such as 0,2-3, one a line, sorted as
# comm wants them.
cpu_set() {
	tr , '\n' <<< "$1" | awk -F- 'NF { for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }' |
		sort -u
}

verdict=ok why=''
if [ -n "$(info hang)" ] && [ -n "$splats" ]; then
	verdict=splat why="the console holds kernel splats (the guest was stopped: $(info hang))"
elif [ -n "$(info hang)" ]; then
	verdict=timeout why="the guest was killed: $(info hang)"
elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	verdict=timeout why="the guest was killed after ${timeout}s (hang)"
elif grep -q -a 'Kernel panic' "$console"; then
	verdict=panic why="the guest kernel panicked"
elif ! grep -q -a '^# lab: done' "$results"; then
	verdict=incomplete why="the guest stopped before its script ended (qemu rc=$rc)"
elif ! grep -q -a '^# lab: done rc=0' "$results"; then
	verdict=failed why="the guest script failed ($(grep -a -m1 '^# lab: done' "$results"))"
elif [ -n "$splats" ]; then
	verdict=splat why="the console holds kernel splats"
fi
# Asked for some host CPUs only, QEMU must have been seen allowed no other.
asked=$(info host_cpus_asked) allowed=$(info host_cpus)
if [ "$verdict" = ok ] && [ -n "$asked" ]; then
	if [ -z "$allowed" ]; then
		verdict=unpinned why="QEMU's host CPUs were not seen (lab.host_cpus=$asked; see qemu.log)"
	elif [ -n "$(comm -13 <(cpu_set "$asked") <(cpu_set "$allowed"))" ]; then
		verdict=unpinned why="QEMU could run on host CPUs $allowed, not $asked only (lab.host_cpus)"
	fi
fi
echo "$verdict" > "$dir/verdict"

if [ "$verdict" = ok ]; then
	say "$(basename "$dir"): guest run ok: $label"
else
	printf '%sFAIL%s %s: %s: %s\n' "$c_red" "$c_off" "$(basename "$dir")" "$why" \
		"$label" >&2
	if [ -n "$splats" ]; then
		# The first splat, before the list: a report cut short (CI
		# shows only the start of a long one) still shows where the
		# first fault was, its call trace included.  It ends at the
		# splat's own end (a warning's "end trace" line, KASAN's
		# closing rule), after 40 lines at most, and goes without the
		# frames the unwinder is unsure of ("? ") and without the
		# registers but RIP, which the console log keeps.
		first=${splats%%:*}
		echo "  the first splat, from console line $first (no \"? \" frames, no registers but RIP):" >&2
		tr -d '\r' < "$console" | tail -n +"$first" |
			sed -E '1!{/---\[ end trace|\] =+$/q}
				/\] +\? /d; /\] (RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2|DR0|DR3):/d' |
			head -n 40 | sed 's/^/    /' >&2
		echo "  console lines that fail the run ($console):" >&2
		# shellcheck disable=SC2001
		echo "$splats" | sed 's/^/    /' >&2
	fi
	echo "  console tail:" >&2
	tail -n 15 "$console" | sed 's/^/    /' >&2
	if grep -q '^RIP=' "$dir/hang-registers.txt" 2>/dev/null; then
		echo "  each CPU's registers and stack: $dir/hang-registers.txt" >&2
		"$LAB/hang-symbols.py" "$dir" 2>&1 | sed 's/^/    /' >&2 || true
	fi
fi
status=0
[ "$verdict" = ok ] || status=1

if [ $console_only = 0 ] && [ "$(info script)" = tests ]; then
	rm -f "$dir/results.tsv"
	# A first attempt booted again is kept as NAME.1: judged as NAME.
	run=$(basename "$dir")
	LAB_RESULTS=$dir/results.tsv "$LAB/tap.py" guest "${run%.1}" "$dir"
	LAB_RESULTS=$dir/results.tsv "$LAB/tap.py" summary || status=1
fi
exit $status
