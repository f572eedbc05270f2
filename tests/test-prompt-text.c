/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The prompt texts (src/prompt/prompt-text.h): token strings arrive raw
 * and leave with every control byte escaped, whichever text they go in;
 * the error line follows the PIN gate's decision.
 */
#include <stdio.h>
#include <string.h>

#include "tokenkeys.h"
#include "prompt/prompt-text.h"
#include "tap.h"

#define EVIL_LABEL	"evil\x1b]0;pwned\x07one"
#define EVIL_SERIAL	"\x1b[31mRD42\x9b"
#define EVIL_COMMENT	"key\x1b[2Jred\x07"

/*
 * No control byte but newline in s.  The test strings carry no printable
 * non-ASCII, so any byte >= 0x80 left is a raw C1 control or worse.
 */
static int
clean(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\n') || *p >= 0x7f)
			return 0;
	return 1;
}

/* Bytes of s that are not the chain's arrow (U+2190) are clean. */
static int
clean_but_arrows(const char *s)
{
	char	copy[1024], *p;

	snprintf(copy, sizeof(copy), "%s", s);
	while ((p = strstr(copy, "\xe2\x86\x90")) != NULL)
		memmove(p, p + 3, strlen(p + 3) + 1);
	return clean(copy);
}

/* Who is asking: the process chain, the forwarding host, the notice. */
static void
test_requester(void)
{
	const char	*chain[] = { "ssh git@github.com", "git push", "bash" };
	const char	*evil[] = { "ssh \x1b]0;pwned\x07 host", "\x9b" "bad" };
	const char	*many[6];
	char		 buf[1024], sum[128], body[512], longarg[400];
	size_t		 i;

	tk_ptext_requester(buf, sizeof(buf), chain, 3);
	is_str(buf, "ssh git@github.com \xe2\x86\x90 git push \xe2\x86\x90 "
	    "bash", "requester: the process chain, joined by arrows");
	tk_ptext_requester(buf, sizeof(buf), evil, 2);
	ok(clean_but_arrows(buf) && strstr(buf, "\\x1b]0;pwned") != NULL,
	    "requester: control bytes from /proc are escaped");
	memset(longarg, 'a', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';
	for (i = 0; i < 6; i++)
		many[i] = longarg;
	tk_ptext_requester(buf, sizeof(buf), many, 6);
	ok(strlen(buf) <= 210 && strstr(buf, "...") != NULL,
	    "requester: long command lines and chains are cut (%zu bytes)",
	    strlen(buf));
	tk_ptext_requester_host(buf, sizeof(buf), NULL, "SHA256:abc");
	is_str(buf, "a process on the host with key SHA256:abc (forwarded "
	    "agent)", "requester: a forwarded agent without a host name");
	tk_ptext_requester_host(buf, sizeof(buf), "h\x1b[2Jost", "SHA256:abc");
	ok(clean(buf) && strstr(buf, "on h\\x1b[2Jost (forwarded agent, "
	    "host key SHA256:abc)") != NULL,
	    "requester: the host name from known_hosts, escaped");
	tk_ptext_use_confirm(buf, sizeof(buf), "c", "l", "fp");
	tk_ptext_add_requester(buf, sizeof(buf), "ssh-keygen -Y sign");
	ok(strstr(buf, "?\nKey fingerprint fp.\nRequested by: ssh-keygen -Y "
	    "sign") != NULL, "the requester is a line of the confirm prompt");
	tk_ptext_add_requester(buf, 40, "x");
	ok(strlen(buf) < 40, "...and never overflows the text");
	tk_ptext_notice(sum, sizeof(sum), body, sizeof(body), EVIL_LABEL,
	    "ssh git@github.com");
	ok(clean(sum) && clean(body) && strstr(body, "Touch your token "
	    "\"evil\\x1b]0;pwned\\x07one\" to sign for ssh git@github.com")
	    != NULL, "the desktop notice names token and requester, escaped");
}

int
main(void)
{
	char	buf[1024];

	tk_ptext_pin(buf, sizeof(buf), EVIL_LABEL, EVIL_SERIAL, "SHA256:x",
	    EVIL_COMMENT, 0);
	ok(clean(buf), "PIN prompt: no control byte from the token");
	is_str(buf, "PIN for token \"evil\\x1b]0;pwned\\x07one\" (serial "
	    "\\x1b[31mRD42\\x9b)\nto use key SHA256:x\nkey\\x1b[2Jred\\x07",
	    "PIN prompt: label, serial and comment escaped, text kept");
	tk_ptext_pin(buf, sizeof(buf), "tk one", "", "SHA256:x", "c", 1);
	is_str(buf, "Signature PIN (asked for every use of this key)\n"
	    "PIN for token \"tk one\"\nto use key SHA256:x\nc",
	    "context PIN prompt, no serial");

	tk_ptext_final_confirm(buf, sizeof(buf), EVIL_LABEL, "SHA256:x");
	ok(clean(buf) && strstr(buf, "ONE PIN try left") != NULL,
	    "final-try confirmation: escaped, says one try is left");
	tk_ptext_use_confirm(buf, sizeof(buf), EVIL_COMMENT, EVIL_LABEL,
	    "SHA256:x");
	ok(clean(buf) && strstr(buf, "pwned") != NULL,
	    "use confirmation: escaped, readable part kept");
	tk_ptext_use_confirm_dest(buf, sizeof(buf), "pkcs11:id=%01", "tok",
	    "SHA256:x", EVIL_LABEL, "hosta.example");
	ok(clean(buf) && strstr(buf, "to log in as \"") != NULL &&
	    strstr(buf, "pwned") != NULL &&
	    strstr(buf, "on hosta.example?") != NULL,
	    "use confirmation of a destination-constrained key: names the "
	    "user (escaped) and the host");
	tk_ptext_pinpad(buf, sizeof(buf), EVIL_LABEL, "SHA256:x");
	ok(clean(buf) && strstr(buf, "keypad") != NULL,
	    "PIN pad message: escaped");
	tk_ptext_cli_pin(buf, sizeof(buf), EVIL_LABEL);
	is_str(buf, "PIN for token \"evil\\x1b]0;pwned\\x07one\"",
	    "command line PIN prompt: escaped");

	tk_ptext_pin_error(buf, sizeof(buf), 0, TK_PIN_USE);
	is_str(buf, "", "no error line when there is nothing to say");
	tk_ptext_pin_error(buf, sizeof(buf), 1, TK_PIN_USE);
	is_str(buf, "The last PIN entered was wrong.", "wrong PIN before");
	tk_ptext_pin_error(buf, sizeof(buf), 1, TK_PIN_CONFIRM_FINAL);
	is_str(buf, "The last PIN entered was wrong. This is the LAST try "
	    "before the PIN locks.", "wrong before, final try");
	tk_ptext_pin_error(buf, sizeof(buf), 0, TK_PIN_USE_LOW);
	is_str(buf, "Warning: few PIN tries are left.", "few tries left");
	tk_ptext_cli_tries(buf, sizeof(buf), 1);
	is_str(buf, "This is the last try before the PIN is locked.",
	    "command line: last try");
	tk_ptext_cli_tries(buf, sizeof(buf), -1);
	is_str(buf, "", "command line: tries unknown");

	tk_ptext_pin(buf, 24, EVIL_LABEL, EVIL_SERIAL, "f", "c", 0);
	ok(strlen(buf) == 23 && clean(buf), "a short buffer cuts, cleanly");

	test_requester();
	return tap_done();
}
