// SPDX-License-Identifier: GPL-2.0
/*
 * Core scheduling keeps tasks of different cookies off one SMT core at the
 * same time.  First the topology: the guest must see the SMT machine the
 * host asked for.  Then two CPU-bound tasks pinned to the two siblings of
 * one core, with different prctl cookies, must never run at once, while
 * two with the same cookie must (the positive control: the measurement
 * can see overlap).  See cs_overlap.h for how "at once" is measured.
 *
 * With coresched=off the kernel refuses cookies (ENODEV) and the tasks
 * share the core freely; without SMT there is nothing to isolate: skip.
 *
 * usage: smt_isolation [-s SOCKETS -c CORES -t THREADS] [-d MS]
 *   -s/-c/-t   the topology to expect (sockets, cores per socket,
 *              threads per core); not checked if absent
 *   -d MS      each measurement's length (default 2000)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kselftest.h"
#include "cs_overlap.h"
#include "cs_util.h"

static int want_sockets, want_cores, want_threads;
static uint64_t duration_ns = 2000 * NSEC_PER_MSEC;
static int core[2];

static int setup_differ(struct cs_run *run)
{
	return cs_cookie_new(run->task[0].pid) ?: cs_cookie_new(run->task[1].pid);
}

static int setup_same(struct cs_run *run)
{
	return cs_cookie_new(run->task[0].pid) ?:
	       cs_cookie_copy(run->task[0].pid, run->task[1].pid);
}

/*
 * Measure the two siblings with @setup, again while the host starves them
 * (cs_verdict()): 1 if @shared (or isolated) as expected, 0 if not, -1 if
 * the host starved them every time.
 */
static int measure(const char *what, cs_hook_t setup, bool shared,
		   struct cs_result *res)
{
	struct cs_run run = {
		.nr_tasks = 2,
		.duration_ns = duration_ns,
		.setup = setup,
	};
	int ret, try, verdict = 0;
	char buf[256];

	run.task[0].cpu = core[0];
	run.task[1].cpu = core[1];
	for (try = 1; try <= CS_TRIES; try++) {
		ret = cs_measure(&run);
		if (ret) {
			ksft_print_msg("%s: measurement failed: %s\n", what, strerror(-ret));
			return 0;
		}
		cs_result(&run, CS_WHOLE, res);
		cs_run_free(&run);
		cs_format(buf, sizeof(buf), res);
		ksft_print_msg("%s: %s\n", what, buf);
		verdict = cs_verdict(res, shared);
		if (verdict >= 0)
			return verdict;
		ksft_print_msg("%s: the host starved the vCPUs, no verdict\n", what);
	}
	return verdict;
}

/* No verdict is a skip: the host, not the kernel, kept the tasks apart. */
static void report(int verdict, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (verdict < 0)
		ksft_test_result_skip("host too busy: %s", msg);
	else
		ksft_test_result(verdict, "%s", msg);
}

static int smt_active(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/smt/active", "r");
	int active = -1;

	if (f) {
		if (fscanf(f, "%d", &active) != 1)
			active = -1;
		fclose(f);
	}
	return active;
}

/* The guest's topology is the one the host asked for. */
static void test_topology(struct cs_topo *topo)
{
	int ret = cs_topology(topo);
	int want = want_sockets * want_cores * want_threads;

	if (ret)
		ksft_exit_fail_msg("cannot read the CPU topology: %s\n", strerror(-ret));
	ksft_print_msg("topology: %d CPUs, %d package(s) x %d core(s) x %d thread(s), SMT %d\n",
		       topo->cpus, topo->packages, topo->cores, topo->threads,
		       smt_active());
	if (!want) {
		ksft_test_result_skip("topology: no -s/-c/-t given\n");
		return;
	}
	ksft_print_msg("expected: %d package(s) x %d core(s) x %d thread(s)\n",
		       want_sockets, want_cores, want_threads);
	ksft_test_result(topo->cpus == want && topo->packages == want_sockets &&
			 topo->cores == want_cores &&
			 topo->threads == want_threads &&
			 topo->threads_min == want_threads &&
			 smt_active() == (want_threads > 1),
			 "topology: %d x %d x %d as requested\n",
			 want_sockets, want_cores, want_threads);
}

static void test_differ(void)
{
	struct cs_result res = { 0 };
	int v;

	v = measure("different cookies", setup_differ, false, &res);
	report(v, "different cookies never run at once: overlap %.3f%% <= %.1f%%\n",
	       res.overlap, CS_ISOLATED_MAX_PCT);
}

static void test_same(void)
{
	struct cs_result res = { 0 };
	int v;

	v = measure("same cookie", setup_same, true, &res);
	report(v, "same cookie runs at once (control): overlap %.1f%% (chance %.1f%%)\n",
	       res.overlap, res.chance);
}

/* coresched=off: no cookies, and so nothing keeps the siblings apart. */
static void test_off(void)
{
	struct cs_result res = { 0 };
	int ret = cs_create(0, 0), v;

	ksft_test_result(ret == -ENODEV,
			 "coresched=off: prctl CREATE fails with ENODEV (%s)\n",
			 ret ? strerror(-ret) : "accepted");
	v = measure("no cookies (coresched=off)", NULL, true, &res);
	report(v, "coresched=off: the siblings run at once: overlap %.1f%% (chance %.1f%%)\n",
	       res.overlap, res.chance);
}

int main(int argc, char **argv)
{
	const char *mode;
	struct cs_topo topo;
	int opt;

	while ((opt = getopt(argc, argv, "s:c:t:d:")) != -1) {
		switch (opt) {
		case 's':
			want_sockets = atoi(optarg);
			break;
		case 'c':
			want_cores = atoi(optarg);
			break;
		case 't':
			want_threads = atoi(optarg);
			break;
		case 'd':
			duration_ns = strtoull(optarg, NULL, 10) * NSEC_PER_MSEC;
			break;
		default:
			ksft_exit_fail_msg("usage: %s [-s S -c C -t T] [-d MS]\n", argv[0]);
		}
	}

	ksft_print_header();
	ksft_set_plan(3);
	test_topology(&topo);
	if (topo.threads < 2 || cs_find_core(2, core)) {
		ksft_test_result_skip("no SMT: no siblings to keep apart\n");
		ksft_test_result_skip("no SMT: no siblings to run together\n");
		ksft_finished();
	}
	ksft_print_msg("siblings: CPU %d and CPU %d; clock read %.0f ns, gap threshold %llu us\n",
		       core[0], core[1], cs_clock_cost_ns(),
		       (unsigned long long)CS_GAP_NS / 1000);

	mode = cs_mode();
	if (mode && !strcmp(mode, "off")) {
		test_off();
	} else {
		test_differ();
		test_same();
	}
	ksft_finished();
}
