/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Destination constraints and session bindings (src/agent/agent-dest.c)
 * on their own: the body of a restrict-destination-v00@openssh.com
 * constraint (from ssh-add -h, or a forwarded host that adds keys), the
 * chain of session-binds a connection carries (host keys and session
 * ids the hosts it came through chose), and the login data a forwarded
 * host asks to sign.  Input:
 *
 *	byte	bits 0-2 bindings (0..7), bit 3 a session-bind was refused,
 *		bit 4 ask to sign (else to list), bit 5 sign for another key
 *	field	the constraint body
 *	binds	each: byte (bit 7 forwarded; bits 0-5 a host key of the
 *		constraint, by its place, or 63: a field with the key),
 *		field (the session id)
 *	field	the user of the login (empty: listing)
 *	rest	the data to sign
 *
 * Checked, from the test's own reading of the constraint:
 *   - it parses to as many destinations as the body has strings, never
 *     more than AGENT_MAX_DESTS
 *   - a key is permitted on a bound connection only if every hop of its
 *     chain is one of the constraints: the first from this machine (a
 *     from hop without host and keys), each next from the key of the
 *     previous binding, each to the binding's key (or a host certificate
 *     where the hop's key is a CA)
 *   - on a connection without bindings, a key is permitted exactly when
 *     no session-bind was refused
 *   - a signature is permitted only for a login (it parses) of the key
 *     asked for, in the session the connection was last bound to
 *   - every reason given is a line of printable text
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "agent/agent.h"
#include "ssh/sshcert.h"
#include "ssh/userauth.h"

#define MAXKEYS	64

struct mkey {
	const uint8_t	*p;
	size_t		 n;
	int		 ca;
};

struct mhop {
	int		 named;		/* has a host name */
	size_t		 k0, nk;	/* its keys: keys[k0 .. k0 + nk) */
};

struct model {
	struct mkey	 keys[MAXKEYS];
	size_t		 nkeys;		/* kept (up to MAXKEYS) */
	int		 overflow;	/* more keys than kept */
	struct mhop	 (*hops)[2];	/* from, to */
	size_t		 n;
};

/* The test's reading of one hop: string(user, host, reserved, keys). */
static void
model_hop(struct model *m, struct tk_buf *b, struct mhop *h)
{
	struct tk_buf	 hb;
	const uint8_t	*p;
	size_t		 n;
	uint8_t		 ca;

	memset(h, 0, sizeof(*h));
	h->k0 = m->nkeys;
	if (tk_buf_get_sub(b, &hb) != 0 ||
	    tk_buf_get_string(&hb, &p, &n) != 0 ||
	    tk_buf_get_string(&hb, &p, &n) != 0)
		return;
	h->named = n > 0;
	if (tk_buf_get_string(&hb, &p, &n) != 0)
		return;
	while (tk_buf_get_string(&hb, &p, &n) == 0 &&
	    tk_buf_get_u8(&hb, &ca) == 0) {
		if (m->nkeys == MAXKEYS) {
			m->overflow = 1;
			continue;
		}
		m->keys[m->nkeys].p = p;
		m->keys[m->nkeys].n = n;
		m->keys[m->nkeys].ca = ca != 0;
		m->nkeys++;
		h->nk++;
	}
}

/* The number of destinations; each one's hops. */
static void
model_read(struct model *m, const uint8_t *p, size_t len)
{
	struct tk_buf	 b, db;
	size_t		 cap = 0;

	memset(m, 0, sizeof(*m));
	tk_buf_init_ro(&b, p, len);
	while (tk_buf_get_sub(&b, &db) == 0) {
		if (m->n == cap) {
			cap = cap ? 2 * cap : 8;
			if ((m->hops = realloc(m->hops, cap *
			    sizeof(*m->hops))) == NULL)
				abort();
		}
		model_hop(m, &db, &m->hops[m->n][0]);
		model_hop(m, &db, &m->hops[m->n][1]);
		m->n++;
	}
}

/* Could bind's key be one of hop's (or certified by one of its CAs)? */
static int
model_has(const struct model *m, const struct mhop *h,
    const struct agent_bind *bind)
{
	const struct mkey	*k;
	size_t			 i;

	for (i = 0; i < h->nk; i++) {
		k = &m->keys[h->k0 + i];
		if (k->ca ? tk_sshcert_is_cert(bind->key, bind->keylen) :
		    agent_blob_eq(k->p, k->n, bind->key, bind->keylen))
			return 1;
	}
	return 0;
}

