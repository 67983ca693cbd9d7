// SPDX-License-Identifier: GPL-2.0
/*
 * cpu.core_sched and PR_SCHED_CORE as PR_SCHED_CORE_GET reports them: how
 * domains compose with cookies, what a new task inherits, every error, in
 * each mode.  domain_isolation measures whether tasks really stay apart.
 *
 * usage: domain_api [-m off|on|vm|vm,strict]   (the mode the kernel runs in)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "cs_util.h"

#define CG		"coresched_api"
#define CORE_SCHED	"cpu.core_sched"
#define THREAD		PR_SCHED_CORE_SCOPE_THREAD

/* Other tasks' slab comes and goes; a leak of 8 bytes an iteration is 781 kB. */
#define LEAK_LOOPS	100000
#define LEAK_SLACK_KB	512

TEST(mode)
{
	ASSERT_STREQ(cs_mode, cs_kernel_mode());
}

/* A task that sleeps in @cg (NULL: where we are) until the test ends. */
static pid_t sleeper(struct __test_metadata *_metadata, const char *cg)
{
	pid_t parent = getpid(), pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		cs_die_with_parent(parent);
		pause();
		_exit(0);
	}
	if (cg)
		ASSERT_EQ(0, cg_enter(cg, pid));
	return pid;
}

static uint64_t cookie(struct __test_metadata *_metadata, pid_t pid)
{
	int err;
	uint64_t c = cs_get(pid, &err);

	EXPECT_EQ(0, err) TH_LOG("PR_SCHED_CORE_GET %d", pid);
	return c;
}

/* CG: a (a "pod"): a/c1, a/c2 ("containers" with tasks); b (tasks); none (never tagged). */
FIXTURE(api) {
};

FIXTURE_SETUP(api)
{
	if (cs_mode_off())
		SKIP(return, "coresched=off: no cookies and no domains");
	if (cs_cgroup_root())
		SKIP(return, "no cgroup v2");
	cs_cg_destroy(CG);
	ASSERT_EQ(0, cg_write(".", "cgroup.subtree_control", "+cpu"));
	ASSERT_EQ(0, cs_cg_make(CG, true));
	ASSERT_EQ(0, cs_cg_make(CG "/a", true));
	ASSERT_EQ(0, cs_cg_make(CG "/a/c1", false));
	ASSERT_EQ(0, cs_cg_make(CG "/a/c2", false));
	ASSERT_EQ(0, cs_cg_make(CG "/b", false));
	ASSERT_EQ(0, cs_cg_make(CG "/none", false));
}

/* Every CPU back online, for no_smt; the test process out of CG. */
FIXTURE_TEARDOWN(api)
{
	int cpu;

	for (cpu = 1; cpu < CS_MAX_CPUS; cpu++)
		cs_cpu_set_online(cpu, 1);
	cg_enter_current(".");
	cs_cg_destroy(CG);
}

TEST_F(api, file)
{
	struct stat st;

	ASSERT_EQ(0, stat(CG "/a/" CORE_SCHED, &st));
	ASSERT_NE(0, stat(CORE_SCHED, &st)) TH_LOG("the root has no domain file");
	ASSERT_EQ(0, cg_read_long(CG "/a", CORE_SCHED));
}

/* 1 makes a domain, 0 ends it; only the domain's own file reads 1. */
TEST_F(api, tag_untag)
{
	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	ASSERT_EQ(1, cg_read_long(CG "/a", CORE_SCHED));
	ASSERT_EQ(0, cg_read_long(CG "/a/c1", CORE_SCHED));
	ASSERT_EQ(0, cg_write(CG "/a", CORE_SCHED, "1\n"));
	ASSERT_EQ(0, cs_cg_tag(CG "/a", false));
	ASSERT_EQ(0, cg_read_long(CG "/a", CORE_SCHED));
}

/* Other numbers: EINVAL; past 64 bits: ERANGE; nothing changes. */
TEST_F(api, bad_writes)
{
	static const char * const bad[] = {
		"2", "-1", "abc", "\n", " ", "1 1", "01x", "on",
		"99999999999999999999999999",
	};
	unsigned int i;
	int state;

	for (state = 0; state <= 1; state++) {
		ASSERT_EQ(0, cs_cg_tag(CG "/a", state));
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			EXPECT_EQ(i == ARRAY_SIZE(bad) - 1 ? -ERANGE : -EINVAL,
				  cg_write(CG "/a", CORE_SCHED, (char *)bad[i]))
				TH_LOG("writing '%s'", bad[i]);
			EXPECT_EQ(state, cg_read_long(CG "/a", CORE_SCHED));
		}
	}
	/* A write(2) of no bytes never reaches the file. */
	ASSERT_EQ(0, cg_write(CG "/a", CORE_SCHED, ""));
	ASSERT_EQ(1, cg_read_long(CG "/a", CORE_SCHED));
}

