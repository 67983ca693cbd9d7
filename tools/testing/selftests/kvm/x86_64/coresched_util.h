/* SPDX-License-Identifier: GPL-2.0-only */
/* Helpers of the coresched KVM selftests; the clock and CPUs are cs_cpus.h's. */
#ifndef SELFTEST_KVM_CORESCHED_UTIL_H
#define SELFTEST_KVM_CORESCHED_UTIL_H

#include <errno.h>
#include <getopt.h>
#include <semaphore.h>
#include <sys/prctl.h>

#include "kselftest.h"
#include "kvm_util.h"
#include "test_util.h"
#include "ucall_common.h"

#include "../../coresched/cs_cpus.h"

#define CS_STATS_FILE	"/sys/kernel/debug/sched/coresched/stats"

enum cs_mode { CS_MODE_OFF, CS_MODE_ON, CS_MODE_VM, CS_MODE_VM_STRICT, CS_NR_MODES };

static const char * const cs_mode_names[] = { "off", "on", "vm", "vm,strict" };

static inline uint64_t cs_now_ms(void)
{
	return cs_now_ns() / 1000000;
}

/* The mode @name names, of those from @lowest up; -1 for none. */
static inline int cs_mode_of(const char *name, enum cs_mode lowest)
{
	int i;

	for (i = lowest; i < CS_NR_MODES; i++)
		if (!strcmp(name, cs_mode_names[i]))
			return i;
	return -1;
}

/* The -m of a test of VM isolation that takes no other option; -1 without. */
static inline int cs_mode_option(int argc, char *argv[])
{
	int opt, want = -1;

	while ((opt = getopt(argc, argv, "m:h")) != -1) {
		want = opt == 'm' ? cs_mode_of(optarg, CS_MODE_ON) : -1;
		if (want < 0) {
			printf("usage: %s [-m on|vm|vm,strict]\n", argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	return want;
}

/*
 * The mode to test: @want (-1: the kernel's), which the kernel must run in.
 * Without the mode file: tested as "on".  Below @lowest: a skip.
 */
static inline enum cs_mode cs_test_mode(int want, enum cs_mode lowest)
{
	const char *buf = cs_kernel_mode();
	int have = -1;

	if (buf) {
		have = cs_mode_of(buf, CS_MODE_OFF);
		if (have < 0)
			ksft_exit_fail_msg("unknown mode '%s' in " CS_MODE_FILE "\n", buf);
		if (have < (int)lowest)
			ksft_exit_skip("coresched=%s: neither on, vm nor vm,strict\n", buf);
	}
	if (want < 0)
		want = have < 0 ? CS_MODE_ON : have;
	if (have < 0 && want >= CS_MODE_VM)
		ksft_exit_fail_msg("-m %s, but the kernel has no %s\n",
				   cs_mode_names[want], CS_MODE_FILE);
	if (have >= 0 && have != want)
		ksft_exit_fail_msg("-m %s, but the kernel runs coresched=%s\n",
				   cs_mode_names[want], cs_mode_names[have]);
	ksft_print_msg("coresched=%s%s\n", cs_mode_names[want],
		       have < 0 ? " (no mode file: tested as on)" : "");
	return want;
}

/* Up to @max counters of the coresched stats: their number, 0 without the file. */
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

/*
 * The coresched stats on one line, for the log: how the kicks went (the
 * retries and NMIs of waits that a sibling did not end) is read there.
 */
static inline void cs_print_stats(void)
{
	char names[32][32], buf[1024];
	uint64_t val[32];
	int i, n, len = 0;

	n = cs_read_stats(names, val, 32);
	for (i = 0; i < n && len < (int)sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, " %s=%lu",
				names[i], val[i]);
	if (n)
		ksft_print_msg("coresched stats:%s\n", buf);
}

/* The invariant checker's count of violations; false without the checker. */
static inline bool cs_read_violations(uint64_t *n)
{
	char names[32][32];
	uint64_t val[32];
	int i;

	for (i = cs_read_stats(names, val, 32) - 1; i >= 0 && strcmp(names[i], "violations"); i--)
		;
	if (i >= 0)
		*n = val[i];
	return i >= 0;
}

/* Wait for @sem across signals; any other error fails the test. */
static inline void cs_sem_wait(sem_t *sem)
{
	while (sem_wait(sem))
		TEST_ASSERT(errno == EINTR, "sem_wait: %s", strerror(errno));
}

static bool cs_checker;
static uint64_t cs_violations;

/* The checker's count now, for cs_violations_point(); false without it. */
static inline bool cs_violations_start(void)
{
	cs_checker = cs_read_violations(&cs_violations);
	return cs_checker;
}

static inline void cs_violations_point(void)
{
	uint64_t n;

	if (cs_checker && cs_read_violations(&n))
		ksft_test_result(n == cs_violations,
				 "the invariant checker counted no violation (%lu)\n",
				 n - cs_violations);
	else
		ksft_test_result_skip("no invariant checker in this kernel\n");
}

/* PR_SCHED_CORE's @cmd for thread @tid (0: the caller), which must work. */
static inline void cs_sched_core(int cmd, pid_t tid, uint64_t *cookie)
{
	int r = prctl(PR_SCHED_CORE, cmd, tid, PR_SCHED_CORE_SCOPE_THREAD,
		      (unsigned long)cookie);

	TEST_ASSERT(!r, "PR_SCHED_CORE %d for %d: %s", cmd, tid, strerror(errno));
}

/* The core scheduling cookie of thread @tid (0: the caller). */
static inline uint64_t cs_cookie_of(pid_t tid)
{
	uint64_t cookie;

	cs_sched_core(PR_SCHED_CORE_GET, tid, &cookie);
	return cookie;
}

/* The binary stat @name of @vcpu, in ns if @ns; false if KVM has none. */
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

/* Run @vcpu to its next GUEST_SYNC1/2(@stage, ...), or to GUEST_DONE if @stage is 0. */
static inline void cs_run_to(struct kvm_vcpu *vcpu, uint64_t stage, struct ucall *uc)
{
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, uc)) {
	case UCALL_SYNC:
		TEST_ASSERT(uc->args[0] == stage, "vCPU%u: stage %lu, wanted %lu",
			    vcpu->id, uc->args[0], stage);
		break;
	case UCALL_DONE:
		TEST_ASSERT(!stage, "vCPU%u: done before stage %lu", vcpu->id, stage);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(*uc);
		break;
	default:
		TEST_FAIL("vCPU%u: unexpected exit %s", vcpu->id,
			  exit_reason_str(vcpu->run->exit_reason));
	}
}

#endif /* SELFTEST_KVM_CORESCHED_UTIL_H */
