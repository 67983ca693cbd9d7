// SPDX-License-Identifier: GPL-2.0
/*
 * Security domains by cgroup keep their tasks apart on an SMT core: two
 * CPU-bound tasks pinned to the two siblings of one core must never run at
 * once when the domains (and prctl cookies) say they differ, and must run
 * at once when they say they match.  Every isolation check has that
 * positive control, so a measurement that cannot see overlap fails.  See
 * cs_overlap.h for how "at once" is measured; domain_api tests what
 * PR_SCHED_CORE_GET reports for the same placements.
 *
 * The forced idle that isolation costs is read from the cgroups'
 * cpu.stat (core_sched.force_idle_usec), which needs schedstats.
 *
 * With coresched=off, cpu.core_sched refuses writes (ENODEV) and the
 * tasks run at once: no isolation, and the test says so.
 *
 * usage: domain_isolation [-m off|on|vm] [-d MS]
 *   -m   the mode the kernel was booted in: a kernel in another mode
 *        fails the test (without -m, the kernel's mode decides)
 *   -d   each measurement's length (default 2000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "cs_overlap.h"
#include "cs_util.h"

#define CG		"coresched_iso"
#define FORCE_IDLE	"core_sched.force_idle_usec"
/*
 * One domain's forced idle, the control of two domains': not 0 on a core
 * of more than two threads, where this test and kernel threads (no
 * cookie) run on the other siblings and keep the domain's tasks idle now
 * and then, but an order of magnitude below what two domains cost.
 */
#define FI_CONTROL_RATIO	10

static const char *expect_mode;
static uint64_t duration_ns = 2000 * NSEC_PER_MSEC;
static int core[2];
static int schedstats_saved;

enum cookies { NO_COOKIES, DIFFERENT_COOKIES, SAME_COOKIE };

/*
 * Where the two tasks run (cgroups relative to CG), their prctl cookies,
 * and what changes at half time: a cgroup tagged, or task 1 moved.
 */
struct place {
	const char *cg[2];
	enum cookies cookies;
	const char *mid_tag;
	const char *mid_move;
};

/* Each try starts with the cgroup to tag at half time untagged. */
static int place_setup(struct cs_run *run)
{
	const struct place *p = run->arg;
	char path[128];
	int i, ret;

	if (p->mid_tag) {
		snprintf(path, sizeof(path), CG "/%s", p->mid_tag);
		ret = cg_tag(path, 0);
		if (ret)
			return ret;
	}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), CG "/%s", p->cg[i]);
		ret = cg_enter(path, run->task[i].pid);
		if (ret)
			return ret;
	}
	switch (p->cookies) {
	case DIFFERENT_COOKIES:
		return cs_setup_differ(run);
	case SAME_COOKIE:
		return cs_setup_same(run);
	default:
		return 0;
	}
}

static int place_midway(struct cs_run *run)
{
	const struct place *p = run->arg;
	char path[128];

	if (p->mid_tag) {
		snprintf(path, sizeof(path), CG "/%s", p->mid_tag);
		return cg_tag(path, 1);
	}
	snprintf(path, sizeof(path), CG "/%s", p->mid_move);
	return cg_enter(path, run->task[1].pid);
}

/*
 * Measure @p and report @claim: @before is what the whole run must show,
 * or with a change at half time, the part before it, and @after the part
 * after it.
 */
static void check(const char *name, const struct place *p,
		  enum cs_expect before, enum cs_expect after,
		  const char *claim)
{
	struct cs_trial t = {
		.name = name,
		.cpu = { core[0], core[1] },
		.duration_ns = duration_ns,
		.setup = place_setup,
		.arg = (void *)p,
		.expect = { before, after },
	};
	char path[128];

	if (p->mid_tag || p->mid_move)
		t.midway = place_midway;
	cs_trial(&t);
	if (p->mid_tag) {
		snprintf(path, sizeof(path), CG "/%s", p->mid_tag);
		cg_tag(path, 0);
	}
	cs_report(&t, claim);
}

/* A placement that must keep the tasks apart. */
static void expect_isolated(const char *name, const struct place *p)
{
	check(name, p, CS_ISOLATED, CS_ISOLATED, "never at once");
}

/* A placement that must let the tasks run together. */
static void expect_shared(const char *name, const struct place *p)
{
	check(name, p, CS_SHARED, CS_SHARED, "at once");
}

/* Together before the change at half time, apart after it. */
static void expect_split(const char *name, const struct place *p)
{
	check(name, p, CS_SHARED, CS_ISOLATED, "at once before, never after");
}

static long long force_idle_us(const char *cg)
{
	char path[128];

	snprintf(path, sizeof(path), CG "/%s", cg);
	return cg_read_key(path, "cpu.stat", FORCE_IDLE);
}

/*
 * Two domains, and the positive control, one domain; the forced idle
 * that keeping two domains apart costs, from their cpu.stat.
 */
