// SPDX-License-Identifier: GPL-2.0
/*
 * What /sys/devices/system/cpu/vulnerabilities says about SMT.  Under
 * coresched=vm, on a CPU affected by a cross-thread leak whose mitigation
 * clears the buffers (microcode included), the SMT part must say
 * "mitigated by core scheduling VM isolation"; in any other mode, or
 * without working clearing, it must say "vulnerable" as before (the
 * control: the same file, the same CPU, only the mode differs between the
 * lab's runs).  Files of leaks the CPU does not have, or that a hypervisor
 * hides ("SMT Host state unknown"), are skipped; if every file is, the
 * test skips.
 *
 * Under QEMU's TCG the lab's CPU model has MDS but no MD_CLEAR (TCG cannot
 * offer it), so there the test checks that a vm-mode kernel does not claim
 * a mitigation the CPU cannot have; the "mitigated" line needs hardware.
 *
 * usage: vuln_report -m off|on|vm   (the mode the kernel was booted in)
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
#define MITIGATED	"SMT mitigated by core scheduling VM isolation"

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
 * The SMT part the kernel must report for a state line, NULL to skip.
 * "Mitigated" needs both halves: coresched=vm, and the mitigation proper
 * clearing buffers at VM entry, microcode included.  A line that starts
 * with "Vulnerable" ("Vulnerable", "Vulnerable: Clear CPU buffers
 * attempted, no microcode") has no working clearing: SMT stays
 * vulnerable whatever the mode.
 */
static const char *expected(const char *line, const char *mode, bool smt)
{
	if (!strstr(line, "SMT ") || strstr(line, "SMT Host state unknown"))
		return NULL;
	if (!smt)
		return "SMT disabled";
	if (!strncmp(line, "Vulnerable", 10))
		return "SMT vulnerable";
	return strcmp(mode, "vm") ? "SMT vulnerable" : MITIGATED;
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
		want = expected(line, mode, smt);
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
