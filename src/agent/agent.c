/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's server: accept on the listening socket, check the peer's
 * uid, and give each connection its own thread, so a signature waiting on
 * a slow token (or a PIN prompt) holds up only its own client.  Listing
 * is answered from the cache that a background thread keeps fresh: it
 * sleeps until a helper says its module's tokens may have changed, a
 * re-list is asked for or a timer is due, and does then what is due
 * (agent-follow.c), so an idle agent stays asleep.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/fdio.h"
#include "common/pathwatch.h"

#define AGENT_MAX_CONNS		512
#define AGENT_CHILD_POLL_MS	1000	/* -A auto's ssh-agent: alive? */
#define AGENT_THREAD_STACK	(512 * 1024)

static int	stop_pipe[2] = { -1, -1 };

struct conn_job {
	struct agent	*a;
	int		 fd;
	uid_t		 uid;
};

static pthread_mutex_t	conns_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	conns_cv = PTHREAD_COND_INITIALIZER;
static unsigned int	nconns;
static int		stopping;
static int		conn_fds[AGENT_MAX_CONNS];	/* -1: free */

int
agent_init(struct agent *a, const struct agent_ops *ops)
{
	memset(a, 0, sizeof(*a));
	a->ops = ops;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->tokens_mu, NULL);
	pthread_mutex_init(&a->tty_mu, NULL);
	tk_buf_init(&a->idanswer, AGENT_MAX_FRAME, 0);
	a->unlock_delay_ms = 1000;
	agent_wake_init(a);
	agent_relist_init(a);
	if (tk_buf_put_u8(&a->idanswer, SSH_AGENT_IDENTITIES_ANSWER) != 0 ||
	    tk_buf_put_u32(&a->idanswer, 0) != 0)
		return TK_ERR_NOMEM;
	return 0;
}

void
agent_free(struct agent *a)
{
	agent_sources_free(a);
	agent_specs_free(a);
	agent_certsets_free(a);
	agent_certdir_free(a);
	agent_keyset_free(a);
	agent_hidden_clear(a);
	agent_mods_free(a);
	agent_tokens_free(a);
	free(a->allowlist);
	explicit_bzero(a->lock_salt, sizeof(a->lock_salt));
	explicit_bzero(a->lock_hash, sizeof(a->lock_hash));
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->tokens_mu);
	pthread_mutex_destroy(&a->tty_mu);
	agent_wake_free(a);
	agent_relist_free(a);
	tk_pathwatch_free(a->fw_files);
	a->fw_files = NULL;
}

