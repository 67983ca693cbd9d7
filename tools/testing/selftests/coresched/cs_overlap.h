/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Did two tasks run at the same time?  The measurement of the isolation
 * tests: CPU-bound worker processes, each pinned to one CPU, spin for a
 * fixed time.  Each iteration reads the clock and bumps the worker's count
 * in shared memory.
 *
 * When a task ran: a task that is not on its CPU cannot read the clock, so
 * a gap between two consecutive readings longer than CS_GAP_NS means it
 * was off its CPU (or its CPU was forced idle): the gap ends a running
 * segment.
 *
 * When two tasks ran at once: a worker whose partner's count moved by at
 * most CS_WITNESS_MAX since its own previous iteration saw the partner run
 * while it ran itself, each iteration of the pair taking a few hundred
 * nanoseconds.  Such iterations, joined while no more than CS_GAP_NS
 * apart, are the time the worker saw both run; the larger of the two
 * workers' figures is the overlap.  The clocks alone would say the same in
 * principle: where the segments of the two tasks intersect.  But in the
 * lab's TCG guest on a busy host, a task's readings sometimes miss its own
 * time off the CPU, and segments of isolated tasks then intersect for
 * milliseconds while neither worker ever saw the other's count move: the
 * intersection is printed for the record, the verdicts use the witnesses.
 *
 * The clock: CLOCK_MONOTONIC through the vDSO.  Measured in the lab's TCG
 * guest, a reading costs 40-50 ns (130-700 ns while both siblings spin on
 * a busy host); rdtsc costs 14 ns (40 ns) and is no better behaved.  Both
 * are far below CS_GAP_NS; a clock much slower than that (the vDSO falling
 * back to a system call) would blur the measurement: cs_measure() refuses
 * it.
 *
 * What the guest gave each task: every worker reads its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID), and the clock with it, when it starts, when
 * it sees the test begin and end a change at half time, and when it stops.
 * Its share of a part of the window is the CPU time between the two
 * readings that bound the part, over the time between them.  A worker
 * reads late when the host had descheduled its vCPU: its task stayed
 * current in the guest, which went on giving it CPU time (a quarter of a
 * second at times), so the reading has to carry its own time.  The
 * verdicts below rest on these shares.
 *
 * Workers are forked, pin themselves and wait; the test then gives each
 * its cookie or cgroup (by pid, from outside), and one event starts them
 * all.  At half time the test may change cookies or cgroups; the overlap
 * before and after the change are measured separately.  Workers are
 * partners two by two: 0 and 1, 2 and 3...
 */
#ifndef CS_OVERLAP_H
#define CS_OVERLAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CS_MAX_TASKS	8
#define CS_MAX_CPUS	64

/*
 * The longest gap between two clock readings that still counts as running.
 * One reading of the vDSO clock costs about 50 ns in the lab's TCG guest,
 * 200 ns when both siblings spin (the host's two cores are shared), but
 * the vCPU also takes the guest's timer interrupts and TCG's own exits:
 * gaps of 1-10 us happen thousands of times a second while the task never
 * left its CPU.  A context switch, a forced idle or a host preemption is
 * at least tens of microseconds.  A bridged gap counts as running, and
 * may join pieces of overlap, so the threshold is kept low: 20 us.
 */
#define CS_GAP_NS		20000ULL

/*
 * How far the partner's count may move between two of our iterations for
 * both to have run at once.  Running together, each moves by about one per
 * iteration of the other; a worker that was off its CPU while its partner
 * ran for more than a few microseconds sees it move by more.
 */
#define CS_WITNESS_MAX		64

/* The slowest clock reading that still resolves CS_GAP_NS. */
#define CS_CLOCK_MAX_NS		(CS_GAP_NS / 4)

/* Segments a worker can record; a worker that runs out fails the run. */
#define CS_MAX_SEGS		131072

