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
#              a harness that fails everything); a guest silent and idle,
#              or silent after a splat, is stopped early with each CPU's
#              registers, preempt count and stack, and one that computes
#              in silence is not
#   isolated   the isolation verdict fails for tasks that share a core
#   tap        a failing test point and a test that never started fail;
#              lab.only keeps a retry: test's attempts
#   reboot     a run that fails as lab/retries.list expects boots once
#              more, and only its second attempt counts; any other
#              failure fails at once
#   bench      the quick benchmark's measurements run again are judged
#              against lab/retries.list, never accepted under coresched=vm
#   rejudge    a finished run is judged again from its files; QEMU asked
#              to run on one host CPU does, or the run fails
#   nospec     the speculation barrier check fails on an image without
#              the barrier
#   bisect     the per-patch build check chooses what each kind of header
#              change can break
#
# usage: lab-selftest.sh [SECTION...]   (default: all of them)
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lib.sh"

rec() { "$LAB/tap.py" add "$@"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- a patch that does not apply -----------------------------------------
# The series up to its first patch with "struct sched_core_cookie {" as a
# context line of kernel/sched/core_sched.c, that line changed: it must
# stop the tree, not fuzz, and the same patches unchanged must apply (so
# the failure is the change's).
st_bad_patch() {
local i n p adds broken rc rc_good out
grep -v -E '^[[:space:]]*(#|$)' "$TOP/patches/series" > "$tmp/all"
n=0 i=0
while read -r p adds; do
	i=$((i + 1))
	if grep -q '^ struct sched_core_cookie {$' "$TOP/patches/$p"; then
		n=$i
		break
	fi
done < "$tmp/all"
head -n "$n" "$tmp/all" > "$tmp/head"
i=0
while read -r p adds; do
	i=$((i + 1))
	cp "$TOP/patches/$p" "$tmp/$p"
	echo "$p $adds" >> "$tmp/series.good"
	if [ $i = "$n" ]; then
		sed 's/^ struct sched_core_cookie {$/ struct sched_core_biscuit {/' \
			"$TOP/patches/$p" > "$tmp/broken-$p"
		echo "broken-$p $adds" >> "$tmp/series.broken"
		broken=broken-$p
	else
		echo "$p $adds" >> "$tmp/series.broken"
	fi
done < "$tmp/head"
apply_n() {
	cp "$tmp/series.$1" "$tmp/series"
	"$LAB/tree.sh" --check --patches "$tmp" 2>&1
}
apply_n good > "$tmp/good.out"
rc_good=$?
out=$(apply_n broken)
rc=$?
if [ "$n" -gt 0 ] && [ $rc_good = 0 ] && [ $rc != 0 ] && echo "$out" | grep -q -- "$broken" &&
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
	st_idle_hang
}

# A guest silent and idle is stopped long before its timeout, with each
# CPU's registers, stack and preempt count; one silent but computing is
# not stopped; one silent after a splat is, and its verdict names the splat.
hang_dumped() {
	[ "$(grep -c '^RIP=' "$1/hang-registers.txt" 2>/dev/null)" -ge 2 ] &&
	[ "$(grep -A2 'pcpu_hot' "$1/hang-registers.txt" | grep -c '^ffff[0-9a-f]*: 0x')" -ge 2 ] &&
	[ "$(grep -A1 'x /64gx' "$1/hang-registers.txt" | grep -c '^ffff[0-9a-f]*: 0x')" -ge 2 ] &&
	[ "$("$LAB/hang-symbols.py" "$1" | grep -c '^CPU [0-9]*: RIP [a-z_][a-z0-9_.]*+0x')" -ge 2 ]
}
st_idle_hang() {
	local name d got took c what fault idle splat want
	for c in "idle HUNG 15 0 timeout" "splat WARNHUNG 0 10 splat" "busy SPIN 15 0 ok"; do
		read -r what fault idle splat want <<< "$c"
		d=$tmp/$what-hang
		LAB_IDLE_HANG=$idle LAB_SPLAT_HANG=$splat "$LAB/boot.sh" --out "$d" \
			--timeout 600 --append "lab.fault=$fault" fault > "$d.out" 2>&1
		got=$(cat "$d/verdict" 2>/dev/null)
		took=$(sed -n 's/^seconds=//p' "$d/run.info" 2>/dev/null)
		case $what in
		busy) name="lab: a guest that computes in silence is not taken as hung" ;;
		idle) name="lab: a guest silent and idle is stopped early, its CPUs dumped" ;;
		*) name="lab: a guest silent after a splat is stopped early, its CPUs dumped" ;;
		esac
		if [ "$got" = "$want" ] && [ "${took:-600}" -lt 300 ] &&
		   { [ "$want" = ok ] || hang_dumped "$d"; }; then
			rec pass "$name"
		else
			rec fail "$name" "verdict=$got (wanted $want) took=${took}s, see $d"
		fi
	done
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
# One boot of the kselftest runner (lab.run=tests) with a tests.list of
# its own laid over the image: small guest scripts that each print one
# kind of bad (or good) TAP, two real tests told the wrong mode, and the
# KVM regression script without its list and with a test that skips.
# The host judges it with a plan that also has a test the image lacks
# (as a stale image would), then again with the guest's output cut before
# the first test.  Each failure mode is its own record.  A second boot
# narrows the run to two retry: tests (lab.only).
st_tap_script() {
	local name=$1
	shift
	printf '%s\n' "$@" > "$tmp/overlay/lab/$name.sh"
	echo "selftest 60 lab/$name" >> "$tmp/overlay/lab/tests.list"
}
st_tap() {
	local dir=$tmp/tap o=$tmp/overlay recs=$tmp/tap.tsv
	mkdir -p "$o/lab" "$o/selftests/labst" "$o/selftests/labkvm"
	: > "$o/lab/tests.list"
	st_tap_script st-pass 'echo "TAP version 13"; echo "1..1"' 'echo "ok 1 a point that passes"'
	st_tap_script st-fail 'echo "TAP version 13"; echo "1..1"' 'echo "not ok 1 a point that fails"'
	st_tap_script st-plan 'echo "TAP version 13"; echo "1..3"' 'echo "ok 1 one"; echo "ok 2 two"'
	st_tap_script st-notap 'echo "hello, no TAP here"'
	st_tap_script st-skip-expected 'echo "TAP version 13"; echo "1..2"; echo "ok 1 one"' \
		'echo "ok 2 # SKIP a skip the list expects"'
	st_tap_script st-skip-unexpected 'echo "TAP version 13"; echo "1..1"' \
		'echo "ok 1 # SKIP a skip nobody expects"'
	st_tap_script st-wholeskip 'echo "TAP version 13"' \
		'echo "1..0 # SKIP a whole test nobody expects to skip"; exit 4'
	st_tap_script st-bail 'echo "TAP version 13"; echo "1..2"; echo "ok 1 one"' \
		'echo "Bail out! gave up"; exit 1'
	st_tap_script st-exitcode 'echo "TAP version 13"; echo "1..1"; echo "ok 1 fine"; exit 1'
	st_tap_script st-kvmreg-missing 'KVM_LIST=/lab/no-such.list sh /lab/kvm-regression.sh'
	st_tap_script st-kvmreg-skip 'echo labkvm_skip > /tmp/st-kvm.list' \
		'KVM_LIST=/tmp/st-kvm.list KVM_DIR=/selftests sh /lab/kvm-regression.sh'
	# retry: a test that fails every attempt fails; one that fails once as
	# retries.list expects is recorded as run again, and only its second
	# attempt's points count; a failure the list does not expect fails.
	st_tap_script st-retry-fails 'echo "TAP version 13"; echo "1..1"' \
		'echo "not ok 1 a point that fails every time"; exit 1'
	st_tap_script st-retry-fails3 'echo "TAP version 13"; echo "1..1"' \
		'echo "not ok 1 a point that fails every time"; exit 1'
	st_tap_script st-retry-passes 'echo "TAP version 13"; echo "1..1"' \
		'if [ -e /tmp/st-retry-ran ]; then echo "ok 1 a point that passes the second time"; exit 0; fi' \
		': > /tmp/st-retry-ran; echo "not ok 1 a point that fails the first time"; exit 1'
	st_tap_script st-retry-unexpected 'echo "TAP version 13"; echo "1..1"' \
		'if [ -e /tmp/st-retry-ran2 ]; then echo "ok 1 fine the second time"; exit 0; fi' \
		': > /tmp/st-retry-ran2; echo "not ok 1 a failure nobody expects"; exit 1'
	sed -i 's|^selftest 60 lab/st-retry-|selftest 60 retry:lab/st-retry-|' "$o/lab/tests.list"
	sed -i 's|^selftest 60 retry:lab/st-retry-fails$|selftest 60 retry4:lab/st-retry-fails|' \
		"$o/lab/tests.list"
	printf '#!/bin/sh\necho fine\nexit 0\n' > "$o/selftests/labst/exit0"
	printf '#!/bin/sh\necho broken\nexit 3\n' > "$o/selftests/labst/exit3"
	printf '#!/bin/sh\necho "nothing to test here"\nexit 4\n' > "$o/selftests/labkvm_skip"
	chmod +x "$o/selftests/labst/exit0" "$o/selftests/labst/exit3" "$o/selftests/labkvm_skip"
	cat >> "$o/lab/tests.list" <<-'EOT'
	selftest 60 exit:labst/exit0
	selftest 60 exit:labst/exit3
	selftest 60 coresched/domain_api -m vm
	selftest 60 coresched/domain_isolation -m vm
	selftest 60 kvm/x86_64/coresched_stress_test -m vm -t 1 -K
	EOT
	cp "$o/lab/tests.list" "$tmp/host-tests.list"
	echo "selftest 60 lab/st-never" >> "$tmp/host-tests.list"
	echo "st lab/st-skip-expected a skip the list expects" > "$tmp/skips.list"
	printf '%s\n' "st lab/st-retry-fails a point that fails every time" \
		"st lab/st-retry-fails3 a point that fails every time" \
		"st lab/st-retry-passes a point that fails the first time" > "$tmp/retries.list"

	if ! "$LAB/boot.sh" --out "$dir" --timeout 300 --extra "$o" \
		--append "lab.mode=selftest coresched=on" tests > "$tmp/tap.out" 2>&1; then
		rec fail "lab: test results are judged against the host's plan" \
			"the guest run failed: $(grep -m1 FAIL "$tmp/tap.out")"
		return
	fi
	LAB_TESTS_LIST=$tmp/host-tests.list LAB_SKIPS_LIST=$tmp/skips.list \
		LAB_RETRIES_LIST=$tmp/retries.list LAB_RESULTS=$recs "$LAB/tap.py" guest st "$dir"
	# expect WHAT PATTERN...: a record for each pattern (grep -P).
	expect() {
		local what=$1 p
		shift
		for p in "$@"; do
			if ! grep -q -P "$p" "$recs"; then
				rec fail "lab: $what" "no record $p; records: $(cut -f1,2 "$recs" | tr '\t\n' ': ')"
				return
			fi
		done
		rec pass "lab: $what"
	}
	expect "a passing test point passes, a failing one fails" \
		'^pass\tst/lab/st-pass: a point that passes\t' '^fail\tst/lab/st-fail: a point that fails\t'
	expect "a TAP plan other than the points printed fails" \
		'^fail\tst/lab/st-plan: TAP plan\tplan 1..3, 2 test points'
	expect "a test that prints no TAP fails" '^fail\tst/lab/st-notap\tprinted no TAP'
	expect "a skip that lab/skips.list expects is a skip, any other skip fails" \
		'^skip\tst/lab/st-skip-expected: 2\ta skip the list expects \(expected' \
		'^fail\tst/lab/st-skip-unexpected: 1\tunexpected skip' \
		'^fail\tst/lab/st-wholeskip\tunexpected skip: a whole test'
	expect "a bail out and an exit code other than 0 fail" \
		'^fail\tst/lab/st-bail: bail out\tgave up' '^fail\tst/lab/st-exitcode: exit code\texit code 1'
	expect "a test without TAP listed as exit: is judged by its exit code" \
		'^pass\tst/labst/exit0: labst/exit0\t' '^fail\tst/labst/exit3: labst/exit3\t'
	expect "retry: a test that fails every attempt fails, one run again is recorded as such" \
		'^retry\tst/lab/st-retry-fails\trun again after: exit code 1: not ok 1 a point that fails every' \
		'^fail\tst/lab/st-retry-fails: a point that fails every time\t' \
		'^retry\tst/lab/st-retry-passes\trun again after: exit code 1: not ok 1 a point that fails the first' \
		'^pass\tst/lab/st-retry-passes: a point that passes the second time\t' \
		'^fail\tst/lab/st-retry-unexpected: run again\tafter a failure retries.list does not expect'
	n=$(grep -c -P '^retry\tst/lab/st-retry-fails\t' "$recs")
	n3=$(grep -c -P '^retry\tst/lab/st-retry-fails3\t' "$recs")
	if [ "$n" = 3 ] && [ "$n3" = 2 ]; then
		rec pass "lab: a test runs four attempts at most (retry4:), three (retry:)"
	else
		rec fail "lab: a test runs four attempts at most (retry4:), three (retry:)" \
			"retry records: $n (retry4:), $n3 (retry:)"
	fi
	if grep -q -P '^fail\tst/lab/st-retry-passes' "$recs"; then
		rec fail "lab: retry: the first attempt's points do not count" \
			"$(grep -P '^fail\tst/lab/st-retry-passes' "$recs" | head -n 1)"
	else
		rec pass "lab: retry: the first attempt's points do not count"
	fi
	expect "a test told another mode than the kernel runs fails (-m)" \
		"^fail\tst/coresched/domain_api: global.mode\t.*Expected 'vm' == 'on'" \
		"^fail\tst/coresched/domain_isolation: global.mode\t.*Expected 'vm' == 'on'" \
		'^fail\tst/kvm/x86_64/coresched_stress_test: the kernel runs coresched=vm \(on\)\t'
	expect "kvm-regression: a missing list and a test that skips fail" \
		'^fail\tst/lab/st-kvmreg-missing: the list of KVM selftests\t' \
		'^fail\tst/lab/st-kvmreg-skip: labkvm_skip\t'
	expect "a planned test that never started fails, and so does a stale image's plan" \
		'^fail\tst/lab/st-never\tplanned but never started' \
		'^fail\tst: plan\tthe guest planned fewer, the host lab/st-never'
	# The same run, its output cut before the first test began.
	cp -r "$dir" "$dir-cut"
	sed -i '/^# lab-test-begin:/,$d' "$dir-cut/results.log"
	echo "# lab: done rc=0" >> "$dir-cut/results.log"
	recs=$tmp/tap-cut.tsv
	LAB_TESTS_LIST=$tmp/host-tests.list LAB_SKIPS_LIST=$tmp/skips.list \
		LAB_RETRIES_LIST=$tmp/retries.list LAB_RESULTS=$recs "$LAB/tap.py" guest st "$dir-cut"
	expect "a run that ran no test fails" '^fail\tst: ran no test\t'
	# lab.only names tests by their bare names: a retry4: and a retry:
	# test run alone keep their attempts, and the plans agree.
	recs=$tmp/tap-only.tsv
	if ! "$LAB/boot.sh" --out "$dir-only" --timeout 300 --extra "$o" \
		--append "lab.mode=selftest coresched=on lab.only=lab/st-retry-fails,lab/st-retry-passes" \
		tests > "$tmp/tap-only.out" 2>&1; then
		rec fail "lab: lab.only runs retry: tests with their attempts" \
			"the guest run failed: $(grep -m1 FAIL "$tmp/tap-only.out")"
		return
	fi
	LAB_TESTS_LIST=$tmp/host-tests.list LAB_SKIPS_LIST=$tmp/skips.list \
		LAB_RETRIES_LIST=$tmp/retries.list LAB_RESULTS=$recs "$LAB/tap.py" guest st "$dir-only"
	n=$(grep -c -P '^retry\tst/lab/st-retry-fails\t' "$recs")
	n2=$(grep -c -P '^retry\tst/lab/st-retry-passes\t' "$recs")
	others=$(cut -f2 "$recs" | grep -v -E -e '^st/lab/st-retry-(fails|passes)(:|$)' \
		-e '^st: boot, run to completion')
	if [ "$n" = 3 ] && [ "$n2" = 1 ] && [ -z "$others" ] &&
	   grep -q -P '^pass\tst/lab/st-retry-passes: a point that passes the second time\t' "$recs"; then
		rec pass "lab: lab.only runs retry: tests with their attempts"
	else
		rec fail "lab: lab.only runs retry: tests with their attempts" \
			"retry records: $n (retry4:), $n2 (retry:); records: $(cut -f1,2 "$recs" | tr '\t\n' ': ')"
	fi
}

