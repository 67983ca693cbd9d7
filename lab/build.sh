#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a kernel of the lab.
#
# usage: build.sh patched|vanilla|debug|nohz|hz250 [make args...]
#
#   patched  the series' tree with lab/config/base.config  -> build/bzImage
#   vanilla  the base tree, same config                     -> build/vanilla/bzImage
#   debug    the series' tree with base + debug.config      -> build/debug/bzImage
#   nohz     the series' tree with base + nohz.config       -> build/nohz/bzImage
#   hz250    the series' tree with base + hz250.config      -> build/hz250/bzImage
#            (these two for lab/realvm-ticks.sh only; make test builds neither)
#
# The config is "make tinyconfig" plus the fragments; every line of a
# fragment must survive into the final .config, or the build stops (a
# dependency silently dropping an option would void the tests).
# A stamp of the tree's commit and the fragments skips an unchanged build;
# a build that fails leaves no image behind, not even an older one.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: build.sh patched|vanilla|debug|nohz|hz250}
shift
frags=("$LAB/config/base.config")
case $flavour in
patched) src=$LINUX dir=$BUILD; frags+=("$LAB/config/series.config") ;;
vanilla) src=$VANILLA dir=$BUILD/vanilla ;;
debug)   src=$LINUX dir=$BUILD/debug
	 frags+=("$LAB/config/series.config" "$LAB/config/debug.config") ;;
nohz)    src=$LINUX dir=$BUILD/nohz
	 frags+=("$LAB/config/series.config" "$LAB/config/nohz.config") ;;
hz250)   src=$LINUX dir=$BUILD/hz250
	 frags+=("$LAB/config/series.config" "$LAB/config/hz250.config") ;;
*) die "build.sh: unknown flavour $flavour" ;;
esac
obj=$dir/obj
mkdir -p "$obj"
[ "$flavour" != vanilla ] || vanilla_tree || die "build.sh: no vanilla tree"

kmake() {
	make -s -C "$src" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
		-j"$JOBS" "$@"
}

# Same commit, same fragments, same make arguments: nothing to do.
commit=$(git -C "$src" rev-parse HEAD)
stamp="$commit $(hash_inputs "${frags[@]}" "$LAB/build.sh") $*"
if [ -f "$dir/bzImage" ] && [ -f "$obj/.lab-stamp" ] &&
   [ "$(cat "$obj/.lab-stamp")" = "$stamp" ]; then
	say "$flavour kernel is up to date ($dir/bzImage)"
	exit 0
fi

# From here on the old image is gone: a build that fails leaves none for
# the runs to boot in its place.
rm -f "$dir/bzImage" "$obj/.lab-stamp"

say "configuring the $flavour kernel"
kmake tinyconfig >/dev/null
KCONFIG_CONFIG=$obj/.config "$src/scripts/kconfig/merge_config.sh" -m -O "$obj" \
	"$obj/.config" "${frags[@]}" >/dev/null
kmake olddefconfig >/dev/null

# A later fragment may override an earlier one (debug.config picks full
# preemption): check what the last fragment to mention a symbol asked for,
# "# CONFIG_X is not set" included.
missing=$(cat "${frags[@]}" |
	  sed -n -E 's/^(CONFIG_[A-Z0-9_]+)=.*/\1 &/p; s/^# (CONFIG_[A-Z0-9_]+) is not set$/\1 &/p' |
	  awk '{ k = $1; sub(/^[^ ]+ /, ""); last[k] = $0 } END { for (k in last) print last[k] }' |
	  sort |
	  while read -r line; do
		  case $line in
		  ("# "*) sym=${line#\# }
			 ! grep -q "^${sym%% *}=" "$obj/.config" || echo "  $line" ;;
		  (*) grep -qxF "$line" "$obj/.config" || echo "  $line" ;;
		  esac
	  done)
[ -z "$missing" ] || die "these config lines did not survive olddefconfig:
$missing"

say "building the $flavour kernel ($(git -C "$src" log -1 --format=%s))"
start=$SECONDS
kmake "$@" bzImage
cp "$obj/arch/x86/boot/bzImage" "$dir/bzImage"
echo "$stamp" > "$obj/.lab-stamp"
say "$flavour kernel built in $((SECONDS - start)) s: $dir/bzImage"
