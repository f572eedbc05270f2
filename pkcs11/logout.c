/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Logging the process out of a token (the agent's PIN policy: idle
 * timeout, maximum age, lock, suspend).  C_Logout on the session that
 * holds the login, then every session of the slot closed and its
 * generation bumped, so cached key handles are looked up again and the
 * next signature finds no login.  Helper-only, like sign.c.
 */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/signer.h"

/*
 * One slot, under its login lock so that no login runs meanwhile.  serial
 * NULL: whatever card is there; else only that card.  *was: it was
 * logged in.
 */
static void
slot_logout(struct tk_signer *sg, struct tk_sslot *s, const char *serial,
    int *was)
{
	CK_SESSION_HANDLE	k;
	int			have;

	*was = 0;
	pthread_mutex_lock(&s->login_mu);
	pthread_mutex_lock(&sg->mu);
	have = s->has_keeper &&
	    (serial == NULL || strcmp(s->serial, serial) == 0);
	k = s->keeper;
	pthread_mutex_unlock(&sg->mu);
	if (!have)
		goto out;
	if (tk_sslot_logged_in(sg, s)) {
		*was = 1;
		/* closing every session would do it too: say it plainly */
		(void)sg->f->C_Logout(k);
	}
	tk_sslot_reset(sg, s);
 out:
	pthread_mutex_unlock(&s->login_mu);
}

int
tk_signer_logout(struct tk_signer *sg, struct tk_skey *k, unsigned int *n)
{
	struct tk_sslot	**slots = NULL, *s;
	CK_SLOT_ID	  slot;
	char		  serial[sizeof(k->serial)];
	size_t		  ns = 0, i;
	int		  was, r = 0;

	*n = 0;
	if (k != NULL) {
		pthread_mutex_lock(&sg->mu);
		slot = k->slot;
		memcpy(serial, k->serial, sizeof(serial));
		pthread_mutex_unlock(&sg->mu);
		if ((s = tk_sslot_get(sg, slot)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		slot_logout(sg, s, serial, &was);
		*n += was;
		goto out;
	}
	/* slots are never freed before the signer: a copy of the table */
	pthread_mutex_lock(&sg->mu);
	if (sg->nslots > 0 &&
	    (slots = calloc(sg->nslots, sizeof(*slots))) != NULL) {
		memcpy(slots, sg->slots, sg->nslots * sizeof(*slots));
		ns = sg->nslots;
	} else if (sg->nslots > 0)
		r = TK_ERR_NOMEM;
	pthread_mutex_unlock(&sg->mu);
	for (i = 0; i < ns; i++) {
		slot_logout(sg, slots[i], NULL, &was);
		*n += was;
	}
 out:
	free(slots);
	return r;
}
