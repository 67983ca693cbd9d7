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
#include <linux/rcuwait.h>
#include <linux/sched/coresched.h>

#include <trace/events/ipi.h>

enum sched_core_mode sched_core_mode __ro_after_init = SCHED_CORE_MODE_ON;

static const char * const sched_core_mode_names[] = {
	[SCHED_CORE_MODE_OFF]	= "off",
	[SCHED_CORE_MODE_ON]	= "on",
	[SCHED_CORE_MODE_VM]	= "vm",
};

#ifdef CONFIG_SCHED_CORE_VM
/* coresched=vm,strict: interrupts of idle and waiting CPUs take the core. */
static bool sched_core_vm_strict __ro_after_init;
#endif

/*
 * coresched={off,on,vm,vm,strict}.  A typo must never stop a machine from
 * booting, so a bad value only warns and leaves the default in place.
 */
static int __init sched_core_mode_setup(char *str)
{
	int mode = -EINVAL;

	if (str)
		mode = match_string(sched_core_mode_names,
				    ARRAY_SIZE(sched_core_mode_names), str);
	/* A qualifier, in the style of mitigations=auto,nosmt. */
	if (str && !strcmp(str, "vm,strict"))
		mode = SCHED_CORE_MODE_VM;

	if (mode == SCHED_CORE_MODE_VM && !IS_ENABLED(CONFIG_SCHED_CORE_VM)) {
		pr_warn("coresched=%s: VM isolation is not built in (CONFIG_SCHED_CORE_VM), using coresched=%s\n",
			str, sched_core_mode_names[sched_core_mode]);
		return 0;
	}
	if (mode < 0) {
		pr_warn("coresched=%s: unknown value; accepted values are off, on, vm and vm,strict; using coresched=%s\n",
			str ?: "", sched_core_mode_names[sched_core_mode]);
		return 0;
	}

	sched_core_mode = mode;
#ifdef CONFIG_SCHED_CORE_VM
	sched_core_vm_strict = !strcmp(str, "vm,strict");
#endif
	return 0;
}
early_param("coresched", sched_core_mode_setup);

#ifdef CONFIG_SCHED_CORE_CGROUP
/*
 * Security domains by cgroup.
 *
 * A task group whose cpu.core_sched is 1 owns a domain cookie,
 * tg->core_domain.  A task's domain is that of the nearest group that owns
 * one, its own or an ancestor; the scheduler matches the combination of the
 * domain and the task's prctl cookie (sched_core_effective_cookie()).
 *
 * Every task carries a reference on its domain in p->core_domain.  It is
 * recomputed, with the task's pi_lock and rq lock held, whenever one of its
 * inputs changes: its task group (cgroup attach), a domain above it (a write
 * to cpu.core_sched walks the subtree), or its birth into a cgroup (fork).
 * Refreshes of one task are serialised by its pi_lock, and each reads the
 * current inputs, so the last one leaves the right cookie.
 */

/*
 * Protects tg->core_domain: a refresh reads it and takes a reference
 * under this lock, a write to cpu.core_sched replaces it under this lock,
 * and the old cookie is put only after the swap, so a reader never takes
 * a reference on a freed cookie.  Nests inside the rq lock, hence raw.
 */
static DEFINE_RAW_SPINLOCK(sched_core_domain_lock);

/* One domain change at a time: each walk of a subtree sees the ones before it. */
static DEFINE_MUTEX(sched_core_domain_mutex);

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

	/* The walk must see every domain change before it, and none during. */
	lockdep_assert_held(&sched_core_domain_mutex);
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
 * so either is seen by the walk or sees the new domain.
 */
static int sched_core_set_domain(struct task_group *tg, bool domain)
{
	unsigned long old, cookie = 0;
	int ret = 0;

	mutex_lock(&sched_core_domain_mutex);
	if (!!tg->core_domain == domain)
		goto unlock;

	if (domain) {
		cookie = sched_core_alloc_cookie();
		if (!cookie) {
			ret = -ENOMEM;
			goto unlock;
		}
		static_branch_inc(&sched_core_domains);
	}

	raw_spin_lock_irq(&sched_core_domain_lock);
	old = tg->core_domain;
	tg->core_domain = cookie;
	raw_spin_unlock_irq(&sched_core_domain_lock);

	sched_core_domain_refresh_subtree(&tg->css);

	if (!domain)
		static_branch_dec(&sched_core_domains);
	sched_core_put_cookie(old);
unlock:
	mutex_unlock(&sched_core_domain_mutex);
	return ret;
}

u64 sched_core_cgroup_read(struct cgroup_subsys_state *css, struct cftype *cft)
{
	return !!css_tg(css)->core_domain;
}

/* cpu.core_sched: 1 makes the cgroup a domain, 0 ends it. */
int sched_core_cgroup_write(struct cgroup_subsys_state *css,
			    struct cftype *cft, u64 domain)
{
	if (!sched_core_available())
		return -ENODEV;
	if (domain > 1)
		return -EINVAL;
	/* Without SMT there is nothing to isolate, but a domain may still go. */
	if (domain && !static_branch_likely(&sched_smt_present))
		return -ENODEV;

	return sched_core_set_domain(css_tg(css), domain);
}

/* @p moved to another task group: see cpu_cgroup_attach(). */
void sched_core_cgroup_attach(struct task_struct *p)
{
	if (static_branch_unlikely(&sched_core_domains) || p->core_domain)
		sched_core_domain_refresh(p);
}

