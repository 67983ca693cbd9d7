// SPDX-License-Identifier: GPL-2.0-only
/*
 * Stress of the KVM side of core scheduling, for a fixed time: NR_VMS VMs
 * of as many vCPUs as CPUs, which spin, exit to the kernel (CPUID) or to
 * userspace; per VM an I/O thread with a vCPU thread's cookie (SHARE_FROM)
 * that works and sleeps; every hotpluggable CPU offline and back; VMs of
 * two vCPUs created, run and destroyed; signals to the vCPU threads
 * (KVM_RUN returns EINTR).  The points at the end of main() must hold.
 *
 * usage: coresched_stress_test [-m on|vm|vm,strict] [-t SECONDS] [-k] [-H] [-K]
 *   -m  the mode the kernel must run in, checked as claimed (default: the kernel's)
 *   -t  how long, in seconds (default 10)
 *   -k  every VM's threads inherit a cookie the VMM creates for it, as
 *       without coresched=vm: under on, core scheduling itself is stressed
 *   -H  no CPU hotplug
 *   -K  no /dev/kvm fails instead of skipping
 */
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "processor.h"

#include "coresched_util.h"

#define NR_VMS			3
#define MAX_VCPUS		16
#define IO_BUSY_US		200	/* an I/O thread's work, then its sleep */
#define IO_SLEEP_US		300
#define SIGNAL_US		2000
#define HOTPLUG_PAUSE_US	50000
/* A churned VM's vCPUs must both have run within this. */
#define CHURN_RUN_MS		10000
/* For every thread to end: a vCPU thread moved by hotplug can wait tens of seconds. */
#define JOIN_TIMEOUT_MS		120000
/* A guest told to stop does within this, unless its vCPU cannot run. */
#define STOP_GRACE_MS		30000

enum kind { SPIN, CPUID, EXIT, NR_KINDS };

/* Guest memory, one copy per VM: the host sets stop, each vCPU counts. */
static struct {
	uint64_t n;
	uint8_t pad[56];
} progress[MAX_VCPUS];
static uint32_t stop_guest;

static void guest_code(uint32_t id, uint32_t kind)
{
	uint32_t a, b, c, d;

	while (!READ_ONCE(stop_guest)) {
		WRITE_ONCE(progress[id].n, READ_ONCE(progress[id].n) + 1);
		if (kind == CPUID)
			__cpuid(0, 0, &a, &b, &c, &d);
		else if (kind == EXIT)
			GUEST_SYNC(0);
	}
	GUEST_DONE();
}

struct vcpu_thread {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	pthread_t thread;
	pid_t tid;
	pid_t vm_tid;		/* the thread that created the VM: its debugfs name */
	uint64_t exits, eintr;
	int stop;		/* stop_vm() gave up waiting for the guest */
	bool done;		/* KVM_RUN ended with GUEST_DONE */
};

struct io_thread {
	pthread_t thread;
	struct vcpu_thread *from;	/* whose cookie it takes */
	uint64_t loops;
	const char *err;
};

static struct vcpu_thread vcpus[NR_VMS][MAX_VCPUS];
static struct io_thread io[NR_VMS];
static int nr_vcpus, nr_cpus;
static bool cookies, vmm_cookies, no_hotplug;
static int stop;
static pthread_t churn_tid, signal_tid, hotplug_tid;
static uint64_t churned, signals, hotplug_cycles;
static int hotplug_cpus[MAX_VCPUS], nr_hotplug_cpus;
static const char *churn_err, *hotplug_err;

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static uint64_t progress_of(struct vcpu_thread *t)
{
	return READ_ONCE(*(uint64_t *)addr_gva2hva(t->vm,
			 (vm_vaddr_t)&progress[t->vcpu->id].n));
}

/* No SA_RESTART: a signal makes KVM_RUN return EINTR. */
static void on_signal(int sig)
{
}

/* Where an unexpectedly ended guest was (after an SVM triple fault: a reset's state). */
static void print_vcpu_state(struct vcpu_thread *t)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	vcpu_regs_get(t->vcpu, &regs);
	vcpu_sregs_get(t->vcpu, &sregs);
	ksft_print_msg("vCPU %d: rip %llx rsp %llx rflags %llx, guest_code %lx\n",
		       t->vcpu->id, regs.rip, regs.rsp, regs.rflags,
		       (unsigned long)guest_code);
	ksft_print_msg("vCPU %d: cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n",
		       t->vcpu->id, sregs.cr0, sregs.cr2, sregs.cr3, sregs.cr4,
		       sregs.efer);
}