static void test_two_domains(void)
{
	const struct place apart = { .cg = { "d1/c1", "d2" } };
	const struct place together = { .cg = { "d1/c1", "d1/c1" } };
	long long d1, d2, d1_after, d2_after, apart_us;
	int ret = cs_schedstats(1, &schedstats_saved);

	if (ret)
		ksft_print_msg("cannot enable schedstats: %s\n", strerror(-ret));
	d1 = force_idle_us("d1");
	d2 = force_idle_us("d2");
	expect_isolated("two domains", &apart);
	d1_after = force_idle_us("d1");
	d2_after = force_idle_us("d2");
	ksft_print_msg("two domains: forced idle %lld us charged to d1, %lld to d2, of %llu ms\n",
		       d1_after - d1, d2_after - d2,
		       (unsigned long long)(duration_ns / NSEC_PER_MSEC));
	apart_us = d1_after - d1 + d2_after - d2;
	ksft_test_result(!ret && d1 >= 0 && d2 >= 0 && apart_us > 0,
			 "two domains: cpu.stat " FORCE_IDLE " grows (%lld us)\n",
			 d1_after - d1 + d2_after - d2);

	d1 = force_idle_us("d1");
	expect_shared("one domain (control)", &together);
	d1_after = force_idle_us("d1");
	ksft_print_msg("one domain: forced idle %lld us charged to d1\n",
		       d1_after - d1);
	ksft_test_result(!ret && d1 >= 0 &&
			 (d1_after - d1) * FI_CONTROL_RATIO <= apart_us,
			 "one domain: %s at most 1/%d of two domains' (control: %lld us)\n",
			 FORCE_IDLE, FI_CONTROL_RATIO, d1_after - d1);
}

/* The forced idle charged to @pid so far, in ms: /proc/PID/sched. */
static double task_forceidle_ms(pid_t pid)
{
	char path[64], line[256];
	double ms = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/sched", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "core_forceidle_sum", 18)) {
			ms = strtod(strchr(line, ':') + 1, NULL);
			break;
		}
	}
	fclose(f);
	return ms;
}

