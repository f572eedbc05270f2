/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The texts of prompt-text.h.  The wording is what the agent and the
 * command line showed before it was gathered here; tests grep for parts
 * of it ("ONE PIN try left", "LAST try before the PIN locks", "serial X").
 */
#include <stdio.h>
#include <string.h>

#include "tokenkeys.h"
#include "prompt/prompt-text.h"

/* Room for a sanitised token string: every byte may become \xNN. */
#define SAFE_MAX	(4 * 256 + 1)

struct safe {
	char	s[SAFE_MAX];
};

/* s, sanitised into out (cut if too long, never half an escape). */
static const char *
safe(struct safe *out, const char *s)
{
	(void)tk_str_sanitize(s != NULL ? s : "", out->s, sizeof(out->s));
	return out->s;
}

void
tk_ptext_pin(char *buf, size_t bufsz, const char *label, const char *serial,
    const char *fp, const char *comment, int context)
{
	struct safe	l, s, c;
	const char	*sn;

	sn = safe(&s, serial);
	snprintf(buf, bufsz, "%sPIN for token \"%s\"%s%s%s\nto use key %s\n%s",
	    context ? "Signature PIN (asked for every use of this key)\n" : "",
	    safe(&l, label), sn[0] ? " (serial " : "", sn, sn[0] ? ")" : "",
	    fp != NULL ? fp : "", safe(&c, comment));
}

void
tk_ptext_pin_error(char *buf, size_t bufsz, int wrong_before,
    enum tk_pin_gate g)
{
	const char	*tries = "";

	if (g == TK_PIN_CONFIRM_FINAL)
		tries = "This is the LAST try before the PIN locks.";
	else if (g == TK_PIN_USE_LOW)
		tries = "Warning: few PIN tries are left.";
	snprintf(buf, bufsz, "%s%s%s", wrong_before ? "The last PIN entered "
	    "was wrong." : "", wrong_before && tries[0] ? " " : "", tries);
}

void
tk_ptext_pin_length(char *buf, size_t bufsz, unsigned int min,
    unsigned int max)
{
	snprintf(buf, bufsz, "The PIN must be %u to %u characters long.", min,
	    max);
}

void
tk_ptext_final_confirm(char *buf, size_t bufsz, const char *label,
    const char *fp)
{
	struct safe	l;

	snprintf(buf, bufsz, "Token \"%s\" has ONE PIN try left: a wrong PIN "
	    "locks it.\nAsk for the PIN to use key %s?", safe(&l, label),
	    fp != NULL ? fp : "");
}

void
tk_ptext_use_confirm(char *buf, size_t bufsz, const char *comment,
    const char *label, const char *fp)
{
	struct safe	c, l;

	snprintf(buf, bufsz, "Allow use of key %s on token \"%s\"?\n"
	    "Key fingerprint %s.", safe(&c, comment), safe(&l, label),
	    fp != NULL ? fp : "");
}

void
tk_ptext_use_confirm_dest(char *buf, size_t bufsz, const char *comment,
    const char *label, const char *fp, const char *user, const char *host)
{
	struct safe	c, l, u, h;

	snprintf(buf, bufsz, "Allow use of key %s on token \"%s\"\n"
	    "to log in as \"%s\" on %s?\nKey fingerprint %s.",
	    safe(&c, comment), safe(&l, label), safe(&u, user),
	    host != NULL ? safe(&h, host) : "a permitted host",
	    fp != NULL ? fp : "");
}

void
tk_ptext_delete_confirm(char *buf, size_t bufsz, size_t n, const char *keys)
{
	snprintf(buf, bufsz, "Delete %s%zu key pair%s from the token for good?"
	    "\n%s", n == 1 ? "this " : "these ", n, n == 1 ? "" : "s", keys);
}

void
tk_ptext_pinpad(char *buf, size_t bufsz, const char *label, const char *fp)
{
	struct safe	l;

	snprintf(buf, bufsz, "token \"%s\": use the reader's keypad to enter "
	    "the PIN for key %s", safe(&l, label), fp != NULL ? fp : "");
}

