/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Signing on tokens: see sign.h.  In the steady state a signature costs
 * C_SignInit + C_Sign on a pooled session with a cached private key
 * handle; the handle is looked up again (C_FindObjects) only after the
 * token said it or the session went stale, or after a login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/signer.h"

/* DigestInfo prefixes (RFC 8017 9.2). */
static const uint8_t di_sha1[] = {
	0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a,
	0x05, 0x00, 0x04, 0x14
};
static const uint8_t di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static const uint8_t di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40
};

static const char *const md_names[] = {
	NULL, "SHA1", "SHA256", "SHA384", "SHA512"
};

/* What the token signs for one signature. */
struct input {
	CK_MECHANISM	 mech;
	uint8_t		 buf[32 + EVP_MAX_MD_SIZE];
	const uint8_t	*p;
	size_t		 len;
};

int
tk_signer_new(struct tk_module *m, struct tk_signer **out)
{
	struct tk_signer	*sg;
	size_t			 i;
	int			 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((sg = calloc(1, sizeof(*sg))) == NULL)
		goto out;
	sg->mod = m;
	sg->f = m->f;
	pthread_mutex_init(&sg->mu, NULL);
	sg->threads = m->threads;
	if (!m->ready) {
		r = TK_ERR_MODULE;
		goto out;
	}
	for (i = 1; i < sizeof(md_names) / sizeof(md_names[0]); i++)
		if ((sg->md[i] = EVP_MD_fetch(NULL, md_names[i], NULL)) ==
		    NULL)
			goto out;
	*out = sg;
	sg = NULL;
	r = 0;
 out:
	tk_signer_free(sg);
	return r;
}

void
tk_signer_free(struct tk_signer *sg)
{
	size_t	i;

	if (sg == NULL)
		return;
	for (i = 0; i < sg->nslots; i++) {
		tk_sslot_reset(sg, sg->slots[i]);
		pthread_mutex_destroy(&sg->slots[i]->login_mu);
		free(sg->slots[i]);
	}
	free(sg->slots);
	for (i = 0; i < sg->nkeys; i++) {
		free(sg->keys[i]->own);
		free(sg->keys[i]);
	}
	free(sg->keys);
	for (i = 0; i < sizeof(sg->md) / sizeof(sg->md[0]); i++)
		EVP_MD_free(sg->md[i]);
	pthread_mutex_destroy(&sg->mu);
	free(sg);
}

static int
skey_new(const struct tk_pubkey *pub, struct tk_skey **out)
{
	struct tk_skey	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return TK_ERR_NOMEM;
	k->pub = *pub;
	k->pub.owned = NULL;
	if (pub->type == TK_KEY_RSA) {
		if ((k->own = malloc(pub->nlen + pub->elen + 1)) == NULL) {
			free(k);
			return TK_ERR_NOMEM;
		}
		memcpy(k->own, pub->n, pub->nlen);
		memcpy(k->own + pub->nlen, pub->e, pub->elen);
		k->pub.n = k->own;
		k->pub.e = k->own + pub->nlen;
	}
	*out = k;
	return 0;
}

int
tk_signer_add(struct tk_signer *sg, const struct tk_pubkey *pub,
    CK_SLOT_ID slot, const char *serial, const uint8_t *id, size_t idlen,
    struct tk_skey **out)
{
	struct tk_skey	*k = NULL, **nk;
	size_t		 i;
	int		 r = 0;