TEST_F(api, domains)
{
	pid_t a1 = sleeper(_metadata, CG "/a/c1"), a1b = sleeper(_metadata, CG "/a/c1");
	pid_t a2 = sleeper(_metadata, CG "/a/c2"), b1 = sleeper(_metadata, CG "/b");
	pid_t none = sleeper(_metadata, CG "/none");
	uint64_t ca, cb, c2;

	/* No domain and no task cookie: 0. */
	ASSERT_EQ(0, cookie(_metadata, a1));
	ASSERT_EQ(0, cookie(_metadata, b1));

	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	ASSERT_EQ(0, cs_cg_tag(CG "/b", true));
	ca = cookie(_metadata, a1);
	cb = cookie(_metadata, b1);
	ASSERT_NE(0, ca);
	ASSERT_EQ(ca, cookie(_metadata, a1b)) TH_LOG("one domain, one cookie");
	ASSERT_NE(0, cb);
	ASSERT_NE(ca, cb) TH_LOG("two domains, two cookies");
	ASSERT_EQ(0, cookie(_metadata, none));
	ASSERT_EQ(ca, cookie(_metadata, a2)) TH_LOG("an untagged child shares its parent's");

	/* A tagged child is a domain of its own, apart from its parent's. */
	ASSERT_EQ(0, cs_cg_tag(CG "/a/c2", true));
	c2 = cookie(_metadata, a2);
	ASSERT_NE(0, c2);
	ASSERT_NE(ca, c2);
	ASSERT_NE(cb, c2);
	ASSERT_EQ(ca, cookie(_metadata, a1));
	ASSERT_EQ(0, cs_cg_tag(CG "/a/c2", false));
	ASSERT_EQ(ca, cookie(_metadata, a2));

	/* A moved task takes its new cgroup's domain at once. */
	ASSERT_EQ(0, cg_enter(CG "/b", a1b));
	ASSERT_EQ(cb, cookie(_metadata, a1b));
	ASSERT_EQ(0, cg_enter(CG "/none", a1b));
	ASSERT_EQ(0, cookie(_metadata, a1b));

	/* Ending a domain returns its tasks to cookie 0. */
	ASSERT_EQ(0, cs_cg_tag(CG "/a", false));
	ASSERT_EQ(0, cookie(_metadata, a1));
	ASSERT_EQ(0, cookie(_metadata, a2));
}

/* The cookie child @pid (0 in the child) was born with, sent on @pfd. */
static uint64_t born_with(struct __test_metadata *_metadata, pid_t pid, pid_t parent,
			  int pfd[2])
{
	uint64_t c;

	ASSERT_LE(0, pid);
	if (!pid) {
		cs_die_with_parent(parent);
		c = cs_get(0, NULL);
		if (write(pfd[1], &c, sizeof(c)) != sizeof(c))
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(sizeof(c), read(pfd[0], &c, sizeof(c)));
	return c;
}

/* A child that execs a shell reading a pipe we keep open: its pid, once it does. */
static pid_t exec_child(struct __test_metadata *_metadata)
{
	char path[64], comm[16] = "";
	pid_t pid, parent = getpid();
	int i, pfd[2];

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		cs_die_with_parent(parent);
		dup2(pfd[0], STDIN_FILENO);
		execl("/bin/sh", "sh", "-c", "read x", NULL);
		_exit(1);
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	for (i = 0; i < 10000 && strcmp(comm, "sh"); i++) {
		usleep(1000);
		cs_read_file(path, comm, sizeof(comm));
	}
	ASSERT_STREQ("sh", comm);
	return pid;
}

/*
 * A child is born with its parent's cookie, kept across exec, or with the
 * domain it is cloned into (CLONE_INTO_CGROUP).
 */
TEST_F(api, inherit)
{
	uint64_t domain, own, born;
	pid_t parent = getpid();
	int fd, pfd[2];

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	domain = cookie(_metadata, sleeper(_metadata, CG "/a/c2"));
	ASSERT_NE(0, domain);

	fd = open(CG "/a/c2", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, fd);
	born = born_with(_metadata, clone_into_cgroup(fd), parent, pfd);
	ASSERT_EQ(domain, born) TH_LOG("CLONE_INTO_CGROUP: born without the domain");

	ASSERT_EQ(0, cg_enter_current(CG "/a/c1"));
	ASSERT_EQ(0, cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, 0));
	own = cookie(_metadata, 0);
	ASSERT_NE(0, own);
	ASSERT_NE(domain, own);
	born = born_with(_metadata, fork(), parent, pfd);
	ASSERT_EQ(own, born) TH_LOG("fork: born without its parent's cookie");
	ASSERT_EQ(own, cookie(_metadata, exec_child(_metadata)))
		TH_LOG("exec: the cookie was lost");
}

