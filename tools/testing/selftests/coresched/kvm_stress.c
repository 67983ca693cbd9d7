// SPDX-License-Identifier: GPL-2.0
/*
 * Stress of the KVM side of core scheduling, for a fixed time:
 *   - NR_VMS VMs whose vCPUs, more than there are CPUs, spin in the
 *     guest, exit to the kernel (CPUID) and exit to userspace (OUT);
 *   - per VM an I/O thread that shares a vCPU thread's cookie
 *     (PR_SCHED_CORE_SHARE_FROM) and alternates host work and sleep;
 *   - CPU hotplug: every CPU but cpu0 that can go offline goes offline
 *     and comes back, over and over;
 *   - a VM of two vCPUs created, run and destroyed, over and over;
 *   - signals to the vCPU threads: KVM_RUN returns EINTR and the thread
 *     re-enters.
 * Then: every vCPU made progress and its thread ended cleanly, every
 * stressor did its work (signals made KVM_RUN return EINTR), every thread
 * ended before a deadline, every CPU came back online, and the coresched
 * stats count no invariant violation (on a kernel with the invariant
 * checker, CONFIG_SCHED_CORE_VM_DEBUG; skipped without it).
 *
 * usage: kvm_stress [-m MODE] [-t SECONDS] [-k] [-H] [-K]
 *   -m  the mode the kernel was booted in (on, vm, vm,strict; "none": a
 *       kernel without the series): a kernel in another mode fails, and
 *       the checks are those of MODE, so that a kernel without the VM
 *       isolation that -m vm stresses fails.  Without -m the mode file
 *       decides.
 *   -t  how long, a positive decimal number (default 10 s)
 *   -k  the VMM gives every VM a cookie of its own with prctl, as on a
 *       kernel without coresched=vm: the vCPU threads of a VM inherit a
 *       cookie created just before them (main, then the churn thread,
 *       keep the last one they created).  Under coresched=on this puts
 *       core scheduling itself under the same stress.
 *   -H  no CPU hotplug stressor.  With -k, hotplug resets or stalls the
 *       emulated machine under QEMU TCG, on the base tree too, so the
 *       lab runs -k without it (see the lab's README).
 *   -K  KVM is required: no /dev/kvm is a failure, not a skip.
 * Exit code: kselftest's; 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "cs_util.h"
#include "kvm_vm.h"

#define NR_VMS			3
#define MAX_CPUS		KVM_VM_MAX_VCPUS
/* How often main folds the 32-bit guest counters into 64 bits. */
#define SAMPLE_MS		50
/* An I/O thread's cycle: this much host work, then this much sleep. */
#define IO_BUSY_US		200
#define IO_SLEEP_US		300
/* Pause between two signals to (random) vCPU threads. */
#define SIGNAL_US		2000
/* Pause between two hotplug operations. */
#define HOTPLUG_PAUSE_MS	50
/* A churned VM's vCPUs must both have run within this. */
#define CHURN_RUN_MS		10000
/*
 * Once told to stop, every thread must end within this.  Generous: on a
 * debug kernel under emulation with four threads per core, a vCPU thread
 * whose CPU the hotplug stressor took away can wait tens of seconds for
 * the core; a hang waits forever.
 */
#define JOIN_TIMEOUT_MS		120000

struct io_thread {
	pthread_t thread;
	struct kvm_vcpu *from;	/* the vCPU thread whose cookie it takes */
	uint64_t loops;
	const char *err;
};

static struct kvm_vm *vms[NR_VMS];
static struct io_thread io[NR_VMS];
static int nr_vcpus_per_vm, nr_cpus;
static bool cookies;		/* coresched not off: prctl works */
static bool vmm_cookies;	/* -k */
static bool no_hotplug;		/* -H */
static int stop;		/* helpers: time is up */

static pthread_t churn_tid, signal_tid, hotplug_tid;
static uint64_t churned, signals, hotplug_cycles;
static int hotplug_cpus[MAX_CPUS], nr_hotplug_cpus;
static const char *churn_err, *hotplug_err;

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

