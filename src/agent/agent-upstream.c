/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The other agent of -A, for real: OpenSSH's ssh-agent (or any agent) on a
 * Unix socket.  Every call has a deadline.  Once the other agent has
 * missed one, the next calls wait at most AGENT_UP_HUNG_MS until it
 * answers again, so a stopped or hung agent costs token-key clients one
 * short wait, not one per request.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"

struct upsock {
	struct agent_upstream	 ops;
	struct sockaddr_un	 sun;
	atomic_int		 hung;
};

struct upconn {
	int	fd;
};

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for ev on fd until the deadline: 0, TK_ERR_TIMEOUT or TK_ERR_*. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return TK_ERR_TIMEOUT;
		pfd.fd = fd;
		pfd.events = ev;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return TK_ERR_SYSTEM;
		if (n == 0)
			return TK_ERR_TIMEOUT;
		return 0;
	}
}

static int
up_open(void *arg, void **ucp)
{
	struct upsock	*u = arg;
	struct upconn	*uc = NULL;
	long long	 deadline = now_ms() + AGENT_UP_LIST_MS;
	socklen_t	 elen = sizeof(int);
	int		 fd = -1, err = 0, r;

	*ucp = NULL;
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
		if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
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
send_frame(int fd, const uint8_t *req, size_t len, long long deadline)
{
	struct iovec	 iov[2];
	struct msghdr	 mh;
	uint8_t		 hdr[4];
	size_t		 off = 0, total = len + 4;
	ssize_t		 n;
	int		 r;

	tk_be32_put(hdr, (uint32_t)len);
	while (off < total) {
		memset(&mh, 0, sizeof(mh));
		if (off < 4) {
			iov[0].iov_base = hdr + off;
			iov[0].iov_len = 4 - off;
			iov[1].iov_base = (void *)(uintptr_t)req;
			iov[1].iov_len = len;
			mh.msg_iovlen = 2;
		} else {
			iov[0].iov_base = (void *)(uintptr_t)(req + off - 4);
			iov[0].iov_len = total - off;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(fd, POLLOUT, deadline)) != 0)
				return r;
			continue;
		}
		if (n <= 0)
			return TK_ERR_CONNECTION;
		off += (size_t)n;
	}
	return 0;
}

static int
recv_full(int fd, uint8_t *p, size_t len, long long deadline)
{
	size_t	off = 0;
	ssize_t	n;
	int	r;

	while (off < len) {
		n = recv(fd, p + off, len - off, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
				return r;
			continue;
		}
		if (n <= 0)
			return TK_ERR_CONNECTION;
		off += (size_t)n;
	}
	return 0;
}

static int
up_call(void *arg, void *ucp, const uint8_t *req, size_t len,
    struct tk_buf *reply, int timeout_ms)
{
	struct upsock	*u = arg;
	struct upconn	*uc = ucp;
	long long	 deadline;
	uint8_t		 hdr[4], *p;
	uint32_t	 n;
	int		 r;

	if (atomic_load(&u->hung) && timeout_ms > AGENT_UP_HUNG_MS)
		timeout_ms = AGENT_UP_HUNG_MS;
	deadline = now_ms() + timeout_ms;
	tk_buf_reset(reply);
	if ((r = send_frame(uc->fd, req, len, deadline)) != 0 ||
	    (r = recv_full(uc->fd, hdr, 4, deadline)) != 0)
		goto out;
	n = tk_be32_get(hdr);
	if (n == 0 || n > AGENT_MAX_FRAME) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((r = tk_buf_reserve(reply, n, &p)) != 0)
		goto out;
	r = recv_full(uc->fd, p, n, deadline);
 out:
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
