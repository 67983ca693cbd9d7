// SPDX-License-Identifier: GPL-2.0
/*
 * Per-VM core scheduling cookies of coresched=vm, as PR_SCHED_CORE_GET
 * reports them on the VMM's threads:
 *   - every vCPU thread of a VM takes the VM's cookie at its first
 *     KVM_RUN: one non-zero cookie per VM, different across VMs;
 *   - a thread that had a task cookie of its own before KVM_RUN keeps it
 *     (the VMM's choice stands);
 *   - the thread that created the VM but never ran a vCPU stays at 0;
 *   - an I/O thread with a task cookie of its own takes the VM's cookie
 *     with PR_SCHED_CORE_SHARE_FROM a vCPU thread;
 *   - a thread that a vCPU thread creates after KVM_RUN does not inherit
 *     the VM's cookie, while one that the vCPU thread with a cookie of its
 *     own creates inherits that (the control: fork passes cookies on).
 * Under coresched=on (and on a kernel without the series) KVM sets no
 * cookie: every vCPU thread reports 0 unless the VMM gave it one, and
 * SHARE_FROM a vCPU thread copies that "no cookie" over the I/O thread's.
 *
 * usage: kvm_cookie [-m on|vm|none] [-K]
 *   -m  the mode the kernel was booted in ("none": a kernel without the
 *       series); a mode file that disagrees is a failure, and the checks
 *       then follow -m, so that "-m vm" on a kernel without coresched=vm
 *       shows which of them fail.  Without -m the mode file decides.
 *   -K  KVM is required: no /dev/kvm is a failure, not a skip.
 * Exit code: kselftest's; 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest.h"
#include "cs_util.h"
#include "kvm_vm.h"

/* VM 1: two vCPUs and a third whose thread brings its own cookie. */
#define VM1_VCPUS	3
#define OWN_VCPU	2
#define VM2_VCPUS	2
#define JOIN_TIMEOUT_MS	10000

struct vcpu_result {
	bool own;		/* create a task cookie before KVM_RUN */
	int err;		/* 0, or -errno of the first failed step */
	unsigned int exit_reason;
	uint64_t before;	/* cookie before KVM_RUN (own only) */
	bool spawn;		/* create a thread after KVM_RUN */
	uint64_t child;		/* the cookie that thread reports */
	int child_err;
};

static bool vm_mode;
static const char *label;	/* the mode the checks follow */
static sem_t ran, release;

/* A thread a vCPU thread creates: reports the cookie it was born with. */
static void *child_thread(void *arg)
{
	struct vcpu_result *r = arg;

	r->child = cs_get(0, &r->child_err);
	return NULL;
}

static void spawn_child(struct vcpu_result *r)
{
	pthread_t t;

	r->child_err = -pthread_create(&t, NULL, child_thread, r);
	if (!r->child_err)
		pthread_join(t, NULL);
}

/*
 * Enter the guest once (HLT returns to us, the VM has no irqchip), then
 * stay alive until the cookies were read: a cookie is only reported for a
 * live thread.
 */
static void *vcpu_thread(struct kvm_vcpu *vcpu)
{
	struct vcpu_result *r = vcpu->arg;

	if (r->own) {
		r->err = cs_create(0, 0);
		if (!r->err)
			r->before = cs_get(0, &r->err);
	}
	if (!r->err)
		r->err = kvm_vcpu_run(vcpu);
	if (r->err)
		ksft_print_msg("vCPU %d of a VM: %s\n", vcpu->id, strerror(-r->err));
	r->exit_reason = vcpu->run->exit_reason;
	if (!r->err && r->spawn)
		spawn_child(r);
	sem_post(&ran);
	while (sem_wait(&release))
		;
	return NULL;
}

/*
 * The I/O thread of VM 1: takes the cookie of VM 1's first vCPU thread.
 * It has a cookie of its own before, so that SHARE_FROM must change it
 * whatever the vCPU thread's is, 0 included.
 */
struct io_thread {
	pthread_t thread;
	pid_t from, tid;
	uint64_t before;	/* its own cookie, before SHARE_FROM */
	int err;
};

