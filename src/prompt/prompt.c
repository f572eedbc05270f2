/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PIN and confirmation prompts: which method to try, in what order, and
 * the checks on the answer (see prompt.h).  The methods themselves live
 * in prompt-pinentry.c, prompt-askpass.c and prompt-tty.c.
 *
 * Every byte of a PIN passes through the caller's buffer or a buffer of a
 * method that is wiped before it returns; none goes to the heap, argv,
 * the environment or a log.  Whatever a method that failed left in the
 * caller's buffer is wiped here before the next method runs.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero */
#endif

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "prompt/prompt-int.h"

enum method { M_PINENTRY, M_ASKPASS, M_TTY };

static size_t
plan(const struct tk_prompt *p, enum method m[3])
{
	enum tk_askpass_require req = tk_askpass_require();
	int tty_ok = (p->flags & TK_PROMPT_TTY_OK) != 0;
	int gui = p->display != NULL && *p->display != '\0';
	int tty_known = p->ttyname != NULL && *p->ttyname != '\0';
	size_t n = 0;

	if (req == AR_FORCE) {
		m[n++] = M_ASKPASS;
		goto out;
	}
	if ((p->flags & TK_PROMPT_NO_PINENTRY) == 0 && (gui || tty_known))
		m[n++] = M_PINENTRY;
	if (req == AR_PREFER && gui)
		m[n++] = M_ASKPASS;
	if (tty_ok)
		m[n++] = M_TTY;
	/* As ssh-add: askpass when there is no terminal to use. */
	if (req == AR_DEFAULT && gui)
		m[n++] = M_ASKPASS;
 out:
	return n;
}

static int
prompt_run(const struct tk_prompt *p, int confirm, char *pin, size_t pinsz,
    size_t *pinlen)
{
	struct timespec deadline;
	enum method m[3];
	size_t i, n;
	int r = TK_ERR_NO_PROMPT;

	tk_deadline_set(&deadline, p->timeout_ms != 0 ? p->timeout_ms :
	    TK_PROMPT_TIMEOUT_MS);
	n = plan(p, m);
	for (i = 0; i < n && r == TK_ERR_NO_PROMPT; i++) {
		switch (m[i]) {
		case M_PINENTRY:
			r = tk_prompt_pinentry(p, &deadline, confirm, pin,
			    pinsz, pinlen);
			break;
		case M_ASKPASS:
			r = tk_prompt_askpass(p, &deadline, confirm, pin,
			    pinsz, pinlen);
			break;
		case M_TTY:
			r = tk_prompt_tty(p, &deadline, confirm, pin, pinsz,
			    pinlen);
			break;
		}
		/* Nothing a failed method read may reach the next one. */
		if (r != 0 && pin != NULL)
			explicit_bzero(pin, pinsz);
	}
	return r;
}

int
tk_prompt_pin(const struct tk_prompt *p, char *pin, size_t pinsz,
    size_t *len)
{
	int r;

	if (len != NULL)
		*len = 0;
	if (p == NULL || pin == NULL || len == NULL || pinsz < 2) {
		r = TK_ERR_INVAL;
		goto out;
	}
	explicit_bzero(pin, pinsz);
	if ((r = prompt_run(p, 0, pin, pinsz, len)) != 0)
		goto out;
	if (*len == 0) {
		r = TK_ERR_CANCELLED;
		goto out;
	}
	if ((p->min_len > 0 && *len < p->min_len) ||
	    (p->max_len > 0 && *len > p->max_len)) {
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		if (pin != NULL && pinsz > 0)
			explicit_bzero(pin, pinsz);
		if (len != NULL)
			*len = 0;
	}
	return r;
}

int
tk_prompt_confirm(const struct tk_prompt *p)
{
	int r;

	if (p == NULL)
		r = TK_ERR_INVAL;
	else
		r = prompt_run(p, 1, NULL, 0, NULL);
	return r;
}
