// SPDX-License-Identifier: GPL-2.0
/*
 * Run VMs for a fixed time and report the guest work done per second: the
 * load generator of the KVM benchmarks and of the coresched tests.
 *
 * usage: kvm_workload -w cpu|exit-kernel|exit-user -n NVMS -v VCPUS_PER_VM
 *                     -c CPULIST -t SECONDS [-k]
 *
 *   -w cpu          the guest increments a counter in a loop: rare exits
 *      exit-kernel  each iteration is a CPUID, which KVM emulates in the
 *                   kernel without going back to userspace
 *      exit-user    each iteration is an OUT to a port no device of the
 *                   kernel claims: KVM_RUN returns to this VMM, which does
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
 * Output: one line of key=value pairs:
 *   workload vms vcpus (in all) vcpus_per_vm cpus cookie (vmm or kernel)
 *   mode (coresched= mode, "none" without the file) seconds (measured)
 *   work (guest loop iterations of all vCPUs) work_per_sec
 *   min_vcpu_work (of the least lucky vCPU) exits_user (KVM_RUN returns
 *   with an exit to handle) exits_intr (KVM_RUN returns with EINTR)
 *   stats_NAME for every counter of the coresched stats file, if the
 *   kernel has it: its change over the run.
 * Exit code: 0; 1 on any failure, including a vCPU that did no work; 2 on
 * bad usage (an unknown option, a value out of range); 4 (kselftest's
 * skip) without /dev/kvm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cs_util.h"
#include "kvm_vm.h"

#define MAX_VMS		16
#define MAX_CPUS	64
/* What the VMM does on every userspace exit: sum this many guest bytes. */
#define VMM_WORK_BYTES	256
/*
 * The guest counters are 32 bits: sample them this often so that none can
 * wrap twice between samples.
 */
#define SAMPLE_MS	10
/* How long stopping the vCPU threads may take before we call it a hang. */
#define JOIN_TIMEOUT_MS	10000

static enum kvm_prog prog;
static const char *workload;
static int nr_vms, nr_vcpus_per_vm, nr_cpus;
static int cpus[MAX_CPUS];
static char *cpulist;
static double seconds;
static bool own_cookie;

static struct kvm_vm *vms[MAX_VMS];
static pthread_barrier_t setup_done, cookies_done;
static int cookie_err;

struct vcpu_work {
	uint64_t start;		/* vcpu->total at the start */
	uint64_t total;		/* iterations since the start */
	uint64_t exits_user, exits_intr;	/* at the start, then deltas */
	uint64_t sink;		/* the VMM's work, kept so it is not elided */
};

static struct vcpu_work work[MAX_VMS][KVM_VM_MAX_VCPUS];

static void bad_usage(void)
{
	fprintf(stderr, "%s",
		"usage: kvm_workload -w cpu|exit-kernel|exit-user -n NVMS -v VCPUS_PER_VM\n"
		"                    -c CPULIST -t SECONDS [-k]\n");
	exit(2);
}

/* A whole number from @min to @max; bad_usage() otherwise. */
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

static void parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "w:n:v:c:t:k")) != -1) {
		switch (opt) {
		case 'w':
			workload = optarg;
			break;
		case 'n':
			nr_vms = parse_int(optarg, 1, MAX_VMS);
			break;
		case 'v':
			nr_vcpus_per_vm = parse_int(optarg, 1, KVM_VM_MAX_VCPUS);
			break;
		case 'c':
			cpulist = optarg;
			break;
		case 't':
			seconds = cs_parse_seconds(optarg);
			if (seconds < 0)
				bad_usage();
			break;
		case 'k':
			own_cookie = true;
			break;
		default:
			bad_usage();
		}
	}
	/* -n, -v and -t are required: their zero means "not given". */
	if (!workload || !cpulist || !nr_vms || !nr_vcpus_per_vm || !seconds ||
	    optind != argc)
		bad_usage();
	if (!strcmp(workload, "cpu"))
		prog = KVM_PROG_SPIN;
	else if (!strcmp(workload, "exit-kernel"))
		prog = KVM_PROG_CPUID;
	else if (!strcmp(workload, "exit-user"))
		prog = KVM_PROG_OUT;
	else
		bad_usage();
	nr_cpus = cs_parse_cpulist(cpulist, cpus, MAX_CPUS);
	if (nr_cpus < 1)
		bad_usage();
}

