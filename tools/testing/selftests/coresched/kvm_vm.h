/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny VMM for the coresched selftests, straight on the /dev/kvm ioctls:
 * one memory slot at guest physical 0, vCPUs in 16-bit real mode running
 * one of a few built-in guest programs, each vCPU on a pthread of its own,
 * pinned where the test wants it.  Just enough to put guest code on SMT
 * siblings and to make it exit to the kernel or to userspace on demand.
 *
 * Every vCPU has a data slot in guest memory, addressed by its DI register:
 *   slot + 0  u32 counter, incremented once per iteration of the program
 *   slot + 4  u32 delay, iterations of the busy loop of KVM_PROG_DELAY_OUT
 * The host reads the counter through its own mapping of guest memory.
 */
#ifndef KVM_VM_H
#define KVM_VM_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/kvm.h>

#define KVM_VM_MAX_VCPUS	16
/*
 * The signal that interrupts a vCPU thread's KVM_RUN (kvm_vcpu_stop(),
 * kvm_vcpu_kick()); a test must not use it for anything else.
 */
#define KVM_VM_SIGNAL		SIGUSR1
/* The port of KVM_PROG_OUT: no device of the kernel answers on it. */
#define KVM_VM_PORT		0x10

/* The guest programs; each loops forever. */
enum kvm_prog {
	KVM_PROG_SPIN,		/* counter++: exits only when interrupted */
	KVM_PROG_CPUID,		/* CPUID; counter++: KVM emulates CPUID */
	KVM_PROG_OUT,		/* counter++; OUT to KVM_VM_PORT: userspace */
	KVM_PROG_DELAY_OUT,	/* counter++; spin "delay" times; OUT */
	KVM_PROG_HLT,		/* HLT: userspace, as the VM has no irqchip */
	KVM_NR_PROGS,
};

struct kvm_vm;

struct kvm_vcpu {
	struct kvm_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	uint32_t *data;		/* host view of the data slot */

	/* The vCPU's thread, see kvm_vcpu_start(). */
	pthread_t thread;
	bool started;
	pid_t tid;
	int cpu;		/* pinned there, -1: not pinned */
	sem_t ready;		/* posted once tid is known */
	void *(*fn)(struct kvm_vcpu *vcpu);
	void *arg;		/* the test's, for fn */
	int stop;		/* kvm_vcpu_stop() was called */

	/* The guest counter in 64 bits, see kvm_vm_sample(). */
	uint32_t sampled;	/* the counter at the last sample */
	uint64_t total;		/* iterations since kvm_vcpu_add() */

	/* Kept by kvm_vcpu_loop(), read by others with __atomic_load_n(). */
	uint64_t exits_user;	/* KVM_RUN returned with an exit to handle */
	uint64_t exits_intr;	/* KVM_RUN returned -EINTR */
	char err[192];		/* what went wrong, kvm_vcpu_loop()'s result */
};

struct kvm_vm {
	int fd;
	void *mem;		/* host mapping of guest physical 0.. */
	size_t mem_size;
	int nr_vcpus;
	struct kvm_vcpu *vcpus[KVM_VM_MAX_VCPUS];
};

/* What the last failing call of this thread tried, and why it failed. */
const char *kvm_error(void);

/*
 * After ksft_print_header(): without a usable /dev/kvm, skip the test, or
 * fail it when KVM is @required (-K: a lab run that must exercise KVM).
 */
void kvm_require(bool required);

/*
 * The options of a test that checks KVM against a coresched mode:
 * "[-m on|vm|none] [-K]", the mode the kernel was booted in (@mode stays
 * NULL without -m) and whether KVM is required.  Bad usage exits 2.
 */
void kvm_mode_options(int argc, char **argv, const char **mode,
		      bool *required);

/*
 * A VM with the guest programs loaded; NULL on failure.  Also installs the
 * handler of KVM_VM_SIGNAL (see kvm_vcpu_stop()).
 */
struct kvm_vm *kvm_vm_create(void);
/* Stop and join every vCPU thread (see kvm_vcpu_stop()), free it all. */
int kvm_vm_destroy(struct kvm_vm *vm, int timeout_ms);

/* A vCPU about to run @prog, with its data slot cleared; NULL on failure. */
struct kvm_vcpu *kvm_vcpu_add(struct kvm_vm *vm, enum kvm_prog prog);

