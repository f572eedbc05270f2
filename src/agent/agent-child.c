/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * -A auto: a private OpenSSH ssh-agent as our child, its socket in our
 * private directory, with our -t as its default lifetime.  The refresh
 * thread looks after it: when it dies it is started again, after 1 s,
 * then twice as long after each death that follows within a minute (up
 * to a minute).  It is stopped with us.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/spawn.h"

#define CHILD_BACKOFF_MAX	60	/* seconds */
#define CHILD_READY_MS		5000	/* its socket appears */

extern char	**environ;

struct agent_child {
	char		 prog[PATH_MAX];
	char		 sock[PATH_MAX];
	char		 life[16];
	pid_t		 pid;		/* -1: not running */
	time_t		 started;
	time_t		 restart_at;
	unsigned int	 backoff;	/* seconds */
};

static int
child_spawn(struct agent *a, struct agent_child *ch)
{
	char	*argv[7];
	int	 n = 0, nullfd, r, i;

	(void)unlink(ch->sock);
	argv[n++] = (char *)"ssh-agent";
	argv[n++] = (char *)"-D";
	argv[n++] = (char *)"-a";
	argv[n++] = ch->sock;
	if (ch->life[0] != '\0') {
		argv[n++] = (char *)"-t";
		argv[n++] = ch->life;
	}
	argv[n] = NULL;
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return TK_ERR_SYSTEM;
	r = tk_spawn(ch->prog, argv, environ, nullfd, nullfd, &ch->pid);
	close(nullfd);
	if (r != 0) {
		ch->pid = -1;
		agent_log(a, AGENT_LOG_ERR, "-A auto: cannot start %s: %s",
		    ch->prog, tk_strerror(r));
		return r;
	}
	ch->started = agent_now(a);
	for (i = 0; i < CHILD_READY_MS / 10; i++) {
		if (access(ch->sock, F_OK) == 0)
			break;
		if (waitpid(ch->pid, NULL, WNOHANG) == ch->pid) {
			ch->pid = -1;
			agent_log(a, AGENT_LOG_ERR, "-A auto: ssh-agent exited "
			    "at once");
			return TK_ERR_SYSTEM;
		}
		(void)usleep(10000);
	}
	agent_log(a, AGENT_LOG_INFO, "-A auto: ssh-agent (pid %ld) on %s",
	    (long)ch->pid, ch->sock);
	return 0;
}

int
agent_child_start(struct agent *a, const char *dir, struct agent_child **out,
    char *sock, size_t socksz)
{
	struct agent_child	*ch;
	int			 r;

	*out = NULL;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return TK_ERR_NOMEM;
	ch->pid = -1;
	ch->backoff = 1;
	if (snprintf(ch->sock, sizeof(ch->sock), "%s/ssh-agent.sock", dir) >=
	    (int)sizeof(ch->sock) || snprintf(sock, socksz, "%s",
	    ch->sock) >= (int)socksz) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if (a->lifetime > 0)
		snprintf(ch->life, sizeof(ch->life), "%u", a->lifetime);
	if ((r = tk_spawn_find("ssh-agent", ch->prog,
	    sizeof(ch->prog))) != 0) {
		agent_log(a, AGENT_LOG_ERR, "-A auto: ssh-agent is not on "
		    "PATH");
		goto out;
	}
	if ((r = child_spawn(a, ch)) != 0)
		goto out;
	*out = ch;
	ch = NULL;
 out:
	free(ch);
	return r;
}

void
agent_child_poll(struct agent *a, struct agent_child *ch)
{
	time_t	now = agent_now(a);
	int	st;

	if (ch->pid > 0 && waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
		ch->pid = -1;
		if (now - ch->started >= CHILD_BACKOFF_MAX)
			ch->backoff = 1;
		ch->restart_at = now + (time_t)ch->backoff;
		agent_log(a, AGENT_LOG_ERR, "-A auto: ssh-agent %s %d; "
		    "starting it again in %u s",
		    WIFSIGNALED(st) ? "was killed by signal" : "exited with",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
		    ch->backoff);
		if (ch->backoff < CHILD_BACKOFF_MAX)
			ch->backoff *= 2;
		return;
	}
	if (ch->pid < 0 && now >= ch->restart_at &&
	    child_spawn(a, ch) != 0)
		ch->restart_at = now + (time_t)ch->backoff;
}

void
agent_child_stop(struct agent_child *ch)
{
	int	st;

	if (ch == NULL)
		return;
	if (ch->pid > 0) {
		(void)kill(ch->pid, SIGTERM);
		(void)tk_spawn_reap(ch->pid, 1000, &st);
	}
	(void)unlink(ch->sock);
	free(ch);
}
