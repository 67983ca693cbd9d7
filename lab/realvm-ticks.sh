#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the timer ticks cost a real guest under coresched=vm, and which
# settings cut it: boots a kernel on one core of two threads, round by
# round, each case running lab/guest/realvm-ticks.sh (make bench's real
# guest, with the CPUs' timer interrupts), the cases in a rotated order
# each round.  EXPERIMENT is one of
#   host-nohz  the nohz kernel (lab/build.sh nohz: the series' kernel with
#              the full dynamic tick) under
#                vm, off       coresched=vm, coresched=off (unprotected)
#                vm-nohz, off-nohz   the same with nohz_full=1
#                nosmt         both vCPUs on CPU 0
#              CPU 0 keeps its tick: the kernel needs one CPU for
#              housekeeping, and this core is all the lab's guest has.
#   guest-hz   the series' kernel, its real VM's guest kernel ticking at
#              1000 Hz (the lab's kernel) or 250 (lab/build.sh hz250):
#                vm, off, nosmt, vm-hz250, off-hz250, nosmt-hz250
# Prints per case the median (min-max) of each figure, the CPUs' timer
# interrupts per second and, per phase, exits and interrupt exits per
# second and kicks per slow exit; then speed ratios between cases, per
# round (adjacent boots).  The text goes to
# benchmarks/realvm-ticks-EXPERIMENT.txt, the runs to
# build/realvm-ticks/CASE.ROUND.  Fails if a run failed.
#
# usage: realvm-ticks.sh [-r ROUNDS] host-nohz|guest-hz   (default 4 rounds)
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

rounds=4
while getopts r: o; do
	case $o in
	r) rounds=$OPTARG ;;
	*) die "usage: realvm-ticks.sh [-r ROUNDS] host-nohz|guest-hz" ;;
	esac
done
shift $((OPTIND - 1))
exp=${1:-}
if [ ! -f "$BUILD/initramfs.cpio.gz" ] || [ ! -d "$BUILD/realvm" ]; then
	die "realvm-ticks.sh: needs the initramfs and build/realvm (make test builds both)"
fi

declare -A append=() extra=()
case $exp in
host-nohz)
	"$LAB/build.sh" nohz
	kernel=$BUILD/nohz/bzImage
	append=([vm]="coresched=vm" [vm-nohz]="coresched=vm nohz_full=1"
		[off]="coresched=off" [off-nohz]="coresched=off nohz_full=1"
		[nosmt]="coresched=off nosmt lab.p=0,0")
	cases=(vm vm-nohz off off-nohz nosmt)
	pairs="vm-nohz/vm off-nohz/off vm/off vm-nohz/off-nohz vm/nosmt vm-nohz/nosmt"
	;;
guest-hz)
	"$LAB/build.sh" hz250
	kernel=$BUILD/bzImage
	# The guest's kernel, laid over build/realvm's.
	g=$BUILD/realvm-hz250
	mkdir -p "$g/realvm"
	cp "$BUILD/hz250/bzImage" "$g/realvm/bzImage"
	append=([vm]="coresched=vm" [off]="coresched=off"
		[nosmt]="coresched=off nosmt lab.p=0,0")
	for c in vm off nosmt; do
		append[$c-hz250]=${append[$c]}
		extra[$c-hz250]=$g
	done
	cases=(vm off nosmt vm-hz250 off-hz250 nosmt-hz250)
	pairs="vm-hz250/vm off-hz250/off nosmt-hz250/nosmt vm/off vm-hz250/off-hz250 vm/nosmt vm-hz250/nosmt-hz250"
	;;
*) die "usage: realvm-ticks.sh [-r ROUNDS] host-nohz|guest-hz" ;;
esac

runs=$BUILD/realvm-ticks
rm -rf "$runs"
mkdir -p "$runs"
for r in $(seq "$rounds"); do
	for i in "${!cases[@]}"; do
		c=${cases[$(((i + r - 1) % ${#cases[@]}))]}
		extras=(--extra "$BUILD/realvm")
		[ -z "${extra[$c]:-}" ] || extras+=(--extra "${extra[$c]}")
		say "round $r: $c"
		"$LAB/boot.sh" --kernel "$kernel" --topo 1,1,2 --timeout 600 \
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
failed = []
for c in cases:
    for r in range(1, rounds + 1):
        path = os.path.join(runs, f"{c}.{r}", "results.log")
        try:
            text = open(path, errors="replace").read().replace("\r", "")
        except OSError:
            failed.append(f"{c}.{r}: no results")
            continue
        if not re.search(r"^ok 1 ", text, re.M):
            failed.append(f"{c}.{r}: " + (re.findall(r"^not ok 1 (.*)$", text, re.M) or ["no TAP"])[0])
            continue
        d = {}
        for m in re.finditer(r"^# r (\S+) (\S+) (\S+)$", text, re.M):
            d[m[1] + " " + m[2]] = float(m[3])
        m = re.search(r"^# ticks (\d+) (\d+|-)$", text, re.M)
        if m:
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

print(f"# lab/realvm-ticks.sh {exp}: the real guest, {rounds} rounds, cases in a rotated order")
for f in failed:
    print(f"# FAILED {f}")
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
        kk = [d[f"{ph} cs_kicks_sent"] / d[f"{ph} cs_slow_exits"] for d in rs
              if d.get(f"{ph} cs_slow_exits")]
        line = f"  {ph:9} exits/s {spread(ex, '{:.0f}')}, interrupt exits/s {spread(irq, '{:.0f}')}"
        if kk and max(kk) > 0:
            line += f", kicks per slow exit {spread(kk, '{:.2f}')}"
        print(line)
print()
print("## Speed ratios, per round (adjacent boots), then the median (min-max) and the rounds above 1")
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
