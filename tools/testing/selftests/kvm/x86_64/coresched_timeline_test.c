// SPDX-License-Identifier: GPL-2.0-only
/*
 * Core scheduling guest/host isolation (coresched=vm), seen from inside
 * the guest at the scale of single VM-exits.
 *
 * vCPU A, on one SMT sibling, reads its TSC in a tight loop and logs the
 * stretches it ran without a break.  On the other sibling vCPU B takes
 * VM-exits of one kind: cpuid and msr (handled in the kernel), io (an OUT
 * to userspace, where B's thread spins a few microseconds), hlt (woken by
 * B's APIC timer, its CPU idle meanwhile), ipi (an IPI that wakes halted
 * vCPU C's thread from B's CPU); or, for idle, a thread there nanosleeps
 * so that the idle sibling takes timer interrupts.
 *
 * What runs on B's CPU is stamped in host TSC (ftrace with x86-tsc for the
 * kernel, the test for its own threads) and placed on A's timeline through
 * A's TSC offset.  An event counts only if A ran since the previous event
 * of its class ("contested"): else A was away anyway.  The classes: B in
 * guest mode (A may run beside it in every mode: how often it does tells
 * how many crossings of the others to expect unisolated); host code
 * (anything while B waits for a kick to land); interrupts in the idle
 * task; other interrupts (some taken while waiting to enter guest mode).
 *
 *   coresched=vm         A crosses no host code; interrupts are the
 *                        documented exception, and where B idles (hlt,
 *                        idle) A must be seen crossing them
 *   coresched=vm,strict  A crosses nothing at all
 *   coresched=on, off    the control: A crosses at least half of the
 *                        host code it is expected to
 *
 * Each kind must have produced its own events.  Its runs add up until
 * they can tell (or MAX_RUNS); a forbidden crossing fails it at once.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "apic.h"
#include "processor.h"

#include "coresched_util.h"

#define TIMELINE_PORT		0x2000
#define TIMER_VECTOR		0xec
#define IPI_VECTOR		0xa5
/* A's loop-to-loop TSC deltas, one bin a tick; longer ones are counted apart. */
#define HIST_BINS		8192
#define CALIBRATION_LOOPS	200000
/*
 * A stretch breaks at a gap over GAP_FACTOR times A's 99.9th percentile
 * spacing: small against a kick (IPI, VM-exit, ack), above A's own jitter.
 */
#define GAP_FACTOR		8
/* The logs have a memory slot of their own, mapped 1:1 above 4 GiB. */
#define LOG_SLOT		1
#define LOG_GPA			0x100000000ULL
#define A_LOG_BYTES		(32ULL << 20)
#define B_LOG_BYTES		(8ULL << 20)
#define B_LOG_GPA		(LOG_GPA + A_LOG_BYTES)
#define A_LOG_MAX		(A_LOG_BYTES / sizeof(struct stretch))
#define B_LOG_MAX		(B_LOG_BYTES / sizeof(uint64_t))

/* B's guest time between exits: A, kicked, comes back (ms when emulated) to be kept out again. */
#define B_GAP_US		2000
/* What B's thread spends in userspace per io exit, and how often it reads the TSC there. */
#define IO_SPIN_US		5
#define IO_STEP_US		1
/* Long enough for B's thread to block, and A to come back, before the timer fires. */
#define HLT_TIMER_US		5000
/* Time for C's thread to block after C has executed HLT. */
#define C_SETTLE_US		20
#define B_WAIT_MAX_US		20000
#define SLEEP_US		100
#define MAX_EXITS		100000
#define RUN_MS			1000	/* each run of a kind */
#define START_TIMEOUT_S		30
/* Fewer contested events than this in a class that must be judged: no verdict. */
#define MIN_CONTESTED		20
#define MIN_OWN			20
#define MAX_RUNS		10
#define MIN_EXPECTED		20

#define INSTANCE		"/sys/kernel/tracing/instances/coresched_timeline"

enum { STAGE_TSC = 1, STAGE_CALIBRATED, STAGE_LOGGED, STAGE_B_DONE, STAGE_C_DONE };
enum role { ROLE_A, ROLE_B, ROLE_C };
enum kind { KIND_CPUID, KIND_MSR, KIND_IO, KIND_HLT, KIND_IPI, KIND_IDLE, NR_KINDS };

static const char * const kind_names[NR_KINDS] = {
	"cpuid", "msr", "io", "hlt", "ipi", "idle",
};

/* The classes of events on B's CPU, see the top. */
enum class { CL_GUEST, CL_HOST, CL_IDLE, CL_IRQS, NR_CLASSES };

static const char * const class_names[NR_CLASSES] = {
	"B in guest mode", "host code", "interrupts on the idle sibling",
	"other interrupts on B's CPU",
};

struct stretch {
	uint64_t first, last;
};

/* Guest memory shared by the vCPUs and the host (through addr_gva2hva()). */
struct timeline {
	/* Zeroed before each run; the stops are the host's, the rest the guest's. */
	struct {
		uint32_t a_stop, b_stop, c_stop;
		uint32_t a_logging;
		uint64_t b_samples, b_exits, b_timeouts;
	} run;
	uint32_t kind, c_apic_id;			/* the host's */
	uint64_t brk, b_gap, b_wait_max, c_settle;	/* the host's */
	uint64_t c_halted, c_wakes, a_stretches, hist_over;	/* the guest's */
	uint32_t hist[HIST_BINS];
};

static struct timeline tl;

