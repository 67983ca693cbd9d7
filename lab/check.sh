#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Style gates over the series, each a result record:
#   checkpatch  scripts/checkpatch.pl --strict over out/series: no error or
#               warning but those in lab/checkpatch.allow, with a reason
#   sparse/W=1  the objects of every C file the series adds or touches,
#               built with C=2 W=1 in the patched and in the vanilla tree:
#               no sparse or compiler warning the vanilla build lacks
#   scripts     shellcheck on the lab's scripts, checkpatch --strict on
#               the lab's own C programs (lab/src)
#   rst         the series' documentation parses with docutils, no warning
#               (lab/rst-check.py, which also runs on its own)
# Needs the trees (tree.sh) and the series (series.sh).
set -uo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

rec() { "$LAB/tap.py" add "$@"; }
git_base() { git -C "$BASE_GIT" "$@"; }

# --- checkpatch ----------------------------------------------------------
check_patch() {
	local p out raw rc bad=0 n=0 allow=$LAB/checkpatch.allow
	for p in "$OUT"/series/0[0-9][0-9][0-9]-*.patch; do
		case $p in */0000-cover-letter.patch) continue ;; esac
		[ -f "$p" ] || continue
		n=$((n + 1))
		rc=0
		# Debian's python3 first: it has the modules (ply, git) that
		# checkpatch's SPDX check needs, which another python3 on the
		# PATH may lack.
		raw=$(PATH=/usr/bin:$PATH "$LINUX/scripts/checkpatch.pl" --strict --show-types \
			--terse --no-summary "$p" 2>&1) || rc=$?
		# 0 clean, 1 findings; anything else: it did not run.
		if [ $rc -gt 1 ]; then
			bad=1
			rec fail "check: checkpatch --strict $(basename "$p")" \
				"checkpatch did not run (exit $rc): $(echo "$raw" | tail -n 1)"
			continue
		fi
		out=$(echo "$raw" | grep -E '(ERROR|WARNING|CHECK):' |
		      while read -r line; do
			      type=$(echo "$line" | sed -n 's/.*\(ERROR\|WARNING\|CHECK\):\([A-Z_]*\):.*/\2/p')
			      grep -v '^#' "$allow" 2>/dev/null |
			      awk -v t="$type" -v p="$(basename "$p")" \
				  '$1 == t && p ~ $2 { found = 1 } END { exit !found }' ||
				      echo "$line"
		      done)
		if [ -n "$out" ]; then
			bad=1
			# shellcheck disable=SC2001 # prefixes every line
			echo "$out" | sed "s|^|  $(basename "$p"): |" >&2
			rec fail "check: checkpatch --strict $(basename "$p")" "$(echo "$out" | head -n 3)"
		else
			rec pass "check: checkpatch --strict $(basename "$p")"
		fi
	done
	if [ $n = 0 ]; then
		rec fail "check: checkpatch --strict" "no patches in $OUT/series"
		return 1
	fi
	return $bad
}

# --- sparse and W=1 ------------------------------------------------------
# The object that compiles a C file: kernel/sched builds most of its files
# by #including them from build_*.c.
obj_of() {
	local f=$1 tree=$2 inc
	inc=$(grep -l -E "^# *include \"$(basename "$f")\"" \
		"$tree/$(dirname "$f")"/build_*.c 2>/dev/null | head -n 1)
	if [ -n "$inc" ]; then
		f=$(dirname "$f")/$(basename "$inc")
	fi
	echo "${f%.c}.o"
}

