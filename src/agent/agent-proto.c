/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent protocol: one request frame in, one reply out.  Every field is
 * read through tk_buf; a request that does not parse exactly (short
 * fields, trailing bytes) is garbage and closes the connection, while a
 * well-formed request we will not serve gets SSH_AGENT_FAILURE and a log
 * line saying why.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "pkcs11/p11.h"
#include "ssh/sshcert.h"
#include "ssh/sshkey.h"
#include "ssh/userauth.h"

/* Internal verdict: the request is malformed, close the connection. */
#define FAIL_CLOSE	1
/* ...or well-formed but refused (logged): answer SSH_AGENT_FAILURE. */
#define FAIL_REFUSE	2

static int
status(struct tk_buf *reply, int ok)
{
	return tk_buf_put_u8(reply, ok ? SSH_AGENT_SUCCESS : SSH_AGENT_FAILURE);
}

/*
 * -A: the request goes to the other agent and its answer comes back as
 * it is.  what names the request in the log line when that fails.
 */
static int
delegate(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, const char *what, struct tk_buf *reply)
{
	int	r;

	if ((r = agent_up_call(a, c, msg, len, reply,
	    AGENT_LOGIN_TIMEOUT_MS)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "%s failed: %s", what,
		    c->up_failed ? "this connection was bound to a session "
		    "and its connection to the other agent broke" :
		    "the other agent (-A) did not answer");
		r = status(reply, 0);
	} else if (tk_buf_avail(reply) == 0)
		r = status(reply, 0);
	else if (tk_buf_ptr(reply)[0] == SSH_AGENT_FAILURE)
		agent_log(a, AGENT_LOG_INFO, "%s failed: the other agent (-A) "
		    "refused it", what);
	return r;
}

static int
is_rsa_blob(const uint8_t *blob, size_t len)
{
	return len > 11 && memcmp(blob, "\0\0\0\007ssh-rsa", 11) == 0;
}

/*
 * A destination-constrained key signs only an ssh login its constraints
 * permit (agent-dest.c); k->dest_user and k->dest_host then name it for
 * the confirm prompt.
 */
static int
sign_permitted(struct agent *a, const struct agent_conn *c,
    struct agent_key *k, const char *comment, const uint8_t *blob,
    size_t bloblen, const uint8_t *data, size_t datalen,
    struct tk_userauth *ua)
{
	char	why[256];
	int	r;

	if ((r = agent_dests_sign(k->dests, c, blob, bloblen, data, datalen,
	    ua, &k->dest_host, why, sizeof(why))) != 0)
		agent_log(a, AGENT_LOG_INFO, "sign request with %s refused: "
		    "its destination constraints (ssh-add -h) do not permit "
		    "it: %s", comment, why);
	else
		k->dest_user = ua->user;
	return r;
}