/* One reply frame: length header and body in one sendmsg where possible. */
static int
write_frame(int fd, const uint8_t *p, size_t n)
{
	struct msghdr	mh;
	struct iovec	iov[2];
	uint8_t		hdr[4];
	size_t		off = 0, total = n + 4;
	ssize_t		r;

	tk_be32_put(hdr, (uint32_t)n);
	while (off < total) {
		memset(&mh, 0, sizeof(mh));
		if (off < 4) {
			iov[0].iov_base = hdr + off;
			iov[0].iov_len = 4 - off;
			iov[1].iov_base = (void *)(uintptr_t)p;
			iov[1].iov_len = n;
			mh.msg_iovlen = 2;
		} else {
			iov[0].iov_base = (void *)(uintptr_t)(p + off - 4);
			iov[0].iov_len = total - off;
			mh.msg_iovlen = 1;
		}
		mh.msg_iov = iov;
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

/*
 * Has the client closed its end?  On a Unix stream socket POLLHUP means
 * the peer is gone for good (a mere shutdown(SHUT_WR) gives only
 * POLLRDHUP), so no reply could reach it.
 */
static int
peer_gone(int fd)
{
	struct pollfd	pfd;

	pfd.fd = fd;
	pfd.events = 0;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

int
agent_conn_step(struct agent *a, struct agent_conn *c, int fd,
    struct tk_buf *in, struct tk_buf *out)
{
	uint8_t		 hdr[4], *p;
	uint32_t	 len;
	int		 r = -1;

	if (tk_fd_read_full(fd, hdr, 4) != 0)
		goto out;
	len = tk_be32_get(hdr);
	if (len == 0 || len > AGENT_MAX_FRAME) {
		agent_log(a, AGENT_LOG_ERR, "request frame of %u bytes "
		    "(limit %u): closing the connection", len,
		    AGENT_MAX_FRAME);
		goto out;
	}
	tk_buf_reset(in);
	if (tk_buf_reserve(in, len, &p) != 0 ||
	    tk_fd_read_full(fd, p, len) != 0) {
		agent_log(a, AGENT_LOG_DEBUG, "client went away in the middle "
		    "of a request");
		goto out;
	}
	/*
	 * A signature nobody can receive would still cost a token operation
	 * (or a PIN prompt): clients that queue requests and hang up must
	 * not be able to keep the token busy.
	 */
	if (p[0] == SSH_AGENTC_SIGN_REQUEST && peer_gone(fd)) {
		agent_log(a, AGENT_LOG_DEBUG, "client went away before its "
		    "sign request was served: dropped");
		goto out;
	}
	if (agent_dispatch(a, c, tk_buf_ptr(in), tk_buf_avail(in), out) != 0)
		goto out;
	/*
	 * Wipe the request (a PIN, the lock password) before the client
	 * hears back: once it has its answer, nothing of the secret is left.
	 */
	tk_buf_reset(in);
	if (write_frame(fd, tk_buf_ptr(out), tk_buf_avail(out)) != 0)
		goto out;
	r = 0;
 out:
	tk_buf_reset(in);
	return r;
}

static void
conn_serve(struct agent *a, int fd, uid_t uid)
{
	struct agent_conn	 c;
	struct tk_buf		 in, out;

	memset(&c, 0, sizeof(c));
	c.uid = uid;
	c.pid = agent_peer_pid(fd);
	/* secret: a request may carry a PIN or the lock password */
	tk_buf_init(&in, AGENT_MAX_FRAME, TK_BUF_SECRET);
	tk_buf_init(&out, AGENT_MAX_FRAME, 0);
	while (agent_conn_step(a, &c, fd, &in, &out) == 0)
		continue;
	agent_up_close(a, &c);
	agent_conn_clear(&c);
	tk_buf_free(&in);
	tk_buf_free(&out);
	explicit_bzero(&c, sizeof(c));
}

static void *
conn_thread(void *arg)
{
	struct conn_job	*j = arg;

	size_t		 i;

	conn_serve(j->a, j->fd, j->uid);
	pthread_mutex_lock(&conns_mu);
	for (i = 0; i < AGENT_MAX_CONNS; i++)
		if (conn_fds[i] == j->fd)
			conn_fds[i] = -1;
	close(j->fd);
	free(j);
	nconns--;
	pthread_cond_broadcast(&conns_cv);
	pthread_mutex_unlock(&conns_mu);
	return NULL;
}

static void *
refresh_thread(void *arg)
{
	struct agent	*a = arg;
	int		 stop, ms;

	for (;;) {
		ms = agent_follow_due(a);
		if (a->child != NULL && ms > AGENT_CHILD_POLL_MS)
			ms = AGENT_CHILD_POLL_MS;
		/* agent_serve wakes us when it stops */
		agent_follow_wait(a, ms);
		pthread_mutex_lock(&conns_mu);
		stop = stopping;
		pthread_mutex_unlock(&conns_mu);
		if (stop)
			break;
		if (a->child != NULL)
			agent_child_poll(a, a->child);
		agent_follow_tokens(a);
	}
	return NULL;
}

static int
peer_ok(struct agent *a, int fd, uid_t *uid)
{
	struct ucred	cr;
	socklen_t	len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr)) {
		agent_log(a, AGENT_LOG_ERR, "connection refused: cannot read "
		    "the peer's credentials: %s", strerror(errno));
		return 0;
	}
	if (cr.uid != getuid()) {
		agent_log(a, AGENT_LOG_ERR, "connection from uid %ld (pid %ld) "
		    "refused: only uid %ld may use this agent", (long)cr.uid,
		    (long)cr.pid, (long)getuid());
		return 0;
	}
	*uid = cr.uid;
	return 1;
}

static void
on_signal(int sig)
{
	int	saved = errno;
	char	c = (char)sig;

	ssize_t	n;

	if (stop_pipe[1] != -1) {
		n = write(stop_pipe[1], &c, 1);
		(void)n;
	}
	errno = saved;
}

int
agent_signals_init(void)
{
	struct sigaction	sa;

	if (stop_pipe[0] != -1)
		return 0;
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return TK_ERR_SYSTEM;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	return 0;
}

void
agent_stop(void)
{
	on_signal(SIGTERM);
}

int
agent_serve(struct agent *a, int lfd)
{
	struct pollfd		 pfd[2];
	struct conn_job		*j;
	struct timespec		 ts;
	pthread_attr_t		 attr;
	pthread_t		 t, rt;
	uid_t			 uid;
	size_t			 i;
	int			 fd, r = 0, have_rt = 0, full, was_full = 0;

	for (i = 0; i < AGENT_MAX_CONNS; i++)
		conn_fds[i] = -1;
	if ((r = agent_signals_init()) != 0)
		return r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, AGENT_THREAD_STACK);
	if (pthread_create(&rt, NULL, refresh_thread, a) == 0)
		have_rt = 1;
	else
		agent_log(a, AGENT_LOG_ERR, "cannot start the refresh thread: "
		    "tokens appearing later will not be noticed");

	pfd[0].fd = lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = stop_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		/*
		 * At the connection limit, new clients wait in the listen
		 * backlog until a connection ends, rather than being accepted
		 * and dropped (which a reconnecting client turns into a loop
		 * and a log line per turn).  Ending threads do not wake us:
		 * look again every 100 ms.
		 */
		pthread_mutex_lock(&conns_mu);
		full = nconns >= AGENT_MAX_CONNS;
		pthread_mutex_unlock(&conns_mu);
		if (full && !was_full)
			agent_log(a, AGENT_LOG_ERR, "%d connections open: new "
			    "ones wait until one ends", AGENT_MAX_CONNS);
		was_full = full;
		pfd[0].fd = full ? -1 : lfd;
		pfd[0].revents = 0;
		if (poll(pfd, 2, full ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			r = TK_ERR_SYSTEM;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED) {
				agent_log(a, AGENT_LOG_ERR, "accept: %s",
				    strerror(errno));
				/* fd exhaustion: do not spin */
				ts.tv_sec = 0;
				ts.tv_nsec = 100000000L;
				nanosleep(&ts, NULL);
			}
			continue;
		}
		if (!peer_ok(a, fd, &uid)) {
			close(fd);
			continue;
		}
		pthread_mutex_lock(&conns_mu);
		if (nconns >= AGENT_MAX_CONNS || (j = calloc(1,
		    sizeof(*j))) == NULL) {
			pthread_mutex_unlock(&conns_mu);
			agent_log(a, AGENT_LOG_ERR, "out of memory: refusing a "
			    "connection");
			close(fd);
			continue;
		}
		nconns++;
		for (i = 0; i < AGENT_MAX_CONNS; i++)
			if (conn_fds[i] == -1) {
				conn_fds[i] = fd;
				break;
			}
		pthread_mutex_unlock(&conns_mu);
		j->a = a;
		j->fd = fd;
		j->uid = uid;
		if (pthread_create(&t, &attr, conn_thread, j) != 0) {
			agent_log(a, AGENT_LOG_ERR, "cannot start a thread for "
			    "a connection");
			pthread_mutex_lock(&conns_mu);
			for (i = 0; i < AGENT_MAX_CONNS; i++)
				if (conn_fds[i] == fd)
					conn_fds[i] = -1;
			nconns--;
			pthread_mutex_unlock(&conns_mu);
			close(fd);
			free(j);
		}
	}
	pthread_attr_destroy(&attr);

	/* Let requests in flight finish briefly; new ones are not taken. */
	pthread_mutex_lock(&conns_mu);
	stopping = 1;
	pthread_cond_broadcast(&conns_cv);
	agent_wake(a);
	for (i = 0; i < AGENT_MAX_CONNS; i++)
		if (conn_fds[i] != -1)
			shutdown(conn_fds[i], SHUT_RDWR);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	while (nconns > 0)
		if (pthread_cond_timedwait(&conns_cv, &conns_mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&conns_mu);
	if (have_rt)
		pthread_join(rt, NULL);
	return r;
}
