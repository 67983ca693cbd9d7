#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make test": build everything, run every test, summarise.
#
#   1. host: the trees, the three kernels, the initramfs, the series
#      (git am onto the pristine base, every patch builds), style gates,
#      one quick benchmark round, the lab's own tests (while a kernel
#      the guest runs need is still building, else last)
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
# took (CPU time of CMD and its children too: on a shared host the wall
# clock alone says little); its exit code is CMD's.  The CPU time is read
# in a subshell that has only CMD as a child: this shell's children
# include the background chain, whenever it ends.
phase() {
	local name=$1 start=$SECONDS rc=0 f=$BUILD/test/times.$BASHPID
	shift
	( rc=0; "$@" || rc=$?; times > "$f"; exit $rc ) >> "$log" 2>&1 || rc=$?
	printf '%s\t%s\t%s\n' "$((SECONDS - start))" "$(awk 'NR == 2 {
		for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] }
		printf "%.0f", s }' "$f")" "$name" >> "$times"
	rm -f "$f"
	return $rc
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
# Which images this make test built: a run never boots an image it did
# not build (build.sh removes the old one first, and a run of a kernel
# that failed is failed here).
declare -A good=([bzImage]=0 [vanilla/bzImage]=0 [debug/bzImage]=0)

# What the first guest runs do not need is built in the background, at
# the lowest CPU and I/O priority, from the start: while the patched
# kernel builds, the background takes what its serial steps (configuring,
# linking) leave idle; while the guests run, what they leave (a guest ran
# at 0.7 to 0.9 of a core, of two).  When the guest runs have to wait for
# a kernel, the builds get the normal priority (for root) until it is
# there.  The background has its own records, log and times, merged at
# the end.
bg=$BUILD/test/bg
rm -rf "$bg"
mkdir -p "$bg"
bg_chain() {
	export LAB_RESULTS=$BUILD/test/results.bg.tsv
	log=$BUILD/test/log.bg times=$BUILD/test/times.bg.tsv
	: > "$LAB_RESULTS"
	: > "$log"
	: > "$times"
	renice -n 19 -p "$BASHPID" > /dev/null
	ionice -c 3 -p "$BASHPID" 2> /dev/null
	# The debug kernel first: its runs are the longest of all, so the
	# sooner they can start, the sooner make test ends; the vanilla
	# kernel's runs are short and come last.  Unless RUNS= names no run
	# of the debug kernel: then the vanilla kernel, which the benchmark
	# needs, first.
	local k
	for k in $bg_order; do
		step "build ${k%/bzImage} kernel" "$LAB/build.sh" "${k%/bzImage}"
		echo $? > "$bg/$k"
	done
	# The per-patch builds start from the patched kernel's .config.
	local start=$SECONDS
	while [ ! -f "$bg/patched" ]; do
		kill -0 $$ 2> /dev/null || exit 1
		sleep 5
	done
	printf '%s\t0\t%s\n' "$((SECONDS - start))" "waiting for the patched kernel" >> "$times"
	if [ "${QUICK:-0}" = 1 ]; then
		step "emit the series, git am onto the pristine base" "$LAB/series.sh"
	else
		step "emit the series, git am onto the pristine base, build every patch" \
			"$LAB/series.sh" --bisect
	fi
	say "style gates (checkpatch, sparse, W=1, shellcheck, docutils)"
	phase "style gates" "$LAB/check.sh"
	echo 0 > "$bg/finished"
}
mkdir -p "$bg/vanilla" "$bg/debug"
bg_order="debug/bzImage vanilla/bzImage"
if [ -n "${RUNS:-}" ] && ! awk -v r=",$RUNS," '$2 == "debug/bzImage" &&
   index(r, "," $1 ",") { found = 1 } END { exit !found }' "$LAB/runs.list"; then
	bg_order="vanilla/bzImage debug/bzImage"
fi
set -m		# the chain in a process group of its own, to renice it whole
bg_chain < /dev/null > "$BUILD/test/bg.out" 2>&1 &
bgpid=$!
set +m
# Nor does the chain outlive this make test: a next one's tree.sh would
# reset the tree it builds from.
trap 'kill -TERM -- -"$bgpid" 2> /dev/null' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "building the debug and vanilla kernels and every patch of the series in the background"
step "build patched kernel" "$LAB/build.sh" patched && good[bzImage]=1
: > "$bg/patched"
# Emulation does not speculate: the barrier after the kick wait is read
# from the image the runs boot.
[ "${good[bzImage]}" = 0 ] ||
	step "the speculation barrier after the kick wait is in the patched kernel" \
		"$LAB/nospec-check.py" "$BUILD/obj/vmlinux" scs_wait_out
initramfs=0
step "build initramfs and kselftests" "$LAB/initramfs.sh" && initramfs=1
# From here on the foreground's records go to a file of their own.
export LAB_RESULTS=$BUILD/test/results.fg.tsv
: > "$LAB_RESULTS"

