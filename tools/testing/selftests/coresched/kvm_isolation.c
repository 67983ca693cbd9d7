// SPDX-License-Identifier: GPL-2.0
/*
 * Guest/host isolation of coresched=vm, end to end: while a vCPU thread
 * runs host code, no SMT sibling may run guest code.
 *
 * vCPU A spins in guest mode on one sibling of a core, incrementing a
 * counter in guest memory.  vCPU B, on the other sibling, spins in the
 * guest for about GUEST_RUN_US, then does an OUT that returns to this
 * VMM; its thread then watches A's counter through the host mapping of
 * guest memory for WINDOW_US (after GRACE_US), and re-enters.  A window
 * in which the counter moved is a window in which the sibling ran guest
 * code while B's thread ran host code.
 *
 *   coresched=vm   no window may see A's counter move;
 *   coresched=on   some must (ON_MIN_WINDOWS; the positive control: the
 *                  same measurement with nothing to stop A);
 * and in both A must be seen running during the measurement, otherwise a
 * counter that stood still proves nothing.  Twice: A and B in one VM,
 * then in two VMs (where, under vm, the VMs' different cookies alone keep
 * A off the core while B's thread runs: the kick path is the 1 VM case's).
 * The coresched stats must move under vm (slow exits, kicks) and stay 0
 * under on; on a kernel with the invariant checker
 * (CONFIG_SCHED_CORE_VM_DEBUG) they must count no violation.
 *
 * usage: kvm_isolation [-m on|vm|none] [-K]
 *   -m  the mode the kernel was booted in ("none": a kernel without the
 *       series); a mode file that disagrees is a failure, and the checks
 *       then follow -m, so that "-m vm" on a kernel without coresched=vm
 *       shows which of them fail.  Without -m the mode file decides.
 *   -K  KVM is required: no /dev/kvm is a failure, not a skip.
 * Exit code: kselftest's; 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../kselftest.h"
#include "cs_util.h"
#include "kvm_vm.h"

/* B's time in guest mode per KVM_RUN: long enough for A to run too. */
#define GUEST_RUN_US	1000
/*
 * After KVM_RUN returns, B waits this long before it takes the counter's
 * reference value.  The kernel has A out of guest mode before B's thread
 * gets back to userspace, but A's last increments may still be on their
 * way to the memory we read: the sibling's store buffer, and, when this
 * runs nested, the outer hypervisor's emulation of the sibling.  The grace
 * is short against the window, so a sibling that was never kicked still
 * moves the counter in almost all of it.
 */
#define GRACE_US	100
/* How long B's thread watches the counter from host userspace. */
#define WINDOW_US	1000
/* Windows to collect, at least MIN_WINDOWS before MEASURE_MAX_MS. */
#define WINDOWS		300
#define MIN_WINDOWS	100
#define MEASURE_MAX_MS	10000
/*
 * Under coresched=on, A must move in at least this many windows (under
 * vm: in none).  Not a share of them: when the machine that runs this one
 * is busy, A's CPU itself is often off the host's CPUs (seen: A moved in
 * 14% to 38% of the windows on a loaded 2-core host, 99% on an idle one).
 * The measurement goes on until it has them, up to MEASURE_MAX_MS.
 */
#define ON_MIN_WINDOWS	15
/*
 * A must move during at least this many of B's guest runs; the
 * measurement goes on (up to MEASURE_MAX_MS) until it has, so that a busy
 * host makes it longer rather than failing it.
 */
#define A_RAN_MIN_RUNS		20
#define START_TIMEOUT_MS	10000
#define JOIN_TIMEOUT_MS		10000

struct measure {
	struct kvm_vcpu *a;
	int need_runs_moved;	/* runs_moved wanted, see A_RAN_MIN_RUNS */
	int need_moved;		/* moved wanted, see ON_MIN_WINDOWS */
	uint32_t delay;		/* B's guest busy loop, calibrated */
	uint64_t guest_ns;	/* B's time in KVM_RUN, all runs */
	int runs;		/* B's KVM_RUNs */
	int runs_moved;		/* ... during which A's counter moved */
	int windows;		/* B's windows in host userspace */
	int moved;		/* ... during which A's counter moved */
	int disturbed;		/* windows with B switched out: not counted */
	int disturbed_moved;
	uint64_t a_progress;	/* A's iterations during the measurement */
	struct kvm_cs_stats before, after;
	int stats_err;
	const char *err;
};