static void *vcpu_thread(struct kvm_vcpu *vcpu)
{
	return (void *)kvm_vcpu_loop(vcpu, NULL);
}

/*
 * prctl(PR_SCHED_CORE) fails with ENODEV while no core has two threads
 * online, which the hotplug thread brings about for a moment: retry.
 */
static int cs_retry(int cmd, pid_t pid)
{
	int err;

	for (;;) {
		err = cs_prctl(cmd, pid, 0, 0);
		if (err != -ENODEV || stopping())
			return err;
		sleep_us(1000);
	}
}

/* The cookie of @pid, retried like cs_retry(); 0 if it cannot be had. */
static uint64_t get_retry(pid_t pid)
{
	uint64_t cookie;
	int err;

	for (;;) {
		cookie = cs_get(pid, &err);
		if (err != -ENODEV || stopping())
			return cookie;
		sleep_us(1000);
	}
}

/* Wait until @vcpu's guest ran (its counter moved) or time is up. */
static bool wait_ran(struct kvm_vcpu *vcpu, int ms)
{
	uint64_t end = kvm_now_ns() + ms * 1000000ULL;

	while (!kvm_vcpu_count(vcpu)) {
		if (stopping() || kvm_now_ns() > end)
			return false;
		sleep_us(1000);
	}
	return true;
}

/*
 * A VMM's I/O thread: takes the cookie of a vCPU thread once that ran in
 * the guest (under coresched=vm, the VM's cookie), then works and sleeps.
 */
