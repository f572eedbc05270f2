/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Tests for src/prompt/prompt.c: the Assuan reply parser on hostile lines, then
 * askpass, pinentry and the terminal driven through stand-in programs
 * (tests/fixtures) and a pseudo-terminal.  TAP output.
 *
 * Fixtures are copied into a private directory and made executable there,
 * so a tarball that lost the mode bits or a read-only source tree work.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "prompt/assuan.h"
#include "prompt/prompt.h"
#include "wipe.h"

static int ntest;
static int nfail;
static char tdir[PATH_MAX];

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntest++;
	if (!cond)
		nfail++;
	printf("%sok %d - ", cond ? "" : "not ", ntest);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * Files in the private directory.
 */

static const char *
tpath(const char *name)
{
	static char buf[4][PATH_MAX];
	static int i;

	i = (i + 1) % 4;
	if ((size_t)snprintf(buf[i], sizeof(buf[i]), "%s/%s", tdir, name) >=
	    sizeof(buf[i])) {
		printf("Bail out! path too long\n");
		exit(1);
	}
	return buf[i];
}

static void
write_file(const char *name, const void *data, size_t len)
{
	FILE *f;

	if ((f = fopen(tpath(name), "w")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", tpath(name));
		exit(1);
	}
}

/* The whole file as a string ("" if missing), in a static buffer. */
static const char *
read_file(const char *name)
{
	static char buf[65536];
	size_t n = 0;
	FILE *f;

	if ((f = fopen(tpath(name), "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static int
count_lines_starting(const char *s, const char *prefix)
{
	size_t pl = strlen(prefix);
	int n = 0;

	for (; s != NULL && *s != '\0'; s = strchr(s, '\n'), s = s ? s + 1 : s)
		if (strncmp(s, prefix, pl) == 0)
			n++;
	return n;
}

static void
copy_fixture(const char *srcdir, const char *name)
{
	char src[PATH_MAX], buf[4096];
	FILE *in, *out;
	size_t n;

	snprintf(src, sizeof(src), "%s/tests/fixtures/%s", srcdir, name);
	if ((in = fopen(src, "r")) == NULL ||
	    (out = fopen(tpath(name), "w")) == NULL) {
		printf("Bail out! cannot copy fixture %s\n", src);
		exit(1);
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	if (fclose(out) != 0 || chmod(tpath(name), 0700) != 0) {
		printf("Bail out! cannot copy fixture %s\n", src);
		exit(1);
	}
}

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	if (tdir[0] != '\0')
		nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	tdir[0] = '\0';
}

static int
count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

static void
reset_env(void)
{
	unsetenv("SSH_ASKPASS");
	unsetenv("SSH_ASKPASS_REQUIRE");
	unsetenv("SSH_ASKPASS_PROMPT");
	unsetenv("TK_PINENTRY");
	unsetenv("TK_FAKE_PINENTRY");
	unsetenv("DISPLAY");
	unsetenv("WAYLAND_DISPLAY");
	remove(tpath("askpass.log"));
	remove(tpath("pinentry.log"));
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * tk_assuan_parse_pin() and tk_assuan_escape().
 */

static int
parse(const char *line, size_t len, char *pin, size_t pinsz, size_t *pl)
{
	return tk_assuan_parse_pin(line, len, pin, pinsz, pl);
}

#define PARSE(s, pin, pinsz, pl)	parse(s, sizeof(s) - 1, pin, pinsz, pl)

static void
test_parser(void)
{
	char pin[TK_PIN_MAX], small[8], big[1200];
	size_t pl;
	int r;

	pl = 0;
	r = PARSE("D 12%2534", pin, sizeof(pin), &pl);
	ok(r == TK_ASSUAN_MORE && pl == 5 && strcmp(pin, "12%34") == 0,
	    "parse: D 12%%2534 decodes to 12%%34");
	pl = 0;
	r = PARSE("D %2a%2A%7e", pin, sizeof(pin), &pl);
	ok(r == TK_ASSUAN_MORE && strcmp(pin, "**~") == 0,
	    "parse: hex escapes in either case");
	ok(PARSE("OK", NULL, 0, &pl) == 0 &&
	    PARSE("OK Pleased to meet you", NULL, 0, &pl) == 0,
	    "parse: OK ends a reply");
	ok(PARSE("ERR 83886179 Operation cancelled", NULL, 0, &pl) ==
	    TK_ERR_CANCELLED && PARSE("ERR", NULL, 0, &pl) == TK_ERR_CANCELLED,
	    "parse: ERR is a cancel");
	ok(PARSE("# comment", NULL, 0, &pl) == TK_ASSUAN_MORE &&
	    PARSE("S PROGRESS 1", NULL, 0, &pl) == TK_ASSUAN_MORE,
	    "parse: comment and status lines are skipped");

	pl = 0;
	r = PARSE("D 12", pin, sizeof(pin), &pl);
	if (r == TK_ASSUAN_MORE)
		r = PARSE("D 34", pin, sizeof(pin), &pl);
	ok(r == TK_ASSUAN_MORE && pl == 4 && strcmp(pin, "1234") == 0,
	    "parse: data split over two D lines is joined");

	memset(pin, 'x', sizeof(pin));
	pl = 2;
	r = PARSE("D 12%ZZ", pin, sizeof(pin), &pl);
	ok(r == TK_ERR_FORMAT && pl == 0 && all_zero(pin, sizeof(pin)),
	    "parse: bad %%XX rejected, buffer wiped");
	pl = 0;
	ok(PARSE("D 12%2", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("D 12%", pin, sizeof(pin), &pl) == TK_ERR_FORMAT,
	    "parse: truncated escape rejected");
	pl = 0;
	ok(PARSE("D a%00b", pin, sizeof(pin), &pl) == TK_ERR_FORMAT,
	    "parse: escaped NUL rejected");
	pl = 0;
	ok(PARSE("D 12\0" "34", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("OK\0", NULL, 0, &pl) == TK_ERR_FORMAT,
	    "parse: embedded NUL rejected");
	pl = 0;
	ok(PARSE("D 12\r", pin, sizeof(pin), &pl) == TK_ERR_FORMAT,
	    "parse: raw CR rejected");
	pl = 0;
	ok(PARSE("12%34", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("D", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("DATA 1234", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("OKAY", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("INQUIRE PIN", pin, sizeof(pin), &pl) == TK_ERR_FORMAT &&
	    PARSE("", pin, sizeof(pin), &pl) == TK_ERR_FORMAT,
	    "parse: missing D or unknown verb rejected");
	pl = 0;
	ok(PARSE("D 1234", NULL, 0, &pl) == TK_ERR_FORMAT,
	    "parse: data where none is expected rejected");

	memset(big, 'A', sizeof(big));
	big[0] = 'D';
	big[1] = ' ';
	pl = 0;
	ok(parse(big, TK_ASSUAN_LINE_MAX, pin, sizeof(pin), &pl) ==
	    TK_ERR_FORMAT && parse(big, sizeof(big), pin, sizeof(pin), &pl) ==
	    TK_ERR_FORMAT, "parse: overlong line rejected");
	pl = 0;
	r = PARSE("D 1234567", small, sizeof(small), &pl);
	ok(r == TK_ASSUAN_MORE && pl == 7 && strcmp(small, "1234567") == 0,
	    "parse: data exactly filling the buffer accepted");
	pl = 0;
	r = PARSE("D 12345678", small, sizeof(small), &pl);
	ok(r == TK_ERR_RANGE && pl == 0 && all_zero(small, sizeof(small)),
	    "parse: data overflowing the buffer rejected, buffer wiped");
	pl = 4;
	memcpy(small, "1234", 5);
	r = PARSE("D 5678", small, sizeof(small), &pl);
	ok(r == TK_ERR_RANGE && all_zero(small, sizeof(small)),
	    "parse: second D line overflowing rejected");
}

/* Random lines from a hostile alphabet; invariants hold, no overrun. */
static void
test_parser_mutations(void)
{
	static const char alpha[] = "D %0123456789abcdefABCDEFZ\r\n\0OKERS#";
	char line[64], pin[16];
	unsigned int seed = 12345;
	size_t len, pl, i;
	int bad = 0, r, n;

	for (n = 0; n < 200000; n++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 16) % sizeof(line);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			line[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		if (len > 2 && (n & 1)) {
			line[0] = 'D';
			line[1] = ' ';
		}
		pl = 0;
		memset(pin, 0x55, sizeof(pin));
		r = tk_assuan_parse_pin(line, len, pin, sizeof(pin), &pl);
		if (r == 0 || r == TK_ASSUAN_MORE) {
			if (pl >= sizeof(pin) ||
			    (r == TK_ASSUAN_MORE && line[0] == 'D' &&
			    (pin[pl] != '\0' || strlen(pin) != pl)))
				bad++;
		} else if (r == TK_ERR_FORMAT || r == TK_ERR_RANGE ||
		    r == TK_ERR_CANCELLED) {
			if (r != TK_ERR_CANCELLED &&
			    (pl != 0 || !all_zero(pin, sizeof(pin))))
				bad++;
		} else
			bad++;
	}
	ok(bad == 0, "parse: 200000 random lines keep the contract (%d bad)",
	    bad);
}

static void
test_escape(void)
{
	char buf[64];
	size_t n;

	n = tk_assuan_escape("50%\r\nx\ty", buf, sizeof(buf));
	ok(n == strlen(buf) && strcmp(buf, "50%25%0D%0Ax%09y") == 0,
	    "escape: %%, CR, LF and controls escaped");
	n = tk_assuan_escape("ab%", buf, 5);
	ok(strcmp(buf, "ab") == 0 && n == 2,
	    "escape: never cuts an escape in half");
	n = tk_assuan_escape("a\xc3\xa9z", buf, 3);
	ok(strcmp(buf, "a") == 0 && n == 1,
	    "escape: never cuts a UTF-8 sequence in half");
	n = tk_assuan_escape("a\xc3\xa9z", buf, 4);
	ok(strcmp(buf, "a\xc3\xa9") == 0 && n == 3,
	    "escape: whole UTF-8 sequence kept");
}

/*
 * askpass
 */

#define SECRET	"pin-7391-secret"

static void
test_askpass(void)
{
	struct tk_prompt p;
	char pin[TK_PIN_MAX], small[8], big[400];
	const char *log;
	size_t len;
	int r;

	memset(&p, 0, sizeof(p));
	p.title = "tokenkeys";
	p.desc = "Enter the PIN for token \"tk test\" to use key SHA256:abc";
	p.prompt = "PIN:";
	p.flags = TK_PROMPT_NO_PINENTRY;

	reset_env();
	setenv("SSH_ASKPASS", tpath("askpass-pin.sh"), 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	/* A stale one from our own environment must not reach the child. */
	setenv("SSH_ASKPASS_PROMPT", "confirm", 1);
	write_file("pin", SECRET "\n", strlen(SECRET) + 1);
	memset(pin, 'x', sizeof(pin));
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && len == strlen(SECRET) && strcmp(pin, SECRET) == 0,
	    "askpass: PIN returned, newline stripped (r=%d)", r);
	ok(all_zero(pin + len, sizeof(pin) - len),
	    "askpass: nothing but the PIN left in the buffer");
	log = read_file("askpass.log");
	ok(count_lines_starting(log, "call ") == 1,
	    "askpass: called exactly once");
	ok(strstr(log, "call prompt=\n") != NULL,
	    "askpass: SSH_ASKPASS_PROMPT not set for a PIN prompt");
	ok(strstr(log, "argv Enter the PIN for token \"tk test\" to use key "
	    "SHA256:abc\nPIN:\n") != NULL,
	    "askpass: argv[1] holds the description and the prompt");
	ok(strstr(log, SECRET) == NULL,
	    "askpass: PIN in neither argv nor environment of the child");

	reset_env();
	setenv("SSH_ASKPASS", tpath("askpass-pin.sh"), 1);
	p.error = "Wrong PIN: 2 tries left";
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_NO_PROMPT && read_file("askpass.log")[0] == '\0',
	    "askpass: not used by default without a display (r=%d)", r);
	p.display = ":0";
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	log = read_file("askpass.log");
	ok(r == 0 && strcmp(pin, SECRET) == 0 &&
	    strstr(log, "argv Wrong PIN: 2 tries left\nEnter") != NULL,
	    "askpass: used with a display, error shown first (r=%d)", r);
	setenv("SSH_ASKPASS_REQUIRE", "prefer", 1);
	p.flags |= TK_PROMPT_TTY_OK;
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && strcmp(pin, SECRET) == 0,
	    "askpass: SSH_ASKPASS_REQUIRE=prefer beats the terminal (r=%d)", r);
	p.flags &= ~TK_PROMPT_TTY_OK;
	p.error = NULL;

	reset_env();
	setenv("SSH_ASKPASS", tpath("askpass-pin.sh"), 1);
	setenv("SSH_ASKPASS_REQUIRE", "never", 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_NO_PROMPT && read_file("askpass.log")[0] == '\0',
	    "askpass: SSH_ASKPASS_REQUIRE=never, no tty: no prompt (r=%d)", r);
	p.display = NULL;

	reset_env();
	setenv("SSH_ASKPASS", tpath("does-not-exist"), 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_NO_PROMPT, "askpass: missing program: no prompt (r=%d)",
	    r);

	setenv("SSH_ASKPASS", tpath("askpass-pin.sh"), 1);
	write_file("pin", "abcd\r\nsecond line\n", 18);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && len == 4 && strcmp(pin, "abcd") == 0 &&
	    all_zero(pin + 4, sizeof(pin) - 4),
	    "askpass: CRLF and later lines dropped and wiped");
	write_file("pin", "12\0" "34\n", 6);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_FORMAT && all_zero(pin, sizeof(pin)),
	    "askpass: NUL in the answer rejected (r=%d)", r);
	write_file("pin", "1234567", 7);
	r = tk_prompt_pin(&p, small, sizeof(small), &len);
	ok(r == 0 && strcmp(small, "1234567") == 0,
	    "askpass: answer exactly filling the buffer, no newline");
	write_file("pin", "1234567\n", 8);
	r = tk_prompt_pin(&p, small, sizeof(small), &len);
	ok(r == 0 && strcmp(small, "1234567") == 0,
	    "askpass: answer exactly filling the buffer, newline after");
	memset(big, '7', sizeof(big));
	write_file("pin", big, sizeof(big));
	memset(pin, 'x', sizeof(pin));
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_RANGE && len == 0 && all_zero(pin, sizeof(pin)),
	    "askpass: overlong answer rejected, buffer wiped (r=%d)", r);

	write_file("pin", "123\n", 4);
	p.min_len = 4;
	p.max_len = 8;
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_PIN_INVALID && len == 0 && all_zero(pin, sizeof(pin)),
	    "askpass: PIN shorter than min_len refused (r=%d)", r);
	write_file("pin", "123456789\n", 10);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_PIN_INVALID && all_zero(pin, sizeof(pin)),
	    "askpass: PIN longer than max_len refused (r=%d)", r);
	write_file("pin", "12345678\n", 9);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && len == 8, "askpass: PIN of max_len accepted (r=%d)", r);
	write_file("pin", "1234\n", 5);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && len == 4, "askpass: PIN of min_len accepted (r=%d)", r);
	p.min_len = p.max_len = 0;

	reset_env();
	setenv("SSH_ASKPASS", tpath("askpass-empty.sh"), 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_CANCELLED, "askpass: empty answer is a cancel (r=%d)",
	    r);
	setenv("SSH_ASKPASS", tpath("askpass-fail.sh"), 1);
	memset(pin, 'x', sizeof(pin));
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_CANCELLED && all_zero(pin, sizeof(pin)),
	    "askpass: exit 1 is a cancel, its output wiped (r=%d)", r);

	reset_env();
	setenv("SSH_ASKPASS", tpath("askpass-confirm.sh"), 1);
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	p.desc = "Allow use of key SHA256:abc?";
	p.prompt = NULL;
	write_file("answer", "yes\n", 4);
	r = tk_prompt_confirm(&p);
	log = read_file("askpass.log");
	ok(r == 0, "askpass: confirm yes (r=%d)", r);
	ok(count_lines_starting(log, "call ") == 1 &&
	    strstr(log, "call prompt=confirm\n") != NULL,
	    "askpass: confirm runs once with SSH_ASKPASS_PROMPT=confirm");
	ok(strstr(log, "argv Allow use of key SHA256:abc?\n") != NULL,
	    "askpass: confirm passes the question as argv[1]");
	write_file("answer", "no\n", 3);
	r = tk_prompt_confirm(&p);
	ok(r == TK_ERR_CANCELLED, "askpass: confirm no (r=%d)", r);
}

/*
 * pinentry
 */

static int
under_valgrind(void)
{
	const char *s = getenv("LD_PRELOAD");

	return s != NULL && strstr(s, "vgpreload") != NULL;
}

static void
test_pinentry(void)
{
	static const struct {
		const char *mode;
		int want;
	} bad[] = {
		{ "cancel", TK_ERR_CANCELLED },
		{ "garbage", TK_ERR_FORMAT },
		{ "overlong", TK_ERR_FORMAT },
		{ "bigdata", TK_ERR_RANGE },
		{ "nogreet", TK_ERR_FORMAT },
		{ "die", TK_ERR_CONNECTION },	/* and no SIGPIPE death */
	};
	struct tk_prompt p;
	char pin[TK_PIN_MAX];
	const char *log;
	double t0;
	size_t len, i;
	int r;

	memset(&p, 0, sizeof(p));
	p.title = "tokenkeys";
	p.desc = "50% sure\nline two";
	p.prompt = "PIN:";
	p.error = "Wrong PIN";
	p.ttyname = "/dev/pts/fake";

	reset_env();
	setenv("TK_PINENTRY", tpath("fake-pinentry.sh"), 1);
	setenv("TERM", "xterm", 1);
	setenv("LANG", "C.UTF-8", 1);
	unsetenv("LC_ALL");
	unsetenv("LC_CTYPE");
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && len == 5 && strcmp(pin, "12%34") == 0,
	    "pinentry: D 12%%2534 gives the PIN 12%%34 (r=%d)", r);
	log = read_file("pinentry.log");
	ok(strstr(log, "OPTION ttyname=/dev/pts/fake\n"
	    "OPTION ttytype=xterm\nOPTION lc-ctype=C.UTF-8\n") != NULL,
	    "pinentry: terminal name, type and charset sent");
	ok(strstr(log, "SETTITLE tokenkeys\nSETDESC 50%25 sure%0Aline two\n"
	    "SETERROR Wrong PIN\nSETPROMPT PIN:\nGETPIN\nBYE\n") != NULL,
	    "pinentry: SETDESC percent-escaped, GETPIN then BYE");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("TK_FAKE_PINENTRY", bad[i].mode, 1);
		memset(pin, 'x', sizeof(pin));
		r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
		ok(r == bad[i].want && len == 0 && all_zero(pin, sizeof(pin)),
		    "pinentry: %s reply gives %d (r=%d), buffer wiped",
		    bad[i].mode, bad[i].want, r);
	}
	setenv("TK_FAKE_PINENTRY", "split", 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && strcmp(pin, "1234") == 0,
	    "pinentry: comment, status and split D lines (r=%d)", r);

	setenv("TK_FAKE_PINENTRY", "hang", 1);
	p.timeout_ms = 500;
	t0 = now();
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_TIMEOUT && now() - t0 < 3.0,
	    "pinentry: a stuck pinentry is killed at the timeout (r=%d, %.1fs)",
	    r, now() - t0);
	p.timeout_ms = 0;

	setenv("TK_FAKE_PINENTRY", "pin", 1);
	p.desc = "Allow use of key SHA256:abc?";
	remove(tpath("pinentry.log"));
	r = tk_prompt_confirm(&p);
	ok(r == 0 && strstr(read_file("pinentry.log"), "\nCONFIRM\n") != NULL,
	    "pinentry: CONFIRM answered OK is yes (r=%d)", r);
	setenv("TK_FAKE_PINENTRY", "cancel", 1);
	r = tk_prompt_confirm(&p);
	ok(r == TK_ERR_CANCELLED, "pinentry: CONFIRM answered ERR is no (r=%d)",
	    r);

	/* Fallbacks to askpass. */
	setenv("SSH_ASKPASS", tpath("askpass-pin.sh"), 1);
	write_file("pin", "5678\n", 5);
	p.display = ":0";
	setenv("TK_PINENTRY", tpath("broken-pinentry.sh"), 1);
	if (under_valgrind()) {
		/* valgrind cannot survive a failing execve in the child. */
		printf("ok %d # SKIP exec failure under valgrind\n", ++ntest);
	} else {
		r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
		ok(r == 0 && strcmp(pin, "5678") == 0,
		    "pinentry: one that cannot exec falls through to askpass "
		    "(r=%d)", r);
	}
	setenv("TK_PINENTRY", tpath("does-not-exist"), 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && strcmp(pin, "5678") == 0,
	    "pinentry: a missing one falls through to askpass (r=%d)", r);
	setenv("TK_PINENTRY", tpath("fake-pinentry.sh"), 1);
	setenv("TK_FAKE_PINENTRY", "pin", 1);
	p.flags = TK_PROMPT_NO_PINENTRY;
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && strcmp(pin, "5678") == 0,
	    "pinentry: TK_PROMPT_NO_PINENTRY skips it (r=%d)", r);
	p.flags = 0;
	setenv("SSH_ASKPASS_REQUIRE", "force", 1);
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == 0 && strcmp(pin, "5678") == 0,
	    "pinentry: SSH_ASKPASS_REQUIRE=force uses askpass (r=%d)", r);
	unsetenv("SSH_ASKPASS_REQUIRE");
	p.ttyname = NULL;
	p.display = NULL;
	unsetenv("SSH_ASKPASS");
	r = tk_prompt_pin(&p, pin, sizeof(pin), &len);
	ok(r == TK_ERR_NO_PROMPT,
	    "pinentry: not used without a display or tty (r=%d)", r);
}