/*
 * @p was born and linked into its cgroup, which may differ from its
 * parent's (CLONE_INTO_CGROUP) or have become a domain since sched_core_fork()
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
/**
 * DOC: Guest/host isolation (coresched=vm)
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
 * Each CPU is in one of four places, published in one atomic word per
 * core so that a transition and the look at the siblings it depends on
 * are a single fully ordered operation:
 *
 * ::
 *
 *   HOST   running host code (its host bit set)
 *   GUEST  about to enter, in, or just out of guest mode (its guest bit)
 *   WAIT   waiting to enter guest mode (no bit)
 *   IDLE   in the idle loop (no bit)
 *
 * A CPU enters GUEST only if no sibling is HOST: a compare-and-exchange
 * that fails while any host bit is set.  A CPU becomes HOST by setting its
 * host bit, which stops every sibling from entering; it then kicks each
 * sibling whose guest bit was set with an IPI (a VM-exit) and waits until
 * their guest bits are clear.  As no guest bit can be set while a host bit
 * is, that wait only ever waits for siblings to leave, each of which does
 * so right after its VM-exit with interrupts disabled, or first thing in
 * an NMI-like handler: it ends without help from the waiter, so waiters
 * never wait on each other.  A kick that has not landed after a while
 * goes again, and then as an NMI (see scs_rekick()).  A kick bit per CPU
 * records that an IPI is on its way, so that one guest run gets one IPI
 * however many siblings want it out.  Kick bits are only set together
 * with a host bit, for siblings whose guest bits are set in the same
 * exchange, and a sibling clears its own kick bit with its guest bit.
 *
 * All online SMT siblings of a core share its state word, whatever order
 * they came online in: a CPU coming up joins the word of the siblings
 * already up.
 *
 * NMIs, machine checks and the other NMI-like exceptions may hit a CPU in
 * any place, in guest-mode windows too (between the claim and VM-entry,
 * between VM-exit and giving the claim back).  On a CPU in guest mode
 * their entry takes the core for the host before any handler runs (on an
 * idle or waiting CPU only under coresched=vm,strict, below): it drops the
 * CPU's guest bit, sets its host bit, IPIs every sibling still in guest
 * mode (an interrupted claimer may not have sent its IPIs yet) and waits
 * for them.  Their exit restores the guest bit if no sibling became HOST
 * meanwhile; otherwise the CPU stays HOST and sends itself an IPI, so that
 * a VM-entry it was about to make exits again at once (after one guest
 * instruction if the guest is in an interrupt shadow, which holds the IPI
 * off).
 *
 * Interrupts of an idle or waiting CPU run host code beside its siblings'
 * guests unless coresched=vm,strict is given: then the interrupt's entry
 * takes the core the same way, and its exit gives it back.
 *
 * A vCPU waiting to enter spins with interrupts enabled.  The wait ends
 * when no sibling is HOST, when the caller says the task has host work to
 * do first (a reschedule, a signal, a hypervisor request), or after a
 * bounded time: the vCPU thread then sleeps until a sibling leaves host
 * code, and the core runs that work or idles.  A vCPU that polls for its
 * own events before blocking (halt polling) counts as waiting where the
 * kernel counts preemption (CONFIG_PREEMPT_COUNT), which tells it whether
 * the poll may sleep; elsewhere the poll is host code.
 */

#define SCS_MAX_THREADS		8

/*
 * The state word is a byte of slot bits per kind: bit i of each byte
 * belongs to the core's CPU in slot i.
 */
enum scs_kind {
	SCS_HOST_BYTE,
	SCS_GUEST_BYTE,
	SCS_KICK_BYTE,
	SCS_SLEEP_BYTE,	/* a vCPU thread sleeps until no sibling is HOST */
};

/* The state word bits of the slots in @slots, of @kind. */
static inline unsigned int scs_bits(unsigned int slots, enum scs_kind kind)
{
	return slots << (8 * kind);
}

/* The slots of @state whose bits of @kind are set. */
static inline unsigned int scs_slots(unsigned int state, enum scs_kind kind)
{
	return (state >> (8 * kind)) & 0xff;
}

static inline unsigned int scs_hosts(unsigned int state)
{
	return scs_slots(state, SCS_HOST_BYTE);
}

static inline unsigned int scs_guests(unsigned int state)
{
	return scs_slots(state, SCS_GUEST_BYTE);
}

static inline unsigned int scs_kicks(unsigned int state)
{
	return scs_slots(state, SCS_KICK_BYTE);
}

static inline unsigned int scs_sleepers(unsigned int state)
{
	return scs_slots(state, SCS_SLEEP_BYTE);
}

struct sched_core_vm_core {
	/* Every transition of every sibling writes it: a line of its own. */
	atomic_t		state ____cacheline_aligned_in_smp;
	/* Written when a CPU first joins the core, read by its kickers. */
	unsigned int		nr_slots ____cacheline_aligned_in_smp;
	int			cpu[SCS_MAX_THREADS];
	/* vCPU threads that gave up spinning: sched_core_guest_sleep(). */
	struct wait_queue_head	sleepers;
};

/* Zero, IDLE, is where a CPU that is not online is. */
enum sched_core_vm_where {
	SCS_WHERE_IDLE,
	SCS_WHERE_HOST,
	SCS_WHERE_WAIT,
	SCS_WHERE_GUEST,
};

struct sched_core_vm_cpu {
	/* Written by this CPU only, on its way up, with interrupts off. */
	struct sched_core_vm_core	*core;
	unsigned int			slot;
#ifdef CONFIG_SCHED_CORE_VM_DEBUG
	/* Where this CPU is, as the checker sees it; see scs_check(). */
	int				where;
#endif
	/* Counters, written by this CPU only (NMIs included: this_cpu ops). */
	u64				slow_exits;
	u64				fastpath_exits;
	u64				kicks_sent;
	u64				kicks_received;
	u64				kick_retries;
	u64				kick_nmis;
	u64				nmi_takes;
	u64				irq_takes;
	u64				wait_kick_ns;
	u64				wait_enter_ns;
	u64				violations;
	/* How long a wait here spins before it sleeps: see scs_spin_bound(). */
	u64				spin_ns;
};

static DEFINE_PER_CPU_ALIGNED(struct sched_core_vm_core, sched_core_vm_cores);
static DEFINE_PER_CPU(struct sched_core_vm_cpu, sched_core_vm_cpus);

#define scs_count(field, n)	this_cpu_add(sched_core_vm_cpus.field, (n))

DEFINE_STATIC_KEY_FALSE(sched_core_vm_key);
EXPORT_SYMBOL_GPL(sched_core_vm_key);

/* coresched=vm,strict: interrupts of idle and waiting CPUs take the core. */
DEFINE_STATIC_KEY_FALSE(sched_core_vm_strict_key);

/*
 * Whether this CPU's guest bit is set.  A plain read: only this CPU, or an
 * NMI-like handler on it, clears or sets it.
 */
static bool scs_in_guest_mode(struct sched_core_vm_cpu *vc)
{
	return scs_guests(atomic_read(&vc->core->state)) & BIT(vc->slot);
}

#ifdef CONFIG_SCHED_CORE_VM_DEBUG
static const char * const scs_where_name[] = {
	[SCS_WHERE_IDLE]	= "is idle",
	[SCS_WHERE_HOST]	= "runs host code",
	[SCS_WHERE_WAIT]	= "waits for the core",
	[SCS_WHERE_GUEST]	= "is in guest mode",
};

/*
 * Fault injection, the checker's negative control: break the protocol on
 * purpose and see the checker, and the tests, catch it.
 */
enum scs_inject {
	SCS_INJECT_NONE,
	SCS_INJECT_SKIP_KICK,	/* no IPI and no wait: siblings stay in */
	SCS_INJECT_SKIP_WAIT,	/* IPIs, but host code starts at once */
	SCS_INJECT_STALL,	/* an entry ignores interrupts until taken */
};

static const char * const scs_inject_name[] = {
	[SCS_INJECT_NONE]	= "none",
	[SCS_INJECT_SKIP_KICK]	= "skip-kick",
	[SCS_INJECT_SKIP_WAIT]	= "skip-wait",
	[SCS_INJECT_STALL]	= "stall",
};

