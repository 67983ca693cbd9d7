#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the timer ticks cost a real guest under coresched=vm, and which
# settings cut it: boots a kernel on one core of two threads, round by
# round, each case running lab/guest/realvm-ticks.sh (make bench's real
# guest, with the CPUs' timer interrupts).  The cases come in pairs, a
# mode with and without the setting, booted one after the other; each
# round rotates the order of the pairs and swaps the two of a pair every
# other round.  EXPERIMENT is one of
#   host-nohz  the nohz kernel (lab/build.sh nohz: the series' kernel with
#              the full dynamic tick) under
#                vm, off       coresched=vm, coresched=off (unprotected)
#                vm-nohz, off-nohz   the same with nohz_full=1
#                nosmt         both vCPUs on CPU 0
#              CPU 0 keeps its tick and runs vCPU 0: the kernel needs one
#              CPU for housekeeping, and this core is all the lab's guest
#              has, so this is not the recommended setting (housekeeping
#              on other cores), and timers that nohz_full= moves off
#              CPU 1 may land on CPU 0, beside vCPU 0.
#   guest-hz   the series' kernel, its real VM's guest kernel ticking at
#              1000 Hz (the lab's kernel) or 250 (lab/build.sh hz250):
#                vm, off, nosmt, vm-hz250, off-hz250, nosmt-hz250
# Prints per case the median (min-max) of each figure, the CPUs' timer
# interrupts per second and, per phase, exits and interrupt exits per
# second, kicks per slow exit and the vCPUs' wait; then speed ratios
# between cases of the same round.  The text goes to
# benchmarks/realvm-ticks-EXPERIMENT.txt, the runs to
# build/realvm-ticks/EXPERIMENT/CASE.ROUND.  Fails if a run failed; a run
# whose guest realvm.sh had to boot again gives no timer rates.
#
# usage: realvm-ticks.sh [-r ROUNDS] [-n] host-nohz|guest-hz   (default 4 rounds)
#   -n  boot nothing: summarize the runs left in
#       build/realvm-ticks/EXPERIMENT again, as many rounds as its order
#       file lists
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

rounds=4 boot=1
while getopts r:n o; do
	case $o in
	r) rounds=$OPTARG ;;
	n) boot=0 ;;
	*) die "usage: realvm-ticks.sh [-r ROUNDS] [-n] host-nohz|guest-hz" ;;
	esac
done
shift $((OPTIND - 1))
exp=${1:-}
[ "$rounds" -ge 1 ] 2>/dev/null || die "realvm-ticks.sh: -r takes a number of rounds, 1 or more"
if [ $boot = 1 ] && { [ ! -f "$BUILD/initramfs.cpio.gz" ] || [ ! -d "$BUILD/realvm" ]; }; then
	die "realvm-ticks.sh: needs the initramfs and build/realvm (make test builds both)"
fi

declare -A append=() extra=()
case $exp in
host-nohz)
	[ $boot = 0 ] || "$LAB/build.sh" nohz
	kernel=$BUILD/nohz/bzImage
	append=([vm]="coresched=vm" [vm-nohz]="coresched=vm nohz_full=1"
		[off]="coresched=off" [off-nohz]="coresched=off nohz_full=1"
		[nosmt]="coresched=off nosmt lab.p=0,0")
	blocks=("vm vm-nohz" "off off-nohz" "nosmt")
	pairs="vm-nohz/vm off-nohz/off vm/off vm-nohz/off-nohz vm/nosmt vm-nohz/nosmt"
	;;
