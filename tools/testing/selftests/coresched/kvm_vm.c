// SPDX-License-Identifier: GPL-2.0
/*
 * A tiny VMM on /dev/kvm for the coresched selftests, see kvm_vm.h.
 *
 * The guest runs in 16-bit real mode because that needs no page tables,
 * no GDT and no IDT: set CS and DS to 0, IP to the program, and go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "kvm_vm.h"

/* Guest memory: the programs at KVM_CODE_GPA, the data slots after them. */
#define KVM_MEM_SIZE		0x10000
#define KVM_CODE_GPA		0x1000
#define KVM_DATA_GPA		0x2000
/* One cache line per slot: vCPUs do not slow each other down by sharing. */
#define KVM_SLOT_SIZE		64
/* Where Intel's real mode emulation may put its TSS: above guest memory. */
#define KVM_TSS_GPA		0xfffbd000

/*
 * The guest programs (GNU as, .code16); DI points at the data slot.  The
 * OUT port must be KVM_VM_PORT.
 */
static const uint8_t kvm_code[] = {
	/* 0x00 spin: */
	0x66, 0xff, 0x05,		/*	incl (%di)		*/
	0xeb, 0xfb,			/*	jmp spin		*/
	/* 0x05 cpuid: */
	0x66, 0x31, 0xc0,		/*	xorl %eax, %eax		*/
	0x0f, 0xa2,			/*	cpuid			*/
	0x66, 0xff, 0x05,		/*	incl (%di)		*/
	0xeb, 0xf6,			/*	jmp cpuid		*/
	/* 0x0f out: */
	0x66, 0xff, 0x05,		/*	incl (%di)		*/
	0xe6, 0x10,			/*	outb %al, $0x10		*/
	0xeb, 0xf9,			/*	jmp out			*/
	/* 0x16 delay_out: */
	0x66, 0xff, 0x05,		/*	incl (%di)		*/
	0x66, 0x8b, 0x4d, 0x04,		/*	movl 4(%di), %ecx	*/
	0x66, 0x49,			/* 1:	decl %ecx		*/
	0x75, 0xfc,			/*	jnz 1b			*/
	0xe6, 0x10,			/*	outb %al, $0x10		*/
	0xeb, 0xf1,			/*	jmp delay_out		*/
	/* 0x25 hlt: */
	0xf4,				/*	hlt			*/
	0xeb, 0xfd,			/*	jmp hlt			*/
};

static const uint16_t kvm_prog_entry[KVM_NR_PROGS] = {
	[KVM_PROG_SPIN]		= 0x00,
	[KVM_PROG_CPUID]	= 0x05,
	[KVM_PROG_OUT]		= 0x0f,
	[KVM_PROG_DELAY_OUT]	= 0x16,
	[KVM_PROG_HLT]		= 0x25,
};

static int kvm_fd = -1;
static int kvm_run_size;
static int kvm_setup_err;
static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;

static __thread char kvm_err[160];
/*
 * The kvm_run of the KVM_RUN this thread is in or about to enter, for the
 * signal handler; NULL outside kvm_vcpu_run(), so that a signal never
 * touches the kvm_run of a vCPU that may be gone.
 */
static __thread struct kvm_run *kvm_cur_run;

static int kvm_fail(const char *what)
{
	int err = errno;

	snprintf(kvm_err, sizeof(kvm_err), "%s: %s", what, strerror(err));
	return -err;
}

const char *kvm_error(void)
{
	return kvm_err;
}

void kvm_require(bool required)
{
	if (!access("/dev/kvm", R_OK | W_OK))
		return;
	if (required)
		ksft_exit_fail_msg("-K: no usable /dev/kvm: %s\n", strerror(errno));
	ksft_exit_skip("no /dev/kvm\n");
}

void kvm_mode_options(int argc, char **argv, const char **mode,
		      bool *required)
{
	int opt;

	while ((opt = getopt(argc, argv, "m:K")) != -1) {
		if (opt == 'm')
			*mode = optarg;
		else if (opt == 'K')
			*required = true;
		else
			break;
	}
	if (opt != -1 || optind != argc) {
		fprintf(stderr, "usage: %s [-m on|vm|vm,strict|none] [-K]\n", argv[0]);
		exit(2);
	}
}

