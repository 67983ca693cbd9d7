#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest's initramfs, build/initramfs.cpio.gz:
#   /init, /lab/*.sh       lab/guest/
#   /bin/busybox + links   busybox-static
#   /selftests/<suite>/    the kselftests of the series' tree, static
#   /selftests/kvm/x86_64/coresched_*  the series' KVM selftests
#   /lab/bin/              the lab's programs of lab/src/, on the KVM
#                          selftest library or the coresched selftests'
#                          helpers of the series' tree
#   /usr/bin/...           cyclictest, hackbench, perf, stress-ng from
#                          Debian, with the shared libraries they load
#   /lab/splat.re          the splat regex (lab/splat.re)
#
# and the directories that boot.sh --extra lays over it for the runs that
# use them (lab/runs.list):
#   build/kvm-selftests/   the base tree's KVM selftests
#   build/realvm/          a real VMM and its guest: Debian's QEMU with its
#                          libraries and firmware, the lab's kernel and an
#                          initramfs for the guest (lab/guest/realvm.sh)
#
# The kselftests are built against the series' UAPI headers; one image
# serves the patched, debug and vanilla kernels alike.
set -euo pipefail
# shellcheck source=lab/lib.sh
. "$(dirname "$0")/lib.sh"

# Suites built from the tree and put in the image.  Tests of the suites are
# their TEST_GEN_PROGS; the guest scripts choose which to run.
SUITES=${SUITES:-"coresched sched"}
TOOLS=(/usr/bin/cyclictest /usr/bin/hackbench /usr/bin/perf /usr/bin/stress-ng)
QEMU=/usr/bin/qemu-system-x86_64
# The firmware QEMU loads for lab/guest/realvm.sh's machine (pc, -kernel,
# -nodefaults -vga none, -accel kvm), as strace showed it open them.
QEMU_FIRMWARE=(/usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin
	       /usr/share/qemu/kvmvapic.bin)

# copy_with_libs ROOT FILE...: FILEs into ROOT/usr/bin, with the shared
# libraries they load at the paths the loader expects.
copy_with_libs() {
	local root=$1 f lib
	shift
	mkdir -p "$root/usr/bin"
	for f in "$@"; do
		cp "$f" "$root/usr/bin/"
		ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
	done | sort -u | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	# The loader path is a link on the host; the image needs the file.
	[ -e "$root/lib64/ld-linux-x86-64.so.2" ] ||
		die "the dynamic loader was not copied"
}

# cpio_gz DIR FILE: DIR's files as a gzipped newc archive.
cpio_gz() {
	(cd "$1" && find . -print0 | cpio --null -o -H newc --quiet) |
		gzip -1 > "$2.tmp"
	mv "$2.tmp" "$2"
}

