#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make test": build everything, run every test, summarise.
#
#   1. host: the trees, the three kernels, the initramfs, the series
#      (git am onto the pristine base, every patch builds), style gates,
#      the lab's own tests, one quick benchmark round
#   2. guest: the kselftests of lab/guest/tests.list on each run of
#      lab/runs.list (kernel, SMT topology, mode, CPU model)
#
# Every check is a record (lab/tap.py); a failed step is recorded and the
# run goes on, so one report shows everything.  The last line is
# "N passed, N failed[, N skipped]"; the exit code is non-zero on any
# failure.  QUICK=1 skips the per-patch build check (development only).
# Before the summary, the time each phase took (build/test/times.tsv).
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
# The script is one block: bash reads it whole before running any of it,
# so editing this file while it runs (a run takes long) cannot derail it.
{

export LAB_RESULTS=$BUILD/test/results.tsv
mkdir -p "$BUILD/test"
: > "$LAB_RESULTS"
log=$BUILD/test/log
times=$BUILD/test/times.tsv
: > "$times"
rec() { "$LAB/tap.py" add "$@"; }
t0=$SECONDS

# phase NAME CMD...: run CMD, its output to the log, and note how long it
# took (CPU time of the phase and its children too: on a shared host the
# wall clock alone says little); its exit code is CMD's.
phase() {
	local name=$1 start=$SECONDS rc=0 c0 c1
	shift
	c0=$(cpu_s)
	"$@" >> "$log" 2>&1 || rc=$?
	c1=$(cpu_s)
	printf '%s\t%s\t%s\n' "$((SECONDS - start))" "$(awk -v a="$c0" -v b="$c1" \
		'BEGIN { printf "%.0f", b - a }')" "$name" >> "$times"
	return $rc
}
# User and system time of this shell's finished children, in seconds.
cpu_s() {
	times | awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } print s }'
}

# step NAME CMD...: a host step as a phase; one record.
step() {
	local name=$1 start=$SECONDS rc=0
	shift
	say "$name"
	phase "$name" "$@" || rc=$?
	if [ $rc = 0 ]; then
		rec pass "host: $name" "$((SECONDS - start))s"
	else
		rec fail "host: $name" "exit $rc, see $log"
		tail -n 25 "$log" | sed 's/^/    /'
	fi
	return $rc
}

: > "$log"
step "install dependencies" "$LAB/deps.sh" || { "$LAB/tap.py" summary; exit 1; }
step "prepare base tree and apply the series" "$LAB/tree.sh" ||
	{ "$LAB/tap.py" summary; exit 1; }
# Which images built now: a run never boots an image this make test
# did not build (build.sh removes it, and a run of a kernel that failed
# is failed here).
declare -A good=([bzImage]=0 [vanilla/bzImage]=0 [debug/bzImage]=0)
step "build patched kernel" "$LAB/build.sh" patched && good[bzImage]=1
step "build vanilla kernel" "$LAB/build.sh" vanilla && good[vanilla/bzImage]=1
step "build debug kernel" "$LAB/build.sh" debug && good[debug/bzImage]=1
initramfs=0
step "build initramfs and kselftests" "$LAB/initramfs.sh" && initramfs=1
if [ "${QUICK:-0}" = 1 ]; then
	step "emit the series, git am onto the pristine base" "$LAB/series.sh"
else
	step "emit the series, git am onto the pristine base, build every patch" \
		"$LAB/series.sh" --bisect
fi
say "style gates (checkpatch, sparse, W=1, shellcheck, docutils)"
phase "style gates" "$LAB/check.sh"
say "the lab's lists (runs, tests, expected skips)"
"$LAB/tap.py" lists
if [ $initramfs = 1 ] && [ "${good[bzImage]}" = 1 ]; then
	say "the lab's own tests"
	phase "the lab's own tests" "$LAB/tests/lab-selftest.sh"
	if [ "${good[vanilla/bzImage]}" = 1 ]; then
		say "one quick round of the benchmark (make bench QUICK=1)"
		phase "one quick round of the benchmark" "$LAB/tests/bench-quick.sh"
	else
		rec fail "bench: make bench QUICK=1 produces every number" \
			"no vanilla kernel to compare with"
	fi
fi

# The guest runs of lab/runs.list.  RUNS=a,b narrows them (development);
# a name that is not in the list is an error, not an empty selection.
runs=${RUNS:-}
for r in ${runs//,/ }; do
	grep -q "^$r " "$LAB/runs.list" || rec fail "$r: boot" "RUNS names no run $r in lab/runs.list"
done
while read -r name kernel _; do
	case $name in "#"* | "") continue ;; esac
	[ -z "${RUNS:-}" ] || case ",$RUNS," in
		*",$name,"*) ;;
		*) continue ;;
	esac
	if [ $initramfs = 0 ] || [ "${good[$kernel]:-0}" = 0 ] || [ ! -f "$BUILD/$kernel" ]; then
		rec fail "$name: boot" "$kernel or the initramfs did not build"
		continue
	fi
	size=$(stat -c %s "$log")
	phase "guest run $name" "$LAB/guest-run.sh" "$name" < /dev/null
	tail -c +$((size + 1)) "$log"
done < "$LAB/runs.list"

echo
say "time per phase (wall clock and CPU time, seconds)"
awk -F'\t' '{ printf "  %6d %6d  %s\n", $1, $2, $3; w += $1; c += $2 }
	END { printf "  %6d %6d  in all\n", w, c }' "$times"
say "summary ($(( (SECONDS - t0) / 60 )) min)"
"$LAB/tap.py" summary
exit
}