static int scs_inject;

static void scs_violation(int cpu, int where, int sib, const char *what)
{
	this_cpu_inc(sched_core_vm_cpus.violations);
	/* Expected while a fault is injected: count it, but no splat. */
	if (READ_ONCE(scs_inject)) {
		pr_info_once("coresched: fault injected: CPU%d %s while sibling CPU%d %s\n",
			     cpu, scs_where_name[where], sib, what);
		return;
	}
	WARN_ONCE(1, "coresched: CPU%d %s while sibling CPU%d %s\n",
		  cpu, scs_where_name[where], sib, what);
}

/*
 * Every online sibling must share our state word: one that did not would
 * never be kicked, nor stop us entering.  A sibling is counted once it has
 * been HOST, which it becomes right after joining a word on its way up.
 */
static void scs_check_split(struct sched_core_vm_cpu *vc, int where)
{
	unsigned int cpu = smp_processor_id(), sib;

	for_each_cpu(sib, cpu_smt_mask(cpu)) {
		struct sched_core_vm_cpu *svc = per_cpu_ptr(&sched_core_vm_cpus, sib);

		if (sib == cpu || READ_ONCE(svc->where) == SCS_WHERE_IDLE)
			continue;
		if (READ_ONCE(svc->core) != vc->core)
			scs_violation(cpu, where, sib, "uses another core's state");
	}
}

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
	/*
	 * An NMI-like entry since our scs_try_enter() may have taken the core
	 * and, a sibling having become HOST meanwhile, left us HOST: the
	 * VM-entry we are about to make exits at once (see scs_give_back()).
	 * The record follows the state word.
	 */
	if (where == SCS_WHERE_GUEST &&
	    !(scs_guests(atomic_read(&core->state)) & BIT(vc->slot))) {
		WRITE_ONCE(vc->where, SCS_WHERE_HOST);
		return;
	}
	scs_check_split(vc, where);
	/* Pairs with scs_map_cpu(): a slot counted has its CPU filled in. */
	nr_slots = smp_load_acquire(&core->nr_slots);
	for (slot = 0; slot < nr_slots; slot++) {
		int cpu = READ_ONCE(core->cpu[slot]);

		if (slot == vc->slot)
			continue;
		if (READ_ONCE(per_cpu(sched_core_vm_cpus, cpu).where) != forbidden)
			continue;
		/*
		 * A sibling's GUEST record counts with its guest bit: it may
		 * be the moment before the record follows the state word, as
		 * above (a protocol that does not kick or wait leaves the bit).
		 */
		if (forbidden == SCS_WHERE_GUEST &&
		    !(scs_guests(atomic_read(&core->state)) & BIT(slot)))
			continue;
		/* Or it hit us since: it rewrote our record and checked itself. */
		if (READ_ONCE(vc->where) != where)
			return;
		scs_violation(smp_processor_id(), where, cpu, scs_where_name[forbidden]);
	}
}

static int scs_where(struct sched_core_vm_cpu *vc)
{
	return READ_ONCE(vc->where);
}

static bool scs_injected(enum scs_inject fault)
{
	return READ_ONCE(scs_inject) == fault;
}

/*
 * A sibling that does not take the kicks' IPIs, as a host that is itself
 * a guest may make one: right after the claim for guest mode, spin with
 * interrupts disabled until a sibling's NMI takes the core from us, or
 * for two seconds.
 */
static void scs_stall(struct sched_core_vm_cpu *vc)
{
	u64 start = sched_clock();

	while (scs_in_guest_mode(vc) &&
	       sched_clock() - start < 2 * NSEC_PER_SEC)
		cpu_relax();
}
#else
static inline void scs_check(struct sched_core_vm_cpu *vc, int where) { }
static inline int scs_where(struct sched_core_vm_cpu *vc) { return 0; }
static inline bool scs_injected(int fault) { return false; }
static inline void scs_stall(struct sched_core_vm_cpu *vc) { }
#define SCS_INJECT_SKIP_KICK	1
#define SCS_INJECT_SKIP_WAIT	2
#define SCS_INJECT_STALL	3
#endif

/* Send an IPI to each sibling in @slots: any interrupt makes a guest exit. */
static void scs_kick(struct sched_core_vm_cpu *vc, unsigned long slots)
{
	unsigned int slot;

	for_each_set_bit(slot, &slots, SCS_MAX_THREADS) {
		arch_sched_core_kick(READ_ONCE(vc->core->cpu[slot]));
		scs_count(kicks_sent, 1);
	}
}

/*
 * Trace the kicks to @slots once the siblings are out of guest mode:
 * tracing writes the host's trace buffer, which no guest may sample.
 * @why: what took the core for the host.
 */
static void scs_trace_kicks(struct sched_core_vm_cpu *vc, unsigned long slots,
			    const char *why)
{
	unsigned int slot;

	if (!trace_sched_core_kick_enabled())
		return;
	for_each_set_bit(slot, &slots, SCS_MAX_THREADS)
		trace_sched_core_kick(READ_ONCE(vc->core->cpu[slot]), why);
}

/*
 * A sibling in guest mode normally takes the kick's IPI within
 * microseconds.  A host that is itself a guest (nested virtualization)
 * gets its interrupts from a hypervisor, which may deliver one late or,
 * if faulty, never; and a wait for a sibling that never leaves would keep
 * this CPU spinning with interrupts disabled.  So the IPI goes again each
 * time the wait doubles, from scs_kick_retry_ns on (0: never, NMIs
 * included), and once the wait has lasted scs_kick_nmi_ns (0: never) an
 * NMI goes instead: a VM-exit for an NMI cannot be masked, and the
 * sibling's NMI entry takes the core, which clears its guest bit.
 */
static u64 scs_kick_retry_ns = NSEC_PER_MSEC;
static u64 scs_kick_nmi_ns = 100 * NSEC_PER_MSEC;

/* Say once that a wait needed NMIs: the host may lose IPIs. */
static void scs_report_rekicks(u64 waited, unsigned int retries,
			       unsigned int nmis)
{
	pr_warn_once("coresched: CPU%d waited %llu us for siblings to leave guest mode: the kick's IPI sent %u more times, %u NMIs\n",
		     smp_processor_id(), div_u64(waited, NSEC_PER_USEC),
		     retries, nmis);
}

/*
 * Kick the siblings in @slots again, @waited into the wait for them, and
 * add what went to @retries (IPIs) or @nmis.
 */
