#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the trees:
#   build/src/base   git repository; its work tree is the pristine base
#                    (tag "base")
#   build/src/linux  a work tree checked out at the tip of the series
#   (build/vanilla/src/linux, a work tree at the base for the vanilla
#   kernel, is made by lab/lib.sh's vanilla_tree when first needed)
#
# The series is committed with git plumbing onto a private index, so the
# patched work tree is only touched by "git checkout" of the new tip: files
# that did not change keep their mtime and kbuild rebuilds nothing for them.
#
# usage: tree.sh [--patches DIR] [--check]
#   --patches DIR  the series to apply (default patches/; tests use it)
#   --check        apply it and stop: touch no branch and no work tree
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

PATCHES=$TOP/patches
check_only=0
while [ $# -gt 0 ]; do
	case $1 in
	--patches) PATCHES=$2; shift 2 ;;
	--check) check_only=1; shift ;;
	*) die "tree.sh: unknown argument $1" ;;
	esac
done

git_base() { git -C "$BASE_GIT" "$@"; }

setup_base() {
	local pkg ver tarball stamp
	pkg=$(base_pkg)
	ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) ||
		die "$pkg is not installed: run lab/deps.sh"
	stamp="$pkg $ver"
	if [ -f "$BASE_GIT/.lab-base" ] &&
	   [ "$(cat "$BASE_GIT/.lab-base")" = "$stamp" ] &&
	   git_base rev-parse -q --verify base >/dev/null; then
		return
	fi
	[ "$ver" = "$(base_ver)" ] ||
		shout "base is $pkg $ver, not the pinned $(base_ver)"
	tarball=$(dpkg -L "$pkg" | grep -m1 '\.tar\.xz$') ||
		die "no source tarball in $pkg"
	say "unpacking $tarball"
	rm -rf "$BUILD/src"
	mkdir -p "$BASE_GIT"
	tar -C "$BASE_GIT" --strip-components=1 -xf "$tarball"
	say "recording the base tree in git"
	git_base init -q -b pristine
	git_base config core.autocrlf false
	git_base config gc.auto 0
	# The lab's stamp file must never end up in a commit.
	echo /.lab-base >> "$BASE_GIT/.git/info/exclude"
	git_base add -A -f .
	GIT_AUTHOR_DATE='2024-11-17T00:00:00Z' \
	GIT_COMMITTER_DATE='2024-11-17T00:00:00Z' \
		git_base -c user.name=lab -c user.email=lab@localhost \
		commit -q -m "base: $pkg $ver"
	git_base tag -f base >/dev/null
	echo "$stamp" > "$BASE_GIT/.lab-base"
}

# Where a file of this repository lives in the kernel tree.
tree_path() {
	case $1 in
	Kconfig.coresched) echo kernel/Kconfig.coresched ;;
	*) echo "$1" ;;
	esac
}

# Print a new file as it stands before the features named by the staging
# symbols in $@ are introduced: C sources lose their #ifdef SYMBOL blocks
# (unifdef), Kconfig files lose the "config SYMBOL" entries.
staged_content() {
	local file=$1 sym args=() rc=0
	shift
	case $file in
	*.c | *.h)
		[ $# -gt 0 ] || { cat "$TOP/$file"; return; }
		for sym in "$@"; do
			args+=(-U"$sym")
		done
		# A removed block leaves its blank lines behind: squeeze them.
		unifdef -x 2 "${args[@]}" "$TOP/$file" | cat -s || rc=$?
		[ $rc = 0 ] || die "unifdef failed on $file"
		;;
	Kconfig*)
		printf '%s\n' "$@" | sed 's/^CONFIG_//' |
		awk 'NR == FNR { drop[$1] = 1; next }
		     /^(config|menuconfig|menu|endmenu|if|endif|source|comment|choice|endchoice)([ \t]|$)/ {
			skip = (($1 == "config" || $1 == "menuconfig") && ($2 in drop))
		     }
		     !skip' - "$TOP/$file" | cat -s |
		sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
		;;
	*/Makefile)
		# A selftests Makefile lists only the programs whose sources
		# are in the tree at this point of the series.
		stage_makefile "$file"
		;;
	*)
		cat "$TOP/$file"
		;;
	esac
}

