// SPDX-License-Identifier: GPL-2.0
/*
 * The interface of core scheduling security domains: the coresched= mode,
 * cgroup v2's cpu.core_sched, and how domains compose with prctl cookies
 * as PR_SCHED_CORE_GET reports them.  Every rule and every error path;
 * whether tasks really stay apart is domain_isolation's business.
 *
 * usage: domain_api [-m off|on|vm]
 *   -m  the mode the kernel was booted in: a kernel in another mode fails
 *       the test (without -m, the kernel's mode decides)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest.h"
#include "cs_overlap.h"
#include "cs_util.h"

#define CG	"coresched_api"

/* Iterations of the leak test, and how much unreclaimable slab may grow. */
#define LEAK_LOOPS	100000
#define LEAK_SLACK_KB	256

static const char *expect_mode;

static pid_t sleepers[16];
static int nr_sleepers;

static void reap_sleepers(void)
{
	while (nr_sleepers) {
		pid_t pid = sleepers[--nr_sleepers];

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* A task that sleeps in @cg until the test ends. */
static pid_t sleeper(const char *cg)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0) {
		reap_sleepers();
		ksft_exit_fail_perror("fork");
	}
	if (!pid) {
		cs_die_with_parent(parent);
		pause();
		_exit(0);
	}
	sleepers[nr_sleepers++] = pid;
	if (cg && cg_enter(cg, pid)) {
		reap_sleepers();
		ksft_exit_fail_msg("cannot move %d to %s\n", pid, cg);
	}
	return pid;
}

static uint64_t get(pid_t pid)
{
	int err;
	uint64_t cookie = cs_get(pid, &err);

	if (err)
		ksft_print_msg("PR_SCHED_CORE_GET %d: %s\n", pid, strerror(-err));
	return cookie;
}