/* Every hop of c's chain is a constraint's (necessary, not sufficient). */
static int
model_chain(const struct model *m, const struct agent_conn *c)
{
	const struct mhop	*from, *to;
	size_t			 d;
	int			 i, ok;

	for (i = 0; i < c->nbinds; i++) {
		ok = 0;
		for (d = 0; d < m->n && !ok; d++) {
			from = &m->hops[d][0];
			to = &m->hops[d][1];
			if (!model_has(m, to, &c->binds[i]))
				continue;
			if (i == 0)
				ok = !from->named && from->nk == 0;
			else
				ok = model_has(m, from, &c->binds[i - 1]);
		}
		if (!ok)
			return 0;
	}
	return 1;
}

static void
check_why(const char *why, size_t whysz)
{
	size_t	n = strnlen(why, whysz);

	if (n == 0 || n == whysz ||
	    !fz_utf8_printable((const uint8_t *)why, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz		 f = { data, size };
	struct agent_conn	 c;
	struct agent_dests	*ds = NULL;
	struct tk_userauth	 ua, ua2;
	struct model		 m;
	const uint8_t		*body, *p, *sdata;
	const char		*host;
	char			 why[256], *user = NULL;
	size_t			 bodylen, n, sdatalen, i, nb;
	uint8_t			 flags, k, *bodyc, *datac;
	int			 r, rp;

	memset(&c, 0, sizeof(c));
	memset(&m, 0, sizeof(m));
	flags = fz_u8(&f);
	body = fz_field(&f, &bodylen);
	bodyc = fz_dup(body, bodylen);
	if ((r = agent_dests_parse(bodyc, bodylen, &ds, why,
	    sizeof(why))) != 0) {
		if (ds != NULL)
			abort();
		check_why(why, sizeof(why));
		goto out;
	}
	model_read(&m, bodyc, bodylen);
	if (ds == NULL || agent_dests_count(ds) != m.n || m.n == 0 ||
	    m.n > AGENT_MAX_DESTS)
		abort();

	/* the bindings the connection carries */
	nb = flags & 7;
	for (i = 0; i < nb; i++) {
		const uint8_t	*key, *sid;
		size_t		 keylen, sidlen;

		k = fz_u8(&f);
		if ((k & 63) < m.nkeys) {
			key = m.keys[k & 63].p;
			keylen = m.keys[k & 63].n;
		} else
			key = fz_field(&f, &keylen);
		sid = fz_field(&f, &sidlen);
		(void)agent_bind_add(&c, key, keylen, sid, sidlen,
		    (k & 128) != 0, why, sizeof(why));
	}
	if (c.nbinds < 0 || c.nbinds > AGENT_MAX_BINDS)
		abort();
	c.bind_refused = (flags & 8) != 0;
	p = fz_field(&f, &n);
	if (n > 0)
		user = fz_strdup(p, n);
	sdata = fz_rest(&f, &sdatalen);
	datac = fz_dup(sdata, sdatalen);

	why[0] = '\0';
	rp = agent_dests_permit(ds, &c, user, &host, why, sizeof(why));
	if (rp != 0 && rp != TK_ERR_DENIED)
		abort();
	if (rp != 0)
		check_why(why, sizeof(why));
	if (c.nbinds == 0 && (rp == 0) == (c.bind_refused != 0))
		abort();
	if (rp == 0 && c.nbinds > 0 && !m.overflow && !model_chain(&m, &c))
		abort();

	if (flags & 16) {
		const uint8_t	*blob = (const uint8_t *)"another";
		size_t		 bloblen = 7;

		if (!(flags & 32) && tk_userauth_parse(datac, sdatalen,
		    &ua2) == 0) {
			blob = ua2.key;
			bloblen = ua2.keylen;
		}
		why[0] = '\0';
		r = agent_dests_sign(ds, &c, blob, bloblen, datac, sdatalen,
		    &ua, &host, why, sizeof(why));
		if (r != 0 && r != TK_ERR_DENIED)
			abort();
		if (r != 0)
			check_why(why, sizeof(why));
		else {
			const struct agent_bind *last;

			if (c.nbinds == 0 || tk_userauth_parse(datac,
			    sdatalen, &ua2) != 0 ||
			    !agent_blob_eq(ua2.key, ua2.keylen, blob,
			    bloblen))
				abort();
			last = &c.binds[c.nbinds - 1];
			if (!agent_blob_eq(ua2.sid, ua2.sidlen, last->sid,
			    last->sidlen) || agent_dests_permit(ds, &c,
			    ua2.user, NULL, why, sizeof(why)) != 0 ||
			    (!m.overflow && !model_chain(&m, &c)))
				abort();
		}
	}
	free(datac);
	free(user);
 out:
	free(m.hops);
	free(bodyc);
	agent_conn_clear(&c);
	agent_dests_unref(ds);
	return 0;
}
