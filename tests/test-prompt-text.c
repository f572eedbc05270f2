/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The prompt texts (src/prompt/prompt-text.h): token strings arrive raw
 * and leave with every control byte escaped, whichever text they go in;
 * the error line follows the PIN gate's decision.
 */
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
	return tap_done();
}
