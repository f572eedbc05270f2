/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH certificates: the bounded parser, the CA signature check and
 * the validity window.  See sshcert.h for the format.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tokenkeys.h"
#include "common/pubkey.h"
#include "ssh/sshcert.h"
#include "ssh/sshkey.h"
#include "ssh/sshsig.h"

#define CERT_SUFFIX	"-cert-v01@openssh.com"
#define NONCE_MAX	256

static const struct {
	int		 type;
	const char	*plain;
	int		 nfields;	/* public fields after the name */
} types[] = {
	{ TK_KEY_RSA, "ssh-rsa", 2 },
	{ TK_KEY_ECDSA_P256, "ecdsa-sha2-nistp256", 2 },
	{ TK_KEY_ECDSA_P384, "ecdsa-sha2-nistp384", 2 },
	{ TK_KEY_ECDSA_P521, "ecdsa-sha2-nistp521", 2 },
	{ TK_KEY_ED25519, "ssh-ed25519", 1 },
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

int
tk_sshcert_is_cert(const uint8_t *blob, size_t len)
{
	struct tk_buf	 b;
	const uint8_t	*name;
	size_t		 n, sl = strlen(CERT_SUFFIX);

	tk_buf_init_ro(&b, blob, len);
	if (tk_buf_get_string(&b, &name, &n) != 0 || n <= sl)
		return 0;
	return memcmp(name + n - sl, CERT_SUFFIX, sl) == 0;
}

/* A list of strings filling all of s, at most max of them. */
static int
string_list(const uint8_t *s, size_t len, size_t max, size_t *count,
    int nonul)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n, i = 0;
	int		 r = 0;

	tk_buf_init_ro(&b, s, len);
	while (r == 0 && tk_buf_avail(&b) > 0) {
		if ((r = tk_buf_get_string(&b, &p, &n)) != 0)
			break;
		if (nonul && memchr(p, '\0', n) != NULL)
			r = TK_ERR_FORMAT;
		else if (++i > max)
			r = TK_ERR_RANGE;
	}
	if (count != NULL)
		*count = i;
	return r;
}

/*
 * Critical options and extensions: (string name, string data) pairs,
 * names without NULs; the data is opaque to us (sshd reads it).
 */
static int
option_list(const uint8_t *s, size_t len)
{
	size_t	n;
	int	r;

	if ((r = string_list(s, len, 2 * TK_SSHCERT_MAX_OPTIONS, &n, 0)) == 0 &&
	    n % 2 != 0)
		r = TK_ERR_FORMAT;
	return r;
}

int
tk_sshcert_parse(const uint8_t *blob, size_t len, struct tk_sshcert *c,
    struct tk_buf *store)
{
	struct tk_buf		 b, keystore;
	struct tk_pubkey	 pk;
	const uint8_t		*name, *p, *opts, *exts;
	size_t			 namelen, n, optslen, extslen, plen, i;
	int			 f, r = TK_ERR_FORMAT;

