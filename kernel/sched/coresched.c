// SPDX-License-Identifier: GPL-2.0-only
/*
 * Core scheduling isolation: the coresched= boot parameter, security
 * domains by cgroup, and (see below) guest/host isolation for hypervisors.
 *
 * Upstream core scheduling (core.c, core_sched.c) only co-runs tasks whose
 * cookies match on one SMT core.  This file decides whether cookies may
 * exist at all and derives part of a task's cookie from its cgroup; the
 * core-wide pick, forced idle and their accounting stay where they are.
 *
 * Included from build_utility.c right after core_sched.c, whose cookie
 * helpers it uses.
 */
#include <linux/sched/coresched.h>

#include <trace/events/ipi.h>

enum sched_core_mode sched_core_mode __ro_after_init = SCHED_CORE_MODE_ON;

static const char * const sched_core_mode_names[] = {
	[SCHED_CORE_MODE_OFF]	= "off",
	[SCHED_CORE_MODE_ON]	= "on",
	[SCHED_CORE_MODE_VM]	= "vm",
};

/*
 * coresched={off,on,vm}.  A typo must never stop a machine from booting, so
 * a bad value only warns and leaves the default in place.
 */
static int __init sched_core_mode_setup(char *str)
{
	int mode = -EINVAL;

	if (str)
		mode = match_string(sched_core_mode_names,
				    ARRAY_SIZE(sched_core_mode_names), str);

	if (mode == SCHED_CORE_MODE_VM && !IS_ENABLED(CONFIG_SCHED_CORE_VM)) {
		pr_warn("coresched=vm: VM isolation is not built in (CONFIG_SCHED_CORE_VM), using coresched=%s\n",
			sched_core_mode_names[sched_core_mode]);
		return 0;
	}
	if (mode < 0) {
		pr_warn("coresched=%s: unknown value; accepted values are off, on and vm; using coresched=%s\n",
			str ?: "", sched_core_mode_names[sched_core_mode]);
		return 0;
	}

	sched_core_mode = mode;
	return 0;
}
early_param("coresched", sched_core_mode_setup);

#ifdef CONFIG_SCHED_CORE_CGROUP
/*
 * Security domains by cgroup.
 *
 * A task group whose cpu.core_sched is 1 owns a domain cookie,
 * tg->core_domain.  A task's domain is that of its nearest tagged group,
 * itself or an ancestor; the scheduler matches the combination of the
 * domain and the task's prctl cookie (sched_core_effective_cookie()).
 *
 * Every task carries a reference on its domain in p->core_domain.  It is
 * recomputed, with the task's pi_lock and rq lock held, whenever one of its
 * inputs changes: its task group (cgroup attach), a tag above it (a write
 * to cpu.core_sched walks the subtree), or its birth into a cgroup (fork).
 * Refreshes of one task are serialised by its pi_lock, and each reads the
 * current inputs, so the last one leaves the right cookie.
 */

/*
 * Protects tg->core_domain: a refresh reads it and takes a reference
 * under this lock, a tag write replaces it under this lock, and the old
 * cookie is put only after the swap, so a reader never takes a reference
 * on a freed cookie.  Nests inside the rq lock, hence raw.
 */
static DEFINE_RAW_SPINLOCK(sched_core_domain_lock);

/* One tag write at a time: each walk of a subtree sees the flips before it. */
static DEFINE_MUTEX(sched_core_tag_mutex);

/* Domains exist: forks must check the domain of their cgroup. */
static DEFINE_STATIC_KEY_FALSE(sched_core_domains);

/* The domain of @tg with a reference held, 0 if none. */
static unsigned long sched_core_domain_get(struct task_group *tg)
{
	unsigned long domain = 0;

	raw_spin_lock(&sched_core_domain_lock);
	for (; tg; tg = tg->parent) {
		if (tg->core_domain) {
			domain = sched_core_get_cookie(tg->core_domain);
			break;
		}
	}
	raw_spin_unlock(&sched_core_domain_lock);

	return domain;
}

