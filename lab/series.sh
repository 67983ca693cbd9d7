#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Emit the series for the mailing list and prove that it is what we build:
#
#   out/series/0000-cover-letter.patch ... NNNN-*.patch
#
# then "git am" it onto a pristine work tree of the base and check that
# the result is the tree the lab builds, byte for byte.
#
# usage: series.sh [--bisect]
#   --bisect   also build every patch of the series in order (the kernel of
#              each step with the lab config, compiled and linked
#              incrementally, in build/bisect; see below for what each
#              step compiles)
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

bisect=0
[ "${1:-}" = --bisect ] && bisect=1

git_base() { git -C "$BASE_GIT" "$@"; }
tip=$(git_base rev-parse series)
dir=$OUT/series
rm -rf "$dir"
mkdir -p "$dir"

git_base format-patch -q --cover-letter --thread=shallow --base=base \
	-o "$dir" base.."$tip"

# The cover letter's subject and blurb come from patches/cover-letter.
cover=$dir/0000-cover-letter.patch
subject=$(sed -n '1s/^Subject: //p' "$TOP/patches/cover-letter")
python3 - "$cover" "$subject" "$TOP/patches/cover-letter" <<'EOF'
import sys
path, subject, src = sys.argv[1:]
blurb = open(src).read().split('\n', 2)[2].rstrip('\n')
text = open(path).read()
text = text.replace('*** SUBJECT HERE ***', subject)
text = text.replace('*** BLURB HERE ***', blurb)
open(path, 'w').write(text)
EOF

# git am onto the pristine base, in a scratch work tree.
am=$BUILD/am/src/linux
git_base worktree remove --force "$am" 2>/dev/null || rm -rf "$am"
git_base worktree prune
git_base worktree add -q --detach "$am" base
mails=()
for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
	[ "${p##*/}" = 0000-cover-letter.patch ] || mails+=("$p")
done
if ! git -C "$am" -c user.name=lab -c user.email=lab@localhost \
	am -q --whitespace=error-all "${mails[@]}" > "$BUILD/am.log" 2>&1; then
	sed 's/^/    /' "$BUILD/am.log" >&2
	git -C "$am" am --abort 2>/dev/null || true
	die "git am of $dir does not apply to the pristine base"
fi
n=$(git -C "$am" rev-list --count base..HEAD)
# Patch by patch, the same trees as the lab's commits: building those is
# building the mails.
[ "$(git -C "$am" log --format=%T base..HEAD)" = "$(git_base log --format=%T base.."$tip")" ] ||
	die "git am of the series does not give the trees the lab builds, patch by patch"
say "series: $n patches in $dir; git am onto $(git_base log -1 --format=%s base) gives the lab's tree"