static void *io_thread(void *arg)
{
	struct io_thread *io = arg;

	io->tid = gettid();
	io->err = cs_create(0, 0);
	if (!io->err)
		io->before = cs_get(0, &io->err);
	if (!io->err)
		io->err = cs_share_from(io->from);
	sem_post(&ran);
	while (sem_wait(&release))
		;
	return NULL;
}

static struct kvm_vm *make_vm(int nr, struct vcpu_result *res, int *started)
{
	struct kvm_vm *vm = kvm_vm_create();
	int i;

	if (!vm)
		ksft_exit_fail_msg("%s\n", kvm_error());
	for (i = 0; i < nr; i++) {
		struct kvm_vcpu *vcpu = kvm_vcpu_add(vm, KVM_PROG_HLT);

		if (!vcpu || kvm_vcpu_start(vcpu, -1, vcpu_thread, &res[i]))
			ksft_exit_fail_msg("%s\n", kvm_error());
		(*started)++;
	}
	return vm;
}

static uint64_t cookie_of(pid_t tid)
{
	int err;
	uint64_t cookie = cs_get(tid, &err);

	if (err)
		ksft_print_msg("PR_SCHED_CORE_GET %d: %s\n", tid, strerror(-err));
	return cookie;
}

static bool all_ran(const struct vcpu_result *res, int nr)
{
	int i;

	for (i = 0; i < nr; i++) {
		if (res[i].err || res[i].exit_reason != KVM_EXIT_HLT) {
			ksft_print_msg("vCPU %d: err %d, exit reason %u\n", i,
				       res[i].err, res[i].exit_reason);
			return false;
		}
	}
	return true;
}

/* Every vCPU thread of @vm but @skip reports @cookie; prints them all. */
static bool vm_cookie_is(struct kvm_vm *vm, int skip, uint64_t cookie)
{
	bool ok = true;
	uint64_t c;
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		c = cookie_of(vm->vcpus[i]->tid);
		ksft_print_msg("  vCPU %d, thread %d: cookie %#llx%s\n", i,
			       vm->vcpus[i]->tid, (unsigned long long)c,
			       i == skip ? " (own cookie)" : "");
		if (i != skip && c != cookie)
			ok = false;
	}
	return ok;
}

static void check_cookies(struct kvm_vm *vm1, struct kvm_vm *vm2,
			  struct vcpu_result *res1, struct io_thread *io)
{
	uint64_t c1 = cookie_of(vm1->vcpus[0]->tid);
	uint64_t c2 = cookie_of(vm2->vcpus[0]->tid);
	uint64_t own = cookie_of(vm1->vcpus[OWN_VCPU]->tid);
	uint64_t main_cookie = cookie_of(0);
	uint64_t io_cookie = cookie_of(io->tid);
	bool ok;

	ksft_print_msg("VM 1:\n");
	if (vm_mode) {
		ksft_test_result(c1 && vm_cookie_is(vm1, OWN_VCPU, c1),
				 "vm: the vCPU threads of a VM share one non-zero cookie\n");
	} else {
		ksft_test_result(!c1 && vm_cookie_is(vm1, OWN_VCPU, 0),
				 "%s: KVM_RUN gives vCPU threads no cookie\n",
				 label);
	}
	ksft_print_msg("VM 2:\n");
	if (vm_mode)
		ksft_test_result(c2 && c2 != c1 && vm_cookie_is(vm2, -1, c2),
				 "vm: two VMs have different cookies\n");
	else
		ksft_test_result(!c2 && vm_cookie_is(vm2, -1, 0),
				 "%s: no cookie for the vCPU threads of a second VM either\n",
				 label);

	ksft_print_msg("own cookie %#llx before KVM_RUN, %#llx after\n",
		       (unsigned long long)res1[OWN_VCPU].before,
		       (unsigned long long)own);
	ksft_test_result(res1[OWN_VCPU].before && own == res1[OWN_VCPU].before &&
			 own != c1 && own != c2,
			 "a vCPU thread with a task cookie of its own keeps it through KVM_RUN\n");