/*
 * The signal only has to make KVM_RUN return: delivered in the guest, it
 * makes KVM_RUN fail with EINTR; delivered just before KVM_RUN, it sets
 * immediate_exit, which has KVM_RUN return EINTR at once instead of
 * entering the guest, so no kick is lost to the race.
 */
static void kvm_signal_handler(int sig)
{
	struct kvm_run *run = __atomic_load_n(&kvm_cur_run, __ATOMIC_RELAXED);

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

static void kvm_setup(void)
{
	struct sigaction sa = { .sa_handler = kvm_signal_handler };

	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(KVM_VM_SIGNAL, &sa, NULL)) {
		kvm_setup_err = kvm_fail("sigaction");
		return;
	}
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		kvm_setup_err = kvm_fail("open /dev/kvm");
		return;
	}
	kvm_run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm_run_size <= 0)
		kvm_setup_err = kvm_fail("KVM_GET_VCPU_MMAP_SIZE");
}

static void kvm_vm_free(struct kvm_vm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = vm->vcpus[i];

		munmap(vcpu->run, kvm_run_size);
		close(vcpu->fd);
		sem_destroy(&vcpu->ready);
		free(vcpu);
	}
	if (vm->mem != MAP_FAILED)
		munmap(vm->mem, vm->mem_size);
	if (vm->fd >= 0)
		close(vm->fd);
	free(vm);
}

struct kvm_vm *kvm_vm_create(void)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = KVM_MEM_SIZE,
	};
	struct kvm_vm *vm;

	pthread_once(&kvm_once, kvm_setup);
	if (kvm_setup_err)
		return NULL;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		kvm_fail("calloc");
		return NULL;
	}
	vm->mem = MAP_FAILED;
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		kvm_fail("KVM_CREATE_VM");
		goto fail;
	}
	/* Only VMX needs it for real mode, but it is harmless on SVM. */
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_GPA)) {
		kvm_fail("KVM_SET_TSS_ADDR");
		goto fail;
	}
	vm->mem_size = KVM_MEM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED) {
		kvm_fail("mmap guest memory");
		goto fail;
	}
	memcpy((char *)vm->mem + KVM_CODE_GPA, kvm_code, sizeof(kvm_code));
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region)) {
		kvm_fail("KVM_SET_USER_MEMORY_REGION");
		goto fail;
	}
	return vm;
fail:
	kvm_vm_free(vm);
	return NULL;
}

/* Flat real mode: every segment at 0, so guest addresses are physical. */
static int kvm_vcpu_set_state(struct kvm_vcpu *vcpu, enum kvm_prog prog,
			      uint64_t data_gpa)
{
	struct kvm_regs regs = {
		.rip = KVM_CODE_GPA + kvm_prog_entry[prog],
		.rdi = data_gpa,
		.rflags = 0x2,		/* bit 1 is always set; IF clear */
	};
	struct kvm_sregs sregs;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		return kvm_fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		return kvm_fail("KVM_SET_SREGS");
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		return kvm_fail("KVM_SET_REGS");
	return 0;
}

struct kvm_vcpu *kvm_vcpu_add(struct kvm_vm *vm, enum kvm_prog prog)
{
	uint64_t data_gpa = KVM_DATA_GPA + vm->nr_vcpus * KVM_SLOT_SIZE;
	struct kvm_vcpu *vcpu;

	if (vm->nr_vcpus == KVM_VM_MAX_VCPUS || prog >= KVM_NR_PROGS) {
		errno = EINVAL;
		kvm_fail("kvm_vcpu_add");
		return NULL;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu) {
		kvm_fail("calloc");
		return NULL;
	}
	vcpu->vm = vm;
	vcpu->id = vm->nr_vcpus;
	vcpu->cpu = -1;
	vcpu->data = (uint32_t *)((char *)vm->mem + data_gpa);
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, vcpu->id);
	if (vcpu->fd < 0) {
		kvm_fail("KVM_CREATE_VCPU");
		free(vcpu);
		return NULL;
	}
	vcpu->run = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		kvm_fail("mmap kvm_run");
		close(vcpu->fd);
		free(vcpu);
		return NULL;
	}
	sem_init(&vcpu->ready, 0, 0);
	/* From here on kvm_vm_destroy() frees it. */
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	vcpu->data[0] = 0;
	kvm_vcpu_set_delay(vcpu, 1);
	if (kvm_vcpu_set_state(vcpu, prog, data_gpa))
		return NULL;
	return vcpu;
}

