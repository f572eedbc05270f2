/*
 * PIN and confirmation prompts: pinentry (Assuan), askpass, the terminal.
 *
 * Every byte of a PIN passes through the caller's buffer or a buffer on
 * our stack that is wiped before we return; none goes to the heap, argv,
 * the environment or a log.
 */
#ifndef _GNU_SOURCE	/* config.h (AC_USE_SYSTEM_EXTENSIONS) sets it */
#define _GNU_SOURCE	/* explicit_bzero, pipe2, ppoll, SOCK_CLOEXEC */
#endif

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "prompt.h"

#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS	MAP_ANON
#endif
#ifndef MSG_NOSIGNAL
/* Without it (macOS) callers must ignore SIGPIPE themselves. */
#define MSG_NOSIGNAL	0
#endif

extern char **environ;

enum method { M_PINENTRY, M_ASKPASS, M_TTY };

enum askpass_require { AR_DEFAULT, AR_NEVER, AR_PREFER, AR_FORCE };

/* How long a child that should be exiting gets before SIGTERM, SIGKILL. */
#define REAP_TERM_MS	1000
/* Askpass output we drain before calling it hostile. */
#define ASKPASS_DRAIN_MAX	65536

struct assuan {
	int		 fd;
	const struct timespec *deadline;
	size_t		 len;			/* bytes in buf */
	char		 buf[TK_ASSUAN_LINE_MAX];	/* may hold a PIN */
};

/*
 * Time.
 */

static void
deadline_set(struct timespec *d, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += ms / 1000;
	d->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (d->tv_nsec >= 1000000000L) {
		d->tv_sec++;
		d->tv_nsec -= 1000000000L;
	}
}

/* Milliseconds until d, 0 once it has passed. */
static int
ms_left(const struct timespec *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(d->tv_sec - now.tv_sec) * 1000 +
	    (d->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	return (int)ms;
}

/* Wait until fd is ready for events or d passes. */
static int
wait_fd(int fd, short events, const struct timespec *d)
{
	struct pollfd pfd;
	int n, r;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ms_left(d));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (n == 0) {
			r = TK_ERR_TIMEOUT;
			goto out;
		}
		/* POLLHUP/POLLERR: the next read or write tells which. */
		r = 0;
		goto out;
	}
 out:
	return r;
}

/*
 * Children.
 */

/*
 * Find an executable regular file: name itself if it holds a '/', else
 * along $PATH.  Empty $PATH entries (the current directory) are skipped:
 * the agent's working directory is no place to pick programs from.
 */
static int
find_program(const char *name, char *buf, size_t bufsz)
{
	const char *path, *s, *e;
	struct stat st;
	size_t dl;
	int n, r;

	r = TK_ERR_NOT_FOUND;
	if (name == NULL || *name == '\0')
		goto out;
	if (strchr(name, '/') != NULL) {
		n = snprintf(buf, bufsz, "%s", name);
		if (n < 0 || (size_t)n >= bufsz)
			goto out;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(buf, X_OK) == 0)
			r = 0;
		goto out;
	}
	if ((path = getenv("PATH")) == NULL)
		path = "/usr/bin:/bin";
	for (s = path; ; s = e + 1) {
		if ((e = strchr(s, ':')) == NULL)
			e = s + strlen(s);
		dl = (size_t)(e - s);
		if (dl > 0 && dl < INT_MAX) {
			n = snprintf(buf, bufsz, "%.*s/%s", (int)dl, s, name);
			if (n > 0 && (size_t)n < bufsz &&
			    stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(buf, X_OK) == 0) {
				r = 0;
				goto out;
			}
		}
		if (*e == '\0')
			break;
	}
 out:
	if (r != 0 && bufsz > 0)
		buf[0] = '\0';
	return r;
}

/*
 * The child's environment: ours without SSH_ASKPASS_PROMPT (an inherited
 * "confirm" would turn a PIN prompt into a yes/no box), plus add.  The
 * strings are borrowed from environ; only the array is allocated.
 */
