/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A helper's stderr: what its module writes there (a TPM library's log
 * lines when there is no TPM, say) and the helper's own messages, read
 * line by line and handed to the agent's log, never left on whatever
 * terminal the agent was started from.  One thread per helper incarnation
 * reads its pipe until the helper is gone (the pipe's only writer).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "helper/hclient-int.h"

#define ERR_LINE_MAX	1024	/* longer lines are cut in pieces */

struct errpipe {
	int	 fd;
	char	*module;
};

/* Set once, before any helper starts. */
static tk_hclient_errlog_fn	*errlog;
static void			*errlog_arg;

void
tk_hclient_set_errlog(tk_hclient_errlog_fn *fn, void *arg)
{
	errlog = fn;
	errlog_arg = arg;
}

static void
emit(const struct errpipe *ep, char *line, size_t len)
{
	line[len] = '\0';
	if (line[strspn(line, " \t\r")] != '\0')
		errlog(errlog_arg, ep->module, line);
}

static void *
reader(void *arg)
{
	struct errpipe	*ep = arg;
	char		 buf[ERR_LINE_MAX + 1], *nl;
	size_t		 len = 0, l;
	ssize_t		 n;

	for (;;) {
		n = read(ep->fd, buf + len, ERR_LINE_MAX - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len)) != NULL ||
		    len == ERR_LINE_MAX) {
			l = nl != NULL ? (size_t)(nl - buf) : len;
			emit(ep, buf, l);
			if (nl != NULL)
				l++;
			memmove(buf, buf + l, len - l);
			len -= l;
		}
	}
	if (len > 0)
		emit(ep, buf, len);
	close(ep->fd);
	free(ep->module);
	free(ep);
	return NULL;
}

int
hc_err_open(const char *module)
{
	struct errpipe	*ep = NULL;
	pthread_attr_t	 attr;
	pthread_t	 th;
	sigset_t	 all, old;
	int		 fds[2] = { -1, -1 }, wfd = -1, started = 0;

	if (errlog == NULL)
		goto out;
	if ((ep = calloc(1, sizeof(*ep))) == NULL ||
	    (ep->module = strdup(module != NULL ? module : "(registry)")) ==
	    NULL || pipe2(fds, O_CLOEXEC) == -1)
		goto out;
	ep->fd = fds[0];
	/* The reader takes no signal meant for the agent's other threads. */
	sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_attr_init(&attr) == 0) {
		(void)pthread_attr_setdetachstate(&attr,
		    PTHREAD_CREATE_DETACHED);
		started = pthread_create(&th, &attr, reader, ep) == 0;
		pthread_attr_destroy(&attr);
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started) {
		wfd = fds[1];
		ep = NULL;
		fds[0] = fds[1] = -1;
	}
 out:
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
	if (ep != NULL)
		free(ep->module);
	free(ep);
	return wfd;
}
