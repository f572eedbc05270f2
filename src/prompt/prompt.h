/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Asking the user for a PIN or a yes/no confirmation.
 *
 * Methods, tried in this order:
 *  1. pinentry, spoken to in Assuan on its stdin/stdout: the program named
 *     by $TK_PINENTRY, else "pinentry" in $PATH; only when a display or a
 *     tty is known (display or ttyname set) and TK_PROMPT_NO_PINENTRY is
 *     not given.
 *  2. $SSH_ASKPASS (default "ssh-askpass" in $PATH), prompt as argv[1],
 *     answer on its stdout; a confirmation runs it with
 *     SSH_ASKPASS_PROMPT=confirm and reads its exit status.
 *     $SSH_ASKPASS_REQUIRE: "never" disables it; "force" uses it for every
 *     prompt, skipping pinentry and the terminal, with or without display;
 *     "prefer" uses it before the terminal when display is set; unset or
 *     anything else uses it when display is set and the terminal may not be
 *     used, as ssh-add does.
 *  3. /dev/tty with echo off, only with TK_PROMPT_TTY_OK.
 * A method that cannot start (no program, cannot exec, no /dev/tty) falls
 * through to the next; once one has talked to the user, its answer stands.
 *
 * Contracts on the calling process:
 *  - SIGCHLD is neither ignored nor reaped by a handler calling
 *    waitpid(-1, ...): the exit status of our children is read here.
 *  - SIGPIPE needs no care: writes to pinentry use MSG_NOSIGNAL.
 *  - The terminal method installs signal handlers for the duration of the
 *    read (to restore echo): call it from one thread only.
 *  - Children inherit the environment, so DISPLAY / WAYLAND_DISPLAY and
 *    TERM reach pinentry and askpass from there.  The display field only
 *    says that a graphical session is there to be used.
 */
#ifndef TK_PROMPT_H
#define TK_PROMPT_H

#include <stddef.h>

/* The PIN buffers callers pass in are secret memory. */
#include "common/secret.h"

#define TK_PIN_MAX		256		/* including the NUL */
#define TK_PROMPT_TIMEOUT_MS	(5 * 60 * 1000)	/* default */

/* struct tk_prompt flags */
#define TK_PROMPT_TTY_OK	0x01	/* /dev/tty may be used (foreground) */
#define TK_PROMPT_NO_PINENTRY	0x02	/* never run pinentry */

struct tk_prompt {
	const char	*title;		/* window title, e.g. "tokenkeys" */
	const char	*desc;		/* what and why; sanitised by caller */
	const char	*prompt;	/* "PIN:" */
	const char	*error;		/* e.g. "Wrong PIN: 2 tries left" */
	const char	*ttyname;	/* terminal for pinentry, or NULL */
	const char	*display;	/* non-NULL: a display is available */
	int		 flags;		/* TK_PROMPT_* */
	size_t		 min_len;	/* from the token; 0 = no bound */
	size_t		 max_len;
	unsigned int	 timeout_ms;	/* 0 = TK_PROMPT_TIMEOUT_MS */
};

/*
 * Ask for a PIN into pin (pinsz bytes, the caller's locked buffer; at
 * least 2).  On success returns 0, pin is NUL-terminated and *len is its
 * length.  On any error nothing is left in pin.
 * TK_ERR_CANCELLED: the user cancelled or gave an empty answer.
 * TK_ERR_NO_PROMPT: no method is available.
 * TK_ERR_PIN_INVALID: length outside min_len..max_len (the caller says so
 *   and asks again, e.g. with error set).
 * TK_ERR_RANGE: the answer does not fit pinsz.
 * TK_ERR_TIMEOUT: no answer within the timeout (the program is killed).
 * TK_ERR_FORMAT, TK_ERR_CONNECTION: pinentry broke the protocol or died.
 */
int	tk_prompt_pin(const struct tk_prompt *, char *pin, size_t pinsz,
	    size_t *len);

/*
 * Ask a yes/no question (desc, with error above it if set).
 * 0 = yes, TK_ERR_CANCELLED = no, other errors as above.
 */
int	tk_prompt_confirm(const struct tk_prompt *);

#endif /* TK_PROMPT_H */
