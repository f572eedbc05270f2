/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys agent: an SSH agent that signs with token keys.  Start-up
 * follows ssh-agent (options, eval-able output, -k); the work is in
 * src/agent*.c.  Token calls go to one helper process per module
 * (src/helper/hclient.h): this process never loads a PKCS#11 module.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/agent.h"
#include "cli/cli.h"
#include "cli/cli-agentopts.h"
#include "pkcs11/p11.h"
#include "ssh/certfile.h"

static int	log_stderr;
static struct agent_upstream *up;	/* -A */

static int
want_csh(const struct agent_opts *o)
{
	const char	*sh;
	size_t		 n;

	if (o->csh >= 0)
		return o->csh;
	if ((sh = getenv("SHELL")) == NULL || (n = strlen(sh)) < 3)
		return 0;
	return strcmp(sh + n - 3, "csh") == 0;
}

static int
kill_agent(const struct agent_opts *o)
{
	const char	*s;
	char		*end;
	long		 pid;
	int		 r = 1;

	if ((s = getenv("SSH_AGENT_PID")) == NULL || *s == '\0') {
		cli_warnx("agent -k: SSH_AGENT_PID is not set, cannot kill "
		    "the agent");
		goto out;
	}
	errno = 0;
	pid = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || pid < 2 || pid > INT_MAX) {
		cli_warnx("agent -k: SSH_AGENT_PID=\"%s\" is not a process id",
		    s);
		goto out;
	}
	if (kill((pid_t)pid, SIGTERM) != 0) {
		cli_warnx("agent -k: kill %ld: %s", pid, strerror(errno));
		goto out;
	}
	if (want_csh(o))
		printf("unsetenv SSH_AUTH_SOCK;\nunsetenv SSH_AGENT_PID;\n");
	else
		printf("unset SSH_AUTH_SOCK;\nunset SSH_AGENT_PID;\n");
	printf("echo Agent pid %ld killed;\n", pid);
	r = 0;
 out:
	return r;
}

static void
print_env(const struct agent_opts *o, const char *path, long pid)
{
	if (want_csh(o)) {
		printf("setenv SSH_AUTH_SOCK %s;\n", path);
		printf("setenv SSH_AGENT_PID %ld;\n", pid);
	} else {
		printf("SSH_AUTH_SOCK=%s; export SSH_AUTH_SOCK;\n", path);
		printf("SSH_AGENT_PID=%ld; export SSH_AGENT_PID;\n", pid);
	}
	printf("echo Agent pid %ld;\n", pid);
	fflush(stdout);
}

static void
log_line(int level, const char *msg)
{
	char	safe[1200];

	tk_str_sanitize(msg, safe, sizeof(safe));
	if (log_stderr)
		fprintf(stderr, "tokenkeys agent: %s\n", safe);
	else
		syslog(level == AGENT_LOG_ERR ? LOG_ERR : level ==
		    AGENT_LOG_INFO ? LOG_INFO : LOG_DEBUG, "%s", safe);
}

/* A line a helper (its module, mostly) wrote to stderr: to our log. */
static void
helper_stderr(void *arg, const char *module, const char *line)
{
	agent_log(arg, AGENT_LOG_INFO, "helper for %s: %s", module, line);
}

/* systemd socket activation: our socket is fd 3. */
static int
activated_socket(void)
{
	const char	*p, *n;
	int		 fd = -1;

	p = getenv("LISTEN_PID");
	n = getenv("LISTEN_FDS");
	if (p == NULL || n == NULL || atol(p) != (long)getpid() ||
	    atoi(n) < 1)
		goto out;
	fd = 3;
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
 out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}

