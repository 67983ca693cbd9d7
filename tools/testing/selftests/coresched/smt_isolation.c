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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kselftest.h"
#include "cs_overlap.h"
#include "cs_util.h"

static int want_sockets, want_cores, want_threads;
static uint64_t duration_ns = 2000 * NSEC_PER_MSEC;
static int core[2];

/* Measure the two siblings with @setup, and report what @expect says. */
static void check(const char *name, cs_hook_t setup, enum cs_expect expect,
		  const char *claim)
{
	struct cs_trial t = {
		.name = name,
		.cpu = { core[0], core[1] },
		.duration_ns = duration_ns,
		.setup = setup,
		.expect = { expect },
	};

	cs_trial(&t);
	cs_report(&t, claim);
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
	check("different cookies", cs_setup_differ, CS_ISOLATED,
	      "never at once");
}

static void test_same(void)
{
	check("same cookie (control)", cs_setup_same, CS_SHARED, "at once");
}

/* coresched=off: no cookies, and so nothing keeps the siblings apart. */
static void test_off(void)
{
	int ret = cs_create(0, 0);

	ksft_test_result(ret == -ENODEV,
			 "coresched=off: prctl CREATE fails with ENODEV (%s)\n",
			 ret ? strerror(-ret) : "accepted");
	check("coresched=off, no cookies", NULL, CS_SHARED,
	      "the siblings run at once");
}

static __noreturn void usage_exit(const char *prog)
{
	fprintf(stderr, "usage: %s [-s SOCKETS -c CORES -t THREADS] [-d MS]\n"
		"  -s/-c/-t  1..%d; -d  %d..%d (default 2000)\n",
		prog, CS_MAX_CPUS, CS_MIN_MS, CS_MAX_MS);
	exit(2);
}

/* The number @optarg in [@min, @max], or usage. */
static unsigned long long num(const char *prog, unsigned long long min,
			      unsigned long long max)
{
	unsigned long long v;

	if (cs_parse_num(optarg, min, max, &v))
		usage_exit(prog);
	return v;
}

int main(int argc, char **argv)
{
	const char *mode;
	struct cs_topo topo;
	int opt;

	while ((opt = getopt(argc, argv, "s:c:t:d:")) != -1) {
		switch (opt) {
		case 's':
			want_sockets = num(argv[0], 1, CS_MAX_CPUS);
			break;
		case 'c':
			want_cores = num(argv[0], 1, CS_MAX_CPUS);
			break;
		case 't':
			want_threads = num(argv[0], 1, CS_MAX_CPUS);
			break;
		case 'd':
			duration_ns = num(argv[0], CS_MIN_MS, CS_MAX_MS) * NSEC_PER_MSEC;
			break;
		default:
			usage_exit(argv[0]);
		}
	}
	if (optind != argc)
		usage_exit(argv[0]);

	ksft_print_header();
	ksft_set_plan(3);
	test_topology(&topo);
	if (topo.threads < 2 || cs_find_siblings(core, 2)) {
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
