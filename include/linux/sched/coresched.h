/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Core scheduling isolation: the interface between the scheduler's core
 * scheduling and its users (cgroups, hypervisors).  See
 * Documentation/admin-guide/hw-vuln/core-scheduling.rst.
 */
#ifndef _LINUX_SCHED_CORESCHED_H
#define _LINUX_SCHED_CORESCHED_H

#include <linux/jump_label.h>
#include <linux/types.h>

/*
 * What the coresched= boot parameter chose.  The mode is fixed once the
 * kernel has parsed its command line.
 */
enum sched_core_mode {
	SCHED_CORE_MODE_OFF,	/* no cookies: prctl and cgroups get -ENODEV */
	SCHED_CORE_MODE_ON,	/* cookies from prctl() and cgroup domains */
	SCHED_CORE_MODE_VM,	/* on, plus guest/host isolation for VMs */
};

#ifdef CONFIG_SCHED_CORE

extern enum sched_core_mode sched_core_mode;

/* Whether cookies may be created at all. */
static inline bool sched_core_available(void)
{
	return sched_core_mode != SCHED_CORE_MODE_OFF;
}

#else /* !CONFIG_SCHED_CORE */

#define sched_core_mode SCHED_CORE_MODE_OFF

static inline bool sched_core_available(void)
{
	return false;
}

#endif /* CONFIG_SCHED_CORE */

#ifdef CONFIG_SCHED_CORE_VM

DECLARE_STATIC_KEY_FALSE(sched_core_vm_key);
DECLARE_STATIC_KEY_FALSE(sched_core_vm_strict_key);

/* coresched=vm is in force: hypervisors call the functions below. */
static __always_inline bool sched_core_vm_active(void)
{
	return static_branch_unlikely(&sched_core_vm_key);
}

/* coresched=vm,strict: interrupts of idle and waiting CPUs take the core too. */
static __always_inline bool sched_core_vm_strict_active(void)
{
	return static_branch_unlikely(&sched_core_vm_strict_key);
}

/*
 * Guest/host isolation for a hypervisor's vCPU loop, on the CPU that runs
 * it (see kernel/sched/coresched.c for the states and their ordering):
 *
 *	preempt_disable();
 *	if (sched_core_guest_wait(stop, arg, &ns))  irqs on: wait for the core
 *		goto host_work;			   -EBUSY: sched_core_guest_sleep()
 *	local_irq_disable();
 *	if (!sched_core_guest_enter() || work_pending()) {
 *		sched_core_guest_cancel();
 *		...
 *	}
 *	run the guest; on each exit handled in guest mode:
 *		if (sched_core_guest_fastpath()) re-enter;
 *	sched_core_guest_exit();		   irqs still off
 */
int sched_core_guest_wait(bool (*stop)(void *arg), void *arg, u64 *wait_ns);
bool sched_core_guest_enter(void);
void sched_core_guest_cancel(void);
struct rcuwait;
void sched_core_guest_sleep(bool (*stop)(void *arg), void *arg,
			    struct rcuwait *w, u64 *wait_ns);
void sched_core_guest_exit(void);
bool sched_core_guest_fastpath(void);

void __sched_core_guest_poll_begin(void);
void __sched_core_guest_poll_end(void);

/*
 * Around a vCPU thread's polling for its vCPU's events before it blocks.
 * Only where preempt_disable() shows in in_atomic(): what polls must know
 * not to sleep, or a sleep would run the next task as if it waited.
 */
static __always_inline void sched_core_guest_poll_begin(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT) && sched_core_vm_active())
		__sched_core_guest_poll_begin();
}

static __always_inline void sched_core_guest_poll_end(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT) && sched_core_vm_active())
		__sched_core_guest_poll_end();
}

bool __sched_core_guest_mode(void);
void sched_core_guest_host_work(void);

/* For code that exits handled in guest mode may run: see coresched.c. */
static __always_inline bool sched_core_guest_mode(void)
{
	return sched_core_vm_active() && __sched_core_guest_mode();
}

/* A cookie per VM, adopted by the threads that run its vCPUs. */
unsigned long sched_core_vm_cookie_create(void);
void sched_core_vm_cookie_put(unsigned long cookie);
void sched_core_vm_cookie_adopt(unsigned long cookie);

unsigned int __sched_core_vm_nmi_enter(void);
void __sched_core_vm_nmi_exit(unsigned int token);
unsigned int __sched_core_vm_irq_enter(void);
void __sched_core_vm_irq_exit(unsigned int token);

/*
 * For the entry code, where it may be instrumented and before any
 * handler: an NMI-like exception (NMI, machine check, #DB, #BP) is about
 * to run host code, on a CPU that may count as in guest mode for its
 * siblings.  The token goes to the matching exit.
 */
static __always_inline unsigned int sched_core_vm_nmi_enter(void)
{
	return sched_core_vm_active() ? __sched_core_vm_nmi_enter() : 0;
}

static __always_inline void sched_core_vm_nmi_exit(unsigned int token)
{
	if (token)
		__sched_core_vm_nmi_exit(token);
}

/* The same for interrupts and exceptions taken in the kernel (vm,strict). */
static __always_inline unsigned int sched_core_vm_irq_enter(void)
{
	if (sched_core_vm_strict_active())
		return __sched_core_vm_irq_enter();
	return 0;
}

static __always_inline void sched_core_vm_irq_exit(unsigned int token)
{
	if (token)
		__sched_core_vm_irq_exit(token);
}

/*
 * The architecture's way to make @cpu leave guest mode, an IPI, safe to
 * send from any context, NMI included, and to this CPU.
 */
void arch_sched_core_kick(int cpu);
/*
 * An NMI to @cpu, from any context, that a handler of the architecture's
 * claims: for a sibling that did not take the kick's IPIs.
 */
void arch_sched_core_nmi(int cpu);

#else /* !CONFIG_SCHED_CORE_VM */

static __always_inline bool sched_core_vm_active(void)
{
	return false;
}

static __always_inline bool sched_core_vm_strict_active(void)
{
	return false;
}

static __always_inline bool sched_core_guest_mode(void)
{
	return false;
}

static inline void sched_core_guest_host_work(void) { }
static __always_inline void sched_core_guest_poll_begin(void) { }
static __always_inline void sched_core_guest_poll_end(void) { }

static __always_inline unsigned int sched_core_vm_nmi_enter(void) { return 0; }
static __always_inline void sched_core_vm_nmi_exit(unsigned int token) { }
static __always_inline unsigned int sched_core_vm_irq_enter(void) { return 0; }
static __always_inline void sched_core_vm_irq_exit(unsigned int token) { }

#endif /* CONFIG_SCHED_CORE_VM */

#endif /* _LINUX_SCHED_CORESCHED_H */
