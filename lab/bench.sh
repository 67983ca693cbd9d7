#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make bench": what the series costs, next to the vanilla kernel and
# nosmt.  Boots the vanilla and the patched kernel under QEMU in the
# configurations of lab/bench/plan, round by round (every boot of the plan
# in each round, odd rounds in the plan's order, even rounds backwards),
# runs lab/guest/bench.sh in each, and writes:
#
#   BENCHMARKS.md                the report (lab/bench/report.py)
#   benchmarks/rounds.csv        every number of every round
#   benchmarks/footprint.csv     sizes (lab/bench/footprint.sh)
#   benchmarks/*.png             the plots (lab/bench/*.gp)
#   benchmarks/realvm-costs-*.txt  a traced real guest under vm and nosmt
#                                (lab/guest/realvm-costs.sh), not quick
#   benchmarks/run.txt           what ran: kernels, commands, topology
#   benchmarks/errors.txt        the measurements that failed
#   benchmarks/again.txt         those measured once more (the guest's
#                                "again" lines), which make test's quick
#                                round judges against lab/retries.list
#
# usage: bench.sh [--quick] [--rounds N] [--out DIR] [--no-build]
#   --quick     one short round, footprint without builds (make bench
#               QUICK=1; also QUICK=1 in the environment), of the boots
#               the plan's quick column keeps; writes under
#               build/bench-quick/ unless --out says otherwise
#   --rounds N  rounds of the full run (default 5; ROUNDS=N too)
#   --out DIR   write DIR/BENCHMARKS.md and DIR/benchmarks/ (default: the
#               top of the repository)
#   --no-build  a full run without the footprint's kernel builds (the
#               variants already built are used)
#
# Development knobs (environment):
#   BENCH_ONLY=a,b     only these boots of the plan
#   BENCH_EXTRA=DIR    also unpack DIR over the initramfs (boot.sh --extra)
#
# The kernels, the initramfs and lab/boot.sh are copied when the run
# starts, so that a rebuild meanwhile cannot mix two kernels in one report.  The guest runs'
# logs stay in build/bench/runs/ (quick: the output directory's runs/).
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"
# The whole script is one block: bash reads it before running any of it,
# so editing this file during a run (which takes long) cannot derail it.
{

quick=${QUICK:-0}
rounds=${ROUNDS:-}
out=''
build_variants=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--rounds) rounds=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--no-build) build_variants=0; shift ;;
	*) die "bench.sh: unknown argument $1" ;;
	esac
done
[ "$quick" = 1 ] || quick=0
if [ "$quick" = 1 ]; then
	rounds=${rounds:-1}
	out=${out:-$BUILD/bench-quick}
	runs=$out/runs
	boot_timeout=300
else
	rounds=${rounds:-5}
	out=${out:-$TOP}
	runs=$BUILD/bench/runs
	boot_timeout=600
fi
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "bench.sh: bad number of rounds: $rounds"
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)
data=$out/benchmarks
snap=$BUILD/bench/kernels
[ "$quick" = 0 ] || snap=$out/kernels
csv=$data/rounds.csv
info=$data/run.txt
errors=$data/errors.txt
again=$data/again.txt
t_start=$SECONDS

# --- the kernels and the image -------------------------------------------
# Wait for a file the lab may be rebuilding (its path stays): for a full
# run started by hand during a build.  The quick run (make test) has its
# images built before it, or none to wait for.
wait_for() {
	local f=$1 waited=0
	[ -s "$f" ] || [ "$quick" = 0 ] || die "$f is missing"
	while [ ! -s "$f" ]; do
		[ $waited -lt 1800 ] || die "$f is still missing after 30 minutes"
		[ $waited != 0 ] || say "waiting for $f (being rebuilt?)"
		sleep 10
		waited=$((waited + 10))
	done
}

wait_for "$BUILD/bzImage"
wait_for "$BUILD/vanilla/bzImage"
wait_for "$BUILD/initramfs.cpio.gz"
rm -rf "$snap"
mkdir -p "$snap" "$data" "$runs"
cp "$BUILD/bzImage" "$snap/patched.bzImage"
cp "$BUILD/vanilla/bzImage" "$snap/vanilla.bzImage"
# Their symbols, for a hung guest's dump (boot.sh).
cp "$BUILD/obj/System.map" "$snap/patched.System.map" 2>/dev/null || true
cp "$BUILD/vanilla/obj/System.map" "$snap/vanilla.System.map" 2>/dev/null || true
cp "$BUILD/initramfs.cpio.gz" "$snap/initramfs.cpio.gz"
# boot.sh too, and what it calls to judge a run: bash reads a script as
# it runs it, and an edit meanwhile would derail a boot.
mkdir -p "$snap/lab"
cp "$LAB/boot.sh" "$LAB/lib.sh" "$LAB/judge.sh" "$LAB/hang-dump.py" "$LAB/splat.re" \
   "$LAB/splat.allow" "$snap/lab/"

