#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tests of the lab itself: the harness must fail loudly on what it exists
# to catch.  Each check is a result record.
#   bad-patch  a patch that does not apply stops the tree with a message
#              naming the patch and the file
#   warnings   a warning injected into a file of the series fails the
#              sparse and W=1 gate, which must have compiled and checked
#              every object (a gate that builds nothing passes nothing)
#   guest      a guest kernel panic, a hang and a WARNING each fail the
#              run, though the script itself finished; the same boot
#              without a fault passes (the checks could otherwise pass on
#              a harness that fails everything)
#   isolated   the isolation verdict fails for tasks that share a core
#   tap        a failing test point and a test that never started fail
#
# usage: lab-selftest.sh [SECTION...]   (default: all of them)
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lib.sh"

rec() { "$LAB/tap.py" add "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- a patch that does not apply -----------------------------------------
# The series' first four patches, the fourth with one context line of
# kernel/sched/core_sched.c changed: it must stop the tree, not fuzz, and
# the same four unchanged must apply (so the failure is the change's).
st_bad_patch() {
local i p adds broken rc rc_good out
head -n 4 < <(grep -v -E '^[[:space:]]*(#|$)' "$TOP/patches/series") > "$tmp/head"
i=0
while read -r p adds; do
	i=$((i + 1))
	cp "$TOP/patches/$p" "$tmp/$p"
	echo "$p $adds" >> "$tmp/series.good"
	if [ $i = 4 ]; then
		sed 's/^ struct sched_core_cookie {$/ struct sched_core_biscuit {/' \
			"$TOP/patches/$p" > "$tmp/broken-$p"
		echo "broken-$p $adds" >> "$tmp/series.broken"
		broken=broken-$p
	else
		echo "$p $adds" >> "$tmp/series.broken"
	fi
done < "$tmp/head"
apply4() {
	cp "$tmp/series.$1" "$tmp/series"
	"$LAB/tree.sh" --check --patches "$tmp" 2>&1
}
apply4 good > "$tmp/good.out"
rc_good=$?
out=$(apply4 broken)
rc=$?
if [ $rc_good = 0 ] && [ $rc != 0 ] && echo "$out" | grep -q -- "$broken" &&
   echo "$out" | grep -q 'kernel/sched/core_sched.c'; then
	rec pass "lab: a patch that does not apply fails, naming patch and file"
else
	rec fail "lab: a patch that does not apply fails, naming patch and file" \
		"unchanged rc=$rc_good, changed rc=$rc: $(echo "$out" | tail -n 2)"
fi

}

# --- the sparse and W=1 gate -------------------------------------------------
# The gate on a copy of the patched tree (hard links, but for the changed
# file) where kernel/sched/coresched.c ends in a function without a
# prototype: W=1 (-Wmissing-prototypes) and sparse ("Should it be
# static?") each report it, and the gate must fail naming both.  The
# unchanged tree passes the same gate in "make check".
st_warnings() {
	local name="lab: a warning injected into the series fails the sparse and W=1 gate"
	local dir=$BUILD/lab-selftest f=kernel/sched/coresched.c out
	rm -rf "$dir/src"
	mkdir -p "$dir/src"
	cp -al "$LINUX" "$dir/src/linux"
	rm -f "$dir/src/linux/.git"
	cat "$LINUX/$f" - > "$dir/src/linux/$f.new" <<'EOT'

int lab_injected_warning(void)
{
	return 0;
}
EOT
	mv "$dir/src/linux/$f.new" "$dir/src/linux/$f"
	out=$(LAB_RESULTS=$tmp/warnings.tsv "$LAB/check.sh" --tree "$dir/src/linux" \
		--out "$dir/check" warnings 2>&1)
	if grep -q -P '^fail\tcheck: sparse' "$tmp/warnings.tsv" &&
	   grep -q "coresched.c: warning: no previous prototype for 'lab_injected_warning'" \
		"$dir/check/patched.w" &&
	   grep -q "coresched.c: warning: symbol 'lab_injected_warning' was not declared" \
		"$dir/check/patched.w"; then
		rec pass "$name"
	else
		rec fail "$name" "$(cut -f1,3 "$tmp/warnings.tsv" | head -c 300) $(echo "$out" | tail -n 2)"
	fi
	rm -rf "$dir/src"
}

# --- guest failures --------------------------------------------------------
# expect NAME VERDICT [boot.sh options]: the run must fail with VERDICT.
expect() {
	local what=$1 want=$2 got rc=0
	shift 2
	"$LAB/boot.sh" --out "$tmp/$what" "$@" > "$tmp/$what.out" 2>&1 || rc=$?
	got=$(cat "$tmp/$what/verdict" 2>/dev/null)
	if [ "$want" = ok ] && [ $rc = 0 ] && [ "$got" = ok ]; then
		rec pass "lab: a clean guest run passes ($what)"
	elif [ "$want" != ok ] && [ $rc != 0 ] && [ "$got" = "$want" ] &&
	     grep -q 'FAIL' "$tmp/$what.out"; then
		rec pass "lab: $what in the guest fails the run (verdict $got)"
	else
		rec fail "lab: $what in the guest fails the run" \
			"boot.sh rc=$rc verdict=$got, wanted $want"
	fi
}
st_guest() {
	expect control ok --timeout 120 --append lab.fault=NONE fault
	expect panic panic --timeout 120 --append lab.fault=PANIC fault
	expect warning splat --timeout 120 --append lab.fault=WARNING fault
	expect hang timeout --timeout 20 --append lab.fault=HUNG fault
}

# --- the isolation verdict ---------------------------------------------------
# The verdict that the isolation tests give tasks with different cookies
# must be able to fail: two untagged tasks, which share the core, judged as
# if they had to be isolated, under coresched=off, are "contradicted"
# (cs_measure exits 1).
st_isolated() {
local name="lab: the isolated verdict fails for tasks that share a core" rc
if "$LAB/boot.sh" --out "$tmp/iso" --timeout 120 \
	--append "coresched=off lab.fault=ISOLATED" fault > "$tmp/iso.out" 2>&1; then
	rc=$(tr -d '\r' < "$tmp/iso/results.log" | sed -n 's/^# lab-measure: rc=//p')
	if [ "$rc" = 1 ]; then
		rec pass "$name"
	else
		rec fail "$name" "cs_measure untagged exited ${rc:-nothing}, not 1: $(grep '^measure' "$tmp/iso/results.log" | head -n 1)"
	fi
else
	rec fail "$name" "the guest run failed: $(tail -n 1 "$tmp/iso.out")"
fi

}

# --- test results ----------------------------------------------------------
# A TAP "not ok" and a planned test that never started must each become a
# failure record, and a passing point a pass (tap.py guest, on a real run).
st_tap() {
local name="lab: a failing test point and a test that never started fail"
if "$LAB/boot.sh" --out "$tmp/tap" --timeout 120 --append lab.fault=TAP fault \
	> "$tmp/tap.out" 2>&1; then
	LAB_RESULTS=$tmp/tap.tsv "$LAB/tap.py" guest tap "$tmp/tap"
	if grep -q -P '^pass\ttap/fault/passes: a point that passes' "$tmp/tap.tsv" &&
	   grep -q -P '^fail\ttap/fault/fails: a point that fails' "$tmp/tap.tsv" &&
	   grep -q -P '^fail\ttap/fault/never-starts\t' "$tmp/tap.tsv"; then
		rec pass "$name"
	else
		rec fail "$name" "records: $(cut -f1,2 "$tmp/tap.tsv" | tr '\t\n' ': ')"
	fi
else
	rec fail "$name" "the guest run failed: $(tail -n 1 "$tmp/tap.out")"
fi
}

all=(bad_patch warnings guest isolated tap)
for section in "${@:-${all[@]}}"; do
	case " ${all[*]} " in
	*" ${section//-/_} "*) "st_${section//-/_}" ;;
	*) die "lab-selftest.sh: no section $section (${all[*]})" ;;
	esac
done
