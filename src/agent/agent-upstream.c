/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The other agent of -A, for real: OpenSSH's ssh-agent (or any agent) on a
 * Unix socket.  Every call has a deadline.  Once the other agent has
 * missed one, the next calls wait at most AGENT_UP_HUNG_MS until it
 * answers again, so a hung agent costs token-key clients one wait, not
 * one per request.  A stopped one (SIGSTOP, a debugger) or a dead one
 * costs not even that: while an answer is late, the process behind the
 * socket (SO_PEERCRED) is looked at every UP_LOOK_MS, and a process that
 * cannot answer ends the wait at once.  Nor does one that is busy: OpenSSH's
 * ssh-agent answers one request at a time, and while it asks for a
 * confirmation (ssh-add -c) it answers nothing.  A listing that finds
 * requests outstanding and no answer for UP_STALL_MS waits only
 * AGENT_UP_HUNG_MS, and its timeout does not count as a hang: the other
 * agent's keys are missing from that listing, and its other requests
 * wait their turn as before.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/deadline.h"
#include "common/fdio.h"

struct upsock {
	struct agent_upstream	 ops;
	struct sockaddr_un	 sun;
	atomic_int		 hung;
	atomic_int		 inflight;	/* requests outstanding */
	atomic_llong		 progress_ms;	/* last answer or first ask */
};

#define UP_LOOK_MS	10	/* a late answer: is its process able to? */
#define UP_STALL_MS	200	/* asked, and nothing answered since: busy */

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct upconn {
	int	fd;
	pid_t	pid;		/* behind the socket; 0: unknown */
};

/*
 * Can process pid not answer, being stopped, a zombie or gone?  Linux's
 * /proc; where there is none, it cannot be told (0).
 */
static int
cannot_answer(pid_t pid)
{
	char	path[64], buf[512], *p;
	ssize_t	n;
	int	fd, r = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT && access("/proc/self/stat", R_OK) == 0;
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		/* "pid (comm) S ...": comm may hold anything, even ')' */
		if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ')
			r = strchr("TtZXx", p[2]) != NULL && p[2] != '\0';
	}
	close(fd);
	return r;
}

/*
 * Wait until the answer starts to arrive, or deadline d passes, or the
 * process behind the socket cannot answer (TK_ERR_TIMEOUT both).
 */
static int
wait_answer(struct upconn *uc, const struct timespec *d)
{
	struct timespec	slice;
	int		r;

	for (;;) {
		if (tk_deadline_left(d) <= UP_LOOK_MS)
			return tk_deadline_wait_fd(uc->fd, POLLIN, d);
		tk_deadline_set(&slice, UP_LOOK_MS);
		if ((r = tk_deadline_wait_fd(uc->fd, POLLIN,
		    &slice)) != TK_ERR_TIMEOUT)
			return r;
		if (cannot_answer(uc->pid))
			return TK_ERR_TIMEOUT;
	}
}

static int
up_open(void *arg, void **ucp)
{
	struct upsock	*u = arg;
	struct upconn	*uc = NULL;
	struct timespec	 deadline;
	struct ucred	 cred;
	socklen_t	 elen = sizeof(int);
	int		 fd = -1, err = 0, r;

	*ucp = NULL;
	tk_deadline_set(&deadline, AGENT_UP_LIST_MS);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&u->sun, sizeof(u->sun)) != 0) {
		if (errno != EINPROGRESS && errno != EAGAIN) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		if ((r = tk_deadline_wait_fd(fd, POLLOUT, &deadline)) != 0)
			goto out;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
	}
	if ((uc = malloc(sizeof(*uc))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	uc->pid = 0;
	elen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &elen) == 0)
		uc->pid = cred.pid;
	uc->fd = fd;
	fd = -1;
	*ucp = uc;
	r = 0;
 out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int
up_call(void *arg, void *ucp, const uint8_t *req, size_t len,
    struct tk_buf *reply, int timeout_ms)
{
	struct upsock	*u = arg;
	struct upconn	*uc = ucp;
	struct timespec	 deadline;
	uint8_t		 hdr[4], *p;
	uint32_t	 n;
	int		 r, busy = 0;

	if (len > 0 && req[0] == SSH_AGENTC_REQUEST_IDENTITIES &&
	    atomic_load(&u->inflight) > 0 &&
	    now_ms() - atomic_load(&u->progress_ms) > UP_STALL_MS)
		busy = 1;
	if ((busy || atomic_load(&u->hung)) && timeout_ms > AGENT_UP_HUNG_MS)
		timeout_ms = AGENT_UP_HUNG_MS;
	if (atomic_fetch_add(&u->inflight, 1) == 0)
		atomic_store(&u->progress_ms, now_ms());
	tk_deadline_set(&deadline, (unsigned int)timeout_ms);
	tk_buf_reset(reply);
	tk_be32_put(hdr, (uint32_t)len);
	if ((r = tk_fd_send_all_by(uc->fd, hdr, 4, &deadline)) != 0 ||
	    (r = tk_fd_send_all_by(uc->fd, req, len, &deadline)) != 0 ||
	    (r = wait_answer(uc, &deadline)) != 0 ||
	    (r = tk_fd_read_full_by(uc->fd, hdr, 4, &deadline)) != 0)
		goto out;
	n = tk_be32_get(hdr);
	if (n == 0 || n > AGENT_MAX_FRAME) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((r = tk_buf_reserve(reply, n, &p)) != 0)
		goto out;
	r = tk_fd_read_full_by(uc->fd, p, n, &deadline);
 out:
	if (r == 0)
		atomic_store(&u->progress_ms, now_ms());
	atomic_fetch_sub(&u->inflight, 1);
	if (!busy || r != TK_ERR_TIMEOUT)
		atomic_store(&u->hung, r == TK_ERR_TIMEOUT);
	if (r != 0)
		tk_buf_reset(reply);
	return r;
}

static void
up_close(void *arg, void *ucp)
{
	struct upconn	*uc = ucp;

	(void)arg;
	if (uc == NULL)
		return;
	close(uc->fd);
	free(uc);
}

int
agent_upstream_socket(const char *path, const char *ourpath,
    struct agent_upstream **out)
{
	struct upsock	*u = NULL;
	struct stat	 st, ours;
	int		 r;

	*out = NULL;
	if (strlen(path) >= sizeof(u->sun.sun_path)) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if (lstat(path, &st) != 0) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != getuid()) {
		r = TK_ERR_DENIED;
		goto out;
	}
	if (ourpath != NULL && lstat(ourpath, &ours) == 0 &&
	    ours.st_dev == st.st_dev && ours.st_ino == st.st_ino) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	u->sun.sun_family = AF_UNIX;
	memcpy(u->sun.sun_path, path, strlen(path) + 1);
	u->ops.open = up_open;
	u->ops.call = up_call;
	u->ops.close = up_close;
	u->ops.arg = u;
	atomic_init(&u->hung, 0);
	atomic_init(&u->inflight, 0);
	atomic_init(&u->progress_ms, 0);
	*out = &u->ops;
	u = NULL;
	r = 0;
 out:
	free(u);
	return r;
}

void
agent_upstream_free(struct agent_upstream *up)
{
	free(up);	/* ops is the first member of struct upsock */
}
