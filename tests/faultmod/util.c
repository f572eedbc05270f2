/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: small helpers.
 */

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "faultmod.h"

/* Test authors need to hear about typos; stderr is all a module has. */
void
warnmsg(const char *where, unsigned long line, const char *msg)
{
	if (line > 0)
		fprintf(stderr, "faultmod: %s:%lu: %s\n", where, line, msg);
	else
		fprintf(stderr, "faultmod: %s: %s\n", where, msg);
}

void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* FNV-1a; never 0, which stands for "none". */
uint64_t
hash_bytes(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h | 1;
}
