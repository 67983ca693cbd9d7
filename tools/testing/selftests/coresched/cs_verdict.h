/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdicts on a measurement of two tasks (cs_overlap.h), in percent of
 * its window.  Two figures judge a pair: the CPU time the kernel gave each
 * (CLOCK_THREAD_CPUTIME_ID, what its scheduler accounted), and the overlap
 * the workers saw.
 *
 * The CPU time does not depend on a hypervisor below: a virtual CPU that
 * its host deschedules leaves the task that was current on it current,
 * still charged for the time.  Tasks never current at once on the two
 * siblings get at most 100% of the window between them; tasks free to
 * share the core get about 200%, whatever the host does.  That criterion
 * decides; the overlap the workers see needs both CPUs really running,
 * which a busy host may not give: it confirms isolation, and it shows that
 * the measurement can see tasks run at once.
 */
#ifndef CS_VERDICT_H
#define CS_VERDICT_H

#include "cs_overlap.h"

/*
 * Isolated tasks may still overlap a little: a sibling that picks a task
 * of another cookie runs it at once and sends the other sibling an IPI to
 * stop its task; until that CPU takes the IPI, both run.  Upstream core
 * scheduling accepts that window, a few microseconds at each switch.  0.1%
 * of a 2 s window is room for hundreds of them, far below what a kernel
 * that lets the two run for one tick at a time adds up to; and no piece
 * may last longer than half a tick at HZ=1000, where a missed switch lets
 * both run until the next tick.
 */
#define CS_ISOLATED_MAX_PCT	0.1
#define CS_ISOLATED_LONGEST_NS	500000ULL
/*
 * How far the CPU time of the pair may stray above 100% (isolated) or
 * below 200% (shared).  Isolated tasks exceed 100% while the IPI window
 * above lasts, longer if the host delays the IPI.  Sharing tasks lose what
 * the other tasks of the machine take, and with cookies a sibling is
 * forced idle while a kernel thread, of no cookie, runs on the other.  40
 * points leave the two verdicts 20 points apart: no pair is both.
 */
#define CS_GUEST_SLACK_PCT	40.0
/*
 * Tasks that may share the core run at once for most of the window on an
 * idle machine.  But a virtual CPU that loses its host CPU looks like a
 * task off its CPU, and two tasks that each ran a fraction of the window
 * overlap, when nothing keeps them apart, about as much as chance makes
 * them: the product of the fractions.  So sharing is judged against chance,
 * at least CS_SHARED_MIN_CHANCE of it, and against a floor well above
 * CS_ISOLATED_MAX_PCT so that the two verdicts never meet.
 */
#define CS_SHARED_MIN_PCT	3.0
#define CS_SHARED_MIN_CHANCE	0.5
/* Core scheduling takes turns: it must not starve either isolated task. */
#define CS_MIN_RAN_PCT		3.0
/*
 * When the CPU time says that the tasks shared the core but the workers
 * saw too little of it, and a task really ran less than CS_HOST_MIN_SHARE
 * of what the kernel gave it, the host kept them apart: the measurement is
 * repeated, CS_TRIES times in all, then reported as no verdict (a skip).
 * Every other shortfall fails.
 */
#define CS_HOST_MIN_SHARE	0.5
#define CS_TRIES		3

/* What a part of a run must show. */
enum cs_expect {
	CS_ISOLATED,	/* never at once */
	CS_SHARED,	/* at once: the positive control */
};

#define CS_PASS		1
#define CS_FAIL		0
#define CS_STARVED	(-1)	/* the host kept the tasks apart: no verdict */

int cs_verdict(const struct cs_result *res, enum cs_expect expect);

/*
 * A judged measurement of two tasks, measured again while the host starves
 * them, CS_TRIES times at most.
 */
struct cs_trial {
	/* Set by the test. */
	const char *name;
	int cpu[2];
	uint64_t duration_ns;
	cs_hook_t setup, midway;	/* as in struct cs_run */
	void *arg;			/* the hooks' run->arg */
	/* The whole run, or before and after midway(). */
	enum cs_expect expect[2];
	/* After each try, while @run can be read; NULL: print the figures. */
	void (*tried)(const struct cs_trial *t, const struct cs_run *run);

	/* Results, of the last try. */
	int try;
	int parts;			/* 1, or 2 with midway() */
	struct cs_result res[2];
	int verdict;			/* the worst part's, CS_FAIL on error */
	int err;			/* -errno: the measurement failed */
	bool last;			/* no try follows this one */
};

/* Run @t to a verdict: 0, or -errno if a measurement failed. */
int cs_trial(struct cs_trial *t);
/* cs_explain() of each part of @t, or why it could not be measured. */
void cs_trial_explain(char *buf, size_t size, const struct cs_trial *t);

#ifdef __KSELFTEST_HARNESS_H
/*
 * Run @t: fail the test on a failing verdict, skip it without a verdict.
 * True if it passed.
 */
static inline bool cs_assert_trial(struct __test_metadata *_metadata,
				   struct cs_trial *t)
{
	char why[512];

	cs_trial(t);
	cs_trial_explain(why, sizeof(why), t);
	if (t->verdict == CS_STARVED)
		SKIP(return false, "host too busy: %s", why);
	ASSERT_EQ(CS_PASS, t->verdict)
		TH_LOG("%s: %s", t->name, why);
	return true;
}
#endif

#endif /* CS_VERDICT_H */
