/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM x86 hooks for core scheduling guest/host isolation (coresched=vm),
 * see x86_coresched.c.  Each hook is a static branch unless the kernel was
 * booted with coresched=vm.
 */
#ifndef __ARCH_X86_KVM_X86_CORESCHED_H__
#define __ARCH_X86_KVM_X86_CORESCHED_H__

#include <linux/kvm_host.h>
#include <linux/sched/coresched.h>

#ifdef CONFIG_SCHED_CORE_VM
int __kvm_coresched_init_vm(struct kvm *kvm);
void kvm_coresched_destroy_vm(struct kvm *kvm);
void __kvm_coresched_adopt(struct kvm_vcpu *vcpu);
bool __kvm_coresched_wait(struct kvm_vcpu *vcpu);
void __kvm_coresched_sleep(struct kvm_vcpu *vcpu);
bool __kvm_coresched_msr_fastpath_ok(u32 msr);

static inline int kvm_coresched_init_vm(struct kvm *kvm)
{
	return sched_core_vm_active() ? __kvm_coresched_init_vm(kvm) : 0;
}

/* Before each entry: the vCPU thread runs with its VM's cookie, or its VMM's. */
static __always_inline void kvm_coresched_adopt(struct kvm_vcpu *vcpu)
{
	if (sched_core_vm_active())
		__kvm_coresched_adopt(vcpu);
}

static __always_inline bool kvm_coresched_wait(struct kvm_vcpu *vcpu)
{
	return !sched_core_vm_active() || __kvm_coresched_wait(vcpu);
}

/* The last wait gave up on a busy core: give the CPU up for a while. */
static __always_inline void kvm_coresched_sleep(struct kvm_vcpu *vcpu)
{
	if (sched_core_vm_active() && vcpu->arch.coresched_busy)
		__kvm_coresched_sleep(vcpu);
}

/* The time the vCPU waited for its core, for its steal time. */
static __always_inline u64 kvm_coresched_wait_ns(struct kvm_vcpu *vcpu)
{
	return vcpu->stat.coresched_wait_ns;
}

/*
 * The L1D is shared by the core, and siblings run host code (or handle
 * interrupts while waiting or idle) between this CPU's guest runs: with
 * coresched=vm, have VMX flush it at every VM-entry, as with
 * vmentry_l1d_flush=always, whatever this vCPU did itself.
 */
static __always_inline bool kvm_coresched_enter(void)
{
	if (!sched_core_vm_active())
		return true;
	if (!sched_core_guest_enter())
		return false;
	kvm_set_cpu_l1tf_flush_l1d();
	return true;
}

static __always_inline void kvm_coresched_cancel(void)
{
	if (sched_core_vm_active())
		sched_core_guest_cancel();
}

static __always_inline void kvm_coresched_exit(void)
{
	if (sched_core_vm_active())
		sched_core_guest_exit();
}

/* False if the exit, handled in guest mode, needed host code after all. */
static __always_inline bool kvm_coresched_fastpath(void)
{
	if (!sched_core_vm_active())
		return true;
	if (!sched_core_guest_fastpath())
		return false;
	kvm_set_cpu_l1tf_flush_l1d();
	return true;
}

/* Whether a write to @msr may be handled in guest mode: the allow-list. */
static __always_inline bool kvm_coresched_msr_fastpath_ok(u32 msr)
{
	return !sched_core_vm_active() || __kvm_coresched_msr_fastpath_ok(msr);
}

/*
 * The VMX preemption timer's expiry may start a host hrtimer (a periodic
 * timer that the preemption timer cannot take): not in guest mode.
 */
static __always_inline bool kvm_coresched_timer_fastpath_ok(void)
{
	return !sched_core_vm_active();
}
#else
static inline int kvm_coresched_init_vm(struct kvm *kvm) { return 0; }
static inline void kvm_coresched_destroy_vm(struct kvm *kvm) { }
static inline void kvm_coresched_adopt(struct kvm_vcpu *vcpu) { }
static __always_inline bool kvm_coresched_wait(struct kvm_vcpu *vcpu) { return true; }
static __always_inline void kvm_coresched_sleep(struct kvm_vcpu *vcpu) { }
static __always_inline u64 kvm_coresched_wait_ns(struct kvm_vcpu *vcpu) { return 0; }
static __always_inline bool kvm_coresched_enter(void) { return true; }
static __always_inline void kvm_coresched_cancel(void) { }
static __always_inline void kvm_coresched_exit(void) { }
static __always_inline bool kvm_coresched_fastpath(void) { return true; }
static __always_inline bool kvm_coresched_msr_fastpath_ok(u32 msr) { return true; }
static __always_inline bool kvm_coresched_timer_fastpath_ok(void) { return true; }
#endif

#endif /* __ARCH_X86_KVM_X86_CORESCHED_H__ */
