// SPDX-License-Identifier: GPL-2.0
/*
 * Security domains under concurrent change, for a fixed time: cpu.core_sched
 * toggled on nested cgroups, tasks moved between them, processes forked,
 * task cookies created and shared, cgroups made and removed.  Then, all
 * quiet, every task's cookie must be what its domain (the nearest cgroup
 * at or above its own whose cpu.core_sched is 1) and task cookie imply:
 * equal for the same domain and task cookie, else different; 0 for
 * neither.  And the unreclaimable slab must come back near where it was.
 *
 * A task cookie is learnt without touching its task: a helper outside
 * every domain copies it (SHARE_FROM copies the task cookie only) and
 * reports its own cookie.
 *
 * Forkers execute the test again ("--forker"): children of one parent
 * share its root anon_vma, whose lock fork, exit and COW take: a holder
 * preempted among many runnable spinners holds every fork up.
 *
 * usage: domain_stress [-d SECONDS]   (default 20)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "cs_util.h"

#define CG		"coresched_stress"

#define NR_WORKERS	12
#define MAX_TASKS	64
#define NR_SLOTS	4	/* cgroups created and removed, per parent */
#define FORK_BATCH	8	/* children a forker has at once */
/*
 * After a move, a pause, then a wait (at most FORK_WAIT_MS) for a fork: a
 * move holds cgroup_threadgroup_rwsem for writing, and back-to-back moves
 * starve the forks, which take it for reading.
 */
#define MOVE_PAUSE_US	20000
#define FORK_WAIT_MS	500

#define MAX_SECONDS		600	/* the longest -d */
#define QUIET_TIMEOUT_MS	30000	/* for the workers to go quiet once told to stop */
/*
 * Slab the churn may leave (per-CPU caches, partial slabs, debug
 * bookkeeping), polled, as freed cgroups wait for RCU.  A coarse check:
 * domain_api's leak test is the precise one.
 */
#define SLAB_SLACK_KB		4096
#define SLAB_TIMEOUT_MS		20000
#define SLAB_DIR		"/sys/kernel/slab"

/* The cgroups whose cpu.core_sched the writers toggle ("": CG). */
static const char * const tag_cgs[] = {
	"", "a", "a/a1", "a/a1/x", "a/a1/y", "a/a2", "b", "n", "n/n1",
};

/* Cgroups that hold tasks. */
static const char * const leaves[] = { "a/a1/x", "a/a1/y", "a/a2", "b", "n/n1" };

/* Parents of the cgroups that come and go: a/eN and n/eN. */
static const char * const slot_parents[] = { "a", "n" };

enum kind { SPINNER, SPINNER2, FORKER, NR_KINDS };

struct shared {
	int stop;
	pid_t tid2[NR_WORKERS];		/* SPINNER2's second thread */
	unsigned long forks, reaped;	/* children forked, and reaped */
};

static struct shared *sh;
static int sh_fd;		/* its memfd, for the forkers (see the top) */
static char self_path[PATH_MAX];	/* this program, which forkers execute */
static pid_t workers[NR_WORKERS];
static int nr_workers;		/* started */
static int quiet_pipe[2];
static uint64_t deadline_ns;

enum { OP_TAG, OP_MOVE, OP_PRCTL, OP_CGROUP };
static struct {
	const char *name;
	unsigned long ok, failed;
} ops[] = { { "tag" }, { "move" }, { "prctl" }, { "mkdir/rmdir" } };

static unsigned long long seconds = 20;

static bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE);
}

static pid_t tid2(int i)
{
	return __atomic_load_n(&sh->tid2[i], __ATOMIC_ACQUIRE);
}

static void count(int op, int ret)
{
	__atomic_add_fetch(ret ? &ops[op].failed : &ops[op].ok, 1, __ATOMIC_RELAXED);
}

static void nap_us(unsigned int us)
{
	struct timespec ts = { .tv_nsec = us * 1000L };

	nanosleep(&ts, NULL);
}

/* Half busy, half asleep: wake-ups and sleeps race the domain changes (enqueue, pick). */
static void spin_loop(void)
{
	uint64_t end;

	while (!stopping()) {
		for (end = cs_now_ns() + 200 * 1000; cs_now_ns() < end;)
			;
		nap_us(200);
	}
}

static void *second_thread(void *arg)
{
	__atomic_store_n(&sh->tid2[(long)arg], gettid(), __ATOMIC_RELEASE);
	spin_loop();
	for (;;)
		pause();
	return arg;
}