# A fair comparison needs the two kernels built from one config.
series_syms='^(# )?CONFIG_SCHED_CORE_(CGROUP|VM|VM_DEBUG)[= ]'
ndiff=$(diff <(grep -E '^(# )?CONFIG_' "$BUILD/vanilla/obj/.config" 2>/dev/null |
	       grep -Ev "$series_syms" | sort) \
	     <(grep -E '^(# )?CONFIG_' "$BUILD/obj/.config" 2>/dev/null |
	       grep -Ev "$series_syms" | sort) | grep -c '^[<>]')
[ "$ndiff" = 0 ] ||
	shout "build/vanilla and build/ were configured differently ($ndiff config lines" \
	      "beyond the series' options): the comparison is unfair; rebuild both" \
	      "(make kernel vanilla)."

# The guest needs lab/guest/bench.sh and the helpers in the image (or in
# BENCH_EXTRA while developing).
if [ -z "${BENCH_EXTRA:-}" ]; then
	list=$(gzip -dc "$snap/initramfs.cpio.gz" | cpio -it --quiet 2>/dev/null)
	for f in lab/bench.sh lab/bin/cs_bench_exec lab/bin/kvm_workload \
		 lab/bin/ipi_pingpong lab/realvm-costs.sh; do
		grep -qx "$f" <<< "$list" ||
			die "the initramfs has no /$f: rebuild it (make initramfs)"
	done
fi

rev() { git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo unknown; }
{
	echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "mode $([ "$quick" = 1 ] && echo quick || echo full)"
	echo "rounds $rounds"
	echo "command $([ "$quick" = 1 ] && echo 'make bench QUICK=1' || echo 'make bench')"
	echo "repo $(rev "$TOP")$(git -C "$TOP" diff --quiet HEAD -- 2>/dev/null || echo ' (with uncommitted changes)')"
	echo "patched_tree $(rev "$LINUX") $(git -C "$LINUX" log -1 --format=%s 2>/dev/null)"
	echo "vanilla_tree $(rev "$VANILLA") $(git -C "$VANILLA" log -1 --format=%s 2>/dev/null)"
	echo "base $(base_pkg) $(base_ver)"
	echo "patched_image $(sha256sum < "$snap/patched.bzImage" | cut -c1-16)"
	echo "vanilla_image $(sha256sum < "$snap/vanilla.bzImage" | cut -c1-16)"
	echo "qemu $(qemu-system-x86_64 --version | head -n 1)"
	echo "qemu_args -accel tcg,thread=multi -cpu EPYC,+svm,+npt -m 2G -smp N,sockets=S,cores=C,threads=T"
	echo "host_cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs"
} > "$info"

# --- the plan -------------------------------------------------------------
plan=()
while read -r label kernel topo cmdline sched vm shapes ipi realvm inquick; do
	case $label in "#"* | "") continue ;; esac
	[ -z "${BENCH_ONLY:-}" ] || case ",$BENCH_ONLY," in
		*",$label,"*) ;;
		*) continue ;;
	esac
	ipi=${ipi:--} realvm=${realvm:--}
	if [ "$quick" = 1 ]; then
		case ${inquick:-all} in
		all) ;;
		boot) realvm=- ;;
		-) continue ;;
		*) die "lab/bench/plan: $label: bad quick column: $inquick" ;;
		esac
	fi
	# Run.txt records what ran: report.py expects exactly those numbers.
	plan+=("$label $kernel $topo $cmdline $sched $vm $shapes $ipi $realvm")
	echo "boot $label $kernel $topo $cmdline $sched $vm $shapes $ipi $realvm" >> "$info"
