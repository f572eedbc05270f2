/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The pinentry method: pinentry spoken to in Assuan over a socketpair on
 * its stdin and stdout.
 *
 * A PIN passes only through the line buffer in struct assuan, which is
 * wiped as each line is consumed and before we return, and the caller's
 * buffer.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero, SOCK_CLOEXEC */
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/deadline.h"
#include "common/fdio.h"
#include "common/spawn.h"
#include "prompt/assuan.h"
#include "prompt/prompt-int.h"

#ifndef MSG_NOSIGNAL
/* Without it (macOS) callers must ignore SIGPIPE themselves. */
#define MSG_NOSIGNAL	0
#endif

extern char **environ;

struct assuan {
	int		 fd;
	const struct timespec *deadline;
	size_t		 len;			/* bytes in buf */
	char		 buf[TK_ASSUAN_LINE_MAX];	/* may hold a PIN */
};

/* Make a whole line (ending in LF) the start of a->buf; *ll = its length. */
static int
assuan_read_line(struct assuan *a, size_t *ll)
{
	char *nl;
	ssize_t n;
	int r;

	for (;;) {
		if ((nl = memchr(a->buf, '\n', a->len)) != NULL) {
			*ll = (size_t)(nl - a->buf);
			r = 0;
			goto out;
		}
		if (a->len == sizeof(a->buf)) {
			r = TK_ERR_FORMAT;	/* overlong line */
			goto out;
		}
		if ((r = tk_deadline_wait_fd(a->fd, POLLIN, a->deadline)) != 0)
			goto out;
		n = recv(a->fd, a->buf + a->len, sizeof(a->buf) - a->len,
		    MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1 && errno != ECONNRESET) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (n <= 0) {
			r = TK_ERR_CONNECTION;
			goto out;
		}
		a->len += (size_t)n;
	}
 out:
	return r;
}

/* Drop the first line (ll bytes and its LF), wiping what moved. */
static void
assuan_drop_line(struct assuan *a, size_t ll)
{
	size_t old = a->len;

	memmove(a->buf, a->buf + ll + 1, a->len - ll - 1);
	a->len -= ll + 1;
	explicit_bzero(a->buf + a->len, old - a->len);
}

/* Read lines up to the end of a reply; data goes to pin, if any. */
static int
assuan_reply(struct assuan *a, char *pin, size_t pinsz, size_t *pinlen)
{
	size_t ll, dummy = 0;
	int r;

	if (pinlen == NULL)
		pinlen = &dummy;
	do {
		if ((r = assuan_read_line(a, &ll)) != 0)
			break;
		r = tk_assuan_parse_pin(a->buf, ll, pin, pinsz, pinlen);
		assuan_drop_line(a, ll);
	} while (r == TK_ASSUAN_MORE);
	return r;
}

/*
 * Send "VERB arg" (arg escaped, cut to fit the line limit) and read the
 * reply, with any data going to pin.
 */
static int
assuan_cmd(struct assuan *a, const char *verb, const char *arg, char *pin,
    size_t pinsz, size_t *pinlen)
{
	char line[TK_ASSUAN_LINE_MAX];
	size_t off;
	int r;

	off = strlen(verb);
	if (off + 2 > sizeof(line)) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	memcpy(line, verb, off);
	if (arg != NULL) {
		line[off++] = ' ';
		off += tk_assuan_escape(arg, line + off, sizeof(line) - off);
	}
	line[off++] = '\n';
	if ((r = tk_fd_send_all_by(a->fd, line, off, a->deadline)) != 0)
		goto out;
	r = assuan_reply(a, pin, pinsz, pinlen);
 out:
	return r;
}

/* OPTION name=value; ERR is fine, an older pinentry may not know it. */
static int
assuan_option(struct assuan *a, const char *name, const char *value)
{
	char opt[512];
	int n, r;

	n = snprintf(opt, sizeof(opt), "%s=%s", name, value);
	if (n < 0 || (size_t)n >= sizeof(opt)) {
		r = 0;	/* an absurd value is not worth failing over */
		goto out;
	}
	r = assuan_cmd(a, "OPTION", opt, NULL, 0, NULL);
	if (r == TK_ERR_CANCELLED)
		r = 0;
 out:
	return r;
}