static bool vm_mode;
static const char *label;	/* the mode the checks follow */
static int cpu_a, cpu_b;

static void spin_until(uint64_t t)
{
	while (kvm_now_ns() < t)
		;
}

static long switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw + ru.ru_nivcsw;
}

/* Watch A's counter until @end; did it move? */
static bool watch(struct kvm_vcpu *a, uint64_t end)
{
	uint32_t c0 = kvm_vcpu_count(a);
	bool moved = false;

	while (kvm_now_ns() < end) {
		if (kvm_vcpu_count(a) != c0)
			moved = true;
	}
	return moved;
}

/* One KVM_RUN of B, which must end in its OUT. */
static bool run_b(struct kvm_vcpu *b, struct measure *m)
{
	int ret;

	do {
		ret = kvm_vcpu_run(b);
	} while (ret == -EINTR && !kvm_vcpu_stopping(b));
	if (ret) {
		m->err = "KVM_RUN of B failed";
		ksft_print_msg("B: %s\n", kvm_error());
		return false;
	}
	if (!kvm_exit_is_port_out(b)) {
		m->err = "B exited for another reason than its OUT";
		ksft_print_msg("B: exit reason %u\n", b->run->exit_reason);
		return false;
	}
	return true;
}

/* The shortest of three KVM_RUNs of B, in ns; 0 on failure. */
static uint64_t time_b(struct kvm_vcpu *b, struct measure *m)
{
	uint64_t best = UINT64_MAX, t;
	int i;

	for (i = 0; i < 3; i++) {
		t = kvm_now_ns();
		if (!run_b(b, m))
			return 0;
		t = kvm_now_ns() - t;
		if (t < best)
			best = t;
	}
	return best;
}

/* Double B's busy loop until a KVM_RUN takes GUEST_RUN_US. */
static bool calibrate(struct kvm_vcpu *b, struct measure *m)
{
	uint64_t t;

	for (m->delay = 64; m->delay < (1u << 30); m->delay *= 2) {
		kvm_vcpu_set_delay(b, m->delay);
		t = time_b(b, m);
		if (!t)
			return false;
		if (t >= GUEST_RUN_US * 1000ULL)
			return true;
	}
	m->err = "B's guest loop never took GUEST_RUN_US";
	return false;
}

/* One round: B in the guest, then a window in host userspace. */
static bool round_b(struct kvm_vcpu *b, struct measure *m, uint32_t *a_last)
{
	uint32_t a0 = kvm_vcpu_count(m->a), a1;
	uint64_t t0 = kvm_now_ns(), t_exit;
	long sw;
	bool moved;

	if (!run_b(b, m))
		return false;
	t_exit = kvm_now_ns();
	a1 = kvm_vcpu_count(m->a);
	m->guest_ns += t_exit - t0;
	m->runs++;
	m->runs_moved += a1 != a0;

	sw = switches();
	spin_until(t_exit + GRACE_US * 1000ULL);
	moved = watch(m->a, kvm_now_ns() + WINDOW_US * 1000ULL);
	/*
	 * A window in which B's thread was switched out is not one in which
	 * it ran host code all along (under core scheduling, a sibling with
	 * another cookie may have had the core): it does not count.
	 */
	if (switches() != sw) {
		m->disturbed++;
		m->disturbed_moved += moved;
	} else {
		m->windows++;
		m->moved += moved;
	}
	m->a_progress += (uint32_t)(kvm_vcpu_count(m->a) - *a_last);
	*a_last = kvm_vcpu_count(m->a);
	return true;
}

static void *b_thread(struct kvm_vcpu *b)
{
	struct measure *m = b->arg;
	uint64_t end;
	uint32_t a_last;

	if (!calibrate(b, m))
		return NULL;
	m->stats_err = kvm_cs_stats_read(&m->before);
	a_last = kvm_vcpu_count(m->a);
	end = kvm_now_ns() + MEASURE_MAX_MS * 1000000ULL;
	while ((m->windows < WINDOWS || m->runs_moved < m->need_runs_moved ||
		m->moved < m->need_moved) && kvm_now_ns() < end) {
		if (!round_b(b, m, &a_last))
			return NULL;
	}
	if (!m->stats_err)
		m->stats_err = kvm_cs_stats_read(&m->after);
	return NULL;
}