# warnings_of TREE OUT OBJ...: build OBJ... of TREE (DIR/src/linux) in
# DIR/obj-w1 with C=2 W=1 and write their warnings to OUT, sorted, each as
# often as it was printed, without line numbers so that an unrelated shift
# of code does not count as a new warning (but one more of a kind does).
# The gate must not pass by building nothing: the objects are removed
# first (an object that is up to date is not compiled again, and prints
# no W=1 warning), and each must then have been compiled ("CC") and
# checked ("CHECK"), and the make must succeed; anything else is written
# to OUT as an error of its own, which no vanilla build has.  DIR/obj-w1
# is beside DIR/obj, so that ccache gives it what the kernel build
# compiled with the same flags (the host tools, the generated headers).
warnings_of() {
	local tree=$1 obj=${1%/src/linux}/obj-w1 out=$2 log=$2.log o rc=0
	shift 2
	[ "$obj" != "$tree/obj-w1" ] || die "warnings_of: $tree is not DIR/src/linux"
	mkdir -p "$obj"
	cp "$BUILD/obj/.config" "$obj/.config"
	for o in "$@"; do
		rm -f "$obj/$o"
	done
	# The same quotes in every warning, whatever the locale (kbuild
	# unexports LC_ALL): LANG=C, and gcc's typographic ones made plain.
	{
		LANG=C make -C "$tree" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
			-j"$JOBS" olddefconfig &&
		LANG=C make -C "$tree" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
			-j"$JOBS" C=2 W=1 CHECK=sparse "$@"
	} > "$log" 2>&1 || rc=$?
	{
		grep -E '(warning|error):' "$log" |
			sed -E "s#(^|[ (])[^ :(]*/src/(linux|base)/#\\1#g; s#:[0-9]+:[0-9]+:#:#; s#:[0-9]+:#:#; s#‘#'#g; s#’#'#g"
		[ $rc = 0 ] || echo "error: make of ${*} in $tree failed (exit $rc, see $log)"
		for o in "$@"; do
			[ -s "$obj/$o" ] || echo "error: $o was not built"
			grep -q -E "^  CC +$o\$" "$log" || echo "error: $o was not compiled"
			grep -q -E "^  CHECK +.*${o%.o}\.c\$" "$log" ||
				echo "error: sparse did not check ${o%.o}.c"
		done
	} | sort > "$out"
}

