/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PIN callback of the command-line tools: pinentry, askpass or the
 * terminal, whichever src/prompt/prompt.c finds, with the terminal allowed
 * because the user is running us in the foreground.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli/cli.h"
#include "common/secret.h"
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

int
cli_pin_what(const char *what, const char *name, int tries_left, size_t min,
    size_t max, char *pin, size_t pinsz, size_t *len)
{
	struct tk_prompt	p = { 0 };
	char			text[256], err[64];

	tk_ptext_cli_pin_what(text, sizeof(text), what, name);
	tk_ptext_cli_tries(err, sizeof(err), tries_left);
	p.title = "tokenkeys";
	p.desc = text;
	p.prompt = "PIN:";
	p.error = err[0] != '\0' ? err : NULL;
	p.ttyname = isatty(STDIN_FILENO) ? ttyname(STDIN_FILENO) : NULL;
	p.display = getenv("WAYLAND_DISPLAY") != NULL ?
	    getenv("WAYLAND_DISPLAY") : getenv("DISPLAY");
	p.flags = TK_PROMPT_TTY_OK;
	p.min_len = min;
	p.max_len = max;
	return tk_prompt_pin(&p, pin, pinsz, len);
}

int
cli_new_pin(const char *what, const char *name, size_t min, size_t max,
    char *pin, size_t pinsz, size_t *len)
{
	char	*again = NULL, twice[128];
	size_t	 alen = 0;
	int	 r;

	snprintf(twice, sizeof(twice), "%s again", what);
	if ((r = tk_secret_alloc((void **)&again, pinsz)) != 0)
		goto out;
	if ((r = cli_pin_what(what, name, -1, min, max, pin, pinsz,
	    len)) != 0 ||
	    (r = cli_pin_what(twice, name, -1, min, max, again, pinsz,
	    &alen)) != 0)
		goto out;
	if (alen != *len || CRYPTO_memcmp(pin, again, alen) != 0)
		r = TK_ERR_INVAL;
 out:
	tk_secret_free(again, pinsz);
	return r;
}