	memset(c, 0, sizeof(*c));
	tk_buf_init(&keystore, TK_SSHCERT_MAX, 0);
	tk_buf_reset(store);
	if (len > TK_SSHCERT_MAX) {
		r = TK_ERR_RANGE;
		goto out;
	}
	tk_buf_init_ro(&b, blob, len);
	if (tk_buf_get_string(&b, &name, &namelen) != 0)
		goto out;
	for (i = 0; i < NTYPES; i++) {
		plen = strlen(types[i].plain);
		if (namelen == plen + strlen(CERT_SUFFIX) &&
		    memcmp(name, types[i].plain, plen) == 0 &&
		    memcmp(name + plen, CERT_SUFFIX, namelen - plen) == 0)
			break;
	}
	if (i == NTYPES) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	if (tk_buf_get_string(&b, &p, &n) != 0)
		goto out;
	if (n > NONCE_MAX) {
		r = TK_ERR_RANGE;
		goto out;
	}
	/* the plain blob: its name, then the same fields as they are */
	if ((r = tk_buf_put_cstring(store, types[i].plain)) != 0)
		goto out;
	for (f = 0; f < types[i].nfields; f++) {
		if ((r = tk_buf_get_string(&b, &p, &n)) != 0 ||
		    (r = tk_buf_put_string(store, p, n)) != 0)
			goto out;
	}
	/* the key must be one we could serve, encoded as we would */
	if ((r = tk_ssh_blob_parse(tk_buf_ptr(store), tk_buf_avail(store), &pk,
	    &keystore)) != 0) {
		if (r != TK_ERR_UNSUPPORTED)
			r = TK_ERR_FORMAT;
		goto out;
	}
	c->keytype = types[i].type;
	c->key = tk_buf_ptr(store);
	c->keylen = tk_buf_avail(store);
	r = TK_ERR_FORMAT;
	if (tk_buf_get_u64(&b, &c->serial) != 0 ||
	    tk_buf_get_u32(&b, &c->type) != 0 ||
	    tk_buf_get_string(&b, &c->key_id, &c->key_idlen) != 0 ||
	    tk_buf_get_string(&b, &c->principals, &c->principalslen) != 0 ||
	    tk_buf_get_u64(&b, &c->valid_after) != 0 ||
	    tk_buf_get_u64(&b, &c->valid_before) != 0 ||
	    tk_buf_get_string(&b, &opts, &optslen) != 0 ||
	    tk_buf_get_string(&b, &exts, &extslen) != 0 ||
	    tk_buf_get_string(&b, &p, &n) != 0 ||	/* reserved */
	    tk_buf_get_string(&b, &c->ca, &c->calen) != 0)
		goto out;
	c->signedlen = len - tk_buf_avail(&b);
	if (tk_buf_get_string(&b, &c->sig, &c->siglen) != 0 ||
	    (r = tk_buf_end(&b)) != 0)
		goto out;
	r = TK_ERR_FORMAT;
	if (c->calen == 0 || c->siglen == 0 || c->valid_after > c->valid_before)
		goto out;
	/* the CA key may not itself be a certificate (PROTOCOL.certkeys) */
	if (tk_sshcert_is_cert(c->ca, c->calen))
		goto out;
	if ((r = string_list(c->principals, c->principalslen,
	    TK_SSHCERT_MAX_PRINCIPALS, &c->nprincipals, 1)) != 0 ||
	    (r = option_list(opts, optslen)) != 0 ||
	    (r = option_list(exts, extslen)) != 0)
		goto out;
	if (c->type != TK_SSHCERT_USER && c->type != TK_SSHCERT_HOST) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	c->cert = blob;
	c->certlen = len;
	r = 0;
 out:
	tk_buf_free(&keystore);
	if (r != 0) {
		tk_buf_reset(store);
		memset(c, 0, sizeof(*c));
	}
	return r;
}

int
tk_sshcert_verify(const struct tk_sshcert *c)
{
	struct tk_sshsig_key	*ca = NULL;
	struct tk_buf		 b;
	const uint8_t		*name;
	size_t			 n;
	int			 alg = TK_SIG_DEFAULT, r;

	tk_buf_init_ro(&b, c->sig, c->siglen);
	if ((r = tk_buf_get_string(&b, &name, &n)) != 0)
		goto out;
	if (n == 12 && memcmp(name, "rsa-sha2-256", n) == 0)
		alg = TK_SIG_RSA_SHA256;
	else if (n == 12 && memcmp(name, "rsa-sha2-512", n) == 0)
		alg = TK_SIG_RSA_SHA512;
	if ((r = tk_sshsig_key_new(c->ca, c->calen, &ca)) != 0) {
		if (r != TK_ERR_UNSUPPORTED)
			r = TK_ERR_SIGNATURE;
		goto out;
	}
	if ((r = tk_sshsig_verify(ca, alg, c->cert, c->signedlen, c->sig,
	    c->siglen)) != 0)
		r = TK_ERR_SIGNATURE;
 out:
	tk_sshsig_key_free(ca);
	return r;
}

int
tk_sshcert_when(const struct tk_sshcert *c, uint64_t now)
{
	if (now < c->valid_after)
		return -1;
	if (c->valid_before != TK_SSHCERT_FOREVER && now >= c->valid_before)
		return 1;
	return 0;
}

int
tk_sshcert_has_principal(const struct tk_sshcert *c, const char *name,
    size_t len)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n;

	tk_buf_init_ro(&b, c->principals, c->principalslen);
	while (tk_buf_get_string(&b, &p, &n) == 0)
		if (n == len && memcmp(p, name, n) == 0)
			return 1;
	return 0;
}

int
tk_sshcert_principals(const struct tk_sshcert *c, char *buf, size_t bufsz)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n, o = 0, i = 0;
	int		 r = TK_ERR_RANGE;

	if (bufsz == 0)
		goto out;
	tk_buf_init_ro(&b, c->principals, c->principalslen);
	/* a separator after every principal, an empty one too */
	while (tk_buf_get_string(&b, &p, &n) == 0) {
		if (n + (i > 0) >= bufsz - o)
			goto out;
		if (i++ > 0)
			buf[o++] = ',';
		memcpy(buf + o, p, n);
		o += n;
	}
	r = 0;
 out:
	if (bufsz > 0)
		buf[r == 0 ? o : 0] = '\0';
	return r;
}

void
tk_sshcert_time(uint64_t t, char *buf, size_t bufsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (t == TK_SSHCERT_FOREVER || t > (uint64_t)INT64_MAX / 2 ||
	    gmtime_r(&tt, &tm) == NULL)
		snprintf(buf, bufsz, "forever");
	else
		strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
