/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logins.  A login asks for the PIN (pinentry, askpass, terminal:
 * src/prompt/), or reads the key's pin-source file, as the one PIN gate
 * (pkcs11/pingate.c) allows, and makes exactly one C_Login with it.
 * Nothing is retried: a wrong PIN fails that signature and the next one
 * asks again, saying so; a PIN the token refused from a pin-source file
 * is not tried again until the file changes.  The caller holds the
 * token's prompt lock (agent-tokens.c), so two clients never both ask.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "pkcs11/pingate.h"
#include "prompt/prompt-text.h"

static void
prompt_init(struct agent_ask *q, struct tk_prompt *p)
{
	const char	*d;

	memset(p, 0, sizeof(*p));
	p->title = "tokenkeys";
	if ((d = getenv("WAYLAND_DISPLAY")) == NULL || *d == '\0')
		d = getenv("DISPLAY");
	p->display = d != NULL && *d != '\0' ? d : NULL;
	if (q->a->tty_ok) {
		p->flags |= TK_PROMPT_TTY_OK;
		p->ttyname = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) :
		    NULL;
	}
}

static int
run_pin_prompt(struct agent_ask *q, struct tk_prompt *p, char *pin,
    size_t pinsz, size_t *len)
{
	int	r;

	if (q->a->tty_ok)
		pthread_mutex_lock(&q->a->tty_mu);
	r = q->a->ops->prompt_pin(p, pin, pinsz, len);
	if (q->a->tty_ok)
		pthread_mutex_unlock(&q->a->tty_mu);
	return r;
}

static int
run_confirm(struct agent_ask *q, struct tk_prompt *p)
{
	int	r;

	if (q->a->tty_ok)
		pthread_mutex_lock(&q->a->tty_mu);
	r = q->a->ops->prompt_confirm(p);
	if (q->a->tty_ok)
		pthread_mutex_unlock(&q->a->tty_mu);
	return r;
}

void
agent_ask_init(struct agent_ask *q, struct agent *a, struct agent_token *t,
    const struct agent_key *k, const uint8_t *blob, size_t bloblen,
    const char *comment)
{
	memset(q, 0, sizeof(*q));
	q->a = a;
	q->t = t;
	q->k = k;
	q->comment = comment;
	q->blob = blob;
	q->bloblen = bloblen;
}

/* The fingerprint and label, only when a prompt or a log line needs them. */
void
agent_ask_names(struct agent_ask *q)
{
	if (q->fp[0] != '\0')
		return;
	if (tk_blob_fingerprint(q->blob, q->bloblen, TK_FP_SHA256, q->fp,
	    sizeof(q->fp)) != 0)
		snprintf(q->fp, sizeof(q->fp), "(unknown fingerprint)");
	tk_str_sanitize(q->t != NULL ? q->t->label : "", q->label,
	    sizeof(q->label));
}

const char *
agent_ask_who(struct agent_ask *q)
{
	if (q->who[0] == '\0')
		agent_peer_who(q->conn, q->who, sizeof(q->who));
	return q->who;
}

/* The confirm constraint: ask before every signature with this key. */
int
agent_confirm_use(struct agent_ask *q)
{
	struct tk_prompt	p;
	char			desc[512];
	int			r;

	agent_ask_names(q);
	prompt_init(q, &p);
	if (q->k->dests != NULL && q->k->dest_user != NULL)
		tk_ptext_use_confirm_dest(desc, sizeof(desc), q->comment,
		    q->t != NULL ? q->t->label : "", q->fp, q->k->dest_user,
		    q->k->dest_host);
	else
		tk_ptext_use_confirm(desc, sizeof(desc), q->comment,
		    q->t != NULL ? q->t->label : "", q->fp);
	tk_ptext_add_requester(desc, sizeof(desc), agent_ask_who(q));
	p.desc = desc;
	r = run_confirm(q, &p);
	if (r != 0)
		agent_log(q->a, AGENT_LOG_INFO, "signature with %s for %s "
		    "refused: %s", q->fp, q->who[0] ? q->who : "?",
		    r == TK_ERR_CANCELLED ? "the user did not confirm its use" :
		    tk_strerror(r));
	return r;
}