	*out = NULL;
	if (idlen > TK_ID_MAX || strlen(serial) >= sizeof(k->serial))
		return TK_ERR_RANGE;
	pthread_mutex_lock(&sg->mu);
	for (i = 0; i < sg->nkeys; i++) {
		if (tk_pubkey_equal(&sg->keys[i]->pub, pub)) {
			k = sg->keys[i];
			break;
		}
	}
	if (k == NULL) {
		if (sg->nkeys >= TK_SIGNER_KEYS_MAX) {
			r = TK_ERR_RANGE;
			goto out;
		}
		nk = reallocarray(sg->keys, sg->nkeys + 1, sizeof(*nk));
		if (nk == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		sg->keys = nk;
		if ((r = skey_new(pub, &k)) != 0)
			goto out;
		sg->keys[sg->nkeys++] = k;
	}
	if (k->slot != slot || strcmp(k->serial, serial) != 0 ||
	    k->idlen != idlen || memcmp(k->id, id, idlen) != 0) {
		/* new, or moved: the cached handle means nothing now */
		k->slot = slot;
		snprintf(k->serial, sizeof(k->serial), "%s", serial);
		memcpy(k->id, id, idlen);
		k->idlen = idlen;
		k->have_priv = 0;
	}
	*out = k;
 out:
	pthread_mutex_unlock(&sg->mu);
	return r;
}

int
tk_signer_threads(const struct tk_signer *sg)
{
	return sg->threads;
}

int
tk_skey_always_auth(struct tk_signer *sg, const struct tk_skey *k)
{
	int	v;

	pthread_mutex_lock(&sg->mu);
	v = k->always_auth;
	pthread_mutex_unlock(&sg->mu);
	return v;
}

void
tk_signer_seen(struct tk_signer *sg, CK_SLOT_ID slot, const char *serial)
{
	struct tk_sslot	*s;
	int		 changed;

	if ((s = tk_sslot_get(sg, slot)) == NULL)
		return;
	pthread_mutex_lock(&sg->mu);
	changed = s->serial[0] != '\0' && strcmp(s->serial, serial) != 0;
	pthread_mutex_unlock(&sg->mu);
	if (changed)
		tk_sslot_reset(sg, s);
}

/* Forget the private key handles of every key on this slot. */
static void
forget_handles(struct tk_signer *sg, CK_SLOT_ID slot)
{
	size_t	i;

	pthread_mutex_lock(&sg->mu);
	for (i = 0; i < sg->nkeys; i++)
		if (sg->keys[i]->slot == slot)
			sg->keys[i]->have_priv = 0;
	pthread_mutex_unlock(&sg->mu);
}

static CK_FLAGS
slot_flags(struct tk_signer *sg, struct tk_sslot *s)
{
	CK_FLAGS	f;

	pthread_mutex_lock(&sg->mu);
	f = s->tflags;
	pthread_mutex_unlock(&sg->mu);
	return f;
}

static void
forget_handle(struct tk_signer *sg, struct tk_skey *k)
{
	pthread_mutex_lock(&sg->mu);
	k->have_priv = 0;
	pthread_mutex_unlock(&sg->mu);
}

static int
input_make(struct tk_signer *sg, const struct tk_pubkey *pub, int hash,
    const uint8_t *data, size_t datalen, struct input *in)
{
	const uint8_t	*pre = NULL;
	size_t		 prelen = 0;
	unsigned int	 mdlen;
	int		 want, r = TK_ERR_UNSUPPORTED;

	memset(&in->mech, 0, sizeof(in->mech));
	switch (pub->type) {
	case TK_KEY_RSA:
		in->mech.mechanism = CKM_RSA_PKCS;
		if (hash == TK_HASH_SHA1) {
			pre = di_sha1;
			prelen = sizeof(di_sha1);
		} else if (hash == TK_HASH_SHA256) {
			pre = di_sha256;
			prelen = sizeof(di_sha256);
		} else if (hash == TK_HASH_SHA512) {
			pre = di_sha512;
			prelen = sizeof(di_sha512);
		} else
			goto out;
		break;
	case TK_KEY_ED25519:
		if (hash != TK_HASH_NONE)
			goto out;
		in->mech.mechanism = CKM_EDDSA;
		in->p = data;
		in->len = datalen;
		r = 0;
		goto out;
	default:
		want = pub->type == TK_KEY_ECDSA_P256 ? TK_HASH_SHA256 :
		    pub->type == TK_KEY_ECDSA_P384 ? TK_HASH_SHA384 :
		    pub->type == TK_KEY_ECDSA_P521 ? TK_HASH_SHA512 : -1;
		if (hash != want)
			goto out;
		in->mech.mechanism = CKM_ECDSA;
		break;
	}
	if (prelen > 0)
		memcpy(in->buf, pre, prelen);
	if (EVP_Digest(data, datalen, in->buf + prelen, &mdlen, sg->md[hash],
	    NULL) != 1) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	in->p = in->buf;
	in->len = prelen + mdlen;
	r = 0;
 out:
	return r;
}

/* Is the raw signature the shape the key makes? */
static int
output_ok(const struct tk_pubkey *pub, size_t len)
{
	switch (pub->type) {
	case TK_KEY_RSA:
		return len > 0 && len <= pub->nlen;
	case TK_KEY_ED25519:
		return len == 64;
	default:
		return pub->qlen > 1 && len == pub->qlen - 1;
	}
}

/* The private key handle: cached for this slot generation, or found. */
static int
key_handle(struct tk_signer *sg, struct tk_skey *k, struct tk_sslot *s,
    CK_SESSION_HANDLE h, unsigned int gen, CK_OBJECT_HANDLE *priv,
    int *always)
{
	CK_OBJECT_HANDLE	p;
	int			a = 0, r = 0;

	pthread_mutex_lock(&sg->mu);
	if (k->have_priv && k->privgen == gen) {
		*priv = k->priv;
		*always = k->always_auth;
		pthread_mutex_unlock(&sg->mu);
		goto out;
	}
	pthread_mutex_unlock(&sg->mu);
	if ((r = tk_privkey_find(sg, k, h, &p, &a)) != 0)
		goto out;
	*priv = p;
	*always = a;
	pthread_mutex_lock(&sg->mu);
	if (gen == s->gen) {
		k->priv = p;
		k->privgen = gen;
		k->have_priv = 1;
		k->always_auth = a;
	}
	pthread_mutex_unlock(&sg->mu);
 out:
	return r;
}

/* End an active signing operation: a C_Sign that fails ends it. */
static void
sign_abandon(struct tk_signer *sg, CK_SESSION_HANDLE h, const struct input *in)
{
	uint8_t		junk[TK_SIGN_MAX];
	CK_ULONG	len = sizeof(junk);

	(void)sg->f->C_Sign(h, (CK_BYTE *)in->p, in->len, junk, &len);
	explicit_bzero(junk, sizeof(junk));
}

struct attempt {
	struct tk_sslot		*s;
	const char		*serial;
	CK_SESSION_HANDLE	 h;
	unsigned int		 gen;
	int			 have, bad;
	int			 ctx_login;	/* a C_Login was made */
	int			 ctx_needed;
	CK_RV			 rv;
};

/*
 * One try: a session, the handle, C_SignInit (+ context login), C_Sign.
 * Returns 0, a TK_ERR_*, or TK_ERR_SESSION when another try may help.
 */
static int
sign_once(struct tk_signer *sg, struct tk_skey *k, struct attempt *at,
    const struct input *in, const char *pin, size_t pinlen, uint8_t *sig,
    size_t sigsz, size_t *siglen)
{
	CK_OBJECT_HANDLE	priv;
	CK_ULONG		outlen;
	CK_RV			rv;
	int			always = 0, r;

	at->rv = CKR_OK;
	if ((r = tk_sess_get(sg, at->s, at->serial, &at->h, &at->gen)) != 0)
		goto out;
	at->have = 1;
	if ((r = key_handle(sg, k, at->s, at->h, at->gen, &priv,
	    &always)) != 0) {
		if (r == TK_ERR_SESSION || r == TK_ERR_NO_TOKEN) {
			/* the loop in tk_sign asks the slot what happened */
			at->bad = 1;
			r = TK_ERR_SESSION;
		}
		if (r == TK_ERR_NOT_FOUND &&
		    (slot_flags(sg, at->s) & CKF_LOGIN_REQUIRED) &&
		    !tk_sslot_logged_in(sg, at->s))
			/* keys hidden until then */
			r = TK_ERR_LOGIN_REQUIRED;
		goto out;
	}
	if (always && pin == NULL &&
	    !(slot_flags(sg, at->s) & CKF_PROTECTED_AUTHENTICATION_PATH)) {
		at->ctx_needed = 1;
		r = TK_ERR_LOGIN_REQUIRED;
		goto out;
	}
	rv = sg->f->C_SignInit(at->h, (CK_MECHANISM *)&in->mech, priv);
	if (rv == CKR_OK && always) {
		at->ctx_login = 1;
		rv = sg->f->C_Login(at->h, CKU_CONTEXT_SPECIFIC,
		    (CK_UTF8CHAR *)pin, pin != NULL ? pinlen : 0);
		if (rv != CKR_OK) {
			sign_abandon(sg, at->h, in);
			at->rv = rv;
			r = tk_p11_rv(rv);
			if (r == TK_ERR_SESSION || r == 0)
				r = TK_ERR_TOKEN;
			goto out;
		}
	}
	if (rv == CKR_OK) {
		outlen = sigsz;
		rv = sg->f->C_Sign(at->h, (CK_BYTE *)in->p, in->len, sig,
		    &outlen);
		if (rv == CKR_BUFFER_TOO_SMALL)
			at->bad = 1;	/* still active: drop the session */
	}
	at->rv = rv;
	if (rv == CKR_OK) {
		r = output_ok(&k->pub, outlen) ? 0 : TK_ERR_SIGNATURE;
		*siglen = outlen;
		goto out;
	}
	if (tk_rv_session_lost(rv) || rv == CKR_OPERATION_ACTIVE) {
		at->bad = 1;
		r = TK_ERR_SESSION;
	} else if (rv == CKR_OBJECT_HANDLE_INVALID ||
	    rv == CKR_KEY_HANDLE_INVALID) {
		forget_handle(sg, k);
		r = TK_ERR_SESSION;
	} else if (rv == CKR_USER_NOT_LOGGED_IN) {
		forget_handle(sg, k);
		r = TK_ERR_LOGIN_REQUIRED;
		/*
		 * Logged in, yet refused: a key wanting a context login, or
		 * a login the card forgot (its PIN was changed elsewhere).
		 */
		if (!always && tk_sslot_logged_in(sg, at->s)) {
			if (key_handle(sg, k, at->s, at->h, at->gen, &priv,
			    &always) == 0 && always)
				at->ctx_needed = 1;
			else {
				pthread_mutex_lock(&sg->mu);
				at->s->stale_login = 1;
				pthread_mutex_unlock(&sg->mu);
			}
		}
	} else if (rv == CKR_GENERAL_ERROR) {
		/*
		 * The module itself is broken, maybe for good: the TPM
		 * module after its resource manager restarted fails every
		 * C_SignInit until it is initialised again.  The caller
		 * may start it afresh (no PIN is sent twice).
		 */
		at->bad = 1;
		r = TK_ERR_MODULE;
	} else
		r = tk_p11_rv(rv);
	if (r == 0)
		r = TK_ERR_TOKEN;
 out:
	if (at->have)
		tk_sess_put(sg, at->s, at->h, at->gen, at->bad);
	at->have = 0;
	return r;
}

int
tk_sign(struct tk_signer *sg, struct tk_skey *k, int hash,
    const uint8_t *data, size_t datalen, const char *pin, size_t pinlen,
    uint8_t *sig, size_t sigsz, size_t *siglen, struct tk_tokstate *st)
{
	struct input	 in;
	struct attempt	 at;
	CK_SLOT_ID	 slot;
	char		 serial[sizeof(k->serial)];
	int		 r, tries;

	memset(&at, 0, sizeof(at));
	*siglen = 0;
	if (sigsz < TK_SIGN_MAX || hash < 0 || hash > TK_HASH_SHA512) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if ((r = input_make(sg, &k->pub, hash, data, datalen, &in)) != 0)
		goto out;
	pthread_mutex_lock(&sg->mu);
	slot = k->slot;
	memcpy(serial, k->serial, sizeof(serial));
	pthread_mutex_unlock(&sg->mu);
	if ((at.s = tk_sslot_get(sg, slot)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	at.serial = serial;
	for (tries = 0; tries < 2; tries++) {
		at.bad = 0;
		r = sign_once(sg, k, &at, &in, pin, pinlen, sig, sigsz, siglen);
		if (r != TK_ERR_SESSION || at.ctx_login)
			break;
		/* stale session or handle: is the card (still) there? */
		if (at.bad) {
			tk_sslot_recover(sg, at.s, serial);
			if ((r = tk_sslot_check(sg, at.s, serial)) != 0)
				break;
			r = TK_ERR_SESSION;
		}
	}
 out:
	if (st != NULL && at.s != NULL) {
		if (r == 0) {
			tk_sslot_cached_state(sg, at.s, st);
			if (st->flags & TK_TOKEN_LOGIN_REQUIRED)
				st->flags |= TK_TOKSTATE_LOGGED_IN;
		} else
			(void)tk_sslot_state(sg, at.s, serial, st);
		if (at.ctx_needed || tk_skey_always_auth(sg, k))
			st->flags |= TK_TOKSTATE_CONTEXT_PIN;
	} else if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (r != 0)
		explicit_bzero(sig, sigsz);
	return r;
}

int
tk_signer_login(struct tk_signer *sg, struct tk_skey *k, const char *pin,
    size_t pinlen, struct tk_tokstate *st)
{
	struct tk_sslot		*s;
	CK_SESSION_HANDLE	 h;
	CK_SESSION_INFO		 si;
	CK_SLOT_ID		 slot;
	char			 serial[sizeof(k->serial)];
	unsigned int		 gen;
	CK_RV			 rv;
	int			 r, locked = 0, stale;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&sg->mu);
	slot = k->slot;
	memcpy(serial, k->serial, sizeof(serial));
	pthread_mutex_unlock(&sg->mu);
	if ((s = tk_sslot_get(sg, slot)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	pthread_mutex_lock(&s->login_mu);
	locked = 1;
	/* fresh flags (tries left) and the right card */
	if ((r = tk_sslot_check(sg, s, serial)) != 0 ||
	    (r = tk_sess_keeper(sg, s, serial, &h, &gen)) != 0)
		goto out;
	if ((rv = sg->f->C_GetSessionInfo(h, &si)) != CKR_OK) {
		/* the keeper went stale: start over on this card */
		tk_sslot_recover(sg, s, serial);
		if ((r = tk_sslot_check(sg, s, serial)) != 0 ||
		    (r = tk_sess_keeper(sg, s, serial, &h, &gen)) != 0)
			goto out;
		if ((rv = sg->f->C_GetSessionInfo(h, &si)) != CKR_OK) {
			r = tk_p11_rv(rv);
			goto out;
		}
	}
	pthread_mutex_lock(&sg->mu);
	stale = s->stale_login;
	s->stale_login = 0;
	pthread_mutex_unlock(&sg->mu);
	if ((si.state == CKS_RO_USER_FUNCTIONS ||
	    si.state == CKS_RW_USER_FUNCTIONS) && !stale) {
		r = 0;		/* already: no try spent */
		goto out;
	}
	if (stale)
		(void)sg->f->C_Logout(h);	/* then a fresh login */
	tk_sslot_cached_state(sg, s, st);
	if (st->flags & TK_TOKEN_PIN_LOCKED) {
		r = TK_ERR_PIN_LOCKED;
		goto out;
	}
	if (pin == NULL) {
		if (!(st->flags & TK_TOKEN_PROTECTED_AUTH)) {
			r = TK_ERR_INVAL;
			goto out;
		}
		rv = sg->f->C_Login(h, CKU_USER, NULL, 0);
	} else {
		if ((st->min_pin != 0 && pinlen < st->min_pin) ||
		    (st->max_pin != 0 && pinlen > st->max_pin)) {
			r = TK_ERR_PIN_INVALID;
			goto out;
		}
		rv = sg->f->C_Login(h, CKU_USER, (CK_UTF8CHAR *)pin, pinlen);
	}
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		forget_handles(sg, slot);
		r = 0;
	} else {
		r = tk_p11_rv(rv);
		if (r == 0 || r == TK_ERR_SESSION ||
		    r == TK_ERR_LOGIN_REQUIRED)
			r = TK_ERR_TOKEN;
	}
 out:
	if (s != NULL) {
		(void)tk_sslot_state(sg, s, serial, st);
		if (tk_skey_always_auth(sg, k))
			st->flags |= TK_TOKSTATE_CONTEXT_PIN;
	}
	if (locked)
		pthread_mutex_unlock(&s->login_mu);
	return r;
}

int
tk_signer_state(struct tk_signer *sg, struct tk_skey *k,
    struct tk_tokstate *st)
{
	struct tk_sslot	*s;
	CK_SLOT_ID	 slot;
	char		 serial[sizeof(k->serial)];
	int		 r;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&sg->mu);
	slot = k->slot;
	memcpy(serial, k->serial, sizeof(serial));
	pthread_mutex_unlock(&sg->mu);
	if ((s = tk_sslot_get(sg, slot)) == NULL)
		return TK_ERR_NOMEM;
	r = tk_sslot_state(sg, s, serial, st);
	if (tk_skey_always_auth(sg, k))
		st->flags |= TK_TOKSTATE_CONTEXT_PIN;
	return r;
}
