/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's side of a helper process: see hclient.h.
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
#include "common/blobidx.h"
#include "common/buf.h"
#include "common/deadline.h"
#include "common/secret.h"
#include "common/util.h"
#include "helper/hclient.h"
#include "helper/hproto.h"
#include "ssh/sshsig.h"

#define HC_DEFAULT_TIMEOUT_MS	30000
#define HC_LIST_TIMEOUT_MS	60000
#define HC_TOKEN_TIMEOUT_MS	15000
#define HC_EXIT_GRACE_MS	1000
#define HC_VKEYS_MAX		16384
#define HC_READ_CHUNK		65536
#define HC_REINIT_MIN_MS	1000
#define HC_REINIT_MAX_MS	64000

struct hc_call {
	uint32_t	 id;
	int		 done;
	int		 err;		/* transport verdict, once done */
	struct tk_buf	*reply;		/* the reply frame goes here */
	pthread_cond_t	 cv;
	struct hc_call	*next;
};

struct hc_proc {
	struct tk_hclient *c;
	pid_t		 pid;
	int		 fd;
	pthread_mutex_t	 wmu;
	int		 dead;
	int		 reading;	/* a caller holds the reader role */
	int		 refs;		/* the client's + each caller's */
	struct hc_call	*calls;		/* waiting for their replies */
	struct tk_buf	 in;		/* the reply stream: the reader's */
};

struct hc_vkey {
	uint64_t		 hash;
	struct tk_sshsig_key	*key;
};

struct tk_hclient {
	char		*path;		/* NULL: a registry helper */
	int		 registered;	/* -1: unknown, the helper looks */
	pthread_mutex_t	 spawn_mu;
	pthread_mutex_t	 mu;		/* proc, calls, refs, ids */
	struct hc_proc	*proc;
	uint32_t	 next_id;
	unsigned int	 reinit_ms;	/* backoff; 0: module not failing */
	struct timespec	 reinit_next;	/* no restart before (monotonic) */
	pthread_mutex_t	 vmu;		/* verification keys */
	struct hc_vkey	*vkeys;		/* parsed keys, by blob in vidx */
	size_t		 nvkeys, vcap;
	struct tk_blobidx vidx;
};

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

/* Milliseconds until the deadline, 0 once it has passed. */
static int
deadline_ms(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec + 999999L) / 1000000L;
	if (ms <= 0)
		return 0;
	return ms > 60 * 60 * 1000 ? 60 * 60 * 1000 : (int)ms;
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
		if ((ms = deadline_ms(deadline)) == 0)
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

static void
proc_unref(struct tk_hclient *c, struct hc_proc *p)
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
static void
proc_retire(struct tk_hclient *c, struct hc_proc *p, int gently)
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
	proc_unref(c, p);
}

