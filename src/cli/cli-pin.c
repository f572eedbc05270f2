/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PIN callback of the command-line tools: pinentry, askpass or the
 * terminal, whichever src/prompt.c finds, with the terminal allowed
 * because the user is running us in the foreground.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "prompt/prompt.h"

int
cli_pin(void *arg, const char *desc, int tries_left, char *pin, size_t pinsz,
    size_t *len)
{
	struct tk_prompt	p = { 0 };
	char			err[64];

	(void)arg;
	p.title = "tokenkeys";
	p.desc = desc;
	p.prompt = "PIN:";
	if (tries_left == 1)
		p.error = "This is the last try before the PIN is locked.";
	else if (tries_left > 1) {
		snprintf(err, sizeof(err), "%d tries left", tries_left);
		p.error = err;
	}
	p.ttyname = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	p.display = getenv("WAYLAND_DISPLAY") != NULL ?
	    getenv("WAYLAND_DISPLAY") : getenv("DISPLAY");
	p.flags = TK_PROMPT_TTY_OK;
	return tk_prompt_pin(&p, pin, pinsz, len);
}