static void *io_thread(void *arg)
{
	struct io_thread *t = arg;
	uint64_t end;
	int err;

	if (!wait_ran(t->from, JOIN_TIMEOUT_MS))
		return NULL;
	if (cookies) {
		err = cs_retry(PR_SCHED_CORE_SHARE_FROM, t->from->tid);
		if (err) {
			t->err = "PR_SCHED_CORE_SHARE_FROM failed";
			return NULL;
		}
		if (get_retry(0) != get_retry(t->from->tid)) {
			t->err = "the I/O thread's cookie is not its vCPU thread's";
			return NULL;
		}
	}
	while (!stopping()) {
		end = kvm_now_ns() + IO_BUSY_US * 1000ULL;
		while (kvm_now_ns() < end)
			;
		getppid();	/* and a little host kernel code */
		sleep_us(IO_SLEEP_US);
		__atomic_fetch_add(&t->loops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Create, run and destroy small VMs until time is up. */
static void *churn_thread(void *arg)
{
	static const enum kvm_prog progs[] = { KVM_PROG_OUT, KVM_PROG_CPUID };
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	unsigned int i;
	int err;

	(void)arg;
	while (!stopping()) {
		err = vmm_cookies ? cs_retry(PR_SCHED_CORE_CREATE, 0) : 0;
		/* Time ran out while a sibling was offline: not an error. */
		if (err == -ENODEV && stopping())
			break;
		if (err) {
			ksft_print_msg("churn: PR_SCHED_CORE_CREATE: %s\n", strerror(-err));
			churn_err = "churn: PR_SCHED_CORE_CREATE failed";
			return NULL;
		}
		vm = kvm_vm_create();
		if (!vm) {
			churn_err = "churn: cannot create a VM";
			return NULL;
		}
		for (i = 0; i < ARRAY_SIZE(progs); i++) {
			vcpu = kvm_vcpu_add(vm, progs[i]);
			if (!vcpu || kvm_vcpu_start(vcpu, -1, vcpu_thread, NULL)) {
				churn_err = "churn: cannot start a vCPU";
				return NULL;
			}
		}
		for (i = 0; i < ARRAY_SIZE(progs); i++) {
			if (!wait_ran(vm->vcpus[i], CHURN_RUN_MS) && !stopping()) {
				churn_err = "churn: a vCPU of a new VM never ran";
				break;
			}
		}
		/* A vCPU thread that does not stop leaves its VM behind. */
		if (kvm_vm_destroy(vm, JOIN_TIMEOUT_MS)) {
			churn_err = "churn: a vCPU thread did not stop";
			return NULL;
		}
		if (churn_err)
			return NULL;
		__atomic_fetch_add(&churned, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Interrupt random vCPU threads of the long-lived VMs. */
static void *signal_thread(void *arg)
{
	unsigned int seed = 1;
	int vm, vcpu;

	(void)arg;
	while (!stopping()) {
		vm = rand_r(&seed) % NR_VMS;
		vcpu = rand_r(&seed) % nr_vcpus_per_vm;
		if (!kvm_vcpu_kick(vms[vm]->vcpus[vcpu]))
			__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
		sleep_us(SIGNAL_US);
	}
	return NULL;
}

static int set_online(int cpu, int online)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, online ? "1" : "0", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

static int is_online(int cpu)
{
	char path[64], c = '?';
	int fd;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = '?';
	close(fd);
	return c == '1';
}

/* The CPUs, cpu0 aside, that have an online file and are online. */
static void find_hotplug_cpus(void)
{
	int cpu;

	if (no_hotplug)
		return;
	for (cpu = 1; cpu < nr_cpus && nr_hotplug_cpus < MAX_CPUS; cpu++) {
		if (is_online(cpu) == 1)
			hotplug_cpus[nr_hotplug_cpus++] = cpu;
	}
}

static void *hotplug_thread(void *arg)
{
	int i, cpu, err;

	(void)arg;
	if (!nr_hotplug_cpus)
		return NULL;
	while (!stopping()) {
		for (i = 0; i < nr_hotplug_cpus && !stopping(); i++) {
			cpu = hotplug_cpus[i];
			err = set_online(cpu, 0);
			sleep_us(HOTPLUG_PAUSE_MS * 1000);
			/* Whatever happened, bring it back. */
			if (set_online(cpu, 1) || err) {
				hotplug_err = "hotplug: a CPU did not go offline and back";
				ksft_print_msg("cpu%d offline: %s\n", cpu, strerror(-err));
				return NULL;
			}
			__atomic_fetch_add(&hotplug_cycles, 1, __ATOMIC_RELAXED);
			sleep_us(HOTPLUG_PAUSE_MS * 1000);
		}
	}
	return NULL;
}

static void create_vms(void)
{
	static const enum kvm_prog progs[] = {
		KVM_PROG_SPIN, KVM_PROG_CPUID, KVM_PROG_OUT,
	};
	struct kvm_vcpu *vcpu;
	int i, j;

	for (i = 0; i < NR_VMS; i++) {
		/* The VM's vCPU threads inherit it. */
		if (vmm_cookies && cs_create(0, 0))
			ksft_exit_fail_msg("PR_SCHED_CORE_CREATE failed\n");
		vms[i] = kvm_vm_create();
		if (!vms[i])
			ksft_exit_fail_msg("%s\n", kvm_error());
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			vcpu = kvm_vcpu_add(vms[i], progs[(i + j) % ARRAY_SIZE(progs)]);
			if (!vcpu || kvm_vcpu_start(vcpu, -1, vcpu_thread, NULL))
				ksft_exit_fail_msg("%s\n", kvm_error());
		}
		io[i].from = vms[i]->vcpus[0];
	}
}

static void start_helpers(void)
{
	int i;

	for (i = 0; i < NR_VMS; i++) {
		if (pthread_create(&io[i].thread, NULL, io_thread, &io[i]))
			ksft_exit_fail_msg("pthread_create\n");
	}
	if (pthread_create(&churn_tid, NULL, churn_thread, NULL) ||
	    pthread_create(&signal_tid, NULL, signal_thread, NULL) ||
	    pthread_create(&hotplug_tid, NULL, hotplug_thread, NULL))
		ksft_exit_fail_msg("pthread_create\n");
}

static void sample(void)
{
	int i;

	for (i = 0; i < NR_VMS; i++)
		kvm_vm_sample(vms[i]);
}

static void run_for(double seconds)
{
	uint64_t end = kvm_now_ns() + (uint64_t)(seconds * 1e9);

	while (kvm_now_ns() < end) {
		sleep_us(SAMPLE_MS * 1000);
		sample();
	}
}

/*
 * The KVM_RUNs of the long-lived VMs that returned EINTR so far.  Taken
 * before stop_all(), whose kvm_vcpu_stop() makes every vCPU's last KVM_RUN
 * return EINTR too: what is counted before that, the signals did.
 */
static uint64_t count_eintr(void)
{
	uint64_t n = 0;
	int i, j;

	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++)
			n += __atomic_load_n(&vms[i]->vcpus[j]->exits_intr,
					     __ATOMIC_RELAXED);
	}
	return n;
}

static int join(pthread_t t, uint64_t deadline_ns)
{
	int64_t left = (int64_t)(deadline_ns - kvm_now_ns()) / 1000000;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (left < 0)
		left = 0;
	ts.tv_sec += left / 1000;
	ts.tv_nsec += left % 1000 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_timedjoin_np(t, NULL, &ts);
}

/*
 * Stop everything and wait for every thread until one common deadline;
 * false if any thread is still running then.  vCPU thread results go to
 * @bad (threads that failed).
 */
static bool stop_all(int *bad)
{
	uint64_t deadline = kvm_now_ns() + JOIN_TIMEOUT_MS * 1000000ULL;
	void *ret;
	bool ok = true;
	int i, j;

	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NR_VMS; i++) {
		if (join(io[i].thread, deadline))
			ok = false;
	}
	if (join(churn_tid, deadline) || join(signal_tid, deadline) ||
	    join(hotplug_tid, deadline))
		ok = false;
	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++)
			kvm_vcpu_stop(vms[i]->vcpus[j]);
	}
	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			int64_t left = (int64_t)(deadline - kvm_now_ns()) / 1000000;

			ret = NULL;
			if (kvm_vcpu_join(vms[i]->vcpus[j], &ret, left > 0 ? left : 0)) {
				ksft_print_msg("VM %d: %s\n", i, kvm_error());
				ok = false;
			} else if (ret) {
				ksft_print_msg("VM %d: %s\n", i, (char *)ret);
				(*bad)++;
			}
		}
	}
	return ok;
}

