/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's side of a helper process: see hclient.h.  Here are the
 * public calls, each one request frame and its reply; the process behind
 * them is in hclient-proc.c, the verification keys in hclient-vkey.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "common/secret.h"
#include "helper/hclient-int.h"
#include "helper/hproto.h"
#include "ssh/sshsig.h"

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
	c->ev = -1;
	if (path != NULL && (c->path = strdup(path)) == NULL)
		goto out;
	/* start now, so a helper that cannot start is known at once */
	if ((r = hc_proc_get(c, &p)) != 0)
		goto out;
	hc_proc_unref(c, p);
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

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->spawn_mu);
	pthread_mutex_lock(&c->mu);
	p = c->proc;
	c->proc = NULL;
	pthread_mutex_unlock(&c->mu);
	if (p != NULL)
		hc_proc_retire(c, p, 1);
	pthread_mutex_unlock(&c->spawn_mu);
	hc_vkeys_free(c);
	if (c->ev != -1)
		close(c->ev);
	free(c->path);
	pthread_mutex_destroy(&c->spawn_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->vmu);
	free(c);
}

int
tk_hclient_events_fd(const struct tk_hclient *c)
{
	return c->ev;
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
	if ((r = hc_vkey_get(c, blob, bloblen, &vk, &owned)) != 0)
		goto out;
	if (ctx_pin != NULL)
		r = secframe_init(&frame, 64 + bloblen + datalen + ctx_pinlen);
	else
		tk_buf_init(&frame, TK_HP_REQ_MAX, 0);
	if (r != 0)
		goto out;
	id = hc_next_id(c);
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
		    !hc_proc_reinit(c))
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
	id = hc_next_id(c);
	if ((r = tk_hp_put_login(&frame, id, blob, bloblen, pin,
	    pinlen)) != 0 ||
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
	id = hc_next_id(c);
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
		id = hc_next_id(c);
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
		if (!hc_proc_reinit(c))
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
	id = hc_next_id(c);
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
	id = hc_next_id(c);
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

int
tk_hclient_logout(struct tk_hclient *c, const uint8_t *blob, size_t bloblen,
    unsigned int *n)
{
	struct tk_buf		frame, reply;
	struct tk_hp_rep	rep;
	uint32_t		id;
	int			r;

	*n = 0;
	tk_buf_init(&frame, TK_HP_REQ_MAX, 0);
	tk_buf_init(&reply, TK_HP_REP_MAX, 0);
	id = hc_next_id(c);
	if ((r = tk_hp_put_logout(&frame, id, blob, bloblen)) != 0 ||
	    (r = hc_call(c, &frame, id, HC_TOKEN_TIMEOUT_MS, 0, &reply)) != 0 ||
	    (r = reply_rep(&reply, TK_HP_LOGOUT, id, &rep)) != 0)
		goto out;
	*n = rep.nlogout;
	r = rep.status;
 out:
	tk_buf_free(&frame);
	tk_buf_free(&reply);
	return r;
}