static void scs_rekick(struct sched_core_vm_cpu *vc, unsigned long slots,
		       u64 waited, unsigned int *retries, unsigned int *nmis)
{
	u64 nmi_ns = READ_ONCE(scs_kick_nmi_ns);
	bool nmi = nmi_ns && waited >= nmi_ns;
	unsigned int slot, n = 0;

	for_each_set_bit(slot, &slots, SCS_MAX_THREADS) {
		int cpu = READ_ONCE(vc->core->cpu[slot]);

		if (nmi)
			arch_sched_core_nmi(cpu);
		else
			arch_sched_core_kick(cpu);
		n++;
	}
	if (nmi) {
		scs_count(kick_nmis, n);
		*nmis += n;
	} else {
		scs_count(kick_retries, n);
		*retries += n;
	}
}

/*
 * Wait until no sibling in @slots is in guest mode.  Each clears its guest
 * bit first thing after its VM-exit with interrupts disabled, or first
 * thing in an NMI-like entry, so this ends once the kick lands.
 */
static void scs_wait_out(struct sched_core_vm_cpu *vc, unsigned int slots)
{
	/*
	 * sched_clock(), not local_clock(): with interrupts disabled and no
	 * tick, an unstable sched clock (the TSC found unreliable) stops
	 * local_clock() a tick on, and the retries would never come.
	 */
	u64 start = sched_clock(), now, next = READ_ONCE(scs_kick_retry_ns);
	unsigned int left, retries = 0, nmis = 0;

	/* An interrupt handler here would run beside the siblings' guests. */
	lockdep_assert(in_nmi() || irqs_disabled());
	/* A tiny first retry would flood the siblings with IPIs. */
	if (next)
		next = max_t(u64, next, NSEC_PER_USEC);

	/*
	 * Acquire: our host code is ordered after each sibling's exit.  A
	 * sibling stopped in guest mode by a panic or an oops never leaves:
	 * the NMIs that stop CPUs and save their state must still get
	 * through.
	 */
	while ((left = scs_guests(atomic_read_acquire(&vc->core->state)) & slots)) {
		if (unlikely(READ_ONCE(oops_in_progress) || panic_in_progress()))
			break;
		cpu_relax();
		now = sched_clock() - start;
		if (unlikely(next && now >= next)) {
			scs_rekick(vc, left, now, &retries, &nmis);
			next = now * 2;
		}
	}
	/* Nor does it run ahead of the exit speculatively. */
	barrier_nospec();

	start = sched_clock() - start;
	scs_count(wait_kick_ns, start);
	trace_sched_core_wait(false, start);
	/* Host code: after the wait, which the siblings ended (or an oops). */
	if (unlikely(nmis))
		scs_report_rekicks(start, retries, nmis);
}

/*
 * Claim the core for host code: set our host bit, drop our guest and kick
 * bits, and claim the kick of each sibling in guest mode, in one fully
 * ordered exchange: once a sibling's scs_try_enter() sees our host bit it
 * fails, and the siblings in guest mode are read from the same value that
 * published it, so none can slip in unkicked.  Returns the old state.
 */
static unsigned int scs_claim(struct sched_core_vm_cpu *vc)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned int me = BIT(vc->slot), old, new, guests;

	old = atomic_read(&core->state);
	do {
		guests = scs_guests(old) & ~me;
		new = old & ~(scs_bits(me, SCS_GUEST_BYTE) | scs_bits(me, SCS_KICK_BYTE));
		new |= scs_bits(me, SCS_HOST_BYTE) | scs_bits(guests, SCS_KICK_BYTE);
	} while (!atomic_try_cmpxchg(&core->state, &old, new));

	return old;
}

/*
 * Become HOST, from any place, in task context with interrupts disabled,
 * so that no interrupt runs host code between the claim and the siblings'
 * leaving.  Two CPUs becoming HOST together send one IPI each sibling.
 * @why: what takes the core, for the kick tracepoint.  Returns the state
 * word as it was before.
 */
static unsigned int scs_become_host(struct sched_core_vm_cpu *vc,
				    const char *why)
{
	unsigned int me = BIT(vc->slot), old, guests, kicked;

	lockdep_assert_irqs_disabled();
	scs_check(vc, SCS_WHERE_WAIT);
	old = scs_claim(vc);
	guests = scs_guests(old) & ~me;
	if (guests && !scs_injected(SCS_INJECT_SKIP_KICK)) {
		kicked = guests & ~scs_kicks(old);
		scs_kick(vc, kicked);
		if (!scs_injected(SCS_INJECT_SKIP_WAIT))
			scs_wait_out(vc, guests);
		scs_trace_kicks(vc, kicked, why);
	}
	scs_check(vc, SCS_WHERE_HOST);

	return old;
}

/*
 * Stop being HOST, into WAIT or IDLE: siblings may enter guest mode.  Wake
 * those that sleep waiting for that first, while we are still HOST: waking
 * a task is host scheduler code.  A sleeper that comes after the look
 * below, or whose host sibling was an NMI (no waking from there), is woken
 * by its timeout, a tick at most.
 */
static void scs_leave_host(struct sched_core_vm_cpu *vc, int where)
{
	unsigned int me = BIT(vc->slot), state;

	state = atomic_read(&vc->core->state);
	if (scs_sleepers(state) && !(scs_hosts(state) & ~me) && !in_nmi())
		wake_up_all(&vc->core->sleepers);

	/* The record first: a sibling let in by the next line may check it. */
	scs_check(vc, where);
	/* Fully ordered: our host code is done before a sibling is let in. */
	atomic_fetch_andnot(scs_bits(me, SCS_HOST_BYTE), &vc->core->state);
}

/* WAIT -> GUEST if no sibling is HOST. */
static bool scs_try_enter(struct sched_core_vm_cpu *vc)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned int me = BIT(vc->slot), old, new;

	/*
	 * Fully ordered, and pairs with the fetch_andnot of scs_leave_host()
	 * and the exchange of scs_claim(): a sibling's host code is over
	 * before we see its host bit clear, and a sibling that sets its host
	 * bit after this sees our guest bit and kicks us.
	 */
	old = atomic_read(&core->state);
	do {
		if (scs_hosts(old))
			return false;
		new = old | scs_bits(me, SCS_GUEST_BYTE);
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
	return scs_hosts(atomic_read(&vc->core->state));
}

/*
 * What an NMI-like or (strict) interrupt entry did, for its exit to undo;
 * the checker's record of where the CPU was is kept above the low bits.
 */
#define SCS_TAKE_HOST		1U	/* we set our host bit */
#define SCS_TAKE_GUEST		2U	/* ... in place of our guest bit */
#define SCS_TAKE_MASK		3U
#define SCS_TAKE_WHERE_SHIFT	2

/*
 * Take the core for the host from any place, in any context, NMI
 * included: a handler is about to run.  @strict: an idle or waiting CPU
 * (no bit) takes it too; otherwise that is the documented exception.
 * The kick goes to every sibling in guest mode, claimed or not: a claimer
 * we interrupted may not have sent its IPIs yet.  @why: the kind of
 * entry, for the kick tracepoint.
 */
