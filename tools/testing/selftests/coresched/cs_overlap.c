// SPDX-License-Identifier: GPL-2.0
/*
 * The overlap measurement of the isolation tests, see cs_overlap.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_overlap.h"
#include "cs_util.h"

#define SYS_CPU		"/sys/devices/system/cpu"
#define CS_SCHEDSTATS	"/proc/sys/kernel/sched_schedstats"

#define CLOCK_BATCHES	20
#define CLOCK_BATCH	1000

uint64_t cs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * The cheapest of a few batches: a batch during which the host preempted
 * the vCPU would overstate the cost of a reading.
 */
double cs_clock_cost_ns(void)
{
	uint64_t start, took, best = UINT64_MAX;
	int batch, i;

	for (batch = 0; batch < CLOCK_BATCHES; batch++) {
		start = cs_now();
		for (i = 0; i < CLOCK_BATCH; i++)
			cs_now();
		took = cs_now() - start;
		if (took < best)
			best = took;
	}
	return (double)best / (CLOCK_BATCH + 1);
}

/* Read a small sysfs file of CPU @cpu: 0 or -errno. */
static int cpu_read(int cpu, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), SYS_CPU "/cpu%d/%s", cpu, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, size, f))
		ret = -EIO;
	fclose(f);
	return ret;
}

static int cs_online(int *cpus, int max)
{
	char buf[256];
	FILE *f = fopen(SYS_CPU "/online", "r");
	int n = -EIO;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		n = cs_parse_cpulist(buf, cpus, max);
	fclose(f);
	return n;
}

static int cpu_read_int(int cpu, const char *file)
{
	char buf[64];

	if (cpu_read(cpu, file, buf, sizeof(buf)))
		return -1;
	return atoi(buf);
}

int cs_topology(struct cs_topo *topo)
{
	int online[CS_MAX_CPUS], sib[CS_MAX_CPUS];
	int pkg[CS_MAX_CPUS], core[CS_MAX_CPUS];
	int nr, i, j, n, cores;

	memset(topo, 0, sizeof(*topo));
	nr = cs_online(online, CS_MAX_CPUS);
	if (nr <= 0)
		return nr ? nr : -ENOENT;
	topo->cpus = nr;
	topo->threads_min = INT_MAX;
	for (i = 0; i < nr; i++) {
		pkg[i] = cpu_read_int(online[i], "topology/physical_package_id");
		core[i] = cpu_read_int(online[i], "topology/core_id");
		n = cs_cpu_siblings(online[i], sib, CS_MAX_CPUS);
		if (pkg[i] < 0 || core[i] < 0 || n <= 0)
			return -EIO;
		if (n > topo->threads)
			topo->threads = n;
		if (n < topo->threads_min)
			topo->threads_min = n;
	}
	/* Count each package once, and each (package, core) once. */
	for (i = 0; i < nr; i++) {
		for (j = 0; j < i && pkg[j] != pkg[i]; j++)
			;
		if (j < i)
			continue;
		topo->packages++;
		cores = 0;
		for (n = 0; n < nr; n++) {
			if (pkg[n] != pkg[i])
				continue;
			for (j = 0; j < n; j++) {
				if (pkg[j] == pkg[i] && core[j] == core[n])
					break;
			}
			if (j == n)
				cores++;
		}
		if (cores > topo->cores)
			topo->cores = cores;
	}
	return 0;
}

/* A worker's iteration count, alone in its cache line. */
struct cs_count {
	unsigned long v;
	char pad[64 - sizeof(unsigned long)];
};

/* When a worker reads its CPU time: see cs_overlap.h. */
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

/*
 * The shared pages of a run: the workers' counts, the window, which every
 * worker reads once woken, the test's phase, then each worker's segments,
 * then each worker's pieces of witnessed co-running.
 */
struct cs_shared {
	struct cs_count count[CS_MAX_TASKS];
	uint64_t t_start, t_end;
	/* 0; 1 while midway() runs; 2 once it returned */
	int phase;
	unsigned int nr_segs[CS_MAX_TASKS];
	unsigned int nr_both[CS_MAX_TASKS];
	int overflow[CS_MAX_TASKS];
	/* The CPU time the guest gave each worker so far, at CPU_*. */
	struct cs_reading cpu[CS_MAX_TASKS][CPU_READINGS];
};

static struct cs_seg *shm_segs(void *shm, int i)
{
	return (struct cs_seg *)((char *)shm + sizeof(struct cs_shared)) +
		(size_t)i * CS_MAX_SEGS;
}

static struct cs_seg *shm_both(void *shm, int nr_tasks, int i)
{
	return shm_segs(shm, nr_tasks + i);
}

/* Append [@start, @end] to a list of @n segments: false if it is full. */
static bool append(struct cs_seg *list, unsigned int *n, uint64_t start,
		   uint64_t end)
{
	if (*n == CS_MAX_SEGS)
		return false;
	list[*n].start = start;
	list[*n].end = end;
	(*n)++;
	return true;
}