guest-hz)
	kernel=$BUILD/bzImage
	# The guest's kernel, laid over build/realvm's.
	g=$BUILD/realvm-hz250
	if [ $boot = 1 ]; then
		# The 1000 Hz guest is build/realvm's, the series' kernel.
		cmp -s "$BUILD/bzImage" "$BUILD/realvm/realvm/bzImage" ||
			die "realvm-ticks.sh: build/realvm's guest kernel is not build/bzImage: run lab/initramfs.sh"
		"$LAB/build.sh" hz250
		mkdir -p "$g/realvm"
		cp "$BUILD/hz250/bzImage" "$g/realvm/bzImage"
	fi
	append=([vm]="coresched=vm" [off]="coresched=off"
		[nosmt]="coresched=off nosmt lab.p=0,0")
	for c in vm off nosmt; do
		append[$c-hz250]=${append[$c]}
		extra[$c-hz250]=$g
	done
	blocks=("vm vm-hz250" "off off-hz250" "nosmt nosmt-hz250")
	pairs="vm-hz250/vm off-hz250/off nosmt-hz250/nosmt vm/off vm-hz250/off-hz250 vm/nosmt vm-hz250/nosmt-hz250"
	;;
*) die "usage: realvm-ticks.sh [-r ROUNDS] [-n] host-nohz|guest-hz" ;;
esac

read -r -a cases <<< "${blocks[*]}"
runs=$BUILD/realvm-ticks/$exp
if [ $boot = 0 ]; then
	[ -f "$runs/order" ] || die "realvm-ticks.sh -n: no runs in $runs"
	rounds=$(grep -c '^round ' "$runs/order")