# Print a selftests Makefile as it stands before its pending programs are
# added: a program is pending if its source (NAME.c, or NAME itself) is a
# file of this repository that no patch so far has added (STAGED_ADDED).
# Pending words leave the TEST_* lists; any other line that names a
# pending program or file goes, with the comment lines right above it.
stage_makefile() {
	local file=$1
	awk -v dir="$(dirname "$file")" -v top="$TOP" -v added=" $STAGED_ADDED " '
	function exists(f) { return system("test -f \"" top "/" f "\"") == 0 }
	function pending(w,   src) {
		sub(/^\$\(OUTPUT\)\//, "", w)
		if (w !~ /^[A-Za-z0-9_.-]+$/)
			return 0
		src = dir "/" w
		if (exists(src ".c"))
			src = src ".c"
		else if (!exists(src))
			return 0
		return index(added, " " src " ") == 0
	}
	function flush_comments(keep) {
		if (keep)
			printf "%s", comments
		comments = ""
	}
	# Logical lines: join continuations.
	/\\$/ { cont = cont $0 "\n"; next }
	{ line = cont $0; cont = "" }
	/^#/ { comments = comments line "\n"; next }
	/^TEST_[A-Z_]*[ \t]*[:+]?=/ {
		n = split(line, w, /[ \t]+/)
		out = w[1] " " w[2]
		kept = 0
		for (i = 3; i <= n; i++)
			if (!pending(w[i])) {
				out = out " " w[i]
				kept++
			}
		flush_comments(kept)
		if (kept)
			print out
		next
	}
	{
		n = split(line, w, /[ \t\n\\:]+/)
		for (i = 1; i <= n; i++)
			if (pending(w[i])) {
				flush_comments(0)
				next
			}
		flush_comments(1)
		print line
	}
	END { flush_comments(1) }' "$TOP/$file" | cat -s |
	sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}


# The files of a directory of this repository that git tracks or would
# track: build products that .gitignore names stay out of the series.
list_dir() {
	local files
	files=$(git -C "$TOP" ls-files --cached --others --exclude-standard \
		-- "$1" | sort -u)
	[ -n "$files" ] || die "$PATCHES/series: no files in $1"
	echo "$files" | tr '\n' ' '
}

# The files of this repository that a glob names, as list_dir.
list_glob() {
	git -C "$TOP" ls-files --cached --others --exclude-standard \
		-- ":(glob)$1" | sort -u | tr '\n' ' '
}

# Parse patches/series into parallel arrays:
#   S_PATCH[i]  patch file;  S_ADDS[i]  new files;  S_SYMS[i]  staging symbols
# "+dir/" adds the files under dir that no other line of the series names,
# so that a later patch can take some of them ("+dir/kvm_*").
parse_series() {
	local line tok i=0 n f claimed=' ' dirs=()
	S_PATCH=() S_ADDS=() S_SYMS=()
	[ -f "$PATCHES/series" ] || die "$PATCHES/series: no such file"
	while read -r line; do
		line=${line%%#*}
		# shellcheck disable=SC2086
		set -- $line
		[ $# -gt 0 ] || continue
		S_PATCH[i]=$1 S_ADDS[i]='' S_SYMS[i]='' dirs[i]=''
		shift
		for tok in "$@"; do
			case $tok in
			+*/) dirs[i]+=" ${tok#+}" ;;
			+*\**) n=$(list_glob "${tok#+}")
				[ -n "$n" ] ||
				die "$PATCHES/series: ${S_PATCH[i]}: no file ${tok#+}"
				S_ADDS[i]+=" $n" claimed+="$n " ;;
			+*) [ -f "$TOP/${tok#+}" ] ||
				die "$PATCHES/series: ${S_PATCH[i]}: no file ${tok#+}"
			    S_ADDS[i]+=" ${tok#+}" claimed+="${tok#+} " ;;
			CONFIG_*) S_SYMS[i]+=" $tok" ;;
			*) die "$PATCHES/series: ${S_PATCH[i]}: bad token '$tok'" ;;
			esac
		done
		i=$((i + 1))
	done < "$PATCHES/series"
	[ $i -gt 0 ] || die "$PATCHES/series is empty"
	n=$i
	for ((i = 0; i < n; i++)); do
		for tok in ${dirs[i]}; do
			for f in $(list_dir "$tok"); do
				case $claimed in *" $f "*) continue ;; esac
				S_ADDS[i]+=" $f"
			done
		done
	done
}

