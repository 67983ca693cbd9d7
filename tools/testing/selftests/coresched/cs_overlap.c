// SPDX-License-Identifier: GPL-2.0
/* The overlap measurement of the isolation tests, see cs_overlap.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_overlap.h"

#define CLOCK_BATCHES	20
#define CLOCK_BATCH	1000

/* The cheapest batch: one the host preempted would overstate the cost. */
double cs_clock_cost_ns(void)
{
	uint64_t start, took, best = UINT64_MAX;
	int batch, i;

	for (batch = 0; batch < CLOCK_BATCHES; batch++) {
		start = cs_now_ns();
		for (i = 0; i < CLOCK_BATCH; i++)
			cs_now_ns();
		took = cs_now_ns() - start;
		if (took < best)
			best = took;
	}
	return (double)best / (CLOCK_BATCH + 1);
}

/* A worker's iteration count, alone in its cache line. */
struct cs_count {
	unsigned long v;
	char pad[64 - sizeof(unsigned long)];
};

struct cs_reading {
	uint64_t cpu;		/* CLOCK_THREAD_CPUTIME_ID */
	uint64_t at;		/* CLOCK_MONOTONIC, just before */
};

enum {
	CPU_START,
	CPU_MID_BEGIN,		/* when it saw midway() begin */
	CPU_MID_END,		/* when it saw midway() end */
	CPU_END,
	CPU_READINGS,
};

/* The shared pages of a run; then each worker's segments, then its pieces of overlap. */
struct cs_shared {
	struct cs_count count[CS_MAX_TASKS];
	uint64_t t_start, t_end;
	/* 0; 1 while midway() runs; 2 once it returned */
	int phase;
	unsigned int nr_segs[CS_MAX_TASKS];
	unsigned int nr_both[CS_MAX_TASKS];
	int overflow[CS_MAX_TASKS];
	/* The CPU time the kernel gave each worker so far, at CPU_*. */
	struct cs_reading cpu[CS_MAX_TASKS][CPU_READINGS];
};

/* Worker @i's segments; from nr_tasks on, worker (@i - nr_tasks)'s overlap. */
static struct cs_seg *shm_segs(void *shm, int i)
{
	return (struct cs_seg *)((char *)shm + sizeof(struct cs_shared)) +
		(size_t)i * CS_MAX_SEGS;
}

static void append(struct cs_seg *list, unsigned int *n, int *overflow,
		   uint64_t start, uint64_t end)
{
	if (*n == CS_MAX_SEGS) {
		*overflow = 1;
		return;
	}
	list[*n].start = start;
	list[*n].end = end;
	(*n)++;
}

