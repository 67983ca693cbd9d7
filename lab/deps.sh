#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what the lab needs from Debian's archive.  Idempotent and quick
# when everything is present, so every make target can call it.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

pkgs=(
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod
	ccache git qemu-system-x86 busybox-static rt-tests linux-perf
	sparse shellcheck python3-docutils gnuplot-nox unifdef xz-utils
	stress-ng rsync python3-ply python3-git
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done

pkg=$(base_pkg)
ver=$(base_ver)
have=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)

if [ ${#missing[@]} -eq 0 ] && [ "$have" = "$ver" ]; then
	exit 0
fi

[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]} $pkg"
export DEBIAN_FRONTEND=noninteractive
say "apt-get update"
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
	say "apt-get install ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$have" != "$ver" ]; then
	if apt-cache madison "$pkg" | awk '{ print $3 }' | grep -qxF "$ver"; then
		say "apt-get install $pkg=$ver"
		apt-get install -y -qq --no-install-recommends \
			--allow-downgrades "$pkg=$ver" >/dev/null
	else
		newest=$(apt-cache madison "$pkg" | awk '{ print $3 }' |
			 sort -V | tail -n 1)
		[ -n "$newest" ] || die "$pkg is not in the archive"
		shout "pinned base $pkg=$ver is no longer in the archive" \
		      "falling back to the newest: $pkg=$newest" \
		      "the series may need a refresh; update lab/base-version"
		apt-get install -y -qq --no-install-recommends "$pkg=$newest" \
			>/dev/null
	fi
fi