/* The child, between fork and exec: async-signal-safe calls only. */
static void
child(int sock, int devnull, char *const argv[])
{
	struct sigaction	sa;
	sigset_t		none;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	if (sock == 3) {
		if (fcntl(sock, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(sock, 3) == -1)
		_exit(127);
	if (dup2(devnull, 0) == -1 || dup2(devnull, 1) == -1)
		_exit(127);
	(void)close_range(4, ~0U, 0);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static int
proc_spawn(struct tk_hclient *c, struct hc_proc **out)
{
	struct hc_proc	*p = NULL;
	char		*argv[5];
	int		 sv[2] = { -1, -1 }, devnull = -1, r, i = 0;

	*out = NULL;
	argv[i++] = "tokenkeys";
	argv[i++] = "__helper";
	if (c->path != NULL && c->registered >= 0)
		argv[i++] = c->registered ? "--registered" : "--unregistered";
	argv[i++] = c->path != NULL ? c->path : "--registry";
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
	p->c = c;
	p->fd = sv[0];
	p->refs = 1;
	tk_buf_init(&p->in, TK_HP_REP_MAX + HC_READ_CHUNK, 0);
	pthread_mutex_init(&p->wmu, NULL);
	if ((p->pid = fork()) == -1) {
		r = TK_ERR_SYSTEM;
		goto fail;
	}
	if (p->pid == 0)
		child(sv[1], devnull, argv);
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
	return r;
}

/* The live incarnation, started if need be, with a reference for us. */
static int
proc_get(struct tk_hclient *c, struct hc_proc **out)
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
		proc_retire(c, p, 0);
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
		proc_retire(c, p, 0);
	pthread_mutex_unlock(&c->spawn_mu);
}

/*
 * The module says it lost its state (device error, not initialised):
 * start its helper afresh, which initialises the module again, unless
 * that was done less than the backoff ago.  The backoff doubles while the
 * module keeps failing and is forgotten after a signature succeeds.
 * Returns 1 if the helper was restarted.
 */
static int
proc_reinit(struct tk_hclient *c)
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
		proc_retire(c, p, 1);	/* let it finalise the module */
	pthread_mutex_unlock(&c->spawn_mu);
	return due;
}

static int
write_all(int fd, const uint8_t *d, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = send(fd, d, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return TK_ERR_CONNECTION;
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

static uint32_t
next_id(struct tk_hclient *c)
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
static int
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
		if ((r = proc_get(c, &p)) != 0)
			break;
		pthread_mutex_lock(&c->mu);
		if (p->dead) {
			pthread_mutex_unlock(&c->mu);
			proc_unref(c, p);
			r = TK_ERR_CONNECTION;
			continue;
		}
		call.done = 0;
		call.next = p->calls;
		p->calls = &call;
		pthread_mutex_unlock(&c->mu);
		pthread_mutex_lock(&p->wmu);
		r = write_all(p->fd, tk_buf_ptr(frame), tk_buf_avail(frame));
		pthread_mutex_unlock(&p->wmu);
		pthread_mutex_lock(&c->mu);
		if (r != 0) {
			if (!call.done)
				calls_remove(p, &call);
			proc_fail(p, TK_ERR_CONNECTION);
			pthread_mutex_unlock(&c->mu);
			proc_unref(c, p);
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
		proc_unref(c, p);
		if (r != TK_ERR_CONNECTION || !again)
			break;
	}
	pthread_cond_destroy(&call.cv);
	return r;
}

int
tk_hclient_new(const char *path, struct tk_hclient **out)
{
	return tk_hclient_start(path, -1, out);
}

int
tk_hclient_start(const char *path, int registered, struct tk_hclient **out)
{
	struct tk_hclient	*c = NULL;
	struct hc_proc		*p;
	int			 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	pthread_mutex_init(&c->spawn_mu, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->vmu, NULL);
	c->registered = registered;
	if (path != NULL && (c->path = strdup(path)) == NULL)
		goto out;
	/* start now, so a helper that cannot start is known at once */
	if ((r = proc_get(c, &p)) != 0)
		goto out;
	proc_unref(c, p);
	*out = c;
	c = NULL;
 out:
	tk_hclient_free(c);
	return r;
}

void
tk_hclient_free(struct tk_hclient *c)
{
	struct hc_proc	*p;
	size_t		 i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->spawn_mu);
	pthread_mutex_lock(&c->mu);
	p = c->proc;
	c->proc = NULL;
	pthread_mutex_unlock(&c->mu);
	if (p != NULL)
		proc_retire(c, p, 1);
	pthread_mutex_unlock(&c->spawn_mu);
	for (i = 0; i < c->nvkeys; i++)
		tk_sshsig_key_free(c->vkeys[i].key);
	free(c->vkeys);
	tk_blobidx_free(&c->vidx);
	free(c->path);
	pthread_mutex_destroy(&c->spawn_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->vmu);
	free(c);
}

const char *
tk_hclient_module(const struct tk_hclient *c)
{
	return c->path;
}

pid_t
tk_hclient_pid(struct tk_hclient *c)
{
	pid_t	pid = -1;

	pthread_mutex_lock(&c->mu);
	if (c->proc != NULL && !c->proc->dead)
		pid = c->proc->pid;
	pthread_mutex_unlock(&c->mu);
	return pid;
}

/*
 * A buffer for a frame that carries a PIN: its own locked pages, wiped
 * and unmapped by secframe_free (never tk_buf_free).
 */
static int
secframe_init(struct tk_buf *b, size_t size)
{
	void	*p;
	int	 r;

	memset(b, 0, sizeof(*b));
	if ((r = tk_secret_alloc(&p, size)) != 0)
		return r;
	b->d = p;
	b->cap = b->max = size;
	b->flags = TK_BUF_SECRET;
	return 0;
}

static void
secframe_free(struct tk_buf *b)
{
	if (b->d != NULL)
		tk_secret_free(b->d, b->cap);
	memset(b, 0, sizeof(*b));
}

/* For the blob index: cached verification key i. */
static const uint8_t *
vkey_entry(const void *arg, size_t i, size_t *len, uint64_t *hash)
{
	const struct tk_hclient	*c = arg;

	*hash = c->vkeys[i].hash;
	return tk_sshsig_key_blob(c->vkeys[i].key, len);
}

/* The parsed key to verify signatures with, cached by blob. */
static int
vkey_get(struct tk_hclient *c, const uint8_t *blob, size_t len,
    struct tk_sshsig_key **out, int *owned)
{
	struct hc_vkey		*nv;
	struct tk_sshsig_key	*k = NULL;
	uint64_t		 h = tk_hash64(blob, len);
	size_t			*slot;
	int			 r = 0;

	*owned = 0;
	pthread_mutex_lock(&c->vmu);
	slot = tk_blobidx_slot(&c->vidx, blob, len, h, vkey_entry, c);
	if (slot != NULL && *slot != 0) {
		*out = c->vkeys[*slot - 1].key;
		goto out;
	}
	if ((r = tk_sshsig_key_new(blob, len, &k)) != 0)
		goto out;
	*out = k;
	*owned = 1;	/* until it is cached: then the cache frees it */
	if (c->nvkeys >= HC_VKEYS_MAX ||
	    tk_blobidx_reserve(&c->vidx, c->nvkeys, vkey_entry, c) != 0)
		goto out;
	if (c->nvkeys == c->vcap) {
		nv = reallocarray(c->vkeys, c->vcap ? c->vcap * 2 : 16,
		    sizeof(*nv));
		if (nv == NULL)
			goto out;
		c->vkeys = nv;
		c->vcap = c->vcap ? c->vcap * 2 : 16;
	}
	c->vkeys[c->nvkeys].hash = h;
	c->vkeys[c->nvkeys].key = k;
	*tk_blobidx_slot(&c->vidx, blob, len, h, vkey_entry, c) =
	    ++c->nvkeys;
	*owned = 0;
 out:
	pthread_mutex_unlock(&c->vmu);
	return r;
}

/* Check a reply frame answers this request. */
static int
reply_rep(const struct tk_buf *reply, uint8_t type, uint32_t id,
    struct tk_hp_rep *rep)
{
	int	r;

	if ((r = tk_hp_get_rep(tk_buf_ptr(reply), tk_buf_avail(reply),
	    rep)) != 0)
		return TK_ERR_CONNECTION;
	if (rep->type != (type | TK_HP_REPLY) || rep->id != id)
		return TK_ERR_CONNECTION;
	return 0;
}

int
tk_hclient_sign(struct tk_hclient *c, const uint8_t *blob, size_t bloblen,
    const uint8_t *data, size_t datalen, int alg, const char *ctx_pin,
    size_t ctx_pinlen, uint8_t *sig, size_t sigsz, size_t *siglen,
    struct tk_htoken *tok, int timeout_ms)
{
	struct tk_sshsig_key	*vk = NULL;
	struct tk_buf		 frame, reply, out;
	struct tk_hp_rep	 rep;
	uint32_t		 id;
	int			 r, owned = 0, tries;

	*siglen = 0;
	memset(tok, 0, sizeof(*tok));
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	tk_buf_init(&out, TK_SSHSIG_MAX, 0);
	memset(&frame, 0, sizeof(frame));
	if (ctx_pin != NULL && ctx_pinlen >= TK_HP_PIN_MAX) {
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	if (bloblen > TK_HP_BLOB_MAX || datalen > TK_HP_REQ_MAX) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((r = vkey_get(c, blob, bloblen, &vk, &owned)) != 0)
		goto out;
	if (ctx_pin != NULL)
		r = secframe_init(&frame, 64 + bloblen + datalen + ctx_pinlen);
	else
		tk_buf_init(&frame, TK_HP_REQ_MAX, 0);
	if (r != 0)
		goto out;
	id = next_id(c);
	if ((r = tk_hp_put_sign(&frame, id, blob, bloblen, data, datalen,
	    (uint32_t)alg, ctx_pin, ctx_pinlen)) != 0)
		goto out;
	for (tries = 0; tries < 2; tries++) {
		if ((r = hc_call(c, &frame, id, timeout_ms, 0, &reply)) != 0 ||
		    (r = reply_rep(&reply, TK_HP_SIGN, id, &rep)) != 0)
			goto out;
		*tok = rep.tok;
		/*
		 * Once more on the fresh module.  The request carries no
		 * PIN, so this cannot spend a PIN try.
		 */
		if ((r = rep.status) != TK_ERR_MODULE || ctx_pin != NULL ||
		    !proc_reinit(c))
			break;
	}
	if (r != 0)
		goto out;
	if (__atomic_load_n(&c->reinit_ms, __ATOMIC_RELAXED) != 0) {
		pthread_mutex_lock(&c->mu);
		c->reinit_ms = 0;
		pthread_mutex_unlock(&c->mu);
	}
	/* nothing the token made leaves here unverified */
	if ((r = tk_sshsig_encode(vk, alg, rep.sig, rep.siglen, &out)) != 0 ||
	    (r = tk_sshsig_verify(vk, alg, data, datalen, tk_buf_ptr(&out),
	    tk_buf_avail(&out))) != 0) {
		r = TK_ERR_SIGNATURE;
		goto out;
	}
	if (tk_buf_avail(&out) > sigsz) {
		r = TK_ERR_RANGE;
		goto out;
	}
	memcpy(sig, tk_buf_ptr(&out), tk_buf_avail(&out));
	*siglen = tk_buf_avail(&out);
 out:
	if (ctx_pin != NULL)
		secframe_free(&frame);
	else
		tk_buf_free(&frame);
	tk_buf_free(&reply);
	tk_buf_free(&out);
	if (owned)
		tk_sshsig_key_free(vk);
	return r;
}

int
tk_hclient_login(struct tk_hclient *c, const uint8_t *blob, size_t bloblen,
    const char *pin, size_t pinlen, struct tk_htoken *tok, int timeout_ms)
{
	struct tk_buf		frame, reply;
	struct tk_hp_rep	rep;
	uint32_t		id;
	int			r;

	memset(tok, 0, sizeof(*tok));
	memset(&frame, 0, sizeof(frame));
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	if (pin != NULL && pinlen >= TK_HP_PIN_MAX) {
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	if (bloblen > TK_HP_BLOB_MAX) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((r = secframe_init(&frame, 64 + bloblen + pinlen)) != 0)
		goto out;
	id = next_id(c);
	if ((r = tk_hp_put_login(&frame, id, blob, bloblen, pin, pinlen)) != 0 ||
	    (r = hc_call(c, &frame, id, timeout_ms, 0, &reply)) != 0 ||
	    (r = reply_rep(&reply, TK_HP_LOGIN, id, &rep)) != 0)
		goto out;
	*tok = rep.tok;
	r = rep.status;
 out:
	secframe_free(&frame);
	tk_buf_free(&reply);
	return r;
}

int
tk_hclient_token(struct tk_hclient *c, const uint8_t *blob, size_t bloblen,
    struct tk_htoken *tok)
{
	struct tk_buf		frame, reply;
	struct tk_hp_rep	rep;
	uint32_t		id;
	int			r;

	memset(tok, 0, sizeof(*tok));
	tk_buf_init(&frame, TK_HP_REQ_MAX, 0);
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	id = next_id(c);
	if ((r = tk_hp_put_token(&frame, id, blob, bloblen)) != 0 ||
	    (r = hc_call(c, &frame, id, HC_TOKEN_TIMEOUT_MS, 1, &reply)) != 0 ||
	    (r = reply_rep(&reply, TK_HP_TOKEN, id, &rep)) != 0)
		goto out;
	*tok = rep.tok;
	r = rep.status;
 out:
	tk_buf_free(&frame);
	tk_buf_free(&reply);
	return r;
}

int
tk_hclient_list(struct tk_hclient *c, const char *uri, struct tk_hkey **keys,
    size_t *n)
{
	struct tk_buf	frame, reply;
	uint32_t	id, rid;
	uint8_t		type;
	int		r, status, tries;

	*keys = NULL;
	*n = 0;
	tk_buf_init(&frame, TK_HP_REQ_MAX, 0);
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	for (tries = 0; tries < 2; tries++) {
		tk_buf_reset(&frame);
		id = next_id(c);
		if ((r = tk_hp_put_list(&frame, id, uri)) != 0 ||
		    (r = hc_call(c, &frame, id, HC_LIST_TIMEOUT_MS, 1,
		    &reply)) != 0)
			goto out;
		if (tk_hp_peek(tk_buf_ptr(&reply), tk_buf_avail(&reply),
		    &type, &rid) != 0 || rid != id ||
		    tk_hp_get_keys(tk_buf_ptr(&reply), tk_buf_avail(&reply),
		    &status, keys, n) != 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		/*
		 * The module lost its state, or lists nothing since it did
		 * (a p11-kit client initialised while its server was away
		 * stays empty until initialised again): start it afresh,
		 * with the backoff, and look once more.
		 */
		if ((r = status) != TK_ERR_MODULE && (r != 0 || *n > 0 ||
		    __atomic_load_n(&c->reinit_ms, __ATOMIC_RELAXED) == 0))
			break;
		if (!proc_reinit(c))
			break;
		tk_hkeys_free(*keys, *n);
		*keys = NULL;
		*n = 0;
	}
 out:
	tk_buf_free(&frame);
	tk_buf_free(&reply);
	return r;
}

int
tk_hclient_registry(char ***paths, size_t *n)
{
	struct tk_hclient	*c = NULL;
	struct tk_buf		 frame, reply;
	uint32_t		 id, rid;
	uint8_t			 type;
	int			 r, status;

	*paths = NULL;
	*n = 0;
	tk_buf_init(&frame, 64, 0);
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	if ((r = tk_hclient_new(NULL, &c)) != 0)
		goto out;
	id = next_id(c);
	if ((r = tk_hp_put_registry(&frame, id)) != 0 ||
	    (r = hc_call(c, &frame, id, HC_LIST_TIMEOUT_MS, 1, &reply)) != 0)
		goto out;
	if (tk_hp_peek(tk_buf_ptr(&reply), tk_buf_avail(&reply), &type,
	    &rid) != 0 || rid != id ||
	    tk_hp_get_paths(tk_buf_ptr(&reply), tk_buf_avail(&reply), &status,
	    paths, n) != 0) {
		r = TK_ERR_CONNECTION;
		goto out;
	}
	r = status;
 out:
	tk_hclient_free(c);
	tk_buf_free(&frame);
	tk_buf_free(&reply);
	return r;
}

int
tk_hclient_presence(struct tk_hclient *c, uint64_t *digest)
{
	struct tk_buf		frame, reply;
	struct tk_hp_rep	rep;
	uint32_t		id;
	int			r;

	*digest = 0;
	tk_buf_init(&frame, 64, 0);
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	id = next_id(c);
	if ((r = tk_hp_put_presence(&frame, id)) != 0 ||
	    (r = hc_call(c, &frame, id, HC_TOKEN_TIMEOUT_MS, 1, &reply)) != 0 ||
	    (r = reply_rep(&reply, TK_HP_PRESENCE, id, &rep)) != 0)
		goto out;
	*digest = rep.digest;
	r = rep.status;
 out:
	tk_buf_free(&frame);
	tk_buf_free(&reply);
	return r;
}