static void *a_thread(struct kvm_vcpu *a)
{
	return (void *)kvm_vcpu_loop(a, NULL);
}

/* Wait until A's counter moves: A is in the guest. */
static bool a_started(struct kvm_vcpu *a)
{
	uint32_t c0 = kvm_vcpu_count(a);
	uint64_t end = kvm_now_ns() + START_TIMEOUT_MS * 1000000ULL;

	while (kvm_now_ns() < end) {
		if (kvm_vcpu_count(a) != c0)
			return true;
		usleep(1000);
	}
	return false;
}

/* Set up A and B, run the measurement, tear down; false on a failure. */
static bool measure(bool two_vms, struct measure *m)
{
	struct kvm_vm *vm1, *vm2 = NULL;
	struct kvm_vcpu *b;
	void *ret = NULL;
	bool ok = true;

	vm1 = kvm_vm_create();
	if (two_vms && vm1)
		vm2 = kvm_vm_create();
	if (!vm1 || (two_vms && !vm2))
		goto fail;
	m->a = kvm_vcpu_add(vm1, KVM_PROG_SPIN);
	b = kvm_vcpu_add(two_vms ? vm2 : vm1, KVM_PROG_DELAY_OUT);
	if (!m->a || !b || kvm_vcpu_start(m->a, cpu_a, a_thread, NULL))
		goto fail;
	if (!a_started(m->a)) {
		m->err = "A never ran";
		ok = false;
	} else if (kvm_vcpu_start(b, cpu_b, b_thread, m)) {
		goto fail;
	} else if (kvm_vcpu_join(b, NULL, MEASURE_MAX_MS + 3 * JOIN_TIMEOUT_MS)) {
		ksft_exit_fail_msg("B hangs: %s\n", kvm_error());
	}
	kvm_vcpu_stop(m->a);
	if (kvm_vcpu_join(m->a, &ret, JOIN_TIMEOUT_MS))
		ksft_exit_fail_msg("A hangs: %s\n", kvm_error());
	if (ret) {
		m->err = "A failed";
		ksft_print_msg("A: %s\n", (char *)ret);
	}
	if (kvm_vm_destroy(vm1, JOIN_TIMEOUT_MS) ||
	    kvm_vm_destroy(vm2, JOIN_TIMEOUT_MS))
		ksft_exit_fail_msg("%s\n", kvm_error());
	return ok && !m->err;
fail:
	ksft_exit_fail_msg("setting up the VMs: %s\n", kvm_error());
}

static int percent(int part, int whole)
{
	return whole ? part * 100 / whole : 0;
}

static void report(const char *name, const struct measure *m)
{
	ksft_print_msg("%s: B's guest loop %u (%llu us a run), %d runs\n", name,
		       m->delay,
		       (unsigned long long)(m->runs ? m->guest_ns / m->runs / 1000 : 0),
		       m->runs);
	ksft_print_msg("%s: A +%llu iterations, moved during %d/%d (%d%%) of B's guest runs\n",
		       name, (unsigned long long)m->a_progress, m->runs_moved,
		       m->runs, percent(m->runs_moved, m->runs));
	ksft_print_msg("%s: A moved in %d/%d (%d%%) host windows of B\n",
		       name, m->moved, m->windows, percent(m->moved, m->windows));
	ksft_print_msg("%s: not counted: %d windows with B switched out (A moved in %d)\n",
		       name, m->disturbed, m->disturbed_moved);
}

/*
 * A ran if its counter went up and, where A and B may share the core
 * (one VM, or no cookies at all), if it moved during B's guest runs.
 * With two VMs under vm their cookies differ: A only runs while B does
 * not, and its overall progress is the evidence.
 */
static bool a_must_share(bool two_vms)
{
	return !(two_vms && vm_mode);
}

static bool a_ran(bool two_vms, const struct measure *m)
{
	if (!m->a_progress || m->windows < MIN_WINDOWS)
		return false;
	return !a_must_share(two_vms) || m->runs_moved >= A_RAN_MIN_RUNS;
}

