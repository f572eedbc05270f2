/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hop-floor: what one request/reply round trip between two processes
 * over a Unix stream socket costs on this machine, and nothing else.
 *
 * A signature through the agent makes two such round trips (ssh to the
 * agent, the agent to the helper that holds the module), so with the
 * raw C_Sign time and the agent's verification of the token's signature
 * this is the floor under any agent that keeps the module out of its
 * own process: make bench prints the ratio to raw that floor allows.
 * The parent writes a request of REQ bytes and reads a reply of REP
 * bytes (about a P-256 signature request and reply), the child the
 * other way round, for the given seconds.
 *
 * usage: hop-floor seconds
 * prints: hop-floor: n=N rtt_us=MEAN p50_us=P50 p99_us=P99
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"

#define REQ	339
#define REP	125

/* Exactly n bytes, or -1. */
static int
full(int fd, uint8_t *p, size_t n, int out)
{
	ssize_t	k;

	while (n > 0) {
		k = out ? write(fd, p, n) : read(fd, p, n);
		if (k == -1 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void
echo(int fd)
{
	uint8_t	b[REQ];

	memset(b, 'r', sizeof(b));
	while (full(fd, b, REQ, 0) == 0 && full(fd, b, REP, 1) == 0)
		continue;
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct lat_vec		lat = { NULL, 0, 0 };
	struct lat_stats	st;
	uint8_t			b[REQ];
	uint64_t		t0, end, sum = 0;
	double			secs;
	pid_t			pid = -1;
	int			sv[2] = { -1, -1 }, ret = 1;

	if (argc != 2 || bench_parse_secs("seconds", argv[1], &secs) != 0 ||
	    secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: hop-floor seconds\n");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (pid = fork()) == -1) {
		fprintf(stderr, "hop-floor: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		close(sv[0]);
		echo(sv[1]);
	}
	close(sv[1]);
	sv[1] = -1;
	memset(b, 'q', sizeof(b));
	end = bench_now_ns() + (uint64_t)(secs * 1e9);
	while ((t0 = bench_now_ns()) < end) {
		if (full(sv[0], b, REQ, 1) != 0 ||
		    full(sv[0], b, REP, 0) != 0) {
			fprintf(stderr, "hop-floor: the echo process went "
			    "away\n");
			goto out;
		}
		t0 = bench_now_ns() - t0;
		sum += t0;
		if (lat_push(&lat, t0) != 0) {
			fprintf(stderr, "hop-floor: out of memory\n");
			goto out;
		}
	}
	lat_stats(&lat, &st);
	if (st.n == 0)
		goto out;
	printf("hop-floor: n=%zu rtt_us=%.1f p50_us=%.1f p99_us=%.1f\n",
	    st.n, (double)sum / (double)st.n / 1e3, (double)st.p50 / 1e3,
	    (double)st.p99 / 1e3);
	ret = 0;
 out:
	if (sv[0] != -1)
		close(sv[0]);
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			continue;
	lat_free(&lat);
	return ret;
}