/* The default: a private 0700 directory under $XDG_RUNTIME_DIR or /tmp. */
static int
make_sockdir(char *dir, size_t dirsz)
{
	const char	*base;

	base = getenv("XDG_RUNTIME_DIR");
	if (base == NULL || *base != '/' || access(base, W_OK | X_OK) != 0)
		base = "/tmp";
	if (snprintf(dir, dirsz, "%s/tokenkeys-XXXXXX", base) >=
	    (int)dirsz)
		return TK_ERR_RANGE;
	if (mkdtemp(dir) == NULL)
		return TK_ERR_SYSTEM;
	if (chmod(dir, 0700) != 0)
		return TK_ERR_SYSTEM;
	return 0;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd = -1, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		cli_warnx("agent: socket path %s is too long", path);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		cli_warnx("agent: socket: %s", strerror(errno));
		goto out;
	}
	old = umask(0177);
	e = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (e != 0 || listen(fd, 128) != 0) {
		cli_warnx("agent: cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		fd = -1;
	}
 out:
	return fd;
}

/* A URI's pin-source file must be the user's alone (if it exists yet). */
static int
check_pin_source(const char *uri, const char *safe)
{
	char	*path = NULL, why[128], spath[512];
	int	 r;

	if ((r = tk_pinsrc_from_uri(uri, &path)) != 0) {
		if (r != TK_ERR_DENIED && r != TK_ERR_INVAL) {
			r = cli_uri_error(uri, r);
			goto out;
		}
		/* a URI with pin-value is not echoed: it holds a PIN */
		cli_warnx("agent: %s: %s", r == TK_ERR_DENIED ? "a URI" : safe,
		    tk_pinsrc_uri_error(r));
		r = EXIT_USAGE;
		goto out;
	}
	if (path == NULL)
		goto out;
	tk_str_sanitize(path, spath, sizeof(spath));
	r = tk_pinsrc_check(path, why, sizeof(why));
	if (r == TK_ERR_NOT_FOUND) {
		cli_warnx("agent: warning: pin-source %s does not exist yet; "
		    "it is read when a login needs it", spath);
		r = 0;
	} else if (r != 0) {
		cli_warnx("agent: pin-source %s refused: %s", spath, why);
		r = 1;
	}
 out:
	free(path);
	return r;
}

/*
 * The certs directory and every --cert: a --cert that does not exist is
 * said now (it is followed all the same, and served once it appears).
 */
static int
follow_certs(struct agent *a, const struct agent_opts *o)
{
	struct stat	st;
	char		dir[PATH_MAX], safe[512];
	size_t		i;
	int		r = 0;

	if (tk_certfile_default_dir(dir, sizeof(dir)) == 0)
		r = agent_certdir_add(a, dir);
	for (i = 0; r == 0 && i < o->ncerts; i++) {
		tk_str_sanitize(o->certs[i], safe, sizeof(safe));
		if (stat(o->certs[i], &st) != 0)
			cli_warnx("agent: --cert %s: %s (followed: served "
			    "once it exists)", safe, strerror(errno));
		if ((r = agent_certdir_add(a, o->certs[i])) != 0)
			cli_warnx("agent: --cert %s: %s", safe,
			    tk_strerror(r));
	}
	return r;
}

/* Refuse bad URIs and modules before daemonising, where the user sees. */
static int
check_uri(struct agent *a, const char *uri)
{
	char	path[PATH_MAX], rpath[PATH_MAX], safe[512];
	int	r;

	tk_str_sanitize(uri, safe, sizeof(safe));
	if ((r = check_pin_source(uri, safe)) != 0)
		goto out;
	r = tk_uri_module_path(uri, path, sizeof(path));
	if (r == TK_ERR_NOT_FOUND) {
		r = 0;
		goto out;
	}
	if (r == 0)
		r = agent_module_allowed(a, path, rpath, sizeof(rpath));
	if (r == TK_ERR_DENIED) {
		cli_warnx("agent: %s: module-path is not in the allowlist "
		    "(-P %s)", safe, a->allowlist);
		r = 1;
	} else if (r == TK_ERR_NOT_FOUND) {
		cli_warnx("agent: %s: the module-path file does not exist",
		    safe);
		r = 1;
	} else if (r != 0)
		r = cli_uri_error(uri, r);
 out:
	return r;
}

static int
check_uris(struct agent *a, int argc, char **argv)
{
	int	i, r = 0;

	for (i = 0; i < argc && r == 0; i++)
		r = check_uri(a, argv[i]);
	return r;
}

