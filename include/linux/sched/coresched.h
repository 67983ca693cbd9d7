/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Core scheduling isolation: the interface between the scheduler's core
 * scheduling and its users (cgroups, hypervisors).  See
 * Documentation/admin-guide/hw-vuln/core-scheduling.rst.
 */
#ifndef _LINUX_SCHED_CORESCHED_H
#define _LINUX_SCHED_CORESCHED_H

#endif /* _LINUX_SCHED_CORESCHED_H */