/* The vCPU's iteration counter, read from the host side. */
uint32_t kvm_vcpu_count(const struct kvm_vcpu *vcpu);
/*
 * Fold the progress of each vCPU's 32-bit guest counter since the last
 * call into vcpu->total.  Call it from one thread, often enough that no
 * counter can wrap in between: at even one iteration a nanosecond, a
 * counter takes four seconds to wrap.
 */
void kvm_vm_sample(struct kvm_vm *vm);
/* Set the busy loop length of KVM_PROG_DELAY_OUT (at least 1). */
void kvm_vcpu_set_delay(struct kvm_vcpu *vcpu, uint32_t delay);

/*
 * One KVM_RUN: 0 and the exit in vcpu->run->exit_reason, or -errno.
 * -EINTR means a signal (or kvm_vcpu_stop()) interrupted the guest.
 */
int kvm_vcpu_run(struct kvm_vcpu *vcpu);
/* Did the last exit come from the OUT of KVM_PROG_OUT/KVM_PROG_DELAY_OUT? */
bool kvm_exit_is_port_out(const struct kvm_vcpu *vcpu);
/* Has kvm_vcpu_stop() been called for this vCPU? */
bool kvm_vcpu_stopping(struct kvm_vcpu *vcpu);

/*
 * Run @fn(vcpu) on a new thread pinned to @cpu (-1: anywhere) and wait
 * until the thread is up, so vcpu->tid is valid on return.  0 or -errno.
 */
int kvm_vcpu_start(struct kvm_vcpu *vcpu, int cpu,
		   void *(*fn)(struct kvm_vcpu *vcpu), void *arg);
/*
 * Ask the vCPU's thread to stop: kvm_vcpu_stopping() turns true and a
 * KVM_RUN in progress or about to begin returns -EINTR.
 */
void kvm_vcpu_stop(struct kvm_vcpu *vcpu);
/* Wait @timeout_ms for the thread to end; 0, or -ETIMEDOUT if it hangs. */
int kvm_vcpu_join(struct kvm_vcpu *vcpu, void **ret, int timeout_ms);

/* Interrupt the vCPU thread's KVM_RUN without stopping it. */
int kvm_vcpu_kick(struct kvm_vcpu *vcpu);

/*
 * The usual loop of a vCPU thread: run until stopped, re-entering after
 * every exit the program is expected to make, counting them in
 * exits_user and exits_intr.  @work, if not NULL, is called on every OUT
 * exit: the VMM's share of the guest's work.  Returns NULL when stopped,
 * or vcpu->err, which says what went wrong.
 */
const char *kvm_vcpu_loop(struct kvm_vcpu *vcpu,
			  void (*work)(struct kvm_vcpu *vcpu));

/* Monotonic time in nanoseconds. */
uint64_t kvm_now_ns(void);

/*
 * The counters of coresched=vm, /sys/kernel/debug/sched/coresched/stats:
 * "name value" lines, monotonic since boot.
 */
#define KVM_CS_STATS_FILE	"/sys/kernel/debug/sched/coresched/stats"
#define KVM_CS_STATS_MAX	32

struct kvm_cs_stats {
	int nr;
	char name[KVM_CS_STATS_MAX][32];
	uint64_t value[KVM_CS_STATS_MAX];
};

/* 0, -ENOENT if the kernel has no such file, or another -errno. */
int kvm_cs_stats_read(struct kvm_cs_stats *stats);
/* The counter @name, or -1 if the file has no such line. */
int64_t kvm_cs_stats_get(const struct kvm_cs_stats *stats, const char *name);
/* The change of @name from @before to @after, -1 if either lacks it. */
int64_t kvm_cs_stats_delta(const struct kvm_cs_stats *before,
			   const struct kvm_cs_stats *after, const char *name);
/*
 * The test point "no invariant violation from @before to @after", as a
 * kselftest result (KSFT_PASS, KSFT_FAIL or KSFT_SKIP) and what it saw in
 * @msg.  @err: the first error of the two kvm_cs_stats_read().  The file
 * must be there under coresched=vm (@vm_mode); its "violations" line is
 * there only if the kernel has the invariant checker
 * (CONFIG_SCHED_CORE_VM_DEBUG), without which nothing is checked.
 */
int kvm_cs_violations(const struct kvm_cs_stats *before,
		      const struct kvm_cs_stats *after, int err, bool vm_mode,
		      char *msg, size_t size);

#endif /* KVM_VM_H */
