/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: handle epochs and the re-insert edge (see "Handles" in
 * faultmod.h).
 */

#include <stdlib.h>

#include "faultmod.h"

/* Guarded by g_mtx. */
unsigned long	 g_seen_gen;
static unsigned long	 g_epoch;

CK_ULONG
tag(const struct call *c, CK_ULONG h)
{
#ifdef TAG_SHIFT
	if (h != CK_INVALID_HANDLE)
		h |= (CK_ULONG)c->epoch << TAG_SHIFT;
#else
	(void)c;
#endif
	return h;
}

/* Strips the epoch from *h; bad_rv if it belongs to another epoch. */
CK_RV
untag(const struct call *c, CK_ULONG *h, CK_RV bad_rv)
{
	CK_RV rv = CKR_OK;

#ifdef TAG_SHIFT
	if (*h == CK_INVALID_HANDLE)
		goto out;
	if ((*h >> TAG_SHIFT) != c->epoch) {
		rv = bad_rv;
		goto out;
	}
	*h &= HANDLE_MASK;
 out:
#else
	(void)c;
	(void)h;
	(void)bad_rv;
#endif
	return rv;
}

/* Closes every real session on every slot: what a card removal does. */
static void
close_all_real(void)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;

	if (g_real->C_GetSlotList(CK_FALSE, NULL, &n) != CKR_OK || n == 0 ||
	    (slots = calloc(n, sizeof(*slots))) == NULL ||
	    g_real->C_GetSlotList(CK_FALSE, slots, &n) != CKR_OK)
		goto out;
	for (i = 0; i < n; i++)
		g_real->C_CloseAllSessions(slots[i]);
 out:
	free(slots);
}

/*
 * A re-insert happened somewhere (the shared generation moved on): drop
 * this process's real sessions, which also drops its login, and start a
 * new handle epoch.  A generation that went down means the state file was
 * deleted; that resets counters, it does not pull the card.
 */
void
reinsert_check(struct call *c)
{
	pthread_mutex_lock(&g_mtx);
	if (c->have_gen && c->gen != g_seen_gen) {
		if (g_init && c->gen > g_seen_gen) {
			close_all_real();
			g_epoch++;
#ifdef TAG_MASK
			g_epoch &= TAG_MASK;
#endif
			sess_clear_locked();
		}
		g_seen_gen = c->gen;
	}
	c->epoch = g_epoch;
	pthread_mutex_unlock(&g_mtx);
}
