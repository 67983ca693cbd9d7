// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VMM that clears a vCPU thread's cookie while it is in KVM_RUN
 * (SHARE_TO from a thread with none) must not leave the vCPU in its guest
 * without its VM's cookie: two VMs' guests could share a core.
 *
 * VM 1 has two vCPUs, VM 2 one, each counting in its guest until told to
 * stop.  The main thread clears the cookie of VM 1's first vCPU thread,
 * then of one thread of each VM, holding their CPU at real-time priority
 * until it has seen each at 0: a cookie that comes back proves nothing
 * unless it was gone.  Under vm and vm,strict the cleared threads report
 * their VM's cookie again within CLEAR_DEADLINE_MS, the guests counting on
 * and KVM_RUN not returning; under on (the control), the cookie the VMM
 * gave stays 0.  Then what a VMM's threads report around KVM_RUN, and the
 * invariant checker's count.
 *
 * usage: coresched_cookie_test [-m on|vm|vm,strict]   (see cs_test_mode())
 */
#include <pthread.h>
#include <semaphore.h>
#include <sys/syscall.h>

#include "processor.h"

#include "coresched_util.h"

/* The cookie comes back at the entry after the clear's reschedule: a few ticks. */
#define CLEAR_DEADLINE_MS	2000
#define START_DEADLINE_MS	30000
#define POLL_US			1000

#define VM1_VCPUS		2
#define VM2_VCPUS		1
#define MAX_VCPUS		2

/* Guest memory, per VM. */
static uint64_t progress[MAX_VCPUS];
static uint32_t stop;

static void guest_code(uint32_t id)
{
	while (!READ_ONCE(stop))
		WRITE_ONCE(progress[id], READ_ONCE(progress[id]) + 1);
	GUEST_DONE();
}

struct vcpu_thread {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	pid_t tid;
	int returned;
	uint64_t cmd;	/* the ucall KVM_RUN returned with */
};

static struct vcpu_thread vm1_threads[VM1_VCPUS], vm2_threads[VM2_VCPUS];
static int hold_cpu;
static cpu_set_t main_cpus;

static uint64_t progress_of(struct vcpu_thread *t)
{
	uint64_t *p = addr_gva2hva(t->vm, (vm_vaddr_t)&progress[t->vcpu->id]);

	return READ_ONCE(*p);
}

static bool returned(struct vcpu_thread *t)
{
	return __atomic_load_n(&t->returned, __ATOMIC_ACQUIRE);
}

