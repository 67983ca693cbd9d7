/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers of the coresched selftests; cgroup paths are relative to the cgroup2 root. */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <linux/prctl.h>

#include "../cgroup/cgroup_util.h"
#include "cs_cpus.h"

#define CS_MAX_CPUS	64
#define NSEC_PER_MSEC	1000000ULL

/* The mode -m claims, else the kernel's: a test checks the claimed mode's promises. */
extern const char *cs_mode;

static inline bool cs_mode_off(void)
{
	return !strcmp(cs_mode, "off");
}

/*
 * Take @opts (getopt; "m:" the claimed mode, the others to @opt) out of
 * @argv, leaving the harness's: the new argc.  No mode file: a skip, or a
 * failure under -m.
 */
int cs_options(int argc, char **argv, const char *opts,
	       void (*opt)(int c, const char *arg));

/* prctl(PR_SCHED_CORE, @cmd, @pid, @scope, @uaddr): 0 or -errno. */
int cs_prctl(int cmd, pid_t pid, int scope, unsigned long uaddr);
/* The cookie of thread @pid, 0 with -errno in *@err if it cannot be read. */
uint64_t cs_get(pid_t pid, int *err);
/* Give @to the task cookie of @from, leaving the caller's alone. */
int cs_cookie_copy(pid_t from, pid_t to);
/* In a child of @parent: die with it, so that no worker outlives a test. */
void cs_die_with_parent(pid_t parent);

/* cgroup2's root as the working directory: 0, or -1 if there is none. */
int cs_cgroup_root(void);
/* mkdir @cg; @parent: with the cpu controller on for its children. */
int cs_cg_make(const char *cg, bool parent);
int cs_cg_tag(const char *cg, bool on);
/* Remove @cg and everything below it, killing the tasks left there. */
int cs_cg_destroy(const char *cg);

int cs_pin(int cpu);
/* @s, digits only, in [@min, @max]: 0, or -EINVAL. */
int cs_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *val);
/* Two online siblings of one core (cs_pick_siblings()): 0, or -ENOENT. */
int cs_find_siblings(int core[2]);
bool cs_smt_active(void);

struct cs_topo {
	int cpus;		/* online CPUs */
	int packages;		/* distinct physical_package_id */
	int cores;		/* distinct cores per package (max) */
	int threads;		/* threads per core (max) */
	int threads_min;	/* threads per core (min) */
};

int cs_topology(struct cs_topo *topo);

/* A /proc/meminfo field ("SUnreclaim") in kB, -1 if absent. */
long cs_meminfo_kb(const char *key);
/* Forced idle needs schedstats: set to @on, the old value in *@old.  0 or -errno. */
int cs_schedstats(bool on, bool *old);

#endif /* CS_UTIL_H */