/* @intr: count_eintr() before the vCPUs were stopped. */
static void check_progress(uint64_t intr)
{
	uint64_t min = UINT64_MAX;
	struct kvm_vcpu *vcpu;
	int i, j;

	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			vcpu = vms[i]->vcpus[j];
			if (vcpu->total < min)
				min = vcpu->total;
			ksft_print_msg("VM %d vCPU %d: %llu iterations, %llu exits, %llu EINTR\n",
				       i, j, (unsigned long long)vcpu->total,
				       (unsigned long long)vcpu->exits_user,
				       (unsigned long long)vcpu->exits_intr);
		}
	}
	ksft_test_result(min > 0, "every vCPU made progress (the least: %llu iterations)\n",
			 (unsigned long long)min);
	ksft_print_msg("signals sent: %llu, KVM_RUN EINTR before the stop: %llu\n",
		       (unsigned long long)signals, (unsigned long long)intr);
	ksft_print_msg("VMs created and destroyed: %llu; hotplug cycles: %llu over %d CPUs\n",
		       (unsigned long long)churned, (unsigned long long)hotplug_cycles,
		       nr_hotplug_cpus);
	for (i = 0; i < NR_VMS; i++) {
		ksft_print_msg("I/O thread %d: %llu loops%s%s\n", i,
			       (unsigned long long)io[i].loops, io[i].err ? ": " : "",
			       io[i].err ? io[i].err : "");
		if (io[i].err || !io[i].loops)
			break;
	}
	if (churn_err)
		ksft_print_msg("%s\n", churn_err);
	if (hotplug_err)
		ksft_print_msg("%s\n", hotplug_err);
	ksft_test_result(i == NR_VMS && churned && signals && intr && !churn_err &&
			 !hotplug_err && (hotplug_cycles || !nr_hotplug_cpus),
			 "every stressor ran: I/O threads, VM churn, signals (EINTR)%s\n",
			 nr_hotplug_cpus ? ", hotplug" : "");
}

