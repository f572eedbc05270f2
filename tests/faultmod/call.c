/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: the entry and exit of every wrapped call.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultmod.h"

/*
 * Entry of every wrapped call: count it, pick up the control file, act out
 * crash/hang/delay, check the session handle, then injected errors and
 * absence.  On CKR_OK the wrapper goes on with *hs made real; otherwise it
 * returns the error (c->injected says whether it was injected).  Always
 * pair with call_leave().
 */
CK_RV
call_enter(struct call *c, int fn, enum kind kind, CK_SESSION_HANDLE *hs)
{
	CK_RV rv = CKR_OK;
	int injected;

	memset(c, 0, sizeof(*c));
	state_txn(c, fn, PIN_NONE);
	/* Set again below only if the injected error is what we return. */
	injected = c->injected;
	c->injected = 0;
	reinsert_check(c);
	if (c->ctl->crash[fn])
		abort();
	while (c->ctl->hang[fn])
		sleep(60);
	if (c->ctl->delay_ms[fn] > 0)
		sleep_ms(c->ctl->delay_ms[fn]);
	if (hs != NULL &&
	    (rv = untag(c, hs, CKR_SESSION_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if (injected) {
		c->injected = 1;
		rv = c->inject_rv;
		goto out;
	}
	if (c->ctl->absent && kind == K_SESSION)
		rv = CKR_DEVICE_REMOVED;
	else if (c->ctl->absent && kind == K_SLOT)
		rv = CKR_TOKEN_NOT_PRESENT;
 out:
	return rv;
}

void
call_leave(struct call *c)
{
	ctl_put(c->ctl);
	c->ctl = NULL;
}
