// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM x86 glue for core scheduling guest/host isolation (coresched=vm).
 *
 * The per-core guest/host state machine lives in kernel/sched/coresched.c.
 * vcpu_enter_guest(), which SVM and VMX share, calls into it through the
 * inline hooks of x86.h: wait for the core with IRQs enabled, claim it with
 * IRQs disabled right before entry, and give it back to the host on every
 * VM-exit that is not handled in the fastpath, before IRQs are enabled or
 * any exit handler runs.  What needs KVM's knowledge lives here: the VM's
 * core scheduling cookie, and when a vCPU must stop waiting for the core
 * and go and do host work instead.
 */
#include <linux/entry-kvm.h>
#include <linux/kvm_host.h>
#include <linux/sched/coresched.h>

#include "x86.h"

/*
 * A VM gets a cookie of its own, so that its vCPUs never share a core with
 * another VM's; without it, VM isolation could only keep the host apart.
 */
int __kvm_coresched_init_vm(struct kvm *kvm)
{
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
 * The thread running a vCPU takes the VM's cookie, unless it has a task
 * cookie already: the VMM's own choice (a cookie per VM that it manages,
 * or one shared with its I/O threads) stands.
 */
void __kvm_coresched_vcpu_run(struct kvm_vcpu *vcpu)
{
	sched_core_vm_cookie_adopt(vcpu->kvm->arch.sched_core_cookie);
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
 */
bool __kvm_coresched_wait(struct kvm_vcpu *vcpu)
{
	bool ret;

	kvm_vcpu_srcu_read_unlock(vcpu);
	ret = sched_core_guest_wait(kvm_coresched_host_work, vcpu);
	kvm_vcpu_srcu_read_lock(vcpu);

	return ret;
}
