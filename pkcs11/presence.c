/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Which tokens a module holds, cheaply: the slots with a token present
 * and each token's identifying strings, folded into one digest.  No
 * session is opened and no object is touched, so this costs the same on
 * a token with a thousand keys as on an empty one, and a caller can ask
 * every second to notice a card pulled or put back (or a token that got
 * initialised) and only then walk the objects again.  Where the module
 * has slot events (OpenSC with pcscd), tk_p11_slot_event sleeps until one
 * comes instead.
 */
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"
#include "pkcs11/slots.h"

/* FNV-1a on, so the digest is independent of how the bytes are cut. */
static uint64_t
fold(uint64_t h, const void *p, size_t n)
{
	const uint8_t	*b = p;

	while (n-- > 0)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static uint64_t
fold_token(uint64_t h, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti)
{
	uint64_t	id = (uint64_t)slot;
	uint8_t		init = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;

	h = fold(h, &id, sizeof(id));
	h = fold(h, ti->label, sizeof(ti->label));
	h = fold(h, ti->manufacturerID, sizeof(ti->manufacturerID));
	h = fold(h, ti->model, sizeof(ti->model));
	h = fold(h, ti->serialNumber, sizeof(ti->serialNumber));
	return fold(h, &init, 1);
}

int
tk_p11_presence(struct tk_module *m, uint64_t *digest)
{
	CK_SLOT_ID	*slots = NULL;
	CK_SLOT_INFO	 si;
	CK_TOKEN_INFO	 ti;
	CK_ULONG	 n = 0, i;
	CK_RV		 rv;
	uint64_t	 h = 0xcbf29ce484222325ULL;
	int		 r = 0;

	*digest = 0;
	if (!m->ready) {
		r = TK_ERR_MODULE;
		goto out;
	}
	rv = tk_p11_slot_list(m->f, 1, &slots, &n);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		if (r == 0)
			r = TK_ERR_TOKEN;
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* as the walk does: a stale token info does not count */
		if (m->f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
		    !(si.flags & CKF_TOKEN_PRESENT))
			continue;
		rv = m->f->C_GetTokenInfo(slots[i], &ti);
		if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED)
			continue;
		if (rv != CKR_OK) {
			/* present but unreadable: that is a state too */
			memset(&ti, 0, sizeof(ti));
			ti.label[0] = (CK_UTF8CHAR)'?';
		}
		h = fold_token(h, slots[i], &ti);
	}
	*digest = h;
 out:
	free(slots);
	return r;
}

int
tk_p11_slot_event(struct tk_module *m, int block)
{
	CK_SLOT_ID	slot;
	CK_RV		rv;
	int		r;

	if (!m->ready)
		return TK_ERR_MODULE;
	if (m->f->C_WaitForSlotEvent == NULL)
		return TK_ERR_UNSUPPORTED;
	rv = m->f->C_WaitForSlotEvent(block ? 0 : CKF_DONT_BLOCK, &slot, NULL);
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_NO_EVENT:
		return TK_ERR_NOT_FOUND;
	case CKR_FUNCTION_NOT_SUPPORTED:
		return TK_ERR_UNSUPPORTED;
	default:
		if ((r = tk_p11_rv(rv)) == 0 || r == TK_ERR_UNSUPPORTED ||
		    r == TK_ERR_NOT_FOUND)
			r = TK_ERR_TOKEN;
		return r;
	}
}