static void
daemonise(void)
{
	int	fd;

	if (setsid() < 0)
		cli_warnx("agent: setsid: %s", strerror(errno));
	if (chdir("/") != 0)
		cli_warnx("agent: chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/* -A: the other agent, checked now so that mistakes reach the terminal. */
static int
set_upstream(struct agent *a, const char *arg, const char *ourpath)
{
	char	rpath[PATH_MAX], safe[512];
	int	r;

	tk_str_sanitize(arg, safe, sizeof(safe));
	if (realpath(arg, rpath) == NULL)
		r = TK_ERR_NOT_FOUND;
	else
		r = agent_upstream_socket(rpath, ourpath, &up);
	if (r != 0) {
		cli_warnx("agent: -A %s: %s", safe,
		    r == TK_ERR_NOT_FOUND ? "no such socket" :
		    r == TK_ERR_DENIED ? "not a socket owned by you" :
		    r == TK_ERR_INVAL ? "that is this agent's own socket" :
		    tk_strerror(r));
		return -1;
	}
	a->up = up;
	return 0;
}

static int
make_dests(const struct agent_opts *o, struct agent_dests **out)
{
	struct tk_buf	b;
	char		why[256];
	int		r;

	tk_buf_init(&b, AGENT_MAX_FRAME, 0);
	if ((r = cli_dest_encode(o->dest, o->ndest, o->khfile,
	    o->nkhfile, &b)) != 0)
		goto out;
	if (agent_dests_parse(tk_buf_ptr(&b), tk_buf_avail(&b), out, why,
	    sizeof(why)) != 0) {
		cli_warnx("agent: --dest: %s", why);
		r = EXIT_USAGE;
	}
 out:
	tk_buf_free(&b);
	return r;
}

static int
serve(struct agent *a, const struct agent_opts *o, int fd, int argc,
    char **argv, struct agent_dests *dests)
{
	char	upsock[PATH_MAX];
	time_t	deadline = 0;
	int	i, r;

	if (o->life > 0)
		deadline = agent_now(a) + (time_t)o->life;
	if (o->updir[0] != '\0') {
		/* -A auto: our own ssh-agent, started after daemonising */
		if (agent_child_start(a, o->updir, &a->child, upsock,
		    sizeof(upsock)) != 0 ||
		    set_upstream(a, upsock, NULL) != 0) {
			agent_log(a, AGENT_LOG_ERR, "-A auto: no ssh-agent to "
			    "pass key files to: stopping");
			return 1;
		}
	}
	(void)agent_load_registry(a);
	agent_certdir_poll(a);
	if (argc == 0 && !o->empty)
		(void)agent_add_uri(a, "pkcs11:", "", deadline, 0, NULL, 0, 1,
		    dests);
	for (i = 0; i < argc; i++)
		if ((r = agent_add_uri(a, argv[i], argv[i], deadline, 0, NULL,
		    0, 1, dests)) != 0)
			agent_log(a, AGENT_LOG_ERR, "%s: not served: %s",
			    argv[i], tk_strerror(r));
	if (o->empty)
		agent_log(a, AGENT_LOG_INFO, "serving no key until ssh-add -s "
		    "(--empty)");
	else
		agent_log(a, AGENT_LOG_INFO, "serving %zu key(s)%s", a->nkeys,
		    dests != NULL ? ", for the --dest destinations only" : "");
	/* how long a PIN stays; a notice while a token waits */
	(void)agent_policy_start(a);
	(void)agent_logind_start(a);
	(void)agent_notify_start(a);
	r = agent_serve(a, fd) == 0 ? 0 : 1;
	agent_notify_stop(a);
	agent_logind_stop(a);
	agent_policy_stop(a);
	return r;
}

int
agent_main(int argc, char **argv)
{
	const struct agent_ops	*ops;
	struct agent_dests	*dests = NULL;
	struct agent_opts	 o;
	struct agent		 a;
	struct rlimit		 rl = { 0, 0 };
	char			 dir[PATH_MAX], path[PATH_MAX];
	pid_t			 pid;
	int			 fd = -1, made_dir = 0, made_sock = 0;
	int			 inited = 0, r = 1;

#ifdef M_ARENA_MAX
	/*
	 * One malloc arena for all connection threads: glibc would give
	 * each thread its own and keep it after the thread ends, so memory
	 * would grow with every new high of concurrent connections.
	 */
	(void)mallopt(M_ARENA_MAX, 1);
#endif
	dir[0] = path[0] = '\0';
	if ((r = agent_opts_parse(argc, argv, &o)) != -1)
		goto out;
	if (o.kill) {
		r = kill_agent(&o);
		goto out;
	}
	r = 1;

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	signal(SIGPIPE, SIG_IGN);

	if (agent_hclient_ops(&ops) != 0) {
		cli_warnx("agent: this build cannot start module helpers "
		    "(src/helper/hclient.c missing)");
		goto out;
	}
	if (agent_init(&a, ops) != 0) {
		cli_warnx("agent: out of memory");
		goto out;
	}
	inited = 1;
	a.debug = o.debug;
	a.lifetime = o.life;
	a.pin_timeout = o.pin_timeout;
	a.pin_max_age = o.pin_max_age;
	a.keep_pin_on = o.keep_pin_on;
	a.logfn = log_line;
	log_stderr = 1;
	tk_hclient_set_errlog(helper_stderr, &a);
	if ((a.allowlist = strdup(o.allow)) == NULL)
		goto out;
	if ((r = check_uris(&a, o.nuris, o.uris)) != 0)
		goto out;
	if (o.ndest > 0 && (r = make_dests(&o, &dests)) != 0)
		goto out;
	r = 1;
	if (follow_certs(&a, &o) != 0)
		goto out;

	if ((fd = activated_socket()) >= 0) {
		o.foreground = 1;
		snprintf(path, sizeof(path), "(socket from systemd)");
	} else {
		if (o.sock != NULL) {
			if (snprintf(path, sizeof(path), "%s", o.sock) >=
			    (int)sizeof(path))
				goto out;
		} else {
			if (make_sockdir(dir, sizeof(dir)) != 0) {
				cli_warnx("agent: cannot make a socket "
				    "directory: %s", strerror(errno));
				goto out;
			}
			made_dir = 1;
			snprintf(path, sizeof(path), "%s/agent.%ld", dir,
			    (long)getpid());
		}
		if ((fd = listen_on(path)) < 0)
			goto out;
		made_sock = 1;
	}
	if (o.upstream != NULL && strcmp(o.upstream, "auto") == 0) {
		if (make_sockdir(o.updir, sizeof(o.updir)) != 0) {
			cli_warnx("agent: -A auto: cannot make a private "
			    "directory: %s", strerror(errno));
			o.updir[0] = '\0';
			goto out;
		}
	} else if (o.upstream != NULL && set_upstream(&a, o.upstream,
	    made_sock ? path : NULL) != 0)
		goto out;

	if (!o.foreground) {
		fflush(stdout);
		if ((pid = fork()) < 0) {
			cli_warnx("agent: fork: %s", strerror(errno));
			goto out;
		}
		if (pid > 0) {
			print_env(&o, path, (long)pid);
			made_sock = made_dir = 0;	/* the child's now */
			o.updir[0] = '\0';
			close(fd);
			fd = -1;
			r = 0;
			goto out;
		}
		daemonise();
		log_stderr = 0;
		openlog("tokenkeys-agent", LOG_PID, LOG_AUTH);
	} else if (made_sock)
		print_env(&o, path, (long)getpid());
	a.tty_ok = o.foreground && isatty(STDIN_FILENO);
	if (agent_signals_init() != 0) {
		agent_log(&a, AGENT_LOG_ERR, "cannot set up signal handling");
		goto out;
	}

	/* Helpers are spawned from here on: after daemonising. */
	r = serve(&a, &o, fd, o.nuris, o.uris, dests);
 out:
	if (made_sock && path[0] != '\0')
		unlink(path);
	if (made_dir)
		rmdir(dir);
	if (fd >= 0)
		close(fd);
	if (inited)
		agent_child_stop(a.child);
	if (o.updir[0] != '\0')
		rmdir(o.updir);
	if (inited)
		agent_free(&a);
	if (up != NULL)
		agent_upstream_free(up);
	agent_dests_unref(dests);
	agent_opts_free(&o);
	return r;
}
