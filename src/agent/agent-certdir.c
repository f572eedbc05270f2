/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificates from files: the certs directory
 * ($XDG_CONFIG_HOME/tokenkeys/certs/) and every --cert file or directory,
 * for clients that cannot send certificates with ssh-add -s (OpenSSH
 * before 9.6).  They are followed as p11-kit's registry is: when inotify
 * says they may have changed (agent-follow.c), the refresh thread takes
 * a cheap digest of them and reads them all again if it changed, so a
 * certificate added, replaced or removed shows at once (without
 * inotify: within two seconds).  Reading happens without a->lock; the
 * new set replaces the old under it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "agent/agent.h"
#include "common/pathsig.h"
#include "ssh/certfile.h"

struct load {
	struct agent		*a;
	struct agent_certs	 cs;
	int			 full;
};

int
agent_certdir_add(struct agent *a, const char *path)
{
	char	 cwd[PATH_MAX], abs[PATH_MAX];
	char	**nv, *p;
	size_t	 i;

	/* the agent runs in /: a relative path is made absolute now */
	if (path[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >=
		    (int)sizeof(abs))
			return TK_ERR_RANGE;
		path = abs;
	}
	for (i = 0; i < a->ncertpaths; i++)
		if (strcmp(a->certpaths[i], path) == 0)
			return 0;
	if ((nv = reallocarray(a->certpaths, a->ncertpaths + 1,
	    sizeof(*nv))) == NULL)
		return TK_ERR_NOMEM;
	a->certpaths = nv;
	if ((p = strdup(path)) == NULL)
		return TK_ERR_NOMEM;
	a->certpaths[a->ncertpaths++] = p;
	return 0;
}

static void
refused(void *arg, const char *msg)
{
	struct load	*l = arg;

	agent_log(l->a, AGENT_LOG_ERR, "certificate file %s", msg);
}

static void
found(void *arg, const char *path, const struct tk_sshcert *c)
{
	struct load	*l = arg;
	char		 safe[PATH_MAX], name[200];
	int		 r;

	tk_str_sanitize(path, safe, sizeof(safe));
	agent_cert_name(c, safe, name, sizeof(name));
	r = agent_certs_push(&l->cs, c->cert, c->certlen, c->key, c->keylen,
	    c->valid_after, c->valid_before, name);
	if (r == TK_ERR_RANGE && !l->full) {
		agent_log(l->a, AGENT_LOG_ERR, "more than %d certificates in "
		    "the certs files: the rest are not served",
		    AGENT_MAX_CERTS);
		l->full = 1;
	} else if (r == 0)
		agent_log(l->a, AGENT_LOG_DEBUG, "certificate %s read", name);
}

void
agent_certdir_poll(struct agent *a)
{
	struct load	 l;
	struct agent_certs old;
	uint64_t	 sig = 0, one;
	size_t		 i, j;
	int		 r;

	for (i = 0; i < a->ncertpaths; i++) {
		one = tk_path_sig(a->certpaths[i]);
		sig = tk_hash_mix(sig, &one, sizeof(one));
	}
	if (a->certsig_set && sig == a->certsig)
		return;
	a->certsig = sig;
	a->certsig_set = 1;
	memset(&l, 0, sizeof(l));
	l.a = a;
	for (i = 0; i < a->ncertpaths; i++) {
		r = tk_certfile_read(a->certpaths[i], found, refused, &l);
		if (r == TK_ERR_NOT_FOUND)
			agent_log(a, AGENT_LOG_DEBUG, "certificates: %s does "
			    "not exist (yet)", a->certpaths[i]);
	}

	pthread_mutex_lock(&a->lock);
	/* windows already logged are not logged again */
	for (i = 0; i < l.cs.n; i++)
		for (j = 0; j < a->filecerts.n; j++)
			if (agent_blob_eq(l.cs.v[i].blob, l.cs.v[i].bloblen,
			    a->filecerts.v[j].blob, a->filecerts.v[j].bloblen))
				l.cs.v[i].when = a->filecerts.v[j].when;
	old = a->filecerts;
	a->filecerts = l.cs;
	(void)agent_rebuild(a);
	pthread_mutex_unlock(&a->lock);
	agent_log(a, AGENT_LOG_INFO, "%zu certificate(s) read from the "
	    "certs directory and --cert files", l.cs.n);
	agent_certs_clear(&old);
}

void
agent_certdir_free(struct agent *a)
{
	size_t	i;

	for (i = 0; i < a->ncertpaths; i++)
		free(a->certpaths[i]);
	free(a->certpaths);
	a->certpaths = NULL;
	a->ncertpaths = 0;
}
