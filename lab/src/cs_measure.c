// SPDX-License-Identifier: GPL-2.0
/*
 * The measurements of "make run"'s demonstration (lab/guest/demo.sh), with
 * the selftests' own measurement and verdicts (cs_overlap.h, cs_verdict.h
 * in tools/testing/selftests/coresched): one line of key=value
 * pairs per result, for the host to format.  Not a test: the exit code is
 * 1 if a measurement contradicts what core scheduling claims, 2 if one
 * could not be made, 3 if the host starved the guest too much for a
 * verdict (see cs_verdict()).
 *
 * usage: cs_measure topo
 *          "topo cpus=2 packages=1 cores=1 threads=2 smt=1 core=0,1",
 *          then "limits ...": the thresholds of the verdicts
 *        cs_measure cookies [-d MS]
 *          two tasks on the two siblings of one core, with different
 *          prctl cookies, then with the same: a "measure" line each
 *        cs_measure tenants [-d MS]
 *          two cgroups with cpu.core_sched=1, one task in each: a
 *          "measure" line with the forced idle charged to each
 *        cs_measure untagged [-d MS]
 *          two tasks with no cookie and no domain, judged as if they
 *          should be isolated: on a kernel that lets them share the core
 *          (coresched=off, or no core scheduling) this must say
 *          "contradicted", the proof that the isolated verdict can fail
 *
 * A "measure" line: name=, try=, expect=isolated|shared, overlap_pct=
 * (both at once, as the workers saw it), seen_a_pct=, seen_b_pct= (as each
 * saw it), longest_us= (its longest piece), clock_overlap_pct= (as the
 * clocks say: see cs_overlap.h), chance_pct=, ran_a_pct=, ran_b_pct=,
 * guest_a_pct=, guest_b_pct=, guest_sum_pct= (the CPU time the guest gave
 * each task, and both), segs_a=, segs_b=, window_ms=, gap_us=, strip_ms=,
 * strip_a=, strip_b= (STRIP_MS ms of the window in STRIP_LEN cells: '#'
 * ran most of the cell, '+' part of it, '.' not at all), then
 * verdict=ok|contradicted|starved.  A "starved" try is followed by
 * another, CS_TRIES in all: the last line of a name is its result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_verdict.h"

#define CG		"cs_demo"
#define FORCE_IDLE	"core_sched.force_idle_usec "

/*
 * The window lengths -d accepts: a shorter one holds too few turns of the
 * scheduler to judge, a longer one too many segments.
 */
#define CS_MIN_MS	100
#define CS_MAX_MS	60000

#define STRIP_MS	40
#define STRIP_LEN	80

static uint64_t duration_ns = 2000 * NSEC_PER_MSEC;
static int core[2];
static int status;	/* the exit code so far */

static int setup_tenants(struct cs_run *run)
{
	return cg_enter(CG "/a", run->task[0].pid) ?:
	       cg_enter(CG "/b", run->task[1].pid);
}

/* Both at once in [@from, @to), as the workers saw it. */
static uint64_t both_ns(const struct cs_run *run, uint64_t from, uint64_t to)
{
	uint64_t a = cs_both_ns(run, 0, from, to), b = cs_both_ns(run, 1, from, to);

	return a > b ? a : b;
}

/*
 * The STRIP_MS of the window where the less running task ran most: on a
 * busy host a vCPU can lose its CPU for tens of milliseconds, and a strip
 * where one task never ran shows nothing.  Stretches where the clocks
 * claim more overlap than the workers saw (cs_overlap.h) are passed over:
 * their segments are not to be drawn.
 */
static uint64_t strip_start(const struct cs_run *run)
{
	uint64_t len = STRIP_MS * NSEC_PER_MSEC, step = len / 4;
	uint64_t from, best = run->t_start, best_ran = 0, a, b, to;

	for (from = run->t_start; from + len <= run->t_end; from += step) {
		to = from + len;
		if (cs_clock_overlap_ns(run, 0, 1, from, to) >
		    both_ns(run, from, to) + len / 100)
			continue;
		a = cs_ran_ns(run, 0, from, to);
		b = cs_ran_ns(run, 1, from, to);
		if ((a < b ? a : b) > best_ran) {
			best_ran = a < b ? a : b;
			best = from;
		}
	}
	return best;
}

