/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers of the coresched KVM selftests: the kernel's coresched= mode and
 * stats, core scheduling cookies, KVM's per-vCPU stats, SMT siblings.
 */
#ifndef SELFTEST_KVM_CORESCHED_UTIL_H
#define SELFTEST_KVM_CORESCHED_UTIL_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "test_util.h"

#define CS_MODE_FILE	"/sys/kernel/debug/sched/coresched/mode"
#define CS_STATS_FILE	"/sys/kernel/debug/sched/coresched/stats"

enum cs_mode {
	CS_MODE_OFF,
	CS_MODE_ON,
	CS_MODE_VM,
	CS_MODE_VM_STRICT,
	CS_NR_MODES,
	/* A mode file that names none of the modes a test accepts. */
	CS_MODE_OTHER = -2,
};

static const char * const cs_mode_names[] = {
	[CS_MODE_OFF]	    = "off",
	[CS_MODE_ON]	    = "on",
	[CS_MODE_VM]	    = "vm",
	[CS_MODE_VM_STRICT] = "vm,strict",
};

static inline uint64_t cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline uint64_t cs_now_ms(void)
{
	return cs_now_ns() / 1000000;
}

/* The kernel's mode, as the mode file names it; false without the file. */
static inline bool cs_read_mode(char *buf, size_t size)
{
	FILE *f = fopen(CS_MODE_FILE, "r");

	buf[0] = '\0';
	if (!f)
		return false;
	if (!fgets(buf, size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return true;
}

/*
 * The mode @name names, of those from @lowest up (a test of VM isolation
 * has nothing to test under coresched=off); -1 for none of them.
 */
static inline int cs_mode_of(const char *name, enum cs_mode lowest)
{
	int i;

	for (i = lowest; i < CS_NR_MODES; i++)
		if (!strcmp(name, cs_mode_names[i]))
			return i;
	return -1;
}

/*
 * The mode the kernel runs in, of those from @lowest up: -1 without the
 * mode file, CS_MODE_OTHER for another mode, which @buf then names.
 */
static inline int cs_kernel_mode(enum cs_mode lowest, char *buf, size_t size)
{
	int mode;

	if (!cs_read_mode(buf, size))
		return -1;
	mode = cs_mode_of(buf, lowest);
	return mode < 0 ? CS_MODE_OTHER : mode;
}

/*
 * The mode to test: @want (-1: the kernel's), which the kernel, in mode
 * @have (cs_kernel_mode()), must run in.  A kernel without the mode file
 * has no isolation of VMs: it is tested as "on".
 */
static inline int cs_test_mode(int want, int have)
{
	if (want < 0)
		want = have < 0 ? CS_MODE_ON : have;
	if (have < 0 && want >= CS_MODE_VM)
		ksft_exit_fail_msg("-m %s, but the kernel has no %s\n",
				   cs_mode_names[want], CS_MODE_FILE);
	if (have >= 0 && have != want)
		ksft_exit_fail_msg("-m %s, but the kernel runs coresched=%s\n",
				   cs_mode_names[want], cs_mode_names[have]);
	return want;
}

/*
 * The counters of the coresched stats, at most @max: their number, 0
 * without the stats file.
 */
static inline int cs_read_stats(char (*names)[32], uint64_t *values, int max)
{
	FILE *f = fopen(CS_STATS_FILE, "r");
	char line[128];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f))
		n += sscanf(line, "%31s %lu", names[n], &values[n]) == 2;
	fclose(f);
	return n;
}

/* The invariant checker's count of violations; false without the checker. */
static inline bool cs_read_violations(uint64_t *n)
{
	FILE *f = fopen(CS_STATS_FILE, "r");
	bool found = false;
	char line[64];

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "violations %lu", n) == 1;
	fclose(f);
	return found;
}

/* The core scheduling cookie of thread @tid (0: the caller). */
static inline uint64_t cs_cookie_of(pid_t tid)
{
	uint64_t cookie;
	int r;

	r = prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, tid,
		  PR_SCHED_CORE_SCOPE_THREAD, (unsigned long)&cookie);
	TEST_ASSERT(!r, "PR_SCHED_CORE_GET of %d: %s", tid, strerror(errno));
	return cookie;
}

/*
 * The binary stat @name of @vcpu, which must count nanoseconds if @ns:
 * false if KVM has no stat of that name.
 */
static inline bool cs_vcpu_stat(struct kvm_vcpu *vcpu, const char *name,
				bool ns, uint64_t *val)
{
	struct kvm_stats_desc *descs, *desc;
	struct kvm_stats_header header;
	bool found = false;
	int fd, i;

	fd = vcpu_get_stats_fd(vcpu);
	read_stats_header(fd, &header);
	descs = read_stats_descriptors(fd, &header);
	for (i = 0; i < header.num_desc && !found; i++) {
		desc = get_stats_descriptor(descs, i, &header);
		if (strcmp(desc->name, name))
			continue;
		TEST_ASSERT(!ns ||
			    ((desc->flags & KVM_STATS_UNIT_MASK) == KVM_STATS_UNIT_SECONDS &&
			     (desc->flags & KVM_STATS_BASE_MASK) == KVM_STATS_BASE_POW10 &&
			     desc->exponent == -9),
			    "%s is not in nanoseconds (flags %#x, exponent %d)",
			    name, desc->flags, desc->exponent);
		read_stat_data(fd, &header, desc, val, 1);
		found = true;
	}
	free(descs);
	close(fd);
	return found;
}

/*
 * The first two CPUs of the first core with two online SMT siblings, from
 * its thread_siblings_list ("0-1" or "0,2"); false if there is none.
 */
static inline bool cs_pick_siblings(int *a, int *b)
{
	char path[96], list[64];
	int cpu, x, y, n;
	FILE *f;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		snprintf(path, sizeof(path),
			 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
		f = fopen(path, "r");
		if (!f)
			continue;
		n = fscanf(f, "%63s", list);
		fclose(f);
		if (n == 1 && (sscanf(list, "%d-%d", &x, &y) == 2 ||
			       sscanf(list, "%d,%d", &x, &y) == 2)) {
			*a = x;
			*b = y;
			return true;
		}
	}
	return false;
}

#endif /* SELFTEST_KVM_CORESCHED_UTIL_H */