static void *vcpu_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;
	int r;

	__atomic_store_n(&t->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;) {
		r = __vcpu_run(t->vcpu);
		if (r && errno == EINTR) {
			if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
				return NULL;
			__atomic_fetch_add(&t->eintr, 1, __ATOMIC_RELAXED);
			continue;
		}
		TEST_ASSERT(!r, "KVM_RUN: %s", strerror(errno));
		switch (get_ucall(t->vcpu, &uc)) {
		case UCALL_SYNC:
			__atomic_fetch_add(&t->exits, 1, __ATOMIC_RELAXED);
			break;
		case UCALL_DONE:
			t->done = true;
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
		default:
			print_vcpu_state(t);
			TEST_FAIL("unexpected exit %s",
				  exit_reason_str(t->vcpu->run->exit_reason));
		}
	}
}

static struct kvm_vm *start_vm(struct vcpu_thread *ts, int nr, int kind0)
{
	struct kvm_vcpu *v[MAX_VCPUS];
	struct kvm_vm *vm = vm_create_with_vcpus(nr, guest_code, v);
	int i;

	for (i = 0; i < nr; i++) {
		ts[i] = (struct vcpu_thread){ .vm = vm, .vcpu = v[i],
					      .vm_tid = syscall(SYS_gettid) };
		vcpu_args_set(v[i], 2, i, (kind0 + i) % NR_KINDS);
		pthread_create(&ts[i].thread, NULL, vcpu_fn, &ts[i]);
	}
	return vm;
}

static int join(pthread_t t, uint64_t deadline_ms)
{
	int64_t left = deadline_ms - cs_now_ms();
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts = timespec_add_ns(ts, left > 0 ? left * 1000000 : 0);
	return pthread_timedjoin_np(t, NULL, &ts);
}

#define NR_WHERE		48

/* @t's figures; KVM's from debugfs, as a vCPU ioctl would wait for KVM_RUN's mutex. */
static int where_figures(struct vcpu_thread *t, char (*names)[32], uint64_t *v)
{
	static const char * const sched[] = {
		"se.sum_exec_runtime", "nr_switches", "nr_involuntary_switches",
		"wait_sum", "core_forceidle_sum",
	};
	static const char * const kvm[] = {
		"exits", "irq_exits", "io_exits", "mmio_exits", "halt_exits",
		"signal_exits", "request_irq_exits", "irq_window_exits",
		"nmi_window_exits", "pf_taken", "pf_fixed", "pf_spurious",
		"pf_emulate", "insn_emulation", "tlb_flush",
	};
	char path[96], line[128], key[64];
	int n = cs_read_stats(names, v, NR_WHERE - ARRAY_SIZE(sched) - ARRAY_SIZE(kvm) - 1);
	unsigned int i;
	double val;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(kvm); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/%s",
			 t->vm_tid, t->vm->fd, kvm[i]);
		if (cs_read_file(path, line, sizeof(line)) || line[0] < '0' || line[0] > '9')
			continue;
		v[n] = strtoull(line, NULL, 10);
		snprintf(names[n++], sizeof(names[0]), "kvm %s", kvm[i]);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/sched", t->tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		for (i = 0; i < ARRAY_SIZE(sched) && !strstr(line, sched[i]); i++)
			;
		if (i < ARRAY_SIZE(sched) && sscanf(line, "%63s : %lf", key, &val) == 2) {
			snprintf(names[n], sizeof(names[n]), "%s", sched[i]);
			v[n++] = val;
		}
	}
	if (f)
		fclose(f);
	snprintf(names[n], sizeof(names[0]), "guest loops");
	v[n++] = progress_of(t);
	return n;
}

