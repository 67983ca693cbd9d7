// SPDX-License-Identifier: GPL-2.0
/* Helpers of the core scheduling selftests, see cs_util.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_util.h"

#define HARNESS_OPTS	"hlF:f:V:v:t:T:r:"

const char *cs_mode;

int cs_options(int argc, char **argv, const char *opts,
	       void (*opt)(int c, const char *arg))
{
	char all[64], **keep = calloc(argc + 1, sizeof(*keep));
	int c, n = 1;

	snprintf(all, sizeof(all), "%s%s", opts, HARNESS_OPTS);
	keep[0] = argv[0];
	while ((c = getopt(argc, argv, all)) != -1) {
		if (c == '?') {
			fprintf(stderr, "usage: %s [%s] [harness options]\n",
				argv[0], opts);
			exit(KSFT_FAIL);
		} else if (c == 'm' && strchr(opts, 'm')) {
			cs_mode = optarg;
		} else if (strchr(HARNESS_OPTS, c)) {
			/* As "-Xarg": the harness parses argv again per test. */
			if (asprintf(&keep[n++], "-%c%s", c, optarg ?: "") < 0)
				exit(KSFT_FAIL);
		} else {
			opt(c, optarg);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: stray argument %s\n", argv[0], argv[optind]);
		exit(KSFT_FAIL);
	}
	memcpy(argv, keep, (n + 1) * sizeof(*keep));
	free(keep);
	optind = 1;

	if (!cs_kernel_mode()) {
		ksft_print_header();
		if (cs_mode)
			ksft_exit_fail_msg("-m %s, but no %s\n", cs_mode, CS_MODE_FILE);
		ksft_exit_skip("no %s: not a kernel with this series\n", CS_MODE_FILE);
	}
	if (!cs_mode)
		cs_mode = strdup(cs_kernel_mode());
	return n;
}

int cs_prctl(int cmd, pid_t pid, int scope, unsigned long uaddr)
{
	return prctl(PR_SCHED_CORE, cmd, pid, scope, uaddr) ? -errno : 0;
}

uint64_t cs_get(pid_t pid, int *err)
{
	uint64_t cookie = 0;
	int ret;

	ret = cs_prctl(PR_SCHED_CORE_GET, pid, PR_SCHED_CORE_SCOPE_THREAD,
		       (unsigned long)&cookie);
	if (err)
		*err = ret;
	return ret ? 0 : cookie;
}

int cs_cookie_copy(pid_t from, pid_t to)
{
	pid_t pid, parent = getpid();
	int status;

	pid = fork();	/* the helper carries it: the caller keeps its own */
	if (pid < 0)
		return -errno;
	if (!pid) {
		cs_die_with_parent(parent);
		_exit(cs_prctl(PR_SCHED_CORE_SHARE_FROM, from, 0, 0) ||
		      cs_prctl(PR_SCHED_CORE_SHARE_TO, to, 0, 0));
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EPERM;
}

void cs_die_with_parent(pid_t parent)
{
	/* Checked after: the parent may have died before the prctl(). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
}

int cs_cgroup_root(void)
{
	char root[PATH_MAX];

	if (cg_find_unified_root(root, sizeof(root), NULL) || chdir(root))
		return -1;
	return 0;
}

int cs_cg_make(const char *cg, bool parent)
{
	if (cg_create(cg) && errno != EEXIST)
		return -errno;
	return parent ? cg_write(cg, "cgroup.subtree_control", "+cpu") : 0;
}

int cs_cg_tag(const char *cg, bool on)
{
	return cg_write(cg, "cpu.core_sched", on ? "1" : "0");
}

int cs_cg_destroy(const char *cg)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *dir = opendir(cg);

	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", cg, de->d_name);
		cs_cg_destroy(sub);
	}
	closedir(dir);
	return cg_destroy(cg);
}

int cs_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

int cs_parse_num(const char *s, unsigned long long min, unsigned long long max,
		 unsigned long long *val)
{
	unsigned long long v;
	char *end;

	/* strtoull() takes a sign and leading blanks: digits only here. */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

/* An integer in file @file of CPU @cpu's sysfs directory; -1 if none. */
static int cpu_read_int(int cpu, const char *file)
{
	char path[PATH_MAX], buf[64];

	snprintf(path, sizeof(path), CS_CPU_DIR "/cpu%d/%s", cpu, file);
	return cs_read_file(path, buf, sizeof(buf)) ? -1 : atoi(buf);
}

int cs_find_siblings(int core[2])
{
	core[0] = -1;
	core[1] = -1;
	return cs_pick_siblings(&core[0], &core[1], NULL) ? 0 : -ENOENT;
}

bool cs_smt_active(void)
{
	char buf[8];

	return !cs_read_file(CS_CPU_DIR "/smt/active", buf, sizeof(buf)) && !strcmp(buf, "1");
}

/* No CPU before the @i-th has its package (and, with @core, its core). */
static bool first_of(const int *pkg, const int *core, int i)
{
	int j;

	for (j = 0; j < i; j++) {
		if (pkg[j] == pkg[i] && (!core || core[j] == core[i]))
			return false;
	}
	return true;
}

int cs_topology(struct cs_topo *topo)
{
	int pkg[CS_MAX_CPUS], core[CS_MAX_CPUS];
	int nr = 0, cpu, i, n, cores;
	cpu_set_t online, sibs;
	char buf[256];

	memset(topo, 0, sizeof(*topo));
	if (cs_read_file(CS_CPU_DIR "/online", buf, sizeof(buf)) ||
	    !cs_parse_cpu_list(buf, &online))
		return -ENOENT;
	if (CPU_COUNT(&online) > CS_MAX_CPUS)
		return -E2BIG;
	topo->threads_min = INT_MAX;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &online))
			continue;
		pkg[nr] = cpu_read_int(cpu, "topology/physical_package_id");
		core[nr] = cpu_read_int(cpu, "topology/core_id");
		if (pkg[nr] < 0 || core[nr] < 0 || !cs_cpu_siblings(cpu, &sibs))
			return -EIO;
		n = CPU_COUNT(&sibs);
		if (n > topo->threads)
			topo->threads = n;
		if (n < topo->threads_min)
			topo->threads_min = n;
		nr++;
	}
	topo->cpus = nr;
	for (i = 0; i < nr; i++) {
		if (!first_of(pkg, NULL, i))
			continue;
		topo->packages++;
		for (cores = 0, n = i; n < nr; n++)
			cores += pkg[n] == pkg[i] && first_of(pkg, core, n);
		if (cores > topo->cores)
			topo->cores = cores;
	}
	return 0;
}

long cs_meminfo_kb(const char *key)
{
	char buf[4096], *p;

	if (read_text("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ':')
			return strtol(p + strlen(key) + 1, NULL, 10);
	}
	return -1;
}

int cs_schedstats(bool on, bool *old)
{
	const char *path = "/proc/sys/kernel/sched_schedstats";
	char buf[8];
	int ret = cs_read_file(path, buf, sizeof(buf));

	if (ret)
		return ret;
	if (old)
		*old = buf[0] == '1';
	return cs_write_file(path, on ? "1" : "0");
}
