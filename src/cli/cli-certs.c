/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The certificates `tokenkeys list --certs` prints: those the agent would
 * serve from the certs directory and --cert files (src/ssh/certfile.h),
 * for each key listed and inside its validity window now, as
 * authorized_keys-style lines (comment: the key's URI), with -l as
 * ssh-keygen -l lines with the key ID and the validity after them, or as
 * JSON.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "ssh/certfile.h"

struct cli_cert {
	uint8_t		*blob;
	size_t		 bloblen;
	uint8_t		*key;
	size_t		 keylen;
	char		 type[64];
	char		 id[128];	/* sanitised */
	uint64_t	 serial, after, before;
	uint8_t		*principals;	/* the packed list, as parsed */
	size_t		 principalslen;
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
	    (e->key = malloc(c->keylen)) == NULL ||
	    (e->principals = malloc(c->principalslen + 1)) == NULL) {
		free(e->blob);
		free(e->key);
		cs->err = TK_ERR_NOMEM;
		return;
	}
	memcpy(e->principals, c->principals, c->principalslen);
	e->principalslen = c->principalslen;
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
		free(cs->v[i].principals);
	}
	free(cs->v);
	free(cs);
}

/* Would the agent serve c for k now? */
static int
served_now(const struct cli_cert *c, const struct tk_key *k, uint64_t now)
{
	struct tk_sshcert	 w;
	const uint8_t		*kb;
	size_t			 kl;

	kb = tk_key_blob(k, &kl);
	if (c->keylen != kl || memcmp(c->key, kb, kl) != 0)
		return 0;
	memset(&w, 0, sizeof(w));
	w.valid_after = c->after;
	w.valid_before = c->before;
	return tk_sshcert_when(&w, now) == 0;
}

/* "TYPE BASE64[ COMMENT]" for c, allocated in *line. */
static int
cert_line(const struct cli_cert *c, const char *comment, char **line)
{
	char	*b64 = NULL;
	size_t	 b64sz = c->bloblen / 3 * 4 + 8;
	int	 r;

	*line = NULL;
	if ((b64 = malloc(b64sz)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = tk_blob_base64(c->blob, c->bloblen, b64, b64sz)) != 0)
		goto out;
	if (asprintf(line, "%s %s%s%s", c->type, b64,
	    *comment != '\0' ? " " : "", comment) == -1) {
		*line = NULL;
		r = TK_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	free(b64);
	return r;
}

int
cli_certs_print(const struct cli_certs *cs, const struct tk_key *k,
    const char *comment, int fingerprint, int fpalg)
{
	char		*line = NULL, fp[128], from[32], to[32];
	size_t		 i;
	uint64_t	 now = (uint64_t)time(NULL);
	int		 r = 0;

	for (i = 0; r == 0 && cs != NULL && i < cs->n; i++) {
		const struct cli_cert *c = &cs->v[i];

		if (!served_now(c, k, now))
			continue;
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
		free(line);
		if ((r = cert_line(c, comment, &line)) != 0)
			break;
		printf("%s\n", line);
	}
	free(line);
	return r;
}

int
cli_certs_json(const struct cli_certs *cs, const struct tk_key *k,
    const char *comment, int fpalg)
{
	struct tk_buf	 pl;
	const uint8_t	*p;
	char		*line = NULL, fp[128], t[32], name[1024];
	size_t		 i, n, pn, np;
	uint64_t	 now = (uint64_t)time(NULL);
	int		 r = 0;

	printf(", \"certificates\": [");
	for (i = n = 0; r == 0 && cs != NULL && i < cs->n; i++) {
		const struct cli_cert *c = &cs->v[i];

		if (!served_now(c, k, now))
			continue;
		free(line);
		if ((r = tk_key_fingerprint(k, fpalg, fp, sizeof(fp))) != 0 ||
		    (r = cert_line(c, comment, &line)) != 0)
			break;
		printf("%s\n    {\"type\": ", n++ > 0 ? "," : "");
		json_string(stdout, c->type);
		json_field(stdout, "fingerprint", fp);
		json_field(stdout, "key_id", c->id);
		printf(", \"serial\": %llu, \"principals\": [",
		    (unsigned long long)c->serial);
		tk_buf_init_ro(&pl, c->principals, c->principalslen);
		for (np = 0; tk_buf_get_string(&pl, &p, &pn) == 0; np++) {
			/* sshcert.c refused NULs; longer ones are cut */
			snprintf(name, sizeof(name), "%.*s", (int)pn, p);
			printf("%s", np > 0 ? ", " : "");
			json_string(stdout, name);
		}
		tk_sshcert_time(c->after, t, sizeof(t));
		printf("]");
		json_field(stdout, "valid_after", t);
		tk_sshcert_time(c->before, t, sizeof(t));
		json_field(stdout, "valid_before", t);
		json_field(stdout, "uri", tk_key_uri(k));
		json_field(stdout, "line", line);
		printf("}");
	}
	printf("%s]", n > 0 ? "\n  " : "");
	free(line);
	return r;
}
