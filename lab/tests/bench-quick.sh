#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make bench QUICK=1" as a test: one short round of every benchmark into
# build/bench-quick/ (never the committed BENCHMARKS.md and benchmarks/),
# then one result record (and one per measurement run again, below):
# pass if every number the plan asks for is there
# and numeric, the report and the plots were written; fail otherwise,
# naming what is missing.  The numbers themselves are not judged: a quick
# round under TCG on a shared host is too noisy for that.
#
#   BENCH_QUICK_OUT=DIR   where the quick outputs go (default
#                         build/bench-quick)
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lib.sh"
# The whole script is one block: bash reads it before running any of it,
# so editing this file during a run (which takes long) cannot derail it.
{

name="bench: make bench QUICK=1 produces every number"
dir=${BENCH_QUICK_OUT:-$BUILD/bench-quick}
rec() { "$LAB/tap.py" add "$@"; }

rm -rf "$dir"
mkdir -p "$dir"
start=$SECONDS
rc=0
"$LAB/bench.sh" --quick --out "$dir" > "$dir.log" 2>&1 || rc=$?
took=$((SECONDS - start))

if [ ! -s "$dir/benchmarks/rounds.csv" ]; then
	rec fail "$name" "no rounds.csv (bench.sh exit $rc, see ${dir#"$TOP"/}.log)"
	exit 1
fi
check=$(python3 "$LAB/bench/report.py" --check "$dir" 2>&1)
crc=$?
# A benchmark boot is a boot like any other: a splat, a panic or a hang
# in its console fails the test, whatever numbers it printed.
bad=()
for v in "$dir"/runs/*/verdict; do
	[ -f "$v" ] || continue
	[ "$(cat "$v")" = ok ] || bad+=("$(basename "$(dirname "$v")"): $(cat "$v")")
done
if [ ${#bad[@]} != 0 ]; then
	rec fail "$name" "guest runs failed: ${bad[*]} (${dir#"$TOP"/}/runs)"
	exit 1
fi
missing=()
for f in BENCHMARKS.md benchmarks/sched-cost.png benchmarks/vm-work.png \
	 benchmarks/vm-scale.png benchmarks/realvm.png; do
	[ -s "$dir/$f" ] || missing+=("$f")
done
# The measurements run once more (lab/guest/bench.sh): each a retry
# record if lab/retries.list expects its failure, a failure otherwise.
"$LAB/tap.py" bench-again "$dir/benchmarks/again.txt" ||
	rec fail "bench: measured again" "tap.py bench-again failed on ${dir#"$TOP"/}/benchmarks/again.txt"
first=$(echo "$check" | head -n 1)
if [ $crc = 0 ] && [ $rc = 0 ] && [ ${#missing[@]} = 0 ]; then
	rec pass "$name" "$first in ${took}s"
	exit 0
fi
detail="$first"
[ $rc = 0 ] || detail+="; bench.sh exit $rc"
[ ${#missing[@]} = 0 ] || detail+="; not written: ${missing[*]}"
detail+="; $(echo "$check" | sed -n 's/^missing: //p' | head -n 4 | paste -sd ';' -)"
rec fail "$name" "$detail (${dir#"$TOP"/}.log)"
exit 1
}