/*
 * The terminal, on a pseudo-terminal that a child makes its controlling
 * terminal.
 */

struct tty_result {
	int	r;
	size_t	len;
	char	pin[64];
	int	echo_back;	/* ECHO set again afterwards */
};

static void
put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		printf("# short write to the pseudo-terminal\n");
}

/* Read from the master until want shows up; all output into out. */
static int
pty_expect(int m, const char *want, char *out, size_t outsz)
{
	size_t off = strlen(out);
	struct pollfd pfd;
	ssize_t n;

	while (strstr(out, want) == NULL) {
		pfd.fd = m;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 5000) <= 0)
			return -1;
		n = read(m, out + off, outsz - off - 1);
		if (n <= 0)
			return -1;
		off += (size_t)n;
		out[off] = '\0';
	}
	return 0;
}

/* The child's report, or r = INT_MIN if it sent none within 5 s. */
static void
tty_result(int fd, struct tty_result *res)
{
	struct pollfd pfd;

	memset(res, 0, sizeof(*res));
	res->r = INT_MIN;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 5000) != 1 || read(fd, res, sizeof(*res)) !=
	    sizeof(*res))
		res->r = INT_MIN;
}

static pid_t
tty_child(int m, int confirm, int res_fd)
{
	struct tty_result res;
	struct tk_prompt p;
	struct termios t;
	char name[PATH_MAX];
	pid_t pid;
	int s;

	if ((pid = fork()) != 0)
		return pid;
	if (ptsname_r(m, name, sizeof(name)) != 0)
		_exit(2);
	close(m);
	signal(SIGINT, SIG_DFL);
	memset(&res, 0, sizeof(res));
	/* A new session, so opening the slave makes it our terminal. */
	if (setsid() == -1 || (s = open(name, O_RDWR)) == -1)
		_exit(2);
	memset(&p, 0, sizeof(p));
	p.desc = "Enter the PIN for token \"tk test\"";
	p.prompt = "PIN:";
	p.flags = TK_PROMPT_TTY_OK | TK_PROMPT_NO_PINENTRY;
	setenv("SSH_ASKPASS_REQUIRE", "never", 1);
	if (confirm)
		res.r = tk_prompt_confirm(&p);
	else
		res.r = tk_prompt_pin(&p, res.pin, sizeof(res.pin), &res.len);
	res.echo_back = tcgetattr(s, &t) == 0 && (t.c_lflag & ECHO) != 0;
	if (write(res_fd, &res, sizeof(res)) != sizeof(res))
		_exit(3);
	_exit(0);
}

