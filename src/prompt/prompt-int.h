/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the prompt: the methods prompt.c chooses among.  Private to
 * the files of src/prompt/; tk_prompt_text and tk_askpass_require live in
 * prompt-util.c, below the dispatcher and the methods.
 *
 * Each method asks once, before deadline.  For a confirmation confirm is
 * set and pin is NULL; otherwise the answer goes to pin (pinsz bytes,
 * NUL-terminated, length in *pinlen).  TK_ERR_NO_PROMPT means the method
 * could not start (no program, no terminal) and never reached the user:
 * the next method may be tried.  Other errors as for tk_prompt_pin().  The
 * caller wipes pin on any error.
 */
#ifndef TK_PROMPT_INT_H
#define TK_PROMPT_INT_H

#include <stddef.h>
#include <time.h>

#include "prompt/prompt.h"

/* $SSH_ASKPASS_REQUIRE, as prompt.h describes it. */
enum tk_askpass_require { AR_DEFAULT, AR_NEVER, AR_PREFER, AR_FORCE };

enum tk_askpass_require	tk_askpass_require(void);

int	tk_prompt_pinentry(const struct tk_prompt *,
	    const struct timespec *deadline, int confirm, char *pin,
	    size_t pinsz, size_t *pinlen);
int	tk_prompt_askpass(const struct tk_prompt *,
	    const struct timespec *deadline, int confirm, char *pin,
	    size_t pinsz, size_t *pinlen);
int	tk_prompt_tty(const struct tk_prompt *,
	    const struct timespec *deadline, int confirm, char *pin,
	    size_t pinsz, size_t *pinlen);

/*
 * The text for askpass and the terminal: error, desc and prompt, one per
 * line, whichever are set ("PIN:" when no prompt is given for a PIN).
 * Allocated; NULL when out of memory.
 */
char	*tk_prompt_text(const struct tk_prompt *, int confirm);

#endif /* TK_PROMPT_INT_H */