static void count_delta(uint64_t delta)
{
	if (delta < HIST_BINS)
		tl.hist[delta]++;
	else
		tl.hist_over++;
}

static void guest_a(void)
{
	struct stretch *log = (struct stretch *)LOG_GPA;
	uint64_t first, last, now, brk, n, i;
	bool stop;

	for (;;) {
		GUEST_SYNC2(STAGE_TSC, rdtsc());

		last = rdtsc();
		for (i = 0; i < CALIBRATION_LOOPS; i++) {
			now = rdtsc();
			count_delta(now - last);
			last = now;
		}
		GUEST_SYNC1(STAGE_CALIBRATED);

		brk = READ_ONCE(tl.brk);
		n = 0;
		WRITE_ONCE(tl.run.a_logging, 1);
		first = rdtsc();
		last = first;
		/* The last reading follows the stop: the log spans every event. */
		do {
			stop = READ_ONCE(tl.run.a_stop);
			now = rdtsc();
			count_delta(now - last);
			if (now - last > brk) {
				if (n < A_LOG_MAX)
					log[n] = (struct stretch){ first, last };
				n++;
				first = now;
			}
			last = now;
		} while (!stop);
		if (n < A_LOG_MAX)
			log[n] = (struct stretch){ first, last };
		WRITE_ONCE(tl.a_stretches, n + 1);
		GUEST_SYNC1(STAGE_LOGGED);
	}
}

static void guest_irq_handler(struct ex_regs *regs)
{
	x2apic_write_reg(APIC_EOI, 0);
}

/* Spinning vCPUs read the TSC only now and then: an emulated one may serialise with A's. */
static void pause_a_while(void)
{
	int i;

	for (i = 0; i < 32; i++)
		cpu_relax();
}

static void spin_ticks(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		pause_a_while();
}

/* Spin until *@p differs from @old, for at most tl.b_wait_max ticks. */
static bool wait_change(uint64_t *p, uint64_t old)
{
	uint64_t t0 = rdtsc();

	while (READ_ONCE(*p) == old) {
		if (rdtsc() - t0 > tl.b_wait_max)
			return false;
		pause_a_while();
	}
	return true;
}

static void send_ipi_to_c(void)
{
	x2apic_write_reg(APIC_ICR, ((uint64_t)tl.c_apic_id << 32) |
			 APIC_DEST_PHYSICAL | APIC_DM_FIXED | IPI_VECTOR);
}

static void guest_b_exit(uint32_t kind)
{
	uint32_t eax, ebx, ecx, edx;
	uint64_t wakes;

	switch (kind) {
	case KIND_CPUID:
		__cpuid(0, 0, &eax, &ebx, &ecx, &edx);
		break;
	case KIND_MSR:
		rdmsr(MSR_IA32_APICBASE);
		break;
	case KIND_IO:
		asm volatile("outb %%al, %%dx" : : "a"(0), "d"(TIMELINE_PORT));
		break;
	case KIND_HLT:
		/* The APIC timer counts at KVM's default bus frequency, 1 GHz. */
		x2apic_write_reg(APIC_TMICT, HLT_TIMER_US * 1000);
		asm volatile("sti; hlt; cli");
		break;
	case KIND_IPI:
		/* Only an IPI to a blocked vCPU has its thread to wake. */
		if (!wait_change(&tl.c_halted, 0)) {
			tl.run.b_timeouts++;
			break;
		}
		spin_ticks(tl.c_settle);
		wakes = READ_ONCE(tl.c_wakes);
		send_ipi_to_c();
		if (!wait_change(&tl.c_wakes, wakes))
			tl.run.b_timeouts++;
		break;
	}
}

/* Before each exit B notes the TSC: a moment in guest mode, which A may share in any mode. */
static void guest_b(void)
{
	uint64_t *samples = (uint64_t *)B_LOG_GPA;
	uint64_t n, nr_samples = 0;
	uint32_t kind;

	x2apic_enable();
	x2apic_write_reg(APIC_TDCR, 0xb);	/* divide by 1 */
	x2apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | TIMER_VECTOR);

	for (;;) {
		kind = READ_ONCE(tl.kind);
		for (n = 0; n < MAX_EXITS && !READ_ONCE(tl.run.b_stop); n++) {
			spin_ticks(tl.b_gap);
			if (nr_samples < B_LOG_MAX)
				samples[nr_samples++] = rdtsc();
			guest_b_exit(kind);
		}
		/* C waits for one more IPI to see that the run is over. */
		if (kind == KIND_IPI)
			send_ipi_to_c();
		WRITE_ONCE(tl.run.b_exits, n);
		WRITE_ONCE(tl.run.b_samples, nr_samples);
		nr_samples = 0;
		GUEST_SYNC1(STAGE_B_DONE);
	}
}

static void guest_c(void)
{
	x2apic_enable();

	for (;;) {
		WRITE_ONCE(tl.c_halted, 1);
		asm volatile("sti; hlt; cli");
		WRITE_ONCE(tl.c_halted, 0);
		WRITE_ONCE(tl.c_wakes, tl.c_wakes + 1);
		if (READ_ONCE(tl.run.c_stop))
			GUEST_SYNC1(STAGE_C_DONE);
	}
}

static void guest_code(uint64_t role)
{
	static void (* const roles[])(void) = { guest_a, guest_b, guest_c };

	GUEST_ASSERT(role < ARRAY_SIZE(roles));
	roles[role]();
}