/* Children that may take a cookie, then exit; in batches, as each waits long for a CPU. */
static void fork_loop(void)
{
	pid_t self = getpid();
	unsigned int seed = self;
	int i, n;

	while (!stopping()) {
		for (n = 0; n < FORK_BATCH; n++) {
			pid_t pid = fork();

			if (pid < 0)
				break;
			if (!pid) {
				cs_die_with_parent(self);
				if (rand_r(&seed) & 1)
					cs_prctl(PR_SCHED_CORE_CREATE, 0,
						 PR_SCHED_CORE_SCOPE_THREAD, 0);
				_exit(0);
			}
			__atomic_add_fetch(&sh->forks, 1, __ATOMIC_RELAXED);
			seed++;
		}
		for (i = 0; i < n; i++)
			if (wait(NULL) > 0)
				__atomic_add_fetch(&sh->reaped, 1, __ATOMIC_RELAXED);
	}
}

static __noreturn void quiet(int fd)
{
	char c = 0;

	if (write(fd, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* A forker, executed again: "--forker SHARED_FD QUIET_FD". */
static __noreturn void forker(char **argv)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED,
		  atoi(argv[2]), 0);
	if (sh == MAP_FAILED)
		_exit(1);
	fork_loop();
	quiet(atoi(argv[3]));
}

static void worker(int i, enum kind kind)
{
	char shared[16], out[16];
	pthread_t thread;

	/* A process group of its own: PGID-scope prctls stay in it. */
	setpgid(0, 0);
	if (kind == FORKER) {
		snprintf(shared, sizeof(shared), "%d", sh_fd);
		snprintf(out, sizeof(out), "%d", quiet_pipe[1]);
		execl(self_path, "domain_stress", "--forker", shared, out,
		      (char *)NULL);
		_exit(1);
	}
	if (kind == SPINNER2 &&
	    pthread_create(&thread, NULL, second_thread, (void *)(long)i))
		_exit(1);
	spin_loop();
	while (kind == SPINNER2 && !tid2(i))
		nap_us(1000);
	quiet(quiet_pipe[1]);
}

static void stop_workers(void)
{
	while (nr_workers) {
		pid_t pid = workers[--nr_workers];

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Once workers run, a test that fails stops them first. */
static __noreturn void fail(const char *what)
{
	stop_workers();
	cs_cg_destroy(CG);
	ksft_print_msg("%s\n", what);
	_exit(KSFT_FAIL);
}

static void start_workers(void)
{
	pid_t parent = getpid();
	int i;

	for (i = 0; i < NR_WORKERS; i++) {
		pid_t pid = fork();

		if (pid < 0)
			fail("cannot fork a worker");
		if (!pid) {
			cs_die_with_parent(parent);
			worker(i, i % NR_KINDS);
		}
		/* Here too: the group must exist before any prctl of ours. */
		setpgid(pid, pid);
		workers[nr_workers++] = pid;
		if (cg_enter(CG "/b", pid))
			fail("cannot move a worker to " CG "/b");
	}
}

/* Any cgroup a task may be put in: a leaf, or a slot that may not exist. */
static void random_cgroup(char *buf, size_t size, unsigned int *seed)
{
	unsigned int r = rand_r(seed) % (ARRAY_SIZE(leaves) + 2);

	if (r < ARRAY_SIZE(leaves))
		snprintf(buf, size, CG "/%s", leaves[r]);
	else
		snprintf(buf, size, CG "/%s/e%d", slot_parents[r - ARRAY_SIZE(leaves)],
			 rand_r(seed) % NR_SLOTS);
}

static bool running(void)
{
	return cs_now_ns() < deadline_ns;
}

static void *tagger(void *arg)
{
	unsigned int seed = (long)arg;
	char path[128];

	while (running()) {
		unsigned int r = rand_r(&seed) % (ARRAY_SIZE(tag_cgs) + 1);

		if (r < ARRAY_SIZE(tag_cgs))
			snprintf(path, sizeof(path), CG "/%s", tag_cgs[r]);
		else
			random_cgroup(path, sizeof(path), &seed);
		count(OP_TAG, cs_cg_tag(path, rand_r(&seed) & 1));
	}
	return NULL;
}

static unsigned long forks(void)
{
	return __atomic_load_n(&sh->forks, __ATOMIC_RELAXED);
}

/* Let forks through between two moves: see MOVE_PAUSE_US. */
static void let_forks_in(unsigned long *seen)
{
	uint64_t end = cs_now_ns() + FORK_WAIT_MS * 1000000ULL;

	nap_us(MOVE_PAUSE_US);
	while (forks() == *seen && running() && cs_now_ns() < end)
		nap_us(MOVE_PAUSE_US);
	*seen = forks();
}

static void *mover(void *arg)
{
	unsigned int seed = (long)arg;
	unsigned long seen = forks();
	char path[128];

	while (running()) {
		random_cgroup(path, sizeof(path), &seed);
		count(OP_MOVE, cg_enter(path, workers[rand_r(&seed) % NR_WORKERS]));
		let_forks_in(&seen);
	}
	return NULL;
}

/* A worker's main thread or, for a SPINNER2, maybe its second one. */
static pid_t random_tid(unsigned int *seed)
{
	int i = rand_r(seed) % NR_WORKERS;

	if (tid2(i) && rand_r(seed) & 1)
		return tid2(i);
	return workers[i];
}

/* CREATE, SHARE_TO (from our own cookie) and SHARE_FROM, any scope. */
static void *prctler(void *arg)
{
	static const int cmds[] = {
		PR_SCHED_CORE_CREATE, PR_SCHED_CORE_SHARE_TO, PR_SCHED_CORE_SHARE_FROM,
	};
	unsigned int seed = (long)arg;

	while (running()) {
		pid_t tid = random_tid(&seed);
		int scope = rand_r(&seed) % 3;
		int cmd = cmds[rand_r(&seed) % 3];

		/* SHARE_FROM takes no scope. */
		if (cmd == PR_SCHED_CORE_SHARE_FROM)
			scope = 0;
		count(OP_PRCTL, cs_prctl(cmd, tid, scope, 0));
	}
	return NULL;
}

/* Move every task of @cg to a leaf, then remove it (EBUSY if one came back). */
static int remove_cgroup(const char *cg)
{
	char buf[4096], *line, *save;

	if (!cg_read(cg, "cgroup.procs", buf, sizeof(buf))) {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			cg_write(CG "/b", "cgroup.procs", line);
	}
	return rmdir(cg) ? -errno : 0;
}

/* Create or remove a slot; a new one may be tagged and get a task. */
static void *cgrouper(void *arg)
{
	unsigned int seed = (long)arg;
	unsigned long seen = forks();
	char path[128];
	int ret;

	while (running()) {
		snprintf(path, sizeof(path), CG "/%s/e%d",
			 slot_parents[rand_r(&seed) % ARRAY_SIZE(slot_parents)],
			 rand_r(&seed) % NR_SLOTS);
		if (!access(path, F_OK) && rand_r(&seed) & 1) {
			ret = remove_cgroup(path);
		} else {
			ret = cs_cg_make(path, false);
			if (!ret && rand_r(&seed) & 1)
				cs_cg_tag(path, 1);
			if (!ret)
				cg_enter(path, workers[rand_r(&seed) % NR_WORKERS]);
		}
		count(OP_CGROUP, ret);
		let_forks_in(&seen);
	}
	return NULL;
}

static void run_stress(unsigned int seconds)
{
	void *(*fn[])(void *) = { tagger, tagger, mover, mover, prctler, cgrouper };
	pthread_t threads[ARRAY_SIZE(fn)];
	unsigned int i;

	deadline_ns = cs_now_ns() + seconds * 1000000000ULL;
	for (i = 0; i < ARRAY_SIZE(fn); i++)
		if (pthread_create(&threads[i], NULL, fn[i], (void *)(long)(i + 1)))
			fail("pthread_create");
	for (i = 0; i < ARRAY_SIZE(fn); i++)
		pthread_join(threads[i], NULL);
}

static bool quiesce(void)
{
	uint64_t end = cs_now_ns() + QUIET_TIMEOUT_MS * 1000000ULL;
	struct pollfd pfd = { .fd = quiet_pipe[0], .events = POLLIN };
	int quiet = 0;
	char c;

	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	while (quiet < NR_WORKERS) {
		uint64_t now = cs_now_ns();

		if (now >= end)
			return false;
		if (poll(&pfd, 1, (end - now) / 1000000 + 1) > 0 &&
		    read(quiet_pipe[0], &c, 1) == 1)
			quiet++;
	}
	return true;
}

struct task {
	pid_t tid;
	char cgroup[256];	/* relative to the cgroup root */
	char domain[256];	/* the nearest tagged cgroup, "" if none */
	uint64_t cookie;	/* PR_SCHED_CORE_GET */
	uint64_t task_cookie;	/* its task cookie alone, 0 if none */
};

static struct task tasks[MAX_TASKS];
static int nr_tasks;

/* The cgroup of thread @tid of @pid, relative to the root: 0 or -1. */
static int task_cgroup(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[64], line[256];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", pid, tid);
	if (cs_read_file(path, line, sizeof(line)) || strncmp(line, "0::/", 4))
		return -1;
	snprintf(buf, size, "%s", line + 4);
	return 0;
}

/* The nearest cgroup at or above @t's whose cpu.core_sched is 1. */
static void task_domain(struct task *t)
{
	char *domain = t->domain, *slash;

	memcpy(t->domain, t->cgroup, sizeof(t->domain));
	while (domain[0]) {
		if (cg_read_long(domain, "cpu.core_sched") == 1)
			return;
		slash = strrchr(domain, '/');
		if (slash)
			*slash = '\0';
		else
			domain[0] = '\0';
	}
}

/* The task cookie of @tid alone: a helper outside every domain copies it. */
static int task_cookie(pid_t tid, uint64_t *cookie)
{
	pid_t pid, parent = getpid();
	int pfd[2], status;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (!pid) {
		uint64_t c = 0;
		int err;

		cs_die_with_parent(parent);
		err = cs_prctl(PR_SCHED_CORE_SHARE_FROM, tid, 0, 0);
		if (!err)
			c = cs_get(0, &err);
		_exit(err || write(pfd[1], &c, sizeof(c)) != sizeof(c));
	}
	close(pfd[1]);
	status = read(pfd[0], cookie, sizeof(*cookie)) == sizeof(*cookie) ? 0 : -1;
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return status;
}

static bool collect(void)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int i, err;

	nr_tasks = 0;
	for (i = 0; i < NR_WORKERS; i++) {
		snprintf(path, sizeof(path), "/proc/%d/task", workers[i]);
		dir = opendir(path);
		if (!dir)
			return false;
		while ((de = readdir(dir)) && nr_tasks < MAX_TASKS) {
			struct task *t = &tasks[nr_tasks];

			if (de->d_name[0] == '.')
				continue;
			t->tid = atoi(de->d_name);
			err = task_cgroup(workers[i], t->tid, t->cgroup, sizeof(t->cgroup)) ||
			      task_cookie(t->tid, &t->task_cookie);
			if (!err) {
				task_domain(t);
				t->cookie = cs_get(t->tid, &err);
			}
			if (err) {
				closedir(dir);
				return false;
			}
			nr_tasks++;
		}
		closedir(dir);
	}
	return true;
}

static int count_distinct(bool task_cookie)
{
	uint64_t c[MAX_TASKS];
	int i, j, n = 0;

	for (i = 0; i < nr_tasks; i++) {
		c[i] = task_cookie ? tasks[i].task_cookie : tasks[i].cookie;
		for (j = 0; j < i && c[j] != c[i]; j++)
			;
		n += j == i;
	}
	return n;
}

static int in_domains(void)
{
	int i, n = 0;

	for (i = 0; i < nr_tasks; i++)
		n += !!tasks[i].domain[0];
	return n;
}

/* The rule is only tested by an end state with a domain, a task cookie and two cookies. */
static bool something_to_check(void)
{
	int i, domains = in_domains(), task_cookies = 0;

	for (i = 0; i < nr_tasks; i++)
		task_cookies += !!tasks[i].task_cookie;
	ksft_print_msg("%d tasks: %d in a domain, %d with a task cookie\n",
		       nr_tasks, domains, task_cookies);
	ksft_print_msg("%d distinct cookies, %d distinct task cookies\n",
		       count_distinct(false), count_distinct(true));
	return domains && task_cookies && count_distinct(false) >= 2;
}

static void show(const char *why, const struct task *t)
{
	ksft_print_msg("%s: tid %d in /%s, domain /%s, task cookie %#llx, cookie %#llx\n",
		       why, t->tid, t->cgroup, t->domain,
		       (unsigned long long)t->task_cookie,
		       (unsigned long long)t->cookie);
}

/* Every pair agrees with the rule, and no domain, no task cookie is 0. */
static int check_cookies(void)
{
	int i, j, bad = 0;

	for (i = 0; i < nr_tasks; i++) {
		const struct task *a = &tasks[i];

		if (!a->domain[0] && !a->task_cookie && a->cookie) {
			show("no domain, no task cookie, yet a cookie", a);
			bad++;
		}
		if ((a->domain[0] || a->task_cookie) && !a->cookie) {
			show("a domain or a task cookie, yet cookie 0", a);
			bad++;
		}
		for (j = i + 1; j < nr_tasks; j++) {
			const struct task *b = &tasks[j];
			bool same = !strcmp(a->domain, b->domain) &&
				    a->task_cookie == b->task_cookie;
			bool equal = a->cookie == b->cookie;

			if (same == equal)
				continue;
			show(same ? "same domain and task cookie, different cookies"
				  : "different domain or task cookie, same cookie", a);
			show("  versus", b);
			bad++;
		}
	}
	return bad;
}

/* Free empty slabs and KASAN's quarantine, which would look like a leak. */
static void slab_shrink(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir = opendir(SLAB_DIR);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || de->d_type == DT_LNK)
			continue;
		snprintf(path, sizeof(path), SLAB_DIR "/%s/shrink", de->d_name);
		if (cs_write_file(path, "1"))
			ksft_print_msg("cannot shrink %s\n", de->d_name);
	}
	closedir(dir);
}

