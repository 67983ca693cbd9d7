// SPDX-License-Identifier: GPL-2.0
/*
 * What /sys/devices/system/cpu/vulnerabilities says about SMT: no mode of
 * core scheduling changes it.  The SMT parts of mds, tsx_async_abort and
 * mmio_stale_data are about any two tasks, which VM isolation does not
 * cover; the SMT part of l1tf's VMX report is about guests, but host code
 * still runs beside guests in the windows the admin guide lists.  So the
 * files must say "SMT vulnerable" in every mode (the lab runs this under
 * each), "SMT disabled" without SMT.  Files of leaks the CPU does not
 * have, or that a hypervisor hides ("SMT Host state unknown"), are
 * skipped; if every file is, the test skips.
 *
 * usage: vuln_report -m off|on|vm|vm,strict   (the mode the kernel runs in)
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kselftest.h"
#include "cs_util.h"

#define VULN_DIR	"/sys/devices/system/cpu/vulnerabilities/"
#define SMT_ACTIVE	"/sys/devices/system/cpu/smt/active"

static const char * const files[] = {
	"l1tf", "mds", "tsx_async_abort", "mmio_stale_data",
};

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -1;
	if (!fgets(buf, size, f))
		ret = -1;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

/* Whether /proc/cpuinfo's bugs line names @bug. */
static bool cpu_has_bug(const char *bug)
{
	char line[1024], word[64];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	snprintf(word, sizeof(word), " %s", bug);
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = ' ';
		found = !strncmp(line, "bugs", 4) && strstr(line, word);
	}
	fclose(f);
	return found;
}

/*
 * The SMT part the kernel must report for @file's state @line, NULL to
 * skip.  A CPU with MSBDS only has its own "mitigated" in the mds file,
 * upstream's, for the buffer clearing on idle.
 */
static const char *expected(const char *file, const char *line, bool smt)
{
	if (!strstr(line, "SMT ") || strstr(line, "SMT Host state unknown"))
		return NULL;
	if (!smt)
		return "SMT disabled";
	if (!strcmp(file, "mds") && cpu_has_bug("msbds_only"))
		return NULL;
	return "SMT vulnerable";
}

int main(int argc, char **argv)
{
	const char *want_mode = NULL, *mode, *want;
	char path[256], line[512];
	unsigned int i, checked = 0;
	bool smt, ok;
	int opt;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt == 'm')
			want_mode = optarg;
	}

	ksft_print_header();
	mode = cs_mode();
	if (!mode)
		ksft_exit_skip("no %s: not a kernel with this series\n", CS_MODE_FILE);
	if (want_mode && strcmp(mode, want_mode))
		ksft_exit_fail_msg("booted in mode %s, expected %s\n", mode, want_mode);
	if (read_line(SMT_ACTIVE, line, sizeof(line)))
		ksft_exit_fail_msg("cannot read %s\n", SMT_ACTIVE);
	smt = atoi(line) == 1;

	ksft_set_plan(ARRAY_SIZE(files));
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), VULN_DIR "%s", files[i]);
		if (read_line(path, line, sizeof(line))) {
			ksft_test_result_skip("%s: no such file\n", files[i]);
			continue;
		}
		ksft_print_msg("%s: %s\n", files[i], line);
		want = expected(files[i], line, smt);
		if (!want) {
			ksft_test_result_skip("%s: no SMT state to report here\n",
					      files[i]);
			continue;
		}
		checked++;
		ok = strstr(line, want);
		if (!ok)
			ksft_print_msg("%s: expected \"%s\"\n", files[i], want);
		ksft_test_result(ok,
				 "%s reports \"%s\" in mode %s\n", files[i], want,
				 mode);
	}
	if (!checked)
		ksft_exit_skip("this CPU reports no SMT state\n");
	ksft_finished();
}
