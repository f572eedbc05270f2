/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Sessions of the signer, per slot: a keeper session that holds the login
 * (closing the last session of a token logs the process out, so the pool
 * may shrink without losing it) and a pool of idle sessions to sign on.
 * Whenever a session is opened the token's serial is read: a different
 * card in the slot resets everything, so it never inherits a login.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pkcs11/pingate.h"
#include "pkcs11/signer.h"

int
tk_rv_session_lost(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	    rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT;
}

struct tk_sslot *
tk_sslot_get(struct tk_signer *sg, CK_SLOT_ID id)
{
	struct tk_sslot	*s = NULL, **ns;
	size_t		 i;

	pthread_mutex_lock(&sg->mu);
	for (i = 0; i < sg->nslots; i++) {
		if (sg->slots[i]->id == id) {
			s = sg->slots[i];
			goto out;
		}
	}
	if (sg->nslots >= 4096)
		goto out;
	ns = reallocarray(sg->slots, sg->nslots + 1, sizeof(*ns));
	if (ns == NULL)
		goto out;
	sg->slots = ns;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto out;
	s->id = id;
	pthread_mutex_init(&s->login_mu, NULL);
	sg->slots[sg->nslots++] = s;
 out:
	pthread_mutex_unlock(&sg->mu);
	return s;
}

/* Close what was collected (outside the lock). */
static void
close_all(struct tk_signer *sg, CK_SESSION_HANDLE *hs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		(void)sg->f->C_CloseSession(hs[i]);
}

/* With sg->mu held: forget every session of the slot into hs. */
static size_t
slot_drop_locked(struct tk_sslot *s, CK_SESSION_HANDLE *hs)
{
	size_t	n = 0, i;

	s->gen++;
	for (i = 0; i < s->nidle; i++)
		hs[n++] = s->idle[i];
	s->nidle = 0;
	if (s->has_keeper)
		hs[n++] = s->keeper;
	s->has_keeper = 0;
	return n;
}

void
tk_sslot_reset(struct tk_signer *sg, struct tk_sslot *s)
{
	CK_SESSION_HANDLE	hs[TK_SIGN_SESSIONS + 1];
	size_t			n;

	pthread_mutex_lock(&sg->mu);
	n = slot_drop_locked(s, hs);
	s->serial[0] = '\0';
	pthread_mutex_unlock(&sg->mu);
	close_all(sg, hs, n);
}

/* With sg->mu held: what C_GetTokenInfo said, and a card change. */
static size_t
slot_adopt_locked(struct tk_sslot *s, const CK_TOKEN_INFO *ti,
    CK_SESSION_HANDLE *hs)
{
	char	serial[sizeof(s->serial)];
	size_t	n = 0;

	tk_fixed_string(serial, sizeof(serial), ti->serialNumber,
	    sizeof(ti->serialNumber));
	if (strcmp(serial, s->serial) != 0) {
		/* another card (or the first look): nothing carries over */
		n = slot_drop_locked(s, hs);
		memcpy(s->serial, serial, sizeof(s->serial));
	}
	tk_fixed_string(s->label, sizeof(s->label), ti->label,
	    sizeof(ti->label));
	s->tflags = ti->flags;
	s->min_pin = ti->ulMinPinLen;
	s->max_pin = ti->ulMaxPinLen;
	return n;
}

/*
 * Open a session on the slot for the token with this serial; *gen is the
 * slot generation it belongs to.
 */
static int
sess_open(struct tk_signer *sg, struct tk_sslot *s, const char *serial,
    CK_SESSION_HANDLE *out, unsigned int *gen)
{
	CK_SESSION_HANDLE	hs[TK_SIGN_SESSIONS + 2], h;
	CK_TOKEN_INFO		ti;
	size_t			n = 0;
	CK_RV			rv;
	int			r = 0;

	rv = sg->f->C_OpenSession(s->id, CKF_SERIAL_SESSION, NULL, NULL, &h);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		if (r == TK_ERR_NO_TOKEN || r == TK_ERR_SESSION)
			tk_sslot_reset(sg, s);
		if (r == TK_ERR_SESSION)
			r = TK_ERR_NO_TOKEN;
		goto out;
	}
	if ((rv = sg->f->C_GetTokenInfo(s->id, &ti)) != CKR_OK) {
		(void)sg->f->C_CloseSession(h);
		r = tk_p11_rv(rv);
		goto out;
	}
	pthread_mutex_lock(&sg->mu);
	n = slot_adopt_locked(s, &ti, hs);
	if (strcmp(s->serial, serial) != 0) {
		hs[n++] = h;
		r = TK_ERR_NO_TOKEN;
	} else {
		*out = h;
		*gen = s->gen;
	}
	pthread_mutex_unlock(&sg->mu);
 out:
	close_all(sg, hs, n);
	return r;
}

