/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Did two tasks run at the same time?  The measurement of the isolation
 * tests (cs_verdict.h judges it): pinned CPU-bound workers spin for a
 * fixed time, each iteration reading the clock and bumping the worker's
 * count in shared memory.  Workers are partners two by two (0 and 1...).
 *
 * A gap of over CS_GAP_NS between two readings ends a running segment.
 * A worker whose partner's count moved by at most CS_WITNESS_MAX since
 * its previous iteration saw the partner run at once; such iterations,
 * joined while at most CS_GAP_NS apart, are the overlap it saw, and the
 * larger of the two workers' is the overlap.  The segments' intersection
 * is only printed: a preempted virtual CPU misses its own time off, so
 * isolated tasks' segments can intersect.
 *
 * Each worker also reads its CPU time (CLOCK_THREAD_CPUTIME_ID) with the
 * clock at its start, when it sees the test's midway change begin and
 * end, and at its end; its share of a part is the CPU time between the
 * readings that bound it over their distance.  Each reading carries its
 * own time: a worker may read late (its virtual CPU preempted, still
 * charged).
 *
 * The workers pin themselves and wait for the test to give them cookies
 * or cgroups from outside; one event starts them all.
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
 * The longest gap between readings that still counts as running: above
 * a virtual CPU's exits (a few us, by the thousand), below a context
 * switch, forced idle or host preemption (tens of us); low, as a bridged
 * gap may join pieces of overlap.
 */
#define CS_GAP_NS		20000ULL

/* Both running, the partner's count moves by about one per iteration; more if we were off. */
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
	int nr_tasks;
	uint64_t duration_ns;
	/* With the workers pinned and waiting: give them cookies, cgroups. */
	cs_hook_t setup;
	/* At half time, with the workers spinning; NULL for none. */
	cs_hook_t midway;
	void *arg;

	/* Results: */
	struct cs_task task[CS_MAX_TASKS];
	uint64_t t_start, t_end;	/* the measurement window */
	uint64_t t_mid_begin, t_mid_end;	/* when midway() ran */
	void *shm;
	size_t shm_size;
};

enum cs_part {
	CS_WHOLE,	/* the whole window */
	CS_BEFORE,	/* up to the start of midway() */
	CS_AFTER,	/* from the end of midway() on */
};

double cs_clock_cost_ns(void);	/* of one CLOCK_MONOTONIC reading */

/*
 * Fork the workers, setup(), start them, midway() at half time, wait: 0 or
 * -errno (-ETIME: slow clock, -ENOSPC: out of segments).  The results stay
 * readable until cs_run_free().
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