# The real VMM's directory, build/realvm, with a stamp of its own: it holds
# the lab's kernel (the guest's), which changes when the image does not.
build_realvm() {
	local dir=$BUILD/realvm kernel=$BUILD/bzImage stamp l2 f
	[ -f "$kernel" ] || die "no kernel $kernel for the real VMM's guest: build it first"
	stamp=$(hash_inputs "$kernel" "$QEMU" "${QEMU_FIRMWARE[@]}" /bin/busybox \
		"$LAB/src" "$LAB/guest/l2" "$LAB/initramfs.sh")
	if [ -f "$dir.stamp" ] && [ "$(cat "$dir.stamp")" = "$stamp" ]; then
		say "the real VMM's directory is up to date ($dir)"
		return
	fi
	say "building the real VMM's directory: QEMU, firmware, the guest's kernel and initramfs"
	rm -rf "$dir" "$dir.stamp"
	mkdir -p "$dir/realvm" "$dir/usr/bin"
	copy_with_libs "$dir" "$QEMU"
	for f in "${QEMU_FIRMWARE[@]}"; do
		mkdir -p "$dir$(dirname "$f")"
		cp -L "$f" "$dir$f"
	done
	gcc -O2 -Wall -Wextra -Werror -static -o "$dir/usr/bin/vmm-cookie" \
		"$LAB/src/vmm-cookie.c" || die "building vmm-cookie failed"
	cp "$kernel" "$dir/realvm/bzImage"

	# The guest's initramfs: busybox, its /init and the work it does.
	# Small: with hackbench and its libraries in it (2.5 MB, not 1.4),
	# the guest's kernel crashed in two runs of six while it booted (an
	# invalid opcode, a bad page fault, in PID 1 before /init): a fault of
	# nested SVM under TCG that a longer boot meets more often.
	l2=$dir-l2
	rm -rf "$l2"
	mkdir -p "$l2"/{bin,dev,proc,sys,tmp}
	mknod -m 600 "$l2/dev/console" c 5 1
	cp /bin/busybox "$l2/bin/busybox"
	install -m 755 "$LAB/guest/l2/init" "$l2/init"
	gcc -O2 -Wall -Wextra -Werror -static -o "$l2/bin/realvm-work" \
		"$LAB/src/realvm-work.c" || die "building realvm-work failed"
	cpio_gz "$l2" "$dir/realvm/initramfs.cpio.gz"
	rm -rf "$l2"
	echo "$stamp" > "$dir.stamp"
	say "real VMM: $dir ($(du -sh "$dir" | cut -f1))"
}
build_realvm

img=$BUILD/initramfs.cpio.gz
ksel=$BUILD/kselftest
commit=$(git -C "$LINUX" rev-parse HEAD)
stamp="$commit $SUITES $(hash_inputs "$LAB/guest" "$LAB/src" "$LAB/initramfs.sh" \
	"$LAB/kvm-selftests.list" "$LAB/splat.re" "${TOOLS[@]}")"
if [ -f "$img" ] && [ -f "$img.stamp" ] && [ "$(cat "$img.stamp")" = "$stamp" ]; then
	say "initramfs is up to date ($img)"
	exit 0
fi

# A build that fails leaves no image behind, not even an older one.
rm -f "$img" "$img.stamp"

say "building kselftests: $SUITES"
hdr=$BUILD/headers
make -s -C "$LINUX" O="$hdr" headers_install >/dev/null
rm -rf "$ksel"
for s in $SUITES; do
	mkdir -p "$ksel/$s"
	make -s -C "$LINUX/tools/testing/selftests/$s" \
		OUTPUT="$ksel/$s" KHDR_INCLUDES="-isystem $hdr/usr/include" \
		CC="ccache gcc" LDFLAGS=-static -j"$JOBS" >/dev/null ||
		die "building selftests/$s failed"
done

# The base tree's KVM selftests of lab/kvm-selftests.list, for the KVM
# regression runs only: a directory that boot.sh --extra lays over the
# image, so that the other runs do not unpack 40 MB they never use.
kvmsel=$BUILD/kvm-selftests
say "building the KVM selftests of lab/kvm-selftests.list"
mkdir -p "$ksel/kvm"
make -s -C "$LINUX/tools/testing/selftests/kvm" OUTPUT="$ksel/kvm" \
	KHDR_INCLUDES="-isystem $hdr/usr/include" CC="ccache gcc" \
	LDFLAGS=-static -j"$JOBS" >/dev/null 2>&1 ||
	die "building selftests/kvm failed"
rm -rf "$kvmsel"
mkdir -p "$kvmsel/lab" "$kvmsel/selftests/kvm"
cp "$LAB/kvm-selftests.list" "$kvmsel/lab/"
sed 's/#.*//' "$LAB/kvm-selftests.list" | awk 'NF { print $1 }' |
while read -r t; do
	[ -x "$ksel/kvm/$t" ] || die "lab/kvm-selftests.list: $t was not built"
	mkdir -p "$kvmsel/selftests/kvm/$(dirname "$t")"
	strip -o "$kvmsel/selftests/kvm/$t" "$ksel/kvm/$t"
