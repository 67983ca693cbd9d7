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
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

export LAB_RESULTS=$BUILD/test/results.tsv
mkdir -p "$BUILD/test"
: > "$LAB_RESULTS"
log=$BUILD/test/log
rec() { "$LAB/tap.py" add "$@"; }
t0=$SECONDS

# step NAME CMD...: run a host step, its output to the log; one record.
step() {
	local name=$1 start=$SECONDS rc=0
	shift
	say "$name"
	"$@" >> "$log" 2>&1 || rc=$?
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
built=1
step "build patched kernel" "$LAB/build.sh" patched || built=0
vanilla=1
step "build vanilla kernel" "$LAB/build.sh" vanilla || vanilla=0
step "build debug kernel" "$LAB/build.sh" debug
step "build initramfs and kselftests" "$LAB/initramfs.sh" || built=0
if [ "${QUICK:-0}" = 1 ]; then
	step "emit the series, git am onto the pristine base" "$LAB/series.sh"
else
	step "emit the series, git am onto the pristine base, build every patch" \
		"$LAB/series.sh" --bisect
fi
say "style gates (checkpatch, sparse, W=1, shellcheck, docutils)"
"$LAB/check.sh" >> "$log" 2>&1
if [ $built = 1 ]; then
	say "the lab's own tests"
	"$LAB/tests/lab-selftest.sh" >> "$log" 2>&1
	if [ $vanilla = 1 ]; then
		say "one quick round of the benchmark (make bench QUICK=1)"
		"$LAB/tests/bench-quick.sh" >> "$log" 2>&1
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
while read -r name kernel topo mode tmo cpu extra append; do
	case $name in "#"* | "") continue ;; esac
	[ -z "${RUNS:-}" ] || case ",$RUNS," in
		*",$name,"*) ;;
		*) continue ;;
	esac
	if [ $built = 0 ] || [ ! -f "$BUILD/$kernel" ]; then
		rec fail "$name: boot" "no kernel or initramfs"
		continue
	fi
	opts=()
	[ "$cpu" = - ] || opts+=(--cpu "$cpu")
	[ "$extra" = - ] || for e in ${extra//,/ }; do opts+=(--extra "$BUILD/$e"); done
	say "guest run $name: $kernel, topology $topo, mode $mode"
	"$LAB/boot.sh" --kernel "$BUILD/$kernel" --topo "$topo" "${opts[@]}" \
		--timeout "$tmo" --out "$BUILD/runs/$name" \
		--append "lab.mode=$mode ${append:-}" tests < /dev/null 2>&1 |
		tee -a "$log"
	"$LAB/tap.py" guest "$name" "$BUILD/runs/$name"
done < "$LAB/runs.list"

echo
say "summary ($(( (SECONDS - t0) / 60 )) min)"
"$LAB/tap.py" summary
