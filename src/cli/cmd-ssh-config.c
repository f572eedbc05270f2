/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys ssh-config: each selected key's public half in its own file,
 * and an ssh_config block naming those files with IdentitiesOnly, which
 * works on upstream, Debian and Fedora OpenSSH alike (a pkcs11: URI in
 * IdentityFile works only on Fedora's).
 */
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-agent.h"
#include "cli/cli-pubfile.h"

enum { OPT_DIR = 256, OPT_HOST, OPT_APPEND, OPT_MODULE, OPT_AGENT };

struct sshcfg {
	const char		*dir;
	const char		*host;
	const char		*append;
	const char		*agent;
	const char		*module;
	struct tk_ctx		*ctx;
	struct tk_keylist	*keys;
	int			 ex;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys ssh-config [-v] [--dir DIR] "
	    "[--host PATTERN] [--append FILE]\n"
	    "                            [--agent SOCKET] [--module PATH] "
	    "[URI ...]\n"
	    "Write each key's public half to DIR (default ~/.ssh/tokenkeys) "
	    "and print an\nssh_config block that offers exactly those keys "
	    "from the agent.\n");
}

/* A path for ssh_config: "~/..." under $HOME, quoted if it has a blank. */
static void
config_path(const char *path, char *buf, size_t bufsz)
{
	char	t[4096];

	cli_path_tilde(path, t, sizeof(t));
	if (strlen(t) + 3 > bufsz)
		buf[0] = '\0';
	else if (strpbrk(t, " \t") != NULL)
		snprintf(buf, bufsz, "\"%s\"", t);
	else
		snprintf(buf, bufsz, "%s", t);
}

/* A file in dir whose key is on no token any more: say so, keep it. */
static int
check_gone(void *arg, const char *path, const char *uri)
{
	struct sshcfg		*o = arg;
	struct tk_keylist	*l = NULL;
	char			 t[4096];
	size_t			 i;

	for (i = 0; i < tk_keylist_count(o->keys); i++)
		if (strcmp(tk_key_uri(tk_keylist_get(o->keys, i)), uri) == 0)
			return 0;
	if (tk_find_keys(o->ctx, uri, 0, &l) == TK_ERR_NOT_FOUND) {
		cli_path_tilde(path, t, sizeof(t));
		cli_warnx("ssh-config: %s: its key is on no token now (token "
		    "absent or key deleted); file kept", t);
	}
	tk_keylist_free(l);
	return 0;
}

