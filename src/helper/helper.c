/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper process: see helper.h.
 *
 * Threads: TK_HELPER_THREADS workers take turns reading the socket (one
 * at a time, under rmu: whoever reads a request handles it, so there is
 * no hand-off between threads on the way to the token) and write their
 * replies whole, under wmu.  Requests thus run in parallel, each on its
 * own token session.  An idle worker sleeps in its own epoll set on the
 * socket and the kick eventfd, both EPOLLEXCLUSIVE: a request wakes one
 * worker, not all of them, and the one it wakes reads without blocking.
 * Whoever leaves a whole request behind in the stream buffer (two came
 * in one read) kicks another worker awake for it; whoever sees the end
 * of the stream kicks too, so that every worker ends.  The main thread
 * only watches for the agent closing the socket; then the helper ends,
 * at once if a worker is stuck in the module.
 *
 * PINs: the stream buffer is TK_BUF_SECRET (wiped as frames are consumed
 * and whenever it moves); a decoded PIN goes only into the worker's
 * locked PIN buffer, wiped after each request.  No PIN is ever logged.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/fdio.h"
#include "common/secret.h"
#include "helper/helper.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"
#include "ssh/sshsig.h"

#define READ_CHUNK	65536
#define EXIT_GRACE_MS	2000

struct server {
	struct helper	*h;		/* NULL: registry mode */
	int		 fd;
	pthread_mutex_t	 rmu;		/* reading: in, eof */
	pthread_mutex_t	 wmu;		/* writing */
	pthread_mutex_t	 mu;		/* running */
	pthread_cond_t	 cv;
	struct tk_buf	 in;
	int		 eof;
	int		 running;
	int		 kick;		/* eventfd: a request is waiting */
	int		 kicked;	/* under rmu: kick is readable */
	int		 ep[TK_HELPER_THREADS];	/* each worker's epoll set */
	int		 nep;		/* epoll sets handed out */
};

/* arg: the helper, whose module errors are counted (may be NULL). */
static void
helper_log(void *arg, int err, const char *msg)
{
	struct helper	*h = arg;

	if (h != NULL && err == TK_ERR_MODULE)
		__atomic_add_fetch(&h->lost, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "tokenkeys helper[%ld]: %s\n", (long)getpid(), msg);
}

/*
 * With rmu held: wake one sleeping worker (a request waits, or the
 * stream ended).  One kick not yet taken is enough.
 */
static void
kick(struct server *sv)
{
	uint64_t	one = 1;

	if (sv->kicked)
		return;
	while (write(sv->kick, &one, sizeof(one)) == -1 && errno == EINTR)
		continue;
	sv->kicked = 1;
}

/*
 * With rmu held: the bytes the socket has now, without waiting.  1: some
 * came; 0: none yet; TK_ERR_CONNECTION at EOF.
 */
