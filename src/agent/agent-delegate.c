/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The other agent (-A): each client connection gets its own connection to
 * it, opened on first use and closed with the client, so the other agent
 * sees the session bindings of the same client.  A connection that was
 * bound and then lost its other end is not opened again: the bindings
 * (and the destination constraints they enforce) would be missing.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"

int
agent_up_call(struct agent *a, struct agent_conn *c, const uint8_t *req,
    size_t len, struct tk_buf *reply, int timeout_ms)
{
	int	r;

	tk_buf_reset(reply);
	if (a->up == NULL) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	if (c->up_failed) {
		r = TK_ERR_CONNECTION;
		goto out;
	}
	if (c->up == NULL && (r = a->up->open(a->up->arg, &c->up)) != 0) {
		c->up = NULL;
		agent_log(a, AGENT_LOG_ERR, "the other agent (-A): cannot "
		    "connect: %s", tk_strerror(r));
		goto out;
	}
	if ((r = a->up->call(a->up->arg, c->up, req, len, reply,
	    timeout_ms)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "the other agent (-A) did not "
		    "answer request %u: %s", len > 0 ? req[0] : 0,
		    tk_strerror(r));
		agent_up_close(a, c);
		if (c->nbinds > 0)
			c->up_failed = 1;
		tk_buf_reset(reply);
	}
 out:
	return r;
}

void
agent_up_close(struct agent *a, struct agent_conn *c)
{
	if (c->up != NULL && a->up != NULL)
		a->up->close(a->up->arg, c->up);
	c->up = NULL;
}

/* Is blob among the n keys of an identities body (after the count)? */
static int
has_key(const uint8_t *p, size_t plen, uint32_t n, const uint8_t *blob,
    size_t bloblen)
{
	struct tk_buf	 b;
	const uint8_t	*kb, *cm;
	size_t		 kl, cl;
	uint32_t	 i;

	tk_buf_init_ro(&b, p, plen);
	for (i = 0; i < n; i++) {
		if (tk_buf_get_string(&b, &kb, &kl) != 0 ||
		    tk_buf_get_string(&b, &cm, &cl) != 0)
			return 0;
		if (agent_blob_eq(kb, kl, blob, bloblen))
			return 1;
	}
	return 0;
}

/*
 * Ours first, then the other agent's that we do not serve.  A late,
 * failed or malformed answer leaves ours alone (with a log line).
 */
int
agent_up_identities(struct agent *a, struct agent_conn *c,
    struct tk_buf *reply)
{
	static const uint8_t	 req[1] = { SSH_AGENTC_REQUEST_IDENTITIES };
	struct tk_buf		 up, ub, merged;
	const uint8_t		*ours, *kb, *cm;
	size_t			 ourslen, kl, cl;
	uint32_t		 nours, nup, nadd = 0, i;
	uint8_t			 t;
	int			 pass, r;

	tk_buf_init(&up, AGENT_MAX_FRAME, 0);
	tk_buf_init(&merged, AGENT_MAX_FRAME, 0);
	if (a->up == NULL || c->up_failed) {
		r = 0;
		goto out;
	}
	if (tk_buf_avail(reply) < 5) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	ours = tk_buf_ptr(reply) + 5;
	ourslen = tk_buf_avail(reply) - 5;
	nours = tk_be32_get(tk_buf_ptr(reply) + 1);
	if (agent_up_call(a, c, req, sizeof(req), &up,
	    AGENT_UP_LIST_MS) != 0) {
		agent_log(a, AGENT_LOG_ERR, "listing token keys only");
		r = 0;
		goto out;
	}
	if (tk_buf_get_u8(&up, &t) != 0 || t != SSH_AGENT_IDENTITIES_ANSWER ||
	    tk_buf_get_u32(&up, &nup) != 0) {
		agent_log(a, AGENT_LOG_ERR, "the other agent (-A) answered "
		    "the identities request with garbage: listing token keys "
		    "only");
		r = 0;
		goto out;
	}
	/* pass 0: check and count; pass 1: copy */
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1 && ((r = tk_buf_put_u8(&merged,
		    SSH_AGENT_IDENTITIES_ANSWER)) != 0 ||
		    (r = tk_buf_put_u32(&merged, nours + nadd)) != 0 ||
		    (r = tk_buf_put(&merged, ours, ourslen)) != 0))
			goto toobig;
		tk_buf_init_ro(&ub, tk_buf_ptr(&up), tk_buf_avail(&up));
		for (i = 0; i < nup; i++) {
			if (tk_buf_get_string(&ub, &kb, &kl) != 0 ||
			    tk_buf_get_string(&ub, &cm, &cl) != 0 || kl == 0) {
				agent_log(a, AGENT_LOG_ERR, "the other agent "
				    "(-A) sent a malformed key list: listing "
				    "token keys only");
				r = 0;
				goto out;
			}
			if (has_key(ours, ourslen, nours, kb, kl))
				continue;
			if (pass == 0)
				nadd++;
			else if ((r = tk_buf_put_string(&merged, kb,
			    kl)) != 0 ||
			    (r = tk_buf_put_string(&merged, cm, cl)) != 0)
				goto toobig;
		}
		if (pass == 0 && tk_buf_end(&ub) != 0) {
			agent_log(a, AGENT_LOG_ERR, "the other agent (-A) sent "
			    "trailing bytes after its key list: listing token "
			    "keys only");
			r = 0;
			goto out;
		}
	}
	tk_buf_reset(reply);
	r = tk_buf_put(reply, tk_buf_ptr(&merged), tk_buf_avail(&merged));
	goto out;
 toobig:
	agent_log(a, AGENT_LOG_ERR, "the keys of both agents do not fit in "
	    "one answer: listing token keys only");
	r = 0;
 out:
	tk_buf_free(&up);
	tk_buf_free(&merged);
	return r;
}
