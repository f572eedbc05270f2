/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The signing path: sign on the token, and when the token wants a login
 * first, take the token's prompt lock, log in once (agent-login.c) and
 * sign again.  Prompts for one token are serialised, so the second of
 * two waiting clients finds the token logged in.  Always-authenticate
 * keys get a context login with every signature.
 */
#include <stddef.h>

#include "tokenkeys.h"
#include "agent/agent.h"

/*
 * One signature on the token; one that takes long (a touch, a PIN pad)
 * raises the desktop notice meanwhile (agent-notify.c).
 */
static int
sign_op(struct agent_ask *q, const uint8_t *blob, size_t bloblen,
    const uint8_t *data, size_t datalen, int alg, const char *pin,
    size_t pinlen, uint8_t *sig, size_t sigsz, size_t *siglen,
    struct tk_htoken *tok, int timeout_ms)
{
	uint64_t	ticket;
	int		r;

	ticket = agent_notice_begin(q->a, q->k->token_label, q->conn);
	r = q->a->ops->sign(q->k->mod->h, blob, bloblen, data, datalen, alg,
	    pin, pinlen, sig, sigsz, siglen, tok, timeout_ms);
	agent_notice_end(q->a, ticket);
	return r;
}

/* An always-authenticate key: a prompt and a context login per use. */
static int
sign_always_auth(struct agent_ask *q, const uint8_t *blob, size_t bloblen,
    const uint8_t *data, size_t datalen, int alg, uint8_t *sig,
    size_t sigsz, size_t *siglen, struct tk_htoken *tok)
{
	struct agent	*a = q->a;
	char		*pin = NULL;
	size_t		 pinlen = 0;
	int		 pad, r;

	if ((r = tk_secret_alloc((void **)&pin, TK_PIN_MAX)) != 0)
		goto out;
	if ((r = a->ops->token(q->k->mod->h, blob, bloblen, tok)) != 0)
		goto out;
	if ((r = agent_get_pin(q, tok, 1, pin, TK_PIN_MAX, &pinlen, &pad)) != 0)
		goto out;
	r = sign_op(q, blob, bloblen, data, datalen, alg,
	    pad ? NULL : pin, pad ? 0 : pinlen, sig, sigsz, siglen, tok,
	    AGENT_LOGIN_TIMEOUT_MS);
	if (r == TK_ERR_LOGIN_REQUIRED && !(tok->flags & TK_HTOKEN_LOGGED_IN)) {
		/* the token itself was not logged in yet: same PIN */
		r = a->ops->login(q->k->mod->h, blob, bloblen,
		    pad ? NULL : pin, pad ? 0 : pinlen, tok,
		    AGENT_LOGIN_TIMEOUT_MS);
		agent_login_result(q, tok, r);
		if (r == 0)
			r = sign_op(q, blob, bloblen, data,
			    datalen, alg, pad ? NULL : pin, pad ? 0 : pinlen,
			    sig, sigsz, siglen, tok, AGENT_LOGIN_TIMEOUT_MS);
	} else if (r == TK_ERR_PIN_INCORRECT || r == TK_ERR_PIN_LOCKED)
		agent_login_result(q, tok, r);
 out:
	if (pin != NULL)
		tk_secret_free(pin, TK_PIN_MAX);
	return r;
}