void
tk_ptext_pinpad_set(char *buf, size_t bufsz, const char *label,
    const char *what)
{
	struct safe	l;

	snprintf(buf, bufsz, "token \"%s\": enter %s on the reader's keypad",
	    safe(&l, label), what);
}

void
tk_ptext_cli_pin(char *buf, size_t bufsz, const char *name)
{
	struct safe	n;

	snprintf(buf, bufsz, "PIN for token \"%s\"", safe(&n, name));
}

void
tk_ptext_cli_pin_what(char *buf, size_t bufsz, const char *what,
    const char *name)
{
	struct safe	n;

	snprintf(buf, bufsz, "%s for token \"%s\"", what, safe(&n, name));
}

void
tk_ptext_cli_tries(char *buf, size_t bufsz, int tries_left)
{
	if (tries_left == 1)
		snprintf(buf, bufsz, "This is the last try before the PIN is "
		    "locked.");
	else if (tries_left > 1)
		snprintf(buf, bufsz, "%d tries left", tries_left);
	else if (bufsz > 0)
		buf[0] = '\0';
}

/* Longest shown: one process of the chain, and the whole chain. */
#define PROC_SHOWN	64
#define CHAIN_SHOWN	200
#define CHAIN_ARROW	" \xe2\x86\x90 "	/* U+2190 LEFTWARDS ARROW */

/* Append s to buf (NUL-terminated, bufsz bytes), cut if it does not fit. */
static void
append(char *buf, size_t bufsz, const char *s)
{
	size_t	o;

	if (bufsz == 0)
		return;
	o = strnlen(buf, bufsz - 1);
	snprintf(buf + o, bufsz - o, "%s", s);
}

void
tk_ptext_requester(char *buf, size_t bufsz, const char *const *procs,
    size_t n)
{
	char	one[PROC_SHOWN + 4], chain[CHAIN_SHOWN + 8];
	size_t	i;

	chain[0] = '\0';
	for (i = 0; i < n; i++) {
		/* cut on a character, never inside an escape */
		if (tk_str_sanitize(procs[i] != NULL ? procs[i] : "", one,
		    PROC_SHOWN + 1) != 0)
			append(one, sizeof(one), "...");
		if (strlen(chain) + strlen(one) + strlen(CHAIN_ARROW) >
		    CHAIN_SHOWN) {
			append(chain, sizeof(chain), i > 0 ? CHAIN_ARROW "..." :
			    "...");
			break;
		}
		if (i > 0)
			append(chain, sizeof(chain), CHAIN_ARROW);
		append(chain, sizeof(chain), one);
	}
	snprintf(buf, bufsz, "%s", chain);
}

void
tk_ptext_requester_host(char *buf, size_t bufsz, const char *host,
    const char *fp)
{
	char	h[PROC_SHOWN + 1];

	if (host != NULL && host[0] != '\0') {
		(void)tk_str_sanitize(host, h, sizeof(h));
		snprintf(buf, bufsz, "a process on %s (forwarded agent, host "
		    "key %s)", h, fp != NULL ? fp : "");
	} else
		snprintf(buf, bufsz, "a process on the host with key %s "
		    "(forwarded agent)", fp != NULL ? fp : "");
}

void
tk_ptext_add_requester(char *buf, size_t bufsz, const char *who)
{
	if (who == NULL || who[0] == '\0')
		return;
	append(buf, bufsz, "\nRequested by: ");
	append(buf, bufsz, who);
}

void
tk_ptext_notice(char *summary, size_t summarysz, char *body, size_t bodysz,
    const char *label, const char *who)
{
	struct safe	l;

	safe(&l, label);
	snprintf(summary, summarysz, "Token \"%s\" is waiting", l.s);
	snprintf(body, bodysz, "Touch your token \"%s\" to sign for %s (or "
	    "enter the PIN on its reader)", l.s,
	    who != NULL && who[0] != '\0' ? who : "an unknown requester");
}
