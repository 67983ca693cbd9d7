// SPDX-License-Identifier: GPL-2.0
/*
 * No mode changes what the vulnerabilities files say of SMT: mds,
 * tsx_async_abort and mmio_stale_data concern any two tasks, which VM
 * isolation does not cover, and l1tf's guests still meet host code in the
 * windows the admin guide lists: "SMT vulnerable", or "SMT disabled".
 * Under vm an idle CPU may hand store buffer entries to a guest sibling:
 * where MDS buffers are cleared, vm clears them before idle too, and only
 * vm's log says so.
 *
 * usage: vuln_report [-m off|on|vm|vm,strict]   (the mode the kernel runs in)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest_harness.h"
#include "cs_util.h"

#define VULN_DIR	"/sys/devices/system/cpu/vulnerabilities/"

TEST(mode)
{
	ASSERT_STREQ(cs_mode, cs_kernel_mode());
}

FIXTURE(vuln) {
	char line[512];
};

FIXTURE_VARIANT(vuln) {
	const char *file;
};

FIXTURE_VARIANT_ADD(vuln, l1tf) { .file = "l1tf" };
FIXTURE_VARIANT_ADD(vuln, mds) { .file = "mds" };
FIXTURE_VARIANT_ADD(vuln, tsx_async_abort) { .file = "tsx_async_abort" };
FIXTURE_VARIANT_ADD(vuln, mmio_stale_data) { .file = "mmio_stale_data" };

FIXTURE_SETUP(vuln)
{
	char path[256];

	snprintf(path, sizeof(path), VULN_DIR "%s", variant->file);
	if (cs_read_file(path, self->line, sizeof(self->line)))
		SKIP(return, "no %s", path);
	TH_LOG("%s: %s", variant->file, self->line);
}

FIXTURE_TEARDOWN(vuln)
{
}

/* Whether /proc/cpuinfo's bugs line names @bug, a word no other contains. */
static bool cpu_has_bug(const char *bug)
{
	char buf[16384], *line;

	if (read_text("/proc/cpuinfo", buf, sizeof(buf)) < 0)
		return false;
	line = strstr(buf, "\nbugs");
	if (!line)
		return false;
	line[strcspn(line + 1, "\n") + 1] = '\0';
	return strstr(line, bug);
}

TEST_F(vuln, smt)
{
	const char *want = cs_smt_active() ? "SMT vulnerable" : "SMT disabled";

	if (!strstr(self->line, "SMT ") || strstr(self->line, "SMT Host state unknown"))
		SKIP(return, "%s: no SMT state to report here", variant->file);
	/* A CPU with MSBDS only mitigates that in mds itself, upstream's way. */
	if (!strcmp(variant->file, "mds") && cpu_has_bug("msbds_only"))
		SKIP(return, "mds: MSBDS only");
	ASSERT_NE(NULL, strstr(self->line, want))
		TH_LOG("%s: expected \"%s\" in mode %s", variant->file, want, cs_mode);
}

#define IDLE_CLEAR_MSG	"MDS: Clear CPU buffers before idle"

/* 1 if the log holds @msg, 0 if not, -1 if unreadable or records lost (first seq not 0). */
static int kmsg_has(const char *msg)
{
	char rec[2048], *seq;
	int fd, ret = -1;
	bool first = true;
	ssize_t n;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			/* EAGAIN: all read; EPIPE: overwritten while reading. */
			if (errno == EAGAIN && !first)
				ret = 0;
			break;
		}
		rec[n] = '\0';
		seq = strchr(rec, ',');
		if (first && (!seq || strncmp(seq, ",0,", 3)))
			break;
		first = false;
		if (strstr(rec, msg)) {
			ret = 1;
			break;
		}
	}
	close(fd);
	return ret;
}

TEST(mds_idle_clear)
{
	bool vm = !strncmp(cs_mode, "vm", 2);
	char mds[256];
	int said;

	if (cs_read_file(VULN_DIR "mds", mds, sizeof(mds)) ||
	    !strstr(mds, "Clear CPU buffers"))
		SKIP(return, "mds: the kernel clears no CPU buffers here");
	if (!cs_smt_active())
		SKIP(return, "no SMT: nothing to clear before idle for");
	said = kmsg_has(IDLE_CLEAR_MSG);
	if (said < 0)
		SKIP(return, "the kernel log lost records since boot, or cannot be read");
	ASSERT_EQ(vm, said)
		TH_LOG("\"%s\" %s in the kernel log in mode %s", IDLE_CLEAR_MSG,
		       said ? "is" : "is not", cs_mode);
}

int main(int argc, char **argv)
{
	return test_harness_run(cs_options(argc, argv, "m:", NULL), argv);
}