/* Where a thread that does not stop is, and what of it moves in a second. */
static void print_where(struct vcpu_thread *t)
{
	char names[2][NR_WHERE][32], path[64], line[512];
	uint64_t v[2][NR_WHERE];
	int n, m, i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", t->tid);
	if (!cs_read_file(path, line, sizeof(line)) && strrchr(line, ')')) {
		/* After the command's ")": the state is field 3, the CPU 39. */
		char *field = strtok(strrchr(line, ')') + 1, " "), *state = field;

		for (i = 3; field && i < 39; i++)
			field = strtok(NULL, " ");
		ksft_print_msg("  thread %d: state %s on CPU %s\n", t->tid,
			       state ?: "?", field ?: "?");
	}
	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d", t->vm_tid, t->vm->fd);
	if (access(path, R_OK))
		ksft_print_msg("  no %s: no KVM stats\n", path);
	n = where_figures(t, names[0], v[0]);
	sleep(1);
	m = where_figures(t, names[1], v[1]);
	for (i = 0; i < n && i < m; i++)
		ksft_print_msg("  %s: %lu -> %lu in 1 s\n", names[0][i], v[0][i], v[1][i]);
}

/*
 * Tell the guests of @ts to stop.  -1: a guest had not stopped within
 * STOP_GRACE_MS (its thread is interrupted); -2: a thread still runs at
 * @deadline, a hang.
 */
static int stop_vm(struct vcpu_thread *ts, int nr, uint64_t deadline)
{
	uint64_t grace = cs_now_ms() + STOP_GRACE_MS;
	int i, ret = 0;

	WRITE_ONCE(*(uint32_t *)addr_gva2hva(ts[0].vm, (vm_vaddr_t)&stop_guest), 1);
	for (i = 0; i < nr; i++) {
		if (!join(ts[i].thread, grace < deadline ? grace : deadline))
			continue;
		ksft_print_msg("vCPU %d (thread %d): guest not stopped (%lu loops, %lu exits)\n",
			       ts[i].vcpu->id, ts[i].tid, progress_of(&ts[i]), ts[i].exits);
		print_where(&ts[i]);
		__atomic_store_n(&ts[i].stop, 1, __ATOMIC_RELEASE);
		WRITE_ONCE(ts[i].vcpu->run->immediate_exit, 1);
		pthread_kill(ts[i].thread, SIGUSR1);
		if (join(ts[i].thread, deadline))
			return -2;
		ret = -1;
	}
	return ret;
}

/* ENODEV while hotplug leaves no core with two threads online: retry. */
static int core_prctl(int cmd, pid_t pid, uint64_t *cookie)
{
	int r;

	do {
		r = prctl(PR_SCHED_CORE, cmd, pid, PR_SCHED_CORE_SCOPE_THREAD,
			  (unsigned long)cookie);
		if (r && errno == ENODEV)
			usleep(1000);
	} while (r && errno == ENODEV && !stopping());
	return r ? -errno : 0;
}