TEST_F(api, compose)
{
	pid_t x = sleeper(_metadata, CG "/a/c1"), y = sleeper(_metadata, CG "/a/c1");
	pid_t plain = sleeper(_metadata, CG "/a/c2"), out = sleeper(_metadata, CG "/none");
	uint64_t cx;

	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	ASSERT_EQ(0, cs_cg_tag(CG "/b", true));
	/* A task cookie splits a domain. */
	ASSERT_EQ(0, cs_prctl(PR_SCHED_CORE_CREATE, x, THREAD, 0));
	cx = cookie(_metadata, x);
	ASSERT_NE(0, cx);
	ASSERT_NE(cookie(_metadata, plain), cx);

	/* Same domain, same task cookie: one cookie. */
	ASSERT_EQ(0, cs_cookie_copy(x, y));
	ASSERT_EQ(cx, cookie(_metadata, y));
	/* Same task cookie in another domain: another cookie. */
	ASSERT_EQ(0, cg_enter(CG "/b", y));
	ASSERT_NE(cx, cookie(_metadata, y));
	ASSERT_NE(cookie(_metadata, plain), cookie(_metadata, y));

	/* SHARE_FROM takes the task cookie only: alone, neither 0 nor x's. */
	ASSERT_EQ(0, cs_cookie_copy(x, out));
	ASSERT_NE(0, cookie(_metadata, out));
	ASSERT_NE(cx, cookie(_metadata, out));
}

TEST_F(api, prctl_errors)
{
	uint64_t c;
	void *unmapped;
	pid_t victim, pid;
	int status, err;

	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_MAX, 0, THREAD, 0));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_CREATE, 0, 3, 0));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_GET, 0, PR_SCHED_CORE_SCOPE_THREAD_GROUP,
				    (unsigned long)&c));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_GET, 0, THREAD, (unsigned long)&c + 1));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, (unsigned long)&c));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_CREATE, -1, THREAD, 0));
	EXPECT_EQ(-EINVAL, cs_prctl(PR_SCHED_CORE_SHARE_FROM, 0,
				    PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0));
	EXPECT_EQ(-ESRCH, cs_prctl(PR_SCHED_CORE_CREATE, INT_MAX, THREAD, 0));
	EXPECT_EQ(-ESRCH, cs_prctl(PR_SCHED_CORE_GET, INT_MAX, THREAD, (unsigned long)&c));

	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	EXPECT_EQ(-EFAULT, cs_prctl(PR_SCHED_CORE_GET, 0, THREAD, (unsigned long)unmapped));

	/* Without ptrace access to a task: EPERM; its own cookie is its business. */
	victim = sleeper(_metadata, NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(TEST_UID) || setuid(TEST_UID))
			_exit(2);
		cs_get(victim, &err);
		_exit(cs_prctl(PR_SCHED_CORE_CREATE, victim, THREAD, 0) != -EPERM ||
		      cs_prctl(PR_SCHED_CORE_SHARE_TO, victim, THREAD, 0) != -EPERM ||
		      cs_prctl(PR_SCHED_CORE_SHARE_FROM, victim, THREAD, 0) != -EPERM ||
		      err != -EPERM || cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, 0) ? 1 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* A delegatee may tag the cgroups it makes, not its own domain: its delegator's file. */
TEST_F(api, delegation)
{
	static const char * const files[] = {
		"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads",
	};
	char path[PATH_MAX];
	unsigned int i;
	pid_t pid;
	int status;

	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), CG "/a%s", files[i]);
		ASSERT_EQ(0, chown(path, TEST_UID, TEST_UID));
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setgid(TEST_UID) || setuid(TEST_UID))
			_exit(2);
		_exit(cg_create(CG "/a/mine") || cs_cg_tag(CG "/a/mine", true) ||
		      cs_cg_tag(CG "/a", false) != -EACCES);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, cg_read_long(CG "/a/mine", CORE_SCHED));
	ASSERT_EQ(1, cg_read_long(CG "/a", CORE_SCHED));
}

