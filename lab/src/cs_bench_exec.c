// SPDX-License-Identifier: GPL-2.0
/*
 * Start the tenants of a benchmark at the same instant, each in a cgroup
 * of its own and/or with a core scheduling cookie of its own, and report
 * how long each ran: the launcher of the lab's benchmarks
 * (lab/guest/bench.sh).  Not a test.
 *
 * usage: cs_bench_exec [-c] [-g CGROUP] [-o PREFIX] [-k] CMD...
 *
 *   CMD...      one shell command per tenant, run as "sh -c CMD"; tenant
 *               i is the i-th, counted from 0
 *   -c          each tenant gets a new prctl(PR_SCHED_CORE) cookie for its
 *               process before it runs CMD, so that everything CMD forks
 *               inherits it: one cookie per tenant, as coresched(1)'s
 *               "new" command gives one
 *   -g CGROUP   tenant i enters the cgroup CGROUPi first (relative to
 *               /sys/fs/cgroup; the caller creates it, and tags it or not)
 *   -o PREFIX   tenant i's output goes to the file PREFIXi
 *   -k          when tenant 0 ends, kill the others (each tenant is a
 *               process group of its own): tenants 1... are its background
 *
 * Every tenant is set up (cgroup, cookie, output) and waits; all are let
 * go together, so the clock of each starts at the same instant.
 *
 * Output: "tenant=I seconds=S status=N killed=0|1" per tenant (N: exit
 * code, 128 + signal if killed by one), then "makespan=S", the time until
 * the last tenant ended.  Exit code 0 if every tenant exited 0 (or was
 * killed by -k), 1 on any other failure, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/prctl.h>

#define MAX_TENANTS	16

struct tenant {
	const char *cmd;
	pid_t pid;
	double seconds;
	int status;		/* exit code, or 128 + signal */
	bool killed;		/* by us, with -k */
};

static struct tenant tenants[MAX_TENANTS];
static int nr_tenants;
static bool new_cookie, kill_rest;
static const char *cgroup, *out_prefix;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bad_usage(void)
{
	fprintf(stderr,
		"usage: cs_bench_exec [-c] [-g CGROUP] [-o PREFIX] [-k] CMD...\n");
	exit(2);
}

/* Cgroup, cookie and output of tenant @i: 0 or -errno. */
static int setup(int i)
{
	char name[256];
	int fd, ret;

	if (setpgid(0, 0))
		return -errno;
	if (cgroup) {
		snprintf(name, sizeof(name), "/sys/fs/cgroup/%s%d/cgroup.procs",
			 cgroup, i);
		fd = open(name, O_WRONLY);
		if (fd < 0)
			return -errno;
		ret = write(fd, "0", 1) == 1 ? 0 : -errno;
		close(fd);
		if (ret)
			return ret;
	}
	if (new_cookie && prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
				PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0))
		return -errno;
	if (out_prefix) {
		snprintf(name, sizeof(name), "%s%d", out_prefix, i);
		fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -errno;
		if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			return -errno;
		close(fd);
	}
	return 0;
}

/*
 * The child of tenant @i: set up, report the outcome on @ready (one byte:
 * 0 or the errno), wait for @go to reach end of file, run the command.
 */
static void tenant_main(int i, int ready, int go)
{
	int ret = setup(i);
	unsigned char byte = ret ? -ret : 0;
	char buf[1];
	ssize_t n;

	if (write(ready, &byte, 1) != 1 || ret)
		_exit(127);
	close(ready);
	do {
		n = read(go, buf, 1);
	} while (n > 0 || (n < 0 && errno == EINTR));
	close(go);
	execl("/bin/sh", "sh", "-c", tenants[i].cmd, (char *)NULL);
	_exit(127);
}

/* Fork every tenant; false (and the reason on stderr) if one failed. */
static bool start_all(int go_pipe[2])
{
	int ready_pipe[2], i, failed = 0;
	unsigned char byte;
	ssize_t n;

	if (pipe(ready_pipe) || pipe(go_pipe)) {
		perror("cs_bench_exec: pipe");
		return false;
	}
	for (i = 0; i < nr_tenants; i++) {
		tenants[i].pid = fork();
		if (tenants[i].pid < 0) {
			perror("cs_bench_exec: fork");
			return false;
		}
		if (!tenants[i].pid) {
			close(ready_pipe[0]);
			close(go_pipe[1]);
			tenant_main(i, ready_pipe[1], go_pipe[0]);
		}
	}
	close(ready_pipe[1]);
	close(go_pipe[0]);
	for (i = 0; i < nr_tenants; i++) {
		n = read(ready_pipe[0], &byte, 1);
		if (n != 1) {
			fprintf(stderr, "cs_bench_exec: a tenant died in setup\n");
			return false;
		}
		if (byte) {
			fprintf(stderr, "cs_bench_exec: tenant setup: %s\n",
				strerror(byte));
			failed = 1;
		}
	}
	close(ready_pipe[0]);
	return !failed;
}

static struct tenant *find(pid_t pid)
{
	int i;

	for (i = 0; i < nr_tenants; i++) {
		if (tenants[i].pid == pid)
			return &tenants[i];
	}
	return NULL;
}

/* With -k: tenant 0 is done, the background goes. */
static void kill_background(void)
{
	int i;

	for (i = 1; i < nr_tenants; i++) {
		if (!tenants[i].seconds) {
			tenants[i].killed = true;
			kill(-tenants[i].pid, SIGKILL);
		}
	}
}

/* Reap every tenant; the time of each from @t0. */
static void wait_all(double t0)
{
	int left = nr_tenants, wstatus;
	struct tenant *t;
	pid_t pid;

	while (left) {
		pid = waitpid(-1, &wstatus, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			perror("cs_bench_exec: waitpid");
			exit(1);
		}
		t = find(pid);
		if (!t)
			continue;
		t->seconds = now() - t0;
		if (WIFEXITED(wstatus))
			t->status = WEXITSTATUS(wstatus);
		else
			t->status = 128 + WTERMSIG(wstatus);
		left--;
		if (kill_rest && t == &tenants[0])
			kill_background();
	}
}

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "+cg:o:k")) != -1) {
		switch (opt) {
		case 'c':
			new_cookie = true;
			break;
		case 'g':
			cgroup = optarg;
			break;
		case 'o':
			out_prefix = optarg;
			break;
		case 'k':
			kill_rest = true;
			break;
		default:
			bad_usage();
		}
	}
	if (optind == argc || argc - optind > MAX_TENANTS)
		bad_usage();
	for (; optind < argc; optind++)
		tenants[nr_tenants++].cmd = argv[optind];
}

int main(int argc, char **argv)
{
	double t0, makespan = 0;
	int go_pipe[2], i, ret = 0;

	parse_args(argc, argv);
	if (!start_all(go_pipe)) {
		for (i = 0; i < nr_tenants; i++) {
			if (tenants[i].pid > 0)
				kill(tenants[i].pid, SIGKILL);
		}
		while (wait(NULL) > 0)
			;
		return 1;
	}
	/* Let them go: end of file on the pipe they wait on. */
	t0 = now();
	close(go_pipe[1]);
	wait_all(t0);

	for (i = 0; i < nr_tenants; i++) {
		struct tenant *t = &tenants[i];

		printf("tenant=%d seconds=%.6f status=%d killed=%d\n", i,
		       t->seconds, t->status, t->killed);
		if (t->seconds > makespan)
			makespan = t->seconds;
		if (t->status && !t->killed)
			ret = 1;
	}
	printf("makespan=%.6f\n", makespan);
	return ret;
}
