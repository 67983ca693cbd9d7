// SPDX-License-Identifier: GPL-2.0
/*
 * The lab's IPI ping-pong, for "make bench": what a HLT between two
 * messages costs two vCPUs of one VM that sit on the two SMT siblings of
 * a core.  Built on the KVM selftest library of the series' tree.
 *
 * vCPU 0 (the pinger) reads its TSC, sends a fixed x2APIC IPI to vCPU 1
 * and halts until vCPU 1's answer arrives, then reads its TSC again: one
 * round trip.  vCPU 1 halts until the IPI comes and answers at once.
 * Both HLTs block in KVM (in-kernel APIC), after halt polling if the VM
 * polls: this is where coresched=vm could cost, if a polling vCPU kept its
 * sibling out of guest mode while the sibling is the one to answer.
 *
 * Nothing is asserted but that every round completes: the figures mean
 * something only next to those of other boot parameters (coresched=on,
 * coresched=vm, no halt polling), which lab/guest/bench.sh compares.
 *
 * usage: ipi_pingpong [-n ROUNDS] [-w WARMUP] [-p POLL_NS] [-t SECONDS]
 *   -n  measured round trips (default 2000, at most MAX_ROUNDS)
 *   -w  round trips before them, not measured (default 200)
 *   -p  this VM's halt polling limit in ns (KVM_CAP_HALT_POLL, as
 *       kvm.halt_poll_ns would set it for every VM); default: KVM's
 *   -t  all rounds must complete within this many seconds (default 120)
 *   -a, -b  the CPUs of vCPU 0 and vCPU 1 (default: two siblings of a core)
 *
 * Output, one line: rounds=N warmup=W tsc_khz=K median_us= p10_us= p90_us=
 * min_us= max_us= of the measured round trips, halt_poll_ns= (the limit
 * in force, "kvm" for the module's), then KVM's stats summed over both
 * vCPUs and all rounds: halt_successful_poll= halt_attempted_poll=
 * halt_wakeup= coresched_wait_ns= (when KVM has it).
 * If the rounds do not all complete within -t, the line has the round
 * trips measured so far and ends with error=timeout rounds_done=D of N.
 * Exit code 0; 1 on a timeout or a failed run.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apic.h"
#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#include "coresched_util.h"

#define IPI_VECTOR	0xa5
#define MAX_ROUNDS	20000

/* Guest memory, shared by both vCPUs and the host. */
struct pingpong {
	uint64_t rounds;	/* set by the host: warm-up and measured */
	uint64_t warmup;
	uint64_t received[2];	/* IPIs each vCPU took */
	uint32_t ready;		/* vCPU 1 runs its loop */
	uint32_t stop;		/* vCPU 0 is done: vCPU 1's last IPI */
	uint64_t done;		/* round trips completed */
	uint64_t rtt[MAX_ROUNDS];
};

static struct pingpong pp;

static void guest_ipi_handler(struct ex_regs *regs)
{
	uint32_t id = x2apic_read_reg(APIC_ID);

	WRITE_ONCE(pp.received[id], READ_ONCE(pp.received[id]) + 1);
	x2apic_write_reg(APIC_EOI, 0);
}

static void send_ipi(uint32_t dest)
{
	x2apic_write_reg(APIC_ICR, ((uint64_t)dest << 32) | APIC_DEST_PHYSICAL |
			 APIC_DM_FIXED | IPI_VECTOR);
}

/*
 * With interrupts off, so that an IPI arriving before the HLT is taken
 * right after STI and wakes the HLT in its shadow, not lost before it.
 */
static void halt_until_received(uint32_t id, uint64_t seen)
{
	while (READ_ONCE(pp.received[id]) == seen)
		asm volatile("sti; hlt; cli" ::: "memory");
}

static void guest_code(uint32_t id)
{
	uint64_t seen, t0, i;

	x2apic_enable();
	if (id == 1) {
		/* One IPI outstanding at a time: the pinger waits for the answer. */
		seen = 0;
		WRITE_ONCE(pp.ready, 1);
		for (;;) {
			halt_until_received(1, seen);
			seen = READ_ONCE(pp.received[1]);
			if (READ_ONCE(pp.stop))
				break;
			send_ipi(0);
		}
		GUEST_DONE();
	}

	while (!READ_ONCE(pp.ready))
		cpu_relax();
	for (i = 0; i < pp.warmup + pp.rounds; i++) {
		seen = READ_ONCE(pp.received[0]);
		t0 = rdtsc();
		send_ipi(1);
		halt_until_received(0, seen);
		if (i >= pp.warmup)
			pp.rtt[i - pp.warmup] = rdtsc() - t0;
		WRITE_ONCE(pp.done, i + 1);
	}
	WRITE_ONCE(pp.stop, 1);
	send_ipi(1);
	GUEST_DONE();
}

struct vcpu_thread {
	struct kvm_vcpu *vcpu;
	int cpu;
	pthread_t thread;
};