static unsigned int scs_take(struct sched_core_vm_cpu *vc, bool strict,
			     const char *why)
{
	unsigned int me, state, old, guests, token;

	/* Before its first CPUHP_AP_SCHED_STARTING a CPU has no core: no guest. */
	if (unlikely(!vc->core))
		return 0;

	me = BIT(vc->slot);
	state = atomic_read(&vc->core->state);
	if (scs_hosts(state) & me) {
		/* Only an NMI-like entry lands in a claim's kick and wait. */
		guests = scs_guests(state) & ~me;
		if (guests) {
			/* Untraced: the claim we interrupted traces its own. */
			scs_kick(vc, guests);
			scs_wait_out(vc, guests);
		}
		return 0;
	}
	if (!(scs_guests(state) & me) && !strict)
		return 0;

	token = scs_where(vc) << SCS_TAKE_WHERE_SHIFT;
	scs_check(vc, SCS_WHERE_WAIT);
	old = scs_claim(vc);
	token |= scs_guests(old) & me ? SCS_TAKE_GUEST : SCS_TAKE_HOST;
	guests = scs_guests(old) & ~me;
	if (guests && !scs_injected(SCS_INJECT_SKIP_KICK)) {
		scs_kick(vc, guests);
		if (!scs_injected(SCS_INJECT_SKIP_WAIT))
			scs_wait_out(vc, guests);
		scs_trace_kicks(vc, guests, why);
	}
	scs_check(vc, SCS_WHERE_HOST);

	return token;
}

/* Undo scs_take(): back to where the handler found the CPU, if we can. */
static void scs_give_back(struct sched_core_vm_cpu *vc, unsigned int token)
{
	struct sched_core_vm_core *core = vc->core;
	unsigned int me = BIT(vc->slot), old, new;
	int where = token >> SCS_TAKE_WHERE_SHIFT;

	switch (token & SCS_TAKE_MASK) {
	case SCS_TAKE_HOST:
		scs_leave_host(vc, where);
		break;
	case SCS_TAKE_GUEST:
		/*
		 * Back into GUEST as scs_try_enter() would, and as fully
		 * ordered.  If a sibling became HOST meanwhile we may not: we
		 * stay HOST, and an IPI to ourselves makes the VM-entry that
		 * the interrupted code may be about to make exit at once.
		 * Neither record while the word changes under the checker.
		 */
		scs_check(vc, SCS_WHERE_WAIT);
		old = atomic_read(&core->state);
		do {
			if (scs_hosts(old) & ~me) {
				scs_check(vc, SCS_WHERE_HOST);
				arch_sched_core_kick(smp_processor_id());
				return;
			}
			new = (old & ~scs_bits(me, SCS_HOST_BYTE)) |
			      scs_bits(me, SCS_GUEST_BYTE);
		} while (!atomic_try_cmpxchg(&core->state, &old, new));
		scs_check(vc, where);
		break;
	}
}

/*
 * NMI-like entries (NMI, machine check, #DB and #BP in the kernel), called
 * by the entry code once it is safe to instrument, before any handler.
 */
unsigned int __sched_core_vm_nmi_enter(void)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);
	unsigned int token;

	token = scs_take(vc, static_branch_unlikely(&sched_core_vm_strict_key),
			 "nmi");
	if (token)
		scs_count(nmi_takes, 1);
	return token;
}

void __sched_core_vm_nmi_exit(unsigned int token)
{
	scs_give_back(this_cpu_ptr(&sched_core_vm_cpus), token);
}

/* coresched=vm,strict: an interrupt or exception entry, from the kernel. */
unsigned int __sched_core_vm_irq_enter(void)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);
	unsigned int token;

	token = scs_take(vc, true, "irq");
	if (token)
		scs_count(irq_takes, 1);
	return token;
}

void __sched_core_vm_irq_exit(unsigned int token)
{
	scs_give_back(this_cpu_ptr(&sched_core_vm_cpus), token);
}

/*
 * Back to host code from WAIT, where interrupts are enabled: disable them,
 * so that no handler runs between the claim and the siblings' leaving.
 * @why: what ended the wait, for the kick tracepoint.
 */
static void scs_wait_abort(struct sched_core_vm_cpu *vc, const char *why)
{
	guard(irqsave)();
	scs_become_host(vc, why);
}

/*
 * How long a vCPU spins for a sibling's host code before it gives the CPU
 * up (sched_core_guest_sleep()), adapted per CPU as halt polling adapts
 * its polling time: doubled when a sleep is cut short by the sibling
 * leaving host code (a little more spinning would have done), halved when
 * waits end well within it, and kept between a floor longer than most
 * exits take to handle in the kernel and a tick.
 */
static u64 scs_spin_min_ns = 50 * NSEC_PER_USEC;
static u64 scs_spin_max_ns = TICK_NSEC;

static u64 scs_spin_bound(struct sched_core_vm_cpu *vc)
{
	u64 lo = READ_ONCE(scs_spin_min_ns), hi = READ_ONCE(scs_spin_max_ns);

	return clamp(READ_ONCE(vc->spin_ns), lo, max(lo, hi));
}

static void scs_spin_adapt(struct sched_core_vm_cpu *vc, u64 bound, bool grow)
{
	WRITE_ONCE(vc->spin_ns, grow ? bound * 2 : bound / 2);
}

/**
 * sched_core_guest_wait - wait until this CPU may enter guest mode
 * @stop: says whether the caller must run host work first
 * @arg: its argument
 * @wait_ns: the time waited is added here
 *
 * Called with preemption disabled and interrupts enabled, right before a
 * hypervisor disables interrupts to enter guest mode.  Spins until no SMT
 * sibling runs host code, or until @stop() is true, which it must be when
 * the task needs to reschedule or has a signal pending, or for a bounded
 * time.  The caller then disables interrupts, calls
 * sched_core_guest_enter() and enters, or calls sched_core_guest_cancel()
 * if it does not.
 *
 * Return: 0 if the wait ended for lack of a host sibling; -EAGAIN if
 * @stop() ended it, or -EBUSY if a sibling ran host code for longer than
 * the spin may last: the CPU then runs host code again, and after -EBUSY
 * the caller should give the CPU up in sched_core_guest_sleep() before it
 * tries again.
 */