#define check(cond, fmt, ...)						\
	do {								\
		if (!(cond)) {						\
			ksft_print_msg("%s:%d: failed: %s\n", __func__,	\
				       __LINE__, #cond);		\
			ksft_test_result_fail(fmt, ##__VA_ARGS__);	\
			return;						\
		}							\
	} while (0)

/*
 * CG            the test's cgroup
 *   a           a "pod": no task of its own, cpu enabled for its children
 *     a/c1      "containers" with tasks
 *     a/c2
 *   b           a leaf with tasks
 *   none        a leaf that is never tagged
 */
static void setup(void)
{
	cg_destroy(CG);
	if (cg_enable_cpu(""))
		ksft_exit_fail_msg("cannot enable the cpu controller\n");
	if (cg_create(CG) || cg_enable_cpu(CG) || cg_create(CG "/a") ||
	    cg_enable_cpu(CG "/a") || cg_create(CG "/a/c1") ||
	    cg_create(CG "/a/c2") || cg_create(CG "/b") ||
	    cg_create(CG "/none"))
		ksft_exit_fail_msg("cannot create the test cgroups\n");
}

static void test_off(void)
{
	char buf[16];

	check(cs_create(0, 0) == -ENODEV, "off: prctl CREATE fails with ENODEV");
	ksft_test_result_pass("off: prctl CREATE fails with ENODEV\n");
	check(cg_tag(CG "/a", 1) == -ENODEV, "off: cpu.core_sched write fails with ENODEV");
	check(!cg_read(CG "/a", "cpu.core_sched", buf, sizeof(buf)) &&
	      atoi(buf) == 0, "off: cpu.core_sched stays 0");
	ksft_test_result_pass("off: cpu.core_sched write fails with ENODEV, stays 0\n");
}

static void test_file(void)
{
	struct stat st;

	check(!stat(CS_CGROUP_ROOT "/" CG "/a/cpu.core_sched", &st),
	      "cpu.core_sched present on a child cgroup");
	check(stat(CS_CGROUP_ROOT "/cpu.core_sched", &st) && errno == ENOENT,
	      "cpu.core_sched absent from the root");
	check(cg_read_ll(CG "/a", "cpu.core_sched") == 0, "reads 0 by default");
	ksft_test_result_pass("cpu.core_sched on children only, 0 by default\n");
}

static void test_tag_untag(void)
{
	check(!cg_tag(CG "/a", 1), "write 1");
	check(cg_read_ll(CG "/a", "cpu.core_sched") == 1, "reads 1");
	check(!cg_write(CG "/a", "cpu.core_sched", "1\n"), "write 1 again");
	check(!cg_tag(CG "/a", 0), "write 0");
	check(cg_read_ll(CG "/a", "cpu.core_sched") == 0, "reads 0");
	ksft_test_result_pass("write 1 tags, write 0 untags\n");
}

static void test_bad_writes(void)
{
	/* What cgroup's u64 parser rejects, then the range check. */
	static const char * const bad[] = {
		"2", "-1", "abc", "\n", " ", "1 1", "01x", "on",
		"99999999999999999999999999",
	};
	unsigned int i;
	int state, ret, want;

	for (state = 0; state <= 1; state++) {
		check(!cg_tag(CG "/a", state), "set %d", state);
		for (i = 0; i < ARRAY_SIZE(bad); i++) {
			/* A number too large for 64 bits is out of range. */
			want = i == ARRAY_SIZE(bad) - 1 ? -ERANGE : -EINVAL;
			ret = cg_write(CG "/a", "cpu.core_sched", bad[i]);
			if (ret != want)
				ksft_print_msg("write '%s': %s\n", bad[i],
					       ret ? strerror(-ret) : "accepted");
			check(ret == want, "bad write fails with EINVAL (ERANGE)");
			check(cg_read_ll(CG "/a", "cpu.core_sched") == state,
			      "bad write changes nothing");
		}
	}
	/* A write(2) of no bytes never reaches the file: it changes nothing. */
	check(!cg_write(CG "/a", "cpu.core_sched", ""), "empty write");
	check(cg_read_ll(CG "/a", "cpu.core_sched") == 1, "empty write changes nothing");
	cg_tag(CG "/a", 0);
	ksft_test_result_pass("bad writes fail with EINVAL or ERANGE and change nothing\n");
}

static void test_domains(void)
{
	pid_t a1, a1b, a2, b1, none;
	uint64_t ca, cb, c2;

	a1 = sleeper(CG "/a/c1");
	a1b = sleeper(CG "/a/c1");
	a2 = sleeper(CG "/a/c2");
	b1 = sleeper(CG "/b");
	none = sleeper(CG "/none");

	check(!get(a1) && !get(b1) && !get(none),
	      "no domain and no task cookie: cookie 0");
	ksft_test_result_pass("no domain, no task cookie: cookie 0\n");

	check(!cg_tag(CG "/a", 1) && !cg_tag(CG "/b", 1), "tag a and b");
	ca = get(a1);
	cb = get(b1);
	check(ca && ca == get(a1b), "tasks of one domain share a cookie");
	ksft_test_result_pass("tasks of one domain report one cookie\n");
	check(cb && cb != ca, "two domains differ");
	check(!get(none), "a task outside stays 0");
	ksft_test_result_pass("two domains report different cookies\n");

	check(get(a2) == ca, "tasks of untagged children share the pod's domain");
	ksft_test_result_pass("nested: untagged children inherit the domain\n");

	check(!cg_tag(CG "/a/c2", 1), "tag a/c2");
	c2 = get(a2);
	check(c2 && c2 != ca && c2 != cb, "a tagged child is a domain of its own");
	check(get(a1) == ca, "the parent's domain is unchanged");
	check(!cg_tag(CG "/a/c2", 0), "untag a/c2");
	check(get(a2) == ca, "untagged again, back in the parent's domain");
	ksft_test_result_pass("nested: a tagged child is a new domain\n");

	check(!cg_enter(CG "/b", a1b), "move a1b to b");
	check(get(a1b) == cb, "a moved task takes the new domain at once");
	check(!cg_enter(CG "/none", a1b), "move a1b out");
	check(!get(a1b), "out of every domain: 0");
	ksft_test_result_pass("moving a task changes its domain at once\n");

	check(!cg_tag(CG "/a", 0), "untag a");
	check(!get(a1) && !get(a2), "untagging returns the tasks to cookie 0");
	ksft_test_result_pass("untagging a cgroup clears its tasks' domain\n");

	cg_tag(CG "/b", 0);
	reap_sleepers();
}

/* A forked child is in its parent's domain, a domain it reports at once. */
static void test_fork(void)
{
	uint64_t parent_cookie, child_cookie = 1;
	pid_t pid, parent = getpid();
	int pfd[2];

	check(!pipe(pfd), "pipe");
	check(!cg_tag(CG "/a", 1), "tag a");
	pid = fork();
	check(pid >= 0, "fork");
	if (!pid) {
		pid_t c, self = getpid();

		cs_die_with_parent(parent);
		cg_enter(CG "/a/c1", self);
		c = fork();
		if (!c) {
			cs_die_with_parent(self);
			pause();
			_exit(0);
		}
		child_cookie = cs_get(c, NULL);
		parent_cookie = cs_get(0, NULL);
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		if (write(pfd[1], &child_cookie, sizeof(child_cookie)) < 0 ||
		    write(pfd[1], &parent_cookie, sizeof(parent_cookie)) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	check(read(pfd[0], &child_cookie, 8) == 8 &&
	      read(pfd[0], &parent_cookie, 8) == 8, "read cookies");
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	cg_tag(CG "/a", 0);
	check(parent_cookie && child_cookie == parent_cookie,
	      "a child forked in a domain shares its parent's cookie");
	ksft_test_result_pass("fork: a child inherits its parent's domain\n");
}

static void test_compose(void)
{
	pid_t x, y, plain, out;
	uint64_t cx, cplain;

	check(!cg_tag(CG "/a", 1) && !cg_tag(CG "/b", 1), "tag a and b");
	x = sleeper(CG "/a/c1");
	y = sleeper(CG "/a/c1");
	plain = sleeper(CG "/a/c2");
	out = sleeper(CG "/none");

	check(!cs_create(x, 0), "CREATE on x");
	cx = get(x);
	cplain = get(plain);
	check(cx && cx != cplain, "a task cookie splits a domain");
	ksft_test_result_pass("compose: a prctl cookie splits a domain\n");

	/* SHARE_TO from x: y has x's task cookie and x's domain. */
	check(!cs_share_from(x), "take x's cookie");
	check(!cs_share_to(y, 0), "give it to y");
	check(!cs_create(0, 0), "back to a fresh cookie of our own");
	check(get(y) == cx, "same domain and same task cookie: one cookie");
	ksft_test_result_pass("compose: same domain, same task cookie: equal\n");

	check(!cg_enter(CG "/b", y), "move y to b");
	check(get(y) != cx && get(y) != get(plain), "other domain, same task cookie");
	ksft_test_result_pass("compose: same task cookie, other domain: different\n");

	/*
	 * SHARE_FROM copies the task cookie only, never the domain: we are in
	 * no domain, so we end up with x's task cookie alone, which is
	 * neither x's cookie nor 0; SHARE_TO gives the same to "out".
	 */
	check(!cs_share_from(x), "take x's task cookie");
	check(get(0) && get(0) != cx, "x's task cookie without x's domain");
	check(!cs_share_to(out, 0), "give it to out");
	check(get(out) == get(0), "out matches us, not x");
	check(!cs_create(0, 0), "back to a fresh cookie of our own");
	reap_sleepers();
	cg_tag(CG "/a", 0);
	cg_tag(CG "/b", 0);
	ksft_test_result_pass("compose: SHARE_TO/SHARE_FROM carry the task cookie only\n");
}

static void test_prctl_errors(void)
{
	uint64_t cookie;
	int status, err;
	pid_t victim, pid;

	check(cs_prctl(4, 0, 0, 0) == -EINVAL, "unknown command: EINVAL");
	check(cs_prctl(1, 0, 3, 0) == -EINVAL, "unknown scope: EINVAL");
	check(cs_prctl(0, 0, 1, (unsigned long)&cookie) == -EINVAL,
	      "GET with a group scope: EINVAL");
	check(cs_prctl(0, 0, 0, (unsigned long)&cookie + 1) == -EINVAL,
	      "GET to a misaligned address: EINVAL");
	check(cs_prctl(1, 0, 0, (unsigned long)&cookie) == -EINVAL,
	      "an address with CREATE: EINVAL");
	check(cs_prctl(1, -1, 0, 0) == -EINVAL, "a negative pid: EINVAL");
	check(cs_prctl(3, 0, 1, 0) == -EINVAL, "SHARE_FROM a group: EINVAL");
	ksft_test_result_pass("prctl: bad commands, scopes and arguments: EINVAL\n");

	check(cs_prctl(1, INT_MAX, 0, 0) == -ESRCH, "no such pid: ESRCH");
	check(cs_prctl(0, INT_MAX, 0, (unsigned long)&cookie) == -ESRCH,
	      "GET of no such pid: ESRCH");
	ksft_test_result_pass("prctl: a nonexistent pid: ESRCH\n");

	/* An unprivileged task may not touch a root task's cookie. */
	victim = sleeper(NULL);
	pid = fork();
	check(pid >= 0, "fork");
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (cs_create(victim, 0) != -EPERM ||
		    cs_share_to(victim, 0) != -EPERM ||
		    cs_share_from(victim) != -EPERM ||
		    cs_get(victim, &err) || err != -EPERM)
			_exit(1);
		/* Its own cookie is its business. */
		_exit(cs_create(0, 0) ? 3 : 0);
	}
	waitpid(pid, &status, 0);
	reap_sleepers();
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "unprivileged: EPERM on another's task, allowed on its own");
	ksft_test_result_pass("prctl: no ptrace access: EPERM\n");
}

/* Tag and untag, CREATE cookies: @n times each. */
static int churn(int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (cg_tag(CG "/a", 1) || cg_tag(CG "/a", 0) || cs_create(0, 0))
			return -1;
	}
	return 0;
}

static void test_leak(void)
{
	long before, after;

	/*
	 * Keep core scheduling on (our own cookie) and the domain machinery
	 * busy (a tagged b with a task) for the whole loop: the test is about
	 * cookie objects, not about flipping the static keys 100000 times.
	 */
	check(!cs_create(0, 0), "own cookie");
	check(!cg_tag(CG "/b", 1), "tag b");
	sleeper(CG "/a/c1");
	sleeper(CG "/b");

	check(!churn(1000), "warm up");
	before = cs_meminfo_kb("SUnreclaim");
	check(!churn(LEAK_LOOPS), "%d domains and task cookies", LEAK_LOOPS);
	after = cs_meminfo_kb("SUnreclaim");
	reap_sleepers();
	cg_tag(CG "/b", 0);

	ksft_print_msg("unreclaimable slab: %ld kB before, %ld kB after\n",
		       before, after);
	check(before > 0 && after - before < LEAK_SLACK_KB,
	      "slab does not grow");
	ksft_test_result_pass("%d domains and cookies created and freed: slab %+ld kB\n",
			      LEAK_LOOPS, after - before);
}

int main(int argc, char **argv)
{
	const char *mode;
	int opt;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt != 'm' || (strcmp(optarg, "off") && strcmp(optarg, "on") &&
				   strcmp(optarg, "vm"))) {
			fprintf(stderr, "usage: %s [-m off|on|vm]\n", argv[0]);
			exit(2);
		}
		expect_mode = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s [-m off|on|vm]\n", argv[0]);
		exit(2);
	}

	ksft_print_header();
	mode = cs_mode();
	if (!mode && expect_mode)
		ksft_exit_fail_msg("-m %s, but no %s\n", expect_mode, CS_MODE_FILE);
	if (!mode)
		ksft_exit_skip("no %s: not a kernel with this series\n", CS_MODE_FILE);
	if (!expect_mode)
		expect_mode = mode;
	else if (strcmp(mode, expect_mode))
		ksft_exit_fail_msg("-m %s, but the kernel runs coresched=%s\n",
				   expect_mode, mode);
	if (access(CS_CGROUP_ROOT "/cgroup.controllers", F_OK))
		ksft_exit_skip("no cgroup v2 at %s\n", CS_CGROUP_ROOT);

	setup();
	if (!strcmp(expect_mode, "off")) {
		ksft_set_plan(2);
		test_off();
	} else {
		ksft_set_plan(19);
		test_file();
		test_tag_untag();
		test_bad_writes();
		test_domains();
		test_fork();
		test_compose();
		test_prctl_errors();
		test_leak();
	}
	reap_sleepers();
	cg_destroy(CG);
	ksft_finished();
}
