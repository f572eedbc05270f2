/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Every text a person is shown about a login, built in one place: the
 * PIN prompt, its error line, the confirmations, the PIN pad message.
 *
 * Strings that come from a token (label, serial, object label, a key's
 * comment) are passed raw: each goes through tk_str_sanitize() here, so
 * no caller can forget it and no escape sequence reaches askpass's argv,
 * pinentry, a terminal or a log.  Our own strings (fingerprints) are
 * passed as they are.  Each function writes a NUL-terminated text of at
 * most bufsz bytes into buf, cut if it does not fit; a NULL string is
 * taken as empty.
 */
#ifndef TK_PROMPT_TEXT_H
#define TK_PROMPT_TEXT_H

#include <stddef.h>

#include "pkcs11/pingate.h"

/*
 * The agent's PIN prompt: token label and serial (both raw), the key's
 * fingerprint and comment; context: the key asks a PIN for every use.
 */
void	tk_ptext_pin(char *buf, size_t bufsz, const char *label,
	    const char *serial, const char *fp, const char *comment,
	    int context);

/*
 * The error line above the agent's PIN prompt: that the last PIN was
 * wrong (wrong_before), and what the gate said about the tries left.
 * Empty when there is nothing to say.
 */
void	tk_ptext_pin_error(char *buf, size_t bufsz, int wrong_before,
	    enum tk_pin_gate);

/* The PIN typed was refused here for its length (no try spent). */
void	tk_ptext_pin_length(char *buf, size_t bufsz, unsigned int min,
	    unsigned int max);

/* The confirmation before the final PIN try (TK_PIN_CONFIRM_FINAL). */
void	tk_ptext_final_confirm(char *buf, size_t bufsz, const char *label,
	    const char *fp);

/* The confirm constraint: may this key on this token be used? */
void	tk_ptext_use_confirm(char *buf, size_t bufsz, const char *comment,
	    const char *label, const char *fp);
/*
 * The same for a destination-constrained key (ssh-add -h), which signs
 * only logins: as user (from the request) on host (the constraint's host
 * name; NULL: not known).
 */
void	tk_ptext_use_confirm_dest(char *buf, size_t bufsz,
	    const char *comment, const char *label, const char *fp,
	    const char *user, const char *host);

/*
 * tokenkeys delete: destroy these n key pairs (keys: one line each, type,
 * fingerprint and URI, sanitised by the caller)?
 */
void	tk_ptext_delete_confirm(char *buf, size_t bufsz, size_t n,
	    const char *keys);

/* A PIN pad takes the PIN (TK_PIN_USE_PAD). */
void	tk_ptext_pinpad(char *buf, size_t bufsz, const char *label,
	    const char *fp);

/*
 * A PIN pad takes the PINs of a PIN change or an unblock: what names
 * them ("the old and the new PIN", "the SO PIN and the new PIN").
 */
void	tk_ptext_pinpad_set(char *buf, size_t bufsz, const char *label,
	    const char *what);

/*
 * The command line's prompt for a PIN of passwd or unblock: what ("Current
 * PIN", "New PIN", "SO PIN", ...) and the token (raw name).
 */
void	tk_ptext_cli_pin_what(char *buf, size_t bufsz, const char *what,
	    const char *name);

/* The command line's PIN prompt, naming the token (raw name). */
void	tk_ptext_cli_pin(char *buf, size_t bufsz, const char *name);

/*
 * The command line's error line for tries_left (-1 unknown, 1 the last
 * try); empty when there is nothing to say.
 */
void	tk_ptext_cli_tries(char *buf, size_t bufsz, int tries_left);

/*
 * Who asks for a signature, as every prompt and log line shows it: a
 * process chain, the requesting process first (procs: each a raw command
 * line, arguments separated by spaces), joined by " \u2190 "; each
 * process and the whole cut to a sane length.
 */
void	tk_ptext_requester(char *buf, size_t bufsz, const char *const *procs,
	    size_t n);

/*
 * A forwarded connection: the host it came through, by name (raw, may be
 * NULL: not known) and host key fingerprint (ours).
 */
void	tk_ptext_requester_host(char *buf, size_t bufsz, const char *host,
	    const char *fp);

/*
 * Append the requester (a text from the two above) to a prompt text in
 * buf, as a line of its own; nothing when who is empty.
 */
void	tk_ptext_add_requester(char *buf, size_t bufsz, const char *who);

/*
 * The desktop notice while a token waits to sign: a summary and a body
 * naming the token (raw label) and the requester (shown form).
 */
void	tk_ptext_notice(char *summary, size_t summarysz, char *body,
	    size_t bodysz, const char *label, const char *who);

#endif /* TK_PROMPT_TEXT_H */