done < "$LAB/bench/plan"
[ ${#plan[@]} -gt 0 ] || die "no boot in lab/bench/plan matches BENCH_ONLY"

# The real VMM (build/realvm, lab/initramfs.sh), laid over the image of
# the boots with real-guest cases, copied like the kernels.
if printf '%s\n' "${plan[@]}" | awk '$9 != "-" { f = 1 } END { exit !f }'; then
	wait_for "$BUILD/realvm.stamp"
	cp -a "$BUILD/realvm" "$snap/realvm" || die "cannot copy $BUILD/realvm"
fi

echo "round,boot,kernel,topo,cmdline,section,case,bench,metric,value,host_load" > "$csv"
: > "$errors"
: > "$again"

# --- one boot -------------------------------------------------------------
declare -A took		# seconds of each boot label, as last measured
declare -A cmds		# the benchmarks' commands, as the guest printed them

err() {
	echo "$*" >> "$errors"
	warn "$*"
}

# boot ROUND LABEL KERNEL TOPO CMDLINE SCHED VM SHAPES IPI REALVM
boot() {
	local r=$1 label=$2 kernel=$3 topo=$4 cmdline=$5 sched=$6 vm=$7
	local shapes=$8 ipi=$9 realvm=${10} dir load rc=0 start=$SECONDS log append
	local extra=() tmo
	dir=$runs/r$r-$label
	load=$(cut -d' ' -f1 /proc/loadavg)
	append="lab.bench_sched=$sched lab.bench_vm=$vm lab.bench_shapes=$shapes"
	append+=" lab.bench_ipi=$ipi lab.bench_realvm=$realvm"
	append+=" lab.bench_quick=$quick"
	[ "$cmdline" = - ] || append+=" $cmdline"
	[ "$realvm" = - ] || extra+=(--extra "$snap/realvm")
	[ -z "${BENCH_EXTRA:-}" ] || extra+=(--extra "$BENCH_EXTRA")
	# A real guest's run takes a minute or two under TCG, more under a
	# loaded host.
	tmo=$boot_timeout
	[ "$realvm" = - ] || tmo=$((tmo + $(tr ',' '\n' <<< "$realvm" | wc -l) * 300))
	BUILD=$snap "$snap/lab/boot.sh" --kernel "$snap/$kernel.bzImage" \
		--topo "$topo" --timeout "$tmo" --out "$dir" \
		--append "$append" "${extra[@]}" bench > "$dir.boot.log" 2>&1 || rc=$?
	took[$label]=$((SECONDS - start))
	log=$dir/bench.log
	tr -d '\r' < "$dir/results.log" > "$log" 2>/dev/null
	if [ $rc != 0 ]; then
		err "round $r, $label: the guest run failed ($(cat "$dir/verdict" 2>/dev/null || echo no verdict)), see ${dir#"$TOP"/}"
		sed -n '1,/console tail/p' "$dir.boot.log" | head -n 5 | sed 's/^/    /' >&2
	fi
	# Records into the CSV; errors and commands aside.
	awk -v r="$r" -v b="$label" -v k="$kernel" -v t="$topo" -v c="$cmdline" \
	    -v l="$load" '$1 == "r" && NF == 6 {
		printf "%s,%s,%s,\"%s\",\"%s\",%s,%s,%s,%s,%s,%s\n", r, b, k, t, c,
			$2, $3, $4, $5, $6, l }' "$log" >> "$csv"
	while read -r _ what; do
		err "round $r, $label: $what"
	done < <(grep '^err ' "$log")
	while read -r _ what; do
		echo "round $r, $label: $what" >> "$again"
		warn "round $r, $label: measured again after: $what"
	done < <(grep '^again ' "$log")
	while read -r _ name what; do
		cmds[$name]=$what
	done < <(grep '^cmd ' "$log")
	if [ "$r" = 1 ]; then
		grep '^info kernel=' "$log" | sed "s/^info /guest $label /" >> "$info"
	fi
	# nosmt must leave one thread per core online, or the figure lies.
	if [[ " $cmdline " == *" nosmt "* ]] && grep -q '^info kernel=' "$log" &&
	   ! grep -q '^info .* online=0 ' "$log"; then
		err "round $r, $label: nosmt left more than CPU 0 online: $(grep -o 'online=[^ ]*' "$log")"
	fi
	local how=finished
	[ $rc = 0 ] || how=FAILED
	printf '    %s in %ss, %s numbers (host load %s)\n' "$how" \
		"${took[$label]}" "$(grep -c '^r ' "$log")" "$load"
}

# Seconds boot $1 is expected to take: as it last took; before it ran, a
# guess from what it runs (per scheduler case and per kvm_workload run).
est() {
	local l label sched vm shapes ipi realvm sum c nvm=0 nshapes=0 nipi=0
	local nrealvm=0
	if [ -n "${took[$1]:-}" ]; then
		echo "${took[$1]}"
		return
	fi
	for l in "${plan[@]}"; do
		read -r label _ _ _ sched vm shapes ipi realvm <<< "$l"
		[ "$label" = "$1" ] && break
	done
	if [ "$quick" = 1 ]; then sum=6; else sum=8; fi
	for c in ${sched//,/ }; do
		case $c in
		-) ;;
		plain) sum=$((sum + (quick ? 4 : 10))) ;;
		*) sum=$((sum + (quick ? 8 : 25))) ;;
		esac
	done
	[ "$vm" = - ] || nvm=$(tr ',' '\n' <<< "$vm" | wc -l)
	[ "$shapes" = - ] || nshapes=$(tr ',' '\n' <<< "$shapes" | wc -l)
	[ "$ipi" = - ] || nipi=$(tr ',' '\n' <<< "$ipi" | wc -l)
	[ "$realvm" = - ] || nrealvm=$(tr ',' '\n' <<< "$realvm" | wc -l)
	echo $((sum + nvm * nshapes * 3 * (quick ? 2 : 5) / 2 + nipi * (quick ? 8 : 20) +
		nrealvm * (quick ? 40 : 70)))
}