/*
 * Ask for the PIN of q's token into pin, following the token's flags.
 * Returns 0 with *pinlen set, *pad set for a PIN pad (no PIN typed here).
 */
static int
ask_pin(struct agent_ask *q, const struct tk_htoken *tok, int context,
    char *pin, size_t pinsz, size_t *pinlen, int *pad)
{
	struct tk_prompt	p;
	char			desc[768], err[256];
	enum tk_pin_gate	g;
	int			tries, r;

	*pinlen = 0;
	*pad = 0;
	agent_ask_names(q);
	g = tk_pin_gate(tok->flags, TK_PIN_FROM_PROMPT);
	if (g == TK_PIN_REFUSE_LOCKED) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": the user PIN is "
		    "locked (no tries left); not asking. Unlock it with the "
		    "SO PIN or PUK (e.g. pkcs11-tool --init-pin, or the "
		    "vendor's tool)", q->label);
		r = TK_ERR_PIN_LOCKED;
		goto out;
	}
	if (g == TK_PIN_USE_PAD) {
		tk_ptext_pinpad(desc, sizeof(desc), q->t->label, q->fp);
		agent_log(q->a, AGENT_LOG_INFO, "%s", desc);
		*pad = 1;
		r = 0;
		goto out;
	}
	prompt_init(q, &p);
	if (g == TK_PIN_CONFIRM_FINAL) {
		tk_ptext_final_confirm(desc, sizeof(desc), q->t->label, q->fp);
		tk_ptext_add_requester(desc, sizeof(desc), agent_ask_who(q));
		p.desc = desc;
		if ((r = run_confirm(q, &p)) != 0) {
			agent_log(q->a, AGENT_LOG_INFO, "token \"%s\": final "
			    "PIN try not confirmed; signature refused",
			    q->label);
			goto out;
		}
	}
	tk_ptext_pin_error(err, sizeof(err), q->t->wrong_pin, g);
	tk_ptext_pin(desc, sizeof(desc), q->t->label, tok->serial, q->fp,
	    q->comment, context);
	tk_ptext_add_requester(desc, sizeof(desc), agent_ask_who(q));
	p.desc = desc;
	p.prompt = "PIN:";
	p.error = err[0] ? err : NULL;
	p.min_len = tok->min_pin;
	p.max_len = tok->max_pin;
	for (tries = 0; tries < 3; tries++) {
		r = run_pin_prompt(q, &p, pin, pinsz, pinlen);
		if (r != TK_ERR_PIN_INVALID)
			break;
		/* Refused here, so no try on the token was spent. */
		tk_ptext_pin_length(err, sizeof(err), tok->min_pin,
		    tok->max_pin);
		p.error = err;
	}
	if (r != 0)
		agent_log(q->a, AGENT_LOG_INFO, "token \"%s\": no PIN for key "
		    "%s (for %s): %s", q->label, q->fp, agent_ask_who(q),
		    r == TK_ERR_CANCELLED ?
		    "the user cancelled (or gave an empty PIN)" :
		    tk_strerror(r));
 out:
	if (r != 0) {
		explicit_bzero(pin, pinsz);
		*pinlen = 0;
	}
	return r;
}

/*
 * The PIN from the key's pin-source file, for a login nobody is there to
 * type: the file's checks (agent-pinsrc.c), no second try of a PIN the
 * token refused while the file is unchanged, none on the final try.
 */