done

# The lab's programs: those on the KVM selftest library compiled as the
# library is (selftests/kvm/Makefile) and linked with its objects, the
# others with the helpers of the coresched selftests and cgroup_util.
labbin=$BUILD/lab-bin
kvmdir=$LINUX/tools/testing/selftests/kvm
csdir=$LINUX/tools/testing/selftests/coresched
say "building the lab's programs (lab/src)"
rm -rf "$labbin"
mkdir -p "$labbin"
mapfile -t libkvm < <(find "$ksel/kvm/lib" -name '*.o' | sort)
[ ${#libkvm[@]} -gt 0 ] || die "no KVM selftest library objects in $ksel/kvm/lib"
for src in "$LAB"/src/*.c; do
	case ${src##*/} in
	realvm-work.c | vmm-cookie.c) continue ;;	# the real VM's, above
	esac
	if grep -q '"kvm_util.h"' "$src"; then
		ccache gcc -O2 -g -std=gnu99 -Wall -D_GNU_SOURCE -DCONFIG_64BIT \
			-fno-builtin-memcmp -fno-builtin-memcpy -fno-builtin-memset \
			-fno-builtin-strnlen -fno-stack-protector -fno-PIE \
			-fno-strict-aliasing -I"$LINUX/tools/include" \
			-I"$LINUX/tools/arch/x86/include" -isystem "$hdr/usr/include" \
			-I"$kvmdir/include" -I"$kvmdir/include/x86_64" -I"$kvmdir/x86_64" \
			-I"$kvmdir/.." \
			-static -no-pie -pthread "$src" "${libkvm[@]}" -ldl \
			-o "$labbin/$(basename "$src" .c)"
	else
		ccache gcc -O2 -g -Wall -isystem "$hdr/usr/include" \
			-I"$csdir" -static -pthread "$src" "$csdir"/cs_util.c \
			"$csdir"/cs_overlap.c "$csdir"/cs_verdict.c \
			"$csdir"/../cgroup/cgroup_util.c \
			-o "$labbin/$(basename "$src" .c)"
	fi || die "building $src failed"
done

root=$(mktemp -d)
# shellcheck disable=SC2064
trap "rm -rf '$root'" EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,root,lab,etc}
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

cp /bin/busybox "$root/bin/busybox"
install -m 755 "$LAB/guest/init" "$root/init"
cp "$LAB"/guest/*.sh "$LAB/guest/motd" "$LAB/guest/tests.list" "$LAB/splat.re" \
	"$root/lab/"
mkdir -p "$root/lab/bin"
for p in "$labbin"/*; do
	strip -o "$root/lab/bin/${p##*/}" "$p"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"

# Every executable the suites built (TEST_GEN_PROGS and helpers).
for s in $SUITES; do
	mkdir -p "$root/selftests/$s"
	find "$ksel/$s" -maxdepth 1 -type f -perm -u+x \
		-exec cp {} "$root/selftests/$s/" \;
	[ -n "$(ls "$root/selftests/$s")" ] || die "selftests/$s built nothing"
done

# The series' own KVM selftests (kvm/x86_64/coresched_*) belong in every
# run, not only in the overlay of the base tree's.
mkdir -p "$root/selftests/kvm/x86_64"
find "$ksel/kvm/x86_64" -maxdepth 1 -type f -perm -u+x -name 'coresched_*' |
while read -r t; do
	strip -o "$root/selftests/kvm/x86_64/${t##*/}" "$t"
done
[ -n "$(ls "$root/selftests/kvm/x86_64")" ] ||
	die "no kvm/x86_64/coresched_* selftest was built"

# Debian's tools with their libraries, at the paths the loader expects.
copy_with_libs "$root" "${TOOLS[@]}"

cpio_gz "$root" "$img"
echo "$stamp" > "$img.stamp"
say "initramfs: $img ($(du -h "$img" | cut -f1))"