/* A domain cgroup whose tasks are gone can be removed; the other domains stand. */
TEST_F(api, rmdir)
{
	pid_t gone, stays = sleeper(_metadata, CG "/b");
	uint64_t cb;

	ASSERT_EQ(0, cs_cg_tag(CG "/a", true));
	ASSERT_EQ(0, cs_cg_tag(CG "/a/c1", true));
	ASSERT_EQ(0, cs_cg_tag(CG "/b", true));
	cb = cookie(_metadata, stays);
	gone = sleeper(_metadata, CG "/a/c1");
	ASSERT_EQ(0, kill(gone, SIGKILL));
	ASSERT_EQ(gone, waitpid(gone, NULL, 0));
	ASSERT_EQ(0, rmdir(CG "/a/c1"));
	ASSERT_EQ(0, rmdir(CG "/a/c2"));
	ASSERT_EQ(0, rmdir(CG "/a"));
	ASSERT_EQ(cb, cookie(_metadata, stays));
	ASSERT_EQ(0, cs_cg_make(CG "/a", false));
	ASSERT_EQ(0, cg_read_long(CG "/a", CORE_SCHED)) TH_LOG("a new cgroup is no domain");
}

/* Take every SMT sibling offline: 0 or -errno. */
static int smt_off(void)
{
	int cpu, first, ret;
	cpu_set_t sib;

	for (cpu = 0; cpu < CS_MAX_CPUS; cpu++) {
		if (!cs_cpu_siblings(cpu, &sib))
			continue;
		for (first = 0; !CPU_ISSET(first, &sib); first++)
			;
		if (first == cpu)
			continue;
		ret = cs_cpu_set_online(cpu, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static void prctl_refused(struct __test_metadata *_metadata)
{
	uint64_t c;

	EXPECT_EQ(-ENODEV, cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, 0));
	EXPECT_EQ(-ENODEV, cs_prctl(PR_SCHED_CORE_SHARE_TO, 0, THREAD, 0));
	EXPECT_EQ(-ENODEV, cs_prctl(PR_SCHED_CORE_SHARE_FROM, 0, THREAD, 0));
	EXPECT_EQ(-ENODEV, cs_prctl(PR_SCHED_CORE_GET, 0, THREAD, (unsigned long)&c));
}

/* No SMT core online: every prctl and making a domain fail with ENODEV; ending one works. */
TEST_F(api, no_smt)
{
	int err;

	ASSERT_EQ(0, cs_cg_tag(CG "/b", true));
	err = smt_off();
	if (err)
		SKIP(return, "cannot take SMT siblings offline: %s", strerror(-err));
	ASSERT_FALSE(cs_smt_active());
	prctl_refused(_metadata);
	EXPECT_EQ(-ENODEV, cs_cg_tag(CG "/a", true));
	EXPECT_EQ(0, cg_read_long(CG "/a", CORE_SCHED));
	EXPECT_EQ(0, cs_cg_tag(CG "/b", false));
	EXPECT_EQ(0, cg_read_long(CG "/b", CORE_SCHED));
}

static int churn(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (cs_cg_tag(CG "/a", true) || cs_cg_tag(CG "/a", false) ||
		    cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, 0))
			return -1;
	}
	return 0;
}

TEST_F_TIMEOUT(api, leak, 800)
{
	long before, after;

	/* A cookie and a tagged b with a task keep the static keys on: objects only. */
	ASSERT_EQ(0, cs_prctl(PR_SCHED_CORE_CREATE, 0, THREAD, 0));
	ASSERT_EQ(0, cs_cg_tag(CG "/b", true));
	sleeper(_metadata, CG "/a/c1");
	sleeper(_metadata, CG "/b");
	ASSERT_EQ(0, churn(1000));
	before = cs_meminfo_kb("SUnreclaim");
	ASSERT_EQ(0, churn(LEAK_LOOPS));
	after = cs_meminfo_kb("SUnreclaim");
	TH_LOG("unreclaimable slab: %ld kB before, %ld kB after", before, after);
	ASSERT_LT(0, before);
	ASSERT_GT(LEAK_SLACK_KB, after - before);
}

/* coresched=off: neither interface makes a cookie. */
FIXTURE(off) {
};

FIXTURE_SETUP(off)
{
	if (!cs_mode_off())
		SKIP(return, "coresched=%s: not off", cs_mode);
	if (cs_cgroup_root())
		SKIP(return, "no cgroup v2");
	cs_cg_destroy(CG);
	ASSERT_EQ(0, cg_write(".", "cgroup.subtree_control", "+cpu"));
	ASSERT_EQ(0, cs_cg_make(CG, false));
}

FIXTURE_TEARDOWN(off)
{
	cs_cg_destroy(CG);
}

TEST_F(off, prctl)
{
	prctl_refused(_metadata);
}

TEST_F(off, cgroup)
{
	EXPECT_EQ(-ENODEV, cs_cg_tag(CG, true));
	EXPECT_EQ(-ENODEV, cs_cg_tag(CG, false));
	EXPECT_EQ(-ENODEV, cg_write(CG, CORE_SCHED, "2"));
	EXPECT_EQ(0, cg_read_long(CG, CORE_SCHED));
}

int main(int argc, char **argv)
{
	return test_harness_run(cs_options(argc, argv, "m:", NULL), argv);
}
