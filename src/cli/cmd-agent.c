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
#include "pkcs11/p11.h"
#include "ssh/certfile.h"

#define AGENT_OPT_DESTS	16
#define OPT_DEST	1000
#define OPT_KNOWN_HOSTS	1001
#define OPT_EMPTY	1002

struct opts {
	const char	*sock;
	int		 foreground;
	int		 debug;
	int		 csh;		/* -1: from $SHELL */
	int		 kill;
	uint32_t	 life;
	const char	*allow;
	const char	*upstream;	/* -A */
	char		 updir[PATH_MAX];	/* -A auto: private dir */
	int		 empty;		/* --empty */
	char		*dest[AGENT_OPT_DESTS];	/* --dest */
	size_t		 ndest;
	char		*khfile[AGENT_OPT_DESTS];	/* --known-hosts */
	size_t		 nkhfile;
	char		**certs;	/* --cert, in order */
	size_t		 ncerts;
	uint32_t	 pin_timeout;	/* --pin-timeout */
	uint32_t	 pin_max_age;	/* --pin-max-age */
	int		 keep_pin_on;	/* --keep-pin-on: AGENT_KEEP_* */
};

#define OPT_CERT	256
#define OPT_PIN_TIMEOUT	257
#define OPT_PIN_MAX_AGE	258
#define OPT_KEEP_PIN_ON	259

static int	log_stderr;
static struct agent_upstream *up;	/* -A */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: tokenkeys agent [-cDdks] [-A socket] [-a socket] "
	    "[-P allowlist]\n                       [-t life] [--config FILE] "
	    "[--dest DEST]\n                       [--known-hosts FILE] "
	    "[--cert PATH] [--pin-timeout time]\n"
	    "                       [--pin-max-age time] "
	    "[--keep-pin-on suspend,lock]\n"
	    "                       [--empty | URI ...]\n"
	    "\n"
	    "An SSH agent for keys on PKCS#11 tokens.  With no URI it serves "
	    "every key\nof every token p11-kit knows; with URIs, the keys "
	    "matching them.\n"
	    "\n"
	    "  -A socket     pass what is not a token key (ssh-add keyfile) "
	    "to the agent\n                at this socket (OpenSSH's "
	    "ssh-agent); auto: our own ssh-agent\n"
	    "  -a socket     bind the agent to this socket path\n"
	    "  -c, -s        print C-shell / Bourne shell commands\n"
	    "  -D            stay in the foreground\n"
	    "  -d            debug: foreground, log requests to stderr\n"
	    "  -k            kill the agent named by $SSH_AGENT_PID\n"
	    "  -P allowlist  module paths ssh-add -s and module-path= may "
	    "use\n                (default %s)\n"
	    "  -t life       lifetime of served keys (seconds, or 1h30m...)\n"
	    "  --config FILE serve the URIs in FILE too (one a line, "
	    "# comments)\n"
	    "  --dest DEST   use the keys served from the start only to log "
	    "in to DEST,\n                as ssh-add -h: host, user@host, "
	    "hostA>hostB (repeatable)\n"
	    "  --known-hosts FILE\n                host keys for --dest from "
	    "FILE (repeatable; default\n                ~/.ssh/known_hosts and "
	    "/etc/ssh/ssh_known_hosts)\n"
	    "  --empty       serve nothing until ssh-add -s asks\n"
	    "  --cert PATH   serve the certificates in this file or directory "
	    "with their\n                keys (repeatable; and always "
	    "~/.config/tokenkeys/certs/)\n"
	    "  --pin-timeout time\n"
	    "                log a token out after this long without a "
	    "signature\n"
	    "  --pin-max-age time\n"
	    "                log a token out this long after its login\n"
	    "  --keep-pin-on suspend,lock\n"
	    "                stay logged in when the system sleeps / the "
	    "screen locks\n"
	    "                (default: log every token out then)\n"
	    "  -h, --help    this help\n"
	    "\nSee tokenkeys-agent(1).\n", AGENT_ALLOWLIST_DEFAULT);
}