/* Give @p the domain of its task group, and the cookie that follows. */
static void sched_core_domain_refresh(struct task_struct *p)
{
	unsigned long old;
	struct rq_flags rf;
	struct rq *rq;

	/*
	 * task_group(p) is stable under the rq lock: sched_move_task()
	 * changes it under the same lock, before cpu_cgroup_attach() calls
	 * us, so a refresh that raced with the move is followed by ours.
	 */
	rq = task_rq_lock(p, &rf);
	old = p->core_domain;
	p->core_domain = sched_core_domain_get(task_group(p));
	sched_core_set_effective(rq, p);
	task_rq_unlock(rq, p, &rf);

	sched_core_put_cookie(old);
}

/* Refresh every task at or below @css, skipping subtrees with a domain of their own. */
static void sched_core_domain_refresh_subtree(struct cgroup_subsys_state *css)
{
	struct cgroup_subsys_state *pos;
	struct css_task_iter it;
	struct task_struct *p;

	rcu_read_lock();
	css_for_each_descendant_pre(pos, css) {
		if (pos != css && css_tg(pos)->core_domain) {
			pos = css_rightmost_descendant(pos);
			continue;
		}
		/* Pinned, @pos survives dropping RCU for the task walk. */
		if (!css_tryget(pos))
			continue;
		rcu_read_unlock();

		css_task_iter_start(pos, 0, &it);
		while ((p = css_task_iter_next(&it)))
			sched_core_domain_refresh(p);
		css_task_iter_end(&it);

		rcu_read_lock();
		css_put(pos);
	}
	rcu_read_unlock();
}

/*
 * Make @tg a domain or stop it being one.  Tasks already in the subtree
 * are refreshed here; a task that joins it concurrently is refreshed by its
 * own attach or fork, which runs after it is linked into the cgroup, and
 * so either is seen by the walk or sees the new tag.
 */
static int sched_core_tag(struct task_group *tg, bool tag)
{
	unsigned long old, domain = 0;
	int ret = 0;

	mutex_lock(&sched_core_tag_mutex);
	if (!!tg->core_domain == tag)
		goto unlock;

	if (tag) {
		domain = sched_core_alloc_cookie();
		if (!domain) {
			ret = -ENOMEM;
			goto unlock;
		}
		static_branch_inc(&sched_core_domains);
	}

	raw_spin_lock_irq(&sched_core_domain_lock);
	old = tg->core_domain;
	tg->core_domain = domain;
	raw_spin_unlock_irq(&sched_core_domain_lock);

	sched_core_domain_refresh_subtree(&tg->css);

	if (!tag)
		static_branch_dec(&sched_core_domains);
	sched_core_put_cookie(old);
unlock:
	mutex_unlock(&sched_core_tag_mutex);
	return ret;
}

u64 sched_core_cgroup_read(struct cgroup_subsys_state *css, struct cftype *cft)
{
	return !!css_tg(css)->core_domain;
}

ssize_t sched_core_cgroup_write(struct kernfs_open_file *of, char *buf,
				size_t nbytes, loff_t off)
{
	bool tag;
	int ret;

	if (!sched_core_available())
		return -ENODEV;

	/* Exactly "0" or "1": a value that means something else is an error. */
	buf = strstrip(buf);
	if (!strcmp(buf, "1"))
		tag = true;
	else if (!strcmp(buf, "0"))
		tag = false;
	else
		return -EINVAL;

	/* Without SMT there is nothing to isolate, but a domain may still go. */
	if (tag && !static_branch_likely(&sched_smt_present))
		return -ENODEV;

	ret = sched_core_tag(css_tg(of_css(of)), tag);
	return ret ?: nbytes;
}

/* @p moved to another task group: see cpu_cgroup_attach(). */
void sched_core_cgroup_attach(struct task_struct *p)
{
	if (static_branch_unlikely(&sched_core_domains) || p->core_domain)
		sched_core_domain_refresh(p);
}

/*
 * @p was born and linked into its cgroup, which may differ from its
 * parent's (CLONE_INTO_CGROUP) or have been tagged since sched_core_fork()
 * copied the parent's domain.  It has not run yet.
 */
void sched_core_cgroup_fork(struct task_struct *p)
{
	if (static_branch_unlikely(&sched_core_domains) || p->core_domain)
		sched_core_domain_refresh(p);
}

/* @tg is going away: its tasks are gone and hold their own references. */
void sched_core_cgroup_free(struct task_group *tg)
{
	if (!tg->core_domain)
		return;
	sched_core_put_cookie(tg->core_domain);
	tg->core_domain = 0;
	static_branch_dec(&sched_core_domains);
}
#endif /* CONFIG_SCHED_CORE_CGROUP */

