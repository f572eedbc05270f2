/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every part of the agent shares at the bottom: its log (through
 * a->logfn, so the caller decides where lines go) and its clock (the
 * monotonic one, or a test's).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent/agent.h"

void
agent_log(struct agent *a, int level, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	if (level == AGENT_LOG_DEBUG && !a->debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->logfn != NULL)
		a->logfn(level, msg);
}

time_t
agent_now(struct agent *a)
{
	struct timespec	ts;

	if (a->now != NULL)
		return a->now();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