/* When task @i ran in the STRIP_MS from @from. */
static void strip(const struct cs_run *run, int i, uint64_t from, char *out)
{
	uint64_t cell = STRIP_MS * NSEC_PER_MSEC / STRIP_LEN, ran;
	int k;

	for (k = 0; k < STRIP_LEN; k++, from += cell) {
		ran = cs_ran_ns(run, i, from, from + cell);
		out[k] = ran * 2 >= cell ? '#' : ran ? '+' : '.';
	}
	out[STRIP_LEN] = '\0';
}

/*
 * After each try: its "measure" line, ended here if another try follows
 * (verdict=starved), else by the caller, end_line().
 */
static void print_try(const struct cs_trial *t, const struct cs_run *run)
{
	const struct cs_result *res = &t->res[0];
	char a[STRIP_LEN + 1], b[STRIP_LEN + 1];
	uint64_t from = strip_start(run);

	strip(run, 0, from, a);
	strip(run, 1, from, b);
	printf("measure name=%s try=%d expect=%s", t->name, t->try,
	       t->expect[0] == CS_SHARED ? "shared" : "isolated");
	printf(" overlap_pct=%.3f seen_a_pct=%.3f seen_b_pct=%.3f",
	       res->overlap, res->both[0], res->both[1]);
	printf(" longest_us=%llu clock_overlap_pct=%.3f",
	       (unsigned long long)(res->longest_ns / 1000), res->clock_overlap);
	printf(" chance_pct=%.1f ran_a_pct=%.1f ran_b_pct=%.1f",
	       res->chance, res->ran[0], res->ran[1]);
	printf(" guest_a_pct=%.1f guest_b_pct=%.1f guest_sum_pct=%.1f",
	       res->guest[0], res->guest[1], res->guest_sum);
	printf(" segs_a=%u segs_b=%u window_ms=%llu gap_us=%llu",
	       res->segs[0], res->segs[1],
	       (unsigned long long)(res->window_ns / NSEC_PER_MSEC),
	       (unsigned long long)(CS_GAP_NS / 1000));
	printf(" strip_ms=%d strip_a=%s strip_b=%s", STRIP_MS, a, b);
	if (!t->last)
		printf(" verdict=starved\n");
}

/* End the last "measure" line; the exit code follows the worst verdict. */
static void end_line(int v)
{
	const char *word = v == CS_PASS ? "ok" : v == CS_STARVED ? "starved" :
			   "contradicted";

	printf(" verdict=%s\n", word);
	if (v == CS_FAIL)
		status = 1;
	else if (v == CS_STARVED && !status)
		status = 3;
}

/* Measure as the tests do: 0, or -errno (the last line not begun). */
static int measure(struct cs_trial *t, const char *name, cs_hook_t setup,
		   enum cs_expect expect)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->cpu[0] = core[0];
	t->cpu[1] = core[1];
	t->duration_ns = duration_ns;
	t->setup = setup;
	t->expect[0] = expect;
	t->tried = print_try;
	return cs_trial(t);
}

static int show_topo(void)
{
	struct cs_topo t;
	int cpu, n = 0, ret;
	cpu_set_t sib;
	bool sibs;

	ret = cs_topology(&t);
	if (ret) {
		fprintf(stderr, "cs_measure: topology: %s\n", strerror(-ret));
		return 2;
	}
	printf("topo cpus=%d packages=%d cores=%d threads=%d smt=%d core=",
	       t.cpus, t.packages, t.cores, t.threads, t.threads > 1);
	sibs = cs_cpu_siblings(0, &sib);
	for (cpu = 0; sibs && cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &sib))
			printf("%s%d", n++ ? "," : "", cpu);
	}
	printf("\n");
	printf("limits gap_us=%llu isolated_max_pct=%.1f isolated_longest_us=%llu",
	       (unsigned long long)(CS_GAP_NS / 1000), CS_ISOLATED_MAX_PCT,
	       CS_ISOLATED_LONGEST_NS / 1000);
	printf(" min_ran_pct=%.1f guest_slack_pct=%.0f", CS_MIN_RAN_PCT,
	       CS_GUEST_SLACK_PCT);
	printf(" shared_min_pct=%.1f shared_min_chance=%.1f host_min_share=%.1f tries=%d\n",
	       CS_SHARED_MIN_PCT, CS_SHARED_MIN_CHANCE, CS_HOST_MIN_SHARE, CS_TRIES);
	return 0;
}