int
agent_sign(struct agent *a, const struct agent_conn *c,
    const struct agent_key *k, const char *comment,
    const uint8_t *blob, size_t bloblen, const uint8_t *data, size_t datalen,
    int alg, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	struct tk_htoken	 tok;
	struct agent_token	*t;
	struct agent_ask		 q;
	char			*pin = NULL;
	size_t			 pinlen = 0;
	int			 r, pad = 0, tlocked = 0;

	memset(&tok, 0, sizeof(tok));
	if ((t = agent_token_get(a, k->mod, k->token_label,
	    k->token_serial)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	agent_ask_init(&q, a, t, k, blob, bloblen, comment);
	q.conn = c;
	if (k->confirm && (r = agent_confirm_use(&q)) != 0)
		goto out;
	if (!(k->flags & TK_HKEY_ALWAYS_AUTH)) {
		r = sign_op(&q, blob, bloblen, data, datalen, alg,
		    NULL, 0, sig, sigsz, siglen, &tok, AGENT_SIGN_TIMEOUT_MS);
		if (r != TK_ERR_LOGIN_REQUIRED)
			goto out;
	}
	pthread_mutex_lock(&t->mu);
	tlocked = 1;
	if ((k->flags & TK_HKEY_ALWAYS_AUTH) ||
	    (tok.flags & TK_HTOKEN_CONTEXT_PIN)) {
		r = sign_always_auth(&q, blob, bloblen, data, datalen, alg,
		    sig, sigsz, siglen, &tok);
		goto out;
	}
	/* Whoever held the lock may have logged in meanwhile: not a retry. */
	r = sign_op(&q, blob, bloblen, data, datalen, alg, NULL, 0,
	    sig, sigsz, siglen, &tok, AGENT_SIGN_TIMEOUT_MS);
	if (r == TK_ERR_LOGIN_REQUIRED && (tok.flags & TK_HTOKEN_CONTEXT_PIN)) {
		r = sign_always_auth(&q, blob, bloblen, data, datalen, alg,
		    sig, sigsz, siglen, &tok);
		goto out;
	}
	if (r != TK_ERR_LOGIN_REQUIRED)
		goto out;
	if ((r = tk_secret_alloc((void **)&pin, TK_PIN_MAX)) != 0 ||
	    (r = agent_login_once(&q, blob, bloblen, &tok, pin, &pinlen,
	    &pad)) != 0)
		goto out;
	r = sign_op(&q, blob, bloblen, data, datalen, alg, NULL, 0,
	    sig, sigsz, siglen, &tok, AGENT_SIGN_TIMEOUT_MS);
	/*
	 * The key's CKA_ALWAYS_AUTHENTICATE shows only after the login: its
	 * context login uses the PIN just typed, not a second prompt.
	 */
	if (r == TK_ERR_LOGIN_REQUIRED && (tok.flags & TK_HTOKEN_CONTEXT_PIN) &&
	    (tok.flags & TK_HTOKEN_LOGGED_IN)) {
		r = sign_op(&q, blob, bloblen, data, datalen, alg,
		    pad ? NULL : pin, pad ? 0 : pinlen, sig, sigsz, siglen,
		    &tok, AGENT_LOGIN_TIMEOUT_MS);
		if (r == TK_ERR_PIN_INCORRECT || r == TK_ERR_PIN_LOCKED)
			agent_login_result(&q, &tok, r);
	}
 out:
	if (pin != NULL)
		tk_secret_free(pin, TK_PIN_MAX);
	if (tlocked)
		pthread_mutex_unlock(&t->mu);
	if (r == 0)
		agent_policy_signed(a, t, blob, bloblen, &tok);
	if (r != 0 && t != NULL)
		agent_ask_names(&q);
	if (r != 0 && r != TK_ERR_CANCELLED && r != TK_ERR_PIN_LOCKED &&
	    r != TK_ERR_PIN_INCORRECT && r != TK_ERR_NO_PROMPT)
		agent_log(a, AGENT_LOG_ERR, "signature with key %s (%s) "
		    "for %s failed: %s", t != NULL ? q.fp : "?", comment,
		    t != NULL ? agent_ask_who(&q) : "?",
		    r == TK_ERR_NO_TOKEN ? "the token is not present" :
		    r == TK_ERR_TIMEOUT ? "the token did not answer in time" :
		    r == TK_ERR_LOGIN_REQUIRED ? "the token still wants a login"
		    : tk_strerror(r));
	else if (r == TK_ERR_NO_PROMPT)
		agent_log(a, AGENT_LOG_ERR, "signature with key %s needs a "
		    "PIN, but there is no way to ask: install pinentry or set "
		    "SSH_ASKPASS (and DISPLAY, or SSH_ASKPASS_REQUIRE=force) "
		    "for the agent, or use ssh-add -s URI to give the PIN",
		    q.fp);
	return r;
}

