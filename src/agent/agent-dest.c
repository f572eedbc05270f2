/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Destination constraints (restrict-destination-v00@openssh.com, what
 * ssh-add -h sends) and the session bindings they are checked against.
 *
 * A constraint is one permitted hop: from a host (its host keys; none
 * for this machine) to user@host (its host keys).  A connection that came
 * through ssh carries the chain of hosts it passed as its session-binds,
 * one per hop, the last one for authentication or for forwarding the
 * agent further.  A constrained key may be used on a connection only when
 * every hop of its chain is a permitted one; with no binding at all the
 * use is local.  The rules are those of OpenSSH's agent, so that keys
 * behave the same whichever agent holds them.
 *
 * Pure: no lock, no I/O.  A parsed set never changes, and is shared by
 * reference between a source, its keys and a registry-wide request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/util.h"
#include "ssh/sshcert.h"
#include "ssh/userauth.h"

#define DEST_HOST_MAX	1024	/* NI_MAXHOST, and then some */

struct dest_hop {
	char		*user;		/* NULL: any user */
	char		*host;		/* NULL: this machine (from hop) */
	struct agent_blob *keys;
	uint8_t		*is_ca;		/* keys[i] is a host CA */
	size_t		 nkeys;
};

struct dest {
	struct dest_hop	 from, to;
};

struct agent_dests {
	struct dest	*d;
	size_t		 n;
	int		 refs;
};

static void
hop_free(struct dest_hop *h)
{
	size_t	i;

	free(h->user);
	free(h->host);
	for (i = 0; i < h->nkeys; i++)
		free(h->keys[i].blob);
	free(h->keys);
	free(h->is_ca);
	memset(h, 0, sizeof(*h));
}

static void
dests_free(struct agent_dests *ds)
{
	size_t	i;

	if (ds == NULL)
		return;
	for (i = 0; i < ds->n; i++) {
		hop_free(&ds->d[i].from);
		hop_free(&ds->d[i].to);
	}
	free(ds->d);
	free(ds);
}

struct agent_dests *
agent_dests_ref(struct agent_dests *ds)
{
	if (ds != NULL)
		__atomic_add_fetch(&ds->refs, 1, __ATOMIC_RELAXED);
	return ds;
}

