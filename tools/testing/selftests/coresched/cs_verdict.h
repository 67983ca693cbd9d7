/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The verdicts on a measurement of two tasks (cs_overlap.h), in percent of
 * its window.  The CPU time the kernel gave them decides, whatever a host
 * below does (a descheduled virtual CPU leaves its task current): at most
 * 100% between them if never current at once, about 200% if free to share.
 * The overlap the workers saw needs both CPUs really running, which a busy
 * host may not give: it confirms isolation, and shows sharing can be seen.
 */
#ifndef CS_VERDICT_H
#define CS_VERDICT_H

#include "cs_overlap.h"

/*
 * Isolated tasks overlap until the IPI that stops the other sibling lands,
 * a few microseconds per switch, as upstream accepts: 0.1% of 2 s is room
 * for hundreds, far below a tick at a time; and no piece over half a tick
 * at HZ=1000, which a missed switch would last.
 */
#define CS_ISOLATED_MAX_PCT	0.1
#define CS_ISOLATED_LONGEST_NS	500000ULL
/*
 * The pair's CPU time may stray above 100% (the IPI window, longer if the
 * host delays it) or below 200% (other tasks; forced idle beside a kernel
 * thread): 40 points keep the verdicts 20 apart.
 */
#define CS_GUEST_SLACK_PCT	40.0
/*
 * Sharing tasks that a host lets run fractions of the window overlap about
 * as chance makes them (the product): sharing is judged against chance,
 * and a floor well above CS_ISOLATED_MAX_PCT.
 */
#define CS_SHARED_MIN_PCT	3.0
#define CS_SHARED_MIN_CHANCE	0.5
/* Core scheduling takes turns: it must not starve either isolated task. */
#define CS_MIN_RAN_PCT		3.0
/*
 * Shared by the CPU time but too little overlap seen, with a task that
 * really ran under CS_HOST_MIN_SHARE of its CPU time: the host kept them
 * apart.  Tried CS_TRIES times, then no verdict (a skip); else it fails.
 */
#define CS_HOST_MIN_SHARE	0.5
#define CS_TRIES		3

enum cs_expect {
	CS_ISOLATED,	/* never at once */
	CS_SHARED,	/* at once: the positive control */
};

#define CS_PASS		1
#define CS_FAIL		0
#define CS_STARVED	(-1)	/* the host kept the tasks apart: no verdict */

int cs_verdict(const struct cs_result *res, enum cs_expect expect);

/* A judged measurement of two tasks, again while the host starves them. */
struct cs_trial {
	const char *name;
	int cpu[2];
	uint64_t duration_ns;
	cs_hook_t setup, midway;	/* as in struct cs_run */
	void *arg;			/* the hooks' run->arg */
	/* The whole run, or before and after midway(). */
	enum cs_expect expect[2];
	/* After each try, while @run can be read; NULL: print the figures. */
	void (*tried)(const struct cs_trial *t, const struct cs_run *run);

	/* Results of the last try: */
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
/* Run @t: fail the test on a failing verdict, skip it without one; true if it passed. */
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
