// SPDX-License-Identifier: GPL-2.0
/*
 * Run VMs for a fixed time and report the guest work done per second: the
 * load generator of the lab's KVM benchmarks (lab/guest/bench.sh), on the
 * KVM selftest library of the series' tree.
 *
 * usage: kvm_workload -w cpu|exit-kernel|exit-user -n NVMS -v VCPUS_PER_VM
 *                     -c CPULIST -t SECONDS [-k]
 *
 *   -w cpu          the guest increments a counter in a loop: rare exits
 *      exit-kernel  each iteration is a CPUID, which KVM handles in the
 *                   kernel without going back to userspace
 *      exit-user    each iteration exits to this VMM (a ucall), which does
 *                   a little work (VMM_WORK_BYTES) and re-enters
 *   -n, -v          VMs (1 to 16), and vCPUs in each (1 to 16)
 *   -c CPULIST      "0,1" or "0-3": the vCPU threads are pinned round-robin
 *                   over these CPUs (vCPU i of VM j: vCPU j * v + i)
 *   -t SECONDS      how long to measure (a positive decimal number)
 *   -k              this VMM gives every VM a core scheduling cookie of its
 *                   own with prctl, as a VMM does on a kernel without
 *                   coresched=vm: PR_SCHED_CORE_CREATE on the VM's first
 *                   vCPU thread, PR_SCHED_CORE_SHARE_TO the others, all
 *                   before any of them enters the guest
 *
 * Output: one line of key=value pairs (after the library's seed line):
 *   workload vms vcpus (in all) vcpus_per_vm cpus cookie (vmm or kernel)
 *   mode (coresched= mode, "none" without the file) seconds (measured)
 *   work (guest loop iterations of all vCPUs) work_per_sec
 *   min_vcpu_work (of the least lucky vCPU) exits_user (KVM_RUN returns
 *   with an exit to handle) exits_intr (KVM_RUN returns with EINTR)
 *   stats_NAME for every counter of the coresched stats file, if the
 *   kernel has it: its change over the run.
 * Exit code: 0; 1 on any failure, including a vCPU that did no work; 2 on
 * bad usage; 4 (kselftest's skip) without /dev/kvm.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#include "coresched_util.h"

#define MAX_VMS		16
#define MAX_VCPUS	16
#define MAX_CPUS	64
/* What the VMM does on every userspace exit: sum this many guest bytes. */
#define VMM_WORK_BYTES	256
/* How long stopping the vCPU threads may take before it is a hang. */
#define JOIN_TIMEOUT_S	10
#define MAX_STATS	32

enum workload { WL_CPU, WL_EXIT_KERNEL, WL_EXIT_USER };

static const char * const workload_names[] = {
	[WL_CPU] = "cpu", [WL_EXIT_KERNEL] = "exit-kernel", [WL_EXIT_USER] = "exit-user",
};

/* Guest memory, one copy per VM: a counter per vCPU, each in its own line. */
static struct {
	uint64_t n;
	uint8_t pad[56];
} work[MAX_VCPUS];
static uint8_t scratch[VMM_WORK_BYTES];
static uint32_t stop;

static void guest_code(uint32_t id, uint32_t wl)
{
	uint32_t a, b, c, d;

	while (!READ_ONCE(stop)) {
		WRITE_ONCE(work[id].n, READ_ONCE(work[id].n) + 1);
		if (wl == WL_EXIT_KERNEL)
			__cpuid(0, 0, &a, &b, &c, &d);
		else if (wl == WL_EXIT_USER)
			GUEST_SYNC(0);
	}
	GUEST_DONE();
}

struct vcpu_thread {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	struct vcpu_thread *first;	/* vCPU 0 of the same VM */
	int nr;				/* vCPUs of the VM, in first */
	int cpu;
	pthread_t thread;
	pid_t tid;
	uint64_t exits_user, exits_intr, sink;
	int err;
};