static bool wait_ran(struct vcpu_thread *t, uint64_t ms)
{
	uint64_t end = cs_now_ms() + ms;

	while (!progress_of(t) || !__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE)) {
		if (stopping() || cs_now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* Takes a vCPU thread's cookie once it ran (the VM's, under vm), then works and sleeps. */
static void *io_fn(void *arg)
{
	struct io_thread *t = arg;
	uint64_t mine, theirs, end;

	if (!wait_ran(t->from, JOIN_TIMEOUT_MS))
		return NULL;
	if (cookies) {
		if (core_prctl(PR_SCHED_CORE_SHARE_FROM, t->from->tid, NULL) ||
		    core_prctl(PR_SCHED_CORE_GET, 0, &mine) ||
		    core_prctl(PR_SCHED_CORE_GET, t->from->tid, &theirs)) {
			t->err = "PR_SCHED_CORE failed";
			return NULL;
		}
		if (mine != theirs) {
			t->err = "the I/O thread's cookie is not its vCPU thread's";
			return NULL;
		}
	}
	while (!stopping()) {
		end = cs_now_ns() + IO_BUSY_US * 1000;
		while (cs_now_ns() < end)
			;
		getppid();	/* and a little host kernel code */
		usleep(IO_SLEEP_US);
		__atomic_fetch_add(&t->loops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *churn_fn(void *arg)
{
	struct vcpu_thread ts[2];
	int i, err;

	while (!stopping()) {
		err = vmm_cookies ? core_prctl(PR_SCHED_CORE_CREATE, 0, NULL) : 0;
		if (err && stopping())
			break;
		if (err) {
			churn_err = "churn: PR_SCHED_CORE_CREATE failed";
			return NULL;
		}
		start_vm(ts, 2, CPUID);
		for (i = 0; i < 2; i++)
			if (!wait_ran(&ts[i], CHURN_RUN_MS) && !stopping())
				churn_err = "churn: a vCPU of a new VM never ran";
		err = stop_vm(ts, 2, cs_now_ms() + JOIN_TIMEOUT_MS);
		if (err < -1) {
			churn_err = "churn: a vCPU thread did not stop";
			return NULL;
		}
		if (err)
			churn_err = "churn: a vCPU's guest did not stop";
		kvm_vm_free(ts[0].vm);
		if (churn_err)
			return NULL;
		__atomic_fetch_add(&churned, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *signal_fn(void *arg)
{
	unsigned int seed = 1;
	struct vcpu_thread *t;

	while (!stopping()) {
		t = &vcpus[rand_r(&seed) % NR_VMS][rand_r(&seed) % nr_vcpus];
		if (!pthread_kill(t->thread, SIGUSR1))
			__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
		usleep(SIGNAL_US);
	}
	return NULL;
}

static void *hotplug_fn(void *arg)
{
	int i, cpu, err;

	while (nr_hotplug_cpus && !stopping()) {
		for (i = 0; i < nr_hotplug_cpus && !stopping(); i++) {
			cpu = hotplug_cpus[i];
			err = cs_cpu_set_online(cpu, 0);
			usleep(HOTPLUG_PAUSE_US);
			/* Whatever happened, bring it back. */
			if (cs_cpu_set_online(cpu, 1) || err) {
				ksft_print_msg("cpu%d offline: %s\n", cpu, strerror(-err));
				hotplug_err = "hotplug: a CPU did not go offline and back";
				return NULL;
			}
			__atomic_fetch_add(&hotplug_cycles, 1, __ATOMIC_RELAXED);
			usleep(HOTPLUG_PAUSE_US);
		}
	}
	return NULL;
}

int main(int argc, char *argv[])
{
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t least = UINT64_MAX;
	uint64_t exits = 0, eintr = 0, deadline, waited = 0, ns = 0;
	const char *mode = NULL, *have = cs_kernel_mode() ?: "none";
	bool kvm_required = false, vm_mode, checker, joined = true, done = true, stat;
	double seconds = 10;
	int opt, i, j;

	while ((opt = getopt(argc, argv, "m:t:kHK")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 't':
			seconds = atof(optarg);
			TEST_ASSERT(seconds > 0, "-t %s: not a positive number", optarg);
			break;
		case 'k':
			vmm_cookies = true;
			break;
		case 'H':
			no_hotplug = true;
			break;
		case 'K':
			kvm_required = true;
			break;
		default:
			printf("usage: %s [-m on|vm|vm,strict] [-t SECONDS] [-k] [-H] [-K]\n",
			       argv[0]);
			exit(KSFT_FAIL);
		}
	}
	ksft_print_header();
	if (access("/dev/kvm", R_OK | W_OK) && kvm_required)
		ksft_exit_fail_msg("-K: no usable /dev/kvm: %s\n", strerror(errno));
	if (access("/dev/kvm", R_OK | W_OK))
		ksft_exit_skip("no usable /dev/kvm: %s\n", strerror(errno));
	ksft_set_plan(7);
	mode = mode ?: have;
	ksft_test_result(!strcmp(mode, have), "the kernel runs coresched=%s (%s)\n",
			 mode, have);
	vm_mode = !strncmp(mode, "vm", 2);
	cookies = strcmp(have, "off");

	nr_cpus = sysconf(_SC_NPROCESSORS_CONF);
	nr_vcpus = nr_cpus < 2 ? 2 : nr_cpus > MAX_VCPUS ? MAX_VCPUS : nr_cpus;
	for (i = 1; i < nr_cpus && !no_hotplug && i < MAX_VCPUS; i++)
		if (cs_cpu_online(i) && !cs_cpu_set_online(i, -1))
			hotplug_cpus[nr_hotplug_cpus++] = i;
	ksft_print_msg("%d CPUs (%d to hotplug), %d VMs of %d vCPUs, %.1f s%s\n",
		       nr_cpus, nr_hotplug_cpus, NR_VMS, nr_vcpus, seconds,
		       vmm_cookies ? ", VMM cookies" : "");
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	checker = cs_violations_start();
	TEST_ASSERT(checker || !vm_mode || !access(CS_STATS_FILE, R_OK),
		    "coresched=%s, but no %s", mode, CS_STATS_FILE);

	for (i = 0; i < NR_VMS; i++) {
		/* The VM's vCPU threads inherit it. */
		TEST_ASSERT(!vmm_cookies || !core_prctl(PR_SCHED_CORE_CREATE, 0, NULL),
			    "PR_SCHED_CORE_CREATE");
		start_vm(vcpus[i], nr_vcpus, i);
		io[i].from = &vcpus[i][0];
		pthread_create(&io[i].thread, NULL, io_fn, &io[i]);
	}
	pthread_create(&churn_tid, NULL, churn_fn, NULL);
	pthread_create(&signal_tid, NULL, signal_fn, NULL);
	pthread_create(&hotplug_tid, NULL, hotplug_fn, NULL);
	usleep(seconds * 1e6);

	/* One deadline for every thread: none may hang. */
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	deadline = cs_now_ms() + JOIN_TIMEOUT_MS;
	for (i = 0; i < NR_VMS; i++)
		joined &= !join(io[i].thread, deadline);
	joined &= !join(churn_tid, deadline) && !join(signal_tid, deadline) &&
		  !join(hotplug_tid, deadline);
	for (i = 0; i < NR_VMS; i++) {
		for (j = 0; j < nr_vcpus; j++) {
			struct vcpu_thread *t = &vcpus[i][j];

			least = progress_of(t) < least ? progress_of(t) : least;
			exits += t->exits;
			eintr += t->eintr;
		}
		joined &= stop_vm(vcpus[i], nr_vcpus, deadline) > -2;
		for (j = 0; j < nr_vcpus; j++)
			done &= vcpus[i][j].done;
	}

	ksft_test_result(least > 0, "every vCPU made progress (the least: %lu)\n", least);
	ksft_print_msg("exits to userspace %lu, EINTR %lu of %lu signals\n",
		       exits, eintr, signals);
	ksft_print_msg("%lu VMs churned, %lu hotplug cycles\n", churned, hotplug_cycles);
	for (i = 0; i < NR_VMS; i++) {
		ksft_print_msg("I/O thread %d: %lu loops%s%s\n", i, io[i].loops,
			       io[i].err ? ": " : "", io[i].err ?: "");
		if (io[i].err || !io[i].loops)
			break;
	}
	if (churn_err || hotplug_err)
		ksft_print_msg("%s %s\n", churn_err ?: "", hotplug_err ?: "");
	ksft_test_result(i == NR_VMS && exits && churned && eintr && !churn_err &&
			 !hotplug_err && (hotplug_cycles || !nr_hotplug_cpus),
			 "every stressor ran: exits, I/O threads, VM churn, signals (EINTR)%s\n",
			 nr_hotplug_cpus ? ", hotplug" : "");
	if (!joined)
		ksft_exit_fail_msg("a thread did not end within %d ms\n", JOIN_TIMEOUT_MS);
	ksft_test_result(done, "every thread ended, each guest done, before the deadline\n");

	for (i = j = 0; i < nr_hotplug_cpus; i++) {
		if (cs_cpu_online(hotplug_cpus[i]))
			continue;
		j++;
		cs_cpu_set_online(hotplug_cpus[i], 1);
	}
	if (nr_hotplug_cpus)
		ksft_test_result(!j, "every CPU is online again (%d left offline)\n", j);
	else
		ksft_test_result_skip("every CPU is online again: no hotplug\n");

	cs_violations_point();
	/* Under vm a vCPU waits for the core while its sibling runs host code. */
	for (i = 0, stat = true; i < NR_VMS; i++)
		for (j = 0; j < nr_vcpus && stat; j++) {
			stat = cs_vcpu_stat(vcpus[i][j].vcpu, "coresched_wait_ns", false, &ns);
			waited += ns;
		}
	if (!stat && vm_mode)
		ksft_test_result_fail("KVM has no coresched_wait_ns stat under VM isolation\n");
	else if (!stat)
		ksft_test_result_skip("KVM has no coresched_wait_ns stat\n");
	else
		ksft_test_result(vm_mode ? waited > 0 : !waited,
				 "vCPUs' waits for the core: coresched_wait_ns %lu\n",
				 waited);
	cs_print_stats();
	for (i = 0; i < NR_VMS; i++)
		kvm_vm_free(vcpus[i][0].vm);
	ksft_finished();
}