static struct kvm_vm *vm;
static struct kvm_vcpu *vcpus[3];
static struct timeline *sh;
static struct stretch *a_log;
static uint64_t *b_log;
static uint64_t a_offset, b_offset;	/* a vCPU's TSC minus the host's */
static uint64_t tsc_khz;
static int cpu_a = -1, cpu_b = -1, cpu_c = -1;
static enum cs_mode mode;
static pid_t c_tid;

/* Host TSC readings of the test's own threads on B's CPU. */
static struct {
	uint64_t *tsc;
	size_t nr, max;
} uread;
static int sleeper_stop;

static uint64_t us_to_ticks(uint64_t us)
{
	return us * tsc_khz / 1000;
}

static double ticks_to_us(uint64_t ticks)
{
	return ticks * 1000.0 / tsc_khz;
}

static void record(uint64_t tsc)
{
	if (uread.nr < uread.max)
		uread.tsc[uread.nr++] = tsc;
}

/* "2-,3+": CPU 2 offline, then CPU 3 online; each step must take. */
static void hotplug(const char *seq)
{
	char *copy = strdup(seq), *tok, *save, *end;
	long cpu;
	int ret;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		cpu = strtol(tok, &end, 10);
		TEST_ASSERT(end != tok && (*end == '+' || *end == '-') && !end[1],
			    "-H: '%s' is not CPU+ or CPU-", tok);
		ret = cs_cpu_set_online(cpu, *end == '+');
		TEST_ASSERT(!ret, "cpu%ld %s: %s", cpu, *end == '+' ? "online" : "offline",
			    strerror(-ret));
		ksft_print_msg("cpu%ld %s\n", cpu, *end == '+' ? "online" : "offline");
	}
	free(copy);
}

/* C outside A and B's core if it can be, else with B: its wake-up must not kick A. */
static void pick_cpus(void)
{
	cpu_set_t sibs;
	int cpu;

	TEST_ASSERT(cs_pick_siblings(&cpu_a, &cpu_b, &sibs),
		    "no online SMT siblings to run A (cpu%d) and B (cpu%d) on", cpu_a, cpu_b);
	for (cpu = 0; cpu_c < 0 && cpu < CPU_SETSIZE; cpu++)
		if (!CPU_ISSET(cpu, &sibs) && cs_cpu_online(cpu))
			cpu_c = cpu;
	if (cpu_c < 0)
		cpu_c = cpu_b;
}

/* Kernel counters of the isolation (coresched=vm), to show how it worked. */
#define NR_STATS	8

struct stats {
	char name[NR_STATS][32];
	uint64_t val[NR_STATS];
	int nr;
};

static void stats_print(const char *kind, struct stats *a, struct stats *b)
{
	char buf[512];
	int i, len = 0;

	for (i = 0; i < a->nr && i < b->nr; i++)
		len += snprintf(buf + len, sizeof(buf) - len, " %s +%lu",
				b->name[i], b->val[i] - a->val[i]);
	if (len)
		ksft_print_msg("%s: coresched stats:%s\n", kind, buf);
}

/*
 * In a trace instance of our own.  sched_core_wait (coresched=vm) tells
 * when B waited for its kick to land: host code, whatever the context.
 */
static const char * const trace_events[] = {
	"kvm/kvm_cpuid", "kvm/kvm_msr", "kvm/kvm_pio", "kvm/kvm_vcpu_wakeup",
	"sched/sched_waking", "sched/sched_core_wait", "irq_vectors/local_timer_entry",
	"irq_vectors/reschedule_entry", "irq_vectors/call_function_entry",
	"irq_vectors/call_function_single_entry", "irq_vectors/irq_work_entry",
	"irq/irq_handler_entry", "irq/softirq_entry",
};

static void trace_write(const char *file, const char *val)
{
	char path[256];
	int ret;

	snprintf(path, sizeof(path), INSTANCE "/%s", file);
	ret = cs_write_file(path, val);
	TEST_ASSERT(!ret, "writing '%s' to %s: %s", val, path, strerror(-ret));
}

static void trace_cleanup(void)
{
	rmdir(INSTANCE);
}

static void trace_setup(void)
{
	char path[256];
	size_t i;

	TEST_REQUIRE(!access("/sys/kernel/tracing/instances", F_OK));
	rmdir(INSTANCE);	/* left over by a killed run */
	TEST_ASSERT(!mkdir(INSTANCE, 0755), "mkdir " INSTANCE ": %s", strerror(errno));
	atexit(trace_cleanup);

	trace_write("tracing_on", "0");
	/* The raw TSC: what A's log is in, offset aside. */
	trace_write("trace_clock", "x86-tsc");
	trace_write("buffer_size_kb", "4096");
	for (i = 0; i < ARRAY_SIZE(trace_events); i++) {
		snprintf(path, sizeof(path), INSTANCE "/events/%s/enable", trace_events[i]);
		if (cs_write_file(path, "1"))
			ksft_print_msg("no trace event %s\n", trace_events[i]);
	}
}

struct event {
	uint64_t tsc;		/* in A's TSC */
	int pid;		/* the task it ran in */
	bool irq;		/* in interrupt context */
	bool own;		/* the kind's own event: its exits happened */
	char name[32];
};

struct events {
	struct event *v;
	size_t nr, max;
};

/* @v, an array of @nr elements of @size with room for *@max, with room for one more. */
static void *grow(void *v, size_t nr, size_t *max, size_t size)
{
	if (nr < *max)
		return v;
	*max = *max ? 2 * *max : 1024;
	v = realloc(v, *max * size);
	TEST_ASSERT(v, "out of memory");
	return v;
}