static enum workload wl = -1;
static int nr_vms, nr_vcpus, nr_cpus;
static int cpus[MAX_CPUS];
static const char *cpulist;
static double seconds;
static bool own_cookie;
static struct vcpu_thread threads[MAX_VMS][MAX_VCPUS];
static pthread_barrier_t started, cookies_set;

static void __noreturn bad_usage(void)
{
	fprintf(stderr, "usage: kvm_workload -w cpu|exit-kernel|exit-user -n NVMS -v VCPUS_PER_VM\n"
		"                    -c CPULIST -t SECONDS [-k]\n");
	exit(2);
}

static int parse_int(const char *arg, int min, int max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno || end == arg || *end || n < min || n > max)
		bad_usage();
	return n;
}

/* "0,2-3" into cpus[]. */
static void parse_cpulist(const char *s)
{
	char *end;
	long a, b;

	while (*s) {
		a = strtol(s, &end, 10);
		b = a;
		if (end == s || a < 0)
			bad_usage();
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s)
				bad_usage();
		}
		for (; a <= b; a++) {
			if (nr_cpus == MAX_CPUS)
				bad_usage();
			cpus[nr_cpus++] = a;
		}
		if (*end && (*end != ',' || !end[1]))
			bad_usage();
		s = *end ? end + 1 : end;
	}
	if (!nr_cpus)
		bad_usage();
}

static void parse_args(int argc, char **argv)
{
	char *end;
	int opt, i;

	while ((opt = getopt(argc, argv, "w:n:v:c:t:k")) != -1) {
		switch (opt) {
		case 'w':
			for (i = 0; i < (int)ARRAY_SIZE(workload_names); i++)
				if (!strcmp(optarg, workload_names[i]))
					wl = i;
			break;
		case 'n':
			nr_vms = parse_int(optarg, 1, MAX_VMS);
			break;
		case 'v':
			nr_vcpus = parse_int(optarg, 1, MAX_VCPUS);
			break;
		case 'c':
			cpulist = optarg;
			parse_cpulist(optarg);
			break;
		case 't':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0 && seconds < 1e6))
				bad_usage();
			break;
		case 'k':
			own_cookie = true;
			break;
		default:
			bad_usage();
		}
	}
	if ((int)wl < 0 || !cpulist || !nr_vms || !nr_vcpus || !seconds || optind != argc)
		bad_usage();
}

static uint64_t count(struct vcpu_thread *t)
{
	return READ_ONCE(*(uint64_t *)addr_gva2hva(t->vm, (vm_vaddr_t)&work[t->vcpu->id].n));
}

/* The VMM's share of an exit-user iteration: read some guest memory. */
static void vmm_work(struct vcpu_thread *t)
{
	const uint8_t *p = addr_gva2hva(t->vm, (vm_vaddr_t)scratch);
	uint64_t sum = 0;
	int i;

	for (i = 0; i < VMM_WORK_BYTES; i++)
		sum = sum * 31 + p[i];
	t->sink += sum;
}

/*
 * With -k the first vCPU thread of a VM creates its cookie and pushes it
 * to the others; every thread waits until all cookies are set, so that no
 * vCPU enters the guest with the wrong one.
 */
static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;
	int i, r;

	kvm_pin_this_task_to_pcpu(t->cpu);
	t->tid = syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	if (own_cookie && t == t->first) {
		r = prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
			  PR_SCHED_CORE_SCOPE_THREAD, 0);
		for (i = 1; !r && i < t->nr; i++)
			r = prctl(PR_SCHED_CORE, PR_SCHED_CORE_SHARE_TO, t[i].tid,
				  PR_SCHED_CORE_SCOPE_THREAD, 0);
		t->err = r ? errno : 0;
	}
	pthread_barrier_wait(&cookies_set);
	if (t->first->err)
		return NULL;
	for (;;) {
		r = __vcpu_run(t->vcpu);
		if (r && errno == EINTR) {
			t->exits_intr++;
			continue;
		}
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		switch (get_ucall(t->vcpu, &uc)) {
		case UCALL_SYNC:
			t->exits_user++;
			vmm_work(t);
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			TEST_FAIL("unexpected exit %s", exit_reason_str(t->vcpu->run->exit_reason));
		}
	}
}