# check_warnings [TREE [DIR]]: the gate on TREE (default the patched
# tree), its findings in DIR (default build/check).  The self-test runs it
# on a copy of the tree with a warning injected.
check_warnings() {
	local tree=${1:-$LINUX} dir=${2:-$BUILD/check} files objs=() f o new lock
	files=$(git_base diff --name-only --diff-filter=AM base series -- '*.c')
	for f in $files; do
		o=$(obj_of "$f" "$tree")
		# Only objects this config builds.
		case " ${objs[*]} " in *" $o "*) continue ;; esac
		[ -e "$BUILD/obj/$o" ] && objs+=("$o")
	done
	if [ ${#objs[@]} = 0 ]; then
		rec fail "check: sparse/W=1" "no object of the series' C files in $BUILD/obj"
		return 1
	fi
	mkdir -p "$dir"
	warnings_of "$tree" "$dir/patched.w" "${objs[@]}"
	# The vanilla tree lacks the series' new files: build what exists.
	local vobjs=()
	if ! vanilla_tree; then
		rec fail "check: sparse/W=1" "no vanilla tree to compare with ($VANILLA)"
		return 1
	fi
	for o in "${objs[@]}"; do
		[ -e "$VANILLA/${o%.o}.c" ] && vobjs+=("$o")
	done
	# Vanilla's warnings depend on the base, the config and the objects
	# only, whichever patched tree is checked: built once, in build/check.
	local vdir=$BUILD/check vstamp
	mkdir -p "$vdir"
	vstamp="$(git -C "$VANILLA" rev-parse HEAD) $(sha256sum < "$BUILD/obj/.config")"
	vstamp+=" ${vobjs[*]} $(sha256sum < "$LAB/check.sh")"
	# One at a time: make test runs this gate and the lab's self-test of
	# it at once.
	exec {lock}> "$vdir/vanilla.lock"
	flock "$lock"
	if [ ${#vobjs[@]} = 0 ]; then
		: > "$vdir/vanilla.w"
	elif [ ! -f "$vdir/vanilla.stamp" ] || [ "$(cat "$vdir/vanilla.stamp")" != "$vstamp" ] ||
	     grep -q '^error: ' "$vdir/vanilla.w"; then
		rm -f "$vdir/vanilla.stamp"
		warnings_of "$VANILLA" "$vdir/vanilla.w" "${vobjs[@]}"
		echo "$vstamp" > "$vdir/vanilla.stamp"
	fi
	exec {lock}>&-
	# A failed build or a sparse that did not run fails whatever vanilla did.
	new=$(grep -h '^error: ' "$dir/patched.w" "$vdir/vanilla.w"
	      comm -23 "$dir/patched.w" "$vdir/vanilla.w" | grep -v '^error: ')
	if [ -n "$new" ]; then
		# shellcheck disable=SC2001 # indents every line
		echo "$new" | sed 's/^/  /' >&2
		rec fail "check: sparse C=2 and W=1 on ${objs[*]}" "$(echo "$new" | head -n 3)"
		return 1
	fi
	rec pass "check: sparse C=2 and W=1 on ${objs[*]} (no new warnings)"
}

# --- shellcheck ----------------------------------------------------------
check_shell() {
	local out
	out=$(cd "$TOP" && shellcheck -x -s bash lab/*.sh lab/tests/*.sh .ci/run 2>&1;
	      cd "$TOP" && shellcheck -s sh lab/guest/init lab/guest/l2/init lab/guest/*.sh 2>&1)
	if [ -n "$out" ]; then
		echo "$out" | head -n 40 >&2
		rec fail "check: shellcheck lab scripts" "$(echo "$out" | grep -m1 SC)"
		return 1
	fi
	rec pass "check: shellcheck lab scripts"
}

# The lab's programs are userspace on the tools headers, whose types
# (uint64_t) checkpatch accepts under tools/ but not here.
check_lab_c() {
	local f out
	for f in "$LAB"/src/*.c; do
		out=$(PATH=/usr/bin:$PATH "$LINUX/scripts/checkpatch.pl" --strict \
			--ignore PREFER_KERNEL_TYPES --no-tree --terse --no-summary \
			-f "$f" 2>&1)
		if [ -n "$out" ]; then
			echo "$out" | head -n 20 >&2
			rec fail "check: checkpatch --strict lab/src/$(basename "$f")" \
				"$(echo "$out" | head -n 1)"
			return 1
		fi
		rec pass "check: checkpatch --strict lab/src/$(basename "$f")"
	done
}

# --- documentation -------------------------------------------------------
check_rst() {
	local f out rc=0
	for f in $(cd "$TOP" && git ls-files --cached --others --exclude-standard -- 'Documentation/*.rst'); do
		# kernel-doc directives read the repository's sources first,
		# then the patched tree's.
		out=$(python3 "$LAB/rst-check.py" "$LINUX/scripts/kernel-doc" \
			"$TOP" "$LINUX" -- "$TOP/$f" 2>&1) || rc=$?
		if [ $rc != 0 ]; then
			echo "$out" | tail -n 5 >&2
			rec fail "check: docutils $f" "$(echo "$out" | tail -n 1)"
			return 1
		fi
		rec pass "check: docutils $f"
	done
}

# check.sh [--tree DIR] [--out DIR] [GATE...]: the gates named (checkpatch,
# warnings, shell, rst; default all).  --tree and --out give the warnings
# gate another patched tree and object directory (the lab's self-test).
tree=$LINUX out=$BUILD/check gates=()
while [ $# -gt 0 ]; do
	case $1 in
	--tree) tree=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	checkpatch | warnings | shell | rst) gates+=("$1"); shift ;;
	*) die "check.sh: unknown argument $1" ;;
	esac
done
[ ${#gates[@]} -gt 0 ] || gates=(checkpatch warnings shell rst)
status=0
for g in "${gates[@]}"; do
	case $g in
	checkpatch) check_patch || status=1 ;;
	warnings) check_warnings "$tree" "$out" || status=1 ;;
	shell) { check_shell && check_lab_c; } || status=1 ;;
	rst) check_rst || status=1 ;;
	esac
done
exit $status
