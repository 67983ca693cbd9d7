// SPDX-License-Identifier: GPL-2.0
/*
 * Two CPU-bound tasks on the two siblings of a core never run at once when
 * their domains (and prctl cookies) differ, and do when they match: every
 * isolation check has that positive control.  Under coresched=off no
 * domain can be made (ENODEV) and every placement runs at once.
 *
 * usage: domain_isolation [-m off|on|vm|vm,strict]   (the mode the kernel runs in)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "cs_verdict.h"

#define CG		"coresched_iso"
#define FORCE_IDLE	"core_sched.force_idle_usec"
/*
 * One domain's forced idle, the control of two domains': not 0 on SMT4,
 * where tasks of no cookie run on the other siblings, but well below.
 */
#define FI_CONTROL_RATIO	4

#define DURATION_NS	(2000 * NSEC_PER_MSEC)

TEST(mode)
{
	ASSERT_STREQ(cs_mode, cs_kernel_mode());
}

/*
 * CG: domains d1 (d1/c1, and d1/c2/g two levels below) and d2; t, tagged
 * while its task runs; plain, never.  0, or the error of tagging d1, d2.
 */
static int setup_tree(struct __test_metadata *_metadata, int core[2])
{
	if (cs_cgroup_root())
		SKIP(return 0, "no cgroup v2");
	if (cs_find_siblings(core))
		SKIP(return 0, "no SMT: no siblings to keep apart");
	cs_cg_destroy(CG);
	ASSERT_EQ(0, cg_write(".", "cgroup.subtree_control", "+cpu"));
	ASSERT_EQ(0, cs_cg_make(CG, true));
	ASSERT_EQ(0, cs_cg_make(CG "/d1", true));
	ASSERT_EQ(0, cs_cg_make(CG "/d1/c1", false));
	ASSERT_EQ(0, cs_cg_make(CG "/d1/c2", true));
	ASSERT_EQ(0, cs_cg_make(CG "/d1/c2/g", false));
	ASSERT_EQ(0, cs_cg_make(CG "/d2", false));
	ASSERT_EQ(0, cs_cg_make(CG "/t", false));
	ASSERT_EQ(0, cs_cg_make(CG "/plain", false));
	return cs_cg_tag(CG "/d1", true) ?: cs_cg_tag(CG "/d2", true);
}

/* @cg below CG, valid until the next call. */
static const char *in_cg(const char *cg)
{
	static char path[128];

	snprintf(path, sizeof(path), CG "/%s", cg);
	return path;
}

/* Under coresched=off every tag and cookie must be refused. */
static int refused(int ret)
{
	return cs_mode_off() ? (ret == -ENODEV ? 0 : -EINVAL) : ret;
}

enum cookies { NO_COOKIES, DIFFERENT_COOKIES, SAME_COOKIE };

FIXTURE(domains) {
	int core[2];
	int tag_err;
};

/* The tasks' cgroups and cookies, a tag first, a change at half time; the verdicts. */
struct place {
	const char *cg[2];
	enum cookies cookies;
	const char *tag;
	const char *mid_tag, *mid_untag, *mid_move;
	enum cs_expect before, after;
};

FIXTURE_VARIANT(domains) {
	struct place p;
};

FIXTURE_VARIANT_ADD(domains, two_domains) {
	.p = { .cg = { "d1/c1", "d2" }, .before = CS_ISOLATED, .after = CS_ISOLATED },
};

FIXTURE_VARIANT_ADD(domains, one_domain) {
	.p = { .cg = { "d1/c1", "d1/c1" }, .before = CS_SHARED, .after = CS_SHARED },
};

FIXTURE_VARIANT_ADD(domains, domain_and_none) {
	.p = { .cg = { "d1/c1", "plain" }, .before = CS_ISOLATED, .after = CS_ISOLATED },
};

FIXTURE_VARIANT_ADD(domains, untagged_descendant) {
	.p = { .cg = { "d1/c1", "d1/c2/g" }, .before = CS_SHARED, .after = CS_SHARED },
};

FIXTURE_VARIANT_ADD(domains, nested_domain) {
	.p = { .cg = { "d1/c1", "d1/c2/g" }, .tag = "d1/c2",
		.before = CS_ISOLATED, .after = CS_ISOLATED },
};

FIXTURE_VARIANT_ADD(domains, different_task_cookies) {
	.p = { .cg = { "d1/c1", "d1/c1" }, .cookies = DIFFERENT_COOKIES,
		.before = CS_ISOLATED, .after = CS_ISOLATED },
};

FIXTURE_VARIANT_ADD(domains, same_task_cookie) {
	.p = { .cg = { "d1/c1", "d1/c1" }, .cookies = SAME_COOKIE,
		.before = CS_SHARED, .after = CS_SHARED },
};

FIXTURE_VARIANT_ADD(domains, tagged_while_running) {
	.p = { .cg = { "t", "plain" }, .mid_tag = "t", .before = CS_SHARED, .after = CS_ISOLATED },
};

FIXTURE_VARIANT_ADD(domains, untagged_while_running) {
	.p = { .cg = { "t", "plain" }, .tag = "t", .mid_untag = "t",
		.before = CS_ISOLATED, .after = CS_SHARED },
};

FIXTURE_VARIANT_ADD(domains, moved_while_running) {
	.p = { .cg = { "d1/c1", "d1/c1" }, .mid_move = "d2",
		.before = CS_SHARED, .after = CS_ISOLATED },
};

FIXTURE_SETUP(domains)
{
	self->tag_err = setup_tree(_metadata, self->core);
}

