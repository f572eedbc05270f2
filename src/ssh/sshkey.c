/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH public key blobs (RFC 4253 6.6, RFC 5656, RFC 8709) and the
 * fingerprints and base64 text made from them.
 */
#include <string.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "ssh/sshkey.h"

static const struct {
	int		 type;
	const char	*name;
	const char	*curve;
	const char	*shortname;
} types[] = {
	{ TK_KEY_RSA, "ssh-rsa", NULL, "RSA" },
	{ TK_KEY_ECDSA_P256, "ecdsa-sha2-nistp256", "nistp256", "ECDSA" },
	{ TK_KEY_ECDSA_P384, "ecdsa-sha2-nistp384", "nistp384", "ECDSA" },
	{ TK_KEY_ECDSA_P521, "ecdsa-sha2-nistp521", "nistp521", "ECDSA" },
	{ TK_KEY_ED25519, "ssh-ed25519", NULL, "ED25519" },
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))

static int
type_index(int type)
{
	size_t	i;
	int	found = -1;

	for (i = 0; i < NTYPES && found < 0; i++)
		if (types[i].type == type)
			found = (int)i;
	return found;
}

const char *
tk_ssh_type_name(int type)
{
	int	i = type_index(type);

	return i < 0 ? "unknown" : types[i].name;
}

const char *
tk_ssh_type_short(int type)
{
	int	i = type_index(type);

	return i < 0 ? "UNKNOWN" : types[i].shortname;
}

int
tk_ssh_blob(const struct tk_pubkey *k, struct tk_buf *b)
{
	int	i, r;

	if ((i = type_index(k->type)) < 0) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	if (k->type == TK_KEY_ED25519 && k->qlen != 32) {
		r = TK_ERR_BAD_KEY;
		goto out;
	}
	if ((r = tk_buf_put_cstring(b, types[i].name)) != 0)
		goto out;
	switch (k->type) {
	case TK_KEY_RSA:
		if ((r = tk_buf_put_bignum(b, k->e, k->elen)) == 0)
			r = tk_buf_put_bignum(b, k->n, k->nlen);
		break;
	case TK_KEY_ED25519:
		r = tk_buf_put_string(b, k->q, k->qlen);
		break;
	default:
		if ((r = tk_buf_put_cstring(b, types[i].curve)) == 0)
			r = tk_buf_put_string(b, k->q, k->qlen);
		break;
	}
 out:
	return r;
}

/*
 * An mpint as RFC 4251 section 5 has it: no needless leading zero, and
 * not negative (no key part is).  Anything else would give one key a
 * second blob, and a blob that does not encode back to itself.
 */
static int
mpint_ok(const uint8_t *p, size_t n)
{
	/* Not negative, and no leading zero byte that is not needed. */
	return n == 0 || ((p[0] & 0x80) == 0 &&
	    (p[0] != 0 || (n > 1 && (p[1] & 0x80) != 0)));
}

int
tk_ssh_blob_parse(const uint8_t *blob, size_t len, struct tk_pubkey *k,
    struct tk_buf *store)
{
	struct tk_buf	 b;
	const uint8_t	*name, *p, *e, *n;
	size_t		 namelen, plen, elen, nlen;
	size_t		 i;
	int		 r = TK_ERR_FORMAT;

	memset(k, 0, sizeof(*k));
	tk_buf_init_ro(&b, blob, len);
	if (tk_buf_get_string(&b, &name, &namelen) != 0)
		goto out;
	for (i = 0; i < NTYPES; i++)
		if (strlen(types[i].name) == namelen &&
		    memcmp(types[i].name, name, namelen) == 0)
			break;
	if (i == NTYPES) {
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	k->type = types[i].type;
	switch (k->type) {
	case TK_KEY_RSA:
		if (tk_buf_get_string(&b, &e, &elen) != 0 ||
		    tk_buf_get_string(&b, &n, &nlen) != 0 ||
		    !mpint_ok(e, elen) || !mpint_ok(n, nlen))
			goto out;
		/* keep the bytes: callers own store, k points into it */
		tk_buf_reset(store);
		if ((r = tk_buf_put(store, e, elen)) != 0 ||
		    (r = tk_buf_put(store, n, nlen)) != 0)
			goto out;
		r = TK_ERR_FORMAT;
		k->e = tk_buf_ptr(store);
		k->elen = elen;
		k->n = tk_buf_ptr(store) + elen;
		k->nlen = nlen;
		while (k->elen > 0 && *k->e == 0) {
			k->e++;
			k->elen--;
		}
		while (k->nlen > 0 && *k->n == 0) {
			k->n++;
			k->nlen--;
		}
		break;
	case TK_KEY_ED25519:
		if (tk_buf_get_string(&b, &p, &plen) != 0 || plen != 32)
			goto out;
		memcpy(k->q, p, plen);
		k->qlen = plen;
		k->bits = 256;
		break;
	default:
		if (tk_buf_get_string(&b, &p, &plen) != 0 ||
		    plen != strlen(types[i].curve) ||
		    memcmp(p, types[i].curve, plen) != 0 ||
		    tk_buf_get_string(&b, &p, &plen) != 0 ||
		    plen > sizeof(k->q))
			goto out;
		memcpy(k->q, p, plen);
		k->qlen = plen;
		break;
	}
	r = tk_buf_end(&b);
 out:
	return r;
}

int
tk_blob_base64(const uint8_t *blob, size_t len, char *buf, size_t bufsz)
{
	int	r = TK_ERR_RANGE;

	if (len <= (size_t)INT32_MAX / 2 && bufsz >= 4 * ((len + 2) / 3) + 1) {
		EVP_EncodeBlock((unsigned char *)buf, blob, (int)len);
		r = 0;
	}
	return r;
}

int
tk_blob_fingerprint(const uint8_t *blob, size_t len, int alg, char *buf,
    size_t bufsz)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	char		b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int	mdlen;
	size_t		i, n;
	int		r = TK_ERR_RANGE;

	if (EVP_Digest(blob, len, md, &mdlen,
	    alg == TK_FP_MD5 ? EVP_md5() : EVP_sha256(), NULL) != 1) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	if (alg == TK_FP_MD5) {
		/* "MD5:", mdlen hex pairs, mdlen - 1 colons, NUL */
		if (bufsz < 4 + mdlen * 3)
			goto out;
		memcpy(buf, "MD5:", 4);
		n = 4;
		for (i = 0; i < mdlen; i++) {
			buf[n++] = "0123456789abcdef"[md[i] >> 4];
			buf[n++] = "0123456789abcdef"[md[i] & 15];
			if (i + 1 < mdlen)
				buf[n++] = ':';
		}
		buf[n] = '\0';
	} else {
		EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
		n = strcspn(b64, "=");
		if (bufsz < 7 + n + 1)
			goto out;
		memcpy(buf, "SHA256:", 7);
		memcpy(buf + 7, b64, n);
		buf[7 + n] = '\0';
	}
	r = 0;
 out:
	explicit_bzero(md, sizeof(md));
	return r;
}