# Apply the series with plumbing and print the tip commit.
commit_series() {
	local idx tmp parent n i j f p info added=() later tree commit rc
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	idx=$tmp/index
	parent=$(git_base rev-parse base)
	GIT_INDEX_FILE=$idx git_base read-tree base
	n=${#S_PATCH[@]}
	for ((i = 0; i < n; i++)); do
		p=${S_PATCH[i]}
		case $p in
		/*) ;;
		*) p=$PATCHES/$p ;;
		esac
		[ -f "$p" ] || die "$PATCHES/series: no patch ${S_PATCH[i]}"
		git mailinfo "$tmp/msg" "$tmp/diff" < "$p" > "$tmp/info" ||
			die "$p: not a patch mail"
		grep -q '^Subject: ..' "$tmp/info" || die "$p: no Subject:"
		if grep -q "^diff " "$tmp/diff"; then
			# Exact application: no fuzz, no reduced context.  git
			# apply names the file and line; we name the patch.
			rc=0
			GIT_INDEX_FILE=$idx git_base apply --cached \
				--whitespace=error-all "$tmp/diff" 2> "$tmp/err" || rc=$?
			if [ $rc != 0 ]; then
				sed 's/^/    /' "$tmp/err" >&2
				die "patch $(basename "$p") does not apply to the tree (files: $(grep -o '^+++ b/[^ ]*' "$tmp/diff" | cut -c7- | tr '\n' ' '))"
			fi
		fi
		# shellcheck disable=SC2206
		added+=(${S_ADDS[i]})
		later=()
		for ((j = i + 1; j < n; j++)); do
			# shellcheck disable=SC2206
			later+=(${S_SYMS[j]})
		done
		STAGED_ADDED="${added[*]}"
		for f in "${added[@]}"; do
			staged_content "$f" "${later[@]}" > "$tmp/blob"
			blob=$(git_base hash-object -w "$tmp/blob")
			mode=100644
			[ -x "$TOP/$f" ] && mode=100755
			GIT_INDEX_FILE=$idx git_base update-index --add \
				--cacheinfo "$mode,$blob,$(tree_path "$f")"
		done
		tree=$(GIT_INDEX_FILE=$idx git_base write-tree)
		info=$tmp/info
		# Fixed dates: the same inputs give the same commits, so an
		# unchanged series leaves the work tree and the build alone.
		commit=$(GIT_AUTHOR_NAME=$(sed -n 's/^Author: //p' "$info") \
			 GIT_AUTHOR_EMAIL=$(sed -n 's/^Email: //p' "$info") \
			 GIT_AUTHOR_DATE='2024-11-18T00:00:00Z' \
			 GIT_COMMITTER_NAME=lab GIT_COMMITTER_EMAIL=lab@localhost \
			 GIT_COMMITTER_DATE='2024-11-18T00:00:00Z' \
			 git_base commit-tree "$tree" -p "$parent" \
				-F <(sed -n 's/^Subject: //p' "$info"; echo;
				     cat "$tmp/msg"))
		parent=$commit
	done
	echo "$parent"
}

setup_base
parse_series
tip=$(commit_series)
if [ $check_only = 1 ]; then
	say "series applies: tip $(git_base rev-parse --short "$tip") (not checked out)"
	exit 0
fi
git_base update-ref refs/heads/series "$tip"

if [ ! -e "$LINUX/.git" ]; then
	git_base worktree prune
	git_base worktree add -q --detach "$LINUX" "$tip"
else
	git -C "$LINUX" checkout -q -f --detach "$tip"
fi
# Nothing but the series may be in the patched tree.
git -C "$LINUX" clean -q -f -d -x
say "series: $(git_base rev-list --count base.."$tip") patches on $(git_base log -1 --format=%s base), tip $(git_base rev-parse --short "$tip")"
