// SPDX-License-Identifier: GPL-2.0-only
/*
 * Core scheduling isolation: security domains and guest/host isolation.
 *
 * Upstream core scheduling (core.c, core_sched.c) only co-runs tasks whose
 * cookies match on one SMT core.  This file builds on that machinery: it
 * decides when it is available (the coresched= boot parameter), derives
 * cookies from cgroup security domains, and keeps the SMT siblings of a
 * core out of guest mode while one of them runs host code.
 */
#include <linux/sched/coresched.h>
