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
#              each step with the lab config, incrementally, in build/bisect)
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
am=$BUILD/bisect/src/linux
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
[ "$(git -C "$am" rev-parse 'HEAD^{tree}')" = "$(git_base rev-parse "$tip^{tree}")" ] ||
	die "git am of the series does not give the tree the lab builds"
say "series: $n patches in $dir; git am onto $(git_base log -1 --format=%s base) gives the lab's tree"

if [ $bisect = 1 ]; then
	obj=$BUILD/bisect/obj
	mkdir -p "$obj"
	cp "$BUILD/obj/.config" "$obj/.config"
	# The trees of every step and the config: if they all built before,
	# they build now (a second "make test" rebuilds nothing).
	stamp="$(git -C "$am" log --format=%T base..HEAD | tr '\n' ' ')"
	stamp+=$(sha256sum < "$obj/.config")
	if [ -f "$obj/.lab-verified" ] && [ "$(cat "$obj/.lab-verified")" = "$stamp" ]; then
		say "every patch of the series built before: nothing to check"
		exit 0
	fi
	rm -f "$obj/.lab-verified"
	i=0
	for c in $(git -C "$am" rev-list --reverse base..HEAD); do
		i=$((i + 1))
		git -C "$am" checkout -q --detach "$c"
		say "build-check $i/$n: $(git -C "$am" log -1 --format=%s)"
		if ! make -s -C "$am" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
			-j"$JOBS" olddefconfig bzImage > "$obj/build-$i.log" 2>&1; then
			tail -n 20 "$obj/build-$i.log" >&2
			die "patch $i of the series does not build: $(git -C "$am" log -1 --format=%s)"
		fi
	done
	echo "$stamp" > "$obj/.lab-verified"
fi