# --- a whole run booted again ---------------------------------------------
# lab/guest-run.sh's decision, on a stand-in for boot.sh that writes the
# files of a run that fails or passes, as ST_FAIL says: PANIC (init
# killed, every attempt), ONCE (the first attempt only, which also has a
# failing test point), ONCECLEAN (the same panic, no failing point), WARNPANIC (a WARNING, then that panic), QUIET
# (fails with a clean console).  A panic retries.list expects of a run
# of the vanilla kernel boots it once more, with the first attempt's
# failures named, and the second attempt is the result; a failure the
# list does not expect, a panic after another splat, the same panic on a
# run of the series' kernel under coresched=vm, and a clean console fail
# at once; on a run of the series' kernel under coresched=on it boots
# again, unless a test other than the real VM's failed with it; a run
# given options of its own (guest-run.sh --append) fails at once.  The
# list check refuses a "boot" entry for a run under coresched=vm and takes
# one for a run of the series' kernel outside it.
st_reboot() {
	local d=$tmp/reboot c what fail list run want rc status n got detail recs
	mkdir -p "$d"
	cat > "$d/boot" <<-'EOT'
	#!/bin/bash
	while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
	n=$(( $(cat "$ST_COUNT" 2>/dev/null || echo 0) + 1 ))
	echo $n > "$ST_COUNT"
	rm -rf "$out"; mkdir -p "$out"
	echo "lab.mode=st lab.run=tests" > "$out/cmdline"
	point="ok 1 fine"
	once=0
	case $ST_FAIL in ONCE | ONCECLEAN) once=1 ;; esac
	[ "$ST_FAIL" = ONCE ] && [ $n = 1 ] && point="not ok 1 broken"
	printf '%s\n' "# lab-test-plan: lab/st-one" "# lab-test-begin: lab/st-one" \
		"TAP version 13" "1..1" "$point" "# lab-test-end: lab/st-one rc=0" \
		"# lab: done rc=0" > "$out/results.log"
	echo "[ 1.0] Linux version 6.12" > "$out/console.log"
	[ "$ST_FAIL" = WARNPANIC ] && echo "[ 2.0] WARNING: CPU: 0 at somewhere" >> "$out/console.log"
	if [ "$ST_FAIL" = QUIET ]; then
		echo incomplete > "$out/verdict"
		exit 1
	fi
	if [ "$ST_FAIL" != PASS ] && { [ $once = 0 ] || [ $n = 1 ]; }; then
		printf '[ 77.4] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\r\n' \
			>> "$out/console.log"
		echo panic > "$out/verdict"
		exit 1
	fi
	echo ok > "$out/verdict"
	EOT
	chmod +x "$d/boot"
	printf '%s\n' "van vanilla/bzImage 1,1,2 st 60 - -" "ser bzImage 1,1,2 st 60 - - coresched=vm" \
		"son bzImage 1,1,2 st 60 - - coresched=on" > "$d/runs.list"
	echo "st 60 lab/st-one" > "$d/tests.list"
	echo 'van,ser,son boot ^\[ 77\.4\] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b$' \
		> "$d/expects"
	echo "van,ser boot Attempted to kill init! exitcode=0x00000004" > "$d/other"
	echo "nope boot Attempted to kill init!" > "$d/otherrun"
	for c in "once van ONCE expects 2 0" "twice van PANIC expects 2 1" \
		 "unexpected van ONCE other 1 1" "another-run van ONCE otherrun 1 1" \
		 "after-a-warning van WARNPANIC expects 1 1" "series-kernel ser ONCE expects 1 1" \
		 "series-kernel-on son ONCECLEAN expects 2 0" "series-kernel-on-test son ONCE expects 1 1" \
		 "clean-console van QUIET expects 1 1" "with-options van ONCE expects 1 1 lab.x=1"; do
		read -r what run fail list want rc args <<< "$c"
		recs=$d/$what.tsv
		rm -f "$d/count"
		ST_COUNT=$d/count ST_FAIL=$fail LAB_BOOT=$d/boot BUILD=$d/build \
			LAB_RUNS_LIST=$d/runs.list LAB_TESTS_LIST=$d/tests.list \
			LAB_RETRIES_LIST=$d/$list LAB_RESULTS=$recs \
			"$LAB/guest-run.sh" "$run" ${args:+--append "$args"} > "$d/$what.out" 2>&1
		status=$?
		got="boots $(cat "$d/count"), exit $status"
		detail=$(grep -P "^retry\t$run: boot\t" "$recs" | cut -f3)
		n="lab: a run that fails as retries.list expects boots once more ($what)"
		[ "$want" = 1 ] && n="lab: a run fails at once ($what)"
		if [ "$want" = 2 ]; then
			[[ "$detail" == "booted again after: [ 77.4] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b (expected: expects:1); the first attempt ($d/build/runs/$run.1) failed: "*"$run: boot, run to completion, console clean"* ]] &&
				[ -d "$d/build/runs/$run.1" ] || got+=", retry record: ${detail:-none}"
			[ "$fail" != ONCE ] || [[ "$detail" == *"failed: $run/lab/st-one: broken; "* ]] ||
				got+=", the first attempt's failing point not named"
		else
			[ -z "$detail" ] && [ ! -d "$d/build/runs/$run.1" ] || got+=", a retry"
		fi
		if [ "$rc" = 0 ]; then
			grep -q -P "^pass\t$run: boot, run to completion" "$recs" && ! grep -q '^fail' "$recs" ||
				got+=", not passed"
		else
			grep -q -P "^fail\t$run: boot, run to completion" "$recs" || got+=", not failed"
		fi
		if [ "$got" = "boots $want, exit $rc" ]; then
			rec pass "$n"
		else
			rec fail "$n" "$got (wanted $want boots, exit $rc); records: $(cut -f1,2 "$recs" | tr '\t\n' ': ')"
		fi
	done
	printf '%s\n' "ser boot Attempted to kill init!" "son boot Attempted to kill init!" > "$d/series"
	rm -f "$d/lists.tsv"
	LAB_RUNS_LIST=$d/runs.list LAB_TESTS_LIST=$d/tests.list LAB_SKIPS_LIST=/dev/null \
		LAB_RETRIES_LIST=$d/series LAB_RESULTS=$d/lists.tsv "$LAB/tap.py" lists
	if grep -q -P "^fail\t.*\tretries.list:1: run ser boots bzImage coresched=vm: neither the vanilla kernel nor the series' outside coresched=vm\$" "$d/lists.tsv"; then
		rec pass "lab: the list check refuses a whole run booted again under coresched=vm, not under on"
	else
		rec fail "lab: the list check refuses a whole run booted again under coresched=vm, not under on" \
			"$(cat "$d/lists.tsv")"
	fi
}

