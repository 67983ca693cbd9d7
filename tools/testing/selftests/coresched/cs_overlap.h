/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Did two tasks run at the same time?  The measurement of the isolation
 * tests (cs_verdict.h judges it): CPU-bound worker processes, each pinned
 * to one CPU, spin for a fixed time.  Each iteration reads the clock and
 * bumps the worker's count in shared memory.
 *
 * When a task ran: a task that is not on its CPU cannot read the clock, so
 * a gap between two consecutive readings longer than CS_GAP_NS means it
 * was off its CPU (or its CPU was forced idle): the gap ends a running
 * segment.
 *
 * When two tasks ran at once: a worker whose partner's count moved by at
 * most CS_WITNESS_MAX since its own previous iteration saw the partner run
 * while it ran itself.  Such iterations, joined while no more than
 * CS_GAP_NS apart, are the time the worker saw both run; the larger of the
 * two workers' figures is the overlap.  The clocks alone would say the
 * same in principle (where the segments of the two tasks intersect), but a
 * virtual CPU that its host preempts can miss its own time off the CPU, and
 * segments of isolated tasks then intersect while neither worker ever saw
 * the other's count move: the intersection is only printed.
 *
 * What the kernel gave each task: every worker reads its own CPU time
 * (CLOCK_THREAD_CPUTIME_ID), and the clock with it, when it starts, when
 * it sees the test begin and end a change at half time, and when it stops.
 * Its share of a part of the window is the CPU time between the two
 * readings that bound the part, over the time between them.  A reading
 * carries its own time because a worker may read late: a virtual CPU that
 * the host preempted kept the task current, and charged it the time.
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

#include "cs_util.h"

#define CS_MAX_TASKS	8

/*
 * The longest gap between two clock readings that still counts as running.
 * A reading costs well under a microsecond, but a virtual CPU takes timer
 * interrupts and exits to its host: gaps of a few microseconds come by the
 * thousand while the task never left its CPU.  A context switch, a forced
 * idle or a host preemption is at least tens of microseconds.  A bridged
 * gap counts as running and may join pieces of overlap: so, low.
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

/* The parts of a run. */
enum cs_part {
	CS_WHOLE,	/* the whole window */
	CS_BEFORE,	/* up to the start of midway() */
	CS_AFTER,	/* from the end of midway() on */
};

/* What one CLOCK_MONOTONIC reading costs here, in ns. */
double cs_clock_cost_ns(void);

/*
 * Fork the workers on run->task[i].cpu, call setup(), start them at once,
 * call midway() at half time, wait for them.  0 or -errno (-ETIME: the
 * clock is too slow, -ENOSPC: a worker ran out of segments); on success,
 * the segments stay readable until cs_run_free().
 */
int cs_measure(struct cs_run *run);
void cs_run_free(struct cs_run *run);

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
	double guest[2];	/* the CPU time the kernel gave each task */
	double guest_sum;	/* guest[0] + guest[1] */
	uint64_t window_ns;
	unsigned int segs[2];	/* running segments of each task */
};

void cs_result(const struct cs_run *run, enum cs_part part,
	       struct cs_result *res);
/* "overlap 0.010% of 1000 ms (...); ran 48.2% + 47.9% in ...; CPU ..." */
void cs_format(char *buf, size_t size, const struct cs_result *res);

/* Setups of two workers: task cookies of their own, or one task cookie. */
int cs_setup_differ(struct cs_run *run);
int cs_setup_same(struct cs_run *run);

#endif /* CS_OVERLAP_H */