uint32_t kvm_vcpu_count(const struct kvm_vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->data[0], __ATOMIC_RELAXED);
}

void kvm_vm_sample(struct kvm_vm *vm)
{
	struct kvm_vcpu *vcpu;
	uint32_t now;
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		vcpu = vm->vcpus[i];
		now = kvm_vcpu_count(vcpu);
		/* Unsigned: right across a wrap of the counter. */
		vcpu->total += (uint32_t)(now - vcpu->sampled);
		vcpu->sampled = now;
	}
}

void kvm_vcpu_set_delay(struct kvm_vcpu *vcpu, uint32_t delay)
{
	/* 0 would make the guest's loop count down through 2^32. */
	__atomic_store_n(&vcpu->data[1], delay ? delay : 1, __ATOMIC_RELAXED);
}

int kvm_vcpu_run(struct kvm_vcpu *vcpu)
{
	int ret = 0;

	__atomic_store_n(&kvm_cur_run, vcpu->run, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	/*
	 * A stop that came before kvm_cur_run was set found no kvm_run to
	 * flag: this check catches it; one that comes after sets
	 * immediate_exit, which KVM_RUN honours.
	 */
	if (kvm_vcpu_stopping(vcpu))
		ret = -EINTR;
	else if (ioctl(vcpu->fd, KVM_RUN, 0))
		ret = kvm_fail("KVM_RUN");
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&kvm_cur_run, NULL, __ATOMIC_RELAXED);
	/* The flag was for the KVM_RUN that just ended. */
	if (ret == -EINTR)
		vcpu->run->immediate_exit = 0;
	return ret;
}

bool kvm_exit_is_port_out(const struct kvm_vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;

	return run->exit_reason == KVM_EXIT_IO &&
	       run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == KVM_VM_PORT;
}

bool kvm_vcpu_stopping(struct kvm_vcpu *vcpu)
{
	return __atomic_load_n(&vcpu->stop, __ATOMIC_ACQUIRE);
}

static void *kvm_vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;

	vcpu->tid = gettid();
	sem_post(&vcpu->ready);
	return vcpu->fn(vcpu);
}

/* CLOCK_REALTIME @ms from now, as sem_timedwait() and pthread want it. */
static struct timespec kvm_deadline(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

int kvm_vcpu_start(struct kvm_vcpu *vcpu, int cpu,
		   void *(*fn)(struct kvm_vcpu *vcpu), void *arg)
{
	struct timespec deadline;
	pthread_attr_t attr;
	cpu_set_t set;
	int ret;

	vcpu->fn = fn;
	vcpu->arg = arg;
	vcpu->cpu = cpu;
	pthread_attr_init(&attr);
	/* Pinned from its first instruction: it never runs anywhere else. */
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	ret = pthread_create(&vcpu->thread, &attr, kvm_vcpu_thread, vcpu);
	pthread_attr_destroy(&attr);
	if (ret) {
		errno = ret;
		return kvm_fail("pthread_create");
	}
	vcpu->started = true;
	deadline = kvm_deadline(10000);
	while (sem_timedwait(&vcpu->ready, &deadline)) {
		if (errno != EINTR)
			return kvm_fail("waiting for the vCPU thread");
	}
	return 0;
}

void kvm_vcpu_stop(struct kvm_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->stop, 1, __ATOMIC_RELEASE);
	if (vcpu->started)
		pthread_kill(vcpu->thread, KVM_VM_SIGNAL);
}

int kvm_vcpu_kick(struct kvm_vcpu *vcpu)
{
	int ret;

	if (!vcpu->started)
		return -ESRCH;
	ret = pthread_kill(vcpu->thread, KVM_VM_SIGNAL);
	return -ret;
}