static int
fill(struct server *sv)
{
	uint8_t	*p;
	size_t	 want = READ_CHUNK;
	ssize_t	 n;

	if (sv->in.max - sv->in.len < want)
		want = sv->in.max - sv->in.len;
	if (want == 0 || tk_buf_reserve(&sv->in, want, &p) != 0)
		return TK_ERR_CONNECTION;
	do {
		n = recv(sv->fd, p, want, MSG_DONTWAIT);
	} while (n == -1 && errno == EINTR);
	sv->in.len -= want - (n > 0 ? (size_t)n : 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return n > 0 ? 1 : TK_ERR_CONNECTION;
}

/*
 * With rmu held: the next request, if one is here (*got).
 * TK_ERR_CONNECTION when the stream ended or is garbled (framing);
 * another error when one frame did not decode (req->type and req->id
 * say what to answer).
 */
static int
next_request(struct server *sv, struct tk_hp_req *req, struct tk_buf *store,
    char *pin, int *got)
{
	uint64_t	kicks;
	size_t		flen = 0;
	int		r = 0;

	memset(req, 0, sizeof(*req));
	*got = 0;
	/* we look at the buffer ourselves: what a kick said is seen below */
	if (sv->kicked) {
		while (read(sv->kick, &kicks, sizeof(kicks)) == -1 &&
		    errno == EINTR)
			continue;
		sv->kicked = 0;
	}
	for (;;) {
		if (sv->eof) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		if (tk_hp_frame_len(&sv->in, TK_HP_REQ_MAX, &flen) != 0) {
			sv->eof = 1;
			r = TK_ERR_CONNECTION;
			goto out;
		}
		if (flen > 0)
			break;
		if ((r = fill(sv)) == 0)
			goto out;		/* nothing yet: sleep */
		if (r < 0) {
			sv->eof = 1;
			goto out;
		}
	}
	*got = 1;
	r = tk_hp_get_req(tk_buf_ptr(&sv->in), flen, req, store, pin,
	    TK_HP_PIN_MAX);
	if (r != 0 && tk_hp_peek(tk_buf_ptr(&sv->in), flen, &req->type,
	    &req->id) != 0)
		req->type = 0;
	(void)tk_buf_consume(&sv->in, flen);
	tk_buf_compact(&sv->in);	/* wipes the consumed frame */
	/* another whole request came with this one: someone else takes it */
	if (tk_hp_frame_len(&sv->in, TK_HP_REQ_MAX, &flen) != 0 || flen > 0)
		kick(sv);
 out:
	return r;
}

/*
 * Sleep until the socket or the kick eventfd may have something; -1 if
 * the epoll set itself fails (the worker ends rather than spin).
 */
static int
sleep_idle(int ep)
{
	struct epoll_event	ev[2];
	int			n;

	do {
		n = epoll_wait(ep, ev, 2, -1);
	} while (n == -1 && errno == EINTR);
	return n == -1 ? -1 : 0;
}

/*
 * Watch fd from ep, waking one sleeper per event where the kernel can
 * (EPOLLEXCLUSIVE, Linux 4.5), else all of them: still right, only
 * dearer.
 */
static int
watch_fd(int ep, int fd)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	ev.events = EPOLLIN;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void
state_out(const struct tk_tokstate *st, struct tk_htoken *tok)
{
	memset(tok, 0, sizeof(*tok));
	tok->flags = st->flags & 0xffff;
	if (st->flags & TK_TOKSTATE_LOGGED_IN)
		tok->flags |= TK_HTOKEN_LOGGED_IN;
	if (st->flags & TK_TOKSTATE_CONTEXT_PIN)
		tok->flags |= TK_HTOKEN_CONTEXT_PIN;
	tok->min_pin = st->min_pin;
	tok->max_pin = st->max_pin;
	memcpy(tok->label, st->label, sizeof(tok->label));
	memcpy(tok->serial, st->serial, sizeof(tok->serial));
}

static int
hash_for(int type, uint32_t alg, int *hash)
{
	const char	*name;
	int		 h, r;

	if ((r = tk_sshsig_alg(type, (int)alg, &name, &h)) != 0)
		return r;
	switch (h) {
	case TK_SSHSIG_MSG:
		*hash = TK_HASH_NONE;
		break;
	case TK_SSHSIG_SHA1:
		*hash = TK_HASH_SHA1;
		break;
	case TK_SSHSIG_SHA256:
		*hash = TK_HASH_SHA256;
		break;
	case TK_SSHSIG_SHA384:
		*hash = TK_HASH_SHA384;
		break;
	case TK_SSHSIG_SHA512:
		*hash = TK_HASH_SHA512;
		break;
	default:
		return TK_ERR_UNSUPPORTED;
	}
	return 0;
}

static int
do_sign(struct helper *h, const struct tk_hp_req *req, const char *pin,
    uint8_t *sig, size_t sigsz, size_t *siglen, struct tk_htoken *tok)
{
	struct tk_tokstate	st;
	struct hk_ent		e;
	const char		*p = req->has_pin ? pin : NULL;
	int			hash, r;

	memset(&st, 0, sizeof(st));
	if ((r = hk_lookup(h, req->blob, req->bloblen, 0, &e)) != 0 ||
	    (r = hash_for(e.type, req->alg, &hash)) != 0)
		goto out;
	r = tk_sign(h->sg, e.sk, hash, req->data, req->datalen, p,
	    req->pinlen, sig, sigsz, siglen, &st);
	if (r == TK_ERR_NO_TOKEN || r == TK_ERR_NOT_FOUND) {
		/* no login was tried: look again, the card may have moved */
		if (hk_lookup(h, req->blob, req->bloblen, 1, &e) == 0)
			r = tk_sign(h->sg, e.sk, hash, req->data,
			    req->datalen, p, req->pinlen, sig, sigsz, siglen,
			    &st);
	}
 out:
	state_out(&st, tok);
	return r;
}

static int
do_login(struct helper *h, const struct tk_hp_req *req, const char *pin,
    struct tk_htoken *tok)
{
	struct tk_tokstate	st;
	struct hk_ent		e;
	int			r;

	memset(&st, 0, sizeof(st));
	if ((r = hk_lookup(h, req->blob, req->bloblen, 0, &e)) != 0)
		goto out;
	r = tk_signer_login(h->sg, e.sk, req->has_pin ? pin : NULL,
	    req->pinlen, &st);
	if (r == TK_ERR_NO_TOKEN &&
	    hk_lookup(h, req->blob, req->bloblen, 1, &e) == 0)
		r = tk_signer_login(h->sg, e.sk, req->has_pin ? pin : NULL,
		    req->pinlen, &st);
 out:
	state_out(&st, tok);
	return r;
}

static int
do_token(struct helper *h, const struct tk_hp_req *req, struct tk_htoken *tok)
{
	struct tk_tokstate	st;
	struct hk_ent		e;
	int			r;

	memset(&st, 0, sizeof(st));
	if ((r = hk_lookup(h, req->blob, req->bloblen, 0, &e)) != 0)
		goto out;
	r = tk_signer_state(h->sg, e.sk, &st);
	if (r == TK_ERR_NO_TOKEN &&
	    hk_lookup(h, req->blob, req->bloblen, 1, &e) == 0)
		r = tk_signer_state(h->sg, e.sk, &st);
 out:
	state_out(&st, tok);
	return r;
}

/* LOGOUT: the key's token, or (no blob) every token of the module. */
static int
do_logout(struct helper *h, const struct tk_hp_req *req, uint32_t *n)
{
	struct hk_ent	e;
	unsigned int	c = 0;
	int		r;

	*n = 0;
	if (req->bloblen == 0)
		r = tk_signer_logout(h->sg, NULL, &c);
	else if ((r = hk_lookup(h, req->blob, req->bloblen, 0, &e)) == 0)
		r = tk_signer_logout(h->sg, e.sk, &c);
	*n = c;
	return r;
}

/* A reply carrying only a status, for any request type. */
static int
put_error(struct tk_buf *out, uint8_t type, uint32_t id, int status)
{
	switch (type) {
	case TK_HP_LIST:
		return tk_hp_put_keys(out, id, status, NULL, 0);
	case TK_HP_SIGN:
		return tk_hp_put_sig(out, id, status, NULL, NULL, 0);
	case TK_HP_LOGIN:
	case TK_HP_TOKEN:
		return tk_hp_put_status(out, type, id, status, NULL);
	case TK_HP_REGISTRY:
		return tk_hp_put_paths(out, id, status, NULL, 0);
	case TK_HP_PRESENCE:
		return tk_hp_put_digest(out, id, status, 0);
	case TK_HP_LOGOUT:
		return tk_hp_put_logged_out(out, id, status, 0);
	default:
		return TK_ERR_FORMAT;
	}
}

static int
handle(struct server *sv, const struct tk_hp_req *req, const char *pin,
    struct tk_buf *out)
{
	struct helper	 *h = sv->h;
	struct tk_htoken  tok;
	struct tk_hkey	 *keys = NULL;
	uint8_t		  sig[TK_SIGN_MAX];
	char		**paths = NULL;
	uint64_t	  digest = 0;
	uint32_t	  nout = 0;
	size_t		  n = 0, siglen = 0;
	unsigned int	  lost;
	int		  r, st;

	memset(&tok, 0, sizeof(tok));
	if (req->type == TK_HP_REGISTRY) {
		st = h != NULL ? TK_ERR_UNSUPPORTED :
		    hk_registry_paths(&paths, &n);
		r = tk_hp_put_paths(out, req->id, st, paths, n);
		tk_p11_paths_free(paths, n);
		goto out;
	}
	if (h == NULL || h->sg == NULL) {
		r = put_error(out, req->type, req->id,
		    h == NULL ? TK_ERR_UNSUPPORTED : TK_ERR_MODULE);
		goto out;
	}
	switch (req->type) {
	case TK_HP_LIST:
		lost = __atomic_load_n(&h->lost, __ATOMIC_RELAXED);
		hw_listing(h);
		st = hk_list(h, req->uri, &keys, &n);
		/*
		 * A module that lost its state while listing (a p11-kit
		 * client whose server went away: CKR_DEVICE_ERROR until it
		 * is initialised again) says so, rather than "no keys", so
		 * that the agent starts it afresh.
		 */
		if (st == 0 && n == 0 &&
		    __atomic_load_n(&h->lost, __ATOMIC_RELAXED) != lost)
			st = TK_ERR_MODULE;
		r = tk_hp_put_keys(out, req->id, st, keys, n);
		if (r == TK_ERR_RANGE)
			r = tk_hp_put_keys(out, req->id, TK_ERR_RANGE, NULL,
			    0);
		tk_hkeys_free(keys, n);
		break;
	case TK_HP_SIGN:
		st = do_sign(h, req, pin, sig, sizeof(sig), &siglen, &tok);
		r = tk_hp_put_sig(out, req->id, st, &tok, sig, siglen);
		break;
	case TK_HP_LOGIN:
		st = do_login(h, req, pin, &tok);
		r = tk_hp_put_status(out, req->type, req->id, st, &tok);
		break;
	case TK_HP_TOKEN:
		st = do_token(h, req, &tok);
		r = tk_hp_put_status(out, req->type, req->id, st, &tok);
		break;
	case TK_HP_PRESENCE:
		st = hk_presence(h, &digest);
		r = tk_hp_put_digest(out, req->id, st, digest);
		break;
	case TK_HP_LOGOUT:
		st = do_logout(h, req, &nout);
		r = tk_hp_put_logged_out(out, req->id, st, nout);
		break;
	default:
		r = TK_ERR_FORMAT;
		break;
	}
 out:
	return r;
}

static void *
worker(void *arg)
{
	struct server	*sv = arg;
	struct tk_hp_req req;
	struct tk_buf	 store, out;
	char		*pin = NULL;
	int		 r, got, ep;

	pthread_mutex_lock(&sv->mu);
	ep = sv->ep[sv->nep++];
	pthread_mutex_unlock(&sv->mu);
	tk_buf_init(&store, TK_HP_REQ_MAX + 64, 0);
	tk_buf_init(&out, TK_HP_REP_MAX, 0);
	if (tk_secret_alloc((void **)&pin, TK_HP_PIN_MAX) != 0)
		goto out;
	for (;;) {
		pthread_mutex_lock(&sv->rmu);
		r = next_request(sv, &req, &store, pin, &got);
		pthread_mutex_unlock(&sv->rmu);
		if (r == TK_ERR_CONNECTION)
			break;
		if (!got) {
			if (sleep_idle(ep) != 0)
				break;
			continue;
		}
		tk_buf_reset(&out);
		if (r != 0)
			r = put_error(&out, req.type, req.id, r);
		else if (sv->h != NULL && sv->h->serial) {
			/* the watcher's looks take turns with us */
			pthread_mutex_lock(&sv->h->modmu);
			r = handle(sv, &req, pin, &out);
			pthread_mutex_unlock(&sv->h->modmu);
		} else
			r = handle(sv, &req, pin, &out);
		explicit_bzero(pin, TK_HP_PIN_MAX);
		if (r != 0)
			break;	/* nothing sensible to answer: hang up */
		pthread_mutex_lock(&sv->wmu);
		r = tk_fd_send_all(sv->fd, tk_buf_ptr(&out),
		    tk_buf_avail(&out));
		pthread_mutex_unlock(&sv->wmu);
		if (r != 0)
			break;
	}
 out:
	pthread_mutex_lock(&sv->rmu);
	sv->eof = 1;
	kick(sv);	/* every worker is to see the end: each kicks on */
	pthread_mutex_unlock(&sv->rmu);
	if (pin != NULL)
		tk_secret_free(pin, TK_HP_PIN_MAX);
	tk_buf_free(&store);
	tk_buf_free(&out);
	pthread_mutex_lock(&sv->mu);
	sv->running--;
	pthread_cond_signal(&sv->cv);
	pthread_mutex_unlock(&sv->mu);
	return NULL;
}

/* 0, or TK_ERR_SYSTEM when the eventfd or an epoll set cannot be had. */
static int
server_init(struct server *sv, struct helper *h, int fd, size_t nworkers)
{
	size_t	i;
	int	r = 0;

	memset(sv, 0, sizeof(*sv));
	sv->h = h;
	sv->fd = fd;
	pthread_mutex_init(&sv->rmu, NULL);
	pthread_mutex_init(&sv->wmu, NULL);
	pthread_mutex_init(&sv->mu, NULL);
	pthread_cond_init(&sv->cv, NULL);
	tk_buf_init(&sv->in, TK_HP_REQ_MAX + READ_CHUNK, TK_BUF_SECRET);
	for (i = 0; i < TK_HELPER_THREADS; i++)
		sv->ep[i] = -1;
	if ((sv->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	for (i = 0; i < nworkers && i < TK_HELPER_THREADS; i++) {
		if ((sv->ep[i] = epoll_create1(EPOLL_CLOEXEC)) == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (watch_fd(sv->ep[i], fd) != 0 ||
		    watch_fd(sv->ep[i], sv->kick) != 0) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
	}
 out:
	return r;
}

static void
server_free(struct server *sv)
{
	size_t	i;

	tk_buf_free(&sv->in);
	for (i = 0; i < TK_HELPER_THREADS; i++)
		if (sv->ep[i] != -1)
			close(sv->ep[i]);
	if (sv->kick != -1)
		close(sv->kick);
	pthread_mutex_destroy(&sv->rmu);
	pthread_mutex_destroy(&sv->wmu);
	pthread_mutex_destroy(&sv->mu);
	pthread_cond_destroy(&sv->cv);
}

/* Until the agent hangs up (without reading what the workers read). */
static void
await_hangup(int fd)
{
	struct pollfd	pfd;

	pfd.fd = fd;
	pfd.events = POLLRDHUP;
	for (;;) {
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
			break;
	}
}

/* Wait for the workers to finish; 0 if they all did in time. */
static int
await_workers(struct server *sv)
{
	struct timespec	ts;
	int		r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += EXIT_GRACE_MS / 1000;
	pthread_mutex_lock(&sv->mu);
	while (sv->running > 0 && r == 0)
		r = pthread_cond_timedwait(&sv->cv, &sv->mu, &ts);
	r = sv->running > 0 ? -1 : 0;
	pthread_mutex_unlock(&sv->mu);
	return r;
}

int
tk_helper_run(int fd, const char *path, int reg_known, int evfd)
{
	struct helper	h;
	struct server	sv;
	pthread_t	tids[TK_HELPER_THREADS];
	size_t		i, n = 0, nthreads = 1;
	int		r;

	memset(&h, 0, sizeof(h));
	h.fd = fd;
	h.evfd = evfd;
	pthread_mutex_init(&h.modmu, NULL);
	pthread_mutex_init(&h.wmu, NULL);
	pthread_cond_init(&h.wcv, NULL);
	hk_init(&h.keys);
	tk_modset_init(&h.ms, helper_log, &h);
	h.ms.reg_known = reg_known;
	/* a module that will not load still gets answers: TK_ERR_MODULE */
	if (tk_modset_load_path(&h.ms, path, &h.mod) == 0 &&
	    (r = tk_signer_new(h.mod, &h.sg)) != 0)
		helper_log(NULL, r, "cannot start the signer");
	if (h.sg != NULL && tk_signer_threads(h.sg))
		nthreads = TK_HELPER_THREADS;
	else
		h.serial = 1;
	if (h.sg != NULL && (r = hw_start(&h)) != 0)
		helper_log(NULL, r, "cannot watch the module's tokens: the "
		    "agent looks for them only now and then");
	if (server_init(&sv, &h, fd, nthreads) != 0) {
		helper_log(NULL, TK_ERR_SYSTEM, "cannot set up the workers' "
		    "epoll sets");
		nthreads = 0;
	}
	for (i = 0; i < nthreads; i++) {
		pthread_mutex_lock(&sv.mu);
		sv.running++;
		pthread_mutex_unlock(&sv.mu);
		if (pthread_create(&tids[i], NULL, worker, &sv) != 0) {
			pthread_mutex_lock(&sv.mu);
			sv.running--;
			pthread_mutex_unlock(&sv.mu);
			break;
		}
		n++;
	}
	if (n > 0)
		await_hangup(fd);
	(void)shutdown(fd, SHUT_RDWR);
	if (await_workers(&sv) != 0 || hw_stop(&h) != 0) {
		/*
		 * A worker is stuck in the module, or the watcher waits in
		 * C_WaitForSlotEvent: finalising could hang too, or pull
		 * the module from under the watcher.
		 */
		_exit(0);
	}
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	server_free(&sv);
	tk_signer_free(h.sg);
	tk_modset_free(&h.ms);
	hk_free(&h.keys);
	pthread_mutex_destroy(&h.modmu);
	pthread_mutex_destroy(&h.wmu);
	pthread_cond_destroy(&h.wcv);
	return n > 0 ? 0 : TK_ERR_SYSTEM;
}

int
tk_helper_registry(int fd)
{
	struct server	  sv;
	char		**paths = NULL;
	size_t		  n = 0, i;
	int		  r;

	if (fd < 0) {
		if ((r = hk_registry_paths(&paths, &n)) != 0)
			return r;
		for (i = 0; i < n; i++)
			printf("%s\n", paths[i]);
		tk_p11_paths_free(paths, n);
		return fflush(stdout) == 0 ? 0 : TK_ERR_SYSTEM;
	}
	if ((r = server_init(&sv, NULL, fd, 1)) == 0) {
		sv.running = 1;
		(void)worker(&sv);
	}
	server_free(&sv);
	return r;
}