static int
pinsrc_pin(struct agent_ask *q, const struct tk_htoken *tok, char *pin,
    size_t pinsz, size_t *pinlen, int *pad)
{
	struct tk_fileid	 id;
	char			 why[128], msg[512];
	enum tk_pin_gate	 g;
	int			 r;

	*pinlen = 0;
	*pad = 0;
	agent_ask_names(q);
	g = tk_pin_gate(tok->flags, TK_PIN_FROM_FILE);
	if (g == TK_PIN_REFUSE_LOCKED) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": the user PIN is "
		    "locked (no tries left); the PIN from pin-source %s is "
		    "not tried. Unlock it with the SO PIN or PUK", q->label,
		    q->pinsrc);
		r = TK_ERR_PIN_LOCKED;
		goto out;
	}
	if (g == TK_PIN_USE_PAD) {
		tk_ptext_pinpad(msg, sizeof(msg), q->t->label, q->fp);
		agent_log(q->a, AGENT_LOG_INFO, "%s", msg);
		*pad = 1;
		r = 0;
		goto out;
	}
	if (g == TK_PIN_REFUSE_FINAL) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\" has ONE PIN try "
		    "left: the PIN from pin-source %s is not tried unattended "
		    "(a wrong one would lock the token); log in once with "
		    "ssh-add -s", q->label, q->pinsrc);
		r = TK_ERR_DENIED;
		goto out;
	}
	if ((r = tk_pinsrc_read(q->pinsrc, pin, pinsz, pinlen, &id, why,
	    sizeof(why))) != 0) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": pin-source %s "
		    "not used for key %s: %s", q->label, q->pinsrc, q->fp,
		    why);
		goto out;
	}
	if (q->t->pinsrc_bad && tk_fileid_eq(&id, &q->t->pinsrc_id)) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": the PIN in "
		    "pin-source %s was refused before; it is not tried again "
		    "until the file changes (key %s)", q->label, q->pinsrc,
		    q->fp);
		r = TK_ERR_PIN_INCORRECT;
		goto out;
	}
	if ((tok->min_pin > 0 && *pinlen < tok->min_pin) ||
	    (tok->max_pin > 0 && *pinlen > tok->max_pin)) {
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": the PIN in "
		    "pin-source %s is not %u to %u characters long; not tried",
		    q->label, q->pinsrc, tok->min_pin, tok->max_pin);
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	if (g == TK_PIN_USE_LOW)
		agent_log(q->a, AGENT_LOG_INFO, "token \"%s\": few PIN tries "
		    "are left", q->label);
	q->pinsrc_used = 1;
	q->pinsrc_id = id;
 out:
	if (r != 0) {
		explicit_bzero(pin, pinsz);
		*pinlen = 0;
	}
	return r;
}

/* The PIN: from the key's pin-source if it has one, else asked for. */
int
agent_get_pin(struct agent_ask *q, const struct tk_htoken *tok, int context,
    char *pin, size_t pinsz, size_t *pinlen, int *pad)
{
	if (agent_key_pin_source(q->a, q->blob, q->bloblen, q->pinsrc,
	    sizeof(q->pinsrc)) == 0)
		return pinsrc_pin(q, tok, pin, pinsz, pinlen, pad);
	return ask_pin(q, tok, context, pin, pinsz, pinlen, pad);
}

void
agent_login_result(struct agent_ask *q, const struct tk_htoken *tok, int r)
{
	agent_ask_names(q);
	if (q->pinsrc_used) {
		q->t->pinsrc_bad = r != 0;
		q->t->pinsrc_id = q->pinsrc_id;
	}
	if (r == 0) {
		q->t->wrong_pin = 0;
		agent_policy_login(q->a, q->t, q->blob, q->bloblen);
		agent_log(q->a, AGENT_LOG_DEBUG, "token \"%s\": logged in",
		    q->label);
		/* keys and certificates that show only after a login */
		agent_wake_relist(q->a, q->t->mod);
		return;
	}
	/* Any failed C_Login counts as a spent try (OpenSC says so). */
	q->t->wrong_pin = 1;
	if (r == TK_ERR_PIN_LOCKED || (tok->flags & TK_TOKEN_PIN_LOCKED))
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": login failed and "
		    "the user PIN is now locked; unlock it with the SO PIN or "
		    "PUK", q->label);
	else if (q->pinsrc_used)
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": login with the "
		    "PIN from pin-source %s failed: %s; key %s fails until "
		    "the file changes%s", q->label, q->pinsrc, tk_strerror(r),
		    q->fp, (tok->flags & TK_TOKEN_PIN_FINAL_TRY) ?
		    " (one try left)" : (tok->flags & TK_TOKEN_PIN_COUNT_LOW) ?
		    " (few tries left)" : "");
	else
		agent_log(q->a, AGENT_LOG_ERR, "token \"%s\": login failed: "
		    "%s; this signature fails, the next one asks again%s",
		    q->label, tk_strerror(r),
		    (tok->flags & TK_TOKEN_PIN_FINAL_TRY) ?
		    " (one try left)" : (tok->flags & TK_TOKEN_PIN_COUNT_LOW) ?
		    " (few tries left)" : "");
}