static int demo_cookies(void)
{
	struct cs_trial t;

	if (measure(&t, "different-cookies", cs_setup_differ, CS_ISOLATED))
		return 2;
	end_line(t.verdict);
	if (measure(&t, "same-cookie", cs_setup_same, CS_SHARED))
		return 2;
	end_line(t.verdict);
	return status;
}

/* The proof that "isolated" can fail: see the usage above. */
static int demo_untagged(void)
{
	struct cs_trial t;

	if (measure(&t, "untagged", NULL, CS_ISOLATED))
		return 2;
	end_line(t.verdict);
	return status;
}

static long long force_idle_us(const char *cg)
{
	return cg_read_key_long(cg, "cpu.stat", FORCE_IDLE);
}

static int demo_tenants(void)
{
	struct cs_trial t;
	long long a, b;
	bool old = false;
	int ret, err;

	if (cs_cgroup_root()) {
		fprintf(stderr, "cs_measure: no cgroup v2\n");
		return 2;
	}
	cs_cg_destroy(CG);
	if (cg_write(".", "cgroup.subtree_control", "+cpu") ||
	    cs_cg_make(CG, true) || cs_cg_make(CG "/a", false) ||
	    cs_cg_make(CG "/b", false) || cs_cg_tag(CG "/a", true) ||
	    cs_cg_tag(CG "/b", true)) {
		fprintf(stderr, "cs_measure: cannot make two tagged cgroups\n");
		cs_cg_destroy(CG);
		return 2;
	}
	ret = cs_schedstats(true, &old);
	a = force_idle_us(CG "/a");
	b = force_idle_us(CG "/b");
	err = measure(&t, "tenants", setup_tenants, CS_ISOLATED);
	if (!err) {
		a = force_idle_us(CG "/a") - a;
		b = force_idle_us(CG "/b") - b;
		printf(" force_idle_a_us=%lld force_idle_b_us=%lld", a, b);
		/* Isolation costs forced idle: none accounted contradicts it. */
		end_line(ret || a + b <= 0 ? CS_FAIL : t.verdict);
	}
	if (!ret)
		cs_schedstats(old, NULL);
	cs_cg_destroy(CG);
	return err ? 2 : status;
}

/* The exit code of a bad command line. */
static int bad_usage(void)
{
	fprintf(stderr, "usage: cs_measure topo|cookies|tenants|untagged [-d MS]   (MS: %d..%d)\n",
		CS_MIN_MS, CS_MAX_MS);
	return 2;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	unsigned long long ms;
	int opt;

	if (strcmp(what, "topo") && strcmp(what, "cookies") &&
	    strcmp(what, "tenants") && strcmp(what, "untagged"))
		return bad_usage();
	optind = 2;
	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd' || cs_parse_num(optarg, CS_MIN_MS, CS_MAX_MS, &ms))
			return bad_usage();
		duration_ns = ms * NSEC_PER_MSEC;
	}
	if (optind != argc)
		return bad_usage();
	if (!strcmp(what, "topo"))
		return show_topo();
	if (cs_find_siblings(core)) {
		fprintf(stderr, "cs_measure: no SMT core\n");
		return 2;
	}
	if (!strcmp(what, "cookies"))
		return demo_cookies();
	if (!strcmp(what, "tenants"))
		return demo_tenants();
	return demo_untagged();
}