static void add_event(struct events *e, uint64_t host_tsc, bool own, const char *name,
		      int pid, bool irq)
{
	struct event *ev;

	e->v = grow(e->v, e->nr, &e->max, sizeof(*e->v));
	ev = &e->v[e->nr++];

	*ev = (struct event){ .tsc = host_tsc + a_offset, .pid = pid, .irq = irq, .own = own };
	snprintf(ev->name, sizeof(ev->name), "%s", name);
}

static int cmp_event(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	return x->tsc < y->tsc ? -1 : x->tsc > y->tsc;
}

/*
 * "comm-pid [cpu] flags tsc: event: fields"; false if not an event.  A
 * clock in seconds (with a fraction) does not parse.  The third flag tells
 * interrupt context (h, s, H, z, Z) from task context (.).
 */
static bool parse_trace_line(char *line, int *pid, uint64_t *tsc, bool *irq, char *name,
			     char **fields)
{
	char *open, *p, flags[16];
	int n = 0, len;

	for (open = strchr(line, '['); open; open = strchr(open + 1, '[')) {
		if (sscanf(open, "[%*[0-9]]%n", &n) >= 0 && n)
			break;
	}
	if (!open || line[0] == '#')
		return false;
	/* The pid: the digits after the last '-' before "[cpu]", as comms hold any. */
	*open = '\0';
	p = strrchr(line, '-');
	if (!p || p[1] < '0' || p[1] > '9' ||
	    sscanf(open + n, " %15s %lu: %63[^:]:%n", flags, tsc, name, &len) != 3)
		return false;
	*pid = atoi(p + 1);
	*irq = strlen(flags) > 2 && strchr("hsHzZ", flags[2]);
	*fields = open + n + len;
	return true;
}

