// SPDX-License-Identifier: GPL-2.0
/*
 * What /sys/devices/system/cpu/vulnerabilities says about SMT.  Only the
 * SMT part of l1tf's VMX report is about guests alone; it must say
 * "mitigated" under coresched=vm,strict when KVM flushes the L1D at
 * VM-entry, and "vulnerable" in every other mode (the control: the same
 * file, the same CPU, only the mode differs between the lab's runs).  The
 * SMT parts of mds, tsx_async_abort and mmio_stale_data are about any two
 * tasks, which VM isolation does not cover: they must say "vulnerable" in
 * every mode.  Files of leaks the CPU does not have, or that a hypervisor
 * hides ("SMT Host state unknown"), are skipped; if every file is, the
 * test skips.
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

/*
 * The SMT part the kernel must report for @file's state @line, NULL to
 * skip: "mitigated" only for l1tf, only under coresched=vm,strict and only
 * with the L1D flushed at VM-entry ("cache flushes", conditional or not).
 */
static const char *expected(const char *file, const char *line,
			    const char *mode, bool smt)
{
	if (!strstr(line, "SMT ") || strstr(line, "SMT Host state unknown"))
		return NULL;
	if (!smt)
		return "SMT disabled";
	if (!strcmp(file, "l1tf") && !strcmp(mode, "vm,strict") &&
	    strstr(line, "cache flushes, SMT"))
		return "SMT mitigated";
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
		want = expected(files[i], line, mode, smt);
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
