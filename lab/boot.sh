#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a lab kernel under QEMU (TCG) on an explicit SMT topology, run one
# guest script and judge the run.
#
# usage: boot.sh [options] NAME
#   NAME             the guest script, lab/guest/NAME.sh ("shell": interactive)
#   --kernel FILE    bzImage (default build/bzImage)
#   --topo S,C,T     sockets, cores per socket, threads per core (default 1,1,2)
#   --append ARGS    extra kernel command line (e.g. "coresched=vm")
#   --mem SIZE       guest memory (default 2G)
#   --timeout SECS   kill the guest after this long (default 600)
#   --out DIR        where console.log and results.log go
#                    (default build/runs/NAME)
#   --extra DIR      also unpack DIR's files over the initramfs (a second
#                    cpio archive: the kernel unpacks them in order), for
#                    trying a test without rebuilding the image
#   --cpu MODEL      QEMU CPU model (default EPYC,+svm,+npt)
#
# The run passes when the guest script finished ("# lab: done rc=0")
# and the console holds no splat: no WARNING, BUG, Oops, panic, lockdep,
# KASAN or UBSAN report, soft or hard lockup, hung task or RCU stall.
# Otherwise it fails and the offending console lines are quoted.
# Results: DIR/results.log (what the script printed, TAP), DIR/console.log,
# DIR/qemu.log (QEMU's own messages), DIR/verdict (one line).
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

kernel=$BUILD/bzImage topo=1,1,2 append='' mem=2G timeout=600 out='' extra=''
cpu=EPYC,+svm,+npt
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--topo) topo=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--extra) extra=$2; shift 2 ;;
	--cpu) cpu=$2; shift 2 ;;
	-*) die "boot.sh: unknown option $1" ;;
	*) break ;;
	esac
done
name=${1:?usage: boot.sh [options] NAME}
out=${out:-$BUILD/runs/$name}
initrd=$BUILD/initramfs.cpio.gz
# Nothing of an earlier run may pass for this one's, even if we stop here.
if [ "$name" != shell ]; then
	mkdir -p "$out"
	rm -f "$out/console.log" "$out/results.log" "$out/verdict"
fi
[ -f "$kernel" ] || die "no kernel $kernel: run make first"
[ -f "$initrd" ] || die "no initramfs $initrd: run make first"
# Any console line that matches the lab's splat regex fails the run.
splat_re=$(sed '/^#/d; /^$/d' "$LAB/splat.re" | tr '\n' '|' | sed 's/|$//')
[ -n "$splat_re" ] || die "no splat regex in $LAB/splat.re"
if [ -n "$extra" ]; then
	[ -d "$extra" ] || die "--extra $extra: not a directory"
	tmpimg=$(mktemp)
	# shellcheck disable=SC2064
	trap "rm -f '$tmpimg'" EXIT
	cp "$initrd" "$tmpimg"
	(cd "$extra" && find . -print0 | cpio --null -o -H newc --quiet) |
		gzip -1 >> "$tmpimg"
	initrd=$tmpimg
fi

IFS=, read -r sockets cores threads <<< "$topo"
ncpu=$((sockets * cores * threads))
smp="$ncpu,sockets=$sockets,cores=$cores,threads=$threads"
cmdline="console=ttyS0,115200 panic=-1 lab.run=$name lab.topo=$topo $append"

# shellcheck disable=SC2054 # QEMU's option values have commas
qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu "$cpu"
      -smp "$smp" -m "$mem" -kernel "$kernel" -initrd "$initrd"
      -append "$cmdline" -no-reboot -display none -nodefaults)

if [ "$name" = shell ]; then
	say "booting $(basename "$kernel") on -smp $smp; Ctrl-a x quits"
	"${qemu[@]}" -serial mon:stdio -serial null 2>/dev/null
	exit 0
fi

mkdir -p "$out"
console=$out/console.log results=$out/results.log
rm -f "$console" "$results" "$out/verdict"
start=$SECONDS
rc=0
timeout -k 10 "$timeout" "${qemu[@]}" -monitor none \
	-serial "file:$console" -serial "file:$results" </dev/null \
	2> "$out/qemu.log" || rc=$?
took=$((SECONDS - start))
touch "$console" "$results"

# Judge: first the console, whatever the script said.
verdict=ok
why=''
splats=$(grep -n -a -E "$splat_re" "$console" | head -n 20 || true)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	verdict=timeout why="the guest was killed after ${timeout}s (hang)"
elif grep -q -a 'Kernel panic' "$console"; then
	verdict=panic why="the guest kernel panicked"
elif ! grep -q -a '^# lab: done' "$results"; then
	verdict=incomplete why="the guest stopped before its script ended (qemu rc=$rc)"
elif ! grep -q -a '^# lab: done rc=0' "$results"; then
	verdict=failed why="the guest script failed ($(grep -a -m1 '^# lab: done' "$results"))"
elif [ -n "$splats" ]; then
	verdict=splat why="the console holds kernel splats"
fi
echo "$verdict" > "$out/verdict"

if [ "$verdict" = ok ]; then
	say "$name: guest run ok in ${took}s (-smp $smp${append:+, $append})"
	exit 0
fi
printf '%sFAIL%s %s: %s (-smp %s%s, %ss)\n' "$c_red" "$c_off" "$name" "$why" \
	"$smp" "${append:+, $append}" "$took" >&2
if [ -n "$splats" ]; then
	echo "  console lines that fail the run ($console):" >&2
	# shellcheck disable=SC2001
	echo "$splats" | sed 's/^/    /' >&2
fi
echo "  console tail:" >&2
tail -n 15 "$console" | sed 's/^/    /' >&2
exit 1
