#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One guest run of lab/runs.list, as "make test" boots it, judged as it
# judges it: its records go to $LAB_RESULTS (tap.py guest).
#
# A run that fails with a console line that lab/retries.list expects of
# it (test "boot": runs of the vanilla kernel, or of the series' kernel
# outside coresched=vm, tap.py expects-retry) boots once more, on the
# series' kernel only if no test but the real VM's failed with it: the
# first attempt, kept beside as build/runs/NAME.1, is a "retry" record
# that names the first console line that failed it and every failure
# its tests had, and the second attempt is the run's result.
#
# usage: guest-run.sh NAME [boot.sh options...]
#   NAME    a run of lab/runs.list; its files go to build/runs/NAME
#   the options are added to the run's own (e.g. --append lab.only=a/b,
#   which makes the run fail for the tests it leaves out: for development);
#   a run given options is never booted again, as the decision rests on
#   the run's line in lab/runs.list (its kernel, its command line)
# $LAB_RUNS_LIST replaces lab/runs.list and $LAB_BOOT lab/boot.sh (the
# lab's own tests).
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

run=${1:?usage: guest-run.sh NAME [boot.sh options...]}
shift
line=$(awk -v r="$run" '$1 == r' "${LAB_RUNS_LIST:-$LAB/runs.list}")
[ -n "$line" ] || die "no run $run in lab/runs.list"
read -r name kernel topo mode tmo cpu extra append <<< "$line"
opts=()
[ "$cpu" = - ] || opts+=(--cpu "$cpu")
[ "$extra" = - ] || for e in ${extra//,/ }; do opts+=(--extra "$BUILD/$e"); done
extra_append='' own=$#
while [ $# -gt 0 ]; do
	case $1 in
	--append) extra_append+=" $2"; shift 2 ;;
	*) opts+=("$1"); shift ;;
	esac
done
dir=$BUILD/runs/$name
boot() {
	"${LAB_BOOT:-$LAB/boot.sh}" --kernel "$BUILD/$kernel" --topo "$topo" "${opts[@]}" \
		--timeout "$tmo" --out "$dir" \
		--append "lab.mode=$mode ${append:-}$extra_append" tests < /dev/null
}
say "guest run $name: $kernel, topology $topo, mode $mode"
rm -rf "$dir.1"
boot
rc=$?
first=$(console_splats "$dir/console.log" | head -n 1 | cut -d: -f2-)
where=''
if [ $rc != 0 ] && [ -n "$first" ] && [ "$own" = 0 ] &&
   where=$("$LAB/tap.py" expects-retry "$name" boot "$first"); then
	LAB_RESULTS=$dir/attempt.tsv "$LAB/tap.py" guest "$name" "$dir"
	failed=$(awk -F'\t' '$1 == "fail" { printf "%s%s", sep, $2; sep = "; " }' \
		"$dir/attempt.tsv")
	# On the series' kernel the splat may take only the real VM's tests
	# with it: another test's failure is the series' until shown not.
	others=$(awk -F'\t' -v n="$name" '$1 == "fail" &&
		$2 != n ": boot, run to completion, console clean" &&
		index($2, n "/lab/realvm") != 1 { print $2 }' "$dir/attempt.tsv")
	[ "$kernel" = vanilla/bzImage ] || [ -z "$others" ] || where=''
fi
if [ -n "$where" ]; then
	mv "$dir" "$dir.1" || die "cannot keep the first attempt of $name as $dir.1"
	"$LAB/tap.py" add retry "$name: boot" \
		"booted again after: $first (expected: $where); the first attempt ($dir.1) failed: $failed"
	say "$name: booting again after a failure $where expects: $first"
	boot
	rc=$?
fi
"$LAB/tap.py" guest "$name" "$dir"
exit $rc
