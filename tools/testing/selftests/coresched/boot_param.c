// SPDX-License-Identifier: GPL-2.0
/*
 * The coresched= boot parameter as this boot received it: the mode in
 * debugfs must be the one asked for, and a value the kernel does not know
 * must be reported on the console, naming the parameter, the value and the
 * accepted values, while the default mode ("on") stays in force.
 * coresched=vm must give mode vm, or, on a kernel built without VM
 * isolation (-n), mode on and a console line that says why.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>

#include "../kselftest.h"
#include "cs_util.h"

/* Words of the command line: spaces, and the final newline. */
#define SEPARATORS	"\n "

/* -n: a kernel built without CONFIG_SCHED_CORE_VM. */
static bool vm_built_in = true;

#define SYSLOG_ACTION_READ_ALL		3
#define SYSLOG_ACTION_SIZE_BUFFER	10

/* The value of the last coresched= on the command line, NULL if none. */
static const char *cmdline_value(void)
{
	static char cmdline[4096];
	const char *value = NULL;
	char *tok, *save;
	FILE *f = fopen("/proc/cmdline", "r");

	if (!f || !fgets(cmdline, sizeof(cmdline), f))
		ksft_exit_fail_msg("cannot read /proc/cmdline\n");
	fclose(f);
	for (tok = strtok_r(cmdline, SEPARATORS, &save); tok;
	     tok = strtok_r(NULL, SEPARATORS, &save)) {
		if (!strncmp(tok, "coresched=", 10))
			value = tok + 10;
		else if (!strcmp(tok, "coresched"))
			value = "";
	}
	return value;
}

static char *kernel_log(void)
{
	int size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	char *buf;
	int n;

	if (size <= 0)
		ksft_exit_fail_perror("klogctl size");
	buf = calloc(1, size + 1);
	n = klogctl(SYSLOG_ACTION_READ_ALL, buf, size);
	if (!buf || n < 0)
		ksft_exit_fail_perror("klogctl read");
	buf[n] = '\0';
	return buf;
}

int main(int argc, char **argv)
{
	const char *value = cmdline_value(), *mode = cs_mode();
	bool valid, warned;
	char expect[512];
	char *log;

	if (argc > 1 && !strcmp(argv[1], "-n"))
		vm_built_in = false;
	else if (argc > 1)
		ksft_exit_fail_msg("usage: boot_param [-n]\n");

	ksft_print_header();
	if (!mode)
		ksft_exit_skip("no %s: not a kernel with this series\n",
			       CS_MODE_FILE);
	ksft_set_plan(2);

	valid = value && (!strcmp(value, "off") || !strcmp(value, "on") ||
			  !strcmp(value, "vm") || !strcmp(value, "vm,strict"));
	ksft_print_msg("coresched=%s on the command line, mode %s\n",
		       value ? value : "(none)", mode);

	log = kernel_log();
	snprintf(expect, sizeof(expect),
		 "coresched=%s: unknown value; accepted values are off, on, vm and vm,strict; using coresched=on",
		 value ? value : "");
	warned = strstr(log, expect);

	if (valid && !strncmp(value, "vm", 2) && !vm_built_in) {
		/* A kernel without CONFIG_SCHED_CORE_VM says so and stays on. */
		ksft_test_result(!strcmp(mode, "on"),
				 "vm without VM isolation built in: mode on\n");
		ksft_test_result(!!strstr(log, ": VM isolation is not built in"),
				 "vm without VM isolation built in is reported\n");
	} else if (valid) {
		ksft_test_result(!strcmp(mode, value),
				 "mode is the one the command line asks for\n");
		ksft_test_result(!strstr(log, ": unknown value; accepted values") &&
				 !strstr(log, "VM isolation is not built in"),
				 "a valid value is not reported\n");
	} else if (value) {
		ksft_test_result(!strcmp(mode, "on"),
				 "a bad value leaves the default mode, on\n");
		if (!warned)
			ksft_print_msg("no console line \"%s\"\n", expect);
		ksft_test_result(warned,
				 "a bad value is reported on the console\n");
	} else {
		ksft_test_result(!strcmp(mode, "on"),
				 "without coresched= the mode is on\n");
		ksft_test_result(!strstr(log, ": unknown value; accepted values"),
				 "nothing reported without coresched=\n");
	}
	free(log);
	ksft_finished();
}