static void *vcpu_thread(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;

	kvm_pin_this_task_to_pcpu(t->cpu);
	vcpu_run(t->vcpu);
	switch (get_ucall(t->vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("vCPU %d: unexpected exit %s", t->vcpu->id,
			  exit_reason_str(t->vcpu->run->exit_reason));
	}
	return NULL;
}

/* Sum of a vCPU stat over @vcpus; false if KVM has no stat of that name. */
static bool stat_sum(struct kvm_vcpu **vcpus, int nr, const char *name, uint64_t *sum)
{
	bool found = false;
	uint64_t val;
	int v;

	*sum = 0;
	for (v = 0; v < nr; v++) {
		if (!cs_vcpu_stat(vcpus[v], name, false, &val))
			continue;
		*sum += val;
		found = true;
	}
	return found;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static double us(uint64_t ticks, uint64_t khz)
{
	return ticks * 1000.0 / khz;
}

int main(int argc, char *argv[])
{
	uint64_t rounds = 2000, warmup = 200, poll_ns = 0, sum, khz, done, n;
	const char * const stats[] = {
		"halt_successful_poll", "halt_attempted_poll", "halt_wakeup",
		"coresched_wait_ns",
	};
	struct vcpu_thread threads[2];
	struct kvm_vcpu *vcpus[2];
	bool set_poll = false, timed_out = false;
	int opt, a = -1, b = -1, timeout_s = 120, i, r;
	struct pingpong *hpp;
	cpu_set_t sibs;
	struct timespec end;
	struct kvm_vm *vm;
	uint64_t *rtt;

	while ((opt = getopt(argc, argv, "n:w:p:t:a:b:")) != -1) {
		switch (opt) {
		case 'n':
			rounds = atoi_positive("-n", optarg);
			break;
		case 'w':
			warmup = atoi_non_negative("-w", optarg);
			break;
		case 'p':
			poll_ns = atoi_non_negative("-p", optarg);
			set_poll = true;
			break;
		case 't':
			timeout_s = atoi_positive("-t", optarg);
			break;
		case 'a':
			a = atoi_non_negative("-a", optarg);
			break;
		case 'b':
			b = atoi_non_negative("-b", optarg);
			break;
		default:
			fprintf(stderr, "usage: %s %s\n", argv[0],
				"[-n ROUNDS] [-w WARMUP] [-p POLL_NS] [-t SECONDS] [-a CPU -b CPU]");
			return 1;
		}
	}
	TEST_ASSERT(rounds <= MAX_ROUNDS, "-n %lu: at most %d", rounds, MAX_ROUNDS);
	if ((a < 0 || b < 0) && !cs_pick_siblings(&a, &b, &sibs))
		TEST_FAIL("no core with two online SMT siblings: give -a and -b");

	vm = vm_create_with_vcpus(2, guest_code, vcpus);
	vm_install_exception_handler(vm, IPI_VECTOR, guest_ipi_handler);
	if (set_poll) {
		TEST_REQUIRE(kvm_has_cap(KVM_CAP_HALT_POLL));
		vm_enable_cap(vm, KVM_CAP_HALT_POLL, poll_ns);
	}
	hpp = addr_gva2hva(vm, (vm_vaddr_t)&pp);
	hpp->rounds = rounds;
	hpp->warmup = warmup;
	r = __vcpu_ioctl(vcpus[0], KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(r > 0, "KVM_GET_TSC_KHZ: %d", r);
	khz = r;

	for (i = 0; i < 2; i++) {
		threads[i].vcpu = vcpus[i];
		threads[i].cpu = i ? b : a;
		vcpu_args_set(vcpus[i], 1, i);
	}
	/* vCPU 1 first: it must be halted, or about to, when the pings start. */
	pthread_create(&threads[1].thread, NULL, vcpu_thread, &threads[1]);
	pthread_create(&threads[0].thread, NULL, vcpu_thread, &threads[0]);

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_s;
	for (i = 0; i < 2 && !timed_out; i++)
		timed_out = pthread_timedjoin_np(threads[i].thread, NULL, &end);

	/* On a timeout, the round trips measured so far, and the error. */
	done = READ_ONCE(hpp->done);
	n = done > warmup ? done - warmup : 0;
	if (!n) {
		printf("error=timeout rounds_done=%lu of %lu\n", done, warmup + rounds);
		fflush(stdout);
		/* The vCPU threads are stuck in KVM_RUN: no clean exit. */
		_exit(1);
	}
	rtt = malloc(n * sizeof(*rtt));
	TEST_ASSERT(rtt, "malloc");
	memcpy(rtt, hpp->rtt, n * sizeof(*rtt));
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("rounds=%lu warmup=%lu tsc_khz=%lu ", n, warmup, khz);
	printf("median_us=%.2f p10_us=%.2f p90_us=%.2f min_us=%.2f max_us=%.2f",
	       us(rtt[n / 2], khz), us(rtt[n / 10], khz),
	       us(rtt[n * 9 / 10], khz), us(rtt[0], khz), us(rtt[n - 1], khz));
	if (set_poll)
		printf(" halt_poll_ns=%lu", poll_ns);
	else
		printf(" halt_poll_ns=kvm");
	for (i = 0; i < (int)ARRAY_SIZE(stats); i++)
		if (stat_sum(vcpus, 2, stats[i], &sum))
			printf(" %s=%lu", stats[i], sum);
	if (timed_out)
		printf(" error=timeout rounds_done=%lu of %lu", done, warmup + rounds);
	printf("\n");
	if (timed_out) {
		fflush(stdout);
		_exit(1);
	}

	free(rtt);
	kvm_vm_free(vm);
	return 0;
}