/* Does config file f already have a "Host PATTERN" line? */
static int
has_host(const char *file, const char *pattern)
{
	FILE	*f;
	char	 line[4096], *p, *e;
	int	 found = 0;

	if ((f = fopen(file, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (strncasecmp(p, "host", 4) != 0 ||
		    !(isspace((unsigned char)p[4]) || p[4] == '='))
			continue;
		for (p += 4; isspace((unsigned char)*p) || *p == '='; p++)
			;
		for (e = p + strlen(p); e > p &&
		    isspace((unsigned char)e[-1]); e--)
			;
		*e = '\0';
		found = strcmp(p, pattern) == 0;
	}
	fclose(f);
	return found;
}

static int
append_block(const char *file, const char *block)
{
	char	last = '\n';
	int	fd, r = 0;

	if ((fd = open(file, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) < 0)
		return TK_ERR_SYSTEM;
	if (lseek(fd, -1, SEEK_END) >= 0 && read(fd, &last, 1) != 1)
		last = '\n';
	if ((last != '\n' && write(fd, "\n", 1) != 1) ||
	    write(fd, "\n", 1) != 1 ||
	    write(fd, block, strlen(block)) != (ssize_t)strlen(block))
		r = TK_ERR_SYSTEM;
	if (close(fd) != 0)
		r = TK_ERR_SYSTEM;
	return r;
}

/* Which agent to name: --agent, else none (with a note if needed). */
static const char *
agent_line(const struct sshcfg *o)
{
	const char	*sock = getenv("SSH_AUTH_SOCK");

	if (o->agent != NULL)
		return o->agent;
	if (sock == NULL || *sock == '\0')
		cli_warnx("ssh-config: SSH_AUTH_SOCK is not set: start "
		    "'tokenkeys agent' or name its socket with --agent");
	else if (cli_agent_is_tokenkeys(sock) == 0)
		cli_warnx("ssh-config: SSH_AUTH_SOCK is not a tokenkeys "
		    "agent: name the tokenkeys agent's socket with --agent");
	return NULL;
}

static int
build(struct sshcfg *o, char **blockp)
{
	const struct tk_key	*k;
	char			 path[4096], cp[4096], *block = NULL;
	const char		*agent, *what;
	size_t			 i, n, len;
	FILE			*f = NULL;
	int			 state, r;

	*blockp = NULL;
	if ((f = open_memstream(&block, &len)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	fprintf(f, "Host %s\n", o->host);
	if ((agent = agent_line(o)) != NULL) {
		config_path(agent, cp, sizeof(cp));
		fprintf(f, "    IdentityAgent %s\n", cp);
	}
	n = tk_keylist_count(o->keys);
	for (i = 0; i < n; i++) {
		k = tk_keylist_get(o->keys, i);
		if ((r = cli_pubfile_write(o->dir, k, 0, path, sizeof(path),
		    &state)) != 0) {
			cli_warnx("ssh-config: cannot write the key's file in "
			    "%s: %s", o->dir, tk_strerror(r));
			goto out;
		}
		config_path(path, cp, sizeof(cp));
		fprintf(f, "    IdentityFile %s\n", cp);
		what = state == CLI_PUB_NEW ? "written" :
		    state == CLI_PUB_CHANGED ? "rewritten: the key changed" :
		    NULL;
		if (what != NULL)
			fprintf(stderr, "tokenkeys: %s: %s\n", cp, what);
	}
	fprintf(f, "    IdentitiesOnly yes\n");
	if (fclose(f) != 0) {
		f = NULL;
		r = TK_ERR_NOMEM;
		goto out;
	}
	f = NULL;
	*blockp = block;
	block = NULL;
	r = 0;
 out:
	if (f != NULL)
		fclose(f);
	free(block);
	return r;
}

static int
parse(int argc, char **argv, struct sshcfg *o)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch, ex = 0;

	opterr = 0;
	optind = 1;
	while (ex == 0 &&
	    (ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			cli_set_verbose(1);
			break;
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_HOST:
			o->host = optarg;
			break;
		case OPT_APPEND:
			o->append = optarg;
			break;
		case OPT_AGENT:
			o->agent = optarg;
			break;
		case OPT_MODULE:
			o->module = optarg;
			break;
		case 'h':
			usage(stdout);
			ex = -1;
			break;
		default:
			ex = cli_bad_option("ssh-config", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && (strpbrk(o->host, "\n\r\"") != NULL ||
	    *o->host == '\0')) {
		cli_warnx("ssh-config: --host: give a host pattern on one "
		    "line, without quotes");
		ex = EXIT_USAGE;
	}
	if (ex == 0 && o->agent != NULL && strpbrk(o->agent, "\n\r\"")) {
		cli_warnx("ssh-config: --agent: a socket path on one line");
		ex = EXIT_USAGE;
	}
	return ex;
}

static int
find(struct sshcfg *o, int nuris, char **uris)
{
	char	*all[] = { "pkcs11:" };
	int	 i, r;

	if (nuris == 0) {
		nuris = 1;
		uris = all;
	}
	for (i = 0; i < nuris; i++) {
		r = tk_find_keys(o->ctx, uris[i], 0, &o->keys);
		if (r == TK_ERR_NOT_FOUND) {
			cli_warnx("ssh-config: no key matches %s; see "
			    "'tokenkeys list'", uris[i]);
			return 1;
		}
		if (r != 0)
			return cli_uri_error(uris[i], r);
	}
	return 0;
}

int
ssh_config_main(int argc, char **argv)
{
	struct sshcfg	 o;
	char		 dir[4096], *block = NULL;
	int		 r, ex;

	memset(&o, 0, sizeof(o));
	o.host = "*";
	if ((ex = parse(argc, argv, &o)) != 0) {
		ex = ex < 0 ? 0 : ex;
		goto out;
	}
	if (o.dir == NULL) {
		if (cli_pubdir_default(dir, sizeof(dir)) != 0) {
			cli_warnx("ssh-config: HOME is not set: name a "
			    "directory with --dir");
			ex = 1;
			goto out;
		}
		o.dir = dir;
	}
	if ((ex = cli_ctx_new(&o.ctx, o.module != NULL)) != 0)
		goto out;
	if (o.module != NULL && tk_ctx_add_module(o.ctx, o.module) != 0) {
		ex = 1;
		goto out;
	}
	if ((ex = find(&o, argc - optind, argv + optind)) != 0)
		goto out;
	if (build(&o, &block) != 0) {
		ex = 1;
		goto out;
	}
	(void)cli_pubdir_each(o.dir, check_gone, &o);
	printf("%s", block);
	if ((ex = cli_flush_stdout()) != 0)
		goto out;
	if (o.append != NULL) {
		if (has_host(o.append, o.host))
			cli_warnx("ssh-config: %s already has \"Host %s\": "
			    "left as it is", o.append, o.host);
		else if ((r = append_block(o.append, block)) != 0) {
			cli_warnx("ssh-config: cannot append to %s: %s",
			    o.append, tk_strerror(r));
			ex = 1;
		} else
			fprintf(stderr, "tokenkeys: added to %s\n", o.append);
	}
 out:
	free(block);
	tk_keylist_free(o.keys);
	tk_ctx_free(o.ctx);
	return ex;
}