/* --keep-pin-on: a comma-separated list of suspend and lock. */
static int
parse_keep(const char *s, int *out)
{
	char	*copy, *p, *save = NULL;
	int	 r = 0;

	*out = 0;
	if ((copy = strdup(s)) == NULL)
		return TK_ERR_NOMEM;
	for (p = strtok_r(copy, ",", &save); p != NULL && r == 0;
	    p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "suspend") == 0)
			*out |= AGENT_KEEP_SUSPEND;
		else if (strcmp(p, "lock") == 0)
			*out |= AGENT_KEEP_LOCK;
		else
			r = TK_ERR_INVAL;
	}
	if (*out == 0)
		r = TK_ERR_INVAL;
	free(copy);
	return r;
}

/* ssh-agent's time format: 90, 90s, 10m, 1h30m, 2d, 1w. */
static int
parse_life(const char *s, uint32_t *out)
{
	unsigned long long	 total = 0, v;
	char			*end;
	int			 r = TK_ERR_RANGE;

	if (*s == '\0')
		goto out;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			goto out;
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v > UINT32_MAX)
			goto out;
		switch (*end) {
		case '\0':
		case 's': case 'S':
			break;
		case 'm': case 'M':
			v *= 60;
			break;
		case 'h': case 'H':
			v *= 3600;
			break;
		case 'd': case 'D':
			v *= 86400;
			break;
		case 'w': case 'W':
			v *= 604800;
			break;
		default:
			goto out;
		}
		total += v;
		if (total > UINT32_MAX)
			goto out;
		s = *end == '\0' ? end : end + 1;
	}
	*out = (uint32_t)total;
	r = 0;
 out:
	return r;
}

static int
want_csh(const struct opts *o)
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
kill_agent(const struct opts *o)
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
print_env(const struct opts *o, const char *path, long pid)
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

static int
add_cert_path(struct opts *o, char *path)
{
	char	**nv;

	if ((nv = reallocarray(o->certs, o->ncerts + 1, sizeof(*nv))) == NULL) {
		cli_warnx("agent: out of memory");
		return -1;
	}
	o->certs = nv;
	o->certs[o->ncerts++] = path;
	return 0;
}

/*
 * The certs directory and every --cert: a --cert that does not exist is
 * said now (it is followed all the same, and served once it appears).
 */
static int
follow_certs(struct agent *a, const struct opts *o)
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

/* --config: the command line's URIs after the file's, in one array. */
static int
agent_args(char ***uv, size_t *nuv, int argc, char **argv)
{
	char	**nu;
	int	  i;

	if ((nu = reallocarray(*uv, *nuv + (size_t)argc + 1,
	    sizeof(*nu))) == NULL)
		goto fail;
	*uv = nu;
	for (i = 0; i < argc; i++) {
		if ((nu[*nuv] = strdup(argv[i])) == NULL)
			goto fail;
		(*nuv)++;
	}
	nu[*nuv] = NULL;
	return 0;
 fail:
	cli_warnx("agent: out of memory");
	return 1;
}

/* --dest: the restrict-destination constraint ssh-add -h would send. */
static int
make_dests(const struct opts *o, struct agent_dests **out)
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
serve(struct agent *a, const struct opts *o, int fd, int argc, char **argv,
    struct agent_dests *dests)
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
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "config", required_argument, NULL, 'f' },
		{ "dest", required_argument, NULL, OPT_DEST },
		{ "known-hosts", required_argument, NULL, OPT_KNOWN_HOSTS },
		{ "empty", no_argument, NULL, OPT_EMPTY },
		{ "cert", required_argument, NULL, OPT_CERT },
		{ "pin-timeout", required_argument, NULL, OPT_PIN_TIMEOUT },
		{ "pin-max-age", required_argument, NULL, OPT_PIN_MAX_AGE },
		{ "keep-pin-on", required_argument, NULL, OPT_KEEP_PIN_ON },
		{ NULL, 0, NULL, 0 }
	};
	const struct agent_ops	*ops;
	struct agent_dests	*dests = NULL;
	struct opts		 o;
	struct agent		 a;
	struct rlimit		 rl = { 0, 0 };
	char			 dir[PATH_MAX], path[PATH_MAX];
	pid_t			 pid;
	char			**uv = NULL;	/* --config, then argv */
	size_t			 nuv = 0;
	const char		*config = NULL;
	int			 ch, fd = -1, made_dir = 0, made_sock = 0;
	int			 inited = 0, r = 1;

