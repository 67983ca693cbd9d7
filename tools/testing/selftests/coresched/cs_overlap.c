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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_overlap.h"
#include "cs_util.h"

#define SYS_CPU		"/sys/devices/system/cpu"
#define CS_SCHEDSTATS	"/proc/sys/kernel/sched_schedstats"

uint64_t cs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

double cs_clock_cost_ns(void)
{
	uint64_t start = cs_now(), end = start + 10 * NSEC_PER_MSEC, now;
	unsigned long n = 0;

	do {
		now = cs_now();
		n++;
	} while (now < end);
	return (double)(now - start) / n;
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

/* Parse a CPU list ("0-1,4"): count, or -EINVAL. */
static int parse_cpulist(const char *s, int *cpus, int max)
{
	int n = 0, lo, hi;
	char *end;

	while (*s && *s != '\n') {
		lo = strtol(s, &end, 10);
		if (end == s)
			return -EINVAL;
		hi = lo;
		s = end;
		if (*s == '-') {
			hi = strtol(s + 1, &end, 10);
			if (end == s + 1)
				return -EINVAL;
			s = end;
		}
		for (; lo <= hi; lo++) {
			if (n == max)
				return -EINVAL;
			cpus[n++] = lo;
		}
		if (*s == ',')
			s++;
	}
	return n;
}

int cs_cpu_siblings(int cpu, int *cpus, int max)
{
	char buf[256];
	int ret;

	ret = cpu_read(cpu, "topology/thread_siblings_list", buf, sizeof(buf));
	if (ret)
		return ret;
	return parse_cpulist(buf, cpus, max);
}

static int cs_online(int *cpus, int max)
{
	char buf[256];
	FILE *f = fopen(SYS_CPU "/online", "r");
	int n = -EIO;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f))
		n = parse_cpulist(buf, cpus, max);
	fclose(f);
	return n;
}