static long slab_settle(long before)
{
	uint64_t end = cs_now_ns() + SLAB_TIMEOUT_MS * 1000000ULL;
	long now;

	for (;;) {
		slab_shrink();
		now = cs_meminfo_kb("SUnreclaim");
		if (now - before <= SLAB_SLACK_KB || cs_now_ns() >= end)
			return now;
		nap_us(100000);
	}
}

FIXTURE(stress) {
	long slab_before;
};

FIXTURE_SETUP(stress)
{
	static const char * const parents[] = { "", "a", "a/a1", "n" };
	char path[128];
	unsigned int i, j;

	if (cs_mode_off())
		SKIP(return, "coresched=off: no domains to stress");
	if (cs_cgroup_root())
		SKIP(return, "no cgroup v2");
	if (!cs_smt_active())
		SKIP(return, "no SMT: the kernel makes no domains");
	slab_shrink();
	self->slab_before = cs_meminfo_kb("SUnreclaim");
	/* The path, not /proc/self/exe: the forkers keep the test's name. */
	ASSERT_LT(0, readlink("/proc/self/exe", self_path, sizeof(self_path) - 1));
	sh_fd = memfd_create("domain_stress", 0);
	ASSERT_LE(0, sh_fd);
	ASSERT_EQ(0, ftruncate(sh_fd, sizeof(*sh)));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, sh_fd, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_EQ(0, pipe(quiet_pipe));
	cs_cg_destroy(CG);
	ASSERT_EQ(0, cg_write(".", "cgroup.subtree_control", "+cpu"));
	for (i = 0; i < ARRAY_SIZE(tag_cgs); i++) {
		snprintf(path, sizeof(path), CG "/%s", tag_cgs[i]);
		for (j = 0; j < ARRAY_SIZE(parents) && strcmp(tag_cgs[i], parents[j]); j++)
			;
		ASSERT_EQ(0, cs_cg_make(path, j < ARRAY_SIZE(parents)));
	}
}

