/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Changing and unblocking a token's PINs (tokenkeys passwd, unblock).
 * The caller asks tk_pin_gate() first, with the flags tk_pin_state()
 * gives; these functions make exactly one attempt with the PIN given and
 * never retry.  Every failure is said through the context's log.
 */
#ifndef TK_PINSET_H
#define TK_PINSET_H

#include <stddef.h>

#include "pkcs11/p11.h"

/*
 * The state of the user PIN (so 0) or the SO PIN (so 1) as TK_TOKEN_*
 * flags (the SO PIN's count-low, final-try and locked flags put where
 * the user PIN's are, for tk_pin_gate), and the token's PIN length range.
 */
unsigned int	tk_pin_state(const struct tk_p11_token *, int so,
		    size_t *min, size_t *max);

/*
 * C_SetPIN: the user PIN (so 0, on a read-write session that is not
 * logged in) or the SO PIN (so 1, after C_Login as SO with old).  old
 * NULL: the reader's PIN pad asks for both (C_SetPIN with no PINs).
 */
int	tk_pin_change(struct tk_ctx *, const struct tk_p11_token *, int so,
	    const char *old, size_t oldlen, const char *new, size_t newlen);

/*
 * C_Login as SO with sopin (NULL: the PIN pad), then C_InitPIN with the
 * new user PIN, then C_Logout.
 */
int	tk_pin_unblock(struct tk_ctx *, const struct tk_p11_token *,
	    const char *sopin, size_t solen, const char *new, size_t newlen);

#endif /* TK_PINSET_H */