int
tk_sess_keeper(struct tk_signer *sg, struct tk_sslot *s, const char *serial,
    CK_SESSION_HANDLE *out, unsigned int *gen)
{
	CK_SESSION_HANDLE	h;
	unsigned int		g;
	int			r = 0, spare = 0;

	pthread_mutex_lock(&sg->mu);
	if (s->has_keeper && strcmp(s->serial, serial) == 0) {
		*out = s->keeper;
		*gen = s->gen;
		pthread_mutex_unlock(&sg->mu);
		goto out;
	}
	pthread_mutex_unlock(&sg->mu);
	if ((r = sess_open(sg, s, serial, &h, &g)) != 0)
		goto out;
	pthread_mutex_lock(&sg->mu);
	if (g == s->gen && !s->has_keeper) {
		s->keeper = h;
		s->has_keeper = 1;
	} else if (g == s->gen && s->nidle < TK_SIGN_SESSIONS) {
		/* another thread made one meanwhile: keep ours for signing */
		s->idle[s->nidle++] = h;
	} else
		spare = 1;
	if (g != s->gen || !s->has_keeper)
		r = TK_ERR_NO_TOKEN;	/* reset meanwhile */
	*out = s->keeper;
	*gen = s->gen;
	pthread_mutex_unlock(&sg->mu);
	if (spare)
		(void)sg->f->C_CloseSession(h);
 out:
	return r;
}

int
tk_sess_get(struct tk_signer *sg, struct tk_sslot *s, const char *serial,
    CK_SESSION_HANDLE *out, unsigned int *gen)
{
	CK_SESSION_HANDLE	k;
	unsigned int		kg;
	int			r = 0;

	pthread_mutex_lock(&sg->mu);
	if (s->has_keeper && s->nidle > 0 && strcmp(s->serial, serial) == 0) {
		*out = s->idle[--s->nidle];
		*gen = s->gen;
		pthread_mutex_unlock(&sg->mu);
		goto out;
	}
	pthread_mutex_unlock(&sg->mu);
	if ((r = tk_sess_keeper(sg, s, serial, &k, &kg)) != 0)
		goto out;
	r = sess_open(sg, s, serial, out, gen);
	if (r == 0 && *gen != kg) {
		tk_sess_put(sg, s, *out, *gen, 1);
		r = TK_ERR_NO_TOKEN;
	}
 out:
	return r;
}

void
tk_sess_put(struct tk_signer *sg, struct tk_sslot *s, CK_SESSION_HANDLE h,
    unsigned int gen, int bad)
{
	int	drop = 1;

	pthread_mutex_lock(&sg->mu);
	if (!bad && gen == s->gen && s->nidle < TK_SIGN_SESSIONS) {
		s->idle[s->nidle++] = h;
		drop = 0;
	}
	pthread_mutex_unlock(&sg->mu);
	if (drop)
		(void)sg->f->C_CloseSession(h);
}

static int
user_state(const CK_SESSION_INFO *si)
{
	return si->state == CKS_RO_USER_FUNCTIONS ||
	    si->state == CKS_RW_USER_FUNCTIONS;
}

/*
 * One pooled session turned out stale (its handle invalid, or closed).
 * That alone does not mean the card went: drop the idle sessions and
 * start a new generation, so cached key handles are looked up again, but
 * keep the login when the token still holds it (the keeper answers, or a
 * new session on the same card shows the user logged in), for a reset
 * would close the last session and so log the user out.  Anything else
 * (the card gone or swapped, the login lost): a full reset.
 */
