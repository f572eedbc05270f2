/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PIN callback of the command-line tools: pinentry, askpass or the
 * terminal, whichever src/prompt/prompt.c finds, with the terminal allowed
 * because the user is running us in the foreground.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "prompt/prompt.h"
#include "prompt/prompt-text.h"

int
cli_pin(void *arg, const char *desc, int tries_left, char *pin, size_t pinsz,
    size_t *len)
{
	struct tk_prompt	p = { 0 };
	char			text[256], err[64];

	(void)arg;
	/* desc is the token's name; the words around it are prompt-text.c's */
	tk_ptext_cli_pin(text, sizeof(text), desc);
	tk_ptext_cli_tries(err, sizeof(err), tries_left);
	p.title = "tokenkeys";
	p.desc = text;
	p.prompt = "PIN:";
	p.error = err[0] != '\0' ? err : NULL;
	p.ttyname = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	p.display = getenv("WAYLAND_DISPLAY") != NULL ?
	    getenv("WAYLAND_DISPLAY") : getenv("DISPLAY");
	p.flags = TK_PROMPT_TTY_OK;
	return tk_prompt_pin(&p, pin, pinsz, len);
}