#ifdef CONFIG_SCHED_CORE_VM
/*
 * Guest/host isolation for hypervisors (coresched=vm).
 *
 * Core scheduling keeps tasks of different cookies off one core, but a
 * vCPU thread that takes a VM-exit runs host code (exit handlers,
 * interrupts, the VMM in userspace) while a vCPU of the same VM may still
 * be executing guest code on a sibling, sampling what the host brings into
 * the core's shared buffers.  The invariant kept here is:
 *
 *   On every SMT core, while one CPU executes in guest mode, each other
 *   CPU of the core is in guest mode too, idle, or waiting to enter guest
 *   mode in a loop that touches nothing but this state.
 *
 * Each CPU is in one of four states, published in one atomic word per core
 * so that a transition and the look at the siblings it depends on are a
 * single fully ordered operation:
 *
 *   HOST   running host code (bit set in SCS_HOST)
 *   GUEST  about to enter, in, or just out of guest mode (SCS_GUEST)
 *   WAIT   waiting to enter guest mode (no bit)
 *   IDLE   in the idle loop (no bit)
 *
 * A CPU enters GUEST only if no sibling is HOST: a compare-and-exchange
 * that fails while any host bit is set.  A CPU becomes HOST by setting its
 * host bit, which stops every sibling from entering; it then kicks each
 * sibling whose guest bit was set with an IPI (a VM-exit) and waits until
 * their guest bits are clear.  As no guest bit can be set while its host bit
 * is, that wait only ever waits for siblings to leave, each of which does
 * so right after its VM-exit with interrupts disabled: it ends without help
 * from the waiter, so waiters never wait on each other.  A kick bit per CPU
 * (SCS_KICK) records that an IPI is on its way, so that one guest run gets
 * one IPI however many siblings want it out.  Kick bits are only ever set
 * together with a host bit, for siblings whose guest bits are set in the
 * same exchange, and a sibling clears its own kick bit with its guest bit,
 * so a kick is never left over for a later guest run.
 *
 * Waiting to enter spins with interrupts enabled: interrupt and NMI
 * handlers on a waiting or idle CPU are the documented exception to the
 * invariant.  The wait ends when no sibling is HOST, or when the caller
 * says the task has host work to do first (a reschedule, a signal, a
 * hypervisor request): a vCPU whose sibling runs host code for long lets
 * the scheduler and its signals in.
 */

/*
 * The state word: host bits in the low byte, guest bits in the next, kick
 * bits in the third; bit i of each belongs to the core's CPU in slot i.
 */
#define SCS_MAX_THREADS		8
#define SCS_HOST(slot)		(BIT(slot))
#define SCS_GUEST(slot)		(BIT(slot) << 8)
#define SCS_KICK(slot)		(BIT(slot) << 16)
#define SCS_HOST_MASK		0x0000ffU
#define SCS_GUEST_MASK		0x00ff00U

struct sched_core_vm_core {
	atomic_t		state;
	/* Slots are handed out as siblings first come online, and kept. */
	unsigned int		nr_slots;
	int			cpu[SCS_MAX_THREADS];
};

/* Zero, IDLE, is where a CPU that never came online is. */
enum sched_core_vm_where {
	SCS_WHERE_IDLE,
	SCS_WHERE_HOST,
	SCS_WHERE_WAIT,
	SCS_WHERE_GUEST,
};

struct sched_core_vm_cpu {
	struct sched_core_vm_core	*core;
	unsigned int			slot;
	/* Counters, written by this CPU only, preemption disabled. */
	u64				slow_exits;
	u64				fastpath_exits;
	u64				kicks_sent;
	u64				kicks_received;
	u64				wait_kick_ns;
	u64				wait_enter_ns;
	u64				violations;
#ifdef CONFIG_SCHED_CORE_VM_DEBUG
	/* Where this CPU is, as the checker sees it; see scs_check(). */
	int				where;
#endif
};

static DEFINE_PER_CPU(struct sched_core_vm_core, sched_core_vm_cores);
static DEFINE_PER_CPU(struct sched_core_vm_cpu, sched_core_vm_cpus);