FIXTURE_TEARDOWN(stress)
{
	stop_workers();
	cs_cg_destroy(CG);
}

TEST_F_TIMEOUT(stress, domains, MAX_SECONDS + 100)
{
	long slab_after;
	unsigned int i;
	bool busy, ok;

	start_workers();
	run_stress(seconds);
	/* A stress that never did one of its operations proves nothing. */
	busy = sh->forks > 0;
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		ksft_print_msg("%s: %lu done, %lu refused\n", ops[i].name,
			       ops[i].ok, ops[i].failed);
		busy &= ops[i].ok > 0;
	}
	ksft_print_msg("fork: %lu children forked, %lu reaped\n", sh->forks,
		       sh->reaped);
	EXPECT_TRUE(busy) TH_LOG("an operation of the stress was never done");
	EXPECT_TRUE(quiesce()) TH_LOG("a worker did not go quiet");

	ok = collect();
	if (ok && !in_domains()) {
		/* By chance (about 1 in 500) no domain: tag the top, read again. */
		ksft_print_msg("no task in a domain at the end: tagging /%s\n", CG);
		ok = !cs_cg_tag(CG, 1) && collect();
	}
	EXPECT_TRUE(ok) TH_LOG("cannot read every task's state");
	if (ok) {
		EXPECT_TRUE(something_to_check())
			TH_LOG("the stress ended with nothing to check");
		EXPECT_EQ(0, check_cookies())
			TH_LOG("cookies not as domain and task cookie imply");
	}

	stop_workers();
	cs_cg_destroy(CG);
	slab_after = slab_settle(self->slab_before);
	TH_LOG("unreclaimable slab: %ld kB before, %ld kB after",
	       self->slab_before, slab_after);
	EXPECT_LT(0, self->slab_before);
	EXPECT_GE(SLAB_SLACK_KB, slab_after - self->slab_before);
}

static void option(int c, const char *arg)
{
	if (cs_parse_num(arg, 1, MAX_SECONDS, &seconds)) {
		fprintf(stderr, "-d %s: not 1..%d seconds\n", arg, MAX_SECONDS);
		exit(KSFT_FAIL);
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--forker"))
		forker(argv);
	return test_harness_run(cs_options(argc, argv, "d:", option), argv);
}