void
tk_sslot_recover(struct tk_signer *sg, struct tk_sslot *s, const char *serial)
{
	CK_SESSION_HANDLE	idle[TK_SIGN_SESSIONS], k, h;
	CK_SESSION_INFO		si;
	unsigned int		gen, g;
	size_t			nidle, i;
	int			have, keep = 0;

	pthread_mutex_lock(&sg->mu);
	s->gen++;
	gen = s->gen;
	nidle = s->nidle;
	for (i = 0; i < nidle; i++)
		idle[i] = s->idle[i];
	s->nidle = 0;
	have = s->has_keeper && strcmp(s->serial, serial) == 0;
	k = s->keeper;
	pthread_mutex_unlock(&sg->mu);
	if (have && sg->f->C_GetSessionInfo(k, &si) == CKR_OK &&
	    si.slotID == s->id) {
		keep = 1;
		goto out;
	}
	/*
	 * The keeper is gone too.  Before the idle sessions are closed (one
	 * of them may hold the login now), see whether a new session on
	 * this card is logged in; it becomes the keeper.  The old keeper's
	 * handle is forgotten, not closed: its number may be reused.
	 */
	if (!have || sess_open(sg, s, serial, &h, &g) != 0)
		goto out;
	if (sg->f->C_GetSessionInfo(h, &si) == CKR_OK && user_state(&si)) {
		pthread_mutex_lock(&sg->mu);
		if (g == gen && g == s->gen && s->has_keeper &&
		    s->keeper == k) {
			s->keeper = h;
			keep = 1;
		}
		pthread_mutex_unlock(&sg->mu);
	}
	if (!keep)
		(void)sg->f->C_CloseSession(h);
 out:
	close_all(sg, idle, nidle);
	if (!keep)
		tk_sslot_reset(sg, s);
}

int
tk_sslot_check(struct tk_signer *sg, struct tk_sslot *s, const char *serial)
{
	CK_SESSION_HANDLE	hs[TK_SIGN_SESSIONS + 1];
	CK_SLOT_INFO		si;
	CK_TOKEN_INFO		ti;
	size_t			n = 0;
	CK_RV			rv;
	int			r;

	/* C_GetTokenInfo may answer from a stale cache after removal */
	rv = sg->f->C_GetSlotInfo(s->id, &si);
	if (rv != CKR_OK || !(si.flags & CKF_TOKEN_PRESENT) ||
	    (rv = sg->f->C_GetTokenInfo(s->id, &ti)) != CKR_OK) {
		tk_sslot_reset(sg, s);
		r = rv == CKR_OK ? TK_ERR_NO_TOKEN : tk_p11_rv(rv);
		if (r == TK_ERR_SESSION)
			r = TK_ERR_NO_TOKEN;
		goto out;
	}
	pthread_mutex_lock(&sg->mu);
	n = slot_adopt_locked(s, &ti, hs);
	r = strcmp(s->serial, serial) == 0 ? 0 : TK_ERR_NO_TOKEN;
	pthread_mutex_unlock(&sg->mu);
	close_all(sg, hs, n);
 out:
	return r;
}

int
tk_sslot_logged_in(struct tk_signer *sg, struct tk_sslot *s)
{
	CK_SESSION_HANDLE	k;
	CK_SESSION_INFO		si;
	int			have;

	pthread_mutex_lock(&sg->mu);
	have = s->has_keeper && !s->stale_login;
	k = s->keeper;
	pthread_mutex_unlock(&sg->mu);
	if (!have || sg->f->C_GetSessionInfo(k, &si) != CKR_OK)
		return 0;
	return user_state(&si);
}

static uint32_t
pinlen_bound(CK_ULONG v)
{
	if (v == CK_UNAVAILABLE_INFORMATION || v > 4096)
		return 0;
	return (uint32_t)v;
}

/* With sg->mu held. */
static void
state_from_locked(const struct tk_sslot *s, struct tk_tokstate *st)
{
	CK_FLAGS	f = s->tflags;

	memset(st, 0, sizeof(*st));
	memcpy(st->label, s->label, sizeof(st->label));
	memcpy(st->serial, s->serial, sizeof(st->serial));
	st->flags = tk_p11_token_flags(f);
	st->min_pin = pinlen_bound(s->min_pin);
	st->max_pin = pinlen_bound(s->max_pin);
	if (st->max_pin != 0 && st->min_pin > st->max_pin)
		st->min_pin = st->max_pin = 0;
}

void
tk_sslot_cached_state(struct tk_signer *sg, struct tk_sslot *s,
    struct tk_tokstate *st)
{
	pthread_mutex_lock(&sg->mu);
	state_from_locked(s, st);
	pthread_mutex_unlock(&sg->mu);
}

int
tk_sslot_state(struct tk_signer *sg, struct tk_sslot *s, const char *serial,
    struct tk_tokstate *st)
{
	int	r;

	memset(st, 0, sizeof(*st));
	if ((r = tk_sslot_check(sg, s, serial)) != 0)
		goto out;
	tk_sslot_cached_state(sg, s, st);
	if (tk_sslot_logged_in(sg, s))
		st->flags |= TK_TOKSTATE_LOGGED_IN;
 out:
	if (r == TK_ERR_NO_TOKEN)
		snprintf(st->serial, sizeof(st->serial), "%s", serial);
	return r;
}
