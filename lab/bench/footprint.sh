#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The series' footprint, for "make bench": what it adds to the kernel, in
# all and per Kconfig option.
#
# usage: footprint.sh [--build] DATADIR
#   --build  first build the patched tree with one option off each, into
#            build/bench-nocg/ (CONFIG_SCHED_CORE_CGROUP off) and
#            build/bench-novm/ (CONFIG_SCHED_CORE_VM off): lab/build.sh's
#            recipe (tinyconfig, lab/config/ fragments, ccache) with one
#            more fragment, the tree build/src/linux used read-only, only
#            vmlinux built; skipped when the tree, the fragments and this
#            script are unchanged.  Without --build the variants that
#            exist are used, the others left out.  The objects sit right
#            in build/bench-X/, at the depth of build/obj/: with
#            CCACHE_BASEDIR (lib.sh) the compiler's command lines are then
#            those of the patched kernel, and every file the option does
#            not change is a ccache hit.
#
# Writes into DATADIR:
#   bloat.csv   part,old,new,function,data,rodata,total: byte deltas by
#               scripts/bloat-o-meter -c from kernel "old" to kernel "new"
#               (series: vanilla to patched; cgroup: nocg to patched; vm:
#               novm to patched)
#   sizes.csv   object,kernel,text,data,bss: size(1) of vmlinux,
#               kernel/sched/build_utility.o, arch/x86/kvm/x86_coresched.o
#   bloat-PART.txt   bloat-o-meter's own output (the 40 biggest changes
#                    of each section)
#   configs.txt      config symbols in which vanilla and patched differ
#                    beyond the series' options (should be none)
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/../lib.sh"

build=0
if [ "${1:-}" = --build ]; then
	build=1
	shift
fi
data=${1:?usage: footprint.sh [--build] DATADIR}
mkdir -p "$data"

declare -A objdir=(
	[vanilla]=$BUILD/vanilla/obj
	[patched]=$BUILD/obj
	[nocg]=$BUILD/bench-nocg
	[novm]=$BUILD/bench-novm
)
declare -A off=([nocg]=CONFIG_SCHED_CORE_CGROUP [novm]=CONFIG_SCHED_CORE_VM)

# build_variant NAME: the patched tree with ${off[NAME]} off.
build_variant() {
	local name=$1 obj=${objdir[$1]} frag frags commit stamp sym
	frag=$obj/off.config
	mkdir -p "$obj"
	echo "# ${off[$name]} is not set" > "$frag"
	frags=("$LAB/config/base.config")
	[ ! -f "$LAB/config/series.config" ] || frags+=("$LAB/config/series.config")
	frags+=("$frag")
	commit=$(git -C "$LINUX" rev-parse HEAD)
	stamp="$commit $(hash_inputs "${frags[@]}" "$0")"
	if [ -f "$obj/vmlinux" ] && [ "$(cat "$obj/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
		say "footprint: $name kernel is up to date"
		return 0
	fi
	say "footprint: building the patched kernel with ${off[$name]} off (${obj#"$TOP"/})"
	local start=$SECONDS
	kmake() {
		make -s -C "$LINUX" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
			-j"$JOBS" "$@"
	}
	kmake tinyconfig > /dev/null || return 1
	KCONFIG_CONFIG=$obj/.config "$LINUX/scripts/kconfig/merge_config.sh" \
		-m -O "$obj" "$obj/.config" "${frags[@]}" > /dev/null || return 1
	kmake olddefconfig > /dev/null || return 1
	sym=${off[$name]}
	if grep -q "^$sym=" "$obj/.config"; then
		warn "footprint: $sym is still on in $obj/.config"
		return 1
	fi
	kmake vmlinux || return 1
	echo "$stamp" > "$obj/.bench-stamp"
	say "footprint: $name kernel built in $((SECONDS - start)) s"
}

if [ $build = 1 ]; then
	for v in nocg novm; do
		build_variant "$v" || warn "footprint: building $v failed"
	done
fi

have() { [ -f "${objdir[$1]}/vmlinux" ]; }

# bloat PART OLD NEW: one row of bloat.csv, and bloat-PART.txt.
bloat() {
	local part=$1 old=$2 new=$3 txt=$data/bloat-$1.txt
	have "$old" && have "$new" || return 0
	python3 "$LINUX/scripts/bloat-o-meter" -c "${objdir[$old]}/vmlinux" \
		"${objdir[$new]}/vmlinux" > "$txt.full" || return 1
	# Each section's summary, its 40 biggest changes and its total.
	awk '/^add\/remove:/ { n = 0 } { n++ } n <= 42 || /^Total:/' \
		"$txt.full" > "$txt"
	rm -f "$txt.full"
	# -c prints Function, Data (with bss) and RO Data, each ending in
	# "Total: Before=N, After=N, chg ...".
	awk -v p="$part" -v o="$old" -v n="$new" -F'[=,]' '
		/^Total: Before=/ { d[++i] = $4 - $2 }
		END { if (i == 3) printf "%s,%s,%s,%d,%d,%d,%d\n", p, o, n,
			d[1], d[2], d[3], d[1] + d[2] + d[3] }' "$txt" >> "$data/bloat.csv"
}

echo "part,old,new,function,data,rodata,total" > "$data/bloat.csv"
bloat series vanilla patched
bloat cgroup nocg patched
bloat vm novm patched

echo "object,kernel,text,data,bss" > "$data/sizes.csv"
for k in vanilla patched nocg novm; do
	have "$k" || continue
	for o in vmlinux kernel/sched/build_utility.o arch/x86/kvm/x86_coresched.o; do
		[ -f "${objdir[$k]}/$o" ] || continue
		size "${objdir[$k]}/$o" |
			awk -v o="$o" -v k="$k" 'NR == 2 { printf "%s,%s,%s,%s,%s\n", o, k, $1, $2, $3 }'
	done
done >> "$data/sizes.csv"

# The comparison is only fair if the configs differ by the series alone.
series_syms='^(# )?CONFIG_SCHED_CORE_(CGROUP|VM|VM_DEBUG)[= ]'
if have vanilla && have patched; then
	diff <(grep -E '^(# )?CONFIG_' "${objdir[vanilla]}/.config" | grep -Ev "$series_syms" | sort) \
	     <(grep -E '^(# )?CONFIG_' "${objdir[patched]}/.config" | grep -Ev "$series_syms" | sort) |
		grep '^[<>]' > "$data/configs.txt"
fi
say "footprint: $(($(wc -l < "$data/bloat.csv") - 1)) comparisons in ${data#"$TOP"/}"
