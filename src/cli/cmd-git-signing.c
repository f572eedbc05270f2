/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys git-signing: git signs commits with one token key through
 * the agent (gpg.format ssh, user.signingkey the key's public file) and
 * verifies them (gpg.ssh.allowedSignersFile with the key's line).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-pubfile.h"
#include "cli/cli-run.h"

#define GIT_MS		10000
#define GIT_OUT_MAX	65536

enum { OPT_GLOBAL = 256, OPT_DRY, OPT_DIR, OPT_MODULE };

struct gitsign {
	int		 global;
	int		 dry;
	const char	*dir;
	const char	*module;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys git-signing [-v] [--global] [--dry-run] "
	    "[--dir DIR]\n"
	    "                             [--module PATH] URI\n"
	    "Make git sign commits with the token key URI selects, through "
	    "the agent,\nand verify them; print each change to git's "
	    "configuration.\n");
}

/* git config [--global] --get name into val ("" when unset): 0 or 1. */
static int
git_get(const struct gitsign *o, const char *name, char *val, size_t valsz)
{
	struct cli_run	 res;
	char		*argv[6];
	int		 i = 0, ex;

	argv[i++] = "git";
	argv[i++] = "config";
	if (o->global)
		argv[i++] = "--global";
	argv[i++] = "--get";
	argv[i++] = (char *)name;
	argv[i] = NULL;
	val[0] = '\0';
	if (cli_run(argv, GIT_MS, GIT_OUT_MAX, &res) != 0) {
		cli_warnx("git-signing: cannot run git: is it installed?");
		return 1;
	}
	ex = cli_run_exit(&res);
	if (ex == 0) {
		res.out[strcspn(res.out, "\n")] = '\0';
		snprintf(val, valsz, "%s", res.out);
	} else if (ex != 1) {
		res.err[strcspn(res.err, "\n")] = '\0';
		cli_warnx("git-signing: git config: %s", res.err);
	}
	cli_run_free(&res);
	return ex == 0 || ex == 1 ? 0 : 1;
}

/* Set name to val unless it already is; print the change. */
static int
git_set(const struct gitsign *o, const char *name, const char *val)
{
	struct cli_run	 res;
	char		 old[4096], *argv[6];
	int		 i = 0, ex;

	if (git_get(o, name, old, sizeof(old)) != 0)
		return 1;
	if (strcmp(old, val) == 0) {
		printf("%s: already %s\n", name, val);
		return 0;
	}
	printf("%s: %s -> %s%s\n", name, old[0] != '\0' ? old : "(unset)",
	    val, o->dry ? " (dry run: not changed)" : "");
	if (o->dry)
		return 0;
	argv[i++] = "git";
	argv[i++] = "config";
	if (o->global)
		argv[i++] = "--global";
	argv[i++] = (char *)name;
	argv[i++] = (char *)val;
	argv[i] = NULL;
	if (cli_run(argv, GIT_MS, GIT_OUT_MAX, &res) != 0)
		return 1;
	ex = cli_run_exit(&res);
	if (ex != 0) {
		res.err[strcspn(res.err, "\n")] = '\0';
		cli_warnx("git-signing: git config %s: %s", name, res.err);
	}
	cli_run_free(&res);
	return ex != 0;
}

/* git reads "~/..." in a path setting as under $HOME: so do we. */
static int
expand_home(char *path, size_t pathsz)
{
	const char	*home = getenv("HOME");
	char		 tmp[4096];

	if (strncmp(path, "~/", 2) != 0)
		return 0;
	if (home == NULL || *home == '\0')
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s%s", home, path + 1) >=
	    sizeof(tmp) || strlen(tmp) >= pathsz)
		return -1;
	memcpy(path, tmp, strlen(tmp) + 1);
	return 0;
}

