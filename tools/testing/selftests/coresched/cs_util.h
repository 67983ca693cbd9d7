/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the coresched selftests: prctl(PR_SCHED_CORE) wrappers, the
 * cgroup v2 files the tests touch, and the mode the kernel booted in.
 */
#ifndef CS_UTIL_H
#define CS_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CS_CGROUP_ROOT	"/sys/fs/cgroup"
#define CS_MODE_FILE	"/sys/kernel/debug/sched/coresched/mode"

/* The coresched= mode: "off", "on", "vm"; NULL without the series. */
const char *cs_mode(void);
/*
 * The mode a test's checks follow: @expected (its -m option), or the mode
 * file's when NULL ("none" without the series).  Prints both; *@match
 * tells whether the kernel runs in that mode.  The caller reports the test
 * point: each program has kselftest.h's counters to itself.
 */
const char *cs_check_mode(const char *expected, bool *match);

/* prctl(PR_SCHED_CORE, ...): 0 or -errno. */
int cs_prctl(unsigned long cmd, pid_t pid, unsigned long scope,
	     unsigned long uaddr);
int cs_create(pid_t pid, unsigned long scope);
int cs_share_to(pid_t pid, unsigned long scope);
int cs_share_from(pid_t pid);
/* The cookie @pid reports, or -errno in @err. */
uint64_t cs_get(pid_t pid, int *err);

/*
 * cgroup v2: paths are relative to CS_CGROUP_ROOT.  The write and read
 * helpers return 0 or -errno.
 */
int cg_write(const char *cg, const char *file, const char *buf);
int cg_read(const char *cg, const char *file, char *buf, size_t size);
long long cg_read_ll(const char *cg, const char *file);
/* A field of a flat keyed file (cpu.stat), -1 if absent. */
long long cg_read_key(const char *cg, const char *file, const char *key);
int cg_create(const char *cg);		/* mkdir */
/*
 * Enable the cpu controller for the children of @cg: cgroup v2 then
 * allows no process in @cg itself, so tasks live in the leaves.
 */
int cg_enable_cpu(const char *cg);
int cg_enter(const char *cg, pid_t pid);	/* cgroup.procs */
int cg_enter_thread(const char *cg, pid_t tid);	/* cgroup.threads */
int cg_tag(const char *cg, int on);	/* cpu.core_sched */
/* Move every task left in @cg (and below) to the root, then rmdir all. */
int cg_destroy(const char *cg);

/* Pin the calling thread to @cpu. */
int cs_pin(int cpu);

/*
 * "0,2-3" (a trailing newline allowed, as sysfs has it) into @cpus: the
 * number of CPUs, or -EINVAL if it is no CPU list or has more than @max.
 */
int cs_parse_cpulist(const char *list, int *cpus, int max);
/* The CPUs that share a core with @cpu (itself included): count or -errno. */
int cs_cpu_siblings(int cpu, int *cpus, int max);
/*
 * The first @n online SMT siblings of one core, from sysfs, into @cpus:
 * 0, or -ENOENT if no core has @n threads online.
 */
int cs_find_siblings(int *cpus, int n);
/* A positive, finite number of seconds ("2.5"): it, or -1 if it is none. */
double cs_parse_seconds(const char *arg);

#endif /* CS_UTIL_H */
