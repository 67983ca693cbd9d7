/* SPDX-License-Identifier: GPL-2.0 */
/* The machine, for these and the KVM coresched tests: header-only, for both builds. */
#ifndef CS_CPUS_H
#define CS_CPUS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CS_CPU_DIR	"/sys/devices/system/cpu"
#define CS_MODE_FILE	"/sys/kernel/debug/sched/coresched/mode"

/* CLOCK_MONOTONIC, in ns. */
static inline uint64_t cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A short sysfs, procfs or debugfs file, up to its first newline: 0 or -errno. */
static inline int cs_read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The mode this boot runs in ("off", "on", "vm", "vm,strict"), NULL without one. */
static inline const char *cs_kernel_mode(void)
{
	static char mode[16];

	return cs_read_file(CS_MODE_FILE, mode, sizeof(mode)) ? NULL : mode;
}

static inline int cs_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A CPU number at *@s, which moves past it; -1 if there is none. */
static inline long cs_parse_cpu(const char **s)
{
	char *end;
	long cpu;

	/* strtol() takes a sign and leading blanks: digits only here. */
	if (**s < '0' || **s > '9')
		return -1;
	cpu = strtol(*s, &end, 10);
	*s = end;
	return cpu < CPU_SETSIZE ? cpu : -1;
}

/* A CPU list ("0-1,4") into @set; false if it is not one. */
static inline bool cs_parse_cpu_list(const char *s, cpu_set_t *set)
{
	long a, b;

	CPU_ZERO(set);
	do {
		a = cs_parse_cpu(&s);
		b = a;
		if (a >= 0 && *s == '-') {
			s++;
			b = cs_parse_cpu(&s);
		}
		if (a < 0 || b < a)
			return false;
		for (; a <= b; a++)
			CPU_SET(a, set);
	} while (*s++ == ',');
	return !s[-1];
}

static inline bool cs_cpu_online(int cpu)
{
	char path[64], buf[16];

	snprintf(path, sizeof(path), CS_CPU_DIR "/cpu%d/online", cpu);
	if (!cs_read_file(path, buf, sizeof(buf)))
		return !strcmp(buf, "1");
	/* A CPU that cannot go offline (the boot CPU) has no online file. */
	snprintf(path, sizeof(path), CS_CPU_DIR "/cpu%d", cpu);
	return !access(path, F_OK);
}

/* @online < 0: only whether @cpu could go offline.  0 or -errno. */
static inline int cs_cpu_set_online(int cpu, int online)
{
	char path[64];

	snprintf(path, sizeof(path), CS_CPU_DIR "/cpu%d/online", cpu);
	if (online < 0)
		return access(path, W_OK) ? -errno : 0;
	return cs_write_file(path, online ? "1" : "0");
}

/* The SMT siblings of online CPU @cpu, itself included. */
static inline bool cs_cpu_siblings(int cpu, cpu_set_t *set)
{
	char path[96], buf[256];

	snprintf(path, sizeof(path), CS_CPU_DIR "/cpu%d/topology/thread_siblings_list", cpu);
	return !cs_read_file(path, buf, sizeof(buf)) && cs_parse_cpu_list(buf, set);
}

/* Online siblings @a and @b (< 0: the first), the core's CPUs in @sibs; false if none. */
static inline bool cs_pick_siblings(int *a, int *b, cpu_set_t *sibs)
{
	cpu_set_t own;
	int x, y;

	sibs = sibs ?: &own;
	for (x = *a < 0 ? 0 : *a; x < CPU_SETSIZE && (*a < 0 || x == *a); x++) {
		if (!cs_cpu_online(x) || !cs_cpu_siblings(x, sibs))
			continue;
		for (y = *b < 0 ? 0 : *b; y < CPU_SETSIZE && (*b < 0 || y == *b); y++) {
			if (y != x && CPU_ISSET(y, sibs) && cs_cpu_online(y)) {
				*a = x;
				*b = y;
				return true;
			}
		}
	}
	return false;
}

#endif /* CS_CPUS_H */