FIXTURE_TEARDOWN(domains)
{
	cs_cg_destroy(CG);
}

static int tag(const char *cg, bool on)
{
	return refused(cs_cg_tag(in_cg(cg), on));
}

/* Each try starts from the variant's tags. */
static int place_setup(struct cs_run *run)
{
	const struct place *v = run->arg;
	int i, ret;

	ret = (v->mid_tag ? tag(v->mid_tag, false) : 0) ?:
	      (v->tag ? tag(v->tag, true) : 0);
	for (i = 0; i < 2 && !ret; i++)
		ret = cg_enter(in_cg(v->cg[i]), run->task[i].pid);
	if (ret || v->cookies == NO_COOKIES)
		return ret;
	return refused(v->cookies == SAME_COOKIE ? cs_setup_same(run) :
			cs_setup_differ(run));
}

static int place_midway(struct cs_run *run)
{
	const struct place *v = run->arg;

	if (v->mid_tag || v->mid_untag)
		return tag(v->mid_tag ?: v->mid_untag, !!v->mid_tag);
	return cg_enter(in_cg(v->mid_move), run->task[1].pid);
}

TEST_F_TIMEOUT(domains, measured, 120)
{
	struct cs_trial t = {
		.name = "pair",
		.cpu = { self->core[0], self->core[1] },
		.duration_ns = DURATION_NS,
		.setup = place_setup,
		.arg = (void *)&variant->p,
		.expect = { variant->p.before, variant->p.after },
	};

	if (variant->p.mid_tag || variant->p.mid_untag || variant->p.mid_move)
		t.midway = place_midway;
	if (cs_mode_off()) {
		t.expect[0] = CS_SHARED;
		t.expect[1] = CS_SHARED;
	}
	if (cs_assert_trial(_metadata, &t))
		ASSERT_EQ(0, refused(self->tag_err));
}

FIXTURE(force_idle) {
	int core[2];
	bool schedstats;
};

FIXTURE_SETUP(force_idle)
{
	refused(setup_tree(_metadata, self->core));
	ASSERT_EQ(0, cs_schedstats(true, &self->schedstats));
}

FIXTURE_TEARDOWN(force_idle)
{
	cs_schedstats(self->schedstats, NULL);
	cs_cg_destroy(CG);
}

/* A task pinned to @cpu that spins in @cg until killed. */
static pid_t spinner(struct __test_metadata *_metadata, int cpu, const char *cg)
{
	pid_t parent = getpid(), pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		cs_die_with_parent(parent);
		if (cs_pin(cpu))
			_exit(1);
		for (;;)
			;
	}
	ASSERT_EQ(0, cg_enter(in_cg(cg), pid));
	return pid;
}

/* The forced idle charged to @pid so far, in ms: /proc/PID/sched. */
static double task_ms(pid_t pid)
{
	char buf[8192], *p;

	if (proc_read_text(pid, false, "sched", buf, sizeof(buf)) < 0)
		return -1;
	p = strstr(buf, "core_forceidle_sum");
	return p ? strtod(strchr(p, ':') + 1, NULL) : -1;
}

static long long cgroup_us(const char *cg)
{
	return cg_read_key_long(in_cg(cg), "cpu.stat", FORCE_IDLE " ");
}

/* The forced idle two spinners in @cg0 and @cg1 are charged, per cgroup and per task. */
static void pair(struct __test_metadata *_metadata, const int core[2],
		 const char *cg0, const char *cg1, long long *cg_us, double *ms)
{
	pid_t pid[2] = { spinner(_metadata, core[0], cg0), spinner(_metadata, core[1], cg1) };
	bool same = !strcmp(cg0, cg1);
	struct timespec ts = {
		.tv_sec = DURATION_NS / NSEC_PER_SEC,
		.tv_nsec = DURATION_NS % NSEC_PER_SEC,
	};
	int i;

	*ms = -task_ms(pid[0]) - task_ms(pid[1]);
	*cg_us = -cgroup_us(cg0) - (same ? 0 : cgroup_us(cg1));
	nanosleep(&ts, NULL);
	*ms += task_ms(pid[0]) + task_ms(pid[1]);
	*cg_us += cgroup_us(cg0) + (same ? 0 : cgroup_us(cg1));
	for (i = 0; i < 2; i++) {
		kill(pid[i], SIGKILL);
		waitpid(pid[i], NULL, 0);
	}
}

/* Two domains on a core cost forced idle; one next to none; none under off. */
TEST_F_TIMEOUT(force_idle, charged, 60)
{
	long long apart_us, together_us;
	double apart_ms, together_ms;

	pair(_metadata, self->core, "d1/c1", "d2", &apart_us, &apart_ms);
	pair(_metadata, self->core, "d1/c1", "d1/c1", &together_us, &together_ms);
	TH_LOG("forced idle: two domains %lld us (tasks %.1f ms), one %lld us (%.1f ms)",
	       apart_us, apart_ms, together_us, together_ms);
	if (cs_mode_off()) {
		ASSERT_EQ(0, apart_us);
		ASSERT_EQ(0, apart_ms);
		return;
	}
	ASSERT_LT(0, apart_us);
	ASSERT_LT(0, apart_ms);
	ASSERT_LE(0, together_us);
	ASSERT_LE(0, together_ms);
	ASSERT_LE(together_us * FI_CONTROL_RATIO, apart_us);
	ASSERT_LE(together_ms * FI_CONTROL_RATIO, apart_ms);
}

int main(int argc, char **argv)
{
	return test_harness_run(cs_options(argc, argv, "m:", NULL), argv);
}