static int
proc_sign(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *m, struct tk_buf *reply)
{
	struct agent_key	 k;
	struct tk_userauth	 ua;
	struct tk_sshcert	 cert;
	struct tk_buf		 keystore;
	const uint8_t		*blob, *data, *key;
	size_t			 bloblen, datalen, siglen = 0, keylen;
	uint32_t		 flags;
	char			 comment[AGENT_URI_MAX];
	char			 who[AGENT_WHO_MAX];
	uint8_t			*sig = NULL;
	int			 alg = TK_SIG_DEFAULT, r;

	memset(&k, 0, sizeof(k));
	tk_buf_init(&keystore, TK_SSHCERT_MAX, 0);
	if (tk_buf_get_string(m, &blob, &bloblen) != 0 ||
	    tk_buf_get_string(m, &data, &datalen) != 0 ||
	    tk_buf_get_u32(m, &flags) != 0 || tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	if ((r = agent_key_lookup(a, blob, bloblen, &k, comment,
	    sizeof(comment))) == TK_ERR_NOT_FOUND && a->up != NULL) {
		/* not a token key: the other agent's, flags and all */
		r = delegate(a, c, msg, len, "sign request", reply);
		goto out;
	}
	if (r != 0) {
		agent_peer_who(c, who, sizeof(who));
		agent_log(a, AGENT_LOG_INFO, "sign request from %s refused: %s",
		    who, r == TK_ERR_DENIED ? "the agent is locked" :
		    "the key is not served by this agent");
		r = status(reply, 0);
		goto out;
	}
	if (k.dests != NULL && sign_permitted(a, c, &k, comment, blob,
	    bloblen, data, datalen, &ua) != 0) {
		r = status(reply, 0);
		goto out;
	}
	key = blob;
	keylen = bloblen;
	if (k.cert) {
		/* a certificate identity signs with the key it certifies */
		if ((r = tk_sshcert_parse(blob, bloblen, &cert,
		    &keystore)) != 0) {
			r = status(reply, 0);
			goto out;
		}
		key = cert.key;
		keylen = cert.keylen;
	}
	if (is_rsa_blob(key, keylen)) {
		if (flags & SSH_AGENT_RSA_SHA2_256)
			alg = TK_SIG_RSA_SHA256;
		else if (flags & SSH_AGENT_RSA_SHA2_512)
			alg = TK_SIG_RSA_SHA512;
	}
	if ((sig = malloc(AGENT_SIG_MAX)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = agent_sign(a, c, &k, comment, key, keylen, data, datalen,
	    alg, sig, AGENT_SIG_MAX, &siglen)) != 0) {
		r = status(reply, 0);
		goto out;
	}
	if (a->debug) {
		agent_peer_who(c, who, sizeof(who));
		agent_log(a, AGENT_LOG_DEBUG, "signed with %s%s (%zu bytes of "
		    "data) for %s", k.cert ? "a certificate of " : "", comment,
		    datalen, who);
	}
	if ((r = tk_buf_put_u8(reply, SSH_AGENT_SIGN_RESPONSE)) == 0)
		r = tk_buf_put_string(reply, sig, siglen);
 out:
	agent_module_release(a, k.mod);	/* held by agent_key_lookup */
	agent_dests_unref(k.dests);	/* likewise */
	tk_buf_free(&keystore);
	free(sig);
	return r;
}

static int
proc_remove(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t mlen, struct tk_buf *m, struct tk_buf *reply)
{
	const uint8_t	*blob;
	size_t		 len;
	int		 r;

	if (tk_buf_get_string(m, &blob, &len) != 0 || tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	if ((r = agent_hide(a, blob, len)) == TK_ERR_NOT_FOUND &&
	    a->up != NULL) {
		r = delegate(a, c, msg, mlen, "remove request", reply);
		goto out;
	}
	if (r != 0)
		agent_log(a, AGENT_LOG_INFO, "remove request failed: %s",
		    r == TK_ERR_NOT_FOUND ? "the key is not served" :
		    tk_strerror(r));
	else
		agent_log(a, AGENT_LOG_INFO, "key removed on request; it is "
		    "served again after ssh-add -s");
	r = status(reply, r == 0);
 out:
	return r;
}

/*
 * One extension constraint of 26: its name, then its body.  0 (taken),
 * FAIL_CLOSE (the name does not parse), or FAIL_REFUSE (logged).
 */
static int
constraint_extension(struct agent *a, struct tk_buf *m,
    struct agent_certs **certs, struct agent_dests **dests)
{
	const uint8_t	*body;
	size_t		 bodylen;
	char		 name[128], safe[160], why[256];
	int		 r;

	if (tk_buf_get_cstring(m, name, sizeof(name)) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	if (strcmp(name, AGENT_EXT_CERTS) == 0) {
		if (*certs != NULL) {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: the "
			    "%s constraint given twice", name);
			r = FAIL_REFUSE;
		} else
			r = agent_certs_constraint(a, m, certs) == 0 ? 0 :
			    FAIL_REFUSE;
		goto out;
	}
	if (strcmp(name, "restrict-destination-v00@openssh.com") == 0) {
		/* ssh-add -h */
		if (tk_buf_get_string(m, &body, &bodylen) != 0) {
			r = FAIL_CLOSE;
			goto out;
		}
		if (*dests != NULL)
			snprintf(why, sizeof(why), "given twice");
		if (*dests != NULL || agent_dests_parse(body, bodylen, dests,
		    why, sizeof(why)) != 0) {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: the "
			    "%s constraint: %s", name, why);
			r = FAIL_REFUSE;
		} else
			r = 0;
		goto out;
	}
	tk_str_sanitize(name, safe, sizeof(safe));
	agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: the constraint "
	    "extension \"%s\" is not implemented by this agent", safe);
	r = FAIL_REFUSE;
 out:
	return r;
}