static void cpu_time(struct cs_reading *r)
{
	struct timespec ts;

	r->at = cs_now();
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

/*
 * One iteration ending at @now.  The partner's count moved by a little
 * since our last one: it ran while we did (CS_WITNESS_MAX).
 */
static void step(struct cs_spin *w, uint64_t now)
{
	struct cs_shared *sh = w->sh;
	unsigned long c = __atomic_load_n(&sh->count[w->i ^ 1].v, __ATOMIC_RELAXED);
	bool ok = true;

	if (now - w->prev > CS_GAP_NS) {
		ok &= append(w->segs, &sh->nr_segs[w->i], w->first, w->prev);
		w->first = now;
	} else if (c != w->seen && c - w->seen <= CS_WITNESS_MAX) {
		if (w->both_first && w->prev - w->both_last > CS_GAP_NS) {
			ok &= append(w->both, &sh->nr_both[w->i], w->both_first,
				     w->both_last);
			w->both_first = 0;
		}
		if (!w->both_first)
			w->both_first = w->prev;
		w->both_last = now;
	}
	w->seen = c;
	__atomic_store_n(&sh->count[w->i].v, sh->count[w->i].v + 1, __ATOMIC_RELAXED);
	w->prev = now;
	if (!ok)
		sh->overflow[w->i] = 1;
}

/*
 * Spin until the end of the window, recording when we ran and when we saw
 * our partner run too, and what CPU time the guest gave us until the test
 * began its change and since it ended it (a system call each).  A change
 * we never saw happened while we were not current: the reading at the end
 * stands for it.
 */
static void spin(struct cs_run *run, int i)
{
	struct cs_shared *sh = run->shm;
	struct cs_reading *cpu = sh->cpu[i];
	uint64_t end = sh->t_end;
	int phase = 0, now_phase;
	struct cs_spin w = {
		.sh = sh,
		.segs = shm_segs(run->shm, i),
		.both = shm_both(run->shm, run->nr_tasks, i),
		.i = i,
	};

	cpu_time(&cpu[CPU_START]);
	w.seen = __atomic_load_n(&sh->count[i ^ 1].v, __ATOMIC_RELAXED);
	w.first = cs_now();
	w.prev = w.first;
	while (w.prev < end) {
		step(&w, cs_now());
		now_phase = __atomic_load_n(&sh->phase, __ATOMIC_RELAXED);
		if (now_phase != phase) {
			cpu_time(&cpu[CPU_MID_BEGIN + phase]);
			for (phase++; phase < now_phase; phase++)
				cpu[CPU_MID_BEGIN + phase] = cpu[CPU_MID_BEGIN + phase - 1];
		}
	}
	if (!append(w.segs, &sh->nr_segs[i], w.first, w.prev))
		sh->overflow[i] = 1;
	if (w.both_first &&
	    !append(w.both, &sh->nr_both[i], w.both_first, w.both_last))
		sh->overflow[i] = 1;
	cpu_time(&cpu[CPU_END]);
	for (; phase < 2; phase++)
		cpu[CPU_MID_BEGIN + phase] = cpu[CPU_END];
}

/*
 * The pipes between the test and its workers.  A worker writes a byte on
 * ready once pinned, then closes it; the test closes go to start them all;
 * nobody writes done: its read end sees EOF once every worker exited.
 */
struct cs_pipes {
	int ready[2], go[2], done[2];
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_pipes(struct cs_pipes *p)
{
	int i;

	for (i = 0; i < 2; i++) {
		close_fd(&p->ready[i]);
		close_fd(&p->go[i]);
		close_fd(&p->done[i]);
	}
}

/*
 * A worker: pin, say so on ready and close it, block on go until the test
 * closes it (the start event), spin, exit (which closes done).  It dies
 * with the test.
 */
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

/*
 * Fork the workers, close their ends of the pipes, and wait until each is
 * pinned: one byte each on ready.  Only the workers keep its write end,
 * each until it wrote: one that died first leaves EOF, an error.
 */
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

/*
 * Sleep until every worker is gone, then reap them.  waitpid() would wake
 * at the first exit: the test, another cookie, would then be runnable
 * beside a worker still spinning, and could cost it forced idle that its
 * cgroup would be charged for.
 */
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

/* Start the workers, run midway() at half time, wait for them. */
static int run_window(struct cs_run *run, struct cs_pipes *p)
{
	struct cs_shared *sh = run->shm;
	int ret = 0, ret2;

	sh->t_start = cs_now();
	sh->t_end = sh->t_start + run->duration_ns;
	close_fd(&p->go[1]);
	if (run->midway) {
		sleep_until(sh->t_start + run->duration_ns / 2);
		run->t_mid_begin = cs_now();
		/*
		 * Relaxed: nothing is published with the phase.  A worker
		 * only takes a CPU-time snapshot when it sees it change, and
		 * one that sees it late moves the CPU time of that delay
		 * (a loop iteration) into the part before, far below the
		 * verdicts' margins.
		 */
		__atomic_store_n(&sh->phase, 1, __ATOMIC_RELAXED);
		ret = run->midway(run);
		run->t_mid_end = cs_now();
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
		run->task[i].both = shm_both(run->shm, run->nr_tasks, i);
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
	close_pipes(&p);
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

void cs_window(const struct cs_run *run, enum cs_part part,
	       uint64_t *from, uint64_t *to)
{
	*from = part == CS_AFTER ? run->t_mid_end : run->t_start;
	*to = part == CS_BEFORE ? run->t_mid_begin : run->t_end;
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

static uint64_t min3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a < b ? a : b;

	return m < c ? m : c;
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
		lo = max3(a->segs[x].start, b->segs[y].start, from);
		hi = min3(a->segs[x].end, b->segs[y].end, to);
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

/*
 * The CPU time the guest gave each task in @part, in percent of the time
 * between the two readings that bound it: see cs_overlap.h.
 */
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
	uint64_t from, to;
	double w;
	int i;

	cs_window(run, part, &from, &to);
	res->window_ns = to > from ? to - from : 0;
	w = res->window_ns ? res->window_ns / 100.0 : 1;
	res->longest_ns = 0;
	res->clock_overlap = cs_clock_overlap_ns(run, 0, 1, from, to) / w;
	for (i = 0; i < 2; i++) {
		const struct cs_task *t = &run->task[i];
		uint64_t both = covered(t->both, t->nr_both, from, to,
					&res->longest_ns);

		res->both[i] = both / w;
	}
	/* Either task's witness is evidence enough. */
	res->overlap = res->both[0] > res->both[1] ? res->both[0] : res->both[1];
	for (i = 0; i < 2; i++) {
		res->ran[i] = cs_ran_ns(run, i, from, to) / w;
		res->segs[i] = segs_in(run, i, from, to);
	}
	res->chance = res->ran[0] * res->ran[1] / 100;
	guest_share(run, part, res);
}

void cs_format(char *buf, size_t size, const struct cs_result *res)
{
	snprintf(buf, size,
		 "overlap %.3f%% of %llu ms (seen by A %.3f%%, B %.3f%%, longest %llu us; by the clocks %.3f%%; chance %.1f%%); ran %.1f%% + %.1f%% in %u + %u segments; guest CPU %.1f%% + %.1f%% = %.1f%%",
		 res->overlap, (unsigned long long)(res->window_ns / NSEC_PER_MSEC),
		 res->both[0], res->both[1],
		 (unsigned long long)(res->longest_ns / 1000), res->clock_overlap,
		 res->chance, res->ran[0], res->ran[1], res->segs[0],
		 res->segs[1], res->guest[0], res->guest[1], res->guest_sum);
}

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

/* The host ran a task much less than the guest did. */
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

void cs_explain(char *buf, size_t size, const struct cs_result *res,
		enum cs_expect expect)
{
	double least = shared_floor(res);

	buf[0] = '\0';
	add(buf, size, "guest CPU %.1f%% + %.1f%% = %.1f%% ",
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

int cs_setup_differ(struct cs_run *run)
{
	return cs_cookie_new(run->task[0].pid) ?: cs_cookie_new(run->task[1].pid);
}

int cs_setup_same(struct cs_run *run)
{
	return cs_cookie_new(run->task[0].pid) ?:
	       cs_cookie_copy(run->task[0].pid, run->task[1].pid);
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
		       "the guest CPU sum shows both tasks current, the host starved the vCPUs");
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
	size_t n = 0;
	int i;

	buf[0] = '\0';
	if (t->err) {
		snprintf(buf, size, "measurement failed: %s", strerror(-t->err));
		return;
	}
	for (i = 0; i < t->parts && n < size; i++) {
		n += snprintf(buf + n, size - n, "%s", t->parts > 1 ? part[i] : "");
		if (n >= size)
			break;
		cs_explain(buf + n, size - n, &t->res[i], t->expect[i]);
		n += strlen(buf + n);
	}
}

int cs_schedstats(int on, int *old)
{
	char c = '0';
	int fd = open(CS_SCHEDSTATS, O_RDWR), ret = 0;

	if (fd < 0)
		return -errno;
	if (read(fd, &c, 1) != 1 || pwrite(fd, on ? "1" : "0", 1, 0) != 1)
		ret = -errno;
	close(fd);
	if (old)
		*old = c == '1';
	return ret;
}

int cs_cookie_new(pid_t pid)
{
	return cs_create(pid, 0);
}

int cs_cookie_copy(pid_t from, pid_t to)
{
	pid_t pid, parent = getpid();
	int status;

	/* A helper takes the cookie and gives it on: ours stays as it is. */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		cs_die_with_parent(parent);
		_exit(cs_share_from(from) || cs_share_to(to, 0) ? 1 : 0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EPERM;
}

void cs_die_with_parent(pid_t parent)
{
	/* Checked after: the parent may have died before the prctl(). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
}

int cs_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *val)
{
	unsigned long long v;
	char *end;

	/* strtoull() takes a sign and leading blanks: digits only here. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

long cs_meminfo_kb(const char *key)
{
	size_t len = strlen(key);
	long kb = -1;
	char line[256];
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			kb = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kb;
}
