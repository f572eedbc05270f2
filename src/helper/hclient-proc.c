/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper process behind a client (hclient.h, hclient-int.h).
 *
 * A helper incarnation (struct hc_proc) is a child process and the
 * agent's end of a socketpair.  Callers write whole frames under the
 * incarnation's write lock and read the replies themselves: one waiting
 * caller at a time holds the reader role, reads the stream and hands
 * each frame to the call with its id; when its own reply has come it
 * passes the role to another waiting caller.  So a lone caller reads its
 * own reply, with no thread hand-off on the way.  Every wait has a
 * CLOCK_MONOTONIC deadline (poll, or the call's condition variable).  An
 * incarnation that died, garbled its stream or missed a deadline is
 * marked dead and its waiting calls fail; the next call retires it
 * (SIGKILL, waitpid) and starts a new one.  Retiring and starting are
 * serialised by spawn_mu, and only they kill or reap, so a pid is never
 * signalled after it was reaped.
 *
 * Lock order: spawn_mu, then mu; wmu is taken alone.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/deadline.h"
#include "common/fdio.h"
#include "helper/hclient-int.h"
#include "helper/hproto.h"

/* With c->mu held. */
static void
calls_remove(struct hc_proc *p, struct hc_call *call)
{
	struct hc_call	**pp;

	for (pp = &p->calls; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == call) {
			*pp = call->next;
			break;
		}
	}
}

/*
 * With c->mu held: the incarnation is done; fail every waiting call with
 * err (TK_ERR_TIMEOUT when the helper hung: the module did not answer).
 */
static void
proc_fail(struct hc_proc *p, int err)
{
	struct hc_call	*call;

	p->dead = 1;
	while ((call = p->calls) != NULL) {
		p->calls = call->next;
		call->err = err;
		call->done = 1;
		pthread_cond_signal(&call->cv);
	}
}

/*
 * As the holder of the reader role (without c->mu): read reply frames
 * and hand each to its call until me is done (0), the deadline passes
 * (TK_ERR_TIMEOUT) or the stream ends or is garbled (TK_ERR_CONNECTION).
 */
static int
read_replies(struct tk_hclient *c, struct hc_proc *p, struct hc_call *me,
    const struct timespec *deadline)
{
	struct hc_call	*call, **pp;
	struct pollfd	 pfd;
	uint8_t		*d;
	size_t		 flen, want;
	ssize_t		 n;
	uint32_t	 id;
	uint8_t		 type;
	int		 ms, done;

	for (;;) {
		if (tk_hp_frame_len(&p->in, TK_HP_REP_MAX, &flen) != 0)
			return TK_ERR_CONNECTION;	/* garbled */
		if (flen > 0) {
			if (tk_hp_peek(tk_buf_ptr(&p->in), flen, &type,
			    &id) != 0 || !(type & TK_HP_REPLY))
				return TK_ERR_CONNECTION;
			pthread_mutex_lock(&c->mu);
			for (pp = &p->calls; *pp != NULL; pp = &(*pp)->next)
				if ((*pp)->id == id)
					break;
			if ((call = *pp) != NULL) {
				*pp = call->next;
				tk_buf_reset(call->reply);
				call->err = tk_buf_put(call->reply,
				    tk_buf_ptr(&p->in), flen);
				call->done = 1;
				if (call != me)
					pthread_cond_signal(&call->cv);
			}
			/* else: a late answer to a call that gave up */
			done = me->done;
			pthread_mutex_unlock(&c->mu);
			(void)tk_buf_consume(&p->in, flen);
			tk_buf_compact(&p->in);
			if (done)
				return 0;
			continue;
		}
		/* failed meanwhile by a caller that timed out */
		pthread_mutex_lock(&c->mu);
		done = me->done;
		pthread_mutex_unlock(&c->mu);
		if (done)
			return TK_ERR_CONNECTION;
		pfd.fd = p->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if ((ms = tk_deadline_left(deadline)) == 0)
			return TK_ERR_TIMEOUT;
		n = poll(&pfd, 1, ms);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			continue;	/* the deadline check says */
		if (n == -1)
			return TK_ERR_CONNECTION;
		want = HC_READ_CHUNK;
		if (p->in.max - p->in.len < want)
			want = p->in.max - p->in.len;
		if (want == 0 || tk_buf_reserve(&p->in, want, &d) != 0)
			return TK_ERR_CONNECTION;
		do {
			n = read(p->fd, d, want);
		} while (n == -1 && errno == EINTR);
		p->in.len -= want - (n > 0 ? (size_t)n : 0);
		if (n <= 0)
			return TK_ERR_CONNECTION;
	}
}