/*
 * The verdicts, in percent of a measurement window.  Two figures judge a
 * pair of tasks: the CPU time the guest gave each (CLOCK_THREAD_CPUTIME_ID,
 * what the guest's scheduler accounted), and the overlap the workers saw.
 *
 * The guest's CPU time does not depend on the host: a vCPU thread that the
 * host deschedules leaves the task that was current on it current in the
 * guest, and the guest goes on accounting it CPU time (TCG has no steal
 * time).  Tasks that are never current at once on the two siblings get at
 * most 100% of the window between them; tasks free to share the core get
 * about 200%, whatever the host does.  That is the decisive criterion, and
 * the host cannot make one case look like the other.  The overlap the
 * workers see needs both vCPUs running on the host, which a busy host may
 * not give: it confirms isolation, and it shows the measurement can see
 * tasks run at once, but only the guest's CPU time says what the kernel
 * did.
 *
 * Isolated tasks may still overlap a little: when one sibling picks a task
 * of another cookie it runs it at once and sends the other sibling an IPI
 * to stop its task; until that CPU takes the IPI and schedules, both run.
 * Upstream core scheduling accepts that window: a few microseconds on
 * hardware, at each switch.  The lab has never seen a microsecond of it
 * under TCG (0.000% in every run).  0.1% of a 2 s window is 2 ms: room for
 * a few hundred such windows, far below what a kernel that lets the two
 * run for even one tick at a time adds up to.  And no single piece may
 * last longer than CS_ISOLATED_LONGEST_NS, half a tick at HZ=1000: a
 * hundred such windows, while a switch missed until the next tick lets
 * both run for up to a whole tick.
 */
#define CS_ISOLATED_MAX_PCT	0.1
#define CS_ISOLATED_LONGEST_NS	500000ULL
/*
 * How far the guest's CPU time of the pair may stray above 100% (isolated)
 * or below 200% (shared).  Isolated tasks exceed 100% while the IPI window
 * above lasts, and a vCPU that the host descheduled takes the IPI late,
 * its task current all the while.  In practice they stay below: on a busy
 * host a switch of the core from one task to the other leaves neither
 * current until the second sibling's vCPU runs again (66-98% seen).
 * Sharing tasks lose what the guest's other tasks take, and with cookies a
 * sibling is forced idle while a kernel thread, of no cookie, runs on the
 * other: on a busy host the vCPU that runs it may be descheduled for
 * milliseconds (173-200% seen).  40 points is half again the largest
 * loss seen, and leaves the two verdicts 20 points apart: no pair is both.
 */
#define CS_GUEST_SLACK_PCT	40.0
/*
 * Tasks that may share the core run at once for most of the window on an
 * idle host (80-90% under TCG).  But the lab's host is shared: a vCPU
 * thread that loses its host CPU looks like a task off its CPU, and two
 * tasks that each ran a fraction of the window overlap, when nothing keeps
 * them apart, about as much as chance makes them: the product of the two
 * fractions.  So the overlap of sharing is judged against chance, at least
 * CS_SHARED_MIN_CHANCE of it, and against a floor well above
 * CS_ISOLATED_MAX_PCT so that the two verdicts never meet.
 */
#define CS_SHARED_MIN_PCT	3.0
#define CS_SHARED_MIN_CHANCE	0.5
/*
 * The CPU time the guest must give each isolated task: core scheduling
 * takes turns, it must not starve one of them.
 */
#define CS_MIN_RAN_PCT		3.0

/*
 * The host can starve the guest: a vCPU thread that loses its host CPU
 * stops the task on it, while the guest still counts the time as the
 * task's.  Two such vCPUs may even be run in turn on one host CPU, and
 * tasks free to run together then seldom do.  So when the guest's CPU
 * time says that the tasks shared the core but the workers saw too little
 * of it, and a task really ran less than CS_HOST_MIN_SHARE of what the
 * guest gave it, the overlap is the host's doing: the measurement is
 * repeated, CS_TRIES times in all, and then reported as no verdict (a
 * skip).  Nothing else is ever the host's doing: every other shortfall
 * fails.
 */
