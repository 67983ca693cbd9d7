// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM x86 glue for core scheduling guest/host isolation.
 *
 * The generic per-core state machine lives in kernel/sched/coresched.c;
 * this file connects it to the VM-entry and VM-exit paths shared by SVM
 * and VMX, so that both vendors take the same code.
 */
#include <linux/kvm_host.h>
#include <linux/sched/coresched.h>

#include "x86.h"
