// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM with one cookie for its whole process (libvirt's sched_core=,
 * util-linux's coresched) must not livelock under coresched=vm when a host
 * thread busy-waits for a guest: thread B spins on one sibling until vCPU
 * A, on the other, sets a flag in guest memory.  Under vm a vCPU may not
 * enter guest mode beside host code; were A and B let share the core for
 * their equal cookies, each would wait for the other.  The flag must come
 * within FLAG_DEADLINE_MS in every mode.
 *
 * A's wait must show in the guest's steal time, covering its run delay and
 * KVM's coresched_wait_ns.  Under vm A waits mostly off the core (run
 * delay), little or not at all kicked out: the stat must exist, and the
 * stress test shows it counting.  Zero under on; none without coresched=.
 *
 * usage: coresched_livelock_test [-m on|vm|vm,strict]   (see cs_test_mode())
 */
#include <pthread.h>
#include <semaphore.h>

#include <asm/kvm_para.h>

#include "processor.h"

#include "coresched_util.h"

#define WAIT_STAT		"coresched_wait_ns"

/* A tick or two for the core to pass from B to A; seconds for a loaded emulator. */
#define FLAG_DEADLINE_MS	10000

enum {
	STAGE_FLAG = 1,
	STAGE_STEAL,
};

static uint32_t flag;	/* in guest memory */

static void guest_code(struct kvm_steal_time *st, uint64_t st_gpa)
{
	uint32_t version;
	uint64_t steal;

	wrmsr(MSR_KVM_STEAL_TIME, st_gpa | KVM_MSR_ENABLED);
	WRITE_ONCE(flag, 1);
	GUEST_SYNC1(STAGE_FLAG);

	/* KVM writes the structure only while this vCPU is out of the guest. */
	version = READ_ONCE(st->version);
	steal = READ_ONCE(st->steal);
	GUEST_ASSERT(version && !(version & 1));
	GUEST_SYNC2(STAGE_STEAL, steal);
	GUEST_DONE();
}

static struct kvm_vcpu *vcpu;
static int cpu_a = -1, cpu_b = -1;
static sem_t a_started, b_spinning, b_done;

static uint64_t a_start, b_seen;	/* ns */
static bool seen;
static uint64_t a_cookie, b_cookie;	/* A's once it ran its vCPU */
static bool has_wait_stat;
static uint64_t wait_ns, run_delay, steal;

/* B: spins in userspace, on its sibling, until the guest sets the flag. */
static void *poller(void *arg)
{
	uint32_t *f = addr_gva2hva(vcpu->vm, (vm_vaddr_t)&flag);
	uint64_t start, n;

	kvm_pin_this_task_to_pcpu(cpu_b);
	b_cookie = cs_cookie_of(0);
	start = cs_now_ns();
	sem_post(&b_spinning);
	for (n = 0; ; n++) {
		if (READ_ONCE(*f)) {
			seen = true;
			break;
		}
		if (!(n % 4096) && cs_now_ns() - start > FLAG_DEADLINE_MS * 1000000ull)
			break;
		cpu_relax();
	}
	b_seen = cs_now_ns();
	sem_post(&b_done);
	return NULL;
}

/* A: the vCPU, on the other sibling. */
static void *vcpu_thread(void *arg)
{
	struct ucall uc;

	kvm_pin_this_task_to_pcpu(cpu_a);
	a_start = cs_now_ns();
	sem_post(&a_started);
	cs_run_to(vcpu, STAGE_FLAG, &uc);
	a_cookie = cs_cookie_of(0);

	/* Steal time is updated at the next entry, from what is counted now: B is gone. */
	cs_sem_wait(&b_done);
	has_wait_stat = cs_vcpu_stat(vcpu, WAIT_STAT, true, &wait_ns);
	run_delay = get_run_delay();
	cs_run_to(vcpu, STAGE_STEAL, &uc);
	steal = uc.args[1];
	cs_run_to(vcpu, 0, &uc);
	return NULL;
}

int main(int argc, char *argv[])
{
	int want = cs_mode_option(argc, argv);
	bool vm_mode;
	vm_vaddr_t st_gva;
	struct kvm_vm *vm;
	cpu_set_t sibs;
	uint64_t cookie;
	pthread_t a, b;

	ksft_print_header();

	/* Before any other thread exists, so that all of them inherit it. */
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
		  PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0))
		ksft_exit_skip("no core scheduling cookie for the process: %s\n",
			       strerror(errno));
	cookie = cs_cookie_of(0);

	vm_mode = cs_test_mode(want, CS_MODE_ON) != CS_MODE_ON;

	if (!cs_pick_siblings(&cpu_a, &cpu_b, &sibs))
		ksft_exit_skip("no core with two online SMT siblings\n");
	ksft_print_msg("vCPU A on cpu%d, polling thread B on cpu%d\n", cpu_a, cpu_b);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_STEAL_TIME));
	st_gva = vm_vaddr_alloc_page(vm);
	vcpu_args_set(vcpu, 2, st_gva, addr_gva2gpa(vm, st_gva));

	cs_violations_start();
	ksft_set_plan(6);
	ksft_test_result(cookie, "one cookie for the process, before any thread\n");

	sem_init(&a_started, 0, 0);
	sem_init(&b_spinning, 0, 0);
	sem_init(&b_done, 0, 0);
	pthread_create(&b, NULL, poller, NULL);
	cs_sem_wait(&b_spinning);
	pthread_create(&a, NULL, vcpu_thread, NULL);
	cs_sem_wait(&a_started);
	pthread_join(b, NULL);
	pthread_join(a, NULL);

	ksft_print_msg("flag seen by B %.3f ms after A's KVM_RUN%s\n",
		       (int64_t)(b_seen - a_start) / 1e6,
		       seen ? "" : ": never, B gave up");
	ksft_test_result(seen, "the polling thread saw the flag within %d ms\n",
			 FLAG_DEADLINE_MS);
	ksft_test_result(a_cookie == cookie && b_cookie == cookie,
			 "vCPU and polling threads report the process cookie (%#lx, %#lx, %#lx)\n",
			 a_cookie, b_cookie, cookie);

	if (has_wait_stat)
		ksft_print_msg("A: %s %lu, run delay %lu ns, guest steal time %lu ns\n",
			       WAIT_STAT, wait_ns, run_delay, steal);
	else
		ksft_print_msg("A: no %s stat, run delay %lu ns, guest steal time %lu ns\n",
			       WAIT_STAT, run_delay, steal);
	if (!has_wait_stat && vm_mode)
		ksft_test_result_fail("KVM has no %s stat under VM isolation\n", WAIT_STAT);
	else if (!has_wait_stat)
		ksft_test_result_skip("KVM has no %s stat\n", WAIT_STAT);
	else if (vm_mode)
		ksft_test_result_pass("KVM reports A's waits for its core: %s %lu\n",
				      WAIT_STAT, wait_ns);
	else
		ksft_test_result(!wait_ns, "no wait counted without VM isolation: %s %lu\n",
				 WAIT_STAT, wait_ns);
	ksft_test_result((!vm_mode || steal) && steal >= run_delay + wait_ns,
			 "A's steal time %lu covers its run delay and its wait, %lu + %lu\n",
			 steal, run_delay, wait_ns);

	kvm_vm_free(vm);
	cs_violations_point();
	ksft_finished();
}
