/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The terminal method: /dev/tty with echo off.
 *
 * Echo must come back whatever happens, so the signals that end or stop a
 * terminal program are caught while we read; once the terminal is
 * restored they are delivered again to the caller's handlers.  Hence one
 * thread at a time.  A PIN passes only through the caller's buffer and a
 * one-byte read buffer, wiped before we return.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero, ppoll */
#endif

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "prompt/prompt-int.h"

static const int tty_sigs[] = {
	SIGALRM, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM,
	SIGTSTP, SIGTTIN, SIGTTOU
};
#define TTY_NSIGS	(sizeof(tty_sigs) / sizeof(tty_sigs[0]))
static volatile sig_atomic_t tty_caught[TTY_NSIGS];

static void
tty_catch(int sig)
{
	size_t i;

	for (i = 0; i < TTY_NSIGS; i++)
		if (tty_sigs[i] == sig)
			tty_caught[i] = 1;
}

static int
tty_any_caught(void)
{
	size_t i;
	int any = 0;

	for (i = 0; i < TTY_NSIGS && !any; i++)
		any = tty_caught[i] != 0;
	return any;
}

#define TTY_RESTART	1

/*
 * One attempt: TTY_RESTART if a stop signal came in the middle (we were
 * suspended and continued: ask again from the start).
 */
static int
tty_once(int fd, const char *text, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	struct sigaction sa, old[TTY_NSIGS];
	struct termios saved, quiet;
	struct timespec ts;
	struct pollfd pfd;
	sigset_t block, oldmask;
	const char *tail = confirm ? " (yes/no) " : " ";
	char ans[8], *dst, c = 0;
	size_t cap, off = 0, i;
	int restore = 0, overflow = 0, stopped = 0, k, ms, r;
	ssize_t n;

	sigemptyset(&block);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tty_catch;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: blocking calls must return */
	(void)sigprocmask(SIG_SETMASK, NULL, &oldmask);
	for (i = 0; i < TTY_NSIGS; i++) {
		tty_caught[i] = 0;
		sigaddset(&block, tty_sigs[i]);
		(void)sigaction(tty_sigs[i], &sa, &old[i]);
	}
	if (confirm) {
		dst = ans;
		cap = sizeof(ans) - 1;
	} else {
		dst = pin;
		cap = pinsz - 1;
	}
	/*
	 * Signals stay deliverable here: in the background these calls raise
	 * SIGTTOU, which must stop us rather than be overridden.
	 */
	if (tcgetattr(fd, &saved) == -1) {
		r = (errno == EINTR) ? TK_ERR_CANCELLED : TK_ERR_SYSTEM;
		goto out;
	}
	if (!confirm) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL);
		quiet.c_lflag |= ICANON;
		/* Flush typeahead: it was not typed for this prompt. */
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1) {
			r = (errno == EINTR) ? TK_ERR_CANCELLED :
			    TK_ERR_SYSTEM;
			goto out;
		}
		restore = 1;
	}
	if (write(fd, text, strlen(text)) == -1 ||
	    write(fd, tail, strlen(tail)) == -1) {
		r = (errno == EINTR) ? TK_ERR_CANCELLED : TK_ERR_SYSTEM;
		goto out;
	}
	/*
	 * Blocked except inside ppoll(), so a signal cannot slip in between
	 * the check of the flags and the wait.
	 */
	(void)sigprocmask(SIG_BLOCK, &block, NULL);
	for (;;) {
		if (tty_any_caught()) {
			r = TK_ERR_CANCELLED;
			goto out;
		}
		if ((ms = tk_deadline_left(deadline)) == 0) {
			r = TK_ERR_TIMEOUT;
			goto out;
		}
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		k = ppoll(&pfd, 1, &ts, &oldmask);
		if (k == 0 || (k == -1 && errno == EINTR))
			continue;
		if (k == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		/* Canonical mode: readable means a whole line is there. */
		n = read(fd, &c, 1);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (n == 0 || c == '\n' || c == '\r')
			break;
		if (off < cap)
			dst[off++] = c;
		else
			overflow = 1;
	}
	dst[off] = '\0';
	if (overflow) {
		r = confirm ? TK_ERR_CANCELLED : TK_ERR_RANGE;
		goto out;
	}
	if (confirm) {
		r = (strcasecmp(ans, "yes") == 0 || strcasecmp(ans, "y") == 0) ?
		    0 : TK_ERR_CANCELLED;
	} else {
		*pinlen = off;
		r = 0;
	}
 out:
	/* Blocked, SIGTTOU cannot stop us from restoring the terminal. */
	(void)sigprocmask(SIG_BLOCK, &block, NULL);
	if (restore) {
		while (tcsetattr(fd, TCSANOW, &saved) == -1 && errno == EINTR)
			;
		/* The user's Enter was not echoed. */
		n = write(fd, "\n", 1);
	}
	/*
	 * Caught signals are made pending again; once the caller's handlers
	 * and mask are back they take their usual effect (die, stop, ...).
	 */
	for (i = 0; i < TTY_NSIGS; i++) {
		if (!tty_caught[i])
			continue;
		tty_caught[i] = 0;
		if (tty_sigs[i] == SIGTSTP || tty_sigs[i] == SIGTTIN ||
		    tty_sigs[i] == SIGTTOU)
			stopped = 1;
		(void)raise(tty_sigs[i]);
	}
	for (i = 0; i < TTY_NSIGS; i++)
		(void)sigaction(tty_sigs[i], &old[i], NULL);
	(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (stopped && r != 0)
		r = TTY_RESTART;
	if (r != 0 && pin != NULL)
		explicit_bzero(pin, pinsz);
	explicit_bzero(&c, sizeof(c));
	explicit_bzero(ans, sizeof(ans));
	return r;
}

int
tk_prompt_tty(const struct tk_prompt *p, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	char *text = NULL;
	int fd, r;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	if ((text = tk_prompt_text(p, confirm)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	do {
		r = tty_once(fd, text, deadline, confirm, pin, pinsz, pinlen);
	} while (r == TTY_RESTART);
 out:
	if (fd != -1)
		close(fd);
	free(text);
	return r;
}