# wait_bg FILE: until the background chain wrote FILE, at normal priority
# meanwhile; then the exit code it wrote (1 if the chain died).
wait_bg() {
	local start=$SECONDS
	if [ ! -f "$bg/$1" ] && kill -0 "$bgpid" 2> /dev/null; then
		say "waiting for the background builds ($1)"
		renice -n 0 -g "$bgpid" > /dev/null 2>&1
		ionice -c 2 -n 4 -P "$bgpid" 2> /dev/null
		while [ ! -f "$bg/$1" ] && kill -0 "$bgpid" 2> /dev/null; do
			sleep 5
		done
		renice -n 19 -g "$bgpid" > /dev/null 2>&1
		ionice -c 3 -P "$bgpid" 2> /dev/null
		printf '%s\t0\t%s\n' "$((SECONDS - start))" "waiting for the background ($1)" >> "$times"
	fi
	return "$(cat "$bg/$1" 2> /dev/null || echo 1)"
}

# The lab's own tests, once.
selftested=0
lab_selftests() {
	[ $selftested = 0 ] && [ $initramfs = 1 ] && [ "${good[bzImage]}" = 1 ] ||
		return 0
	selftested=1
	say "the lab's own tests"
	phase "the lab's own tests" "$LAB/tests/lab-selftest.sh"
}

say "the lab's lists (runs, tests, expected skips)"
"$LAB/tap.py" lists

# The guest runs of lab/runs.list, those of the patched kernel first,
# then each other kernel's once it is built.  RUNS=a,b narrows them
# (development); a name that is not in the list is an error, not an
# empty selection.
runs=${RUNS:-}
for r in ${runs//,/ }; do
	grep -q "^$r " "$LAB/runs.list" || rec fail "$r: boot" "RUNS names no run $r in lab/runs.list"
done
for k in bzImage debug/bzImage vanilla/bzImage; do
	planned=$(awk -v k="$k" '!/^#/ && NF && $2 == k { print $1 }' "$LAB/runs.list")
	if [ -n "$runs" ]; then
		planned=$(for r in $planned; do case ",$runs," in *",$r,"*) echo "$r" ;; esac; done)
	fi
	# The lab's own tests need only the patched kernel: they run while
	# the background would otherwise be waited for, else last.
	[ -f "$bg/$k" ] || [ "$k" = bzImage ] || lab_selftests
	case $k in
	bzImage) ;;
	vanilla/bzImage) wait_bg "$k" && good[$k]=1 ;;	# the benchmark needs it
	*) [ -z "$planned" ] || { wait_bg "$k" && good[$k]=1; } ;;
	esac
	if [ "$k" = vanilla/bzImage ] && [ $initramfs = 1 ] && [ "${good[bzImage]}" = 1 ]; then
		if [ "${good[vanilla/bzImage]}" = 1 ]; then
			say "one quick round of the benchmark (make bench QUICK=1)"
			phase "one quick round of the benchmark" "$LAB/tests/bench-quick.sh"
		else
			rec fail "bench: make bench QUICK=1 produces every number" \
				"no vanilla kernel to compare with"
		fi
	fi
	for name in $planned; do
		if [ $initramfs = 0 ] || [ "${good[$k]}" = 0 ] || [ ! -f "$BUILD/$k" ]; then
			rec fail "$name: boot" "$k or the initramfs did not build"
			continue
		fi
		size=$(stat -c %s "$log")
		phase "guest run $name" "$LAB/guest-run.sh" "$name" < /dev/null
		tail -c +$((size + 1)) "$log"
	done
done
awk '!/^#/ && NF && $2 != "bzImage" && $2 != "vanilla/bzImage" &&
     $2 != "debug/bzImage" { print $1 }' "$LAB/runs.list" |
while read -r name; do
	rec fail "$name: boot" "lab/runs.list: a kernel make test does not build"
done
lab_selftests
wait_bg finished || rec fail "host: the background builds" "they did not finish, see $BUILD/test/bg.out"
wait "$bgpid"
cat "$BUILD/test/log.bg" >> "$log"
echo
say "the background builds"
cat "$BUILD/test/bg.out"

# The records: the host's first steps, then the background's, then the
# rest, as if they had run one after the other.
export LAB_RESULTS=$BUILD/test/results.tsv
cat "$BUILD/test/results.bg.tsv" "$BUILD/test/results.fg.tsv" >> "$LAB_RESULTS"

echo
say "time per phase (wall clock and CPU time, seconds)"
awk -F'\t' '{ printf "  %6d %6d  %s\n", $1, $2, $3; w += $1; c += $2 }
	END { printf "  %6d %6d  in all\n", w, c }' "$times"
say "in the background, during the above (wall clock and CPU time, seconds)"
awk -F'\t' '{ printf "  %6d %6d  %s\n", $1, $2, $3; w += $1; c += $2 }
	END { printf "  %6d %6d  in all\n", w, c }' "$BUILD/test/times.bg.tsv"
say "summary ($(( (SECONDS - t0) / 60 )) min)"
"$LAB/tap.py" summary
exit
}