#define CS_HOST_MIN_SHARE	0.5
#define CS_TRIES		3

/*
 * The window lengths the tests accept (-d): a shorter one holds too few
 * turns of the scheduler to judge, a longer one too many segments.
 */
#define CS_MIN_MS		100
#define CS_MAX_MS		60000

#define NSEC_PER_MSEC		1000000ULL
#define NSEC_PER_SEC		1000000000ULL

struct cs_seg {
	uint64_t start, end;		/* CLOCK_MONOTONIC, ns */
};

/* One worker: its CPU and, after the run, its running segments. */
struct cs_task {
	int cpu;
	pid_t pid;
	unsigned int nr_segs, nr_both;
	bool overflow;
	struct cs_seg *segs;
	struct cs_seg *both;	/* when it saw its partner run too */
};

struct cs_run;
/* A test's hook: 0 or -errno, which fails the run.  run->arg is its own. */
typedef int (*cs_hook_t)(struct cs_run *run);

struct cs_run {
	/* Set by the test before cs_measure(). */
	int nr_tasks;
	uint64_t duration_ns;
	/* With the workers pinned and waiting: give them cookies, cgroups. */
	cs_hook_t setup;
	/* At half time, with the workers spinning; NULL for none. */
	cs_hook_t midway;
	void *arg;

	/* Results. */
	struct cs_task task[CS_MAX_TASKS];
	uint64_t t_start, t_end;	/* the measurement window */
	uint64_t t_mid_begin, t_mid_end;	/* when midway() ran */
	void *shm;
	size_t shm_size;
};

/* The parts of a run that cs_window() can select. */
enum cs_part {
	CS_WHOLE,	/* the whole window */
	CS_BEFORE,	/* up to the start of midway() */
	CS_AFTER,	/* from the end of midway() on */
};

uint64_t cs_now(void);
/* What one CLOCK_MONOTONIC reading costs here, in ns. */
double cs_clock_cost_ns(void);

struct cs_topo {
	int cpus;		/* online CPUs */
	int packages;		/* distinct physical_package_id */
	int cores;		/* distinct cores per package (max) */
	int threads;		/* threads per core (max) */
	int threads_min;	/* threads per core (min) */
};

int cs_topology(struct cs_topo *topo);

/*
 * Fork the workers on run->task[i].cpu, call setup(), start them at once,
 * call midway() at half time, wait for them.  0 or -errno (-ETIME: the
 * clock is too slow, -ENOSPC: a worker ran out of segments); on success,
 * the segments stay readable until cs_run_free().
 */
int cs_measure(struct cs_run *run);
void cs_run_free(struct cs_run *run);

void cs_window(const struct cs_run *run, enum cs_part part,
	       uint64_t *from, uint64_t *to);
/* Time task @i ran in [@from, @to). */
uint64_t cs_ran_ns(const struct cs_run *run, int i, uint64_t from, uint64_t to);
/* Time task @i saw its partner run while it ran, in [@from, @to). */
uint64_t cs_both_ns(const struct cs_run *run, int i, uint64_t from, uint64_t to);
/* Where the segments of tasks @i and @j intersect: the clocks' word only. */
uint64_t cs_clock_overlap_ns(const struct cs_run *run, int i, int j,
			     uint64_t from, uint64_t to);

/* The figures of one part of a two-task run, in percent of its window. */
struct cs_result {
	double overlap;		/* both at once */
	double both[2];		/* co-running as each task witnessed it */
	uint64_t longest_ns;	/* the longest piece of it */
	double clock_overlap;	/* the segments' intersection: see above */
	double ran[2];		/* each task */
	double chance;		/* ran[0] * ran[1]: overlap if independent */
	double guest[2];	/* the CPU time the guest gave each task */
	double guest_sum;	/* guest[0] + guest[1] */
	uint64_t window_ns;
	unsigned int segs[2];	/* running segments of each task */
};