/* The VMM's share of an exit-user iteration: read some guest memory. */
static void vmm_work(struct kvm_vcpu *vcpu)
{
	struct vcpu_work *w = vcpu->arg;
	const uint8_t *p = vcpu->vm->mem;
	uint64_t sum = 0;
	int i;

	for (i = 0; i < VMM_WORK_BYTES; i++)
		sum = sum * 31 + p[i];
	w->sink += sum;
}

/*
 * With -k the first vCPU thread of the VM creates the cookie and pushes it
 * to the others; every thread waits until all cookies are set, so no vCPU
 * enters the guest with the wrong one.
 */
static void *vcpu_thread(struct kvm_vcpu *vcpu)
{
	struct kvm_vm *vm = vcpu->vm;
	int i, ret;

	pthread_barrier_wait(&setup_done);
	if (own_cookie && vcpu->id == 0) {
		ret = cs_create(0, 0);
		for (i = 1; !ret && i < vm->nr_vcpus; i++)
			ret = cs_share_to(vm->vcpus[i]->tid, 0);
		if (ret)
			__atomic_store_n(&cookie_err, ret, __ATOMIC_RELAXED);
	}
	pthread_barrier_wait(&cookies_done);
	if (__atomic_load_n(&cookie_err, __ATOMIC_RELAXED))
		return NULL;
	return (void *)kvm_vcpu_loop(vcpu, prog == KVM_PROG_OUT ? vmm_work : NULL);
}

static int create_vms(void)
{
	int i, j, n = 0;

	for (i = 0; i < nr_vms; i++) {
		vms[i] = kvm_vm_create();
		if (!vms[i])
			return -1;
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			if (!kvm_vcpu_add(vms[i], prog))
				return -1;
		}
	}
	for (i = 0; i < nr_vms; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++, n++) {
			if (kvm_vcpu_start(vms[i]->vcpus[j], cpus[n % nr_cpus],
					   vcpu_thread, &work[i][j]))
				return -1;
		}
	}
	return 0;
}

/* Fold the counters' progress since the last sample into 64 bits. */
static void sample(void)
{
	int i;

	for (i = 0; i < nr_vms; i++)
		kvm_vm_sample(vms[i]);
}

static void start_counts(void)
{
	int i, j;

	sample();
	for (i = 0; i < nr_vms; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			struct kvm_vcpu *vcpu = vms[i]->vcpus[j];
			struct vcpu_work *w = &work[i][j];

			w->start = vcpu->total;
			w->exits_user = __atomic_load_n(&vcpu->exits_user,
							__ATOMIC_RELAXED);
			w->exits_intr = __atomic_load_n(&vcpu->exits_intr,
							__ATOMIC_RELAXED);
		}
	}
}

/* Turn the counts taken by start_counts() into their changes. */
static void end_counts(void)
{
	int i, j;

	for (i = 0; i < nr_vms; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			struct kvm_vcpu *vcpu = vms[i]->vcpus[j];
			struct vcpu_work *w = &work[i][j];

			w->total = vcpu->total - w->start;
			w->exits_user = __atomic_load_n(&vcpu->exits_user,
							__ATOMIC_RELAXED) -
					w->exits_user;
			w->exits_intr = __atomic_load_n(&vcpu->exits_intr,
							__ATOMIC_RELAXED) -
					w->exits_intr;
		}
	}
}

/* Sample every SAMPLE_MS until @end_ns. */
static void measure(uint64_t end_ns)
{
	struct timespec ts;
	uint64_t next;

	for (;;) {
		sample();
		next = kvm_now_ns() + SAMPLE_MS * 1000000ULL;
		if (next > end_ns)
			next = end_ns;
		ts.tv_sec = next / 1000000000ULL;
		ts.tv_nsec = next % 1000000000ULL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		if (kvm_now_ns() >= end_ns)
			break;
	}
	sample();
}