fi
[ $boot = 0 ] || { rm -rf "$runs"; mkdir -p "$runs"; }
# realvm.sh boots a guest again once if it hangs past its own deadline
# (600 s) outside coresched=vm: the boot's timeout leaves room for that.
[ $boot = 1 ] || rounds_to_boot=0
for r in $(seq "${rounds_to_boot:-$rounds}"); do
	order=()
	for i in "${!blocks[@]}"; do
		read -r -a pair <<< "${blocks[$(((i + r - 1) % ${#blocks[@]}))]}"
		[ $((r % 2)) = 1 ] || [ ${#pair[@]} = 1 ] || pair=("${pair[1]}" "${pair[0]}")
		order+=("${pair[@]}")
	done
	echo "round $r: ${order[*]}" >> "$runs/order"
	for c in "${order[@]}"; do
		extras=(--extra "$BUILD/realvm")
		[ -z "${extra[$c]:-}" ] || extras+=(--extra "${extra[$c]}")
		say "round $r: $c"
		"$LAB/boot.sh" --kernel "$kernel" --topo 1,1,2 --timeout 1500 \
			--out "$runs/$c.$r" "${extras[@]}" --append "${append[$c]}" \
			realvm-ticks > "$runs/$c.$r.log" 2>&1 ||
			warn "$c, round $r: the run failed ($runs/$c.$r)"
	done
done

mkdir -p "$TOP/benchmarks"
python3 - "$runs" "$rounds" "$exp" "$pairs" "${cases[@]}" <<'PY' | tee "$TOP/benchmarks/realvm-ticks-$exp.txt"
import os, re, statistics, sys

runs, rounds, exp, pairs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cases = sys.argv[5:]
data = {}   # (case, round) -> {"PHASE METRIC": value, "ticks": (cpu0, cpu1)}
failed, retried = [], []
for c in cases:
    for r in range(1, rounds + 1):
        path = os.path.join(runs, f"{c}.{r}", "results.log")
        try:
            text = open(path, errors="replace").read().replace("\r", "")
        except OSError:
            failed.append(f"{c}.{r}: no results")
            continue
        try:
            verdict = open(os.path.join(runs, f"{c}.{r}", "verdict")).read().strip()
        except OSError:
            verdict = "no verdict"
        if verdict != "ok":
            failed.append(f"{c}.{r}: the run's verdict: {verdict}")
            continue
        if not re.search(r"^ok 1 ", text, re.M):
            failed.append(f"{c}.{r}: " + (re.findall(r"^not ok 1 (.*)$", text, re.M) or ["no TAP"])[0])
            continue
        d = {}
        for m in re.finditer(r"^# r (\S+) (\S+) (\S+)$", text, re.M):
            d[m[1] + " " + m[2]] = float(m[3])
        m = re.search(r"^# ticks (\d+) (\d+|-)$", text, re.M)
        if re.search(r"^# retried", text, re.M):
            retried.append(f"{c}.{r}")
        elif m:
            d["ticks"] = (int(m[1]), None if m[2] == "-" else int(m[2]))
        data[c, r] = d

# Speed: higher is better; the boot is a time.
figures = [("boot", "boot boot_s", True), ("CPU-bound", "spin kloops_per_s", False),
           ("ping-pong", "pingpong msgs_per_s", False), ("disk", "disk mb_per_s", False)]

def speed(d, key, is_time):
    v = d.get(key)
    if v is None or v <= 0:
        return None
    return 1 / v if is_time else v

def spread(vals, fmt="{:.3g}"):
    if not vals:
        return "no data"
    return (fmt.format(statistics.median(vals)) + " (" + fmt.format(min(vals)) +
            "-" + fmt.format(max(vals)) + f", n={len(vals)})")

print(f"# lab/realvm-ticks.sh {exp}: the real guest, {rounds} rounds, booted in the order below")
try:
    for line in open(os.path.join(runs, "order")):
        print("# " + line.rstrip())
except OSError:
    pass
for f in failed:
    print(f"# FAILED {f}")
for f in retried:
    print(f"# {f}: realvm.sh booted its guest again: no timer rates from it")
print()
print("## Figures per case: median (min-max, runs)")
for c in cases:
    rs = [data[c, r] for r in range(1, rounds + 1) if (c, r) in data]
    print(f"{c}:")
    for name, key, is_time in figures:
        print(f"  {name:10} {spread([d[key] for d in rs if key in d])}" +
              (" s" if is_time else ""))
    for cpu in (0, 1):
        t = [d["ticks"][cpu] for d in rs if "ticks" in d and d["ticks"][cpu] is not None]
        if t:
            print(f"  timer interrupts/s, CPU {cpu}: {spread(t, '{:.0f}')}")
    for ph in ("boot", "spin", "pingpong", "disk"):
        ex = [d[f"{ph} kvm_exits"] / d[f"{ph} host_s"] for d in rs
              if d.get(f"{ph} host_s") and f"{ph} kvm_exits" in d]
        irq = [d[f"{ph} kvm_irq_exits"] / d[f"{ph} host_s"] for d in rs
               if d.get(f"{ph} host_s") and f"{ph} kvm_irq_exits" in d]
        # As make bench counts them: kicks per slow exit that was not
        # itself a kick's effect.
        kk = [d[f"{ph} cs_kicks_sent"] /
              (d[f"{ph} cs_slow_exits"] - d[f"{ph} cs_kicks_received"]) for d in rs
              if d.get(f"{ph} cs_slow_exits", 0) > d.get(f"{ph} cs_kicks_received", 0)]
        # The share of each vCPU's time it waited for its core.
        wt = [d[f"{ph} kvm_coresched_wait_ns"] / (2e7 * d[f"{ph} host_s"]) for d in rs
              if d.get(f"{ph} host_s") and f"{ph} kvm_coresched_wait_ns" in d]
        line = f"  {ph:9} exits/s {spread(ex, '{:.0f}')}, interrupt exits/s {spread(irq, '{:.0f}')}"
        if kk and max(kk) > 0:
            line += f", kicks per slow exit {spread(kk, '{:.2f}')}"
        if wt and max(wt) > 0:
            line += f", vCPU wait {spread(wt, '{:.1f}')}%"
        print(line)
print()
print("## Speed ratios, per round, then the median (min-max) and the rounds above 1")
for a, b in (p.split("/") for p in pairs.split()):
    print(f"{a} / {b}:")
    for name, key, is_time in figures:
        rat = []
        for r in range(1, rounds + 1):
            if (a, r) in data and (b, r) in data:
                x, y = speed(data[a, r], key, is_time), speed(data[b, r], key, is_time)
                if x and y:
                    rat.append(x / y)
        above = sum(1 for x in rat if x > 1)
        print(f"  {name:10} x{spread(rat)}" + (f", above 1 in {above}/{len(rat)}" if rat else ""))
PY
! grep -q '^# FAILED' "$TOP/benchmarks/realvm-ticks-$exp.txt"