static void
test_tty(void)
{
	struct tty_result res;
	char out[4096];
	int m, rp[2], st, sfd;
	struct termios t;
	pid_t pid;

	if ((m = posix_openpt(O_RDWR | O_NOCTTY)) == -1 || grantpt(m) == -1 ||
	    unlockpt(m) == -1 || pipe(rp) == -1) {
		printf("ok %d # SKIP no pseudo-terminal\n", ++ntest);
		return;
	}
	/* Our own view of the slave, to read its modes after a child died. */
	sfd = open(ptsname(m), O_RDWR | O_NOCTTY);

	out[0] = '\0';
	pid = tty_child(m, 0, rp[1]);
	ok(pty_expect(m, "PIN: ", out, sizeof(out)) == 0 &&
	    strstr(out, "token \"tk test\"") != NULL,
	    "tty: description and prompt shown");
	put(m, "s3cret\n");
	tty_result(rp[0], &res);
	ok(res.r == 0 && res.len == 6 && strcmp(res.pin, "s3cret") == 0,
	    "tty: PIN read from the terminal (r=%d)", res.r);
	waitpid(pid, &st, 0);
	(void)pty_expect(m, "\n", out + strlen(out), sizeof(out) - strlen(out));
	ok(strstr(out, "s3cret") == NULL, "tty: PIN not echoed");
	ok(res.echo_back, "tty: echo back on afterwards");

	out[0] = '\0';
	pid = tty_child(m, 0, rp[1]);
	(void)pty_expect(m, "PIN: ", out, sizeof(out));
	kill(pid, SIGINT);
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT,
	    "tty: SIGINT during the prompt still ends the process");
	ok(sfd != -1 && tcgetattr(sfd, &t) == 0 && (t.c_lflag & ECHO) != 0,
	    "tty: echo restored when a signal ends the prompt");

	out[0] = '\0';
	pid = tty_child(m, 1, rp[1]);
	(void)pty_expect(m, "(yes/no) ", out, sizeof(out));
	put(m, "yes\n");
	tty_result(rp[0], &res);
	ok(res.r == 0,
	    "tty: confirm yes (r=%d)", res.r);
	waitpid(pid, &st, 0);

	out[0] = '\0';
	pid = tty_child(m, 1, rp[1]);
	(void)pty_expect(m, "(yes/no) ", out, sizeof(out));
	put(m, "nope\n");
	tty_result(rp[0], &res);
	ok(res.r == TK_ERR_CANCELLED, "tty: confirm no (r=%d)", res.r);
	waitpid(pid, &st, 0);

	if (sfd != -1)
		close(sfd);
	close(m);
	close(rp[0]);
	close(rp[1]);
}

