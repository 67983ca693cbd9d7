# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared definitions for the lab scripts.  Sourced, never run.
#
# Paths are absolute so that every script can be run from anywhere.
# The variables are for the scripts that source this file.
# shellcheck disable=SC2034

LAB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(dirname "$LAB")
BUILD=${BUILD:-$TOP/build}
OUT=${OUT:-$TOP/out}

# The base tree: a git repository whose work tree is the pristine Debian
# source; the patched tree is a second work tree of that repository.
BASE_GIT=$BUILD/src/base
LINUX=$BUILD/src/linux
VANILLA=$BUILD/vanilla/src/linux

# The vanilla kernel's tree: a work tree of the base at its pristine
# commit, made when first needed rather than by tree.sh, since the
# patched kernel's build waits for tree.sh and nothing needs this tree
# that early.  One maker at a time: make test's background build and the
# lab's own tests may both get here first.  A tree whose repository is
# gone (tree.sh made the base anew) is made again.  Returns 1, having
# said why, if it cannot be made.
vanilla_tree() {
	local lock rc=0
	if [ ! -d "$BASE_GIT/.git" ]; then
		echo "no base tree $BASE_GIT for the vanilla kernel's: run lab/tree.sh" >&2
		return 1
	fi
	mkdir -p "$(dirname "$VANILLA")"
	exec {lock}> "$(dirname "$VANILLA")/.tree.lock"
	flock "$lock"
	if ! { [ -e "$VANILLA/.git" ] &&
	       git -C "$VANILLA" rev-parse -q --verify HEAD > /dev/null 2>&1; }; then
		rm -rf "$VANILLA"
		git -C "$BASE_GIT" worktree prune &&
			git -C "$BASE_GIT" worktree add -q --detach "$VANILLA" base || rc=1
	fi
	exec {lock}>&-
	[ $rc = 0 ] || echo "could not make the vanilla kernel's tree $VANILLA" >&2
	return $rc
}

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Every kernel tree of the lab sits at DIR/src/linux with its objects in
# DIR/obj (DIR: build, build/vanilla, build/bisect), so that with paths
# made relative to build/ the same source compiles to the same ccache
# entry in every tree: the per-patch build check and the patched kernel
# reuse what the vanilla kernel and each other compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$BUILD}
export CCACHE_NOHASHDIR=true
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2024-11-17}
export KBUILD_BUILD_USER=lab KBUILD_BUILD_HOST=coresched-lab
JOBS=${JOBS:-$(nproc)}

if [ -t 1 ]; then
	c_red=$'\e[31m' c_grn=$'\e[32m' c_yel=$'\e[33m' c_bold=$'\e[1m' c_off=$'\e[0m'
else
	c_red='' c_grn='' c_yel='' c_bold='' c_off=''
fi

say()  { printf '%s==>%s %s\n' "$c_bold" "$c_off" "$*"; }
warn() { printf '%sWARNING:%s %s\n' "$c_yel" "$c_off" "$*" >&2; }
die()  { printf '%sERROR:%s %s\n' "$c_red" "$c_off" "$*" >&2; exit 1; }

# Loud banner for conditions a human must not miss in a CI log.
shout() {
	local line
	line=$(printf '%*s' 72 '' | tr ' ' '!')
	printf '%s%s\n' "$c_yel" "$line" >&2
	printf '!!! %s\n' "$@" >&2
	printf '%s%s\n' "$line" "$c_off" >&2
}

# The pinned base package: "name version" on the first non-comment line.
base_pkg() { awk '!/^#/ && NF { print $1; exit }' "$LAB/base-version"; }
base_ver() { awk '!/^#/ && NF { print $2; exit }' "$LAB/base-version"; }

# Content hash of a list of files and directories, for build stamps.
hash_inputs() {
	local f
	for f in "$@"; do
		if [ -d "$f" ]; then
			find "$f" -type f ! -name '*.o' -print0 | sort -z |
				xargs -0 -r sha256sum
		elif [ -e "$f" ]; then
			sha256sum "$f"
		else
			echo "missing $f"
		fi
	done | sed "s|$TOP/||" | sha256sum | cut -d' ' -f1
}

# The lines of a guest's console that fail its run, numbered, 20 at most:
# those of lab/splat.re but for lab/splat.allow's.
console_splats() {
	local re allow
	re=$(sed '/^#/d; /^$/d' "$LAB/splat.re" | tr '\n' '|' | sed 's/|$//')
	[ -n "$re" ] || die "no splat regex in $LAB/splat.re"
	allow=$(sed '/^#/d; /^$/d' "$LAB/splat.allow")
	# The serial console ends its lines with CR LF.
	tr -d '\r' < "$1" 2>/dev/null | grep -n -a -E "$re" |
		if [ -n "$allow" ]; then grep -v -E -e "$allow"; else cat; fi |
		head -n 20
}