# The label of the boot at position $2 of round $1's run order.
nth() {
	local i=$2
	[ $(($1 % 2)) = 1 ] || i=$((n - 1 - $2))
	read -r REPLY _ <<< "${plan[$i]}"
	echo "$REPLY"
}

# Seconds left from position $2 of round $1 on, to the end of the run.
eta() {
	local r=$1 j=$2 left=0 all=0 k
	for ((k = j; k < n; k++)); do
		left=$((left + $(est "$(nth "$r" "$k")")))
	done
	for ((k = 0; k < n; k++)); do
		all=$((all + $(est "$(nth 1 "$k")")))
	done
	echo $((left + (rounds - r) * all))
}

mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

# --- footprint --------------------------------------------------------------
if [ "$quick" = 1 ] || [ $build_variants = 0 ]; then
	"$LAB/bench/footprint.sh" "$data" || err "footprint: failed"
else
	"$LAB/bench/footprint.sh" --build "$data" || err "footprint: failed"
fi

# --- the rounds -------------------------------------------------------------
say "make bench$([ "$quick" = 1 ] && echo ' QUICK=1'): $rounds round(s) of ${#plan[@]} boots"
n=${#plan[@]}
for ((r = 1; r <= rounds; r++)); do
	for ((j = 0; j < n; j++)); do
		if [ $((r % 2)) = 1 ]; then i=$j; else i=$((n - 1 - j)); fi
		read -r label kernel topo cmdline sched vm shapes ipi realvm <<< "${plan[$i]}"
		say "round $r/$rounds, boot $((j + 1))/$n: $label ($kernel kernel, $topo$([ "$cmdline" = - ] || echo ", $cmdline")), elapsed $(mmss $((SECONDS - t_start))), about $(mmss "$(eta "$r" "$j")") left"
		boot "$r" "$label" "$kernel" "$topo" "$cmdline" "$sched" "$vm" "$shapes" \
			"$ipi" "$realvm"
	done
done

# --- why a real guest leaves guest mode -------------------------------------
# One traced run of the real guest (lab/guest/realvm-costs.sh) under
# coresched=vm and under nosmt, the plan's boots of those labels, after
# the rounds, as tracing slows the host: exits by reason, claims of the
# core by cause, waits.  Not in quick runs.
rm -f "$data"/realvm-costs-*.txt
if [ "$quick" = 0 ]; then
	for l in "${plan[@]}"; do
		read -r label kernel topo cmdline _ _ _ _ realvm <<< "$l"
		case $label in vm|nosmt) ;; *) continue ;; esac
		[ "$realvm" != - ] || continue
		dir=$runs/costs-$label
		extra=(--extra "$snap/realvm")
		[ -z "${BENCH_EXTRA:-}" ] || extra+=(--extra "$BENCH_EXTRA")
		say "traced real guest: $label ($kernel kernel, $cmdline)"
		if BUILD=$snap "$snap/lab/boot.sh" --kernel "$snap/$kernel.bzImage" \
			--topo "$topo" --timeout 900 --out "$dir" "${extra[@]}" \
			--append "$cmdline" realvm-costs > "$dir.boot.log" 2>&1; then
			tr -d '\r' < "$dir/results.log" > "$data/realvm-costs-$label.txt"
		else
			err "traced real guest, $label: the guest run failed ($(cat "$dir/verdict" 2>/dev/null || echo no verdict)), see ${dir#"$TOP"/}"
		fi
	done
	cmds[realvm-costs]="/lab/realvm-costs.sh (realvm.sh -b -m 2000 -d 16 under the host's trace; boots vm, nosmt)"
fi

for name in $(printf '%s\n' "${!cmds[@]}" | sort); do
	echo "cmd $name ${cmds[$name]}" >> "$info"
done
echo "took $((SECONDS - t_start))" >> "$info"

# --- the report ---------------------------------------------------------------
report_args=()
[ "$quick" = 0 ] || report_args+=(--quick)
python3 "$LAB/bench/report.py" "${report_args[@]}" "$out"
rc=$?
say "make bench: $(mmss $((SECONDS - t_start))) in all; report: ${out#"$TOP"/}/BENCHMARKS.md"
exit $rc
}