int kvm_vcpu_join(struct kvm_vcpu *vcpu, void **ret, int timeout_ms)
{
	struct timespec deadline = kvm_deadline(timeout_ms);
	int err;

	if (!vcpu->started)
		return 0;
	err = pthread_timedjoin_np(vcpu->thread, ret, &deadline);
	if (err) {
		errno = err;
		return kvm_fail("joining the vCPU thread");
	}
	vcpu->started = false;
	return 0;
}

int kvm_vm_destroy(struct kvm_vm *vm, int timeout_ms)
{
	uint64_t end = kvm_now_ns() + timeout_ms * 1000000ULL;
	int i, ret = 0;

	if (!vm)
		return 0;
	for (i = 0; i < vm->nr_vcpus; i++)
		kvm_vcpu_stop(vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++) {
		int64_t left = (int64_t)(end - kvm_now_ns()) / 1000000;

		if (kvm_vcpu_join(vm->vcpus[i], NULL, left > 0 ? left : 0))
			ret = -ETIMEDOUT;
	}
	/* A thread that did not end may still use the VM: leave it be. */
	if (!ret)
		kvm_vm_free(vm);
	return ret;
}

const char *kvm_vcpu_loop(struct kvm_vcpu *vcpu,
			  void (*work)(struct kvm_vcpu *vcpu))
{
	int ret;

	while (!kvm_vcpu_stopping(vcpu)) {
		ret = kvm_vcpu_run(vcpu);
		if (ret == -EINTR) {
			__atomic_fetch_add(&vcpu->exits_intr, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (ret) {
			snprintf(vcpu->err, sizeof(vcpu->err), "vCPU %d: %s",
				 vcpu->id, kvm_error());
			return vcpu->err;
		}
		__atomic_fetch_add(&vcpu->exits_user, 1, __ATOMIC_RELAXED);
		if (kvm_exit_is_port_out(vcpu)) {
			if (work)
				work(vcpu);
		} else if (vcpu->run->exit_reason != KVM_EXIT_HLT) {
			snprintf(vcpu->err, sizeof(vcpu->err),
				 "vCPU %d: unexpected exit reason %u",
				 vcpu->id, vcpu->run->exit_reason);
			return vcpu->err;
		}
	}
	return NULL;
}

uint64_t kvm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int kvm_cs_stats_read(struct kvm_cs_stats *stats)
{
	unsigned long long value;
	char line[128], name[32];
	FILE *f = fopen(KVM_CS_STATS_FILE, "r");

	stats->nr = 0;
	if (!f)
		return -errno;
	while (stats->nr < KVM_CS_STATS_MAX && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %llu", name, &value) != 2)
			continue;
		memcpy(stats->name[stats->nr], name, sizeof(name));
		stats->value[stats->nr++] = value;
	}
	fclose(f);
	return 0;
}

int64_t kvm_cs_stats_get(const struct kvm_cs_stats *stats, const char *name)
{
	int i;

	for (i = 0; i < stats->nr; i++) {
		if (!strcmp(stats->name[i], name))
			return stats->value[i];
	}
	return -1;
}

int64_t kvm_cs_stats_delta(const struct kvm_cs_stats *before,
			   const struct kvm_cs_stats *after, const char *name)
{
	int64_t a = kvm_cs_stats_get(before, name);
	int64_t b = kvm_cs_stats_get(after, name);

	if (a < 0 || b < 0)
		return -1;
	return b - a;
}

int kvm_cs_violations(const struct kvm_cs_stats *before,
		      const struct kvm_cs_stats *after, int err, bool vm_mode,
		      char *msg, size_t size)
{
	int64_t n;

	if (err) {
		snprintf(msg, size, "no %s: %s%s", KVM_CS_STATS_FILE,
			 strerror(-err),
			 vm_mode ? ", but coresched=vm must have it" : "");
		return vm_mode ? KSFT_FAIL : KSFT_SKIP;
	}
	n = kvm_cs_stats_delta(before, after, "violations");
	if (n < 0) {
		snprintf(msg, size,
			 "invariant checker not built (CONFIG_SCHED_CORE_VM_DEBUG)");
		return KSFT_SKIP;
	}
	snprintf(msg, size, "%lld invariant violations", (long long)n);
	return n ? KSFT_FAIL : KSFT_PASS;
}
