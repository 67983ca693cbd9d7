// SPDX-License-Identifier: GPL-2.0
/* The verdicts on the overlap measurement, see cs_verdict.h. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cs_verdict.h"

/* The least overlap that shows sharing: see CS_SHARED_MIN_CHANCE. */
static double shared_floor(const struct cs_result *res)
{
	double least = CS_SHARED_MIN_CHANCE * res->chance;

	return least > CS_SHARED_MIN_PCT ? least : CS_SHARED_MIN_PCT;
}

/* At most 100% between them, and a turn each. */
static bool guest_apart(const struct cs_result *res)
{
	return res->guest_sum <= 100 + CS_GUEST_SLACK_PCT &&
	       res->guest[0] >= CS_MIN_RAN_PCT && res->guest[1] >= CS_MIN_RAN_PCT;
}

static bool guest_together(const struct cs_result *res)
{
	return res->guest_sum >= 200 - CS_GUEST_SLACK_PCT;
}

static bool seen_apart(const struct cs_result *res)
{
	return res->overlap <= CS_ISOLATED_MAX_PCT &&
	       res->longest_ns <= CS_ISOLATED_LONGEST_NS;
}

/* The host ran a task much less than the kernel did. */
static bool host_starved(const struct cs_result *res)
{
	return res->ran[0] < CS_HOST_MIN_SHARE * res->guest[0] ||
	       res->ran[1] < CS_HOST_MIN_SHARE * res->guest[1];
}

int cs_verdict(const struct cs_result *res, enum cs_expect expect)
{
	if (expect == CS_ISOLATED)
		return guest_apart(res) && seen_apart(res) ? CS_PASS : CS_FAIL;
	if (!guest_together(res))
		return CS_FAIL;
	if (res->overlap >= shared_floor(res))
		return CS_PASS;
	return host_starved(res) ? CS_STARVED : CS_FAIL;
}

static const char *le(double a, double b)
{
	return a <= b ? "<=" : ">";
}

static const char *ge(double a, double b)
{
	return a >= b ? ">=" : "<";
}

/* printf() at the end of the string in @buf. */
static void add(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* The figures that decided cs_verdict(), in words. */
static void cs_explain(char *buf, size_t size, const struct cs_result *res,
		       enum cs_expect expect)
{
	double least = shared_floor(res);

	buf[0] = '\0';
	add(buf, size, "CPU %.1f%% + %.1f%% = %.1f%% ",
	    res->guest[0], res->guest[1], res->guest_sum);
	if (expect == CS_ISOLATED) {
		add(buf, size, "%s %.0f%%", le(res->guest_sum, 100 + CS_GUEST_SLACK_PCT),
		    100 + CS_GUEST_SLACK_PCT);
		if (res->guest[0] < CS_MIN_RAN_PCT || res->guest[1] < CS_MIN_RAN_PCT)
			add(buf, size, ", a task under %.0f%%", CS_MIN_RAN_PCT);
		add(buf, size, ", overlap %.3f%% %s %.1f%%, longest %llu us %s %llu us",
		    res->overlap, le(res->overlap, CS_ISOLATED_MAX_PCT),
		    CS_ISOLATED_MAX_PCT, (unsigned long long)(res->longest_ns / 1000),
		    le(res->longest_ns, CS_ISOLATED_LONGEST_NS),
		    CS_ISOLATED_LONGEST_NS / 1000);
		return;
	}
	add(buf, size, "%s %.0f%%", ge(res->guest_sum, 200 - CS_GUEST_SLACK_PCT),
	    200 - CS_GUEST_SLACK_PCT);
	if (guest_together(res) && res->overlap < least && host_starved(res))
		add(buf, size,
		    ": both tasks were current at once, but overlap %.2f%% < %.2f%%, the host running them %.1f%% + %.1f%% of the time",
		    res->overlap, least, res->ran[0], res->ran[1]);
	else
		add(buf, size, ", overlap %.2f%% %s %.2f%%", res->overlap,
		    ge(res->overlap, least), least);
}

/* The TAP diagnostics of a try, when the test has no tried() of its own. */
static void print_try(const struct cs_trial *t)
{
	static const char * const part[] = { ", before", ", after" };
	char buf[512];
	int i;

	for (i = 0; i < t->parts; i++) {
		cs_format(buf, sizeof(buf), &t->res[i]);
		printf("# %s%s: %s\n", t->name, t->parts > 1 ? part[i] : "", buf);
	}
	if (!t->last)
		printf("# %s: no verdict, trying again: %s\n", t->name,
		       "the CPU time shows both tasks current, the host starved the CPUs");
}

/* The worst part decides: a failure, else no verdict, else a pass. */
static int judge(struct cs_trial *t)
{
	int i, pv, v = CS_PASS;

	for (i = 0; i < t->parts; i++) {
		pv = cs_verdict(&t->res[i], t->expect[i]);
		if (pv == CS_FAIL)
			v = CS_FAIL;
		else if (pv == CS_STARVED && v == CS_PASS)
			v = CS_STARVED;
	}
	return v;
}

int cs_trial(struct cs_trial *t)
{
	struct cs_run run;

	t->parts = t->midway ? 2 : 1;
	t->verdict = CS_FAIL;
	t->err = 0;
	for (t->try = 1; t->try <= CS_TRIES; t->try++) {
		memset(&run, 0, sizeof(run));
		run.nr_tasks = 2;
		run.duration_ns = t->duration_ns;
		run.setup = t->setup;
		run.midway = t->midway;
		run.arg = t->arg;
		run.task[0].cpu = t->cpu[0];
		run.task[1].cpu = t->cpu[1];
		t->err = cs_measure(&run);
		if (t->err) {
			printf("# %s: measurement failed: %s\n", t->name,
			       strerror(-t->err));
			t->verdict = CS_FAIL;
			return t->err;
		}
		cs_result(&run, t->midway ? CS_BEFORE : CS_WHOLE, &t->res[0]);
		if (t->midway)
			cs_result(&run, CS_AFTER, &t->res[1]);
		t->verdict = judge(t);
		t->last = t->verdict != CS_STARVED || t->try == CS_TRIES;
		if (t->tried)
			t->tried(t, &run);
		else
			print_try(t);
		cs_run_free(&run);
		if (t->last)
			break;
	}
	return 0;
}

void cs_trial_explain(char *buf, size_t size, const struct cs_trial *t)
{
	static const char * const part[] = { "before: ", "; after: " };
	size_t n;
	int i;

	buf[0] = '\0';
	if (t->err) {
		add(buf, size, "measurement failed: %s", strerror(-t->err));
		return;
	}
	for (i = 0; i < t->parts; i++) {
		add(buf, size, "%s", t->parts > 1 ? part[i] : "");
		n = strlen(buf);
		cs_explain(buf + n, size - n, &t->res[i], t->expect[i]);
	}
}
