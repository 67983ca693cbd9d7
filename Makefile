# SPDX-License-Identifier: GPL-2.0
#
# The lab of the core scheduling isolation series.  See README.md.
#
#   make run      build, boot on SMT under QEMU, demonstrate, report
#   make bench    the series' cost next to vanilla and nosmt: BENCHMARKS.md
#                 (QUICK=1: one short round into build/bench-quick/)
#   make test     build everything, run every test, "N passed, N failed"
#   make shell    interactive shell in the patched kernel (TOPO=, APPEND=)
#   make series   out/series/: the series for git am / git send-email
#   make check    style gates: checkpatch, sparse, W=1, shellcheck, rst
#   make vanilla  the base kernel, same config: build/vanilla/bzImage
#   make debug    the patched kernel with lockdep, KASAN...: build/debug/bzImage
#   make clean    remove kernel objects and outputs (keeps the base tree)
#   make distclean  remove build/ and out/

LAB := lab
TOPO ?= 1,1,2
APPEND ?=
KERNEL ?= build/bzImage

.PHONY: all deps tree kernel vanilla debug initramfs run bench test shell series \
	check clean distclean

all: kernel initramfs

deps:
	@$(LAB)/deps.sh

tree: deps
	@$(LAB)/tree.sh

kernel: tree
	@$(LAB)/build.sh patched

vanilla: tree
	@$(LAB)/build.sh vanilla

debug: tree
	@$(LAB)/build.sh debug

initramfs: kernel
	@$(LAB)/initramfs.sh

run: all
	@$(LAB)/run.sh

bench: all vanilla
	@$(LAB)/bench.sh $(if $(filter 1,$(QUICK)),--quick)

test:
	@$(LAB)/test.sh

shell: all
	@$(LAB)/boot.sh --kernel $(KERNEL) --topo $(TOPO) --append "$(APPEND)" shell

series: tree
	@$(LAB)/series.sh

check: kernel series
	@rm -f build/test/check.tsv
	@LAB_RESULTS=build/test/check.tsv $(LAB)/check.sh; \
	 LAB_RESULTS=build/test/check.tsv $(LAB)/tap.py summary

clean:
	rm -rf build/obj build/vanilla build/debug build/check build/bisect build/am \
		build/kselftest build/headers build/runs build/test build/*.gz \
		build/lab-selftest build/obj-w1 build/nohz build/hz250 \
		build/realvm-ticks build/realvm-hz250 \
		build/bzImage out

distclean:
	-git -C build/src/base worktree prune 2>/dev/null
	rm -rf build out