void
agent_dests_unref(struct agent_dests *ds)
{
	if (ds != NULL && __atomic_sub_fetch(&ds->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		dests_free(ds);
}

size_t
agent_dests_count(const struct agent_dests *ds)
{
	return ds == NULL ? 0 : ds->n;
}

/* A hop's name field: "" is NULL (any user, or this machine). */
static int
get_name(struct tk_buf *b, size_t max, char **out)
{
	char	*s;
	int	 r;

	*out = NULL;
	if ((s = malloc(max + 1)) == NULL)
		return TK_ERR_NOMEM;
	if ((r = tk_buf_get_cstring(b, s, max + 1)) != 0 || s[0] == '\0') {
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* One hop: string( string user, string host, string reserved, keys ). */
static int
hop_parse(struct tk_buf *b, struct dest_hop *h, const char *which,
    char *why, size_t whysz)
{
	struct tk_buf	 hb, kb;
	struct agent_blob *nk;
	const uint8_t	*p, *key;
	size_t		 n, keylen;
	uint8_t		*nca, ca;
	int		 r = TK_ERR_FORMAT;

	if (tk_buf_get_sub(b, &hb) != 0) {
		snprintf(why, whysz, "the %s hop is missing or not a string",
		    which);
		goto out;
	}
	if ((r = get_name(&hb, AGENT_DEST_USER_MAX, &h->user)) != 0) {
		snprintf(why, whysz, "the %s hop's user name %s", which,
		    r == TK_ERR_RANGE ? "is over 256 bytes" :
		    "is malformed or holds a NUL byte");
		goto out;
	}
	if ((r = get_name(&hb, DEST_HOST_MAX, &h->host)) != 0) {
		snprintf(why, whysz, "the %s hop's host name %s", which,
		    r == TK_ERR_RANGE ? "is over 1024 bytes" :
		    "is malformed or holds a NUL byte");
		goto out;
	}
	r = TK_ERR_FORMAT;
	n = 0;
	if (tk_buf_get_string(&hb, &p, &n) != 0 || n != 0) {
		snprintf(why, whysz, "the %s hop's reserved field is %s",
		    which, n != 0 ? "not empty (an extension this agent "
		    "does not know)" : "missing");
		goto out;
	}
	while (tk_buf_avail(&hb) > 0) {
		if (tk_buf_get_string(&hb, &key, &keylen) != 0 ||
		    tk_buf_get_u8(&hb, &ca) != 0) {
			snprintf(why, whysz, "the %s hop's host key %zu is "
			    "truncated", which, h->nkeys + 1);
			goto out;
		}
		/* a key blob starts with its type name */
		tk_buf_init_ro(&kb, key, keylen);
		if (tk_buf_get_string(&kb, &p, &n) != 0 || n == 0 ||
		    memchr(p, '\0', n) != NULL) {
			snprintf(why, whysz, "the %s hop's host key %zu is "
			    "not a key", which, h->nkeys + 1);
			goto out;
		}
		if ((nk = reallocarray(h->keys, h->nkeys + 1,
		    sizeof(*nk))) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		h->keys = nk;
		if ((nca = reallocarray(h->is_ca, h->nkeys + 1, 1)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		h->is_ca = nca;
		if ((nk[h->nkeys].blob = malloc(keylen)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		memcpy(nk[h->nkeys].blob, key, keylen);
		nk[h->nkeys].len = keylen;
		nca[h->nkeys++] = ca != 0;
	}
	r = 0;
 out:
	if (r == TK_ERR_NOMEM)
		snprintf(why, whysz, "out of memory");
	return r;
}

/* One constraint: string( from hop, to hop, string reserved ). */
static int
dest_parse(struct tk_buf *b, struct dest *d, size_t idx, char *why,
    size_t whysz)
{
	struct tk_buf	 db;
	const uint8_t	*p;
	size_t		 n = 0;
	int		 r = TK_ERR_FORMAT;

	if (tk_buf_get_sub(b, &db) != 0) {
		snprintf(why, whysz, "destination %zu is truncated", idx);
		goto out;
	}
	if ((r = hop_parse(&db, &d->from, "from", why, whysz)) != 0 ||
	    (r = hop_parse(&db, &d->to, "to", why, whysz)) != 0)
		goto out;
	r = TK_ERR_FORMAT;
	if (tk_buf_get_string(&db, &p, &n) != 0 || n != 0 ||
	    tk_buf_end(&db) != 0) {
		snprintf(why, whysz, "destination %zu: %s", idx, n != 0 ?
		    "its reserved field is not empty (an extension this "
		    "agent does not know)" : "no reserved field, or bytes "
		    "after it");
		goto out;
	}
	if (d->from.user != NULL)
		snprintf(why, whysz, "destination %zu names a user on the "
		    "from hop (only the last hop has one)", idx);
	else if ((d->from.host == NULL) != (d->from.nkeys == 0))
		snprintf(why, whysz, "destination %zu: the from hop has %s",
		    idx, d->from.host == NULL ? "host keys but no host name" :
		    "a host name but no host keys");
	else if (d->to.host == NULL)
		snprintf(why, whysz, "destination %zu: the to hop has no "
		    "host name", idx);
	else if (d->to.nkeys == 0)
		snprintf(why, whysz, "destination %zu: the to hop has no "
		    "host keys", idx);
	else
		r = 0;
 out:
	return r;
}

int
agent_dests_parse(const uint8_t *p, size_t len, struct agent_dests **out,
    char *why, size_t whysz)
{
	struct agent_dests	*ds;
	struct dest		*nd;
	struct tk_buf		 b;
	int			 r = TK_ERR_NOMEM;

	*out = NULL;
	snprintf(why, whysz, "out of memory");
	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		goto out;
	ds->refs = 1;
	tk_buf_init_ro(&b, p, len);
	r = TK_ERR_FORMAT;
	if (tk_buf_avail(&b) == 0) {
		snprintf(why, whysz, "no destination is given");
		goto out;
	}
	while (tk_buf_avail(&b) > 0) {
		if (ds->n >= AGENT_MAX_DESTS) {
			snprintf(why, whysz, "more than %d destinations",
			    AGENT_MAX_DESTS);
			r = TK_ERR_FORMAT;
			goto out;
		}
		if ((nd = reallocarray(ds->d, ds->n + 1,
		    sizeof(*nd))) == NULL) {
			r = TK_ERR_NOMEM;
			snprintf(why, whysz, "out of memory");
			goto out;
		}
		ds->d = nd;
		memset(&nd[ds->n], 0, sizeof(*nd));
		ds->n++;
		if ((r = dest_parse(&b, &nd[ds->n - 1], ds->n, why,
		    whysz)) != 0)
			goto out;
	}
	*out = ds;
	ds = NULL;
	r = 0;
 out:
	dests_free(ds);
	return r;
}

/* One of the certificate's principals, a pattern ('*', '?'), is host. */
static int
principal_match(const struct tk_sshcert *c, const char *host)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n;
	char		 pat[DEST_HOST_MAX + 1];

	tk_buf_init_ro(&b, c->principals, c->principalslen);
	while (tk_buf_get_string(&b, &p, &n) == 0) {
		if (n > DEST_HOST_MAX || memchr(p, '\0', n) != NULL)
			continue;
		memcpy(pat, p, n);
		pat[n] = '\0';
		if (tk_glob_match(host, pat, strlen(pat), 0))
			return 1;
	}
	return 0;
}

/*
 * A host certificate (the binding's key) signed by the hop's CA key
 * (an @cert-authority line) for the hop's host name, valid now.  Its CA
 * signature was checked when the binding was made (agent-verify.c).  As
 * in OpenSSH, principals may be patterns, and a certificate without
 * principals is valid for any host.
 */
static int
ca_signed(const struct dest_hop *h, const struct agent_blob *ca,
    const struct agent_bind *b)
{
	struct tk_sshcert	c;
	struct tk_buf		store;
	int			ok = 0;

	if (h->host == NULL || !tk_sshcert_is_cert(b->key, b->keylen))
		return 0;
	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	if (tk_sshcert_parse(b->key, b->keylen, &c, &store) == 0 &&
	    c.type == TK_SSHCERT_HOST &&
	    agent_blob_eq(c.ca, c.calen, ca->blob, ca->len) &&
	    tk_sshcert_when(&c, (uint64_t)time(NULL)) == 0 &&
	    (c.nprincipals == 0 || principal_match(&c, h->host)))
		ok = 1;
	tk_buf_free(&store);
	return ok;
}

/* Is the binding's host key one of the hop's, or certified by one? */
static int
hop_has_key(const struct dest_hop *h, const struct agent_bind *b)
{
	size_t	i;

	for (i = 0; i < h->nkeys; i++) {
		if (h->is_ca[i] ? ca_signed(h, &h->keys[i], b) :
		    agent_blob_eq(h->keys[i].blob, h->keys[i].len, b->key,
		    b->keylen))
			return 1;
	}
	return 0;
}

/*
 * The first constraint that permits the hop from -> to (from NULL: this
 * machine; to NULL: anywhere) for user (NULL: any).
 */
static const struct dest *
dest_match(const struct agent_dests *ds, const struct agent_bind *from,
    const struct agent_bind *to, const char *user)
{
	const struct dest	*d;
	size_t			 i;

	for (i = 0; i < ds->n; i++) {
		d = &ds->d[i];
		if (from == NULL) {
			if (d->from.host != NULL || d->from.nkeys != 0)
				continue;
		} else if (!hop_has_key(&d->from, from))
			continue;
		if (to != NULL && !hop_has_key(&d->to, to))
			continue;
		if (d->to.user != NULL && user != NULL &&
		    !tk_glob_match(user, d->to.user, strlen(d->to.user), 0))
			continue;
		return d;
	}
	return NULL;
}

int
agent_dests_permit(const struct agent_dests *ds, const struct agent_conn *c,
    const char *user, const char **host, char *why, size_t whysz)
{
	const struct agent_bind	*b, *prev = NULL;
	const struct dest	*d;
	size_t			 i, n;
	int			 last, r = TK_ERR_DENIED;

	if (host != NULL)
		*host = NULL;
	if (ds == NULL || ds->n == 0) {
		r = 0;
		goto out;
	}
	n = c->nbinds > 0 ? (size_t)c->nbinds : 0;
	if (n == 0) {
		if (c->bind_refused)
			snprintf(why, whysz, "a session-bind on this "
			    "connection was refused");
		else
			r = 0;	/* local use */
		goto out;
	}
	for (i = 0; i < n; i++) {
		b = &c->binds[i];
		last = i == n - 1;
		if (b->key == NULL) {
			snprintf(why, whysz, "binding %zu has no host key", i);
			goto out;
		}
		if (last && b->forwarded && user != NULL) {
			snprintf(why, whysz, "the connection is bound for "
			    "forwarding, not for a login");
			goto out;
		}
		if (!last && !b->forwarded) {
			snprintf(why, whysz, "binding %zu was for a login, "
			    "yet more followed", i + 1);
			goto out;
		}
		if ((d = dest_match(ds, prev, b, last ? user : NULL)) ==
		    NULL) {
			snprintf(why, whysz, "hop %zu of %zu of this "
			    "connection (%s) is not a permitted destination",
			    i + 1, n, i == 0 ? "from this machine" :
			    "between two forwarded hosts");
			goto out;
		}
		if (last && host != NULL)
			*host = d->to.host;
		prev = b;
	}
	/*
	 * Listing on a connection forwarded to the last host: only keys
	 * that may go beyond it (those for that host itself are no use
	 * there, and listing them would tell it which keys we hold).
	 */
	if (prev->forwarded && user == NULL &&
	    dest_match(ds, prev, NULL, NULL) == NULL) {
		snprintf(why, whysz, "the key may be used at the forwarded "
		    "host but not beyond it");
		goto out;
	}
	r = 0;
 out:
	return r;
}

int
agent_dests_sign(const struct agent_dests *ds, const struct agent_conn *c,
    const uint8_t *blob, size_t bloblen, const uint8_t *data, size_t datalen,
    struct tk_userauth *ua, const char **host, char *why, size_t whysz)
{
	const struct agent_bind	*last;
	int			 r = TK_ERR_DENIED;

	*host = NULL;
	if (c->nbinds == 0) {
		snprintf(why, whysz, "the connection is not bound to an ssh "
		    "session, and such a key signs only ssh logins (not git "
		    "or ssh-keygen -Y/-U signatures)");
		goto out;
	}
	last = &c->binds[c->nbinds - 1];
	if (tk_userauth_parse(data, datalen, ua) != 0)
		snprintf(why, whysz, "the data to sign is not an ssh login "
		    "(a publickey userauth request)");
	else if (!agent_blob_eq(ua->key, ua->keylen, blob, bloblen))
		snprintf(why, whysz, "the login is for another key");
	else if (agent_dests_permit(ds, c, ua->user, host, why, whysz) != 0)
		;
	else if (!agent_blob_eq(ua->sid, ua->sidlen, last->sid, last->sidlen))
		snprintf(why, whysz, "the login is not for the session this "
		    "connection was last bound to");
	else if (c->nbinds > 1 && ua->hostkey == NULL)
		snprintf(why, whysz, "a login through a forwarded agent that "
		    "does not name the server's host key");
	else if (ua->hostkey != NULL && !agent_blob_eq(ua->hostkey,
	    ua->hostkeylen, last->key, last->keylen))
		snprintf(why, whysz, "the login names another host key than "
		    "the one this connection was bound to");
	else
		r = 0;
 out:
	return r;
}

int
agent_bind_add(struct agent_conn *c, const uint8_t *key, size_t keylen,
    const uint8_t *sid, size_t sidlen, int forwarded, char *why,
    size_t whysz)
{
	struct agent_bind	*b;
	int			 i, sid_eq, r = TK_ERR_DENIED;

	if (sidlen == 0 || sidlen > sizeof(b->sid)) {
		snprintf(why, whysz, "a session id of %zu bytes", sidlen);
		goto out;
	}
	for (i = 0; i < c->nbinds; i++) {
		b = &c->binds[i];
		if (!b->forwarded) {
			snprintf(why, whysz, "the connection was already "
			    "bound for authentication");
			goto out;
		}
		sid_eq = agent_blob_eq(b->sid, b->sidlen, sid, sidlen);
		if (sid_eq && agent_blob_eq(b->key, b->keylen, key, keylen)) {
			r = 0;	/* this binding again: recorded once */
			goto out;
		}
		if (sid_eq) {
			snprintf(why, whysz, "that session id is bound to "
			    "another host key");
			goto out;
		}
	}
	if (c->nbinds >= AGENT_MAX_BINDS) {
		snprintf(why, whysz, "too many bindings (%d)",
		    AGENT_MAX_BINDS);
		goto out;
	}
	b = &c->binds[c->nbinds];
	if ((b->key = malloc(keylen > 0 ? keylen : 1)) == NULL) {
		r = TK_ERR_NOMEM;
		snprintf(why, whysz, "out of memory");
		goto out;
	}
	memcpy(b->key, key, keylen);
	b->keylen = keylen;
	memcpy(b->sid, sid, sidlen);
	b->sidlen = sidlen;
	b->forwarded = forwarded != 0;
	c->nbinds++;
	r = 0;
 out:
	return r;
}

void
agent_conn_clear(struct agent_conn *c)
{
	int	i;

	for (i = 0; i < AGENT_MAX_BINDS; i++)
		free(c->binds[i].key);
	memset(c->binds, 0, sizeof(c->binds));
	c->nbinds = 0;
	c->bind_refused = 0;
	c->bound = c->forwarded = c->bound_auth = 0;
	explicit_bzero(c->session_id, sizeof(c->session_id));
	c->session_idlen = 0;
}