int cs_find_core(int n, int *cpus)
{
	int online[CS_MAX_CPUS], sib[CS_MAX_CPUS];
	int nr, i, ns;

	nr = cs_online(online, CS_MAX_CPUS);
	for (i = 0; i < nr; i++) {
		ns = cs_cpu_siblings(online[i], sib, CS_MAX_CPUS);
		if (ns >= n) {
			memcpy(cpus, sib, n * sizeof(*cpus));
			return 0;
		}
	}
	return -ENOENT;
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

/*
 * The shared page of a run: the window, which every worker reads once
 * woken, then each worker's segments.
 */
struct cs_shared {
	uint64_t t_start, t_end;
	unsigned int nr_segs[CS_MAX_TASKS];
	int overflow[CS_MAX_TASKS];
};

static struct cs_seg *shm_segs(void *shm, int i)
{
	return (struct cs_seg *)((char *)shm + sizeof(struct cs_shared)) +
		(size_t)i * CS_MAX_SEGS;
}

static void record(struct cs_shared *sh, struct cs_seg *segs, int i,
		   uint64_t start, uint64_t end)
{
	if (sh->nr_segs[i] == CS_MAX_SEGS) {
		sh->overflow[i] = 1;
		return;
	}
	segs[sh->nr_segs[i]].start = start;
	segs[sh->nr_segs[i]].end = end;
	sh->nr_segs[i]++;
}

/* Spin until the end of the window, recording when we ran. */
static void spin(struct cs_shared *sh, struct cs_seg *segs, int i)
{
	uint64_t end = sh->t_end, first, prev, now;

	first = cs_now();
	prev = first;
	while (prev < end) {
		now = cs_now();
		if (now - prev > CS_GAP_NS) {
			record(sh, segs, i, first, prev);
			first = now;
		}
		prev = now;
	}
	record(sh, segs, i, first, prev);
}

/*
 * A worker: pin, say so on @ready, block on @go until the test closes it
 * (the start event), spin.  If the test dies instead, the read returns
 * with no window set and the worker ends at once.
 */
static void worker(struct cs_run *run, int i, int ready, int go)
{
	struct cs_shared *sh = run->shm;
	char c = 0;

	if (cs_pin(run->task[i].cpu))
		_exit(2);
	if (write(ready, &c, 1) != 1)
		_exit(3);
	if (read(go, &c, 1) != 0)
		_exit(4);
	spin(sh, shm_segs(run->shm, i), i);
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

static int fork_workers(struct cs_run *run, int ready[2], int go[2])
{
	char c;
	int i;

	for (i = 0; i < run->nr_tasks; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			kill_workers(run, i);
			return -errno;
		}
		if (!pid) {
			close(ready[0]);
			close(go[1]);
			worker(run, i, ready[1], go[0]);
		}
		run->task[i].pid = pid;
	}
	/* Every worker pinned: one byte each, EOF if one died. */
	for (i = 0; i < run->nr_tasks; i++) {
		if (read(ready[0], &c, 1) != 1) {
			kill_workers(run, run->nr_tasks);
			return -ECHILD;
		}
	}
	return 0;
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

static int reap_workers(struct cs_run *run)
{
	int i, status, ret = 0;

	for (i = 0; i < run->nr_tasks; i++) {
		if (waitpid(run->task[i].pid, &status, 0) < 0)
			ret = -errno;
		else if (!WIFEXITED(status) || WEXITSTATUS(status))
			ret = -ECHILD;
	}
	return ret;
}

/* Start the workers, run midway() at half time, wait for them. */
static int run_window(struct cs_run *run, int go)
{
	struct cs_shared *sh = run->shm;
	int ret = 0, ret2;

	sh->t_start = cs_now();
	sh->t_end = sh->t_start + run->duration_ns;
	close(go);
	if (run->midway) {
		sleep_until(sh->t_start + run->duration_ns / 2);
		run->t_mid_begin = cs_now();
		ret = run->midway(run);
		run->t_mid_end = cs_now();
	}
	ret2 = reap_workers(run);
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
	}
}

int cs_measure(struct cs_run *run)
{
	int ready[2], go[2], ret;

	if (run->nr_tasks < 1 || run->nr_tasks > CS_MAX_TASKS)
		return -EINVAL;
	run->shm_size = sizeof(struct cs_shared) +
		sizeof(struct cs_seg) * CS_MAX_SEGS * run->nr_tasks;
	run->shm = mmap(NULL, run->shm_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (run->shm == MAP_FAILED) {
		run->shm = NULL;
		return -errno;
	}
	if (pipe(ready)) {
		ret = -errno;
		goto out_unmap;
	}
	if (pipe(go)) {
		ret = -errno;
		goto out_ready;
	}

	ret = fork_workers(run, ready, go);
	close(go[0]);
	if (ret) {
		close(go[1]);
		goto out_ready;
	}
	ret = run->setup ? run->setup(run) : 0;
	if (ret) {
		close(go[1]);
		kill_workers(run, run->nr_tasks);
		goto out_ready;
	}
	ret = run_window(run, go[1]);
	collect(run);
out_ready:
	close(ready[0]);
	close(ready[1]);
	if (!ret)
		return 0;
out_unmap:
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

uint64_t cs_ran_ns(const struct cs_run *run, int i, uint64_t from, uint64_t to)
{
	const struct cs_task *t = &run->task[i];
	uint64_t sum = 0, lo, hi;
	unsigned int k;

	for (k = 0; k < t->nr_segs; k++) {
		lo = t->segs[k].start > from ? t->segs[k].start : from;
		hi = t->segs[k].end < to ? t->segs[k].end : to;
		if (hi > lo)
			sum += hi - lo;
	}
	return sum;
}

/* Both lists are in time order: walk them together. */
uint64_t cs_overlap_ns(const struct cs_run *run, int i, int j,
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

void cs_result(const struct cs_run *run, enum cs_part part,
	       struct cs_result *res)
{
	uint64_t from, to;
	double w;
	int i;

	cs_window(run, part, &from, &to);
	res->window_ns = to > from ? to - from : 0;
	w = res->window_ns ? res->window_ns / 100.0 : 1;
	res->overlap = cs_overlap_ns(run, 0, 1, from, to) / w;
	for (i = 0; i < 2; i++) {
		res->ran[i] = cs_ran_ns(run, i, from, to) / w;
		res->segs[i] = segs_in(run, i, from, to);
	}
	res->chance = res->ran[0] * res->ran[1] / 100;
}

void cs_format(char *buf, size_t size, const struct cs_result *res)
{
	snprintf(buf, size,
		 "overlap %.3f%% of %llu ms (by chance %.1f%%); ran %.1f%% + %.1f%% in %u + %u segments",
		 res->overlap, (unsigned long long)(res->window_ns / NSEC_PER_MSEC),
		 res->chance,
		 res->ran[0], res->ran[1], res->segs[0], res->segs[1]);
}

bool cs_isolated(const struct cs_result *res)
{
	return res->overlap <= CS_ISOLATED_MAX_PCT &&
	       res->ran[0] >= CS_MIN_RAN_PCT && res->ran[1] >= CS_MIN_RAN_PCT;
}

bool cs_shared(const struct cs_result *res)
{
	return res->overlap >= CS_SHARED_MIN_PCT &&
	       res->overlap >= CS_SHARED_MIN_CHANCE * res->chance;
}

int cs_verdict(const struct cs_result *res, bool shared)
{
	bool starved;

	if (shared ? cs_shared(res) : cs_isolated(res))
		return 1;
	if (shared)
		starved = res->chance * CS_SHARED_MIN_CHANCE < CS_SHARED_MIN_PCT;
	else
		starved = res->overlap <= CS_ISOLATED_MAX_PCT;
	return starved ? -1 : 0;
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
	int status;
	pid_t pid;

	/* A helper takes the cookie and gives it on: ours stays as it is. */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		_exit(cs_share_from(from) || cs_share_to(to, 0) ? 1 : 0);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EPERM;
}
