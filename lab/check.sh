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

# Warnings of a C=2 W=1 build of some objects, without line numbers so
# that an unrelated shift of code does not count as a new warning.
warnings_of() {
	local tree=$1 obj=$2
	shift 2
	mkdir -p "$obj"
	cp "$BUILD/obj/.config" "$obj/.config"
	make -s -C "$tree" O="$obj" CC="ccache gcc" -j"$JOBS" olddefconfig \
		>/dev/null 2>&1
	# A build that fails (or a sparse that does not run) is a finding
	# of its own: "make: ... Error N" stays in the output.
	make -s -C "$tree" O="$obj" CC="ccache gcc" -j"$JOBS" C=2 W=1 \
		CHECK="sparse" "$@" 2>&1 >/dev/null |
		grep -E '(warning|error):|Error [0-9]+' |
		sed -E "s|$tree/||; s|:[0-9]+:[0-9]+:|:|; s|:[0-9]+:|:|" | sort -u
}

check_warnings() {
	local files objs=() f o new
	files=$(git_base diff --name-only --diff-filter=AM base series -- '*.c')
	for f in $files; do
		o=$(obj_of "$f" "$LINUX")
		# Only objects this config builds.
		case " ${objs[*]} " in *" $o "*) continue ;; esac
		[ -e "$BUILD/obj/$o" ] && objs+=("$o")
	done
	[ ${#objs[@]} -gt 0 ] || { rec skip "check: sparse/W=1" "no C files"; return 0; }
	warnings_of "$LINUX" "$BUILD/check/patched" "${objs[@]}" > "$BUILD/check/patched.w"
	# The vanilla tree lacks the series' new files: build what exists.
	local vobjs=()
	for o in "${objs[@]}"; do
		[ -e "$BASE_GIT/${o%.o}.c" ] && vobjs+=("$o")
	done
	if [ ${#vobjs[@]} -gt 0 ]; then
		warnings_of "$BASE_GIT" "$BUILD/check/vanilla" "${vobjs[@]}" > "$BUILD/check/vanilla.w"
	else
		: > "$BUILD/check/vanilla.w"
	fi
	# A failed build or a sparse that did not run fails whatever vanilla did.
	new=$(grep 'Error [0-9]' "$BUILD/check/patched.w"
	      comm -23 "$BUILD/check/patched.w" "$BUILD/check/vanilla.w")
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

check_lab_c() {
	local f out
	for f in "$LAB"/src/*.c; do
		out=$(PATH=/usr/bin:$PATH "$LINUX/scripts/checkpatch.pl" --strict \
			--no-tree --terse --no-summary -f "$f" 2>&1)
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

status=0
check_patch || status=1
check_warnings || status=1
check_shell || status=1
check_lab_c || status=1
check_rst || status=1
exit $status
