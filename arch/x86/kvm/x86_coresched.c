// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM x86 glue for core scheduling guest/host isolation (coresched=vm).
 *
 * The per-core guest/host state machine lives in kernel/sched/coresched.c.
 * vcpu_enter_guest(), which SVM and VMX share, calls into it through the
 * inline hooks of x86_coresched.h: wait for the core with IRQs enabled,
 * claim it with IRQs disabled right before entry, and give it back to the
 * host on every VM-exit that is not handled in guest mode, before IRQs are
 * enabled or any exit handler runs.  What needs KVM's knowledge lives
 * here: the VM's core scheduling cookie, which exits stay in guest mode,
 * and when a vCPU must stop waiting for the core and do host work instead.
 */
#include <linux/cpu.h>
#include <linux/entry-kvm.h>
#include <linux/kvm_host.h>
#include <linux/sched/coresched.h>

#include <asm/msr-trace.h>
#include <trace/events/ipi.h>

#include "lapic.h"
#include "trace.h"
#include "x86.h"
#include "x86_coresched.h"

/*
 * A VM gets a cookie of its own, so that its vCPUs never share a core with
 * another VM's; without it, VM isolation could only keep the host apart.
 */
int __kvm_coresched_init_vm(struct kvm *kvm)
{
	/*
	 * Where SMT can never be on there is nothing to keep apart.  Not
	 * where it is only off for now: a VM created while siblings are
	 * offline runs on when they come back, and without a cookie its
	 * vCPUs would share a core with another VM's, and with any host
	 * task, for which they could only wait.
	 */
	if (!cpu_smt_possible())
		return 0;

	kvm->arch.sched_core_cookie = sched_core_vm_cookie_create();
	return kvm->arch.sched_core_cookie ? 0 : -ENOMEM;
}

/* vCPU threads hold references of their own: they keep the cookie. */
void kvm_coresched_destroy_vm(struct kvm *kvm)
{
	sched_core_vm_cookie_put(kvm->arch.sched_core_cookie);
	kvm->arch.sched_core_cookie = 0;
}

/*
 * Before every entry, the thread running a vCPU takes the VM's cookie,
 * unless it has a task cookie already: the VMM's own choice (a cookie per
 * VM that it manages, or one shared with its I/O threads) stands.  Every
 * entry, not only each KVM_RUN: a VMM may clear the cookie of a thread in
 * KVM_RUN (PR_SCHED_CORE_SHARE_TO from a thread without one), which would
 * let the guest share a core with another VM's.  Clearing reschedules the
 * thread, so it comes back here before it enters again.
 */
void __kvm_coresched_adopt(struct kvm_vcpu *vcpu)
{
	sched_core_vm_cookie_adopt(vcpu->kvm->arch.sched_core_cookie);
}

/*
 * The exits KVM may handle in guest mode under coresched=vm, without
 * kicking the siblings, because their handlers touch nothing but the
 * vCPU's and its VM's own state:
 *
 *  - HLT with an event pending (handle_fastpath_hlt()): it reads the
 *    vCPU's pending events and re-enters; a HLT that is to block ends the
 *    slow way before it blocks.
 *  - A write to the x2APIC ICR of a fixed IPI to one destination
 *    (handle_fastpath_set_msr_irqoff()): it sets the target's IRR and a
 *    request, and sends an IPI to the target's CPU if the target is in
 *    guest mode.  If the target's thread is blocked, waking it is host
 *    scheduler code: kvm_vcpu_wake_up() takes the core before it, and the
 *    exit then ends the slow way.
 *
 * Everything else goes the slow way: a TSC deadline write, which may
 * start or cancel a host hrtimer; the VMX preemption timer, whose expiry
 * may start one (kvm_coresched_timer_fastpath_ok()); and any MSR write
 * while a tracepoint that its handler may fire is enabled (KVM's, the IPI
 * sent to a target in guest mode, or the host's own MSR write that sends
 * it in x2APIC mode or rings an AVIC doorbell), as that writes the host's
 * trace buffer.
 */
bool __kvm_coresched_msr_fastpath_ok(u32 msr)
{
	if (msr != APIC_BASE_MSR + (APIC_ICR >> 4))
		return false;

	return !trace_kvm_msr_enabled() && !trace_kvm_apic_enabled() &&
	       !trace_kvm_apic_ipi_enabled() &&
	       !trace_kvm_apic_accept_irq_enabled() &&
	       !trace_kvm_apicv_accept_irq_enabled() &&
	       !trace_kvm_avic_doorbell_enabled() &&
	       !trace_ipi_send_cpu_enabled() && !trace_write_msr_enabled();
}

/*
 * Host work that must not wait for the core: a reschedule or a signal (the
 * vCPU thread yields or returns to userspace), and KVM requests, which may
 * need this very vCPU to make progress (a TLB flush another vCPU waits for,
 * a kick).  vcpu_run() handles them and enters again.
 */
static bool kvm_coresched_host_work(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	return kvm_request_pending(vcpu) || __xfer_to_guest_mode_work_pending();
}

/*
 * The wait touches no guest memory: leave the SRCU read side for it, so
 * that a memslot update (synchronize_srcu() in a VMM thread) never waits
 * for the core, however long a sibling runs host code.  Whatever changed
 * meanwhile comes as a request, which the entry path checks afterwards.
 * A sibling that keeps the core for longer than the spin lasts makes the
 * vCPU give its CPU up, before the next attempt (kvm_coresched_sleep()).
 */
bool __kvm_coresched_wait(struct kvm_vcpu *vcpu)
{
	int ret;

	kvm_vcpu_srcu_read_unlock(vcpu);
	ret = sched_core_guest_wait(kvm_coresched_host_work, vcpu,
				    &vcpu->stat.coresched_wait_ns);
	kvm_vcpu_srcu_read_lock(vcpu);

	vcpu->arch.coresched_busy = ret == -EBUSY;
	return !ret;
}

/*
 * Preemptible, between two attempts to enter: sleep until the siblings
 * that kept the core at the last attempt leave host code, or until the
 * vCPU has an event: the thread waits where kvm_vcpu_kick() wakes a
 * blocked vCPU's.  The time is the guest's stolen time too
 * (record_steal_time()).
 */
void __kvm_coresched_sleep(struct kvm_vcpu *vcpu)
{
	vcpu->arch.coresched_busy = false;
	kvm_vcpu_srcu_read_unlock(vcpu);
	sched_core_guest_sleep(kvm_coresched_host_work, vcpu,
			       kvm_arch_vcpu_get_wait(vcpu),
			       &vcpu->stat.coresched_wait_ns);
	kvm_vcpu_srcu_read_lock(vcpu);
}