DEFINE_STATIC_KEY_FALSE(sched_core_vm_key);
EXPORT_SYMBOL_GPL(sched_core_vm_key);

#ifdef CONFIG_SCHED_CORE_VM_DEBUG
static const char * const scs_where_name[] = {
	[SCS_WHERE_IDLE]	= "is idle",
	[SCS_WHERE_HOST]	= "runs host code",
	[SCS_WHERE_WAIT]	= "waits for the core",
	[SCS_WHERE_GUEST]	= "is in guest mode",
};

/*
 * The invariant checker: an independent record of where each CPU is,
 * written at every transition and compared with the siblings'.  A CPU
 * that entered guest mode must see no sibling in HOST; one that finished
 * becoming HOST must see no sibling in GUEST.  The state word orders the
 * two (see the callers): a record is written before the state word lets a
 * sibling past, and read after the state word let this CPU past, so only
 * a broken protocol can trip it.
 */
static void scs_check(struct sched_core_vm_cpu *vc, int where)
{
	struct sched_core_vm_core *core = vc->core;
	int forbidden = where == SCS_WHERE_GUEST ? SCS_WHERE_HOST : SCS_WHERE_GUEST;
	unsigned int slot, nr_slots;

	WRITE_ONCE(vc->where, where);
	if (where != SCS_WHERE_GUEST && where != SCS_WHERE_HOST)
		return;

	/* Order our record before the look at the siblings' (pairs with itself). */
	smp_mb();
	/* Pairs with scs_map_cpu(): a slot counted has its CPU filled in. */
	nr_slots = smp_load_acquire(&core->nr_slots);
	for (slot = 0; slot < nr_slots; slot++) {
		int cpu = READ_ONCE(core->cpu[slot]);

		if (slot == vc->slot)
			continue;
		if (READ_ONCE(per_cpu(sched_core_vm_cpus, cpu).where) != forbidden)
			continue;
		vc->violations++;
		WARN_ONCE(1, "coresched: CPU%d %s while sibling CPU%d %s\n",
			  smp_processor_id(), scs_where_name[where],
			  cpu, scs_where_name[forbidden]);
	}
}
#else
static inline void scs_check(struct sched_core_vm_cpu *vc, int where) { }
#endif

/*
 * Kick the siblings whose guest bits are in @guests out of guest mode and
 * wait until each has left.  Called right after setting our host bit: no
 * sibling can enter guest mode from then on, so the set only shrinks.
 * @kicked are those that already had an IPI on its way.
 */
static void scs_kick_and_wait(struct sched_core_vm_cpu *vc,
			      unsigned int guests, unsigned int kicked)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned long ipis = (guests & ~kicked) >> 8;
	unsigned int slot;
	u64 start;

	if (!guests)
		return;

	start = local_clock();
	for_each_set_bit(slot, &ipis, SCS_MAX_THREADS) {
		int cpu = READ_ONCE(core->cpu[slot]);

		trace_sched_core_kick(cpu);
		/* Any interrupt makes a CPU in guest mode exit. */
		smp_send_reschedule(cpu);
		vc->kicks_sent++;
	}

	/*
	 * Each sibling clears its guest bit in scs_become_host(), first thing
	 * after its VM-exit and with interrupts disabled, so this ends
	 * without anything from us; acquire orders our host code after it.
	 */
	while (atomic_read_acquire(&core->state) & guests)
		cpu_relax();

	start = local_clock() - start;
	vc->wait_kick_ns += start;
	trace_sched_core_wait(false, start);
}

/*
 * Become HOST, from any state: set our host bit, dropping our guest and kick
 * bits, and claim the kick of each sibling in guest mode in the same
 * exchange, so that two CPUs becoming HOST together send one IPI each
 * sibling.  Returns whether we had been kicked.
 */
static bool scs_become_host(struct sched_core_vm_cpu *vc)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned int me = vc->slot, old, new, guests;

	scs_check(vc, SCS_WHERE_WAIT);
	/*
	 * Fully ordered: once a sibling's scs_try_enter() sees our host bit
	 * it fails, and the siblings in guest mode are read from the same
	 * value that published it, so none can slip in unkicked.
	 */
	old = atomic_read(&core->state);
	do {
		guests = old & SCS_GUEST_MASK & ~SCS_GUEST(me);
		new = (old & ~(SCS_GUEST(me) | SCS_KICK(me))) | SCS_HOST(me);
		new |= guests << 8;
	} while (!atomic_try_cmpxchg(&core->state, &old, new));

	scs_kick_and_wait(vc, guests, (old >> 8) & guests);
	scs_check(vc, SCS_WHERE_HOST);

	return old & SCS_KICK(me);
}

