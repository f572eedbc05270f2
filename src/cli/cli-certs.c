/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The certificates `tokenkeys list --certs` prints: those the agent would
 * serve from the certs directory and --cert files (src/ssh/certfile.h),
 * for each key listed and inside its validity window now, as
 * authorized_keys-style lines (comment: the key's URI) or, with -l, as
 * ssh-keygen -l lines with the key ID and the validity after them.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "ssh/certfile.h"

struct cli_cert {
	uint8_t		*blob;
	size_t		 bloblen;
	uint8_t		*key;
	size_t		 keylen;
	char		 type[64];
	char		 id[128];	/* sanitised */
	uint64_t	 serial, after, before;
};

struct cli_certs {
	struct cli_cert	*v;
	size_t		 n;
	int		 err;
};

static void
refused(void *arg, const char *msg)
{
	cli_warnx("certificate file %s", msg);
}

static void
found(void *arg, const char *path, const struct tk_sshcert *c)
{
	struct cli_certs	*cs = arg;
	struct cli_cert		*nv, *e;
	char			 id[128];
	size_t			 n, tl;

	if (cs->err != 0 || cs->n >= 1024 ||
	    (nv = reallocarray(cs->v, cs->n + 1, sizeof(*nv))) == NULL) {
		cs->err = TK_ERR_NOMEM;
		return;
	}
	cs->v = nv;
	e = &cs->v[cs->n];
	memset(e, 0, sizeof(*e));
	if ((e->blob = malloc(c->certlen)) == NULL ||
	    (e->key = malloc(c->keylen)) == NULL) {
		free(e->blob);
		cs->err = TK_ERR_NOMEM;
		return;
	}
	memcpy(e->blob, c->cert, c->certlen);
	e->bloblen = c->certlen;
	memcpy(e->key, c->key, c->keylen);
	e->keylen = c->keylen;
	/* the type name, as the blob starts with it (sshcert checked) */
	tl = tk_be32_get(c->cert);
	snprintf(e->type, sizeof(e->type), "%.*s", (int)tl, c->cert + 4);
	n = c->key_idlen < sizeof(id) - 1 ? c->key_idlen : sizeof(id) - 1;
	memcpy(id, c->key_id, n);
	id[n] = '\0';
	tk_str_sanitize(id, e->id, sizeof(e->id));
	e->serial = c->serial;
	e->after = c->valid_after;
	e->before = c->valid_before;
	cs->n++;
}

int
cli_certs_load(char **paths, size_t npaths, struct cli_certs **out)
{
	struct cli_certs	*cs;
	char			 dir[PATH_MAX];
	size_t			 i;
	int			 r;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return TK_ERR_NOMEM;
	if (tk_certfile_default_dir(dir, sizeof(dir)) == 0)
		(void)tk_certfile_read(dir, found, refused, cs);
	for (i = 0; i < npaths; i++)
		if (tk_certfile_read(paths[i], found, refused, cs) ==
		    TK_ERR_NOT_FOUND)
			cli_warnx("--cert %s: no such file or directory",
			    paths[i]);
	if ((r = cs->err) != 0) {
		cli_certs_free(cs);
		return r;
	}
	*out = cs;
	return 0;
}

void
cli_certs_free(struct cli_certs *cs)
{
	size_t	i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++) {
		free(cs->v[i].blob);
		free(cs->v[i].key);
	}
	free(cs->v);
	free(cs);
}

int
cli_certs_print(const struct cli_certs *cs, const struct tk_key *k,
    const char *comment, int fingerprint, int fpalg)
{
	struct tk_sshcert	 w;
	const uint8_t		*kb;
	char			*b64 = NULL, fp[128], from[32], to[32];
	size_t			 kl, i;
	uint64_t		 now = (uint64_t)time(NULL);
	int			 r = 0;

	kb = tk_key_blob(k, &kl);
	for (i = 0; r == 0 && cs != NULL && i < cs->n; i++) {
		const struct cli_cert *c = &cs->v[i];

		if (c->keylen != kl || memcmp(c->key, kb, kl) != 0)
			continue;
		memset(&w, 0, sizeof(w));
		w.valid_after = c->after;
		w.valid_before = c->before;
		if (tk_sshcert_when(&w, now) != 0)
			continue;	/* the agent would not serve it now */
		if (fingerprint) {
			if ((r = tk_key_fingerprint(k, fpalg, fp,
			    sizeof(fp))) != 0)
				break;
			tk_sshcert_time(c->after, from, sizeof(from));
			tk_sshcert_time(c->before, to, sizeof(to));
			printf("%u %s %s (%s-CERT) key ID \"%s\" serial %llu "
			    "valid %s%s to %s\n", tk_key_bits(k), fp,
			    *comment != '\0' ? comment : "no comment",
			    tk_key_type_short(k), c->id,
			    (unsigned long long)c->serial,
			    c->after == 0 ? "" : "from ",
			    c->after == 0 ? "always" : from, to);
			continue;
		}
		free(b64);
		if ((b64 = malloc(c->bloblen / 3 * 4 + 8)) == NULL) {
			r = TK_ERR_NOMEM;
			break;
		}
		if ((r = tk_blob_base64(c->blob, c->bloblen, b64,
		    c->bloblen / 3 * 4 + 8)) != 0)
			break;
		printf("%s %s%s%s\n", c->type, b64, *comment != '\0' ? " " : "",
		    comment);
	}
	free(b64);
	return r;
}