/*
 * The hotplug thread brings every CPU back: one that is offline now is
 * its failure.  Checked first, then repaired for the tests that follow.
 */
static void check_online(void)
{
	int i, cpu, offline = 0;

	if (!nr_hotplug_cpus) {
		ksft_test_result_skip("every CPU is online again: no hotplug\n");
		return;
	}
	for (i = 0; i < nr_hotplug_cpus; i++) {
		cpu = hotplug_cpus[i];
		if (is_online(cpu) == 1)
			continue;
		offline++;
		ksft_print_msg("cpu%d was left offline; bringing it back: %s\n",
			       cpu, set_online(cpu, 1) ? "failed" : "done");
	}
	ksft_test_result(!offline, "every CPU is online again (%d left offline)\n",
			 offline);
}

/* @before, @err: the stats at the start, and the error reading them. */
static void check_stats(const struct kvm_cs_stats *before, int err,
			bool vm_mode)
{
	struct kvm_cs_stats after;
	char msg[160];
	int i, ret;

	ret = kvm_cs_stats_read(&after);
	if (!err)
		err = ret;
	for (i = 0; !err && i < after.nr; i++)
		ksft_print_msg("stats: %s +%lld\n", after.name[i],
			       (long long)kvm_cs_stats_delta(before, &after, after.name[i]));
	ret = kvm_cs_violations(before, &after, err, vm_mode, msg, sizeof(msg));
	ksft_test_result_report(ret, "stats: no invariant violation: %s\n", msg);
}

static void __noreturn bad_usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-m MODE] [-t SECONDS] [-k] [-H] [-K]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	struct kvm_cs_stats before;
	const char *mode = NULL;
	bool joined, match, kvm_required = false;
	int opt, i, bad = 0, stats_err;
	double seconds = 10;
	uint64_t intr;

	while ((opt = getopt(argc, argv, "m:t:kHK")) != -1) {
		if (opt == 'm')
			mode = optarg;
		else if (opt == 't')
			seconds = cs_parse_seconds(optarg);
		else if (opt == 'k')
			vmm_cookies = true;
		else if (opt == 'H')
			no_hotplug = true;
		else if (opt == 'K')
			kvm_required = true;
		else
			bad_usage(argv[0]);
	}
	if (optind != argc || seconds < 0)
		bad_usage(argv[0]);

	ksft_print_header();
	kvm_require(kvm_required);
	ksft_set_plan(6);
	mode = cs_check_mode(mode, &match);
	ksft_test_result(match, "the kernel runs in mode %s\n", mode);
	nr_cpus = sysconf(_SC_NPROCESSORS_CONF);
	if (nr_cpus > MAX_CPUS)
		nr_cpus = MAX_CPUS;
	nr_vcpus_per_vm = nr_cpus < 2 ? 2 : nr_cpus;
	cookies = strcmp(mode, "off");
	find_hotplug_cpus();
	ksft_print_msg("mode %s, %d CPUs (%d to hotplug), %d VMs of %d vCPUs, %.1f s, %s\n",
		       mode, nr_cpus, nr_hotplug_cpus, NR_VMS,
		       nr_vcpus_per_vm, seconds, vmm_cookies ? "VMM cookies" : "");

	stats_err = kvm_cs_stats_read(&before);
	create_vms();
	start_helpers();
	run_for(seconds);
	intr = count_eintr();
	joined = stop_all(&bad);

	check_progress(intr);
	if (!joined)
		ksft_exit_fail_msg("nothing hung: a thread did not end within %d ms\n",
				   JOIN_TIMEOUT_MS);
	ksft_test_result(!bad, "every thread ended cleanly, before the deadline\n");
	check_online();
	check_stats(&before, stats_err, !strncmp(mode, "vm", 2));
	for (i = 0; i < NR_VMS; i++)
		kvm_vm_destroy(vms[i], JOIN_TIMEOUT_MS);
	ksft_finished();
}