/* Stop being HOST, into WAIT or IDLE: siblings may enter guest mode. */
static void scs_leave_host(struct sched_core_vm_cpu *vc, int where)
{
	/* The record first: a sibling let in by the next line may check it. */
	scs_check(vc, where);
	/* Fully ordered: our host code is done before a sibling is let in. */
	atomic_fetch_andnot(SCS_HOST(vc->slot), &vc->core->state);
}

/* WAIT -> GUEST if no sibling is HOST. */
static bool scs_try_enter(struct sched_core_vm_cpu *vc)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned int me = vc->slot, old, new;

	/*
	 * Fully ordered, and pairs with the fetch_andnot of scs_leave_host()
	 * and the cmpxchg of scs_become_host(): a sibling's host code is over
	 * before we see its host bit clear, and a sibling that sets its host
	 * bit after this sees our guest bit and kicks us.
	 */
	old = atomic_read(&core->state);
	do {
		if (old & SCS_HOST_MASK)
			return false;
		new = old | SCS_GUEST(me);
	} while (!atomic_try_cmpxchg(&core->state, &old, new));

	scs_check(vc, SCS_WHERE_GUEST);
	return true;
}

/*
 * A plain read, for the wait loop only: no ordering is needed there, as
 * scs_try_enter() checks again, fully ordered, before anything counts.
 */
static bool scs_host_sibling(struct sched_core_vm_cpu *vc)
{
	return atomic_read(&vc->core->state) & SCS_HOST_MASK;
}

/**
 * sched_core_guest_wait - wait until this CPU may enter guest mode
 * @stop: says whether the caller must run host work first
 * @arg: its argument
 *
 * Called with preemption disabled and interrupts enabled, right before a
 * hypervisor disables interrupts to enter guest mode.  Spins until no SMT
 * sibling runs host code, or until @stop() is true, which it must be when
 * the task needs to reschedule or has a signal pending.  The caller then
 * disables interrupts, calls sched_core_guest_enter() and enters, or calls
 * sched_core_guest_cancel() if it does not.
 *
 * Return: true if the wait ended for lack of a host sibling, false if
 * @stop() ended it, in which case the CPU runs host code again.
 */
bool sched_core_guest_wait(bool (*stop)(void *arg), void *arg)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);
	bool ret = true;
	u64 start;

	lockdep_assert_preemption_disabled();
	scs_leave_host(vc, SCS_WHERE_WAIT);
	if (!scs_host_sibling(vc))
		return true;

	start = local_clock();
	/*
	 * Ends when the sibling drops its host bit (entering guest mode,
	 * waiting, or idle) or when @stop() sees work for this task; an
	 * interrupt that needs a reschedule sets need_resched, which @stop()
	 * sees.
	 */
	while (scs_host_sibling(vc)) {
		if (stop(arg)) {
			scs_become_host(vc);
			ret = false;
			break;
		}
		cpu_relax();
	}
	start = local_clock() - start;
	vc->wait_enter_ns += start;
	trace_sched_core_wait(true, start);

	return ret;
}
EXPORT_SYMBOL_GPL(sched_core_guest_wait);

/**
 * sched_core_guest_enter - claim the core for guest mode
 *
 * Called with interrupts disabled after sched_core_guest_wait(), as late
 * as possible before entering guest mode, and before the last check for
 * pending work: a reschedule that a sibling's core-wide pick asked for
 * before letting us in is then seen.
 *
 * Return: true if no sibling runs host code; the CPU is then in guest mode
 * as far as its siblings are concerned.  False if a sibling took the core
 * since the wait; the caller must call sched_core_guest_cancel() and try
 * again.
 */
bool sched_core_guest_enter(void)
{
	lockdep_assert_irqs_disabled();
	return scs_try_enter(this_cpu_ptr(&sched_core_vm_cpus));
}
EXPORT_SYMBOL_GPL(sched_core_guest_enter);

