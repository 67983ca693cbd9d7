// SPDX-License-Identifier: GPL-2.0
/*
 * Start a VMM the way libvirt's sched_core= and util-linux's coresched do:
 * the process gets a core scheduling cookie of its own before it execs
 * the VMM, so that every thread the VMM creates (vCPUs, I/O threads,
 * thread pool workers) inherits it.  Debian 12's util-linux has no
 * coresched command; this is the lab's stand-in.
 *
 *   vmm-cookie new FILE COMMAND [ARG...]
 *	create a cookie for the whole process (PIDTYPE_TGID), write the
 *	value PR_SCHED_CORE_GET reports for it to FILE, exec COMMAND
 *   vmm-cookie get TID...
 *	print "TID COOKIE" for each task, as PR_SCHED_CORE_GET reports it
 *	(0: no cookie); a task that is gone prints "TID gone"
 *
 * Exit status: 0, or 1 on any error (nothing is exec'ed then).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int cookie_get(pid_t tid, unsigned long long *cookie)
{
	*cookie = 0;
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_GET, tid, PR_SCHED_CORE_SCOPE_THREAD,
		  (unsigned long)cookie))
		return -errno;
	return 0;
}

static int cmd_new(int argc, char **argv)
{
	unsigned long long cookie;
	FILE *f;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: vmm-cookie new FILE COMMAND [ARG...]\n");
		return 1;
	}
	if (prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0,
		  PR_SCHED_CORE_SCOPE_THREAD_GROUP, 0)) {
		fprintf(stderr, "vmm-cookie: PR_SCHED_CORE_CREATE: %s\n",
			strerror(errno));
		return 1;
	}
	err = cookie_get(0, &cookie);
	if (err || !cookie) {
		fprintf(stderr, "vmm-cookie: no cookie after PR_SCHED_CORE_CREATE: %s\n",
			err ? strerror(-err) : "PR_SCHED_CORE_GET says 0");
		return 1;
	}
	f = fopen(argv[0], "w");
	if (!f || fprintf(f, "%llu\n", cookie) < 0 || fclose(f)) {
		fprintf(stderr, "vmm-cookie: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	execvp(argv[1], &argv[1]);
	fprintf(stderr, "vmm-cookie: %s: %s\n", argv[1], strerror(errno));
	return 1;
}

static int cmd_get(int argc, char **argv)
{
	unsigned long long cookie;
	int i, err, rc = 0;
	char *end;
	long tid;

	for (i = 0; i < argc; i++) {
		tid = strtol(argv[i], &end, 10);
		if (*end || end == argv[i] || tid <= 0) {
			fprintf(stderr, "vmm-cookie: not a task id: %s\n", argv[i]);
			return 1;
		}
		err = cookie_get(tid, &cookie);
		if (err == -ESRCH) {
			/* Threads come and go (QEMU's thread pool): not an error. */
			printf("%ld gone\n", tid);
		} else if (err) {
			fprintf(stderr, "vmm-cookie: PR_SCHED_CORE_GET %ld: %s\n",
				tid, strerror(-err));
			rc = 1;
		} else {
			printf("%ld %llu\n", tid, cookie);
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "new"))
		return cmd_new(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "get"))
		return cmd_get(argc - 2, argv + 2);
	fprintf(stderr, "usage: vmm-cookie new FILE COMMAND [ARG...]\n"
			"       vmm-cookie get TID...\n");
	return 1;
}
