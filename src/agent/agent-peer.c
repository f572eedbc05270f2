/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Who is asking.  A local client is named by its process chain: the peer
 * (SO_PEERCRED) and its parents from /proc, each as its program's name
 * and arguments, up to the first shell, a process of another user or
 * WHO_PROCS processes.  A forwarded connection's peer is only our own ssh
 * client: the request came from the host of its forwarding binding
 * (session-bind), named by the host key's fingerprint and, where an
 * unhashed known_hosts line has that key, the host's name.  All of it
 * is untrusted text: prompt-text.c sanitises and cuts it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "ssh/knownhosts.h"
#include "ssh/sshconfig.h"
#include "prompt/prompt-text.h"

#define WHO_PROCS	4	/* processes in a chain */
#define CMDLINE_MAX	512	/* bytes of a command line read */

pid_t
agent_peer_pid(int fd)
{
	struct ucred	cr;
	socklen_t	len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr) || cr.pid <= 0)
		return 0;
	return cr.pid;
}

int
agent_conn_hostkey(const struct agent_conn *c, const uint8_t **key,
    size_t *keylen)
{
	int	i, r = TK_ERR_NOT_FOUND;

	/* the host that forwarded the agent here: the last such binding */
	for (i = c != NULL ? c->nbinds - 1 : -1; i >= 0; i--) {
		if (c->binds[i].forwarded) {
			*key = c->binds[i].key;
			*keylen = c->binds[i].keylen;
			r = 0;
			break;
		}
	}
	return r;
}

/* Read at most sz - 1 bytes of a /proc file; the count, or -1. */
static ssize_t
proc_read(pid_t pid, const char *what, char *buf, size_t sz)
{
	char	path[64];
	ssize_t	n;
	int	fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

pid_t
agent_peer_stat_ppid(const char *stat)
{
	const char	*p;
	long		 ppid;

	/* "pid (comm) state ppid ...": comm may hold ')' and spaces */
	if ((p = strrchr(stat, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid < 0 ||
	    ppid > INT_MAX)
		return 0;
	return (pid_t)ppid;
}

/* The parent of pid, or 0. */
static pid_t
proc_ppid(pid_t pid)
{
	char	 buf[512];

	if (proc_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return 0;
	return agent_peer_stat_ppid(buf);
}

static uid_t
proc_uid(pid_t pid)
{
	struct stat	st;
	char		path[64];

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	return stat(path, &st) == 0 ? st.st_uid : (uid_t)-1;
}

static int
is_shell(const char *name)
{
	static const char *const shells[] = {
		"sh", "bash", "zsh", "fish", "dash", "ksh", "mksh", "tcsh",
		"csh", "-sh", "-bash", "-zsh", "-fish", "-dash", "-ksh"
	};
	size_t	i;

	for (i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
		if (strcmp(name, shells[i]) == 0)
			return 1;
	return 0;
}

void
agent_peer_cmdline(char *buf, size_t n, char *out, size_t outsz, int *shell)
{
	char	*name, *slash;
	size_t	 i;

	while (n > 0 && buf[n - 1] == '\0')
		n--;
	buf[n] = '\0';
	name = buf;
	/* argv[0] ends at its NUL: cut its directory off first */
	if ((slash = strrchr(buf, '/')) != NULL)
		name = slash + 1;
	*shell = is_shell(name);
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	snprintf(out, outsz, "%s", name);
}

/*
 * The command line of pid as "name arg arg" (name without its directory)
 * into out; *shell: the program is a shell.  0, or -1 if it is gone.
 */
static int
proc_cmd(pid_t pid, char *out, size_t outsz, int *shell)
{
	char	buf[CMDLINE_MAX];
	ssize_t	n;

	*shell = 0;
	if ((n = proc_read(pid, "cmdline", buf, sizeof(buf))) <= 0) {
		/* a kernel thread or a zombie: its short name */
		if (proc_read(pid, "comm", buf, sizeof(buf)) <= 0)
			return -1;
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(out, outsz, "%s", buf);
		return 0;
	}
	agent_peer_cmdline(buf, (size_t)n, out, outsz, shell);
	return 0;
}

static void
chain_who(pid_t pid, char *who, size_t whosz)
{
	char		 cmds[WHO_PROCS][CMDLINE_MAX];
	const char	*procs[WHO_PROCS];
	uid_t		 uid;
	size_t		 n = 0;
	int		 shell;

	uid = proc_uid(pid);
	while (pid > 1 && n < WHO_PROCS && pid != getpid()) {
		if (n > 0 && proc_uid(pid) != uid)
			break;		/* sshd, systemd, a terminal of root */
		if (proc_cmd(pid, cmds[n], sizeof(cmds[n]), &shell) != 0)
			break;
		procs[n] = cmds[n];
		n++;
		if (shell)
			break;
		pid = proc_ppid(pid);
	}
	if (n == 0) {
		snprintf(who, whosz, "an unknown process");
		return;
	}
	tk_ptext_requester(who, whosz, procs, n);
}

/*
 * The host a forwarded connection came through, by its key: named by a
 * known_hosts line (a hashed one only for a name ~/.ssh/config uses),
 * else by the key's fingerprint alone.
 */
static void
host_who(const uint8_t *key, size_t keylen, char *who, size_t whosz)
{
	static const char *const files[] = {
		"/.ssh/known_hosts", "/.ssh/known_hosts2",
		"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"
	};
	const char	*home;
	char		 fp[80], path[4096], host[256], **cand = NULL;
	size_t		 ncand = 0, i;
	int		 found = -1;

	if (tk_blob_fingerprint(key, keylen, TK_FP_SHA256, fp,
	    sizeof(fp)) != 0)
		snprintf(fp, sizeof(fp), "(unknown fingerprint)");
	if ((home = getenv("HOME")) == NULL || *home != '/')
		home = NULL;
	if (home != NULL && snprintf(path, sizeof(path), "%s/.ssh/config",
	    home) < (int)sizeof(path))
		(void)tk_ssh_config_names(path, &cand, &ncand);
	for (i = 0; found != 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		if (files[i][0] == '/' && files[i][1] == '.') {
			if (home == NULL || snprintf(path, sizeof(path),
			    "%s%s", home, files[i]) >= (int)sizeof(path))
				continue;
		} else
			snprintf(path, sizeof(path), "%s", files[i]);
		found = tk_known_hosts_name(path, key, keylen,
		    (const char *const *)cand, ncand, host, sizeof(host));
	}
	tk_ssh_config_names_free(cand, ncand);
	tk_ptext_requester_host(who, whosz, found == 0 ? host : NULL, fp);
}

void
agent_peer_who(const struct agent_conn *c, char *who, size_t whosz)
{
	const uint8_t	*key;
	size_t		 keylen;

	if (whosz == 0)
		return;
	who[0] = '\0';
	if (c == NULL)
		return;
	if (agent_conn_hostkey(c, &key, &keylen) == 0)
		host_who(key, keylen, who, whosz);
	else if (c->pid > 0)
		chain_who(c->pid, who, whosz);
	else
		snprintf(who, whosz, "an unknown process");
}
