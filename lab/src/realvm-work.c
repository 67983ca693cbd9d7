// SPDX-License-Identifier: GPL-2.0
/*
 * The work a real VMM's guest does in the lab, run inside that guest on
 * its vCPUs.  Every phase counts per vCPU, so that the host can tell that
 * each vCPU made progress, and prints one line per vCPU:
 *
 *   realvm: cpuN PHASE=COUNT
 *
 *   realvm-work spin MS
 *	one CPU-bound loop pinned to each online CPU for MS ms; COUNT is
 *	the loop's iterations in thousands
 *   realvm-work pingpong CPU_A CPU_B MS
 *	a byte sent back and forth through two pipes between a process
 *	pinned to CPU_A and one pinned to CPU_B, for MS ms from when the
 *	first is pinned, and one round trip at least: each message wakes a
 *	task sleeping on the other CPU (a cross-CPU wakeup, an IPI when that
 *	CPU idles); COUNT is the messages each side received; a side that
 *	waits 60 s for a message fails
 *
 * Exit status: 0, or 1 if a task could not be pinned, did not stay on
 * its CPU, or a pipe failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "realvm: cannot bind to cpu%d: %s\n", cpu, strerror(errno));
		return -1;
	}
	return 0;
}

/* One line, one write(): lines of tasks on other CPUs do not mix. */
static void report(int cpu, const char *phase, unsigned long long count)
{
	char line[80];
	int n;

	n = snprintf(line, sizeof(line), "realvm: cpu%d %s=%llu\n", cpu, phase, count);
	if (write(STDOUT_FILENO, line, n) != n)
		exit(1);
}

/* Wait for every child; 0 if each exited 0. */
static int reap(void)
{
	int status, rc = 0;

	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	return rc;
}

static int spin_on(int cpu, long long ms)
{
	unsigned long long loops = 0;
	long long end;
	int moved = 0;
	unsigned int i;

	if (pin(cpu))
		return 1;
	end = now_ms() + ms;
	while (now_ms() < end) {
		for (i = 0; i < 1000; i++)
			asm volatile("" : : : "memory");
		loops++;
		moved |= sched_getcpu() != cpu;
	}
	report(cpu, "spin", loops);
	if (moved)
		fprintf(stderr, "realvm: the cpu%d spinner left its CPU\n", cpu);
	return moved;
}

static int spin(long long ms)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int cpu;

	for (cpu = 0; cpu < ncpu; cpu++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (!pid)
			exit(spin_on(cpu, ms));
	}
	return reap();
}

/* A message awaited this long is lost: the side fails, it does not hang. */
#define MESSAGE_WAIT_S	60

static void on_alarm(int sig)
{
	(void)sig;	/* only to interrupt read() */
}

/*
 * Echo every byte from @in to @out until @in ends; with @first, send one
 * first and stop once @ms have passed since it was pinned, after one
 * round trip at least: the count says whether messages get through, not
 * how long forking and pinning took on a slow guest.  Counts the bytes
 * received.
 */
static int bounce(int cpu, int in, int out, int first, long long ms)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned long long got = 0;
	long long end;
	char c = 'x';
	ssize_t n;
	int rc = 0;

	if (pin(cpu) || sigaction(SIGALRM, &sa, NULL))
		return 1;
	end = now_ms() + ms;
	for (;;) {
		if (first && got && now_ms() >= end)
			break;
		if (first && write(out, &c, 1) != 1) {
			rc = 1;
			break;
		}
		alarm(MESSAGE_WAIT_S);
		n = read(in, &c, 1);
		alarm(0);
		if (n < 0 && errno == EINTR) {
			fprintf(stderr, "realvm: the cpu%d side had no message for %d s\n",
				cpu, MESSAGE_WAIT_S);
			rc = 1;
			break;
		}
		if (n != 1) {
			/* The first side closing its pipe ends the other side. */
			rc = first;
			break;
		}
		got++;
		if (sched_getcpu() != cpu) {
			fprintf(stderr, "realvm: the cpu%d side left its CPU\n", cpu);
			rc = 1;
			break;
		}
		if (!first && write(out, &c, 1) != 1) {
			rc = 1;
			break;
		}
	}
	report(cpu, "pingpong", got);
	return rc;
}

static int pingpong(int a, int b, long long ms)
{
	int ab[2], ba[2], rc;
	pid_t pid;

	if (pipe(ab) || pipe(ba))
		return 1;
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		close(ab[1]);
		close(ba[0]);
		exit(bounce(b, ab[0], ba[1], 0, ms));
	}
	close(ab[0]);
	close(ba[1]);
	rc = bounce(a, ba[0], ab[1], 1, ms);
	close(ab[1]);
	return reap() | rc;
}

static long long arg(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*end || end == s || v < 0) {
		fprintf(stderr, "realvm-work: not a number: %s\n", s);
		exit(1);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "spin"))
		return spin(arg(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "pingpong"))
		return pingpong(arg(argv[2]), arg(argv[3]), arg(argv[4]));
	fprintf(stderr, "usage: realvm-work spin MS\n"
			"       realvm-work pingpong CPU_A CPU_B MS\n");
	return 1;
}