/*
 * ssh-add -s with certificates: give the reader its set before its
 * sources are listed (so certs-only never shows a plain key); put the
 * old one back if the request fails.
 */
static struct agent_certs *
certs_set(struct agent *a, const char *reader, struct agent_certs *cs,
    int pending)
{
	struct agent_certs	*old;

	pthread_mutex_lock(&a->lock);
	if (cs != NULL)
		cs->pending = pending;
	old = agent_certs_swap(a, reader, cs);
	pthread_mutex_unlock(&a->lock);
	return old;
}

/*
 * After agent_add_uri: the set is no longer pending, and if it was added
 * (added), certificates ssh-add -d removed are served again, as keys are.
 * How many certify a key of the reader.
 */
static size_t
certs_done(struct agent *a, const char *reader, struct agent_certs *cs,
    int added)
{
	size_t	n = 0;

	pthread_mutex_lock(&a->lock);
	if (cs != NULL) {
		cs->pending = 0;
		n = agent_certs_matched(a, reader);
	}
	if (added) {
		agent_certs_unhide(a, reader);
		(void)agent_rebuild(a);
	}
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* 20 / 26: ssh-add -s READER, constraints after the fixed fields. */
static int
proc_add_reader(struct agent *a, struct agent_conn *c, struct tk_buf *m,
    int constrained, struct tk_buf *reply)
{
	char		 reader[AGENT_URI_MAX], rpath[PATH_MAX], safe[512];
	char		*pin = NULL, *uri = NULL;
	const uint8_t	*p;
	struct agent_certs *certs = NULL, *old = NULL;
	struct agent_dests *dests = NULL;
	size_t		 pinlen = 0, ncerts;
	uint32_t	 life = a->lifetime;
	uint8_t		 ctype;
	time_t		 deadline = 0;
	int		 confirm = 0, refuse = 0, r;

	if ((r = tk_secret_alloc((void **)&pin, TK_PIN_MAX)) != 0)
		goto out;
	if (tk_buf_get_cstring(m, reader, sizeof(reader)) != 0 ||
	    tk_buf_get_string(m, &p, &pinlen) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	if (pinlen >= TK_PIN_MAX || memchr(p, '\0', pinlen) != NULL) {
		pinlen = 0;
		refuse = 1;
	} else
		memcpy(pin, p, pinlen);
	/* the PIN stays in the request buffer, which the server wipes */
	while (constrained && tk_buf_avail(m) > 0) {
		if (tk_buf_get_u8(m, &ctype) != 0) {
			r = FAIL_CLOSE;
			goto out;
		}
		if (ctype == SSH_AGENT_CONSTRAIN_LIFETIME) {
			if (tk_buf_get_u32(m, &life) != 0) {
				r = FAIL_CLOSE;
				goto out;
			}
		} else if (ctype == SSH_AGENT_CONSTRAIN_CONFIRM)
			confirm = 1;
		else if (ctype == SSH_AGENT_CONSTRAIN_EXTENSION) {
			if ((r = constraint_extension(a, m, &certs,
			    &dests)) != 0) {
				r = r == FAIL_CLOSE ? r : status(reply, 0);
				goto out;
			}
		} else {
			agent_log(a, AGENT_LOG_ERR, "ssh-add -s refused: "
			    "constraint %u is not implemented by this agent",
			    ctype);
			r = status(reply, 0);
			goto out;
		}
	}
	if (tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	tk_str_sanitize(reader, safe, sizeof(safe));
	if (refuse) {
		agent_log(a, AGENT_LOG_ERR, "ssh-add -s %s refused: the PIN is "
		    "too long or contains a NUL byte", safe);
		r = status(reply, 0);
		goto out;
	}
	if (c->bound) {
		agent_log(a, AGENT_LOG_ERR, "ssh-add -s %s refused: the "
		    "request came through a forwarded or bound agent "
		    "connection", safe);
		r = status(reply, 0);
		goto out;
	}
	if (tk_uri_is_pkcs11(reader))
		r = (uri = strdup(reader)) == NULL ? TK_ERR_NOMEM : 0;
	else if ((r = agent_module_allowed(a, reader, rpath,
	    sizeof(rpath))) == 0)
		r = tk_uri_for_module_path(rpath, &uri);
	if (r != 0) {
		agent_log(a, AGENT_LOG_ERR, "ssh-add -s %s refused: %s", safe,
		    r == TK_ERR_DENIED ?
		    "the module's real path is not in the -P allowlist" :
		    r == TK_ERR_NOT_FOUND ?
		    "neither a pkcs11: URI nor an existing module file" :
		    tk_strerror(r));
		r = status(reply, 0);
		goto out;
	}
	if (life > 0)
		deadline = agent_now(a) + (time_t)life;
	old = certs_set(a, reader, certs, 1);
	r = agent_add_uri(a, uri, reader, deadline, confirm,
	    pinlen > 0 ? pin : NULL, pinlen, 0, dests);
	ncerts = certs_done(a, reader, certs, r == 0);
	if (r != 0) {
		/* the reader's old sources stay, and so do their certs */
		agent_certs_free(certs_set(a, reader, old, 0));
		old = NULL;
		certs = NULL;
		agent_log(a, AGENT_LOG_ERR, "ssh-add -s %s failed: %s", safe,
		    r == TK_ERR_NOT_FOUND ? "no key matches" : tk_strerror(r));
	} else if (certs != NULL && certs->certs_only && ncerts == 0) {
		(void)agent_remove_reader(a, reader);
		certs = NULL;
		agent_log(a, AGENT_LOG_ERR, "ssh-add -C -s %s failed: no "
		    "certificate certifies a key it selects", safe);
		r = TK_ERR_NOT_FOUND;
	} else
		agent_log(a, AGENT_LOG_INFO, "serving %s%s%s%s%s", safe,
		    confirm ? " (confirm each use)" : "",
		    deadline ? " (with a lifetime)" : "",
		    certs == NULL ? "" : certs->certs_only ?
		    " (certificates only)" : " (and certificates)",
		    dests != NULL ? " (for the destinations ssh-add -h named "
		    "only)" : "");
	certs = NULL;	/* the agent's now, or freed with its reader */
	r = status(reply, r == 0);
 out:
	if (pin != NULL)
		tk_secret_free(pin, TK_PIN_MAX);
	agent_dests_unref(dests);
	agent_certs_free(certs);
	agent_certs_free(old);
	free(uri);
	return r;
}

/* 21: ssh-add -e READER; like -s, never from a forwarded connection. */
static int
proc_remove_reader(struct agent *a, struct agent_conn *c, struct tk_buf *m,
    struct tk_buf *reply)
{
	char		 reader[AGENT_URI_MAX], safe[512];
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	if (tk_buf_get_cstring(m, reader, sizeof(reader)) != 0 ||
	    tk_buf_get_string(m, &p, &n) != 0 || tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	tk_str_sanitize(reader, safe, sizeof(safe));
	if (c->bound) {
		agent_log(a, AGENT_LOG_ERR, "ssh-add -e %s refused: the "
		    "request came through a forwarded or bound agent "
		    "connection", safe);
		r = status(reply, 0);
		goto out;
	}
	if ((r = agent_remove_reader(a, reader)) != 0)
		agent_log(a, AGENT_LOG_INFO, "ssh-add -e %s failed: %s", safe,
		    r == TK_ERR_NOT_FOUND ? "nothing was added under that name"
		    : tk_strerror(r));
	else
		agent_log(a, AGENT_LOG_INFO, "no longer serving %s", safe);
	r = status(reply, r == 0);
 out:
	return r;
}

static int
proc_lock(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *m, int lock, struct tk_buf *reply)
{
	const uint8_t	*pw;
	size_t		 n;
	int		 r;
	uint8_t		 t;

	if (tk_buf_get_string(m, &pw, &n) != 0 || tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	r = lock ? agent_lock(a, pw, n) : agent_unlock(a, pw, n);
	if (r != 0)
		agent_log(a, AGENT_LOG_INFO, "%s refused: %s", lock ? "lock" :
		    "unlock", lock ? "the agent is already locked" :
		    "wrong password or not locked");
	else
		agent_log(a, AGENT_LOG_INFO, "agent %s", lock ? "locked" :
		    "unlocked");
	/* a locked agent keeps no token logged in */
	if (r == 0 && lock)
		agent_policy_logout_all(a, AGENT_OUT_LOCK);
	/* the other agent too, with the same password (sent once) */
	if (r == 0 && a->up != NULL) {
		if (agent_up_call(a, c, msg, len, reply,
		    AGENT_UP_LIST_MS) != 0 || tk_buf_get_u8(reply, &t) != 0 ||
		    t != SSH_AGENT_SUCCESS)
			agent_log(a, AGENT_LOG_ERR, "the other agent (-A) "
			    "refused or missed the %s request", lock ? "lock" :
			    "unlock");
		tk_buf_reset(reply);
	}
	r = status(reply, r == 0);
 out:
	return r;
}

static int
proc_session_bind(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *m, struct tk_buf *reply)
{
	const uint8_t	*key, *sid, *sig;
	size_t		 keylen, sidlen, siglen;
	char		 why[128];
	int		 fwd, r;
	uint8_t		 t;

	if (tk_buf_get_string(m, &key, &keylen) != 0 ||
	    tk_buf_get_string(m, &sid, &sidlen) != 0 ||
	    tk_buf_get_string(m, &sig, &siglen) != 0 ||
	    tk_buf_get_bool(m, &fwd) != 0 || tk_buf_end(m) != 0) {
		r = FAIL_CLOSE;
		goto out;
	}
	if (sidlen == 0 || sidlen > sizeof(c->session_id)) {
		agent_log(a, AGENT_LOG_ERR, "session-bind refused: session id "
		    "of %zu bytes", sidlen);
		c->bind_refused = 1;
		r = status(reply, 0);
		goto out;
	}
	if ((r = agent_verify_hostsig(key, keylen, sig, siglen, sid,
	    sidlen)) != 0) {
		agent_log(a, AGENT_LOG_ERR, "session-bind refused: the host "
		    "key's signature over the session id does not verify (%s)",
		    tk_strerror(r));
		/* a forged binding: do not serve this connection further */
		r = FAIL_CLOSE;
		goto out;
	}
	if ((r = agent_bind_add(c, key, keylen, sid, sidlen, fwd, why,
	    sizeof(why))) != 0) {
		agent_log(a, AGENT_LOG_ERR, "session-bind refused: %s", why);
		c->bind_refused = 1;
		r = status(reply, 0);
		goto out;
	}
	c->bound = 1;
	if (fwd)
		c->forwarded = 1;
	else
		c->bound_auth = 1;
	memcpy(c->session_id, sid, sidlen);
	c->session_idlen = sidlen;
	agent_log(a, AGENT_LOG_DEBUG, "connection bound to a session%s",
	    fwd ? " (forwarded agent)" : "");
	if (a->up != NULL && !c->up_failed) {
		/* the other agent must see it too, or its keys go unbound */
		if (agent_up_call(a, c, msg, len, reply,
		    AGENT_UP_LIST_MS) != 0 || tk_buf_get_u8(reply, &t) != 0 ||
		    t != SSH_AGENT_SUCCESS) {
			agent_log(a, AGENT_LOG_ERR, "the other agent (-A) did "
			    "not take the session binding: its keys are not "
			    "served on this connection");
			agent_up_close(a, c);
			c->up_failed = 1;
		}
		tk_buf_reset(reply);
	}
	r = status(reply, 1);
 out:
	return r;
}

/* query: 29, "query", then the names of the extensions we implement. */
static int
proc_query(struct tk_buf *m, struct tk_buf *reply)
{
	int	r;

	if (tk_buf_end(m) != 0)
		r = FAIL_CLOSE;
	else if ((r = tk_buf_put_u8(reply,
	    SSH_AGENT_EXTENSION_RESPONSE)) == 0 &&
	    (r = tk_buf_put_cstring(reply, "query")) == 0 &&
	    (r = tk_buf_put_cstring(reply, "query")) == 0 &&
	    (r = tk_buf_put_cstring(reply, "session-bind@openssh.com")) == 0)
		r = tk_buf_put_cstring(reply, AGENT_EXT_RELIST);
	return r;
}

/*
 * -A: the other agent's extensions too, after ours and without repeats
 * (an agent that does not know query adds nothing).
 */
static int
query_merge(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *reply)
{
	struct tk_buf	 up, b;
	const uint8_t	*s, *o;
	size_t		 n, on;
	uint8_t		 t;
	int		 dup, r = 0;

	tk_buf_init(&up, AGENT_MAX_FRAME, 0);
	if (agent_up_call(a, c, msg, len, &up, AGENT_UP_LIST_MS) != 0 ||
	    tk_buf_get_u8(&up, &t) != 0 || t != SSH_AGENT_EXTENSION_RESPONSE ||
	    tk_buf_get_string(&up, &s, &n) != 0)
		goto out;
	while (r == 0 && tk_buf_avail(&up) > 0) {
		if (tk_buf_get_string(&up, &s, &n) != 0)
			break;
		dup = 0;
		tk_buf_init_ro(&b, tk_buf_ptr(reply) + 1,
		    tk_buf_avail(reply) - 1);
		while (!dup && tk_buf_get_string(&b, &o, &on) == 0)
			dup = on == n && memcmp(o, s, n) == 0;
		if (!dup && n > 0 && memchr(s, '\0', n) == NULL)
			r = tk_buf_put_string(reply, s, n);
	}
 out:
	tk_buf_free(&up);
	return r;
}

static int
proc_extension(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *m, struct tk_buf *reply)
{
	char	name[128], safe[160];
	int	r;

	if (tk_buf_get_cstring(m, name, sizeof(name)) != 0)
		r = FAIL_CLOSE;
	else if (strcmp(name, "query") == 0) {
		r = proc_query(m, reply);
		if (r == 0 && a->up != NULL)
			r = query_merge(a, c, msg, len, reply);
	}
	else if (strcmp(name, "session-bind@openssh.com") == 0)
		r = proc_session_bind(a, c, msg, len, m, reply);
	else if (strcmp(name, AGENT_EXT_RELIST) == 0)
		r = tk_buf_end(m) != 0 ? FAIL_CLOSE :
		    status(reply, agent_relist_ask(a, c) == 0);
	else if (a->up != NULL)
		r = delegate(a, c, msg, len, "extension request", reply);
	else {
		tk_str_sanitize(name, safe, sizeof(safe));
		agent_log(a, AGENT_LOG_INFO, "extension \"%s\" is not "
		    "supported", safe);
		r = status(reply, 0);
	}
	return r;
}

/* A request's name for the debug log (-d logs every request). */
static const char *
request_name(uint8_t type)
{
	switch (type) {
	case SSH_AGENTC_REMOVE_ALL_RSA_IDENTITIES:
		return "remove all (protocol 1)";
	case SSH_AGENTC_REQUEST_IDENTITIES:
		return "list keys";
	case SSH_AGENTC_SIGN_REQUEST:
		return "sign";
	case SSH_AGENTC_ADD_IDENTITY:
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		return "add a key file";
	case SSH_AGENTC_REMOVE_IDENTITY:
		return "remove a key";
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		return "remove all keys";
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		return "add a token (ssh-add -s)";
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
		return "remove a token (ssh-add -e)";
	case SSH_AGENTC_LOCK:
		return "lock";
	case SSH_AGENTC_UNLOCK:
		return "unlock";
	case SSH_AGENTC_EXTENSION:
		return "extension";
	default:
		return "unknown";
	}
}

int
agent_dispatch(struct agent *a, struct agent_conn *c, const uint8_t *msg,
    size_t len, struct tk_buf *reply)
{
	struct tk_buf	m;
	char		who[AGENT_WHO_MAX];
	uint8_t		type;
	int		r;

	tk_buf_reset(reply);
	tk_buf_init_ro(&m, msg, len);
	if (tk_buf_get_u8(&m, &type) != 0) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	agent_log(a, AGENT_LOG_DEBUG, "request %u (%s), %zu bytes%s", type,
	    request_name(type), len, c->nbinds > 0 ? ", on a connection "
	    "bound to an ssh session" : "");
	if (agent_is_locked(a) && type != SSH_AGENTC_REQUEST_IDENTITIES &&
	    type != SSH_AGENTC_UNLOCK && type != SSH_AGENTC_LOCK &&
	    type != SSH_AGENTC_EXTENSION) {
		agent_peer_who(c, who, sizeof(who));
		agent_log(a, AGENT_LOG_INFO, "request %u from %s refused: the "
		    "agent is locked", type, who);
		r = status(reply, 0);
		goto out;
	}
	switch (type) {
	case SSH_AGENTC_REQUEST_IDENTITIES:
		r = tk_buf_end(&m) != 0 ? FAIL_CLOSE :
		    agent_identities_conn(a, c, reply);
		/* locked: the other agent's keys are not listed either */
		if (r == 0 && a->up != NULL && !agent_is_locked(a))
			r = agent_up_identities(a, c, reply);
		break;
	case SSH_AGENTC_SIGN_REQUEST:
		r = proc_sign(a, c, msg, len, &m, reply);
		break;
	case SSH_AGENTC_ADD_IDENTITY:
	case SSH_AGENTC_ADD_ID_CONSTRAINED:
		if (a->up != NULL) {
			/* a key file: the other agent keeps it */
			r = delegate(a, c, msg, len, "ssh-add of a key file",
			    reply);
			break;
		}
		agent_log(a, AGENT_LOG_INFO, "ssh-add of a software key "
		    "refused: this agent serves token keys only (use "
		    "ssh-agent for key files)");
		r = status(reply, 0);
		break;
	case SSH_AGENTC_REMOVE_IDENTITY:
		r = proc_remove(a, c, msg, len, &m, reply);
		break;
	case SSH_AGENTC_REMOVE_ALL_IDENTITIES:
		if ((r = tk_buf_end(&m)) != 0) {
			r = FAIL_CLOSE;
			break;
		}
		agent_remove_all(a);
		agent_log(a, AGENT_LOG_INFO, "all keys removed on request; "
		    "ssh-add -s serves them again");
		if (a->up != NULL)
			(void)delegate(a, c, msg, len, "removing the other "
			    "agent's keys", reply);
		tk_buf_reset(reply);
		r = status(reply, 1);
		break;
	case SSH_AGENTC_REMOVE_ALL_RSA_IDENTITIES:
		/*
		 * ssh-add -D sends protocol 1's remove-all before 19 and
		 * ignores the answer; OpenSSH's agent takes it as remove-all.
		 * So do we, quietly: 19 follows and is logged.
		 */
		if ((r = tk_buf_end(&m)) != 0) {
			r = FAIL_CLOSE;
			break;
		}
		agent_remove_all(a);
		r = status(reply, 1);
		break;
	case SSH_AGENTC_ADD_SMARTCARD_KEY:
	case SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED:
		r = proc_add_reader(a, c, &m,
		    type == SSH_AGENTC_ADD_SMARTCARD_KEY_CONSTRAINED, reply);
		break;
	case SSH_AGENTC_REMOVE_SMARTCARD_KEY:
		r = proc_remove_reader(a, c, &m, reply);
		break;
	case SSH_AGENTC_LOCK:
	case SSH_AGENTC_UNLOCK:
		r = proc_lock(a, c, msg, len, &m, type == SSH_AGENTC_LOCK,
		    reply);
		break;
	case SSH_AGENTC_EXTENSION:
		r = proc_extension(a, c, msg, len, &m, reply);
		break;
	default:
		agent_log(a, AGENT_LOG_INFO, "request type %u is not "
		    "supported", type);
		r = status(reply, 0);
		break;
	}
	if (r == FAIL_CLOSE) {
		agent_log(a, AGENT_LOG_ERR, "malformed request (type %u, %zu "
		    "bytes): closing the connection", type, len);
		r = TK_ERR_FORMAT;
	}
 out:
	if (r != 0)
		tk_buf_reset(reply);
	return r;
}