static int
child_env(char *add, char ***envp)
{
	static const char drop[] = "SSH_ASKPASS_PROMPT=";
	char **e;
	size_t i, n;
	int r;

	*envp = NULL;
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		;
	if ((e = calloc(n + 2, sizeof(*e))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	n = 0;
	for (i = 0; environ != NULL && environ[i] != NULL; i++) {
		if (strncmp(environ[i], drop, sizeof(drop) - 1) != 0)
			e[n++] = environ[i];
	}
	if (add != NULL)
		e[n++] = add;
	e[n] = NULL;
	*envp = e;
	r = 0;
 out:
	return r;
}

/*
 * fork and exec path with in_fd as stdin and out_fd as stdout.  Between
 * fork and exec the child does only async-signal-safe things, so the
 * caller may be threaded; everything it needs is built beforehand.
 * TK_ERR_NO_PROMPT if the program could not be executed: a close-on-exec
 * pipe carries exec's errno back, which an exit status cannot do
 * unambiguously.
 */
static int
spawn(const char *path, char *const argv[], char *const envp[], int in_fd,
    int out_fd, pid_t *pidp)
{
	/* Signals a daemon may ignore that a prompt program must not. */
	static const int sigs[] = {
		SIGPIPE, SIGCHLD, SIGINT, SIGTERM, SIGHUP, SIGQUIT
	};
	struct sigaction dfl;
	sigset_t none;
	pid_t pid, w;
	size_t i;
	ssize_t n;
	int ep[2] = { -1, -1 };
	int err, in, out, r, status;

	*pidp = -1;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&none);

	if (pipe2(ep, O_CLOEXEC) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if ((pid = fork()) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	if (pid == 0) {
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			(void)sigaction(sigs[i], &dfl, NULL);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		/*
		 * Move everything above 2 first: any may be 0 or 1 already
		 * if the caller runs with stdin/stdout closed.
		 */
		if ((err = fcntl(ep[1], F_DUPFD_CLOEXEC, 3)) != -1)
			ep[1] = err;
		if ((in = fcntl(in_fd, F_DUPFD_CLOEXEC, 3)) != -1 &&
		    (out = fcntl(out_fd, F_DUPFD_CLOEXEC, 3)) != -1 &&
		    dup2(in, STDIN_FILENO) != -1 &&
		    dup2(out, STDOUT_FILENO) != -1)
			execve(path, argv, envp);
		err = errno;
		n = write(ep[1], &err, sizeof(err));
		_exit(127);
	}
	close(ep[1]);
	ep[1] = -1;
	do {
		n = read(ep[0], &err, sizeof(err));
	} while (n == -1 && errno == EINTR);
	if (n != 0) {
		/* It exits at once; collect it here. */
		do {
			w = waitpid(pid, &status, 0);
		} while (w == -1 && errno == EINTR);
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	*pidp = pid;
	r = 0;
 out:
	if (ep[0] != -1)
		close(ep[0]);
	if (ep[1] != -1)
		close(ep[1]);
	return r;
}

/* One waitpid(WNOHANG) pass that survives EINTR: 1 reaped, 0 still there. */
static int
reap_try(pid_t pid, int *status)
{
	pid_t w;
	int r;

	do {
		w = waitpid(pid, status, WNOHANG);
	} while (w == -1 && errno == EINTR);
	if (w == -1)
		r = TK_ERR_SYSTEM;
	else
		r = (w == pid);
	return r;
}

/* Poll for the child's exit for up to ms milliseconds. */
static int
reap_wait(pid_t pid, int *status, int ms)
{
	struct timespec d, tick = { 0, 10 * 1000000L };
	int r;

	deadline_set(&d, (unsigned int)ms);
	for (;;) {
		if ((r = reap_try(pid, status)) != 0 || ms_left(&d) == 0)
			break;
		nanosleep(&tick, NULL);
	}
	return r;
}

/*
 * Collect the child so no zombie is left.  One that does not exit within
 * grace_ms gets SIGTERM (pinentry-curses then restores the terminal), then
 * SIGKILL.  1 if it exited by itself, 0 if it had to be killed.
 */
static int
reap(pid_t pid, int grace_ms, int *status)
{
	pid_t w;
	int r;

	*status = 0;
	if ((r = reap_wait(pid, status, grace_ms)) != 0)
		goto out;
	(void)kill(pid, SIGTERM);
	if ((r = reap_wait(pid, status, REAP_TERM_MS)) != 0) {
		r = (r == 1) ? 0 : r;
		goto out;
	}
	(void)kill(pid, SIGKILL);
	do {
		w = waitpid(pid, status, 0);
	} while (w == -1 && errno == EINTR);
	r = (w == pid) ? 0 : TK_ERR_SYSTEM;
 out:
	return r;
}

/*
 * The text for askpass and the terminal: error, desc and prompt, one per
 * line, whichever are set.
 */
static char *
compose(const struct tk_prompt *p, int confirm)
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

/*
 * Assuan.
 */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* line starts with verb, followed by the end or a space. */
static int
is_verb(const char *line, size_t len, const char *verb)
{
	size_t vl = strlen(verb);

	return len >= vl && memcmp(line, verb, vl) == 0 &&
	    (len == vl || line[vl] == ' ');
}

int
tk_assuan_parse_pin(const char *line, size_t len, char *pin, size_t pinsz,
    size_t *pinlen)
{
	size_t i, o;
	int c, hi, lo, r;

	o = 0;
	if (line == NULL || pinlen == NULL) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if (len >= TK_ASSUAN_LINE_MAX || memchr(line, '\0', len) != NULL) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if (len > 0 && line[0] == '#') {
		r = TK_ASSUAN_MORE;
		goto out;
	}
	if (is_verb(line, len, "OK")) {
		r = 0;
		goto out;
	}
	if (is_verb(line, len, "ERR")) {
		r = TK_ERR_CANCELLED;
		goto out;
	}
	if (is_verb(line, len, "S")) {
		r = TK_ASSUAN_MORE;
		goto out;
	}
	if (len < 2 || line[0] != 'D' || line[1] != ' ' || pin == NULL ||
	    pinsz == 0 || *pinlen >= pinsz) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	o = *pinlen;
	for (i = 2; i < len; i++) {
		c = (unsigned char)line[i];
		if (c == '\r') {
			/* Must have been escaped: a sender we do not trust. */
			r = TK_ERR_FORMAT;
			goto out;
		}
		if (c == '%') {
			if (len - i < 3 ||
			    (hi = hexval((unsigned char)line[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)line[i + 2])) < 0 ||
			    (c = hi << 4 | lo) == 0) {
				/* A NUL would silently shorten the PIN. */
				r = TK_ERR_FORMAT;
				goto out;
			}
			i += 2;
		}
		if (o >= pinsz - 1) {
			r = TK_ERR_RANGE;
			goto out;
		}
		pin[o++] = (char)c;
	}
	pin[o] = '\0';
	*pinlen = o;
	r = TK_ASSUAN_MORE;
 out:
	if (r < 0) {
		if (pin != NULL && pinsz > 0)
			explicit_bzero(pin, pinsz);
		if (pinlen != NULL)
			*pinlen = 0;
	}
	return r;
}

size_t
tk_assuan_escape(const char *s, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i, o, need;

	if (bufsz == 0)
		return 0;
	o = 0;
	for (i = 0; u[i] != '\0'; i++) {
		need = (u[i] < 0x20 || u[i] == 0x7f || u[i] == '%') ? 3 : 1;
		if (o + need > bufsz - 1)
			break;
		if (need == 3) {
			buf[o++] = '%';
			buf[o++] = hex[u[i] >> 4];
			buf[o++] = hex[u[i] & 0x0f];
		} else
			buf[o++] = (char)u[i];
	}
	/* Cut short inside a UTF-8 sequence: drop its start too. */
	if (u[i] != '\0' && (u[i] & 0xc0) == 0x80) {
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
	}
	buf[o] = '\0';
	return o;
}

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
		if ((r = wait_fd(a->fd, POLLIN, a->deadline)) != 0)
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

static int
send_all(int fd, const char *buf, size_t len, const struct timespec *d)
{
	ssize_t n;
	size_t off;
	int r;

	for (off = 0; off < len; ) {
		if ((r = wait_fd(fd, POLLOUT, d)) != 0)
			goto out;
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1) {
			r = (errno == EPIPE || errno == ECONNRESET) ?
			    TK_ERR_CONNECTION : TK_ERR_SYSTEM;
			goto out;
		}
		off += (size_t)n;
	}
	r = 0;
 out:
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
	if ((r = send_all(a->fd, line, off, a->deadline)) != 0)
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

static int
pinentry_run(const struct tk_prompt *p, const struct timespec *deadline,
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
	if (find_program(prog, path, sizeof(path)) != 0) {
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
	if ((r = spawn(path, argv, environ, sv[1], sv[1], &pid)) != 0)
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
		deadline_set(&bye, REAP_TERM_MS);
		if (ms_left(&bye) < ms_left(deadline))
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
		rr = reap(pid, (r == 0 || r == TK_ERR_CANCELLED) ?
		    REAP_TERM_MS : 0, &status);
		if (rr < 0 && r == 0)
			r = rr;
	}
	explicit_bzero(&a, sizeof(a));
	return r;
}

/*
 * Askpass.
 */

static enum askpass_require
askpass_require(void)
{
	const char *s;
	enum askpass_require m = AR_DEFAULT;

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

/*
 * Read askpass's stdout until EOF: the first line into pin, the rest
 * drained into a wiped scratch buffer so the child can finish writing.
 * For a confirmation (pin == NULL) everything is drained.
 */
static int
askpass_read(int fd, const struct timespec *deadline, char *pin,
    size_t pinsz, size_t *pinlen)
{
	char scratch[256], *dst;
	size_t cap, i, off = 0, drained = 0;
	int line_done = (pin == NULL), r;
	ssize_t n;

	for (;;) {
		if (!line_done && off < pinsz - 1) {
			dst = pin + off;
			cap = pinsz - 1 - off;
		} else {
			dst = scratch;
			cap = sizeof(scratch);
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) != 0)
			goto out;
		n = read(fd, dst, cap);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			r = TK_ERR_SYSTEM;
			goto out;
		}
		if (n == 0)
			break;
		if (dst != scratch) {
			for (i = 0; i < (size_t)n && dst[i] != '\n' &&
			    dst[i] != '\r'; i++)
				;
			if (i < (size_t)n) {
				explicit_bzero(dst + i, (size_t)n - i);
				line_done = 1;
			}
			off += i;
		} else {
			drained += (size_t)n;
			if (!line_done && scratch[0] != '\n' &&
			    scratch[0] != '\r') {
				r = TK_ERR_RANGE;	/* no room for it */
				goto out;
			}
			line_done = 1;
			if (drained > ASKPASS_DRAIN_MAX) {
				r = TK_ERR_RANGE;
				goto out;
			}
		}
	}
	if (pin != NULL) {
		pin[off] = '\0';
		if (memchr(pin, '\0', off) != NULL) {
			r = TK_ERR_FORMAT;	/* would shorten the PIN */
			goto out;
		}
		*pinlen = off;
	}
	r = 0;
 out:
	explicit_bzero(scratch, sizeof(scratch));
	return r;
}

static int
askpass_run(const struct tk_prompt *p, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	static char confirm_env[] = "SSH_ASKPASS_PROMPT=confirm";
	char path[PATH_MAX], *argv[3], *text = NULL, **envp = NULL;
	const char *prog;
	int pfd[2] = { -1, -1 };
	int devnull = -1, r, rr, status = 0;
	pid_t pid = -1;

	if ((prog = getenv("SSH_ASKPASS")) == NULL || *prog == '\0')
		prog = "ssh-askpass";
	if (find_program(prog, path, sizeof(path)) != 0) {
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	if ((text = compose(p, confirm)) == NULL ||
	    (r = child_env(confirm ? confirm_env : NULL, &envp)) != 0) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (pipe2(pfd, O_CLOEXEC) == -1 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		r = TK_ERR_SYSTEM;
		goto out;
	}
	argv[0] = path;
	argv[1] = text;
	argv[2] = NULL;
	if ((r = spawn(path, argv, envp, devnull, pfd[1], &pid)) != 0)
		goto out;
	close(pfd[1]);
	pfd[1] = -1;
	r = askpass_read(pfd[0], deadline, confirm ? NULL : pin, pinsz,
	    pinlen);
 out:
	if (pfd[0] != -1)
		close(pfd[0]);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (devnull != -1)
		close(devnull);
	if (pid != -1) {
		/* EOF usually means it exited; it may still be on its way. */
		rr = reap(pid, r == 0 ? ms_left(deadline) : 0, &status);
		if (rr < 0 && r == 0)
			r = rr;
		else if (rr == 0 && r == 0)
			r = TK_ERR_TIMEOUT;
		else if (r == 0 && (!WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0))
			r = TK_ERR_CANCELLED;
	}
	free(envp);
	free(text);
	return r;
}

/*
 * The terminal.  Echo must come back whatever happens, so the signals
 * that end or stop a terminal program are caught while we read; once the
 * terminal is restored they are delivered again to the caller's handlers.
 */

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

	for (i = 0; i < TTY_NSIGS; i++)
		if (tty_caught[i])
			return 1;
	return 0;
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
		if ((ms = ms_left(deadline)) == 0) {
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

static int
tty_run(const struct tk_prompt *p, const struct timespec *deadline,
    int confirm, char *pin, size_t pinsz, size_t *pinlen)
{
	char *text = NULL;
	int fd, r;

	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1) {
		r = TK_ERR_NO_PROMPT;
		goto out;
	}
	if ((text = compose(p, confirm)) == NULL) {
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

/*
 * Method choice and the entry points.
 */

static size_t
plan(const struct tk_prompt *p, enum method m[3])
{
	enum askpass_require req = askpass_require();
	int tty_ok = (p->flags & TK_PROMPT_TTY_OK) != 0;
	int gui = p->display != NULL && *p->display != '\0';
	int tty_known = p->ttyname != NULL && *p->ttyname != '\0';
	size_t n = 0;

	if (req == AR_FORCE) {
		m[n++] = M_ASKPASS;
		goto out;
	}
	if ((p->flags & TK_PROMPT_NO_PINENTRY) == 0 && (gui || tty_known))
		m[n++] = M_PINENTRY;
	if (req == AR_PREFER && gui)
		m[n++] = M_ASKPASS;
	if (tty_ok)
		m[n++] = M_TTY;
	/* As ssh-add: askpass when there is no terminal to use. */
	if (req == AR_DEFAULT && gui)
		m[n++] = M_ASKPASS;
 out:
	return n;
}

static int
prompt_run(const struct tk_prompt *p, int confirm, char *pin, size_t pinsz,
    size_t *pinlen)
{
	struct timespec deadline;
	enum method m[3];
	size_t i, n;
	int r = TK_ERR_NO_PROMPT;

	deadline_set(&deadline, p->timeout_ms != 0 ? p->timeout_ms :
	    TK_PROMPT_TIMEOUT_MS);
	n = plan(p, m);
	for (i = 0; i < n && r == TK_ERR_NO_PROMPT; i++) {
		switch (m[i]) {
		case M_PINENTRY:
			r = pinentry_run(p, &deadline, confirm, pin, pinsz,
			    pinlen);
			break;
		case M_ASKPASS:
			r = askpass_run(p, &deadline, confirm, pin, pinsz,
			    pinlen);
			break;
		case M_TTY:
			r = tty_run(p, &deadline, confirm, pin, pinsz, pinlen);
			break;
		}
		/* Nothing a failed method read may reach the next one. */
		if (r != 0 && pin != NULL)
			explicit_bzero(pin, pinsz);
	}
	return r;
}

int
tk_prompt_pin(const struct tk_prompt *p, char *pin, size_t pinsz,
    size_t *len)
{
	int r;

	if (len != NULL)
		*len = 0;
	if (p == NULL || pin == NULL || len == NULL || pinsz < 2) {
		r = TK_ERR_INVAL;
		goto out;
	}
	explicit_bzero(pin, pinsz);
	if ((r = prompt_run(p, 0, pin, pinsz, len)) != 0)
		goto out;
	if (*len == 0) {
		r = TK_ERR_CANCELLED;
		goto out;
	}
	if ((p->min_len > 0 && *len < p->min_len) ||
	    (p->max_len > 0 && *len > p->max_len)) {
		r = TK_ERR_PIN_INVALID;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		if (pin != NULL && pinsz > 0)
			explicit_bzero(pin, pinsz);
		if (len != NULL)
			*len = 0;
	}
	return r;
}

int
tk_prompt_confirm(const struct tk_prompt *p)
{
	int r;

	if (p == NULL)
		r = TK_ERR_INVAL;
	else
		r = prompt_run(p, 1, NULL, 0, NULL);
	return r;
}

/*
 * Secret memory.
 */

static size_t
secret_size(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t ps = pg > 0 ? (size_t)pg : 4096;

	if (n > SIZE_MAX - (ps - 1))
		return 0;
	return (n + ps - 1) / ps * ps;
}

int
tk_secret_alloc(void **pp, size_t n)
{
	void *p;
	size_t sz;
	int r;

	if (pp == NULL) {
		r = TK_ERR_INVAL;
		goto out;
	}
	*pp = NULL;
	if (n == 0 || (sz = secret_size(n)) == 0) {
		r = TK_ERR_INVAL;
		goto out;
	}
	/* Own pages, so madvise and mlock touch nothing else. */
	p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		r = TK_ERR_NOMEM;
		goto out;
	}
#ifdef MADV_DONTDUMP
	(void)madvise(p, sz, MADV_DONTDUMP);
#endif
#ifdef MADV_WIPEONFORK
	/* A prompt child between fork and exec gets zeroes, not the PIN. */
	(void)madvise(p, sz, MADV_WIPEONFORK);
#endif
	/*
	 * Best effort: RLIMIT_MEMLOCK is often tiny in containers, and a PIN
	 * that might reach swap beats refusing to log in.
	 */
	(void)mlock(p, sz);
	*pp = p;
	r = 0;
 out:
	return r;
}

void
tk_secret_free(void *p, size_t n)
{
	size_t sz;

	if (p == NULL || n == 0 || (sz = secret_size(n)) == 0)
		return;
	explicit_bzero(p, sz);
	(void)munlock(p, sz);
	(void)munmap(p, sz);
}