/* One KVM_RUN, which must last until the host sets stop. */
static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;

	__atomic_store_n(&t->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	vcpu_run(t->vcpu);
	t->cmd = get_ucall(t->vcpu, &uc);
	if (t->cmd == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	__atomic_store_n(&t->returned, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void start_vm(struct vcpu_thread *threads, int nr)
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	struct kvm_vm *vm = vm_create_with_vcpus(nr, guest_code, vcpus);
	int i;

	for (i = 0; i < nr; i++) {
		threads[i] = (struct vcpu_thread){ .vm = vm, .vcpu = vcpus[i] };
		vcpu_args_set(vcpus[i], 1, i);
		pthread_create(&threads[i].thread, NULL, vcpu_thread_fn, &threads[i]);
	}
}

/* Every vCPU of VM @vm counted in its guest, and no KVM_RUN returned. */
static void wait_running(struct vcpu_thread *threads, int nr, int vm)
{
	uint64_t end = cs_now_ms() + START_DEADLINE_MS;
	bool ret;
	int i;

	for (i = 0; i < nr; i++) {
		while (!progress_of(&threads[i]) && !returned(&threads[i]) &&
		       cs_now_ms() < end)
			usleep(POLL_US);
		ret = returned(&threads[i]);
		TEST_ASSERT(progress_of(&threads[i]) && !ret,
			    "vCPU %d of VM %d did not run its guest within %d ms (%s)",
			    threads[i].vcpu->id, vm, START_DEADLINE_MS,
			    ret ? exit_reason_str(threads[i].vcpu->run->exit_reason) :
			    __atomic_load_n(&threads[i].tid, __ATOMIC_ACQUIRE) ?
			    "its KVM_RUN had not returned" : "its thread had not started");
		while (!__atomic_load_n(&threads[i].tid, __ATOMIC_ACQUIRE))
			usleep(POLL_US);
	}
}

/* Tell the guests to stop; true if each KVM_RUN ended with the guest done. */
static bool stop_vm(struct vcpu_thread *threads, int nr)
{
	uint32_t *s = addr_gva2hva(threads[0].vm, (vm_vaddr_t)&stop);
	bool done = true;
	int i;

	WRITE_ONCE(*s, 1);
	for (i = 0; i < nr; i++) {
		pthread_join(threads[i].thread, NULL);
		if (threads[i].cmd == UCALL_DONE)
			continue;
		ksft_print_msg("vCPU %d: KVM_RUN ended with exit %s, ucall %lu\n",
			       threads[i].vcpu->id,
			       exit_reason_str(threads[i].vcpu->run->exit_reason),
			       (unsigned long)threads[i].cmd);
		done = false;
	}
	kvm_vm_free(threads[0].vm);
	return done;
}

/* ms until every thread of @ts reports a cookie; -1 after @ms or a KVM_RUN returned. */
static long wait_cookies(struct vcpu_thread **ts, int nr, uint64_t *cookies, long ms)
{
	uint64_t start = cs_now_ms();
	bool all;
	int i;

	for (;;) {
		all = true;
		for (i = 0; i < nr; i++) {
			cookies[i] = cs_cookie_of(ts[i]->tid);
			all &= cookies[i] != 0;
			if (returned(ts[i]))
				return -1;
		}
		if (all)
			return cs_now_ms() - start;
		if (cs_now_ms() - start >= (uint64_t)ms)
			return -1;
		usleep(POLL_US);
	}
}

/* @on: hold hold_cpu at RT priority, so that the vCPU threads pinned there stay preempted. */
static void hold(bool on)
{
	struct sched_param sp = { .sched_priority = on ? 1 : 0 };

	TEST_ASSERT(!sched_setscheduler(0, on ? SCHED_FIFO : SCHED_OTHER, &sp),
		    "sched_setscheduler: %s", strerror(errno));
	if (on)
		kvm_pin_this_task_to_pcpu(hold_cpu);
	else
		TEST_ASSERT(!sched_setaffinity(0, sizeof(main_cpus), &main_cpus),
			    "sched_setaffinity: %s", strerror(errno));
}

/*
 * Clear the cookies of @ts while they cannot run (*@cleared: they read 0),
 * then watch them for @ms.  True if no KVM_RUN returned and every guest
 * counted on.
 */
static bool clear_and_watch(struct vcpu_thread **ts, int nr, uint64_t *cookies,
			    long ms, long *took, bool *cleared)
{
	uint64_t before[2], end;
	bool in_run = true;
	int i;

	for (i = 0; i < nr; i++)
		before[i] = progress_of(ts[i]);
	hold(true);
	for (i = 0; i < nr; i++)
		cs_sched_core(PR_SCHED_CORE_SHARE_TO, ts[i]->tid, NULL);
	*cleared = true;
	for (i = 0; i < nr; i++)
		*cleared &= !cs_cookie_of(ts[i]->tid);
	hold(false);
	if (!*cleared)
		ksft_print_msg("a cleared thread reported a cookie before it could run\n");
	*took = wait_cookies(ts, nr, cookies, ms);

	end = cs_now_ms() + START_DEADLINE_MS;
	for (i = 0; i < nr; i++) {
		while (progress_of(ts[i]) == before[i] && !returned(ts[i]) &&
		       cs_now_ms() < end)
			usleep(POLL_US);
		if (returned(ts[i]) || progress_of(ts[i]) == before[i]) {
			ksft_print_msg("vCPU %d of VM %d: KVM_RUN %s, %lu -> %lu in the guest\n",
				       ts[i]->vcpu->id, ts[i]->vm == vm1_threads[0].vm ? 1 : 2,
				       returned(ts[i]) ? "returned" : "did not return",
				       before[i], progress_of(ts[i]));
			in_run = false;
		}
	}
	return in_run;
}

/* Under on, a cookie for the clear to take away. */
static void give_cookie(pid_t tid)
{
	cs_sched_core(PR_SCHED_CORE_CREATE, tid, NULL);
	TEST_ASSERT(cs_cookie_of(tid), "no cookie after PR_SCHED_CORE_CREATE");
}

static void guest_sync(void)
{
	for (;;)
		GUEST_SYNC(0);
}

static void run_once(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
}

static void in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	pthread_create(&t, NULL, fn, arg);
	pthread_join(t, NULL);
}

/* The cookie a new thread of the caller's is born with. */
static void *child_fn(void *arg)
{
	*(uint64_t *)arg = cs_cookie_of(0);
	return NULL;
}

static uint64_t child_cookie(void)
{
	uint64_t c = -1;

	in_thread(child_fn, &c);
	return c;
}

/* VM A's vCPUs, VM B's, and what the VMM's threads report. */
static struct {
	struct kvm_vcpu *a[2], *b;
	pid_t runner_tid;
	uint64_t runner, runner_child, runner_after_b, runner_kept;
	uint64_t own_before, own_after, own_child;
	uint64_t io_before, io_after;
	uint64_t b_cookie;
	sem_t ran, freed;
} vmm;

/* Runs A's first vCPU, then B's, and lives on after both VMs are gone. */
static void *runner_fn(void *arg)
{
	vmm.runner_tid = syscall(SYS_gettid);
	run_once(vmm.a[0]);
	vmm.runner = cs_cookie_of(0);
	vmm.runner_child = child_cookie();
	run_once(vmm.b);
	vmm.runner_after_b = cs_cookie_of(0);
	sem_post(&vmm.ran);
	cs_sem_wait(&vmm.freed);
	vmm.runner_kept = cs_cookie_of(0);
	return NULL;
}

/* Makes a cookie of its own, then runs A's second vCPU. */
static void *own_fn(void *arg)
{
	cs_sched_core(PR_SCHED_CORE_CREATE, 0, NULL);
	vmm.own_before = cs_cookie_of(0);
	run_once(vmm.a[1]);
	vmm.own_after = cs_cookie_of(0);
	vmm.own_child = child_cookie();
	return NULL;
}

/* An I/O thread with a cookie of its own takes the runner's. */
static void *io_fn(void *arg)
{
	cs_sched_core(PR_SCHED_CORE_CREATE, 0, NULL);
	vmm.io_before = cs_cookie_of(0);
	cs_sched_core(PR_SCHED_CORE_SHARE_FROM, vmm.runner_tid, NULL);
	vmm.io_after = cs_cookie_of(0);
	return NULL;
}

/* A thread that runs B's vCPU first: B's cookie. */
static void *b_fn(void *arg)
{
	run_once(vmm.b);
	vmm.b_cookie = cs_cookie_of(0);
	return NULL;
}

static void test_vmm_threads(bool vm_mode)
{
	struct kvm_vm *a, *b;
	pthread_t runner;
	uint64_t main_cookie;

	sem_init(&vmm.ran, 0, 0);
	sem_init(&vmm.freed, 0, 0);
	a = vm_create_with_vcpus(2, guest_sync, vmm.a);
	b = vm_create_with_one_vcpu(&vmm.b, guest_sync);
	main_cookie = cs_cookie_of(0);
	pthread_create(&runner, NULL, runner_fn, NULL);
	cs_sem_wait(&vmm.ran);
	in_thread(own_fn, NULL);
	in_thread(io_fn, NULL);
	in_thread(b_fn, NULL);
	kvm_vm_free(a);
	kvm_vm_free(b);
	sem_post(&vmm.freed);
	pthread_join(runner, NULL);
	ksft_print_msg("runner %#lx, its child %#lx, after B %#lx, after the VMs %#lx; B %#lx\n",
		       vmm.runner, vmm.runner_child, vmm.runner_after_b,
		       vmm.runner_kept, vmm.b_cookie);
	ksft_print_msg("own %#lx, after KVM_RUN %#lx, its child %#lx; I/O thread %#lx, then %#lx\n",
		       vmm.own_before, vmm.own_after, vmm.own_child, vmm.io_before,
		       vmm.io_after);

	ksft_test_result(!main_cookie && vm_mode == !!vmm.runner,
			 "creating VMs and vCPUs gives no cookie, KVM_RUN %s\n",
			 vm_mode ? "the VM's" : "none either");
	ksft_test_result(vmm.own_before && vmm.own_after == vmm.own_before &&
			 vmm.own_after != vmm.runner,
			 "a cookie the VMM set before KVM_RUN stands\n");
	ksft_test_result(vmm.io_before && vmm.io_after == vmm.runner &&
			 vmm.io_after != vmm.io_before,
			 "an I/O thread takes a vCPU thread's cookie with SHARE_FROM (%s)\n",
			 vm_mode ? "the VM's" : "none");
	ksft_test_result(vmm.runner_child == vmm.runner && vmm.own_child == vmm.own_after,
			 "a vCPU thread's child inherits its cookie, the VM's or its own\n");
	if (vm_mode) {
		ksft_test_result(vmm.runner_after_b == vmm.runner && vmm.b_cookie &&
				 vmm.b_cookie != vmm.runner,
				 "a thread that runs two VMs' vCPUs keeps the first VM's cookie\n");
		ksft_test_result(vmm.runner_kept && vmm.runner_kept == vmm.runner,
				 "a VM's cookie outlives the VM in a thread that holds it\n");
	} else {
		ksft_test_result_skip("coresched=on: no VM cookie to keep across VMs\n");
		ksft_test_result_skip("coresched=on: no VM cookie to outlive its VM\n");
	}
}

int main(int argc, char *argv[])
{
	struct vcpu_thread *ts[2];
	uint64_t c1[VM1_VCPUS], c2, got[2];
	bool vm_mode, in_run, done, cleared;
	int want = cs_mode_option(argc, argv), cpu;
	cpu_set_t hold_set;
	long took;

	ksft_print_header();
	vm_mode = cs_test_mode(want, CS_MODE_ON) != CS_MODE_ON;

	/* The VMM thread clears with what it has: it must have nothing. */
	TEST_ASSERT(!cs_cookie_of(0), "the VMM thread has a cookie already");
	TEST_ASSERT(!sched_getaffinity(0, sizeof(main_cpus), &main_cpus),
		    "sched_getaffinity: %s", strerror(errno));
	TEST_REQUIRE(CPU_COUNT(&main_cpus) >= 2);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &main_cpus))
			hold_cpu = cpu;

	cs_violations_start();
	ksft_set_plan(12);

	start_vm(vm1_threads, VM1_VCPUS);
	start_vm(vm2_threads, VM2_VCPUS);
	wait_running(vm1_threads, VM1_VCPUS, 1);
	wait_running(vm2_threads, VM2_VCPUS, 2);
	/* The threads to clear; VM 1's other vCPU runs anywhere. */
	CPU_ZERO(&hold_set);
	CPU_SET(hold_cpu, &hold_set);
	TEST_ASSERT(!sched_setaffinity(vm1_threads[0].tid, sizeof(hold_set), &hold_set) &&
		    !sched_setaffinity(vm2_threads[0].tid, sizeof(hold_set), &hold_set),
		    "pinning the threads to clear to cpu%d: %s", hold_cpu, strerror(errno));

	c1[0] = cs_cookie_of(vm1_threads[0].tid);
	c1[1] = cs_cookie_of(vm1_threads[1].tid);
	c2 = cs_cookie_of(vm2_threads[0].tid);
	ksft_print_msg("cookies in KVM_RUN: VM 1 %#lx %#lx, VM 2 %#lx\n", c1[0], c1[1], c2);
	if (vm_mode)
		ksft_test_result(c1[0] && c1[0] == c1[1] && c2 && c2 != c1[0],
				 "one cookie per VM before the clear\n");
	else
		ksft_test_result(!c1[0] && !c1[1] && !c2,
				 "no cookie from KVM under coresched=on\n");

	ts[0] = &vm1_threads[0];
	if (!vm_mode)
		give_cookie(ts[0]->tid);
	in_run = clear_and_watch(ts, 1, got, CLEAR_DEADLINE_MS, &took, &cleared);
	if (vm_mode) {
		if (took >= 0)
			ksft_print_msg("VM 1's cleared vCPU thread reports %#lx after %ld ms\n",
				       got[0], took);
		ksft_test_result(cleared && took >= 0 && in_run,
				 "cleared, cookie back within %d ms, without leaving KVM_RUN\n",
				 CLEAR_DEADLINE_MS);
		c1[1] = cs_cookie_of(vm1_threads[1].tid);
		ksft_test_result(got[0] && got[0] == c1[1] && got[0] == c1[0],
				 "the cookie back is the VM's: %#lx, the other vCPU thread %#lx\n",
				 got[0], c1[1]);
	} else {
		ksft_test_result(cleared && took < 0 && !cs_cookie_of(vm1_threads[0].tid) && in_run,
				 "control: cleared cookie stays 0 for %d ms in KVM_RUN\n",
				 CLEAR_DEADLINE_MS);
		ksft_test_result_skip("coresched=on: no VM cookie to come back\n");
	}

	ts[0] = &vm1_threads[0];
	ts[1] = &vm2_threads[0];
	if (!vm_mode) {
		give_cookie(ts[0]->tid);
		give_cookie(ts[1]->tid);
	}
	in_run = clear_and_watch(ts, 2, got, CLEAR_DEADLINE_MS, &took, &cleared);
	got[0] = cs_cookie_of(ts[0]->tid);
	got[1] = cs_cookie_of(ts[1]->tid);
	ksft_print_msg("both cleared: VM 1 %#lx, VM 2 %#lx%s\n", got[0], got[1],
		       took >= 0 ? "" : " at the deadline");
	if (vm_mode)
		ksft_test_result(cleared && took >= 0 && in_run && got[0] == c1[0] &&
				 got[1] == c2 && got[0] != got[1],
				 "two VMs' cleared vCPU threads take back their VMs' cookies\n");
	else
		ksft_test_result(cleared && took < 0 && in_run && !got[0] && !got[1],
				 "control: two VMs' cleared vCPU threads both stay at 0\n");

	done = stop_vm(vm1_threads, VM1_VCPUS);
	done &= stop_vm(vm2_threads, VM2_VCPUS);
	ksft_test_result(done, "every KVM_RUN ended with its guest told to stop\n");
	test_vmm_threads(vm_mode);
	cs_violations_point();
	ksft_finished();
}