int sched_core_guest_wait(bool (*stop)(void *arg), void *arg, u64 *wait_ns)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);
	u64 start, now, spin_ns = scs_spin_bound(vc);
	int ret = 0;

	lockdep_assert_preemption_disabled();
	lockdep_assert_irqs_enabled();
	scs_leave_host(vc, SCS_WHERE_WAIT);
	if (!scs_host_sibling(vc))
		return 0;

	start = local_clock();
	now = start;
	/*
	 * Ends when the sibling drops its host bit (entering guest mode,
	 * waiting, or idle), when @stop() sees work for this task (an
	 * interrupt that needs a reschedule sets need_resched, which @stop()
	 * sees), or when the sibling has had the core for too long.
	 */
	while (scs_host_sibling(vc)) {
		if (stop(arg))
			ret = -EAGAIN;
		else if (now - start > spin_ns)
			ret = -EBUSY;
		if (ret) {
			scs_wait_abort(vc, ret == -EBUSY ? "spin" : "wait");
			break;
		}
		cpu_relax();
		now = local_clock();
	}
	now = local_clock() - start;
	*wait_ns += now;
	scs_count(wait_enter_ns, now);
	trace_sched_core_wait(true, now);
	if (!ret && now < spin_ns / 4)
		scs_spin_adapt(vc, spin_ns, false);

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
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);

	lockdep_assert_irqs_disabled();
	if (!scs_try_enter(vc))
		return false;
	if (!scs_injected(SCS_INJECT_STALL))
		return true;
	scs_stall(vc);
	/* The NMI that ended the stall may have left us HOST: cancel then. */
	return scs_in_guest_mode(vc);
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
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus), "cancel");
}
EXPORT_SYMBOL_GPL(sched_core_guest_cancel);

/* The time current spent runnable but not running, as far as it is known. */
static u64 scs_run_delay(void)
{
#ifdef CONFIG_SCHED_INFO
	return current->sched_info.run_delay;
#else
	return 0;
#endif
}

/**
 * sched_core_guest_sleep - give the CPU up until no sibling runs host code
 * @stop: says whether the caller must run host work first
 * @arg: its argument
 * @w: where the hypervisor wakes the task for work of its own (an interrupt
 *     for its vCPU), or NULL
 * @wait_ns: the time slept is added here (not the time runnable after
 *	     the wakeup, which the scheduler accounts for, as run delay)
 *
 * Called in task context, preemptible, after sched_core_guest_wait()
 * returned -EBUSY: sleeps until the siblings of the core the task was on
 * leave host code, so that the core runs their work, or idles, rather
 * than spin.  A tick at most: the core scheduler may have moved the task,
 * or an NMI handler, which cannot wake us, may have been the host code.
 */
void sched_core_guest_sleep(bool (*stop)(void *arg), void *arg,
			    struct rcuwait *w, u64 *wait_ns)
{
	struct sched_core_vm_core *core;
	struct sched_core_vm_cpu *vc;
	bool host, grow = false;
	unsigned int me, old;
	DEFINE_WAIT(wait);
	u64 start, runnable;

	might_sleep();
	start = local_clock();
	runnable = scs_run_delay();
	scoped_guard(preempt) {
		vc = this_cpu_ptr(&sched_core_vm_cpus);
		core = vc->core;
		me = BIT(vc->slot);
	}
	prepare_to_wait(&core->sleepers, &wait, TASK_INTERRUPTIBLE);
	if (w)
		prepare_to_rcuwait(w);
	/*
	 * Fully ordered: pairs with scs_leave_host(), and orders the waiter
	 * published in @w before @stop() looks for work (pairs with the
	 * barrier of rcuwait_wake_up()).
	 */
	old = atomic_fetch_or(scs_bits(me, SCS_SLEEP_BYTE), &core->state);
	/*
	 * One sleep bit per slot: the first of two sleepers of one slot to
	 * wake clears it, and the other waits for its timeout.  The spin
	 * should have lasted longer if the siblings left host code before we
	 * could sleep, or woke us before the timeout: two vCPUs whose spins
	 * are shorter than each other's way back into guest mode would
	 * otherwise keep each other out, each giving up while the other is
	 * on that way.
	 */
	host = scs_hosts(old) & ~me;
	if (!stop(arg))
		grow = !host || schedule_timeout(1);
	if (w)
		finish_rcuwait(w);
	finish_wait(&core->sleepers, &wait);
	atomic_andnot(scs_bits(me, SCS_SLEEP_BYTE), &core->state);
	if (grow)
		scs_spin_adapt(vc, scs_spin_bound(vc), true);
	/* The time runnable after the wakeup is the scheduler's to report. */
	runnable = scs_run_delay() - runnable;

	start = local_clock() - start;
	start -= min(start, runnable);
	*wait_ns += start;
	scs_count(wait_enter_ns, start);
	trace_sched_core_wait(true, start);
}
EXPORT_SYMBOL_GPL(sched_core_guest_sleep);

/**
 * __sched_core_guest_poll_begin - a vCPU thread polls for its own events
 *
 * Called in task context by a hypervisor about to poll, before it blocks,
 * for events of the vCPU the task runs, touching nothing but that vCPU's
 * state, the clock and whether it should stop: siblings may enter guest
 * mode meanwhile, as beside a CPU that waits to enter.  Preemption stays
 * disabled until __sched_core_guest_poll_end(), and the caller must make
 * sure that nothing it polls sleeps: with CONFIG_PREEMPT_COUNT, code that
 * may sleep sees that it must not (in_atomic()); without, polling does not
 * count as waiting (see <linux/sched/coresched.h>).
 */
void __sched_core_guest_poll_begin(void)
{
	lockdep_assert_irqs_enabled();
	preempt_disable();
	scs_leave_host(this_cpu_ptr(&sched_core_vm_cpus), SCS_WHERE_WAIT);
}
EXPORT_SYMBOL_GPL(__sched_core_guest_poll_begin);

/**
 * __sched_core_guest_poll_end - the polling is over: back to host code
 */
void __sched_core_guest_poll_end(void)
{
	scs_wait_abort(this_cpu_ptr(&sched_core_vm_cpus), "poll");
	preempt_enable();
}
EXPORT_SYMBOL_GPL(__sched_core_guest_poll_end);

/*
 * Become HOST after a VM-exit, or for host work an exit handler needs
 * (@why, for the kick tracepoint); an exit from guest mode is a slow exit.
 */
static void scs_exit(struct sched_core_vm_cpu *vc, const char *why)
{
	unsigned int me = BIT(vc->slot), old;

	old = scs_become_host(vc, why);
	if (scs_guests(old) & me)
		scs_count(slow_exits, 1);
	if (scs_kicks(old) & me)
		scs_count(kicks_received, 1);
}

/**
 * sched_core_guest_exit - leave guest mode for host code
 *
 * Called after a VM-exit that the hypervisor does not handle in guest
 * mode, with interrupts still disabled and before any exit handler runs:
 * kicks the siblings out of guest mode and waits until they are out.
 */
void sched_core_guest_exit(void)
{
	lockdep_assert_irqs_disabled();
	scs_exit(this_cpu_ptr(&sched_core_vm_cpus), "exit");
}
EXPORT_SYMBOL_GPL(sched_core_guest_exit);