# --- the benchmark's measurements run again ------------------------------------
# The quick benchmark's again.txt judged by tap.py bench-again, one record
# a line, with a retries.list whose entries also name the vm boot: a
# failure an entry expects is a retry, naming the entry; a kvm_workload of
# the vm boot, and a real guest of the vm boot booted again for a hang,
# fail whatever the list says; a failure no entry expects, an unknown
# boot and a line of another form fail; a "*" entry is for the runs, not
# the benchmark.  The list check takes a "bench" entry for kvm_workload
# and lab/realvm, and refuses one for another test, mixed with runs, or
# in skips.list.
st_bench() {
	local d=$tmp/bench recs name c what list want got i line exp
	mkdir -p "$d"
	printf '%s\n' 'bench kvm_workload ^round [0-9]+, (vanilla|vm): .*a vCPU thread did not stop' \
		"bench lab/realvm ^round [0-9]+, vm: realvm [^ ]+: the guest's kernel died" \
		'bench lab/realvm ^round [0-9]+, (vanilla|vm): realvm [^ ]+: the guest hung' \
		> "$d/retries.list"
	local cases=(
		"round 1, vanilla: vm smt cpu/1vm: exit 1: a vCPU thread did not stop|^retry\tbench: kvm_workload\t.*\(expected: retries.list:1\)$"
		"round 1, vm: vm vm cpu/1vm: exit 1: a vCPU thread did not stop|^fail\tbench: kvm_workload: measured again\tnothing is measured again under coresched=vm"
		"round 2, vanilla: vm smt cpu/1vm: exit 1: a failure nobody expects|^fail\tbench: kvm_workload: measured again\tafter a failure retries.list does not expect"
		"round 1, nosuch: vm smt cpu/1vm: exit 1: a vCPU thread did not stop|^fail\tbench: kvm_workload: measured again\tno boot nosuch in bench/plan"
		"round 1, vm: realvm vm: the guest's kernel died before its init ran (3 console lines, QEMU exit 0)|^retry\tbench: lab/realvm\t.*\(expected: retries.list:2\)$"
		"round 1, vm: realvm vm: the guest hung (killed after 300s)|^fail\tbench: lab/realvm: measured again\tunder coresched=vm a real guest boots again only if"
		"round 1, vanilla: realvm smt: the guest hung (killed after 300s)|^retry\tbench: lab/realvm\t.*\(expected: retries.list:3\)$"
		"measured again, somewhere|^fail\tbench: measured again\tnot a line of again.txt"
	)
	: > "$d/again.txt"
	for c in "${cases[@]}"; do echo "${c%%|*}" >> "$d/again.txt"; done
	recs=$d/again.tsv
	LAB_RETRIES_LIST=$d/retries.list LAB_RESULTS=$recs "$LAB/tap.py" bench-again "$d/again.txt"
	echo "* lab/realvm the guest hung" > "$d/star.list"
	echo "round 1, vanilla: realvm smt: the guest hung (killed after 300s)" > "$d/star.txt"
	LAB_RETRIES_LIST=$d/star.list LAB_RESULTS=$recs "$LAB/tap.py" bench-again "$d/star.txt"
	cases+=("*|^fail\tbench: lab/realvm: measured again\tafter a failure star.list does not expect")
	name="lab: the benchmark's measurements run again are retries only as retries.list's bench entries expect, never kvm_workload under coresched=vm"
	got='' i=0
	for c in "${cases[@]}"; do
		i=$((i + 1))
		exp=${c#*|}
		line=$(sed -n "${i}p" "$recs")
		grep -q -P "$exp" <<< "$line" || got+=" line $i: ${line:-no record}, wanted $exp;"
	done
	[ "$(wc -l < "$recs")" = $i ] || got+=" $(wc -l < "$recs") records for $i lines;"
	if [ -z "$got" ]; then
		rec pass "$name"
	else
		rec fail "$name" "${got# }"
	fi
	echo "bench lab/realvm a hang" > "$d/realvm"
	echo "bench ipi_pingpong a hang" > "$d/other-test"
	echo "bench,mode-on kvm_workload a hang" > "$d/with-runs"
	echo "bench kvm_workload a hang" > "$d/skip"
	for c in "kvm_workload retries.list pass" "realvm retries.list pass" \
		 "other-test retries.list fail:the benchmark runs only kvm_workload and lab/realvm again" \
		 "with-runs retries.list fail:\"bench\" names the quick benchmark, not runs" \
		 "in-skips skips.list fail:\"bench\" is for retries.list"; do
		read -r what list want <<< "$c"
		rm -f "$d/lists.tsv"
		if [ "$list" = skips.list ]; then
			LAB_SKIPS_LIST=$d/skip LAB_RETRIES_LIST=/dev/null LAB_RESULTS=$d/lists.tsv \
				"$LAB/tap.py" lists
		else
			LAB_RETRIES_LIST=$d/${what/kvm_workload/retries.list} LAB_RESULTS=$d/lists.tsv \
				"$LAB/tap.py" lists
		fi
		got=$(cut -f1 "$d/lists.tsv")
		[ "$got" != fail ] || got+=":$(cut -f3 "$d/lists.tsv" | sed 's/^[^:]*:[0-9]*: //')"
		name="lab: the list check takes a \"bench\" entry only for kvm_workload or lab/realvm in retries.list ($what)"
		if [[ $got == "$want"* ]]; then
			rec pass "$name"
		else
			rec fail "$name" "$got, wanted $want"
		fi
	done
}

# --- judging a finished run again ----------------------------------------------
# A finished run is judged from its files alone: judge.sh gives the same
# verdict again; the saved QEMU command boots the same run again; a console
# line that lab/splat.allow excepts passes, a splat appended fails.  The
# run asks for QEMU on host CPU 0 (lab.host_cpus=): its command has the
# taskset, run.info the one CPU QEMU was allowed, and with another CPU
# allowed as well the run fails (unpinned).
st_rejudge() {
	local name="lab: a finished run is judged again from its files" dir=$tmp/rj why=''
	if ! "$LAB/boot.sh" --out "$dir" --timeout 120 --append "lab.fault=NONE lab.host_cpus=0" fault \
		> "$tmp/rj.out" 2>&1; then
		rec fail "$name" "the control run failed: $(tail -n 1 "$tmp/rj.out")"
		return
	fi
	"$LAB/judge.sh" "$dir" > /dev/null 2>&1 || why+=" judge.sh: not ok;"
	# The saved command, run again, writes the same files.
	rm -f "$dir/console.log" "$dir/results.log" "$dir/verdict"
	bash -c "$(cat "$dir/qemu.cmd")" < /dev/null > /dev/null 2>&1 ||
		why+=" qemu.cmd failed;"
	grep -q '^# lab: done rc=0' "$dir/results.log" 2>/dev/null ||
		why+=" qemu.cmd did not run the script;"
	"$LAB/judge.sh" "$dir" > /dev/null 2>&1 || why+=" the replayed run: not ok;"
	grep -q '^timeout -k 10 120 taskset -c 0 qemu-system' "$dir/qemu.cmd" ||
		why+=" lab.host_cpus=0: no taskset in qemu.cmd;"
	grep -q '^host_cpus=0$' "$dir/run.info" || why+=" lab.host_cpus=0: run.info: $(grep '^host_cpus' "$dir/run.info");"
	sed -i 's/^host_cpus=.*/host_cpus=0-1/' "$dir/run.info"
	if "$LAB/judge.sh" "$dir" > /dev/null 2>&1 || [ "$(cat "$dir/verdict")" != unpinned ]; then
		why+=" QEMU allowed another host CPU did not fail the run;"
	fi
	sed -i 's/^host_cpus=.*/host_cpus=0/' "$dir/run.info"
	# An allowed line, then a splat.
	echo "[    0.100000] Speculative Return Stack Overflow: WARNING: See https://kernel.org/doc/html/latest/admin-guide/hw-vuln/srso.html for mitigation options." \
		>> "$dir/console.log"
	"$LAB/judge.sh" "$dir" > /dev/null 2>&1 || why+=" an allowed line failed the run;"
	printf '%s\r\n' "[    9.900000] WARNING: CPU: 1 PID: 1 at kernel/sched/core.c:1 lab_test+0x0/0x1" \
		"[    9.900001] RIP: 0010:lab_test+0x0/0x1" "[    9.900002] RSP: 0018:ffffc90000000000" \
		"[    9.900003] Call Trace:" "[    9.900004]  ? lab_unsure+0x1/0x2" \
		"[    9.900005]  lab_caller+0x1/0x2" "[    9.900006] ---[ end trace 0000000000000000 ]---" \
		"[    9.900007] lab_after_the_splat" >> "$dir/console.log"
	if "$LAB/judge.sh" "$dir" > /dev/null 2> "$tmp/judge.err" ||
	   [ "$(cat "$dir/verdict")" != splat ]; then
		why+=" a WARNING did not fail the run;"
	fi
	# The report shows the first splat from its first line to its end,
	# its call trace and RIP included, without the frames the unwinder
	# is unsure of and the other registers.
	sed -n '/^  the first splat, from console line/,/^  console lines that fail/p' \
		"$tmp/judge.err" > "$tmp/first-splat"
	sed -n 2p "$tmp/first-splat" | grep -q 'WARNING: CPU: 1 PID: 1 at' ||
		why+=" the failure report's first splat does not start at the splat;"
	grep -q '^    \[    9.900005\]  lab_caller+0x1/0x2$' "$tmp/first-splat" &&
		grep -q 'RIP: 0010:lab_test' "$tmp/first-splat" ||
		why+=" the failure report lacks the splat's call trace or RIP;"
	! grep -q 'lab_unsure\|RSP: 0018\|lab_after_the_splat' "$tmp/first-splat" ||
		why+=" the failure report keeps a \"? \" frame, a register but RIP, or what follows the splat;"

	if [ -z "$why" ]; then
		rec pass "$name"
	else
		rec fail "$name" "$why"
	fi
}

# --- what the console's detectors report after the last test ----------------
# A WARNING that comes 10 s after the script ended, as a hung task, stall
# or lockup report comes its timeout after the fact: a run that waits for
# the detectors (lab.settle=, as the debug kernel's runs do on their own,
# lab/guest/init) fails; the same run ending at once passes, so the wait
# is what catches it.
st_settle() {
	local name="lab: a report on the console after the last test fails the run"
	"$LAB/boot.sh" --out "$tmp/settle0" --timeout 120 \
		--append "lab.fault=LATE lab.settle=0" fault > "$tmp/settle0.out" 2>&1
	"$LAB/boot.sh" --out "$tmp/settle" --timeout 120 \
		--append "lab.fault=LATE lab.settle=20" fault > "$tmp/settle.out" 2>&1
	if [ "$(cat "$tmp/settle/verdict")" = splat ] &&
	   grep -q -a 'lkdtm_WARNING' "$tmp/settle/console.log" &&
	   [ "$(cat "$tmp/settle0/verdict")" = ok ]; then
		rec pass "$name"
	else
		rec fail "$name" "verdict $(cat "$tmp/settle/verdict") with the wait, $(cat "$tmp/settle0/verdict") without"
	fi
}

# --- a kernel that does not build ------------------------------------------------
# build.sh on a build directory of its own (the patched tree's sources,
# an old image in place) with a compiler that fails: the build must fail
# and leave no image for a run to boot.
st_build() {
	local name="lab: a kernel build that fails leaves no image behind" b=$BUILD/lab-selftest/build rc=0
	rm -rf "$b"
	mkdir -p "$b/src"
	ln -s "$LINUX" "$b/src/linux"
	echo "an older image" > "$b/bzImage"
	BUILD=$b "$LAB/build.sh" patched CC=false > "$tmp/build.out" 2>&1 || rc=$?
	if [ $rc != 0 ] && [ ! -e "$b/bzImage" ]; then
		rec pass "$name"
	else
		rec fail "$name" "build.sh exit $rc, image $(ls "$b/bzImage" 2>&1)"
	fi
	rm -rf "$b"
}

# --- the speculation barrier's check -----------------------------------------
# lab/nospec-check.py on a copy of the patched vmlinux in which every
# "lfence" that the alternatives patch in is made three NOPs: as if the
# barrier after the kick wait had gone, it must fail, and pass on the
# image itself (the control).
st_nospec() {
	local name="lab: the speculation barrier check fails on an image without the barrier"
	local v=$BUILD/obj/vmlinux rc=0 rc_copy=0 out
	"$LAB/nospec-check.py" "$v" scs_wait_out > "$tmp/nospec.out" 2>&1 || rc=$?
	python3 - "$LAB/nospec-check.py" "$v" "$tmp/vmlinux" <<'EOT'
import importlib.util, sys
check, src, dst = sys.argv[1:]
spec = importlib.util.spec_from_loader('nospec', loader=None)
nospec = importlib.util.module_from_spec(spec)
exec(open(check).read(), nospec.__dict__)
_, off, size = nospec.sections(src)['.altinstr_replacement']
data = bytearray(open(src, 'rb').read())
data[off:off + size] = bytes(data[off:off + size]).replace(nospec.LFENCE, b'\x90' * 3)
open(dst, 'wb').write(data)
EOT
	out=$("$LAB/nospec-check.py" "$tmp/vmlinux" scs_wait_out 2>&1) || rc_copy=$?
	rm -f "$tmp/vmlinux"
	if [ $rc = 0 ] && [ $rc_copy != 0 ] && echo "$out" | grep -q 'no exit of it lands on an lfence site'; then
		rec pass "$name"
	else
		rec fail "$name" "image: exit $rc ($(tail -n 1 "$tmp/nospec.out")); without lfence: exit $rc_copy ($out)"
	fi
}

# --- what the per-patch build check compiles --------------------------------
# lab/bisect-select.py on a small tree and its kbuild records, patch by
# patch: each must choose the targets it can break.  A renamed member:
# those that name it, directly (b; and g, whose parameter is named like
# it: a word is enough), through a macro of the header (c), or by taking
# the struct's size (e); not d and f, which include the header and name
# none of those.  A comment: none.  A typedef: those that name what the
# header declares with it (h).  A declaration nothing names: one target
# (b), for the header's own code.  A member added under a balanced
# #ifdef: those that take the struct's size.  A statement of an inline function,
# a conditional around existing code, an #include: all of them.  And in
# every case but the comment, the target that generates a header (k.s).
st_bisect() {
	local name="lab: the per-patch build check chooses the targets each kind of header change can break"
	local d=$tmp/bisect src obj t got ok=1 why=
	src=$d/src obj=$d/obj
	mkdir -p "$src/include" "$obj"
	git -C "$src" init -q
	cat > "$src/include/a.h" <<'EOT'
/* a struct */
struct s {
	int x;
	int y;
};

typedef int s_t;
s_t s_get(struct s *p);
#define S_Y(p) ((p)->y)
static inline int s_x(struct s *p)
{
	return p->x;
}
EOT
	echo 'int b(struct s *p) { return p->y; }' > "$src/b.c"
	echo 'int c(struct s *p) { return S_Y(p); }' > "$src/c.c"
	echo 'int d(struct s *p) { return s_x(p); }' > "$src/d.c"
	echo 'int e[sizeof(struct s) == 8 ? 1 : -1];' > "$src/e.c"
	echo 'int f(struct s *p) { return p->x; }' > "$src/f.c"
	echo 'int g(struct s *y) { return 0; }' > "$src/g.c"
	echo 'long h(struct s *p) { return s_get(p); }' > "$src/h.c"
	echo 'int k;' > "$src/k.c"
	for t in b.o c.o d.o e.o f.o g.o h.o k.s; do
		printf '%s\n' "source_$t := ../src/${t%.?}.c" "" "deps_$t := \\" \
			"  ../src/include/a.h \\" "" > "$obj/.$t.cmd"
	done
	bs_commit() {
		git -C "$src" add -A &&
			git -C "$src" -c user.name=lab -c user.email=lab@localhost commit -qm "$1"
	}
	bs_case() {	# bs_case WHAT WANT: the targets chosen for the last commit
		got=$("$LAB/bisect-select.py" "$obj" "$src" HEAD~ HEAD 2> /dev/null |
			awk '$1 == "target" { printf "%s ", $2 }')
		[ "$got" = "$2" ] || { ok=0; why="$why; $1: chose '$got', want '$2'"; }
	}
	bs_commit base
	sed -i 's/int y;/int z;/' "$src/include/a.h"
	bs_commit rename
	bs_case "a renamed member" "b.o c.o e.o g.o k.s "
	sed -i 's/a struct/the struct/' "$src/include/a.h"
	bs_commit comment
	bs_case "a changed comment" ""
	sed -i 's/typedef int s_t;/typedef long s_t;/' "$src/include/a.h"
	bs_commit typedef
	bs_case "a changed typedef" "h.o k.s "
	sed -i 's/^typedef long s_t;/&\nint s_unused;/' "$src/include/a.h"
	bs_commit declaration
	bs_case "a declaration nothing names" "b.o k.s "
	sed -i 's/^\tint x;/&\n#ifdef CONFIG_W\n\tint w;\n#endif/' "$src/include/a.h"
	bs_commit member
	bs_case "a member under a new #ifdef" "e.o k.s "
	sed -i 's/return p->x;/return p->xx;/' "$src/include/a.h"
	bs_commit statement
	bs_case "a statement of an inline function" "b.o c.o d.o e.o f.o g.o h.o k.s "
	sed -i 's/^static inline int s_x/#ifdef CONFIG_X\nint s_new;\n&/; $a #endif' "$src/include/a.h"
	bs_commit guard
	bs_case "a conditional around existing code" "b.o c.o d.o e.o f.o g.o h.o k.s "
	sed -i '1i #include "m.h"' "$src/include/a.h"
	bs_commit include
	bs_case "a new #include" "b.o c.o d.o e.o f.o g.o h.o k.s "
	if [ $ok = 1 ]; then
		rec pass "$name"
	else
		rec fail "$name" "${why#; }"
	fi
}

all=(bad_patch warnings build guest settle isolated tap reboot bench rejudge nospec bisect)
for section in "${@:-${all[@]}}"; do
	case " ${all[*]} " in
	*" ${section//-/_} "*) "st_${section//-/_}" ;;
	*) die "lab-selftest.sh: no section $section (${all[*]})" ;;
	esac
done
