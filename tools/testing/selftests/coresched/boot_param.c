// SPDX-License-Identifier: GPL-2.0
/*
 * The coresched= of this boot: the mode is the one asked for; an unknown
 * value is reported on the console and "on" stays; coresched=vm on a
 * kernel without VM isolation (-n) gives on, and a line that says why.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>

#include "../kselftest_harness.h"
#include "cs_util.h"

#define SYSLOG_ACTION_READ_ALL		3
#define SYSLOG_ACTION_SIZE_BUFFER	10
#define UNKNOWN		": unknown value; accepted values are off, on, vm and vm,strict; using coresched=on"
#define NOT_BUILT	": VM isolation is not built in"

/* -n: a kernel built without CONFIG_SCHED_CORE_VM. */
static bool vm_built_in = true;

FIXTURE(boot) {
	const char *value;	/* the last coresched=, NULL if none */
	char cmdline[4096];
	char *log;
};

FIXTURE_SETUP(boot)
{
	char *tok, *save;
	int size;

	ASSERT_EQ(0, cs_read_file("/proc/cmdline", self->cmdline, sizeof(self->cmdline)));
	self->value = NULL;
	for (tok = strtok_r(self->cmdline, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!strncmp(tok, "coresched=", 10))
			self->value = tok + 10;
		else if (!strcmp(tok, "coresched"))
			self->value = "";
	}
	size = klogctl(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0);
	ASSERT_LT(0, size);
	self->log = calloc(1, size + 1);
	ASSERT_NE(NULL, self->log);
	ASSERT_LE(0, klogctl(SYSLOG_ACTION_READ_ALL, self->log, size));
	TH_LOG("coresched=%s on the command line, mode %s",
	       self->value ?: "(none)", cs_kernel_mode());
}

FIXTURE_TEARDOWN(boot)
{
	free(self->log);
}

static bool valid(const char *value)
{
	return value && (!strcmp(value, "off") || !strcmp(value, "on") ||
			 !strcmp(value, "vm") || !strcmp(value, "vm,strict"));
}

/* What the mode must be: the value asked for, else the default. */
TEST_F(boot, mode)
{
	const char *want = "on";

	if (valid(self->value) && (vm_built_in || strncmp(self->value, "vm", 2)))
		want = self->value;
	ASSERT_STREQ(want, cs_kernel_mode());
}

/* Only a value that cannot be honoured is reported, and then it is. */
TEST_F(boot, reported)
{
	char expect[256];

	snprintf(expect, sizeof(expect), "coresched=%s" UNKNOWN,
		 self->value ?: "");
	if (!self->value) {
		EXPECT_EQ(NULL, strstr(self->log, UNKNOWN));
	} else if (!valid(self->value)) {
		EXPECT_NE(NULL, strstr(self->log, expect))
			TH_LOG("no console line \"%s\"", expect);
	} else if (!vm_built_in && !strncmp(self->value, "vm", 2)) {
		EXPECT_NE(NULL, strstr(self->log, NOT_BUILT));
	} else {
		EXPECT_EQ(NULL, strstr(self->log, UNKNOWN));
		EXPECT_EQ(NULL, strstr(self->log, NOT_BUILT));
	}
}

static void option(int c, const char *arg)
{
	vm_built_in = false;
}

int main(int argc, char **argv)
{
	return test_harness_run(cs_options(argc, argv, "n", option), argv);
}