	ksft_print_msg("the VMM's main thread: cookie %#llx\n",
		       (unsigned long long)main_cookie);
	ksft_test_result(!main_cookie,
			 "creating VMs and vCPUs sets no cookie: only KVM_RUN does\n");

	if (io->err)
		ksft_print_msg("I/O thread: PR_SCHED_CORE CREATE, GET or SHARE_FROM %d: %s\n",
			       io->from, strerror(-io->err));
	ksft_print_msg("I/O thread: cookie %#llx before SHARE_FROM, %#llx after\n",
		       (unsigned long long)io->before, (unsigned long long)io_cookie);
	ok = !io->err && io->before && io_cookie == c1 && io_cookie != io->before;
	if (vm_mode)
		ksft_test_result(ok,
				 "vm: an I/O thread takes the VM's cookie with SHARE_FROM a vCPU thread\n");
	else
		ksft_test_result(ok,
				 "%s: SHARE_FROM a vCPU thread copies its \"no cookie\" over an I/O thread's own\n",
				 label);

	if (res1[0].child_err || res1[OWN_VCPU].child_err)
		ksft_print_msg("child threads: errors %d, %d\n",
			       res1[0].child_err, res1[OWN_VCPU].child_err);
	ksft_print_msg("a child of vCPU 0: cookie %#llx; of the vCPU with its own: %#llx\n",
		       (unsigned long long)res1[0].child,
		       (unsigned long long)res1[OWN_VCPU].child);
	ksft_test_result(!res1[0].child_err && !res1[OWN_VCPU].child_err &&
			 res1[0].child == (vm_mode ? c1 : 0) &&
			 res1[OWN_VCPU].child == own,
			 "%s: a vCPU thread's child inherits its cookie, the VM's or its own\n",
			 label);
}

int main(int argc, char **argv)
{
	struct vcpu_result res1[VM1_VCPUS] = {}, res2[VM2_VCPUS] = {};
	bool kvm_required = false, match;
	struct io_thread io = {};
	const char *expect = NULL;
	struct kvm_vm *vm1, *vm2;
	int i, started = 0;

	kvm_mode_options(argc, argv, &expect, &kvm_required);

	ksft_print_header();
	kvm_require(kvm_required);
	ksft_set_plan(7);
	expect = cs_check_mode(expect, &match);
	ksft_test_result(match, "the kernel runs in mode %s\n", expect);
	if (!strcmp(expect, "off"))
		ksft_exit_skip("coresched=off: no cookies to check\n");
	vm_mode = !strncmp(expect, "vm", 2);
	label = expect;
	sem_init(&ran, 0, 0);
	sem_init(&release, 0, 0);

	res1[OWN_VCPU].own = true;
	res1[0].spawn = true;
	res1[OWN_VCPU].spawn = true;
	vm1 = make_vm(VM1_VCPUS, res1, &started);
	vm2 = make_vm(VM2_VCPUS, res2, &started);
	for (i = 0; i < started; i++)
		while (sem_wait(&ran))
			;
	if (!all_ran(res1, VM1_VCPUS) || !all_ran(res2, VM2_VCPUS))
		ksft_exit_fail_msg("KVM_RUN failed\n");

	/* The VMM's I/O thread, once vCPU 0 ran and holds VM 1's cookie. */
	io.from = vm1->vcpus[0]->tid;
	if (pthread_create(&io.thread, NULL, io_thread, &io))
		ksft_exit_fail_msg("pthread_create\n");
	while (sem_wait(&ran))
		;

	check_cookies(vm1, vm2, res1, &io);

	for (i = 0; i < started + 1; i++)
		sem_post(&release);
	pthread_join(io.thread, NULL);
	if (kvm_vm_destroy(vm1, JOIN_TIMEOUT_MS) ||
	    kvm_vm_destroy(vm2, JOIN_TIMEOUT_MS))
		ksft_exit_fail_msg("a vCPU thread did not end: %s\n", kvm_error());
	ksft_finished();
}