int main(int argc, char **argv)
{
	char names[MAX_STATS][32];
	const char *mode;
	uint64_t before[MAX_STATS], after[MAX_STATS], start[MAX_VMS][MAX_VCPUS];
	uint64_t total = 0, min = UINT64_MAX, user = 0, intr = 0, n, t0, t1;
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	struct timespec ts;
	int i, j, k, nr_stats;

	parse_args(argc, argv);
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "kvm_workload: no /dev/kvm\n");
		return KSFT_SKIP;
	}
	pthread_barrier_init(&started, NULL, nr_vms * nr_vcpus + 1);
	pthread_barrier_init(&cookies_set, NULL, nr_vms * nr_vcpus + 1);
	for (i = 0; i < nr_vms; i++) {
		struct kvm_vm *vm = vm_create_with_vcpus(nr_vcpus, guest_code, vcpus);

		for (j = 0; j < nr_vcpus; j++) {
			struct vcpu_thread *t = &threads[i][j];

			t->vm = vm;
			t->vcpu = vcpus[j];
			t->first = &threads[i][0];
			t->nr = nr_vcpus;
			t->cpu = cpus[(i * nr_vcpus + j) % nr_cpus];
			vcpu_args_set(vcpus[j], 2, j, wl);
			pthread_create(&t->thread, NULL, vcpu_thread, t);
		}
	}
	pthread_barrier_wait(&started);
	pthread_barrier_wait(&cookies_set);
	for (i = 0; i < nr_vms; i++)
		TEST_ASSERT(!threads[i][0].err, "prctl(PR_SCHED_CORE): %s",
			    strerror(threads[i][0].err));

	nr_stats = cs_read_stats(names, before, MAX_STATS);
	for (i = 0; i < nr_vms; i++)
		for (j = 0; j < nr_vcpus; j++)
			start[i][j] = count(&threads[i][j]);
	t0 = cs_now_ns();
	usleep(seconds * 1e6);
	for (i = 0; i < nr_vms; i++)
		for (j = 0; j < nr_vcpus; j++) {
			n = count(&threads[i][j]) - start[i][j];
			total += n;
			min = n < min ? n : min;
		}
	t1 = cs_now_ns();
	cs_read_stats(names, after, MAX_STATS);

	for (i = 0; i < nr_vms; i++) {
		*(uint32_t *)addr_gva2hva(threads[i][0].vm, (vm_vaddr_t)&stop) = 1;
		for (j = 0; j < nr_vcpus; j++) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += JOIN_TIMEOUT_S;
			TEST_ASSERT(!pthread_timedjoin_np(threads[i][j].thread, NULL, &ts),
				    "a vCPU thread did not stop");
			user += threads[i][j].exits_user;
			intr += threads[i][j].exits_intr;
		}
		kvm_vm_free(threads[i][0].vm);
	}

	mode = cs_kernel_mode();
	if (!mode || !*mode)
		mode = "none";
	printf("workload=%s vms=%d vcpus=%d vcpus_per_vm=%d cpus=%s cookie=%s mode=%s",
	       workload_names[wl], nr_vms, nr_vms * nr_vcpus, nr_vcpus, cpulist,
	       own_cookie ? "vmm" : "kernel", mode);
	printf(" seconds=%.3f work=%lu work_per_sec=%.0f min_vcpu_work=%lu",
	       (t1 - t0) / 1e9, total, total / ((t1 - t0) / 1e9), min);
	printf(" exits_user=%lu exits_intr=%lu", user, intr);
	for (k = 0; k < nr_stats; k++)
		printf(" stats_%s=%lu", names[k], after[k] - before[k]);
	printf("\n");
	if (!min)
		fprintf(stderr, "kvm_workload: a vCPU did no work\n");
	return min ? 0 : 1;
}