/**
 * sched_core_guest_cancel - back to host code without having run the guest
 *
 * Called with interrupts disabled after sched_core_guest_wait(), whether
 * or not sched_core_guest_enter() succeeded.
 */
void sched_core_guest_cancel(void)
{
	lockdep_assert_irqs_disabled();
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus));
}
EXPORT_SYMBOL_GPL(sched_core_guest_cancel);

/**
 * sched_core_guest_exit - leave guest mode for host code
 *
 * Called after a VM-exit that the hypervisor does not handle without host
 * code, with interrupts still disabled and before any exit handler runs:
 * kicks the siblings out of guest mode and waits until they are out.
 */
void sched_core_guest_exit(void)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);

	lockdep_assert_irqs_disabled();
	vc->slow_exits++;
	if (scs_become_host(vc))
		vc->kicks_received++;
}
EXPORT_SYMBOL_GPL(sched_core_guest_exit);

/**
 * sched_core_guest_fastpath - count a VM-exit handled without host code
 *
 * The CPU stays in guest mode: the hypervisor re-enters at once, touching
 * only the vCPU's own state.
 */
void sched_core_guest_fastpath(void)
{
	this_cpu_inc(sched_core_vm_cpus.fastpath_exits);
}
EXPORT_SYMBOL_GPL(sched_core_guest_fastpath);

/* The idle loop starts: siblings may run guest code meanwhile. */
void __sched_core_vm_idle_enter(void)
{
	scs_leave_host(this_cpu_ptr(&sched_core_vm_cpus), SCS_WHERE_IDLE);
}

/* The idle loop ends to run a task: get the siblings out of guest mode first. */
void __sched_core_vm_idle_exit(void)
{
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus));
}

/*
 * Siblings may come up in parallel (parallel CPU bring-up): slots of a core
 * are handed out one at a time.  Taken with interrupts disabled, on the CPU
 * that comes up.
 */
static DEFINE_RAW_SPINLOCK(scs_map_lock);

/*
 * Give @cpu its slot in its core's state: the core of the first sibling
 * that has one, or a core of its own.  Slots are kept across hotplug, so
 * the mapping never changes under a CPU that uses it.
 */
static void scs_map_cpu(unsigned int cpu)
{
	struct sched_core_vm_cpu *vc = per_cpu_ptr(&sched_core_vm_cpus, cpu);
	struct sched_core_vm_core *core = NULL;
	unsigned int sib;

	if (vc->core)
		return;

	guard(raw_spinlock)(&scs_map_lock);

	for_each_cpu(sib, cpu_smt_mask(cpu)) {
		core = per_cpu(sched_core_vm_cpus, sib).core;
		if (core)
			break;
	}
	if (!core)
		core = per_cpu_ptr(&sched_core_vm_cores, cpu);

	if (core->nr_slots >= SCS_MAX_THREADS) {
		pr_warn_once("coresched: over %d threads per core, CPU%u not isolated\n",
			     SCS_MAX_THREADS, cpu);
		core = per_cpu_ptr(&sched_core_vm_cores, cpu);
	}

	vc->slot = core->nr_slots;
	WRITE_ONCE(core->cpu[vc->slot], cpu);
	/* Readers look at nr_slots, then at cpu[]: publish in that order. */
	smp_store_release(&core->nr_slots, vc->slot + 1);
	vc->core = core;
}

/*
 * @cpu is coming online and runs host code: take the core, from the
 * siblings too.  Called on @cpu with interrupts disabled, after the
 * architecture set up its sibling mask.
 */
void __sched_core_vm_cpu_starting(unsigned int cpu)
{
	scs_map_cpu(cpu);
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus));
}

/*
 * Turn the isolation on before the secondary CPUs come up: the boot CPU is
 * mapped here, the others in sched_cpu_starting().
 */
static int __init sched_core_vm_init(void)
{
	if (sched_core_mode != SCHED_CORE_MODE_VM)
		return 0;

	scoped_guard(preempt) {
		scs_map_cpu(smp_processor_id());
		scs_become_host(this_cpu_ptr(&sched_core_vm_cpus));
	}
	static_branch_enable(&sched_core_vm_key);
	pr_info("coresched: VM isolation on: no guest code beside host code on a core\n");
	return 0;
}
early_initcall(sched_core_vm_init);

