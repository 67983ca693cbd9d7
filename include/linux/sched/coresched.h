/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Core scheduling isolation: the interface between the scheduler's core
 * scheduling and its users (cgroups, hypervisors).  See
 * Documentation/admin-guide/hw-vuln/core-scheduling.rst.
 */
#ifndef _LINUX_SCHED_CORESCHED_H
#define _LINUX_SCHED_CORESCHED_H

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

#endif /* _LINUX_SCHED_CORESCHED_H */
