#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Write the series back from a work tree's commits: the round trip of
# tree.sh, for editing upstream files with git instead of by hand.
#
#   make tree                       # build/src/linux at the series' tip
#   cd build/src/linux && git switch -c work
#   ...edit, git commit --fixup=..., git rebase -i --autosquash base...
#   lab/export.sh [build/src/linux]
#
# For each commit base..HEAD, in order: its message and author become the
# header of the patch that patches/series names at that position (a commit
# beyond the listed ones gets a new file named after its subject, appended
# to patches/series with the new files it adds); its diff of upstream files
# becomes the patch's diff; the new files at HEAD are copied back to this
# repository.  Then tree.sh regenerates the series and the script checks
# that its tip is the tree exported, byte for byte, and that each
# intermediate commit is the one tree.sh cuts (unifdef), naming any that
# differ.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

wt=${1:-$LINUX}
g() { git -C "$wt" "$@"; }
repo_path() {
	case $1 in
	kernel/Kconfig.coresched) echo Kconfig.coresched ;;
	*) echo "$1" ;;
	esac
}

mapfile -t commits < <(g rev-list --reverse base..HEAD)
[ ${#commits[@]} -gt 0 ] || die "no commits on base in $wt"
mapfile -t lines < <(grep -v -E '^\s*(#|$)' "$TOP/patches/series")

# Files the series adds: present at HEAD, absent from base.
mapfile -t newfiles < <(g diff --name-only --diff-filter=A base HEAD)
is_new() {
	local f
	for f in "${newfiles[@]}"; do [ "$f" = "$1" ] && return 0; done
	# Files the series rewrites whole (the admin guide) count as ours.
	grep -q -E "(^|[[:space:]])\+$(repo_path "$1")([[:space:]]|$)" "$TOP/patches/series"
}

i=0
for c in "${commits[@]}"; do
	if [ $i -lt ${#lines[@]} ]; then
		name=$(echo "${lines[i]}" | awk '{ print $1 }')
	else
		subj=$(g log -1 --format=%s "$c")
		name=$(printf '%04d-%s.patch' $((i + 1)) \
			"$(echo "$subj" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9\n' '-' |
			   sed 's/--*/-/g; s/^-//; s/-$//' | cut -c1-52)")
		adds=$(g diff --name-only --diff-filter=A "$c^" "$c" |
		       while read -r f; do echo "+$(repo_path "$f")"; done | tr '\n' ' ')
		printf '%s\t%s\n' "$name" "$adds" >> "$TOP/patches/series"
		say "new patch $name"
	fi
	case $name in
	/*) p=$name ;;
	*) p=$TOP/patches/$name ;;
	esac
	upstream=()
	while read -r f; do
		is_new "$f" || upstream+=("$f")
	done < <(g diff --name-only "$c^" "$c")
	{
		g log -1 --format='From: %an <%ae>%nSubject: [PATCH] %s%n%n%b' "$c" |
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
		echo '---'
		if [ ${#upstream[@]} -gt 0 ]; then
			g diff --no-color "$c^" "$c" -- "${upstream[@]}"
		fi
	} > "$p"
	i=$((i + 1))
done
[ $i -ge ${#lines[@]} ] || warn "patches/series lists more patches than $wt has commits"

for f in "${newfiles[@]}"; do
	dst=$TOP/$(repo_path "$f")
	mkdir -p "$(dirname "$dst")"
	g show "HEAD:$f" > "$dst"
done
# The whole-file rewrites of upstream files (documentation) too.
grep -o -E '\+[^ 	]+' "$TOP/patches/series" | cut -c2- | while read -r f; do
	case $f in */) continue ;; esac
	t=$f
	[ "$f" = Kconfig.coresched ] && t=kernel/Kconfig.coresched
	g cat-file -e "HEAD:$t" 2>/dev/null && g show "HEAD:$t" > "$TOP/$f"
done

say "exported ${#commits[@]} commits; regenerating the series to compare"
head=$(g rev-parse HEAD)
"$LAB/tree.sh" >/dev/null
[ "$(git -C "$BASE_GIT" rev-parse "series^{tree}")" = "$(g rev-parse "$head^{tree}")" ] ||
	die "the regenerated series differs from $wt at HEAD: git -C $BASE_GIT diff series $head"
mapfile -t regen < <(git -C "$BASE_GIT" rev-list --reverse base..series)
for ((j = 0; j < ${#commits[@]}; j++)); do
	[ "$(git -C "$BASE_GIT" rev-parse "${regen[j]}^{tree}")" = \
	  "$(g rev-parse "${commits[j]}^{tree}")" ] ||
		warn "patch $((j + 1)) as regenerated differs from your commit: $(g log -1 --format=%s "${commits[j]}")"
done
say "patches/ matches $wt"