/* The stretch of @nr, in time order, that starts last at or before @t, -1 if none. */
static long stretch_before(const struct stretch *s, size_t nr, uint64_t t)
{
	long lo = 0, hi = (long)nr - 1, mid, found = -1;

	while (lo <= hi) {
		mid = (lo + hi) / 2;
		if (s[mid].first <= t) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* B's CPU's waits for its kicked siblings to leave guest mode, in A's TSC, in order. */
static struct {
	struct stretch *v;
	size_t nr, max;
} kick_waits;

static bool in_wait(uint64_t t)
{
	long w = stretch_before(kick_waits.v, kick_waits.nr, t);

	return w >= 0 && t <= kick_waits.v[w].last;
}

/*
 * What B's CPU was doing at an event.  Once it kicks its siblings it has
 * the core: host code.  Otherwise interrupts are coresched=vm's exception:
 * the idle task's (pid 0), and those taken while waiting to enter guest
 * mode, which the trace cannot tell from others: so all of them.
 */
enum b_state { B_HOST, B_KICKING, B_IDLE, B_IRQ };

static const struct {
	enum class class;
	const char *where;
} b_states[] = {
	[B_HOST]	= { CL_HOST, "" },
	[B_KICKING]	= { CL_HOST, " (B waiting for its kick)" },
	[B_IDLE]	= { CL_IDLE, " (B's CPU idle)" },
	[B_IRQ]		= { CL_IRQS, " (an interrupt)" },
};

static enum b_state b_state(struct event *ev)
{
	if (in_wait(ev->tsc))
		return B_KICKING;
	if (!ev->pid)
		return B_IDLE;
	if (ev->irq)
		return B_IRQ;
	return B_HOST;
}

/* The trace event that shows an exit of each kind happened. */
static const char * const own_events[NR_KINDS] = {
	[KIND_CPUID]	= "kvm_cpuid",
	[KIND_MSR]	= "kvm_msr",
	[KIND_HLT]	= "kvm_vcpu_wakeup",
	[KIND_IPI]	= "sched_waking",	/* of C's thread */
};

/* B's CPU's trace into @all, the kind's own events marked; kick waits into kick_waits. */
static void read_trace(enum kind kind, struct events *all, uint64_t *lost)
{
	char path[256], name[64], wait[16], *line = NULL, *fields;
	size_t len = 0;
	uint64_t tsc, ns;
	int pid, wakee;
	bool own, irq;
	FILE *f;

	snprintf(path, sizeof(path), INSTANCE "/per_cpu/cpu%d/stats", cpu_b);
	f = fopen(path, "r");
	*lost = 0;
	if (f) {
		while (getline(&line, &len, f) > 0)
			sscanf(line, "overrun: %lu", lost);
		fclose(f);
	}

	kick_waits.nr = 0;
	snprintf(path, sizeof(path), INSTANCE "/per_cpu/cpu%d/trace", cpu_b);
	f = fopen(path, "r");
	TEST_ASSERT(f, "%s: %s", path, strerror(errno));
	while (getline(&line, &len, f) > 0) {
		if (!parse_trace_line(line, &pid, &tsc, &irq, name, &fields))
			continue;
		/* Only kick waits end with the kicked siblings out. */
		if (!strcmp(name, "sched_core_wait") &&
		    sscanf(fields, " kind=%15s ns=%lu", wait, &ns) == 2) {
			if (!strcmp(wait, "enter"))
				continue;
			kick_waits.v = grow(kick_waits.v, kick_waits.nr, &kick_waits.max,
					    sizeof(*kick_waits.v));
			kick_waits.v[kick_waits.nr++] = (struct stretch){
				tsc + a_offset - ns * tsc_khz / 1000000, tsc + a_offset };
		}
		own = own_events[kind] && !strcmp(name, own_events[kind]) &&
		      (kind != KIND_IPI ||
		       (sscanf(strstr(fields, "pid=") ?: "", "pid=%d", &wakee) == 1 &&
			wakee == c_tid));
		add_event(all, tsc, own, name, pid, irq);
	}
	free(line);
	fclose(f);
}

#define NR_EXAMPLES	3

struct verdict {
	uint64_t events, own, contested, crossed, before, after;
	uint64_t gap_min, gap_med, lead_med;
	/* The first events crossed: what, and A's stretch around them. */
	struct example {
		const char *name, *where;
		uint64_t ran_before, ran_after;
	} ex[NR_EXAMPLES];
};

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * Place each event on the @nr known stretches of A's log.  For contested
 * events A did not cross, the gap around them and its lead tell how A was
 * kept out.
 */
static void judge(struct events *e, size_t nr, struct verdict *v)
{
	uint64_t prev = 0, *gaps, *leads, t;
	size_t i, n = 0;
	long s;

	memset(v, 0, sizeof(*v));
	qsort(e->v, e->nr, sizeof(*e->v), cmp_event);
	gaps = calloc(e->nr + 1, sizeof(*gaps));
	leads = calloc(e->nr + 1, sizeof(*leads));
	TEST_ASSERT(gaps && leads, "out of memory");

	for (i = 0; i < e->nr; i++) {
		t = e->v[i].tsc;
		v->events++;
		v->own += e->v[i].own;
		s = stretch_before(a_log, nr, t);
		/* Before A started or after the part of its log we have. */
		if (s < 0) {
			v->before++;
			continue;
		}
		if ((size_t)s == nr - 1 && a_log[s].last < t) {
			v->after++;
			continue;
		}
		if (t <= a_log[s].last) {
			if (v->crossed < NR_EXAMPLES)
				v->ex[v->crossed] = (struct example){ e->v[i].name,
					b_states[b_state(&e->v[i])].where, t - a_log[s].first,
					a_log[s].last - t };
			v->contested++;
			v->crossed++;
		} else if (a_log[s].last > prev) {
			v->contested++;
			gaps[n] = a_log[s + 1].first - a_log[s].last;
			leads[n] = t - a_log[s].last;
			n++;
		}
		prev = t;
	}
	if (n) {
		qsort(gaps, n, sizeof(*gaps), cmp_u64);
		qsort(leads, n, sizeof(*leads), cmp_u64);
		v->gap_min = gaps[0];
		v->gap_med = gaps[n / 2];
		v->lead_med = leads[n / 2];
	}
	free(gaps);
	free(leads);
}

static void print_verdict(const char *kind, const char *what, struct verdict *v)
{
	if (!v->events)
		return;
	ksft_print_msg("%s: %s: %lu events (%lu of the kind), %lu contested, %lu crossed by A\n",
		       kind, what, v->events, v->own, v->contested, v->crossed);
	if (v->before || v->after)
		ksft_print_msg("%s: %s: %lu before A's log, %lu after it\n",
			       kind, what, v->before, v->after);
	if (v->contested > v->crossed)
		ksft_print_msg("%s: %s: A out: gaps from %.1f us, median %.1f us, %.1f us before\n",
			       kind, what, ticks_to_us(v->gap_min), ticks_to_us(v->gap_med),
			       ticks_to_us(v->lead_med));
}

/* The @permille-th of A's loop-to-loop spacings, in ticks; HIST_BINS off the histogram. */
static uint64_t hist_permille(int permille)
{
	uint64_t n = sh->hist_over, sum = 0;
	size_t i;

	for (i = 0; i < HIST_BINS; i++)
		n += sh->hist[i];
	for (i = 0; i < HIST_BINS; i++) {
		sum += sh->hist[i];
		if (sum * 1000 >= n * permille)
			return i;
	}
	return HIST_BINS;
}

static void *a_thread(void *arg)
{
	struct kvm_vcpu *a = vcpus[ROLE_A];
	uint64_t h0, h1, g, spacing;
	struct ucall uc;

	kvm_pin_this_task_to_pcpu(cpu_a);

	/*
	 * A's TSC, read in the guest between two host readings, must fall
	 * between them once offset: the events are converted with it.
	 */
	h0 = rdtsc();
	cs_run_to(a, STAGE_TSC, &uc);
	h1 = rdtsc();
	g = uc.args[1];
	TEST_ASSERT(h0 + a_offset <= g && g <= h1 + a_offset,
		    "A's TSC %lu not in [%lu, %lu] + offset %ld (moved by an unstable host TSC?)",
		    g, h0, h1, (int64_t)a_offset);

	memset(sh->hist, 0, sizeof(sh->hist));
	sh->hist_over = 0;
	cs_run_to(a, STAGE_CALIBRATED, &uc);
	spacing = hist_permille(999);
	TEST_ASSERT(spacing < HIST_BINS, "A's loop takes over %d TSC ticks", HIST_BINS);
	WRITE_ONCE(sh->brk, GAP_FACTOR * (spacing ?: 1));
	memset(sh->hist, 0, sizeof(sh->hist));
	sh->hist_over = 0;

	cs_run_to(a, STAGE_LOGGED, &uc);
	return NULL;
}

/* Known host code on B's CPU, stamped as it runs. */
static void handle_io(void)
{
	uint64_t t0 = rdtsc(), last = t0, t;
	uint64_t step = us_to_ticks(IO_STEP_US), spin = us_to_ticks(IO_SPIN_US);

	record(t0);
	while ((t = rdtsc()) - t0 < spin) {
		if (t - last >= step) {
			record(t);
			last = t;
		}
		pause_a_while();
	}
}

static void *b_thread(void *arg)
{
	struct kvm_vcpu *b = vcpus[ROLE_B];
	struct ucall uc;

	kvm_pin_this_task_to_pcpu(cpu_b);
	for (;;) {
		vcpu_run(b);
		if (b->run->exit_reason == KVM_EXIT_IO &&
		    b->run->io.port == TIMELINE_PORT) {
			handle_io();
			continue;
		}
		switch (get_ucall(b, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[0] == STAGE_B_DONE, "B: stage %lu", uc.args[0]);
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT(uc);
			break;
		default:
			TEST_FAIL("B: unexpected exit %s",
				  exit_reason_str(b->run->exit_reason));
		}
	}
}

static void *c_thread(void *arg)
{
	struct ucall uc;

	kvm_pin_this_task_to_pcpu(cpu_c);
	WRITE_ONCE(c_tid, syscall(SYS_gettid));
	cs_run_to(vcpus[ROLE_C], STAGE_C_DONE, &uc);
	return NULL;
}

/* On B's CPU with B gone: the sibling idles, and takes this thread's timers. */
static void *sleeper_thread(void *arg)
{
	struct timespec ts = { .tv_nsec = SLEEP_US * 1000 };

	kvm_pin_this_task_to_pcpu(cpu_b);
	while (!READ_ONCE(sleeper_stop)) {
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		record(rdtsc());
	}
	return NULL;
}

static void print_a(const char *kind, size_t nr)
{
	uint64_t span, covered = 0;
	size_t i;

	span = a_log[nr - 1].last - a_log[0].first;
	for (i = 0; i < nr; i++)
		covered += a_log[i].last - a_log[i].first;
	ksft_print_msg("%s: A: reads %.3f us apart, 99.9%% within %.3f us; breaks over %.3f us\n",
		       kind, ticks_to_us(hist_permille(500)), ticks_to_us(hist_permille(999)),
		       ticks_to_us(sh->brk));
	ksft_print_msg("%s: A: %zu stretches%s cover %.0f%% of %.2f s\n",
		       kind, nr, nr < sh->a_stretches ? " (log full)" : "",
		       span ? 100.0 * covered / span : 0.0, ticks_to_us(span) / 1e6);
}

enum outcome { PASSED, INCONCLUSIVE, FAILED };

/* A violation: a class crossed that @mode keeps A from.  Says where. */
static bool crossed(const char *kind, const char *what, struct verdict *v)
{
	int i;

	if (!v->crossed)
		return false;
	ksft_print_msg("%s: A ran guest code across %lu events of %s under coresched=%s\n",
		       kind, v->crossed, what, cs_mode_names[mode]);
	for (i = 0; i < NR_EXAMPLES && i < v->crossed; i++)
		ksft_print_msg("%s: e.g. %s%s, A ran %.1f us before, %.1f us after\n",
			       kind, v->ex[i].name, v->ex[i].where,
			       ticks_to_us(v->ex[i].ran_before), ticks_to_us(v->ex[i].ran_after));
	return true;
}

/*
 * How many of @v's events A would cross unisolated: in the proportion of
 * B's guest moments it crossed; without B (idle), of the idle interrupts,
 * or all where strict mode forbids those too.
 */
static double expected(enum kind kind, struct verdict *t, struct verdict *v)
{
	struct verdict *ref = &t[CL_GUEST];

	if (kind == KIND_IDLE) {
		if (mode == CS_MODE_VM_STRICT)
			return v->contested;
		ref = &t[CL_IDLE];
	}
	return ref->contested ? (double)ref->crossed / ref->contested * v->contested : 0;
}

/*
 * Class @c must be crossed (@want) or not: can its counts tell, and do
 * they?  Unisolated, only A's own absences keep it from what it is
 * expected to cross: half is the bar; a busy host may keep it from more,
 * and the runs go on.
 */
static bool told(const char *kind, int c, enum kind k, struct verdict *t, bool want)
{
	double e = expected(k, t, &t[c]);

	if (e < MIN_EXPECTED)
		ksft_print_msg("%s: %s: %.1f crossings expected unisolated, too few to tell\n",
			       kind, class_names[c], e);
	else if (want && t[c].crossed * 2 < e)
		ksft_print_msg("%s: %s: A crossed %lu of %lu, %.1f expected, under coresched=%s\n",
			       kind, class_names[c], t[c].crossed, t[c].contested, e,
			       cs_mode_names[mode]);
	else
		return true;
	return false;
}

/* Whether the runs of @kind so far, counted in @t, tell: violations aside. */
static bool decide(enum kind kind, struct verdict *t)
{
	const char *name = kind_names[kind];
	bool ok = true;

	if (t[CL_HOST].own < MIN_OWN) {
		ksft_print_msg("%s: only %lu events of the kind\n", name, t[CL_HOST].own);
		ok = false;
	}
	if (kind != KIND_IDLE && t[CL_GUEST].contested < MIN_CONTESTED) {
		ksft_print_msg("%s: A ran before only %lu of B's moments in guest mode\n",
			       name, t[CL_GUEST].contested);
		return false;
	}
	ok &= told(name, CL_HOST, kind, t, mode < CS_MODE_VM);

	/* Idle sibling's interrupts: strict keeps A out; in other modes A must be seen crossing. */
	if (kind != KIND_HLT && kind != KIND_IDLE)
		return ok;
	if (mode == CS_MODE_VM_STRICT)
		return told(name, CL_IDLE, kind, t, false) && ok;
	if (t[CL_IDLE].crossed >= MIN_EXPECTED)
		return ok;
	ksft_print_msg("%s: %s: A crossed %lu of %lu, under coresched=%s\n", name,
		       class_names[CL_IDLE], t[CL_IDLE].crossed, t[CL_IDLE].contested,
		       cs_mode_names[mode]);
	return false;
}

/* One run of @kind, added to the counts @t of every class; false on a violation. */
static bool run_kind(enum kind kind, struct verdict *t)
{
	const char *name = kind_names[kind];
	struct events all = { 0 }, cl[NR_CLASSES] = { 0 };
	struct verdict v[NR_CLASSES];
	pthread_t ta, tb, tc, ts;
	struct stats st0, st1;
	uint64_t t0, lost, off_a, off_b;
	bool ok = true;
	size_t i, nr;
	int c;

	/* No vCPU runs between two runs. */
	memset(&sh->run, 0, sizeof(sh->run));
	sh->kind = kind;
	uread.nr = 0;
	WRITE_ONCE(sleeper_stop, 0);
	trace_write("trace", "");
	st0.nr = cs_read_stats(st0.name, st0.val, NR_STATS);
	vcpu_device_attr_get(vcpus[ROLE_A], KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &a_offset);
	vcpu_device_attr_get(vcpus[ROLE_B], KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &b_offset);

	pthread_create(&ta, NULL, a_thread, NULL);
	t0 = cs_now_ms();
	while (!READ_ONCE(sh->run.a_logging)) {
		TEST_ASSERT(cs_now_ms() - t0 < START_TIMEOUT_S * 1000, "A did not start logging");
		usleep(1000);
	}

	trace_write("tracing_on", "1");
	if (kind == KIND_IDLE)
		pthread_create(&ts, NULL, sleeper_thread, NULL);
	if (kind == KIND_IPI)
		pthread_create(&tc, NULL, c_thread, NULL);
	if (kind != KIND_IDLE)
		pthread_create(&tb, NULL, b_thread, NULL);
	usleep(RUN_MS * 1000);
	WRITE_ONCE(sh->run.c_stop, 1);
	WRITE_ONCE(sh->run.b_stop, 1);
	WRITE_ONCE(sleeper_stop, 1);
	pthread_join(kind == KIND_IDLE ? ts : tb, NULL);
	if (kind == KIND_IPI)
		pthread_join(tc, NULL);
	trace_write("tracing_on", "0");
	WRITE_ONCE(sh->run.a_stop, 1);
	pthread_join(ta, NULL);
	st1.nr = cs_read_stats(st1.name, st1.val, NR_STATS);
	vcpu_device_attr_get(vcpus[ROLE_A], KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &off_a);
	vcpu_device_attr_get(vcpus[ROLE_B], KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &off_b);

	nr = sh->a_stretches < A_LOG_MAX ? sh->a_stretches : A_LOG_MAX;
	print_a(name, nr);
	if (kind != KIND_IDLE)
		ksft_print_msg("%s: B: %lu exits%s\n", name, sh->run.b_exits,
			       sh->run.b_timeouts ? ", some waits for C timed out" : "");

	read_trace(kind, &all, &lost);
	for (i = 0; i < all.nr; i++)
		add_event(&cl[b_states[b_state(&all.v[i])].class], all.v[i].tsc - a_offset,
			  all.v[i].own, all.v[i].name, all.v[i].pid, all.v[i].irq);
	if (lost)
		ksft_print_msg("%s: %lu trace events lost (overrun)\n", name, lost);
	for (i = 0; i < uread.nr; i++)
		add_event(&cl[CL_HOST], uread.tsc[i], true,
			  kind == KIND_IO ? "B's thread" : "sleeper", 1, false);
	for (i = 0; i < sh->run.b_samples && i < B_LOG_MAX; i++)
		add_event(&cl[CL_GUEST], b_log[i] - b_offset, false, class_names[CL_GUEST], 1,
			  false);
	for (c = 0; c < NR_CLASSES; c++) {
		judge(&cl[c], nr, &v[c]);
		print_verdict(name, class_names[c], &v[c]);	/* no events, no line */
	}
	stats_print(name, &st0, &st1);

	/* With an unstable host TSC KVM moves the offsets: the logs would not compare. */
	TEST_ASSERT(off_a == a_offset && off_b == b_offset,
		    "%s: TSC offsets moved by %ld (A), %ld (B): unstable host TSC?",
		    name, (int64_t)(off_a - a_offset), (int64_t)(off_b - b_offset));

	/* Only strict mode keeps A from interrupts B takes without the core. */
	for (c = CL_HOST; c < NR_CLASSES; c++)
		if (mode == CS_MODE_VM_STRICT || (mode == CS_MODE_VM && c == CL_HOST))
			ok &= !crossed(name, class_names[c], &v[c]);
	for (c = 0; c < NR_CLASSES; c++) {
		t[c].events += v[c].events;
		t[c].own += v[c].own;
		t[c].contested += v[c].contested;
		t[c].crossed += v[c].crossed;
		free(cl[c].v);
	}
	free(all.v);
	return ok;
}

static void vm_setup(void)
{
	uint64_t log_pages = (A_LOG_BYTES + B_LOG_BYTES) / getpagesize();
	int khz, i;

	/* The extra pages buy the page tables of the log's mapping. */
	vm = __vm_create_with_vcpus(VM_SHAPE_DEFAULT, 3, log_pages, guest_code, vcpus);
	for (i = ROLE_A; i <= ROLE_C; i++)
		vcpu_args_set(vcpus[i], 1, i);
	vm_install_exception_handler(vm, TIMER_VECTOR, guest_irq_handler);
	vm_install_exception_handler(vm, IPI_VECTOR, guest_irq_handler);
	/* A halted vCPU must block, so that its wake-up is host scheduler work. */
	if (kvm_has_cap(KVM_CAP_HALT_POLL))
		vm_enable_cap(vm, KVM_CAP_HALT_POLL, 0);

	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, LOG_GPA, LOG_SLOT,
				    log_pages, 0);
	virt_map(vm, LOG_GPA, LOG_GPA, log_pages);
	a_log = addr_gva2hva(vm, LOG_GPA);
	b_log = addr_gva2hva(vm, B_LOG_GPA);
	sh = addr_gva2hva(vm, (vm_vaddr_t)&tl);
	sh->c_apic_id = vcpus[ROLE_C]->id;

	/*
	 * Checked in a_thread() against what the guest reads: MSR_IA32_TSC
	 * from userspace can differ from it (a TSC frequency KVM could not set).
	 */
	TEST_REQUIRE(!__vcpu_has_device_attr(vcpus[ROLE_A], KVM_VCPU_TSC_CTRL,
					     KVM_VCPU_TSC_OFFSET));
	vcpu_device_attr_get(vcpus[ROLE_A], KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, &a_offset);
	khz = __vcpu_ioctl(vcpus[ROLE_A], KVM_GET_TSC_KHZ, NULL);
	TEST_ASSERT(khz > 0, "KVM_GET_TSC_KHZ: %d", khz);
	tsc_khz = khz;
	ksft_print_msg("TSC: %lu kHz, A's offset %ld\n", tsc_khz, (int64_t)a_offset);
	sh->b_gap = us_to_ticks(B_GAP_US);
	sh->b_wait_max = us_to_ticks(B_WAIT_MAX_US);
	sh->c_settle = us_to_ticks(C_SETTLE_US);

	uread.max = 1 << 20;
	uread.tsc = calloc(uread.max, sizeof(*uread.tsc));
	TEST_ASSERT(uread.tsc, "out of memory");
}

int main(int argc, char *argv[])
{
	const char *hotplug_seq = NULL;
	bool kinds[NR_KINDS] = { 0 }, any = false;
	char *copy, *tok, *save;
	int opt, k, run, want = -1, plan = 0;
	enum outcome res;
	struct verdict t[NR_CLASSES];

	while ((opt = getopt(argc, argv, "m:k:a:b:H:h")) != -1) {
		switch (opt) {
		case 'm':
			want = cs_mode_of(optarg, CS_MODE_OFF);
			TEST_ASSERT(want >= 0, "-m %s: not a mode", optarg);
			break;
		case 'k':
			copy = strdup(optarg);
			for (tok = strtok_r(copy, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				for (k = 0; k < NR_KINDS && strcmp(tok, kind_names[k]); k++)
					;
				TEST_ASSERT(k < NR_KINDS, "-k %s: not a kind", tok);
				kinds[k] = true;
				any = true;
			}
			free(copy);
			break;
		case 'a':
			cpu_a = atoi_non_negative("-a", optarg);
			break;
		case 'b':
			cpu_b = atoi_non_negative("-b", optarg);
			break;
		case 'H':
			hotplug_seq = optarg;
			break;
		default:
			printf("usage: %s [-m MODE] [-k KIND,...] [-a CPU] [-b CPU] [-H SEQ]\n"
			       "  -m  the mode the kernel was booted in (default: what it says)\n"
			       "  -k  exit kinds to run: cpuid,msr,io,hlt,ipi,idle (default: all)\n"
			       "  -a  A's CPU (default: the first online CPU with an online sibling)\n"
			       "  -b  B's CPU, a sibling of A's (default: the first online one)\n"
			       "  -H  CPU hotplug first, e.g. 2-,3+: offline cpu2, online cpu3\n",
			       argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	for (k = 0; k < NR_KINDS; k++) {
		kinds[k] |= !any;
		plan += kinds[k];
	}

	ksft_print_header();

	mode = cs_test_mode(want, CS_MODE_OFF);

	if (hotplug_seq)
		hotplug(hotplug_seq);
	pick_cpus();
	ksft_print_msg("A on cpu%d, B on cpu%d, C on cpu%d\n", cpu_a, cpu_b, cpu_c);

	TEST_REQUIRE(kvm_has_cap(KVM_CAP_VCPU_ATTRIBUTES));
	vm_setup();
	trace_setup();

	ksft_set_plan(plan);
	for (k = 0; k < NR_KINDS; k++) {
		if (!kinds[k])
			continue;
		memset(t, 0, sizeof(t));
		res = INCONCLUSIVE;
		for (run = 1; run <= MAX_RUNS && res == INCONCLUSIVE; run++) {
			if (run > 1)
				ksft_print_msg("%s: run %d of %d\n", kind_names[k], run, MAX_RUNS);
			res = !run_kind(k, t) ? FAILED : decide(k, t) ? PASSED : INCONCLUSIVE;
		}
		if (res == INCONCLUSIVE)
			ksft_print_msg("%s: nothing could be told in %d runs\n",
				       kind_names[k], MAX_RUNS);
		ksft_test_result(res == PASSED, "%s\n", kind_names[k]);
	}

	kvm_vm_free(vm);
	ksft_finished();
}
