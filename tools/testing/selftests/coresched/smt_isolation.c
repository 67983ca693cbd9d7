// SPDX-License-Identifier: GPL-2.0
/*
 * The topology is the one expected.  Two CPU-bound tasks on the two
 * siblings of a core never run at once with different prctl cookies, and
 * do with the same (the positive control); under coresched=off cookies are
 * refused (ENODEV) and the tasks share the core.
 *
 * usage: smt_isolation [-c SOCKETS,CORES,THREADS]   (the topology to expect)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../kselftest_harness.h"
#include "cs_verdict.h"

static int want[3];	/* sockets, cores, threads */

TEST(topology)
{
	struct cs_topo topo;

	ASSERT_EQ(0, cs_topology(&topo));
	TH_LOG("%d CPUs: %d package(s) x %d core(s) x %d thread(s), SMT %d",
	       topo.cpus, topo.packages, topo.cores, topo.threads,
	       cs_smt_active());
	if (!want[0])
		SKIP(return, "no -c SOCKETS,CORES,THREADS given");
	EXPECT_EQ(want[0] * want[1] * want[2], topo.cpus);
	EXPECT_EQ(want[0], topo.packages);
	EXPECT_EQ(want[1], topo.cores);
	EXPECT_EQ(want[2], topo.threads);
	EXPECT_EQ(want[2], topo.threads_min);
	EXPECT_EQ(want[2] > 1, cs_smt_active());
}

FIXTURE(pair) {
	int core[2];
};

FIXTURE_VARIANT(pair) {
	cs_hook_t setup;
	enum cs_expect expect;
};

FIXTURE_VARIANT_ADD(pair, different_cookies) {
	.setup = cs_setup_differ, .expect = CS_ISOLATED,
};

FIXTURE_VARIANT_ADD(pair, same_cookie) {
	.setup = cs_setup_same, .expect = CS_SHARED,
};

FIXTURE_SETUP(pair)
{
	if (cs_find_siblings(self->core))
		SKIP(return, "no SMT: no siblings to keep apart");
	TH_LOG("siblings: CPU %d and CPU %d; clock read %.0f ns",
	       self->core[0], self->core[1], cs_clock_cost_ns());
}

FIXTURE_TEARDOWN(pair)
{
}

/* coresched=off: the setup fails, nothing keeps the siblings apart. */
static int setup_off(struct cs_run *run)
{
	const struct cs_trial *t = run->arg;

	return t->setup(run) == -ENODEV ? 0 : -EINVAL;
}

TEST_F_TIMEOUT(pair, measured, 60)
{
	struct cs_trial t = {
		.name = "pair",
		.cpu = { self->core[0], self->core[1] },
		.duration_ns = 2000 * NSEC_PER_MSEC,
		.setup = variant->setup,
		.expect = { cs_mode_off() ? CS_SHARED : variant->expect },
	};
	struct cs_trial off = t;

	if (cs_mode_off()) {
		t.setup = setup_off;
		t.arg = &off;
	}
	cs_assert_trial(_metadata, &t);
}

static void option(int c, const char *arg)
{
	if (sscanf(arg, "%d,%d,%d", &want[0], &want[1], &want[2]) != 3 ||
	    want[0] <= 0 || want[1] <= 0 || want[2] <= 0) {
		fprintf(stderr, "-c %s: not SOCKETS,CORES,THREADS\n", arg);
		exit(KSFT_FAIL);
	}
}

int main(int argc, char **argv)
{
	return test_harness_run(cs_options(argc, argv, "c:", option), argv);
}