/**
 * sched_core_guest_fastpath - a VM-exit was handled in guest mode
 *
 * Called with interrupts disabled before re-entering guest mode without
 * sched_core_guest_wait().
 *
 * Return: true if the CPU is still in guest mode as far as its siblings
 * are concerned and may re-enter; false if the core was taken for the
 * host meanwhile (by the exit's handler, sched_core_guest_host_work(), or
 * by an NMI-like handler that could not give it back), or a sibling is
 * taking it: the exit must then end the slow way.
 */
bool sched_core_guest_fastpath(void)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);
	unsigned int state;

	lockdep_assert_irqs_disabled();
	/*
	 * A sibling that claimed the core waits for us: its IPI would end
	 * the re-entry at once, so save that entry and leave now.
	 */
	state = atomic_read(&vc->core->state);
	if (!(scs_guests(state) & BIT(vc->slot)) || scs_hosts(state))
		return false;
	scs_count(fastpath_exits, 1);
	return true;
}
EXPORT_SYMBOL_GPL(sched_core_guest_fastpath);

/*
 * Whether this CPU counts as in guest mode for its siblings, between
 * sched_core_guest_enter() and the end of the exit, which it does only
 * ever with interrupts disabled: callers with interrupts enabled (code
 * that also runs for host work) get false, and the others stay on this
 * CPU while they look.
 */
bool __sched_core_guest_mode(void)
{
	if (!irqs_disabled())
		return false;
	return scs_in_guest_mode(this_cpu_ptr(&sched_core_vm_cpus));
}
EXPORT_SYMBOL_GPL(__sched_core_guest_mode);

/**
 * sched_core_guest_host_work - an exit handled in guest mode needs the host
 *
 * Called with interrupts disabled by an exit handler that runs in guest
 * mode and finds, half way, that it must run host code: takes the core for
 * the host now, kicking the siblings out of guest mode.  The hypervisor's
 * sched_core_guest_fastpath() then ends the exit the slow way.
 */
void sched_core_guest_host_work(void)
{
	struct sched_core_vm_cpu *vc = this_cpu_ptr(&sched_core_vm_cpus);

	lockdep_assert_irqs_disabled();
	if (scs_in_guest_mode(vc))
		scs_exit(vc, "host-work");
}
EXPORT_SYMBOL_GPL(sched_core_guest_host_work);

/* The idle loop starts: siblings may run guest code meanwhile. */
void __sched_core_vm_idle_enter(void)
{
	WARN_ON_ONCE(!is_idle_task(current));
	scs_leave_host(this_cpu_ptr(&sched_core_vm_cpus), SCS_WHERE_IDLE);
}

/* The idle loop ends to run a task: get the siblings out of guest mode first. */
void __sched_core_vm_idle_exit(void)
{
	guard(irqsave)();
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus), "idle");
}

/*
 * Siblings may come up in parallel (parallel CPU bring-up): the state words
 * are handed out one CPU at a time.  Taken with interrupts disabled, on the
 * CPU that comes up.
 */
static DEFINE_RAW_SPINLOCK(scs_map_lock);

/* @cpu's slot in @core: the one it had, or a new one. */
static int scs_slot_of(struct sched_core_vm_core *core, unsigned int cpu)
{
	unsigned int slot;

	for (slot = 0; slot < core->nr_slots; slot++) {
		if (core->cpu[slot] == cpu)
			return slot;
	}
	if (slot == SCS_MAX_THREADS)
		return -ENOSPC;

	WRITE_ONCE(core->cpu[slot], cpu);
	/* Readers look at nr_slots, then at cpu[]: publish in that order. */
	smp_store_release(&core->nr_slots, slot + 1);
	return slot;
}

/*
 * Give @cpu the state word of its core: that of its online siblings, which
 * all share one, or, if none is online, the one it had or its own.  A CPU
 * that last ran with another word (it came up once while its siblings were
 * down) moves: it holds no bit there, being offline, and no online CPU
 * uses that word any more, all online siblings being in ours.  Each word
 * only ever gets slots for the CPUs of one core.
 */
static void scs_map_cpu(unsigned int cpu)
{
	struct sched_core_vm_cpu *vc = per_cpu_ptr(&sched_core_vm_cpus, cpu);
	struct sched_core_vm_core *core = NULL;
	unsigned int sib;
	int slot;

	lockdep_assert_irqs_disabled();
	guard(raw_spinlock)(&scs_map_lock);

	for_each_cpu(sib, cpu_smt_mask(cpu)) {
		if (sib == cpu || !cpu_online(sib))
			continue;
		core = per_cpu(sched_core_vm_cpus, sib).core;
		if (core)
			break;
	}
	if (!core)
		core = vc->core ?: per_cpu_ptr(&sched_core_vm_cores, cpu);
	if (core == vc->core)
		return;

	/* sched_core_vm_init() made sure cores have no more threads. */
	slot = scs_slot_of(core, cpu);
	if (WARN_ON_ONCE(slot < 0))
		return;

	WRITE_ONCE(vc->slot, slot);
	WRITE_ONCE(vc->core, core);
}

/*
 * @cpu is coming online and runs host code: take the core, from the
 * siblings too.  Called on @cpu with interrupts disabled, after the
 * architecture set up its sibling mask and before it runs any task.
 */
void __sched_core_vm_cpu_starting(unsigned int cpu)
{
	lockdep_assert_irqs_disabled();
	scs_map_cpu(cpu);
	scs_become_host(this_cpu_ptr(&sched_core_vm_cpus), "online");
}

/*
 * Turn the isolation on before the secondary CPUs come up: the boot CPU is
 * mapped here, the others in sched_cpu_starting().
 */
static int __init sched_core_vm_init(void)
{
	unsigned int cpu;

	/* Nothing else shares the state word's cache line. */
	BUILD_BUG_ON(offsetof(struct sched_core_vm_core, nr_slots) < SMP_CACHE_BYTES);

	if (sched_core_mode != SCHED_CORE_MODE_VM)
		return 0;

	if (topology_max_smt_threads() > SCS_MAX_THREADS) {
		pr_warn("coresched=vm: %d threads per core, over the %d VM isolation handles; using coresched=on\n",
			topology_max_smt_threads(), SCS_MAX_THREADS);
		sched_core_mode = SCHED_CORE_MODE_ON;
		sched_core_vm_strict = false;
		return 0;
	}

	for_each_possible_cpu(cpu)
		init_waitqueue_head(&per_cpu(sched_core_vm_cores, cpu).sleepers);

	scoped_guard(irqsave) {
		scs_map_cpu(smp_processor_id());
		scs_become_host(this_cpu_ptr(&sched_core_vm_cpus), "online");
	}
	if (sched_core_vm_strict)
		static_branch_enable(&sched_core_vm_strict_key);
	static_branch_enable(&sched_core_vm_key);
	pr_info("coresched: VM isolation on%s: no guest code beside host code on a core\n",
		sched_core_vm_strict ? ", strict" : "");
	return 0;
}
early_initcall(sched_core_vm_init);

