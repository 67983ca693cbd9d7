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

/* coresched=vm is in force: hypervisors call the functions below. */
static __always_inline bool sched_core_vm_active(void)
{
	return static_branch_unlikely(&sched_core_vm_key);
}

/*
 * Guest/host isolation for a hypervisor's vCPU loop, on the CPU that runs
 * it (see kernel/sched/coresched.c for the states and their ordering):
 *
 *	preempt_disable();
 *	if (!sched_core_guest_wait(stop, arg))	   irqs on: wait for the core
 *		goto host_work;
 *	local_irq_disable();
 *	if (!sched_core_guest_enter() || work_pending()) {
 *		sched_core_guest_cancel();
 *		...
 *	}
 *	run the guest; on each exit handled without host code:
 *		sched_core_guest_fastpath();
 *	sched_core_guest_exit();		   irqs still off
 */
bool sched_core_guest_wait(bool (*stop)(void *arg), void *arg);
bool sched_core_guest_enter(void);
void sched_core_guest_cancel(void);
void sched_core_guest_exit(void);
void sched_core_guest_fastpath(void);

/* A cookie per VM, adopted by the threads that run its vCPUs. */
unsigned long sched_core_vm_cookie_create(void);
void sched_core_vm_cookie_put(unsigned long cookie);
void sched_core_vm_cookie_adopt(unsigned long cookie);

#else /* !CONFIG_SCHED_CORE_VM */

static __always_inline bool sched_core_vm_active(void)
{
	return false;
}

#endif /* CONFIG_SCHED_CORE_VM */

#endif /* _LINUX_SCHED_CORESCHED_H */