/* Stop and join every vCPU thread; false if one failed or hung. */
static bool stop_all(void)
{
	bool ok = true;
	void *ret;
	int i, j;

	for (i = 0; i < nr_vms; i++) {
		for (j = 0; vms[i] && j < vms[i]->nr_vcpus; j++)
			kvm_vcpu_stop(vms[i]->vcpus[j]);
	}
	for (i = 0; i < nr_vms; i++) {
		for (j = 0; vms[i] && j < vms[i]->nr_vcpus; j++) {
			ret = NULL;
			if (kvm_vcpu_join(vms[i]->vcpus[j], &ret, JOIN_TIMEOUT_MS)) {
				fprintf(stderr, "kvm_workload: %s\n", kvm_error());
				return false;
			}
			if (ret) {
				fprintf(stderr, "kvm_workload: %s\n", (char *)ret);
				ok = false;
			}
		}
	}
	for (i = 0; i < nr_vms; i++)
		kvm_vm_destroy(vms[i], 0);
	return ok;
}

static void print_stats(const struct kvm_cs_stats *before,
			const struct kvm_cs_stats *after)
{
	int i;

	for (i = 0; i < after->nr; i++) {
		int64_t d = kvm_cs_stats_delta(before, after, after->name[i]);

		if (d >= 0)
			printf(" stats_%s=%lld", after->name[i], (long long)d);
	}
}

static bool report(double secs, const struct kvm_cs_stats *before,
		   const struct kvm_cs_stats *after)
{
	uint64_t total = 0, exits_user = 0, exits_intr = 0, min = UINT64_MAX;
	const char *mode = cs_mode();
	int i, j;

	for (i = 0; i < nr_vms; i++) {
		for (j = 0; j < nr_vcpus_per_vm; j++) {
			struct vcpu_work *w = &work[i][j];

			total += w->total;
			if (w->total < min)
				min = w->total;
			exits_user += w->exits_user;
			exits_intr += w->exits_intr;
		}
	}
	printf("workload=%s vms=%d vcpus=%d vcpus_per_vm=%d cpus=%s cookie=%s mode=%s",
	       workload, nr_vms, nr_vms * nr_vcpus_per_vm, nr_vcpus_per_vm,
	       cpulist, own_cookie ? "vmm" : "kernel", mode ? mode : "none");
	printf(" seconds=%.3f work=%llu work_per_sec=%.0f min_vcpu_work=%llu",
	       secs, (unsigned long long)total, total / secs,
	       (unsigned long long)min);
	printf(" exits_user=%llu exits_intr=%llu",
	       (unsigned long long)exits_user, (unsigned long long)exits_intr);
	print_stats(before, after);
	printf("\n");
	if (!min)
		fprintf(stderr, "kvm_workload: a vCPU did no work in %.3f s\n", secs);
	return min > 0;
}

int main(int argc, char **argv)
{
	struct kvm_cs_stats before, after;
	uint64_t t0, t1;
	bool ok;

	parse_args(argc, argv);
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "kvm_workload: no /dev/kvm\n");
		return 4;
	}
	pthread_barrier_init(&setup_done, NULL, nr_vms * nr_vcpus_per_vm + 1);
	pthread_barrier_init(&cookies_done, NULL, nr_vms * nr_vcpus_per_vm + 1);
	if (create_vms()) {
		fprintf(stderr, "kvm_workload: %s\n", kvm_error());
		/* Threads already started wait at the barrier: just leave. */
		return 1;
	}
	pthread_barrier_wait(&setup_done);
	pthread_barrier_wait(&cookies_done);
	if (cookie_err) {
		fprintf(stderr, "kvm_workload: prctl(PR_SCHED_CORE): %s\n",
			strerror(-cookie_err));
		stop_all();
		return 1;
	}

	kvm_cs_stats_read(&before);
	start_counts();
	t0 = kvm_now_ns();
	measure(t0 + (uint64_t)(seconds * 1e9));
	t1 = kvm_now_ns();
	end_counts();
	kvm_cs_stats_read(&after);

	ok = report((t1 - t0) / 1e9, &before, &after);
	if (!stop_all())
		ok = false;
	return ok ? 0 : 1;
}