void
hc_proc_unref(struct tk_hclient *c, struct hc_proc *p)
{
	int	last;

	pthread_mutex_lock(&c->mu);
	last = --p->refs == 0;
	pthread_mutex_unlock(&c->mu);
	if (!last)
		return;
	close(p->fd);
	tk_buf_free(&p->in);
	pthread_mutex_destroy(&p->wmu);
	free(p);
}

static void
reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * With spawn_mu held, p no longer c->proc: end the incarnation.  Gently
 * lets the helper see EOF and finish (finalising its module) first.
 */
void
hc_proc_retire(struct tk_hclient *c, struct hc_proc *p, int gently)
{
	struct timespec	ts = { 0, 10 * 1000000L };
	int		i, gone = 0;

	if (gently) {
		(void)shutdown(p->fd, SHUT_WR);
		for (i = 0; i < HC_EXIT_GRACE_MS / 10 && !gone; i++) {
			gone = waitpid(p->pid, NULL, WNOHANG) == p->pid;
			if (!gone)
				nanosleep(&ts, NULL);
		}
	}
	if (!gone)
		(void)kill(p->pid, SIGKILL);
	/* wakes a caller reading: it sees the end of the stream */
	(void)shutdown(p->fd, SHUT_RDWR);
	if (!gone)
		reap(p->pid);
	hc_proc_unref(c, p);
}

/*
 * A new events pipe (helper-watch.c) for the next incarnation: its read
 * end goes onto c->ev (the same descriptor for the client's life, so the
 * agent can keep polling it), its write end (*w, above the fds the child
 * sets up, 3 and 4) only to the child, so a helper that dies leaves the
 * agent an end of file to see.  Non-blocking at both ends.
 */
static int
events_pipe(struct tk_hclient *c, int *w)
{
	int	fds[2];

	*w = -1;
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
		return TK_ERR_SYSTEM;
	*w = fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
	close(fds[1]);
	if (*w == -1) {
		close(fds[0]);
		return TK_ERR_SYSTEM;
	}
	if (c->ev == -1) {
		c->ev = fds[0];
		return 0;
	}
	if (dup3(fds[0], c->ev, O_CLOEXEC) == -1) {
		close(fds[0]);
		close(*w);
		*w = -1;
		return TK_ERR_SYSTEM;
	}
	close(fds[0]);
	return 0;
}