/*
 * Per-VM cookies.  A hypervisor creates one per VM and makes the threads
 * that run its vCPUs adopt it, so that vCPUs of different VMs never share
 * a core.  Task cookies like prctl()'s: a VMM sees them with
 * PR_SCHED_CORE_GET and can share them with its other threads, but fork
 * does not pass them on (sched_core_fork_cookie()).
 */
unsigned long sched_core_vm_cookie_create(void)
{
	struct sched_core_cookie *ck;

	ck = (void *)sched_core_alloc_cookie();
	if (ck)
		ck->vm = true;

	return (unsigned long)ck;
}
EXPORT_SYMBOL_GPL(sched_core_vm_cookie_create);

void sched_core_vm_cookie_put(unsigned long cookie)
{
	sched_core_put_cookie(cookie);
}
EXPORT_SYMBOL_GPL(sched_core_vm_cookie_put);

/**
 * sched_core_vm_cookie_adopt - make @cookie current's task cookie
 * @cookie: a cookie from sched_core_vm_cookie_create()
 *
 * Unless current has a task cookie already: a cookie the VMM chose (or
 * one adopted before) stands.
 */
void sched_core_vm_cookie_adopt(unsigned long cookie)
{
	struct task_struct *p = current;
	struct rq_flags rf;
	struct rq *rq;

	/* Only we and prctl() set our task cookie; prctl() under the locks below. */
	if (!cookie || READ_ONCE(p->core_task_cookie))
		return;

	rq = task_rq_lock(p, &rf);
	if (!p->core_task_cookie) {
		p->core_task_cookie = sched_core_get_cookie(cookie);
		sched_core_set_effective(rq, p);
	}
	task_rq_unlock(rq, p, &rf);
}
EXPORT_SYMBOL_GPL(sched_core_vm_cookie_adopt);

static int sched_core_vm_stats_show(struct seq_file *m, void *v)
{
	struct sched_core_vm_cpu sum = { };
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		struct sched_core_vm_cpu *vc = per_cpu_ptr(&sched_core_vm_cpus, cpu);

		sum.slow_exits += READ_ONCE(vc->slow_exits);
		sum.fastpath_exits += READ_ONCE(vc->fastpath_exits);
		sum.kicks_sent += READ_ONCE(vc->kicks_sent);
		sum.kicks_received += READ_ONCE(vc->kicks_received);
		sum.wait_kick_ns += READ_ONCE(vc->wait_kick_ns);
		sum.wait_enter_ns += READ_ONCE(vc->wait_enter_ns);
		sum.violations += READ_ONCE(vc->violations);
	}

	seq_printf(m, "slow_exits %llu\n", sum.slow_exits);
	seq_printf(m, "fastpath_exits %llu\n", sum.fastpath_exits);
	seq_printf(m, "kicks_sent %llu\n", sum.kicks_sent);
	seq_printf(m, "kicks_received %llu\n", sum.kicks_received);
	seq_printf(m, "wait_kick_ns %llu\n", sum.wait_kick_ns);
	seq_printf(m, "wait_enter_ns %llu\n", sum.wait_enter_ns);
	/* Only the checker counts them: no line rather than a zero that means nothing. */
	if (IS_ENABLED(CONFIG_SCHED_CORE_VM_DEBUG))
		seq_printf(m, "violations %llu\n", sum.violations);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sched_core_vm_stats);
#endif /* CONFIG_SCHED_CORE_VM */

static int sched_core_mode_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", sched_core_mode_names[sched_core_mode]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sched_core_mode);

static struct dentry *sched_core_debugfs_dir;

static int __init sched_core_debugfs_init(void)
{
	struct dentry *sched;

#ifdef CONFIG_SCHED_DEBUG
	/* Made by sched_init_debug(), an earlier late_initcall of this unit. */
	sched = debugfs_sched;
#else
	sched = debugfs_create_dir("sched", NULL);
#endif
	sched_core_debugfs_dir = debugfs_create_dir("coresched", sched);
	debugfs_create_file("mode", 0444, sched_core_debugfs_dir, NULL,
			    &sched_core_mode_fops);
#ifdef CONFIG_SCHED_CORE_VM
	debugfs_create_file("stats", 0444, sched_core_debugfs_dir, NULL,
			    &sched_core_vm_stats_fops);
#endif
	return 0;
}
late_initcall(sched_core_debugfs_init);