static void
test_secret(void)
{
	unsigned char *p;
	void *v = NULL;
	int r;

	r = tk_secret_alloc(&v, TK_PIN_MAX);
	p = v;
	ok(r == 0 && p != NULL && all_zero(p, TK_PIN_MAX),
	    "secret: zeroed buffer allocated");
	if (p != NULL) {
		memset(p, 0xaa, TK_PIN_MAX);
		tk_secret_free(p, TK_PIN_MAX);
	}
	ok(tk_secret_alloc(&v, 0) == TK_ERR_INVAL && v == NULL,
	    "secret: size 0 refused");
}

int
main(void)
{
	const char *srcdir;
	char sd[PATH_MAX], tmpl[] = "/tmp/test-prompt.XXXXXX";
	int fds, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((srcdir = getenv("srcdir")) == NULL)
		srcdir = ".";
	if (realpath(srcdir, sd) == NULL || mkdtemp(tmpl) == NULL) {
		printf("Bail out! no srcdir or temporary directory\n");
		return 1;
	}
	snprintf(tdir, sizeof(tdir), "%s", tmpl);
	atexit(cleanup);
	setenv("TK_TEST_DIR", tdir, 1);
	copy_fixture(sd, "askpass-pin.sh");
	copy_fixture(sd, "askpass-empty.sh");
	copy_fixture(sd, "askpass-fail.sh");
	copy_fixture(sd, "askpass-confirm.sh");
	copy_fixture(sd, "fake-pinentry.sh");
	write_file("broken-pinentry.sh", "#!/nonexistent/sh\n", 18);
	chmod(tpath("broken-pinentry.sh"), 0700);

	test_parser();
	test_parser_mutations();
	test_escape();

	fds = count_fds();
	test_askpass();
	test_pinentry();
	test_tty();
	test_secret();
	ok(count_fds() == fds, "no file descriptor leaked");
	errno = 0;
	ok(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD,
	    "no child left behind, no zombie");

	printf("1..%d\n", ntest);
	return nfail != 0;
}