/* The child, between fork and exec: async-signal-safe calls only. */
static void
child(int sock, int evfd, int devnull, int errfd, char *const argv[])
{
	struct sigaction	sa;
	sigset_t		none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	/* first: errfd may be 3 (it is above 2: ours are open) */
	if (errfd != -1 && dup2(errfd, 2) == -1)
		_exit(127);
	if (sock == 3) {
		if (fcntl(sock, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(sock, 3) == -1)
		_exit(127);
	if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
		_exit(127);
	/* evfd is above 4 (hc_events_open): the socket on 3 is safe */
	if (evfd != -1 && dup2(evfd, 4) == -1)
		_exit(127);
	(void)close_range(evfd != -1 ? 5 : 4, ~0U, 0);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static int
proc_spawn(struct tk_hclient *c, struct hc_proc **out)
{
	struct hc_proc	*p = NULL;
	char		*argv[6];
	int		 sv[2] = { -1, -1 }, devnull = -1, errfd = -1;
	int		 evw = -1, r, i = 0;

	*out = NULL;
	argv[i++] = "tokenkeys";
	argv[i++] = "__helper";
	if (c->path != NULL && c->registered >= 0)
		argv[i++] = c->registered ? "--registered" : "--unregistered";
	argv[i++] = c->path != NULL ? c->path : "--registry";
	/* last: "ps" and pgrep show "__helper [--registered] PATH" whole */
	if (c->path != NULL)
		argv[i++] = "--events";
	argv[i] = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if (c->path != NULL && (r = events_pipe(c, &evw)) != 0)
		goto out;
	p->c = c;
	p->fd = sv[0];
	p->refs = 1;
	tk_buf_init(&p->in, TK_HP_REP_MAX + HC_READ_CHUNK, 0);
	pthread_mutex_init(&p->wmu, NULL);
	errfd = hc_err_open(c->path);
	if ((p->pid = fork()) == -1) {
		r = TK_ERR_SYSTEM;
		goto fail;
	}
	if (p->pid == 0)
		child(sv[1], evw, devnull, errfd, argv);
	close(sv[1]);
	sv[1] = -1;
	*out = p;
	p = NULL;
	sv[0] = -1;
	r = 0;
	goto out;
 fail:
	pthread_mutex_destroy(&p->wmu);
 out:
	free(p);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (devnull != -1)
		close(devnull);
	if (errfd != -1)
		close(errfd);	/* the child's now, or EOF for the reader */
	if (evw != -1)
		close(evw);	/* the child's: its end is our end of file */
	return r;
}

/* The live incarnation, started if need be, with a reference for us. */
int
hc_proc_get(struct tk_hclient *c, struct hc_proc **out)
{
	struct hc_proc	*p;
	int		 r = 0;

	pthread_mutex_lock(&c->spawn_mu);
	pthread_mutex_lock(&c->mu);
	p = c->proc;
	if (p != NULL && !p->dead) {
		p->refs++;
		pthread_mutex_unlock(&c->mu);
		goto out;
	}
	c->proc = NULL;
	pthread_mutex_unlock(&c->mu);
	if (p != NULL)
		hc_proc_retire(c, p, 0);
	if ((r = proc_spawn(c, &p)) != 0)
		goto out;
	pthread_mutex_lock(&c->mu);
	c->proc = p;
	p->refs++;
	pthread_mutex_unlock(&c->mu);
 out:
	pthread_mutex_unlock(&c->spawn_mu);
	*out = r == 0 ? p : NULL;
	return r;
}

/* A hung helper: kill it now, so its other callers fail at once too. */
static void
proc_abandon(struct tk_hclient *c, struct hc_proc *p)
{
	int	mine;

	pthread_mutex_lock(&c->spawn_mu);
	pthread_mutex_lock(&c->mu);
	if ((mine = c->proc == p))
		c->proc = NULL;
	pthread_mutex_unlock(&c->mu);
	if (mine)
		hc_proc_retire(c, p, 0);
	pthread_mutex_unlock(&c->spawn_mu);
}

/*
 * The module says it lost its state (device error, not initialised):
 * start its helper afresh, which initialises the module again, unless
 * that was done less than the backoff ago.  The backoff doubles while the
 * module keeps failing and is forgotten after a signature succeeds.
 * Returns 1 if the helper was restarted.
 */
int
hc_proc_reinit(struct tk_hclient *c)
{
	struct hc_proc	*p = NULL;
	struct timespec	 now;
	int		 due;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&c->spawn_mu);
	pthread_mutex_lock(&c->mu);
	due = c->reinit_ms == 0 || now.tv_sec > c->reinit_next.tv_sec ||
	    (now.tv_sec == c->reinit_next.tv_sec &&
	    now.tv_nsec >= c->reinit_next.tv_nsec);
	if (due) {
		c->reinit_ms = c->reinit_ms == 0 ? HC_REINIT_MIN_MS :
		    c->reinit_ms * 2;
		if (c->reinit_ms > HC_REINIT_MAX_MS)
			c->reinit_ms = HC_REINIT_MAX_MS;
		tk_deadline_set(&c->reinit_next, (int)c->reinit_ms);
		p = c->proc;
		c->proc = NULL;
	}
	pthread_mutex_unlock(&c->mu);
	if (p != NULL)
		hc_proc_retire(c, p, 1);	/* let it finalise the module */
	pthread_mutex_unlock(&c->spawn_mu);
	return due;
}

uint32_t
hc_next_id(struct tk_hclient *c)
{
	uint32_t	id;

	pthread_mutex_lock(&c->mu);
	id = ++c->next_id;
	pthread_mutex_unlock(&c->mu);
	return id;
}

/*
 * Send the request frame (with this id) and wait for its reply frame.
 * A helper found dead before the request went out is restarted and the
 * request sent once more.  One that dies after, only with again set: a
 * request without effects (list, token state); never a login, and never
 * a signature, whose helper may have died of it (TK_ERR_CONNECTION).
 */
int
hc_call(struct tk_hclient *c, const struct tk_buf *frame, uint32_t id,
    int timeout_ms, int again, struct tk_buf *reply)
{
	struct hc_call		 call;
	struct hc_proc		*p;
	pthread_condattr_t	 ca;
	struct timespec		 deadline;
	int			 r = TK_ERR_CONNECTION, tries, rc, hung = 0;

	memset(&call, 0, sizeof(call));
	call.id = id;
	call.reply = reply;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&call.cv, &ca);
	pthread_condattr_destroy(&ca);
	tk_deadline_set(&deadline, timeout_ms > 0 ? timeout_ms :
	    HC_DEFAULT_TIMEOUT_MS);
	for (tries = 0; tries < 2; tries++) {
		if ((r = hc_proc_get(c, &p)) != 0)
			break;
		pthread_mutex_lock(&c->mu);
		if (p->dead) {
			pthread_mutex_unlock(&c->mu);
			hc_proc_unref(c, p);
			r = TK_ERR_CONNECTION;
			continue;
		}
		call.done = 0;
		call.next = p->calls;
		p->calls = &call;
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_lock(&p->wmu);
		r = tk_fd_send_all(p->fd, tk_buf_ptr(frame),
		    tk_buf_avail(frame));
		pthread_mutex_unlock(&p->wmu);
		pthread_mutex_lock(&c->mu);
		if (r != 0) {
			if (!call.done)
				calls_remove(p, &call);
			proc_fail(p, TK_ERR_CONNECTION);
			pthread_mutex_unlock(&c->mu);
			hc_proc_unref(c, p);
			continue;
		}
		rc = 0;
		while (!call.done && !hung) {
			if (!p->reading) {
				p->reading = 1;
				pthread_mutex_unlock(&c->mu);
				r = read_replies(c, p, &call, &deadline);
				pthread_mutex_lock(&c->mu);
				p->reading = 0;
				if (r == TK_ERR_CONNECTION)
					proc_fail(p, TK_ERR_CONNECTION);
				else if (r == TK_ERR_TIMEOUT && !call.done)
					hung = 1;
				/* the next waiting caller reads on */
				if (p->calls != NULL)
					pthread_cond_signal(&p->calls->cv);
			} else if (rc == ETIMEDOUT)
				hung = 1;
			else
				rc = pthread_cond_timedwait(&call.cv, &c->mu,
				    &deadline);
		}
		if (hung && !call.done) {
			calls_remove(p, &call);
			/* the others fail at once too */
			proc_fail(p, TK_ERR_TIMEOUT);
			r = TK_ERR_TIMEOUT;
		} else {
			hung = 0;
			r = call.err;
		}
		pthread_mutex_unlock(&c->mu);
		if (hung)
			proc_abandon(c, p);
		hc_proc_unref(c, p);
		if (r != TK_ERR_CONNECTION || !again)
			break;
	}
	pthread_cond_destroy(&call.cv);
	return r;
}
