#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Renumber the patch files of patches/ after the order of patches/series
# (NNNN-subject.patch, NNNN from 0001), and rewrite the series to match:
# for a developer who inserted, dropped or moved a patch.  Files named
# with a path outside patches/ (../MAINTAINERS.patch) keep their names.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$TOP/patches"
tmp=$(mktemp)
# shellcheck disable=SC2064
trap "rm -f '$tmp'" EXIT

# The new name of each patch, from its position and subject.
name_of() {
	printf '%04d-%s.patch' "$1" "$(sed -n 's/^Subject: \[PATCH\] //p' "$2" |
		head -n 1 | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9\n' '-' |
		sed 's/--*/-/g; s/^-//' | cut -c1-60 | sed 's/-$//')"
}

# Git-renames if git tracks the file, so that history follows it.
rename() {
	git -C "$TOP" mv "patches/$1" "patches/$2" 2>/dev/null || mv "$1" "$2"
}

# Two passes, through temporary names, so that no rename hits a file
# that is still to be renamed.
n=0
olds=() news=()
while IFS= read -r line; do
	case $line in
	"#"* | "" | ../* | /*) echo "$line" >> "$tmp"; continue ;;
	esac
	n=$((n + 1))
	old=${line%%[[:space:]]*}
	[ -f "$old" ] || die "patches/series: no patch $old"
	new=$(name_of "$n" "$old")
	olds+=("$old") news+=("$new")
	echo "$new${line#"$old"}" >> "$tmp"
done < series
for ((i = 0; i < n; i++)); do
	[ "${olds[i]}" = "${news[i]}" ] || rename "${olds[i]}" "${olds[i]}.renumber"
done
for ((i = 0; i < n; i++)); do
	[ "${olds[i]}" = "${news[i]}" ] || rename "${olds[i]}.renumber" "${news[i]}"
done
cat "$tmp" > series
say "patches/: $n patches numbered after patches/series"
