/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PIN policy (pingate.h): a PIN nobody typed is never tried on the
 * last try, a locked PIN is never tried at all, and a PIN pad takes the
 * PIN itself.  Kept in one pure function so that the agent and the
 * command line cannot drift apart, and so that a table can test it.
 */
#include "tokenkeys.h"
#include "pkcs11/pingate.h"

unsigned int
tk_p11_token_flags(CK_FLAGS f)
{
	unsigned int	r = TK_TOKEN_PRESENT;

	if (f & CKF_LOGIN_REQUIRED)
		r |= TK_TOKEN_LOGIN_REQUIRED;
	if (f & CKF_PROTECTED_AUTHENTICATION_PATH)
		r |= TK_TOKEN_PROTECTED_AUTH;
	if (f & CKF_USER_PIN_COUNT_LOW)
		r |= TK_TOKEN_PIN_COUNT_LOW;
	if (f & CKF_USER_PIN_FINAL_TRY)
		r |= TK_TOKEN_PIN_FINAL_TRY;
	if (f & CKF_USER_PIN_LOCKED)
		r |= TK_TOKEN_PIN_LOCKED;
	if (!(f & CKF_TOKEN_INITIALIZED))
		r |= TK_TOKEN_NOT_INITIALIZED;
	return r;
}

enum tk_pin_gate
tk_pin_gate(unsigned int flags, enum tk_pin_from from)
{
	enum tk_pin_gate	g;

	if (flags & TK_TOKEN_PIN_LOCKED)
		g = TK_PIN_REFUSE_LOCKED;
	else if ((flags & TK_TOKEN_PROTECTED_AUTH) &&
	    from != TK_PIN_FROM_SSH_ADD)
		g = TK_PIN_USE_PAD;
	else if ((flags & TK_TOKEN_PIN_FINAL_TRY) && from == TK_PIN_FROM_FILE)
		g = TK_PIN_REFUSE_FINAL;
	else if ((flags & TK_TOKEN_PIN_FINAL_TRY) &&
	    from == TK_PIN_FROM_PROMPT)
		g = TK_PIN_CONFIRM_FINAL;
	else if (flags & (TK_TOKEN_PIN_FINAL_TRY | TK_TOKEN_PIN_COUNT_LOW))
		g = TK_PIN_USE_LOW;
	else
		g = TK_PIN_USE;
	return g;
}