if [ $bisect = 1 ]; then
	# Every patch builds on its own: at each patch, olddefconfig (its
	# Kconfig drops what it does not know yet), then the kernel is
	# compiled and linked (vmlinux) incrementally from the patch before.
	# kbuild compiles the sources the patch changed and the objects that
	# use the config symbols it changed.  Of the objects that include a
	# header it changed, lab/bisect-select.py chooses those the change
	# may break, by the names it changes (a heuristic: the script says
	# what it cannot see); the header is made to look old and those
	# objects are deleted, so that only they are compiled.  The vmlinux
	# of such a patch is linked from objects compiled at different
	# patches: the link shows that every symbol is defined, not a kernel
	# to boot.  At the tip the headers are made new again and the tip is
	# compiled whole, and bzImage, which only packs vmlinux, is made.
	# The objects stay in build/bisect between runs; a patch whose tree
	# (with this config) built before is not built again, so that after
	# an edit only the patches from the first changed one on are checked,
	# each from its predecessor's objects (.lab-at: the commit they were
	# compiled at; .lab-pending: a run stopped between making headers
	# look old and deleting the objects, after which the next patch is
	# compiled as kbuild alone would).  The compiler's objects are shared
	# through ccache with the vanilla kernel (the base's) and the patched
	# one (the tip's).  A work tree of its own that stays: checking out
	# the next patch touches only the files it changes.
	src=$BUILD/bisect/src/linux obj=$BUILD/bisect/obj
	if ! git -C "$src" rev-parse -q --verify HEAD > /dev/null 2>&1; then
		rm -rf "$src"
		git_base worktree prune
		git_base worktree add -q --detach "$src" base
	fi
	mkdir -p "$obj"
	verified=$obj/.lab-verified old=$obj/.lab-old-headers
	touch "$verified" "$old"
	# touch_in DIR ARGS...: touch ARGS on the files named on stdin that
	# exist in DIR (a header the patch deletes stays deleted)
	touch_in() {
		local d=$1 f
		shift
		while read -r f; do
			[ ! -f "$d/$f" ] || touch "$@" "$d/$f"
		done
	}
	# headers_new: the headers made to look old look new again, so that
	# kbuild compiles everything that includes them
	headers_new() {
		sort -u "$old" | touch_in "$src"
		: > "$old"
	}
	cfg=$(sha256sum < "$BUILD/obj/.config" | cut -d' ' -f1)
	lab=$(cat "$LAB/series.sh" "$LAB/bisect-select.py" | sha256sum | cut -d' ' -f1)
	i=0 total=$SECONDS built=0
	for c in $(git_base rev-list --reverse base.."$tip"); do
		i=$((i + 1))
		key="$(git_base rev-parse "$c^{tree}") $cfg $lab"
		[ "$c" != "$tip" ] || key="$key whole"
		if [ $built = 0 ] && grep -qxF "$key" "$verified"; then
			say "build-check $i/$n: built before: $(git_base log -1 --format=%s "$c")"
			continue
		fi
		from=$(cat "$obj/.lab-at" 2> /dev/null) || from=
		if [ -f "$obj/.lab-pending" ] || [ -z "$from" ]; then
			headers_new
			rm -f "$obj/.lab-pending"
			from=
		fi
		git -C "$src" checkout -q --detach "$c"
		cp "$BUILD/obj/.config" "$obj/.config"
		start=$SECONDS
		if [ "$c" = "$tip" ]; then
			headers_new
			what="the tip, whole"
		elif [ -z "$from" ]; then
			what="as kbuild alone would"
		else
			"$LAB/bisect-select.py" "$obj" "$src" "$from" "$c" \
				> "$obj/select-$i" 2> "$obj/select-$i.log" ||
				die "patch $i: bisect-select.py failed: $(cat "$obj/select-$i.log")"
			touch "$obj/.lab-pending"
			awk '$1 == "header" { print $2 }' "$obj/select-$i" |
				tee -a "$old" | touch_in "$src" -d @946684800
			awk '$1 == "target" { print $2 }' "$obj/select-$i" |
				(cd "$obj" && xargs -r rm -f --)
			what="$(awk '$1 == "target"' "$obj/select-$i" | wc -l) chosen for its headers"
		fi
		# Deleted objects are compiled again whatever happens next.
		echo "$c" > "$obj/.lab-at"
		rm -f "$obj/.lab-pending"
		if ! make -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
			-j"$JOBS" olddefconfig vmlinux > "$obj/build-$i.log" 2>&1; then
			tail -n 20 "$obj/build-$i.log" >&2
			die "patch $i of the series does not build: $(git_base log -1 --format=%s "$c")"
		fi
		# The objects compiled (CC and assembler), for the record.
		say "build-check $i/$n: $(grep -c -E '^  (CC|AS) ' "$obj/build-$i.log") objects compiled ($what), linked, in $((SECONDS - start)) s: $(git_base log -1 --format=%s "$c")"
		echo "$key" >> "$verified"
		built=1
	done
	if [ $built = 1 ] && ! make -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
		-j"$JOBS" bzImage > "$obj/build-bzImage.log" 2>&1; then
		tail -n 20 "$obj/build-bzImage.log" >&2
		die "the tip of the series does not build a bzImage"
	fi
	say "every patch of the series builds ($((SECONDS - total)) s)"
fi
