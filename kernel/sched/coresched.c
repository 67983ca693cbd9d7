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
	return 0;
}
late_initcall(sched_core_debugfs_init);

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

	if (!static_branch_likely(&sched_smt_present) || !sched_core_available())
		return -ENODEV;

	/* Exactly "0" or "1": a value that means something else is an error. */
	buf = strstrip(buf);
	if (!strcmp(buf, "1"))
		tag = true;
	else if (!strcmp(buf, "0"))
		tag = false;
	else
		return -EINVAL;

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