/* SET* must succeed: a pinentry that refuses them is not one we know. */
static int
assuan_set(struct assuan *a, const char *verb, const char *arg)
{
	int r = 0;

	if (arg != NULL && *arg != '\0') {
		r = assuan_cmd(a, verb, arg, NULL, 0, NULL);
		if (r == TK_ERR_CANCELLED)
			r = TK_ERR_CONNECTION;
	}
	return r;
}

int
tk_prompt_pinentry(const struct tk_prompt *p, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	char path[PATH_MAX], *argv[2];
	const char *prog, *term, *lc;
	struct timespec bye;
	struct assuan a;
	int sv[2] = { -1, -1 };
	int r, rr, status;
	pid_t pid = -1;

	memset(&a, 0, sizeof(a));
	a.fd = -1;
	a.deadline = deadline;
	if ((prog = getenv("TK_PINENTRY")) == NULL || *prog == '\0')
		prog = "pinentry";
	if (tk_spawn_find(prog, path, sizeof(path)) != 0) {
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	/*
	 * A socket rather than two pipes: send(MSG_NOSIGNAL) turns a dead
	 * pinentry into EPIPE instead of killing us with SIGPIPE.
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	argv[0] = path;
	argv[1] = NULL;
	if ((r = tk_spawn(path, argv, environ, sv[1], sv[1], &pid)) != 0)
		goto out;
	close(sv[1]);
	sv[1] = -1;
	a.fd = sv[0];

	if ((r = assuan_reply(&a, NULL, 0, NULL)) != 0)
		goto out;
	if (p->ttyname != NULL && *p->ttyname != '\0') {
		if ((r = assuan_option(&a, "ttyname", p->ttyname)) != 0)
			goto out;
		if ((term = getenv("TERM")) != NULL && *term != '\0' &&
		    (r = assuan_option(&a, "ttytype", term)) != 0)
			goto out;
		/* pinentry-curses needs the charset to draw the text. */
		if (((lc = getenv("LC_ALL")) != NULL && *lc != '\0') ||
		    ((lc = getenv("LC_CTYPE")) != NULL && *lc != '\0') ||
		    ((lc = getenv("LANG")) != NULL && *lc != '\0')) {
			if ((r = assuan_option(&a, "lc-ctype", lc)) != 0)
				goto out;
		}
	}
	if ((r = assuan_set(&a, "SETTITLE", p->title)) != 0 ||
	    (r = assuan_set(&a, "SETDESC", p->desc)) != 0 ||
	    (r = assuan_set(&a, "SETERROR", p->error)) != 0)
		goto out;
	if (confirm) {
		r = assuan_cmd(&a, "CONFIRM", NULL, NULL, 0, NULL);
	} else {
		if ((r = assuan_set(&a, "SETPROMPT",
		    p->prompt != NULL ? p->prompt : "PIN:")) != 0)
			goto out;
		*pinlen = 0;
		r = assuan_cmd(&a, "GETPIN", NULL, pin, pinsz, pinlen);
	}
	if (r == 0 || r == TK_ERR_CANCELLED) {
		/*
		 * Polite goodbye, briefly: the answer stands whatever comes
		 * back, and a pinentry mute now is killed below.
		 */
		tk_deadline_set(&bye, TK_REAP_TERM_MS);
		if (tk_deadline_left(&bye) < tk_deadline_left(deadline))
			a.deadline = &bye;
		(void)assuan_cmd(&a, "BYE", NULL, NULL, 0, NULL);
	}
 out:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (pid != -1) {
		/* After BYE it exits on its own; after trouble, kill it. */
		rr = tk_spawn_reap(pid, (r == 0 || r == TK_ERR_CANCELLED) ?
		    TK_REAP_TERM_MS : 0, &status);
		if (rr < 0 && r == 0)
			r = rr;
	}
	explicit_bzero(&a, sizeof(a));
	return r;
}

