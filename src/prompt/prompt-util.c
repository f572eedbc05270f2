/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the prompt methods and the dispatcher share: the one text askpass
 * and the terminal show, and how $SSH_ASKPASS_REQUIRE is read.  Below
 * prompt.c, prompt-askpass.c and prompt-tty.c, so that none of them calls
 * another sideways (see prompt-int.h for the contracts).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prompt/prompt-int.h"

enum tk_askpass_require
tk_askpass_require(void)
{
	const char *s;
	enum tk_askpass_require m = AR_DEFAULT;

	if ((s = getenv("SSH_ASKPASS_REQUIRE")) == NULL)
		;
	else if (strcasecmp(s, "never") == 0)
		m = AR_NEVER;
	else if (strcasecmp(s, "prefer") == 0)
		m = AR_PREFER;
	else if (strcasecmp(s, "force") == 0)
		m = AR_FORCE;
	return m;
}

char *
tk_prompt_text(const struct tk_prompt *p, int confirm)
{
	const char *part[3];
	char *s;
	size_t i, n, off;

	part[0] = p->error;
	part[1] = p->desc;
	part[2] = p->prompt;
	if (!confirm && (part[2] == NULL || *part[2] == '\0'))
		part[2] = "PIN:";
	n = 1;
	for (i = 0; i < 3; i++)
		if (part[i] != NULL)
			n += strlen(part[i]) + 1;
	if ((s = malloc(n)) == NULL)
		goto out;
	off = 0;
	for (i = 0; i < 3; i++) {
		if (part[i] == NULL || *part[i] == '\0')
			continue;
		if (off > 0)
			s[off++] = '\n';
		n = strlen(part[i]);
		memcpy(s + off, part[i], n);
		off += n;
	}
	s[off] = '\0';
 out:
	return s;
}
