/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hop-floor: what the path of a signature through an agent costs on this
 * machine when nobody does any work on it.
 *
 * Three processes in a line over Unix stream sockets, as ssh, the agent
 * and the helper that holds the module: the client writes a request, the
 * relay passes it on, the end answers, the relay passes the answer back.
 * The sizes are those of a P-256 signature (what strace shows ssh, the
 * agent and the helper write).  With the raw C_Sign time and the agent's
 * verification of the token's signature this is the floor under any
 * agent that keeps the module out of its own process: make bench prints
 * the ratio to raw that floor allows.
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

#define C_REQ	330	/* ssh to the agent */
#define H_REQ	339	/* the agent to the helper */
#define H_REP	125	/* the helper's reply */
#define C_REP	109	/* the agent's reply */
#define BIG	512

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
end(int fd)
{
	uint8_t	b[BIG];

	memset(b, 'e', sizeof(b));
	while (full(fd, b, H_REQ, 0) == 0 && full(fd, b, H_REP, 1) == 0)
		continue;
	_exit(0);
}

static void
relay(int up, int down)
{
	uint8_t	b[BIG];

	memset(b, 'r', sizeof(b));
	while (full(up, b, C_REQ, 0) == 0 && full(down, b, H_REQ, 1) == 0 &&
	    full(down, b, H_REP, 0) == 0 && full(up, b, C_REP, 1) == 0)
		continue;
	_exit(0);
}

/* Start fn on the far end of a new socket pair; *mine gets our end. */
static pid_t
start(int *mine, int other, void (*fn1)(int), void (*fn2)(int, int))
{
	pid_t	pid;
	int	sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		if (fn1 != NULL)
			fn1(sv[1]);
		fn2(sv[1], other);
	}
	close(sv[1]);
	if (pid == -1)
		close(sv[0]);
	else
		*mine = sv[0];
	return pid;
}

int
main(int argc, char **argv)
{
	struct lat_vec		lat = { NULL, 0, 0 };
	struct lat_stats	st;
	uint8_t			b[BIG];
	uint64_t		t0, stop, sum = 0;
	double			secs;
	pid_t			pe = -1, pr = -1;
	int			down = -1, up = -1, ret = 1;

	if (argc != 2 || bench_parse_secs("seconds", argv[1], &secs) != 0 ||
	    secs <= 0 || secs > 600) {
		fprintf(stderr, "usage: hop-floor seconds\n");
		goto out;
	}
	/* the end first: the relay inherits our end of its socket */
	if ((pe = start(&down, -1, end, NULL)) == -1 ||
	    (pr = start(&up, down, NULL, relay)) == -1) {
		fprintf(stderr, "hop-floor: %s\n", strerror(errno));
		goto out;
	}
	close(down);
	down = -1;
	memset(b, 'q', sizeof(b));
	stop = bench_now_ns() + (uint64_t)(secs * 1e9);
	while ((t0 = bench_now_ns()) < stop) {
		if (full(up, b, C_REQ, 1) != 0 || full(up, b, C_REP, 0) != 0) {
			fprintf(stderr, "hop-floor: the relay went away\n");
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
	if (up != -1)
		close(up);	/* the relay ends, and so its end */
	if (down != -1)
		close(down);
	if (pr > 0)
		while (waitpid(pr, NULL, 0) == -1 && errno == EINTR)
			continue;
	if (pe > 0)
		while (waitpid(pe, NULL, 0) == -1 && errno == EINTR)
			continue;
	lat_free(&lat);
	return ret;
}
