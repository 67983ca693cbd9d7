// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the coresched selftests, see cs_util.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cs_util.h"

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE			62
#define PR_SCHED_CORE_GET		0
#define PR_SCHED_CORE_CREATE		1
#define PR_SCHED_CORE_SHARE_TO		2
#define PR_SCHED_CORE_SHARE_FROM	3
#endif

const char *cs_mode(void)
{
	static char mode[16];
	FILE *f = fopen(CS_MODE_FILE, "r");

	if (!f)
		return NULL;
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = '\0';
	fclose(f);
	mode[strcspn(mode, "\n")] = '\0';
	return mode;
}

const char *cs_check_mode(const char *expected, bool *match)
{
	const char *mode = cs_mode();

	if (!mode)
		mode = "none";
	if (!expected)
		expected = mode;
	/* A kselftest diagnostic line, as ksft_print_msg() prints it. */
	printf("# coresched mode: %s, expected: %s\n", mode, expected);
	*match = !strcmp(mode, expected);
	return expected;
}

int cs_prctl(unsigned long cmd, pid_t pid, unsigned long scope,
	     unsigned long uaddr)
{
	if (prctl(PR_SCHED_CORE, cmd, pid, scope, uaddr))
		return -errno;
	return 0;
}

int cs_create(pid_t pid, unsigned long scope)
{
	return cs_prctl(PR_SCHED_CORE_CREATE, pid, scope, 0);
}

int cs_share_to(pid_t pid, unsigned long scope)
{
	return cs_prctl(PR_SCHED_CORE_SHARE_TO, pid, scope, 0);
}

int cs_share_from(pid_t pid)
{
	return cs_prctl(PR_SCHED_CORE_SHARE_FROM, pid, 0, 0);
}

uint64_t cs_get(pid_t pid, int *err)
{
	uint64_t cookie = 0;
	int ret;

	ret = cs_prctl(PR_SCHED_CORE_GET, pid, 0, (unsigned long)&cookie);
	if (err)
		*err = ret;
	return ret ? 0 : cookie;
}

static void cg_path(char *buf, size_t size, const char *cg, const char *file)
{
	snprintf(buf, size, "%s/%s%s%s", CS_CGROUP_ROOT, cg,
		 file ? "/" : "", file ? file : "");
}

int cg_write(const char *cg, const char *file, const char *buf)
{
	char path[PATH_MAX];
	ssize_t len = strlen(buf), n;
	int fd;

	cg_path(path, sizeof(path), cg, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == len ? 0 : -EIO;
}

int cg_read(const char *cg, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	cg_path(path, sizeof(path), cg, file);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	return 0;
}

long long cg_read_ll(const char *cg, const char *file)
{
	char buf[64];

	if (cg_read(cg, file, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

long long cg_read_key(const char *cg, const char *file, const char *key)
{
	char buf[4096], *line, *save;
	size_t klen = strlen(key);

	if (cg_read(cg, file, buf, sizeof(buf)))
		return -1;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, key, klen) && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -1;
}

int cg_create(const char *cg)
{
	char path[PATH_MAX];

	cg_path(path, sizeof(path), cg, NULL);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int cg_enable_cpu(const char *cg)
{
	return cg_write(cg, "cgroup.subtree_control", "+cpu");
}

int cg_enter(const char *cg, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	return cg_write(cg, "cgroup.procs", buf);
}

int cg_enter_thread(const char *cg, pid_t tid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", tid);
	return cg_write(cg, "cgroup.threads", buf);
}

int cg_tag(const char *cg, int on)
{
	return cg_write(cg, "cpu.core_sched", on ? "1" : "0");
}

int cg_destroy(const char *cg)
{
	char path[PATH_MAX], sub[PATH_MAX], buf[4096], *line, *save;
	struct dirent *de;
	DIR *dir;

	cg_path(path, sizeof(path), cg, NULL);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", cg, de->d_name);
		cg_destroy(sub);
	}
	closedir(dir);

	/* Live tasks would keep the cgroup busy: park them in the root. */
	if (!cg_read(cg, "cgroup.procs", buf, sizeof(buf))) {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			cg_write("", "cgroup.procs", line);
	}
	if (rmdir(path))
		return -errno;
	return 0;
}

int cs_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	return 0;
}

/* A CPU number at *@p, which moves past it; -EINVAL if there is none. */
static int cs_parse_cpu(const char **p)
{
	char *end;
	long cpu;

	/* Digits only: strtol() would take blanks and signs too. */
	if (**p < '0' || **p > '9')
		return -EINVAL;
	cpu = strtol(*p, &end, 10);
	if (cpu > INT_MAX)
		return -EINVAL;
	*p = end;
	return cpu;
}

int cs_parse_cpulist(const char *list, int *cpus, int max)
{
	const char *p = list;
	int n = 0, a, b;

	while (*p && *p != '\n') {
		a = cs_parse_cpu(&p);
		b = a;
		if (a >= 0 && *p == '-') {
			p++;
			b = cs_parse_cpu(&p);
		}
		if (a < 0 || b < a)
			return -EINVAL;
		for (; a <= b; a++) {
			if (n == max)
				return -EINVAL;
			cpus[n++] = a;
		}
		/* A comma must be followed by another range. */
		if (*p == ',' && p[1] && p[1] != '\n')
			p++;
		else if (*p && strcmp(p, "\n"))
			return -EINVAL;
	}
	return n;
}

#define CS_SIBLINGS_MAX	64

int cs_cpu_siblings(int cpu, int *cpus, int max)
{
	char path[128], buf[256];
	FILE *f;
	int n;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
		 cpu);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fgets(buf, sizeof(buf), f) ? cs_parse_cpulist(buf, cpus, max) : -EIO;
	fclose(f);
	return n;
}

int cs_find_siblings(int *cpus, int n)
{
	int sib[CS_SIBLINGS_MAX], cpu, nr_cpus;

	nr_cpus = sysconf(_SC_NPROCESSORS_CONF);
	for (cpu = 0; cpu < nr_cpus; cpu++) {
		/* Offline CPUs have no topology directory: skipped. */
		if (cs_cpu_siblings(cpu, sib, CS_SIBLINGS_MAX) >= n) {
			memcpy(cpus, sib, n * sizeof(*cpus));
			return 0;
		}
	}
	return -ENOENT;
}

double cs_parse_seconds(const char *arg)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(t) || t <= 0)
		return -1;
	return t;
}