/* A task pinned to @cpu that spins in @cg until killed. */
static pid_t spinner(int cpu, const char *cg)
{
	pid_t parent = getpid(), pid = fork();
	char path[128];

	if (!pid) {
		cs_die_with_parent(parent);
		if (cs_pin(cpu))
			_exit(1);
		for (;;)
			;
	}
	snprintf(path, sizeof(path), CG "/%s", cg);
	if (pid > 0 && cg_enter(path, pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/*
 * The forced idle charged to two spinning tasks, one per sibling, in
 * cgroups @cg0 and @cg1, over the measurement window: -1 if it cannot be
 * read.  The task that runs while its sibling is kept idle is charged.
 */
static double pair_forceidle_ms(const char *cg0, const char *cg1)
{
	pid_t pid[2] = { spinner(core[0], cg0), spinner(core[1], cg1) };
	double before = 0, after = 0, v;
	struct timespec ts = {
		.tv_sec = duration_ns / NSEC_PER_SEC,
		.tv_nsec = duration_ns % NSEC_PER_SEC,
	};
	int i;

	for (i = 0; i < 2; i++) {
		v = pid[i] > 0 ? task_forceidle_ms(pid[i]) : -1;
		before = v < 0 || before < 0 ? -1 : before + v;
	}
	/* The tasks spin for the window: that is the measurement. */
	nanosleep(&ts, NULL);
	for (i = 0; i < 2; i++) {
		v = pid[i] > 0 ? task_forceidle_ms(pid[i]) : -1;
		after = v < 0 || after < 0 ? -1 : after + v;
		if (pid[i] > 0) {
			kill(pid[i], SIGKILL);
			waitpid(pid[i], NULL, 0);
		}
	}
	return before < 0 || after < 0 ? -1 : after - before;
}

/*
 * Per-task forced idle (/proc/PID/sched core_forceidle_sum, schedstats):
 * two domains on one core cost forced idle, one domain costs none.
 */
static void test_task_forceidle(void)
{
	double apart = pair_forceidle_ms("d1/c1", "d2");
	double together = pair_forceidle_ms("d1/c1", "d1/c1");

	ksft_print_msg("per task: forced idle %.3f ms in two domains, %.3f ms in one, in %llu ms\n",
		       apart, together,
		       (unsigned long long)(duration_ns / NSEC_PER_MSEC));
	ksft_test_result(apart > 0 && together >= 0 &&
			 together * FI_CONTROL_RATIO <= apart,
			 "per task: core_forceidle_sum grows for two domains (%.1f ms), 1/%d of it at most for one (control: %.1f ms)\n",
			 apart, FI_CONTROL_RATIO, together);
}

static void test_nested(void)
{
	const struct place inherit = { .cg = { "d1/c1", "d1/c2/g" } };
	const struct place outside = { .cg = { "d1/c1", "plain" } };

	expect_shared("nested: untagged descendants share the domain", &inherit);
	expect_isolated("nested: a domain and no domain (control)", &outside);

	if (cg_tag(CG "/d1/c2", 1)) {
		ksft_test_result_fail("nested: tag d1/c2\n");
		return;
	}
	expect_isolated("nested: a tagged child is a domain of its own", &inherit);
	cg_tag(CG "/d1/c2", 0);
}

static void test_cookies(void)
{
	const struct place differ = {
		.cg = { "d1/c1", "d1/c1" }, .cookies = DIFFERENT_COOKIES,
	};
	const struct place same = {
		.cg = { "d1/c1", "d1/c1" }, .cookies = SAME_COOKIE,
	};

	expect_isolated("one domain, different prctl cookies", &differ);
	expect_shared("one domain, same prctl cookie (control)", &same);
}

static void test_while_running(void)
{
	const struct place tag = { .cg = { "t", "plain" }, .mid_tag = "t" };
	const struct place move = { .cg = { "d1/c1", "d1/c1" }, .mid_move = "d2" };

	expect_split("tagged while running", &tag);
	expect_split("moved to another domain while running", &move);
}

/* coresched=off: no domains can be made, nothing keeps the tasks apart. */
static void test_off(void)
{
	const struct place apart = { .cg = { "d1/c1", "d2" } };
	int ret = cg_tag(CG "/d1", 1);

	ksft_test_result(ret == -ENODEV && cg_read_ll(CG "/d1", "cpu.core_sched") == 0,
			 "off: cpu.core_sched write fails with ENODEV (%s)\n",
			 ret ? strerror(-ret) : "accepted");
	expect_shared("off: would-be domains run at once", &apart);
}

/*
 * CG            the test's cgroup
 *   d1          a domain: no task of its own, cpu enabled for its children
 *     c1        tasks
 *     c2        untagged (tagged by the nested test)
 *       g       tasks: two levels below the domain
 *   d2          a second domain
 *   t           tagged while its task runs
 *   plain       never tagged
 */
static void setup(bool off)
{
	cg_destroy(CG);
	if (cg_enable_cpu(""))
		ksft_exit_fail_msg("cannot enable the cpu controller\n");
	if (cg_create(CG) || cg_enable_cpu(CG) || cg_create(CG "/d1") ||
	    cg_enable_cpu(CG "/d1") || cg_create(CG "/d1/c1") ||
	    cg_create(CG "/d1/c2") || cg_enable_cpu(CG "/d1/c2") ||
	    cg_create(CG "/d1/c2/g") || cg_create(CG "/d2") ||
	    cg_create(CG "/t") || cg_create(CG "/plain"))
		ksft_exit_fail_msg("cannot create the test cgroups\n");
	if (!off && (cg_tag(CG "/d1", 1) || cg_tag(CG "/d2", 1)))
		ksft_exit_fail_msg("cannot tag d1 and d2\n");
}

static __noreturn void usage_exit(const char *prog)
{
	fprintf(stderr, "usage: %s [-m off|on|vm] [-d MS]   (MS: %d..%d)\n",
		prog, CS_MIN_MS, CS_MAX_MS);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long ms;
	const char *mode;
	bool off;
	int opt;

	while ((opt = getopt(argc, argv, "m:d:")) != -1) {
		switch (opt) {
		case 'm':
			if (strcmp(optarg, "off") && strcmp(optarg, "on") &&
			    strcmp(optarg, "vm"))
				usage_exit(argv[0]);
			expect_mode = optarg;
			break;
		case 'd':
			if (cs_parse_num(optarg, CS_MIN_MS, CS_MAX_MS, &ms))
				usage_exit(argv[0]);
			duration_ns = ms * NSEC_PER_MSEC;
			break;
		default:
			usage_exit(argv[0]);
		}
	}
	if (optind != argc)
		usage_exit(argv[0]);

	ksft_print_header();
	mode = cs_mode();
	if (!mode && expect_mode)
		ksft_exit_fail_msg("-m %s, but no %s\n", expect_mode, CS_MODE_FILE);
	if (!mode)
		ksft_exit_skip("no %s: not a kernel with this series\n", CS_MODE_FILE);
	if (!expect_mode)
		expect_mode = mode;
	else if (strcmp(mode, expect_mode))
		ksft_exit_fail_msg("-m %s, but the kernel runs coresched=%s\n",
				   expect_mode, mode);
	off = !strcmp(expect_mode, "off");
	if (access(CS_CGROUP_ROOT "/cgroup.controllers", F_OK))
		ksft_exit_skip("no cgroup v2 at %s\n", CS_CGROUP_ROOT);
	if (cs_find_siblings(core, 2))
		ksft_exit_skip("no SMT: no siblings to keep apart\n");
	ksft_print_msg("mode %s; siblings: CPU %d and CPU %d; gap threshold %llu us\n",
		       mode, core[0], core[1], (unsigned long long)CS_GAP_NS / 1000);

	setup(off);
	if (off) {
		ksft_set_plan(2);
		test_off();
	} else {
		ksft_set_plan(12);
		test_two_domains();
		test_task_forceidle();
		test_nested();
		test_cookies();
		test_while_running();
		cs_schedstats(schedstats_saved, NULL);
	}
	cg_destroy(CG);
	ksft_finished();
}
