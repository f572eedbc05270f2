/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Record SSH agent traffic as fuzz-agent seeds: listen on a socket, relay
 * every client to a running agent, and write what the clients sent, frame
 * by frame, in fuzz-agent's input form (see fuzz-agent.c):
 *
 *	agent-record LISTEN-SOCKET AGENT-SOCKET OUTPUT
 *
 * The stub-keystore part of the seed (knobs 0, the token's keys) comes
 * from the agent's own listing, asked once at start.  A client gets the
 * lowest of the numbers 0, 1, 2 that no other open client has (3 would
 * mean "bound before it sends anything" to the fuzzer; a recorded client
 * binds itself with its own session-bind), and its first frame is marked
 * as a new connection.  Runs until SIGTERM or SIGINT; the output is
 * complete after every frame.  Used by record-agent.sh, not by make check.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sockio.h"

#define MAXCLIENTS	32
#define FRAME_MAX	(256 * 1024 + 4)
#define KEYS_MAX	65535

struct client {
	int		 cfd;		/* the client */
	int		 afd;		/* its agent connection */
	uint8_t		 num;
	uint8_t		*frame;		/* the request read */
	size_t		 have;
	int		 skip;		/* sent a bad frame header */
	int		 fresh;		/* no frame recorded yet */
};

static volatile sig_atomic_t	 stop;
static FILE			*out;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Whole (blob, comment) pairs of an IDENTITIES_ANSWER body that fit. */
static size_t
keys_fit(const uint8_t *p, size_t n, uint32_t count)
{
	size_t	 off = 0, end, len;
	uint32_t i;
	int	 k;

	for (i = 0; i < count; i++) {
		end = off;
		for (k = 0; k < 2; k++) {
			if (n - end < 4)
				return off;
			len = get32(p + end);
			if (n - end - 4 < len)
				return off;
			end += 4 + len;
		}
		if (end > KEYS_MAX)
			break;
		off = end;
	}
	return off;
}

/* The seed's head: knobs, then the keys the agent lists now. */
static int
write_head(const char *agent)
{
	uint8_t	 req[5] = { 0, 0, 0, 1, 11 }, hdr[4], *ans = NULL;
	uint32_t len;
	size_t	 n = 0;
	int	 fd, r = -1;

	if ((fd = sio_connect(agent)) < 0) {
		fprintf(stderr, "agent-record: %s: %s\n", agent,
		    strerror(errno));
		goto out;
	}
	if (sio_write(fd, req, sizeof(req)) != 0 ||
	    sio_read(fd, hdr, 4, -1) != 0 ||
	    (len = get32(hdr)) == 0 || len > FRAME_MAX ||
	    (ans = malloc(len)) == NULL || sio_read(fd, ans, len, -1) != 0) {
		fprintf(stderr, "agent-record: the agent did not list its "
		    "keys\n");
		goto out;
	}
	if (len >= 5 && ans[0] == 12)
		n = keys_fit(ans + 5, len - 5, get32(ans + 1));
	fputc(0, out);
	fputc((int)(n >> 8), out);
	fputc((int)(n & 0xff), out);
	if (n > 0)
		fwrite(ans + 5, 1, n, out);
	r = fflush(out) == 0 ? 0 : -1;
 out:
	free(ans);
	if (fd >= 0)
		close(fd);
	return r;
}

static void
record(struct client *c)
{
	/* its first frame says "a new connection" (bit 2) */
	fputc(c->num | (c->fresh ? 4 : 0), out);
	fwrite(c->frame, 1, c->have, out);
	c->fresh = 0;
	fflush(out);
	c->have = 0;
}

/*
 * What the client sent: record each frame as it completes.  After an
 * empty or oversized frame's header the agent closes the connection, so
 * the rest is not recorded.
 */
static void
client_bytes(struct client *c, const uint8_t *p, size_t n)
{
	size_t		want, take;
	uint32_t	len;

	while (n > 0 && !c->skip) {
		want = c->have < 4 ? 4 : 4 + (size_t)get32(c->frame);
		take = want - c->have < n ? want - c->have : n;
		memcpy(c->frame + c->have, p, take);
		c->have += take;
		p += take;
		n -= take;
		if (c->have < 4)
			break;
		len = get32(c->frame);
		if (len == 0 || len > FRAME_MAX - 4) {
			record(c);
			c->skip = 1;
		} else if (c->have == 4 + (size_t)len)
			record(c);
	}
}

static void
client_end(struct client *c)
{
	if (c->have > 0)
		record(c);	/* it went away in the middle of a frame */
	close(c->cfd);
	close(c->afd);
	free(c->frame);
	memset(c, 0, sizeof(*c));
	c->cfd = c->afd = -1;
}

/* The lowest number no open client has; round robin when all are taken. */
static uint8_t
free_num(const struct client *cl, unsigned int *next)
{
	int	used[3] = { 0, 0, 0 }, i;

	for (i = 0; i < MAXCLIENTS; i++)
		if (cl[i].cfd != -1)
			used[cl[i].num] = 1;
	for (i = 0; i < 3; i++)
		if (!used[i])
			return (uint8_t)i;
	return (uint8_t)((*next)++ % 3);
}

int
main(int argc, char **argv)
{
	struct client		 cl[MAXCLIENTS];
	struct pollfd		 pfd[1 + 2 * MAXCLIENTS];
	struct sigaction	 sa;
	uint8_t			 buf[65536];
	unsigned int		 next = 0;
	ssize_t			 r;
	int			 lfd, fd, afd, np, i, k;

	if (argc != 4) {
		fprintf(stderr, "usage: agent-record listen-socket "
		    "agent-socket output\n");
		return 2;
	}
	if ((out = fopen(argv[3], "wb")) == NULL) {
		fprintf(stderr, "agent-record: %s: %s\n", argv[3],
		    strerror(errno));
		return 1;
	}
	if (write_head(argv[2]) != 0)
		return 1;
	if ((lfd = sio_listen(argv[1], 16)) < 0) {
		fprintf(stderr, "agent-record: %s: %s\n", argv[1],
		    strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < MAXCLIENTS; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].cfd = cl[i].afd = -1;
	}
	while (!stop) {
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (i = 0; i < MAXCLIENTS; i++) {
			pfd[1 + 2 * i].fd = cl[i].cfd;
			pfd[1 + 2 * i].events = POLLIN;
			pfd[2 + 2 * i].fd = cl[i].afd;
			pfd[2 + 2 * i].events = POLLIN;
		}
		np = poll(pfd, 1 + 2 * MAXCLIENTS, -1);
		if (np < 0)
			continue;	/* EINTR: a signal, look at stop */
		if (pfd[0].revents & POLLIN) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			afd = fd < 0 ? -1 : sio_connect(argv[2]);
			for (i = 0; afd >= 0 && i < MAXCLIENTS; i++)
				if (cl[i].cfd == -1)
					break;
			if (fd < 0 || afd < 0 || i == MAXCLIENTS ||
			    (cl[i].frame = malloc(FRAME_MAX)) == NULL) {
				if (fd >= 0)
					close(fd);
				if (afd >= 0)
					close(afd);
			} else {
				cl[i].cfd = fd;
				cl[i].afd = afd;
				cl[i].num = free_num(cl, &next);
				cl[i].fresh = 1;
			}
		}
		for (i = 0; i < MAXCLIENTS; i++) {
			for (k = 0; k < 2 && cl[i].cfd != -1; k++) {
				if (!(pfd[1 + 2 * i + k].revents &
				    (POLLIN | POLLHUP | POLLERR)))
					continue;
				fd = k == 0 ? cl[i].cfd : cl[i].afd;
				r = read(fd, buf, sizeof(buf));
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0 || sio_write(k == 0 ? cl[i].afd :
				    cl[i].cfd, buf, (size_t)r) != 0) {
					client_end(&cl[i]);
					break;
				}
				if (k == 0)
					client_bytes(&cl[i], buf, (size_t)r);
			}
		}
	}
	for (i = 0; i < MAXCLIENTS; i++)
		if (cl[i].cfd != -1)
			client_end(&cl[i]);
	close(lfd);
	unlink(argv[1]);
	return fclose(out) == 0 ? 0 : 1;
}