/* Does file hold a line naming email with this "TYPE BASE64"? */
static int
has_signer(const char *file, const char *email, const char *keypart)
{
	FILE	*f;
	char	 line[16384];
	size_t	 el = strlen(email);
	int	 found = 0;

	if ((f = fopen(file, "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, email, el) == 0 && line[el] == ' ' &&
		    strstr(line + el, keypart) != NULL;
	fclose(f);
	return found;
}

/* Add "EMAIL namespaces="git" TYPE BASE64 URI" to the signers file. */
static int
add_signer(const struct gitsign *o, const char *file, const char *email,
    const struct tk_key *k)
{
	char	*line = NULL, keypart[16384];
	FILE	*f = NULL;
	int	 fd = -1, ex = 1;

	if (cli_key_line(k, "", &line) != 0)
		goto out;
	snprintf(keypart, sizeof(keypart), "%s", line);
	if (has_signer(file, email, keypart)) {
		printf("%s: already lists %s with this key\n", file, email);
		ex = 0;
		goto out;
	}
	printf("%s: add %s namespaces=\"git\" %s %s%s\n", file, email,
	    tk_key_type_name(k), tk_key_uri(k),
	    o->dry ? " (dry run: not changed)" : "");
	if (o->dry) {
		ex = 0;
		goto out;
	}
	if ((fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) < 0 || (f = fdopen(fd, "a")) == NULL) {
		cli_warnx("git-signing: %s: %s", file, strerror(errno));
		goto out;
	}
	fd = -1;
	if (fprintf(f, "%s namespaces=\"git\" %s %s\n", email, keypart,
	    tk_key_uri(k)) < 0 || fclose(f) != 0) {
		f = NULL;
		cli_warnx("git-signing: cannot write %s", file);
		goto out;
	}
	f = NULL;
	ex = 0;
 out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	free(line);
	return ex;
}

static int
parse(int argc, char **argv, struct gitsign *o)
{
	static const struct option longopts[] = {
		{ "global", no_argument, NULL, OPT_GLOBAL },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "dir", required_argument, NULL, OPT_DIR },
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
		case OPT_GLOBAL:
			o->global = 1;
			break;
		case OPT_DRY:
			o->dry = 1;
			break;
		case OPT_DIR:
			o->dir = optarg;
			break;
		case OPT_MODULE:
			o->module = optarg;
			break;
		case 'h':
			usage(stdout);
			ex = -1;
			break;
		default:
			ex = cli_bad_option("git-signing", ch,
			    argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind != 1) {
		cli_warnx("git-signing: name exactly one key by its URI; see "
		    "'tokenkeys list --comment uri'");
		ex = EXIT_USAGE;
	}
	return ex;
}

/* The one key uri selects: 0, or the exit status after saying why. */
static int
one_key(struct tk_ctx *ctx, const char *uri, struct tk_keylist **l)
{
	int	r;

	if ((r = tk_find_keys(ctx, uri, 0, l)) == TK_ERR_NOT_FOUND) {
		cli_warnx("git-signing: no key matches %s; see 'tokenkeys "
		    "list'", uri);
		return 1;
	}
	if (r != 0)
		return cli_uri_error(uri, r);
	if (tk_keylist_count(*l) != 1) {
		cli_warnx("git-signing: %zu keys match %s: name one (see "
		    "'tokenkeys list --comment uri')", tk_keylist_count(*l),
		    uri);
		return 1;
	}
	return 0;
}

int
git_signing_main(int argc, char **argv)
{
	struct gitsign		 o;
	struct tk_ctx		*ctx = NULL;
	struct tk_keylist	*l = NULL;
	const struct tk_key	*k;
	char			 dir[4096], path[4096], email[1024];
	char			 signers[4096], signers_cfg[4096];
	int			 ex, state, r;

	memset(&o, 0, sizeof(o));
	if ((ex = parse(argc, argv, &o)) != 0) {
		ex = ex < 0 ? 0 : ex;
		goto out;
	}
	if (o.dir == NULL && cli_pubdir_default(dir, sizeof(dir)) != 0) {
		cli_warnx("git-signing: HOME is not set: name a directory "
		    "with --dir");
		ex = 1;
		goto out;
	}
	if (o.dir == NULL)
		o.dir = dir;
	if ((ex = git_get(&o, "user.email", email, sizeof(email))) != 0)
		goto out;
	if (email[0] == '\0' || strpbrk(email, " \t\"") != NULL) {
		cli_warnx("git-signing: git's user.email is %s: set it "
		    "first: git config%s user.email you@example.org",
		    email[0] == '\0' ? "not set" : "not one word",
		    o.global ? " --global" : "");
		ex = 1;
		goto out;
	}
	if ((ex = cli_ctx_new(&ctx, o.module != NULL)) != 0)
		goto out;
	if (o.module != NULL && tk_ctx_add_module(ctx, o.module) != 0) {
		ex = 1;
		goto out;
	}
	if ((ex = one_key(ctx, argv[optind], &l)) != 0)
		goto out;
	k = tk_keylist_get(l, 0);
	if ((r = cli_pubfile_write(o.dir, k, o.dry, path, sizeof(path),
	    &state)) != 0) {
		cli_warnx("git-signing: cannot write the key's file in %s: %s",
		    o.dir, tk_strerror(r));
		ex = 1;
		goto out;
	}
	if (state != CLI_PUB_SAME)
		printf("%s: %s%s\n", path, state == CLI_PUB_NEW ?
		    "the key's public half" : "rewritten: the key changed",
		    o.dry ? " (dry run: not written)" : "");
	if ((ex = git_get(&o, "gpg.ssh.allowedSignersFile", signers,
	    sizeof(signers))) != 0)
		goto out;
	if (signers[0] == '\0')
		snprintf(signers, sizeof(signers), "%s/allowed_signers",
		    o.dir);
	memcpy(signers_cfg, signers, sizeof(signers_cfg));
	if (expand_home(signers, sizeof(signers)) != 0) {
		cli_warnx("git-signing: gpg.ssh.allowedSignersFile %s: HOME "
		    "is not set", signers);
		ex = 1;
		goto out;
	}
	if ((ex = git_set(&o, "gpg.format", "ssh")) != 0 ||
	    (ex = git_set(&o, "user.signingkey", path)) != 0 ||
	    (ex = git_set(&o, "gpg.ssh.allowedSignersFile",
	    signers_cfg)) != 0 ||
	    (ex = add_signer(&o, signers, email, k)) != 0)
		goto out;
	ex = cli_flush_stdout();
 out:
	tk_keylist_free(l);
	tk_ctx_free(ctx);
	return ex;
}
