#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# One guest run of lab/runs.list, as "make test" boots it, judged as it
# judges it: its records go to $LAB_RESULTS (tap.py guest).
#
# usage: guest-run.sh NAME [boot.sh options...]
#   NAME    a run of lab/runs.list; its files go to build/runs/NAME
#   the options are added to the run's own (e.g. --append lab.only=a/b,
#   which makes the run fail for the tests it leaves out: for development)
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

run=${1:?usage: guest-run.sh NAME [boot.sh options...]}
shift
line=$(awk -v r="$run" '$1 == r' "$LAB/runs.list")
[ -n "$line" ] || die "no run $run in lab/runs.list"
read -r name kernel topo mode tmo cpu extra append <<< "$line"
opts=()
[ "$cpu" = - ] || opts+=(--cpu "$cpu")
[ "$extra" = - ] || for e in ${extra//,/ }; do opts+=(--extra "$BUILD/$e"); done
extra_append=''
while [ $# -gt 0 ]; do
	case $1 in
	--append) extra_append+=" $2"; shift 2 ;;
	*) opts+=("$1"); shift ;;
	esac
done
say "guest run $name: $kernel, topology $topo, mode $mode"
"$LAB/boot.sh" --kernel "$BUILD/$kernel" --topo "$topo" "${opts[@]}" \
	--timeout "$tmo" --out "$BUILD/runs/$name" \
	--append "lab.mode=$mode ${append:-}$extra_append" tests < /dev/null
rc=$?
"$LAB/tap.py" guest "$name" "$BUILD/runs/$name"
exit $rc