/* The counters; the violations are check_violations()'. */
static void check_stats(const char *name, bool two_vms, const struct measure *m)
{
	int64_t slow, kicks;
	int i;

	if (m->stats_err) {
		if (vm_mode)
			ksft_test_result_fail("%s: stats: no %s\n", name, KVM_CS_STATS_FILE);
		else
			ksft_test_result_skip("%s: stats: no %s\n", name, KVM_CS_STATS_FILE);
		return;
	}
	for (i = 0; i < m->after.nr; i++)
		ksft_print_msg("%s: stats: %s +%lld\n", name, m->after.name[i],
			       (long long)kvm_cs_stats_delta(&m->before, &m->after,
							     m->after.name[i]));
	slow = kvm_cs_stats_delta(&m->before, &m->after, "slow_exits");
	kicks = kvm_cs_stats_delta(&m->before, &m->after, "kicks_sent");
	if (vm_mode) {
		/* Two VMs never share the core, so nobody needs a kick. */
		ksft_test_result(slow > 0 && (two_vms || kicks > 0),
				 "%s: vm: stats: slow_exits > 0%s\n",
				 name, two_vms ? "" : ", kicks_sent > 0");
		return;
	}
	for (i = 0; i < m->after.nr; i++) {
		if (kvm_cs_stats_delta(&m->before, &m->after, m->after.name[i]))
			break;
	}
	ksft_test_result(m->after.nr && i == m->after.nr,
			 "%s: %s: stats: every counter stays 0\n", name, label);
}

static void check_violations(const char *name, const struct measure *m)
{
	char msg[160];
	int ret;

	ret = kvm_cs_violations(&m->before, &m->after, m->stats_err, vm_mode,
				msg, sizeof(msg));
	ksft_test_result_report(ret, "%s: stats: no invariant violation: %s\n",
				name, msg);
}

static void scenario(const char *name, bool two_vms)
{
	struct measure m = {
		.need_runs_moved = a_must_share(two_vms) ? A_RAN_MIN_RUNS : 0,
		.need_moved = vm_mode ? 0 : ON_MIN_WINDOWS,
	};
	bool ok = measure(two_vms, &m), ran;

	report(name, &m);
	if (m.err)
		ksft_print_msg("%s: %s\n", name, m.err);
	ran = ok && a_ran(two_vms, &m);
	ksft_test_result(ran, "%s: A ran during the measurement\n", name);
	if (vm_mode && two_vms) {
		/* Kept as a check all the same: the cookies must hold. */
		ksft_print_msg("%s: vm: the VMs' different cookies alone keep A off the core\n",
			       name);
		ksft_print_msg("%s: while B runs: this case does not exercise the kick path\n",
			       name);
	}
	if (vm_mode)
		ksft_test_result(ran && !m.moved,
				 "%s: vm: A's counter stood still while B ran host code (%d/%d windows)\n",
				 name, m.moved, m.windows);
	else
		ksft_test_result(ran && m.moved >= ON_MIN_WINDOWS,
				 "%s: %s: A's counter moved while B ran host code (%d/%d windows)\n",
				 name, label, m.moved, m.windows);
	if (ok) {
		check_stats(name, two_vms, &m);
		check_violations(name, &m);
	} else {
		ksft_test_result_fail("%s: stats: no measurement\n", name);
		ksft_test_result_fail("%s: stats: no invariant violation: no measurement\n",
				      name);
	}
}

int main(int argc, char **argv)
{
	bool kvm_required = false, match;
	const char *expect = NULL;
	int sib[2];

	kvm_mode_options(argc, argv, &expect, &kvm_required);

	ksft_print_header();
	kvm_require(kvm_required);
	if (cs_find_siblings(sib, 2))
		ksft_exit_skip("no core with two SMT siblings online\n");
	cpu_a = sib[0];
	cpu_b = sib[1];
	ksft_set_plan(9);
	label = cs_check_mode(expect, &match);
	ksft_test_result(match, "the kernel runs in mode %s\n", label);
	if (!strcmp(label, "off"))
		ksft_exit_skip("coresched=off: no isolation to check\n");
	vm_mode = !strncmp(label, "vm", 2);
	ksft_print_msg("A on CPU %d, B on CPU %d; windows of %d us after %d us\n",
		       cpu_a, cpu_b, WINDOW_US, GRACE_US);

	scenario("1 VM", false);
	scenario("2 VMs", true);
	ksft_finished();
}