static void cpu_time(struct cs_reading *r)
{
	struct timespec ts;

	r->at = cs_now_ns();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	r->cpu = ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* What worker @i sees of its partner, and where it writes. */
struct cs_spin {
	struct cs_shared *sh;
	struct cs_seg *segs, *both;
	int i;
	uint64_t first, prev;		/* the open segment */
	uint64_t both_first, both_last;	/* the open piece of co-running */
	unsigned long seen;		/* the partner's count, last read */
};

/* One iteration ending at @now. */
static void step(struct cs_spin *w, uint64_t now)
{
	struct cs_shared *sh = w->sh;
	unsigned long c = __atomic_load_n(&sh->count[w->i ^ 1].v, __ATOMIC_RELAXED);

	if (now - w->prev > CS_GAP_NS) {
		append(w->segs, &sh->nr_segs[w->i], &sh->overflow[w->i], w->first, w->prev);
		w->first = now;
	} else if (c != w->seen && c - w->seen <= CS_WITNESS_MAX) {
		if (w->both_first && w->prev - w->both_last > CS_GAP_NS) {
			append(w->both, &sh->nr_both[w->i], &sh->overflow[w->i],
			       w->both_first, w->both_last);
			w->both_first = 0;
		}
		if (!w->both_first)
			w->both_first = w->prev;
		w->both_last = now;
	}
	w->seen = c;
	__atomic_store_n(&sh->count[w->i].v, sh->count[w->i].v + 1, __ATOMIC_RELAXED);
	w->prev = now;
}

/* Spin to the window's end, reading our CPU time at each phase change (if unseen: at the end). */
static void spin(struct cs_run *run, int i)
{
	struct cs_shared *sh = run->shm;
	struct cs_reading *cpu = sh->cpu[i];
	uint64_t end = sh->t_end;
	int phase = 0, now_phase;
	struct cs_spin w = {
		.sh = sh,
		.segs = shm_segs(run->shm, i),
		.both = shm_segs(run->shm, run->nr_tasks + i),
		.i = i,
	};

	cpu_time(&cpu[CPU_START]);
	w.seen = __atomic_load_n(&sh->count[i ^ 1].v, __ATOMIC_RELAXED);
	w.first = cs_now_ns();
	w.prev = w.first;
	while (w.prev < end) {
		step(&w, cs_now_ns());
		now_phase = __atomic_load_n(&sh->phase, __ATOMIC_RELAXED);
		if (now_phase != phase) {
			cpu_time(&cpu[CPU_MID_BEGIN + phase]);
			for (phase++; phase < now_phase; phase++)
				cpu[CPU_MID_BEGIN + phase] = cpu[CPU_MID_BEGIN + phase - 1];
		}
	}
	append(w.segs, &sh->nr_segs[i], &sh->overflow[i], w.first, w.prev);
	if (w.both_first)
		append(w.both, &sh->nr_both[i], &sh->overflow[i], w.both_first, w.both_last);
	cpu_time(&cpu[CPU_END]);
	for (; phase < 2; phase++)
		cpu[CPU_MID_BEGIN + phase] = cpu[CPU_END];
}

/* A byte on ready per pinned worker; closing go starts them all; done reads EOF once all exit. */
struct cs_pipes {
	int ready[2], go[2], done[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void worker(struct cs_run *run, int i, struct cs_pipes *p)
{
	char c = 0;

	close(p->ready[0]);
	close(p->go[1]);
	close(p->done[0]);
	if (cs_pin(run->task[i].cpu))
		_exit(2);
	if (write(p->ready[1], &c, 1) != 1)
		_exit(3);
	close(p->ready[1]);
	if (read(p->go[0], &c, 1) != 0)
		_exit(4);
	spin(run, i);
	_exit(0);
}

static void kill_workers(struct cs_run *run, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		kill(run->task[i].pid, SIGKILL);
		waitpid(run->task[i].pid, NULL, 0);
	}
}

/* Fork the workers and wait until each is pinned (a worker that died: EOF). */
static int fork_workers(struct cs_run *run, struct cs_pipes *p)
{
	pid_t parent = getpid();
	int i, ret = 0;
	char c;

	for (i = 0; i < run->nr_tasks; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			ret = -errno;
			kill_workers(run, i);
			return ret;
		}
		if (!pid) {
			cs_die_with_parent(parent);
			worker(run, i, p);
		}
		run->task[i].pid = pid;
	}
	close_fd(&p->ready[1]);
	close_fd(&p->go[0]);
	close_fd(&p->done[1]);
	for (i = 0; i < run->nr_tasks && !ret; i++) {
		if (read(p->ready[0], &c, 1) != 1)
			ret = -ECHILD;
	}
	if (ret)
		kill_workers(run, run->nr_tasks);
	return ret;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = t / NSEC_PER_SEC,
		.tv_nsec = t % NSEC_PER_SEC,
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* Not waitpid(): woken at the first exit, the test (another cookie) would force workers idle. */
static int reap_workers(struct cs_run *run, struct cs_pipes *p)
{
	int i, status, ret = 0;
	char c;

	while (read(p->done[0], &c, 1) < 0 && errno == EINTR)
		;
	for (i = 0; i < run->nr_tasks; i++) {
		if (waitpid(run->task[i].pid, &status, 0) < 0)
			ret = -errno;
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			ret = -ECHILD;
	}
	return ret;
}

static int run_window(struct cs_run *run, struct cs_pipes *p)
{
	struct cs_shared *sh = run->shm;
	int ret = 0, ret2;

	sh->t_start = cs_now_ns();
	sh->t_end = sh->t_start + run->duration_ns;
	close_fd(&p->go[1]);
	if (run->midway) {
		sleep_until(sh->t_start + run->duration_ns / 2);
		run->t_mid_begin = cs_now_ns();
		/* Relaxed: seen late, it moves an iteration's CPU time, far below the margins. */
		__atomic_store_n(&sh->phase, 1, __ATOMIC_RELAXED);
		ret = run->midway(run);
		run->t_mid_end = cs_now_ns();
		__atomic_store_n(&sh->phase, 2, __ATOMIC_RELAXED);
	}
	ret2 = reap_workers(run, p);
	return ret ?: ret2;
}

static void collect(struct cs_run *run)
{
	struct cs_shared *sh = run->shm;
	int i;

	run->t_start = sh->t_start;
	run->t_end = sh->t_end;
	if (!run->midway) {
		run->t_mid_begin = run->t_end;
		run->t_mid_end = run->t_end;
	}
	for (i = 0; i < run->nr_tasks; i++) {
		run->task[i].nr_segs = sh->nr_segs[i];
		run->task[i].overflow = sh->overflow[i];
		run->task[i].segs = shm_segs(run->shm, i);
		run->task[i].nr_both = sh->nr_both[i];
		run->task[i].both = shm_segs(run->shm, run->nr_tasks + i);
	}
}

int cs_measure(struct cs_run *run)
{
	struct cs_pipes p = {
		.ready = { -1, -1 }, .go = { -1, -1 }, .done = { -1, -1 },
	};
	int ret, i;

	if (run->nr_tasks < 1 || run->nr_tasks > CS_MAX_TASKS)
		return -EINVAL;
	if (cs_clock_cost_ns() > CS_CLOCK_MAX_NS)
		return -ETIME;
	run->shm_size = sizeof(struct cs_shared) +
		sizeof(struct cs_seg) * CS_MAX_SEGS * run->nr_tasks * 2;
	run->shm = mmap(NULL, run->shm_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (run->shm == MAP_FAILED) {
		run->shm = NULL;
		return -errno;
	}
	if (pipe(p.ready) || pipe(p.go) || pipe(p.done)) {
		ret = -errno;
		goto out;
	}
	ret = fork_workers(run, &p);
	if (ret)
		goto out;
	ret = run->setup ? run->setup(run) : 0;
	if (ret) {
		kill_workers(run, run->nr_tasks);
		goto out;
	}
	ret = run_window(run, &p);
	collect(run);
	for (i = 0; i < run->nr_tasks && !ret; i++) {
		if (run->task[i].overflow)
			ret = -ENOSPC;
	}
out:
	for (i = 0; i < 2; i++) {
		close_fd(&p.ready[i]);
		close_fd(&p.go[i]);
		close_fd(&p.done[i]);
	}
	if (ret)
		cs_run_free(run);
	return ret;
}

void cs_run_free(struct cs_run *run)
{
	if (run->shm)
		munmap(run->shm, run->shm_size);
	run->shm = NULL;
}

/* The time @n segments cover in [@from, @to); the longest piece in @longest. */
static uint64_t covered(const struct cs_seg *segs, unsigned int n,
			uint64_t from, uint64_t to, uint64_t *longest)
{
	uint64_t sum = 0, lo, hi;
	unsigned int k;

	for (k = 0; k < n; k++) {
		lo = segs[k].start > from ? segs[k].start : from;
		hi = segs[k].end < to ? segs[k].end : to;
		if (hi > lo) {
			sum += hi - lo;
			if (longest && hi - lo > *longest)
				*longest = hi - lo;
		}
	}
	return sum;
}

uint64_t cs_ran_ns(const struct cs_run *run, int i, uint64_t from, uint64_t to)
{
	return covered(run->task[i].segs, run->task[i].nr_segs, from, to, NULL);
}

uint64_t cs_both_ns(const struct cs_run *run, int i, uint64_t from, uint64_t to)
{
	return covered(run->task[i].both, run->task[i].nr_both, from, to, NULL);
}

/* Both lists are in time order: walk them together. */
uint64_t cs_clock_overlap_ns(const struct cs_run *run, int i, int j,
			     uint64_t from, uint64_t to)
{
	const struct cs_task *a = &run->task[i], *b = &run->task[j];
	unsigned int x = 0, y = 0;
	uint64_t sum = 0, lo, hi;

	while (x < a->nr_segs && y < b->nr_segs) {
		lo = a->segs[x].start > b->segs[y].start ? a->segs[x].start : b->segs[y].start;
		hi = a->segs[x].end < b->segs[y].end ? a->segs[x].end : b->segs[y].end;
		lo = lo > from ? lo : from;
		hi = hi < to ? hi : to;
		if (hi > lo)
			sum += hi - lo;
		if (a->segs[x].end < b->segs[y].end)
			x++;
		else
			y++;
	}
	return sum;
}

/* Segments of task @i that start inside [@from, @to). */
static unsigned int segs_in(const struct cs_run *run, int i,
			    uint64_t from, uint64_t to)
{
	const struct cs_task *t = &run->task[i];
	unsigned int k, n = 0;

	for (k = 0; k < t->nr_segs; k++)
		n += t->segs[k].start >= from && t->segs[k].start < to;
	return n;
}

/* The CPU time each task got in @part, in percent: see cs_overlap.h. */
static void guest_share(const struct cs_run *run, enum cs_part part,
			struct cs_result *res)
{
	const struct cs_shared *sh = run->shm;
	int from = part == CS_AFTER ? CPU_MID_END : CPU_START;
	int to = part == CS_BEFORE ? CPU_MID_BEGIN : CPU_END;
	int i;

	for (i = 0; i < 2; i++) {
		const struct cs_reading *a = &sh->cpu[i][from], *b = &sh->cpu[i][to];

		res->guest[i] = b->at > a->at ?
				100.0 * (b->cpu - a->cpu) / (b->at - a->at) : 0;
	}
	res->guest_sum = res->guest[0] + res->guest[1];
}

void cs_result(const struct cs_run *run, enum cs_part part,
	       struct cs_result *res)
{
	uint64_t from = part == CS_AFTER ? run->t_mid_end : run->t_start;
	uint64_t to = part == CS_BEFORE ? run->t_mid_begin : run->t_end;
	double w;
	int i;

	res->window_ns = to > from ? to - from : 0;
	w = res->window_ns ? res->window_ns / 100.0 : 1;
	res->longest_ns = 0;
	res->clock_overlap = cs_clock_overlap_ns(run, 0, 1, from, to) / w;
	for (i = 0; i < 2; i++) {
		const struct cs_task *t = &run->task[i];

		res->both[i] = covered(t->both, t->nr_both, from, to, &res->longest_ns) / w;
		res->ran[i] = cs_ran_ns(run, i, from, to) / w;
		res->segs[i] = segs_in(run, i, from, to);
	}
	/* Either task's witness is evidence enough. */
	res->overlap = res->both[0] > res->both[1] ? res->both[0] : res->both[1];
	res->chance = res->ran[0] * res->ran[1] / 100;
	guest_share(run, part, res);
}

void cs_format(char *buf, size_t size, const struct cs_result *res)
{
	snprintf(buf, size,
		 "overlap %.3f%% of %llu ms (seen by A %.3f%%, B %.3f%%, longest %llu us; by the clocks %.3f%%; chance %.1f%%); ran %.1f%% + %.1f%% in %u + %u segments; CPU %.1f%% + %.1f%% = %.1f%%",
		 res->overlap, (unsigned long long)(res->window_ns / NSEC_PER_MSEC),
		 res->both[0], res->both[1],
		 (unsigned long long)(res->longest_ns / 1000), res->clock_overlap,
		 res->chance, res->ran[0], res->ran[1], res->segs[0],
		 res->segs[1], res->guest[0], res->guest[1], res->guest_sum);
}

static int cookie_new(pid_t pid)
{
	return cs_prctl(PR_SCHED_CORE_CREATE, pid, PR_SCHED_CORE_SCOPE_THREAD, 0);
}

int cs_setup_differ(struct cs_run *run)
{
	return cookie_new(run->task[0].pid) ?: cookie_new(run->task[1].pid);
}

int cs_setup_same(struct cs_run *run)
{
	return cookie_new(run->task[0].pid) ?:
	       cs_cookie_copy(run->task[0].pid, run->task[1].pid);
}