/*
 * Per-VM cookies.  A hypervisor creates one per VM and makes the threads
 * that run its vCPUs adopt it, so that vCPUs of different VMs never share
 * a core.  Task cookies like prctl()'s: a VMM sees them with
 * PR_SCHED_CORE_GET, can share them with its other threads, and fork
 * passes them on; what sets vCPU threads apart, not passed on, is
 * current->core_vcpu.
 */
unsigned long sched_core_vm_cookie_create(void)
{
	return sched_core_alloc_cookie();
}
EXPORT_SYMBOL_GPL(sched_core_vm_cookie_create);

void sched_core_vm_cookie_put(unsigned long cookie)
{
	sched_core_put_cookie(cookie);
}
EXPORT_SYMBOL_GPL(sched_core_vm_cookie_put);

/**
 * sched_core_vm_cookie_adopt - mark current as a vCPU thread of a VM
 * @cookie: the VM's cookie, from sched_core_vm_cookie_create()
 *
 * Makes @cookie current's task cookie unless it has one already: a cookie
 * the VMM chose (or one adopted before) stands.  Marks current as running
 * a vCPU (see sched_core_effective_cookie()).  Called before each entry
 * into guest mode: cheap once done, and done again if a VMM cleared the
 * cookie meanwhile.
 */
void sched_core_vm_cookie_adopt(unsigned long cookie)
{
	struct task_struct *p = current;
	struct rq_flags rf;
	struct rq *rq;

	/* Only we and prctl() set these; prctl() under the locks below. */
	if (READ_ONCE(p->core_vcpu) && READ_ONCE(p->core_task_cookie))
		return;

	rq = task_rq_lock(p, &rf);
	if (!p->core_task_cookie && cookie)
		p->core_task_cookie = sched_core_get_cookie(cookie);
	p->core_vcpu = true;
	sched_core_set_effective(rq, p);
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
		sum.kick_retries += READ_ONCE(vc->kick_retries);
		sum.kick_nmis += READ_ONCE(vc->kick_nmis);
		sum.nmi_takes += READ_ONCE(vc->nmi_takes);
		sum.irq_takes += READ_ONCE(vc->irq_takes);
		sum.wait_kick_ns += READ_ONCE(vc->wait_kick_ns);
		sum.wait_enter_ns += READ_ONCE(vc->wait_enter_ns);
		sum.violations += READ_ONCE(vc->violations);
	}

	seq_printf(m, "slow_exits %llu\n", sum.slow_exits);
	seq_printf(m, "fastpath_exits %llu\n", sum.fastpath_exits);
	seq_printf(m, "kicks_sent %llu\n", sum.kicks_sent);
	seq_printf(m, "kicks_received %llu\n", sum.kicks_received);
	seq_printf(m, "kick_retries %llu\n", sum.kick_retries);
	seq_printf(m, "kick_nmis %llu\n", sum.kick_nmis);
	seq_printf(m, "nmi_takes %llu\n", sum.nmi_takes);
	seq_printf(m, "irq_takes %llu\n", sum.irq_takes);
	seq_printf(m, "wait_kick_ns %llu\n", sum.wait_kick_ns);
	seq_printf(m, "wait_enter_ns %llu\n", sum.wait_enter_ns);
	/* Only the checker counts them: no line rather than a zero that means nothing. */
	if (IS_ENABLED(CONFIG_SCHED_CORE_VM_DEBUG))
		seq_printf(m, "violations %llu\n", sum.violations);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sched_core_vm_stats);

#ifdef CONFIG_SCHED_CORE_VM_DEBUG
static int sched_core_vm_inject_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", scs_inject_name[READ_ONCE(scs_inject)]);
	return 0;
}

static ssize_t sched_core_vm_inject_write(struct file *file,
					  const char __user *ubuf,
					  size_t count, loff_t *ppos)
{
	char buf[16];
	int fault;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';

	fault = sysfs_match_string(scs_inject_name, buf);
	if (fault < 0)
		return fault;

	WRITE_ONCE(scs_inject, fault);
	return count;
}

/* Write a CPU number: an NMI to it, taking the NMI path of scs_take(). */
static ssize_t sched_core_vm_nmi_write(struct file *file, const char __user *ubuf,
				       size_t count, loff_t *ppos)
{
	unsigned int cpu;
	int ret;

	ret = kstrtouint_from_user(ubuf, count, 0, &cpu);
	if (ret)
		return ret;
	/* Only VM isolation claims these NMIs: unclaimed, they are reported. */
	if (!sched_core_vm_active())
		return -ENODEV;
	guard(cpus_read_lock)();
	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;

	arch_sched_core_nmi(cpu);
	return count;
}

static const struct file_operations sched_core_vm_nmi_fops = {
	.write		= sched_core_vm_nmi_write,
	.llseek		= noop_llseek,
};

static int sched_core_vm_inject_open(struct inode *inode, struct file *file)
{
	return single_open(file, sched_core_vm_inject_show, NULL);
}

static const struct file_operations sched_core_vm_inject_fops = {
	.open		= sched_core_vm_inject_open,
	.read		= seq_read,
	.write		= sched_core_vm_inject_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};
#endif /* CONFIG_SCHED_CORE_VM_DEBUG */
#endif /* CONFIG_SCHED_CORE_VM */

static int sched_core_mode_show(struct seq_file *m, void *v)
{
	seq_puts(m, sched_core_mode_names[sched_core_mode]);
#ifdef CONFIG_SCHED_CORE_VM
	if (sched_core_vm_strict)
		seq_puts(m, ",strict");
#endif
	seq_putc(m, '\n');
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
	debugfs_create_u64("wait_spin_min_ns", 0644, sched_core_debugfs_dir,
			   &scs_spin_min_ns);
	debugfs_create_u64("wait_spin_max_ns", 0644, sched_core_debugfs_dir,
			   &scs_spin_max_ns);
	debugfs_create_u64("kick_retry_ns", 0644, sched_core_debugfs_dir,
			   &scs_kick_retry_ns);
	debugfs_create_u64("kick_nmi_ns", 0644, sched_core_debugfs_dir,
			   &scs_kick_nmi_ns);
#endif
#ifdef CONFIG_SCHED_CORE_VM_DEBUG
	debugfs_create_file("inject", 0644, sched_core_debugfs_dir, NULL,
			    &sched_core_vm_inject_fops);
	debugfs_create_file("nmi", 0200, sched_core_debugfs_dir, NULL,
			    &sched_core_vm_nmi_fops);
#endif
	return 0;
}
late_initcall(sched_core_debugfs_init);
