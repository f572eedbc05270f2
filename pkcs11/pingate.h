/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The token's login state and the one PIN policy on it.  Every login path
 * (the agent's prompt, pin-source and ssh-add -s paths, list --login)
 * asks tk_pin_gate() before it asks for, reads or sends a PIN, and does
 * what it says; none decides on the token's flags itself.
 */
#ifndef TK_PINGATE_H
#define TK_PINGATE_H

#include <p11-kit/pkcs11.h>

/*
 * TK_TOKEN_* (tokenkeys.h) for a present token with these CK_TOKEN_INFO
 * flags: TK_TOKEN_PRESENT and whatever the flags say.
 */
unsigned int	tk_p11_token_flags(CK_FLAGS);

/* Where the PIN of a login comes from. */
enum tk_pin_from {
	TK_PIN_FROM_PROMPT,	/* a person types it at our prompt now */
	TK_PIN_FROM_FILE,	/* a pin-source file: nobody typed it */
	TK_PIN_FROM_SSH_ADD	/* typed by a person at ssh-add -s */
};

/* What to do. */
enum tk_pin_gate {
	/* The user PIN is locked: no prompt, no read, no C_Login. */
	TK_PIN_REFUSE_LOCKED,
	/* The reader has a PIN pad: C_Login without a PIN, nothing asked. */
	TK_PIN_USE_PAD,
	/*
	 * One try left and a person is there: tell them a wrong PIN locks
	 * the token and let them refuse before the PIN is asked (the agent
	 * asks a confirmation; the command line says so in its PIN prompt,
	 * where cancelling refuses).
	 */
	TK_PIN_CONFIRM_FINAL,
	/* One try left and nobody typed the PIN: not tried, no C_Login. */
	TK_PIN_REFUSE_FINAL,
	/* Ask for the PIN (or use the one given). */
	TK_PIN_USE,
	/* The same, saying that few tries are left. */
	TK_PIN_USE_LOW
};

/*
 * The decision for a login on a token with flags (TK_TOKEN_*) and a PIN
 * from from.  Pure: no I/O, no state.  In order: a locked PIN refuses; a
 * PIN pad is used for a prompt or a file (whoever logs in stands at the
 * reader), while a PIN given to ssh-add -s is sent as given; on the final
 * try a prompt confirms, a file refuses, and an ssh-add -s PIN (a person
 * typed it for this token) is used; a low count warns.
 */
enum tk_pin_gate	tk_pin_gate(unsigned int flags, enum tk_pin_from from);

#endif /* TK_PINGATE_H */