/*
 * One login on q's token (PIN typed by the user), then nothing more.  The
 * PIN stays in pin (TK_PIN_MAX bytes, the caller's) for a context login
 * that the same signature may turn out to need.
 */
int
agent_login_once(struct agent_ask *q, const uint8_t *blob, size_t bloblen,
    struct tk_htoken *tok, char *pin, size_t *pinlen, int *pad)
{
	struct agent	*a = q->a;
	uint64_t	 ticket;
	int		 r;

	agent_ask_names(q);
	if ((r = a->ops->token(q->k->mod->h, blob, bloblen, tok)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "token \"%s\": reading its state "
		    "failed: %s", q->label, tk_strerror(r));
		goto out;
	}
	if ((r = agent_get_pin(q, tok, 0, pin, TK_PIN_MAX, pinlen, pad)) != 0)
		goto out;
	/* a PIN pad waits for the user: the desktop notice */
	ticket = *pad ? agent_notice_begin(a, q->t->label, q->conn) : 0;
	r = a->ops->login(q->k->mod->h, blob, bloblen, *pad ? NULL : pin,
	    *pad ? 0 : *pinlen, tok, AGENT_LOGIN_TIMEOUT_MS);
	agent_notice_end(a, ticket);
	agent_login_result(q, tok, r);
 out:
	return r;
}

int
agent_login_given(struct agent *a, struct agent_source *s,
    const struct tk_hkey *h, const char *pin, size_t pinlen)
{
	struct tk_htoken	 tok;
	struct agent_token	*t;
	struct agent_key	 k;
	struct agent_ask		 q;
	int			 r;

	memset(&tok, 0, sizeof(tok));
	memset(&k, 0, sizeof(k));
	k.mod = s->mod;
	if ((t = agent_token_get(a, s->mod,
	    h->token_label ? h->token_label : "",
	    h->token_serial ? h->token_serial : "")) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	agent_ask_init(&q, a, t, &k, h->blob, h->bloblen, h->uri ? h->uri : "");
	agent_ask_names(&q);
	pthread_mutex_lock(&t->mu);
	if ((r = a->ops->token(s->mod->h, h->blob, h->bloblen, &tok)) == 0 &&
	    tk_pin_gate(tok.flags, TK_PIN_FROM_SSH_ADD) ==
	    TK_PIN_REFUSE_LOCKED) {
		agent_log(a, AGENT_LOG_ERR, "token \"%s\": the user PIN is "
		    "locked; the PIN given to ssh-add was not tried", q.label);
		r = TK_ERR_PIN_LOCKED;
	} else if (r == 0 && (tok.flags & TK_HTOKEN_LOGGED_IN))
		agent_log(a, AGENT_LOG_DEBUG, "token \"%s\": already logged "
		    "in; the PIN given to ssh-add was not needed", q.label);
	else {
		r = a->ops->login(s->mod->h, h->blob, h->bloblen, pin, pinlen,
		    &tok, AGENT_LOGIN_TIMEOUT_MS);
		agent_login_result(&q, &tok, r);
	}
	pthread_mutex_unlock(&t->mu);
 out:
	return r;
}
