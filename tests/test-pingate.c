/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PIN gate (pkcs11/pingate.h): every combination of the four flags
 * that decide a login and the three places a PIN comes from, written out
 * by hand, so that a change of policy shows here as a changed row.  The
 * flags that do not decide anything (present, login required, not
 * initialised) are added to every row and must change nothing.
 */
#include <stddef.h>

#include "tokenkeys.h"
#include "pkcs11/pingate.h"
#include "tap.h"

#define L	TK_TOKEN_PIN_LOCKED
#define P	TK_TOKEN_PROTECTED_AUTH
#define F	TK_TOKEN_PIN_FINAL_TRY
#define C	TK_TOKEN_PIN_COUNT_LOW

#define LOCKED	TK_PIN_REFUSE_LOCKED
#define PAD	TK_PIN_USE_PAD
#define CONFIRM	TK_PIN_CONFIRM_FINAL
#define NOFINAL	TK_PIN_REFUSE_FINAL
#define USE	TK_PIN_USE
#define LOW	TK_PIN_USE_LOW

static const struct row {
	unsigned int	flags;
	int		prompt, file, ssh_add;
} rows[] = {
	/* flags		prompt	 file	  ssh-add -s */
	{ 0,			USE,	 USE,	  USE },
	{ C,			LOW,	 LOW,	  LOW },
	{ F,			CONFIRM, NOFINAL, LOW },
	{ F | C,		CONFIRM, NOFINAL, LOW },
	{ P,			PAD,	 PAD,	  USE },
	{ P | C,		PAD,	 PAD,	  LOW },
	{ P | F,		PAD,	 PAD,	  LOW },
	{ P | F | C,		PAD,	 PAD,	  LOW },
	{ L,			LOCKED,	 LOCKED,  LOCKED },
	{ L | C,		LOCKED,	 LOCKED,  LOCKED },
	{ L | F,		LOCKED,	 LOCKED,  LOCKED },
	{ L | F | C,		LOCKED,	 LOCKED,  LOCKED },
	{ L | P,		LOCKED,	 LOCKED,  LOCKED },
	{ L | P | C,		LOCKED,	 LOCKED,  LOCKED },
	{ L | P | F,		LOCKED,	 LOCKED,  LOCKED },
	{ L | P | F | C,	LOCKED,	 LOCKED,  LOCKED },
};

static const unsigned int extra[] = {
	0, TK_TOKEN_PRESENT,
	TK_TOKEN_PRESENT | TK_TOKEN_LOGIN_REQUIRED,
	TK_TOKEN_PRESENT | TK_TOKEN_LOGIN_REQUIRED | TK_TOKEN_NOT_INITIALIZED,
};

int
main(void)
{
	const struct row	*w;
	size_t			 i, j, seen = 0;
	unsigned int		 fl;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		w = &rows[i];
		seen |= 1u << ((w->flags & L ? 8 : 0) | (w->flags & P ? 4 : 0) |
		    (w->flags & F ? 2 : 0) | (w->flags & C ? 1 : 0)) % 16;
		for (j = 0; j < sizeof(extra) / sizeof(extra[0]); j++) {
			fl = w->flags | extra[j];
			is_int(tk_pin_gate(fl, TK_PIN_FROM_PROMPT), w->prompt,
			    "flags %#x, typed at a prompt", fl);
			is_int(tk_pin_gate(fl, TK_PIN_FROM_FILE), w->file,
			    "flags %#x, from a pin-source file", fl);
			is_int(tk_pin_gate(fl, TK_PIN_FROM_SSH_ADD),
			    w->ssh_add, "flags %#x, given to ssh-add -s", fl);
		}
	}
	ok(seen == 0xffff, "the table has all 16 combinations");

	/* The CKF_* mapping every caller of the gate uses. */
	is_int(tk_p11_token_flags(CKF_TOKEN_INITIALIZED), TK_TOKEN_PRESENT,
	    "an initialised token with no flags is present");
	is_int(tk_p11_token_flags(0), TK_TOKEN_PRESENT |
	    TK_TOKEN_NOT_INITIALIZED, "an uninitialised token says so");
	is_int(tk_p11_token_flags(CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED |
	    CKF_PROTECTED_AUTHENTICATION_PATH | CKF_USER_PIN_COUNT_LOW |
	    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED), TK_TOKEN_PRESENT |
	    TK_TOKEN_LOGIN_REQUIRED | TK_TOKEN_PROTECTED_AUTH |
	    TK_TOKEN_PIN_COUNT_LOW | TK_TOKEN_PIN_FINAL_TRY |
	    TK_TOKEN_PIN_LOCKED, "every PIN flag maps");
	is_int(tk_p11_token_flags(CKF_TOKEN_INITIALIZED | CKF_RNG |
	    CKF_SO_PIN_LOCKED | CKF_USER_PIN_TO_BE_CHANGED), TK_TOKEN_PRESENT,
	    "flags that decide nothing here are dropped");
	return tap_done();
}