void cs_result(const struct cs_run *run, enum cs_part part,
	       struct cs_result *res);
/*
 * "overlap 0.010% of 1000 ms (...); ran 48.2% + 47.9% in 120 + 118
 * segments; guest CPU 50.1% + 49.8% = 99.9%"
 */
void cs_format(char *buf, size_t size, const struct cs_result *res);

/* What a part of a run must show. */
enum cs_expect {
	CS_ISOLATED,	/* never at once */
	CS_SHARED,	/* at once: the positive control */
};

/* Verdicts. */
#define CS_PASS		1
#define CS_FAIL		0
#define CS_STARVED	(-1)	/* the host kept the tasks apart: no verdict */

/*
 * CS_ISOLATED: the guest's CPU sum at most 100% + CS_GUEST_SLACK_PCT, each
 * task CS_MIN_RAN_PCT of it, the overlap within CS_ISOLATED_MAX_PCT and
 * CS_ISOLATED_LONGEST_NS; never CS_STARVED.  CS_SHARED: the sum at least
 * 200% - CS_GUEST_SLACK_PCT (else CS_FAIL), and the overlap at least
 * CS_SHARED_MIN_PCT and CS_SHARED_MIN_CHANCE of chance; CS_STARVED if only
 * the overlap falls short, and the host starved a task (CS_HOST_MIN_SHARE).
 */
int cs_verdict(const struct cs_result *res, enum cs_expect expect);
/* The figures that decided cs_verdict(), in words. */
void cs_explain(char *buf, size_t size, const struct cs_result *res,
		enum cs_expect expect);

/* The common setups of two tasks: cookies of their own, or one cookie. */
int cs_setup_differ(struct cs_run *run);
int cs_setup_same(struct cs_run *run);

/*
 * A judged measurement of two tasks: measured with cs_measure() and judged
 * with cs_verdict(), again while the host starves them, CS_TRIES times at
 * most.
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
	/*
	 * After each try, while @run can still be read; NULL prints the
	 * figures of each part as TAP diagnostics, cs_format().
	 */
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

#ifdef __KSELFTEST_H
/*
 * The test result of @t, "NAME: CLAIM (figures)"; no verdict is a skip.
 * In the header: kselftest.h keeps its counters per compilation unit, so
 * this must be compiled into the test's own.
 */
static inline void cs_report(const struct cs_trial *t, const char *claim)
{
	char why[512];

	cs_trial_explain(why, sizeof(why), t);
	if (t->verdict == CS_STARVED)
		ksft_test_result_skip("host too busy: %s: %s (%s)\n",
				      t->name, claim, why);
	else
		ksft_test_result(t->verdict == CS_PASS, "%s: %s (%s)\n",
				 t->name, claim, why);
}
#endif

/*
 * Forced idle (cpu.stat's core_sched.force_idle_usec) is only accounted
 * with schedstats on: set kernel.sched_schedstats to @on, the old value in
 * @old.  0 or -errno.
 */
int cs_schedstats(int on, int *old);

/* Give @pid a new prctl cookie of its own (thread scope). */
int cs_cookie_new(pid_t pid);
/* Give @to the prctl cookie of @from, without touching the caller's. */
int cs_cookie_copy(pid_t from, pid_t to);

/*
 * In a child just forked by @parent: be killed when it dies.  A test that
 * its timeout kills must leave nothing spinning to disturb the next one.
 * Exits if @parent is already gone.
 */
void cs_die_with_parent(pid_t parent);

/*
 * A number option: @s, all digits, in [@min, @max], in @val.  0, or
 * -EINVAL.
 */
int cs_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *val);

/* A /proc/meminfo field ("SUnreclaim"), in kB: -1 if absent. */
long cs_meminfo_kb(const char *key);

#endif /* CS_OVERLAP_H */