#ifdef M_ARENA_MAX
	/*
	 * One malloc arena for all connection threads: glibc would give
	 * each thread its own and keep it after the thread ends, so memory
	 * would grow with every new high of concurrent connections.
	 */
	(void)mallopt(M_ARENA_MAX, 1);
#endif
	memset(&o, 0, sizeof(o));
	o.csh = -1;
	o.allow = AGENT_ALLOWLIST_DEFAULT;
	dir[0] = path[0] = '\0';
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":A:a:cDdksP:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'A':
			o.upstream = optarg;
			break;
		case 'a':
			o.sock = optarg;
			break;
		case 'c':
			o.csh = 1;
			break;
		case 's':
			o.csh = 0;
			break;
		case 'D':
			o.foreground = 1;
			break;
		case 'd':
			o.foreground = 1;
			o.debug = 1;
			break;
		case 'k':
			o.kill = 1;
			break;
		case 'P':
			o.allow = optarg;
			break;
		case 't':
			if (parse_life(optarg, &o.life) != 0) {
				cli_warnx("agent: -t %s: not a lifetime "
				    "(seconds, or e.g. 1h30m)", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DEST:
		case OPT_KNOWN_HOSTS:
			if ((ch == OPT_DEST ? o.ndest : o.nkhfile) >=
			    AGENT_OPT_DESTS) {
				cli_warnx("agent: more than %d --%s options",
				    AGENT_OPT_DESTS, ch == OPT_DEST ? "dest" :
				    "known-hosts");
				return EXIT_USAGE;
			}
			if (ch == OPT_DEST)
				o.dest[o.ndest++] = optarg;
			else
				o.khfile[o.nkhfile++] = optarg;
			break;
		case OPT_EMPTY:
			o.empty = 1;
			break;
		case OPT_CERT:
			if (add_cert_path(&o, optarg) != 0)
				return 1;
			break;
		case OPT_PIN_TIMEOUT:
		case OPT_PIN_MAX_AGE:
			if (parse_life(optarg, ch == OPT_PIN_TIMEOUT ?
			    &o.pin_timeout : &o.pin_max_age) != 0 ||
			    (ch == OPT_PIN_TIMEOUT ? o.pin_timeout :
			    o.pin_max_age) == 0) {
				cli_warnx("agent: --%s %s: not a duration "
				    "(seconds, or e.g. 10m, 1h30m)",
				    ch == OPT_PIN_TIMEOUT ? "pin-timeout" :
				    "pin-max-age", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_KEEP_PIN_ON:
			if (parse_keep(optarg, &o.keep_pin_on) != 0) {
				cli_warnx("agent: --keep-pin-on %s: give "
				    "suspend, lock or suspend,lock", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'f':
			config = optarg;
			break;
		default:
			return cli_bad_option("agent", ch, argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (o.kill)
		return kill_agent(&o);
	if (config != NULL) {
		if ((r = cli_urifile_read(config, &uv, &nuv)) == 0)
			r = agent_args(&uv, &nuv, argc, argv);
		if (r != 0)
			goto out;
		argc = (int)nuv;
		argv = uv;
	}
	r = 1;
	if (o.empty && (argc > 0 || o.ndest > 0)) {
		cli_warnx("agent: --empty serves nothing at start: %s",
		    argc > 0 ? "give no URI with it" : "--dest has no keys "
		    "to apply to (use ssh-add -h with ssh-add -s)");
		r = EXIT_USAGE;
		goto out;
	}
	if (o.nkhfile > 0 && o.ndest == 0) {
		cli_warnx("agent: --known-hosts is for --dest");
		r = EXIT_USAGE;
		goto out;
	}

	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)setrlimit(RLIMIT_CORE, &rl);
	signal(SIGPIPE, SIG_IGN);

	if (agent_hclient_ops(&ops) != 0) {
		cli_warnx("agent: this build cannot start module helpers "
		    "(src/helper/hclient.c missing)");
		return 1;
	}
	if (agent_init(&a, ops) != 0) {
		cli_warnx("agent: out of memory");
		return 1;
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
	if ((r = check_uris(&a, argc, argv)) != 0)
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
	r = serve(&a, &o, fd, argc, argv, dests);
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
	cli_urifile_free(uv, nuv);
	agent_dests_unref(dests);
	free(o.certs);
	return r;
}
