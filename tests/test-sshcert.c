/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * OpenSSH certificates (src/ssh/sshcert.c): certificates made by
 * ssh-keygen -s parse to the key they certify, byte for byte, with their
 * key id, principals, serial and validity, and their CA signatures
 * (Ed25519, RSA with SHA-1 and SHA-2, ECDSA) verify; a changed byte makes
 * the signature fail; every truncation, trailing bytes and hand-made
 * hostile certificates (unknown key type, certificate type 3, too many
 * principals, a NUL in a principal, a CA that is itself a certificate, an
 * odd option list, an oversized blob) are refused, never read past.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "ssh/sshcert.h"
#include "sshcert-vectors.h"
#include "tap.h"

#define T_2020	1577836800ULL
#define T_2021	1609459200ULL
#define T_2026	1796609481ULL
#define T_2040	2208988800ULL

static uint8_t *
b64(const char *s, size_t *len)
{
	size_t	 n = strlen(s);
	uint8_t	*out;
	int	 got;

	if ((out = malloc(n)) == NULL)
		abort();
	if ((got = EVP_DecodeBlock(out, (const unsigned char *)s,
	    (int)n)) < 0)
		abort();
	while (n > 0 && s[n - 1] == '=') {
		got--;
		n--;
	}
	*len = (size_t)got;
	return out;
}

struct vec {
	const char	*name;
	const char	*cert, *key;
	int		 keytype;
	uint32_t	 type;
};

static const struct vec vecs[] = {
	{ "RSA (Ed25519 CA)", rsa_cert, rsa_key, TK_KEY_RSA,
	    TK_SSHCERT_USER },
	{ "ECDSA P-256 (RSA CA, rsa-sha2-512)", ec256_cert, ec256_key,
	    TK_KEY_ECDSA_P256, TK_SSHCERT_USER },
	{ "ECDSA P-521 host (ECDSA P-384 CA)", ec521_cert, ec521_key,
	    TK_KEY_ECDSA_P521, TK_SSHCERT_HOST },
	{ "Ed25519 (RSA CA, ssh-rsa)", ed_cert, ed_key, TK_KEY_ED25519,
	    TK_SSHCERT_USER },
};
#define NVECS	(sizeof(vecs) / sizeof(vecs[0]))

static void
test_vectors(void)
{
	struct tk_sshcert	 c;
	struct tk_buf		 store;
	uint8_t			*cert, *key, *bad;
	size_t			 certlen, keylen, i, cut, crashes;
	char			 pr[256];
	int			 r;

	tk_buf_init(&store, TK_SSHCERT_MAX, 0);
	for (i = 0; i < NVECS; i++) {
		cert = b64(vecs[i].cert, &certlen);
		key = b64(vecs[i].key, &keylen);
		ok(tk_sshcert_is_cert(cert, certlen), "%s: is a certificate",
		    vecs[i].name);
		ok(!tk_sshcert_is_cert(key, keylen), "%s: its key is not",
		    vecs[i].name);
		r = tk_sshcert_parse(cert, certlen, &c, &store);
		is_int(r, 0, "%s: parses", vecs[i].name);
		ok(r == 0 && c.keylen == keylen &&
		    memcmp(c.key, key, keylen) == 0,
		    "%s: the certified key is the plain key, byte for byte",
		    vecs[i].name);
		is_int(c.keytype, vecs[i].keytype, "%s: key type",
		    vecs[i].name);
		is_int(c.type, vecs[i].type, "%s: certificate type",
		    vecs[i].name);
		ok(c.cert == cert && c.certlen == certlen &&
		    c.signedlen < certlen && c.calen > 0,
		    "%s: blob, signed part and CA key in place", vecs[i].name);
		is_int(tk_sshcert_verify(&c), 0, "%s: CA signature verifies",
		    vecs[i].name);

		/* a byte of the key id changed: the CA did not sign that */
		bad = malloc(certlen);
		memcpy(bad, cert, certlen);
		bad[c.key_id - cert] ^= 0x01;
		r = tk_sshcert_parse(bad, certlen, &c, &store);
		ok(r == 0 && tk_sshcert_verify(&c) == TK_ERR_SIGNATURE,
		    "%s: a changed key id fails the signature", vecs[i].name);
		memcpy(bad, cert, certlen);
		bad[certlen - 1] ^= 0x40;
		r = tk_sshcert_parse(bad, certlen, &c, &store);
		ok(r == 0 && tk_sshcert_verify(&c) == TK_ERR_SIGNATURE,
		    "%s: a changed signature byte fails", vecs[i].name);
		free(bad);

		/* every truncation is refused, under ASan: no read past */
		crashes = 0;
		for (cut = 0; cut < certlen; cut++) {
			bad = malloc(cut == 0 ? 1 : cut);
			memcpy(bad, cert, cut);
			if (tk_sshcert_parse(bad, cut, &c, &store) == 0 ||
			    c.key != NULL || tk_buf_avail(&store) != 0)
				crashes++;
			free(bad);
		}
		is_int(crashes, 0, "%s: all %zu truncations refused, nothing "
		    "left behind", vecs[i].name, certlen);
		bad = malloc(certlen + 1);
		memcpy(bad, cert, certlen);
		bad[certlen] = 0;
		is_int(tk_sshcert_parse(bad, certlen + 1, &c, &store),
		    TK_ERR_FORMAT, "%s: a trailing byte is refused",
		    vecs[i].name);
		free(bad);
		free(cert);
		free(key);
	}

	cert = b64(rsa_cert, &certlen);
	(void)tk_sshcert_parse(cert, certlen, &c, &store);
	ok(c.serial == 42 && c.key_idlen == 13 &&
	    memcmp(c.key_id, "alice@example", 13) == 0,
	    "RSA: serial 42, key id alice@example");
	ok(tk_sshcert_principals(&c, pr, sizeof(pr)) == 0 &&
	    strcmp(pr, "alice,root") == 0 && c.nprincipals == 2,
	    "RSA: principals alice,root");
	ok(tk_sshcert_has_principal(&c, "root", 4) &&
	    !tk_sshcert_has_principal(&c, "roo", 3) &&
	    !tk_sshcert_has_principal(&c, "alice,root", 10),
	    "RSA: has root, not roo, not the joined list");
	is_int(tk_sshcert_principals(&c, pr, 10), TK_ERR_RANGE,
	    "principals that do not fit: TK_ERR_RANGE");
	is_str(pr, "", "...and an empty string");
	ok(c.valid_after == T_2020 && c.valid_before == T_2040,
	    "RSA: valid 2020 to 2040");
	ok(tk_sshcert_when(&c, T_2020 - 1) == -1 &&
	    tk_sshcert_when(&c, T_2020) == 0 &&
	    tk_sshcert_when(&c, T_2026) == 0 &&
	    tk_sshcert_when(&c, T_2040 - 1) == 0 &&
	    tk_sshcert_when(&c, T_2040) == 1,
	    "RSA: not yet, from valid_after, until just before valid_before");
	free(cert);

	cert = b64(ec256_cert, &certlen);
	(void)tk_sshcert_parse(cert, certlen, &c, &store);
	ok(tk_sshcert_when(&c, T_2026) == 1 && c.valid_before == T_2021,
	    "ECDSA P-256: expired in 2021");
	free(cert);
	cert = b64(ec521_cert, &certlen);
	(void)tk_sshcert_parse(cert, certlen, &c, &store);
	ok(c.valid_after == 0 && c.valid_before == TK_SSHCERT_FOREVER &&
	    tk_sshcert_when(&c, 0) == 0 &&
	    tk_sshcert_when(&c, UINT64_MAX) == 0,
	    "host certificate: valid forever");
	ok(tk_sshcert_has_principal(&c, "host1", 5) &&
	    tk_sshcert_has_principal(&c, "host1.example", 13),
	    "host certificate: both host names");
	free(cert);
	tk_buf_free(&store);
}

/* Hand-made certificates: the fields a test wants wrong. */
struct mk {
	const char	*name;
	uint32_t	 type;
	size_t		 nprincipals;
	int		 nul_principal;
	int		 empty_first;	/* an empty principal first */
	int		 odd_options;
	int		 ca_is_cert;
	uint64_t	 after, before;
	size_t		 pad;		/* bytes of extension data */
};

static int
make(const struct mk *m, struct tk_buf *b)
{
	struct tk_buf	 sub;
	uint8_t		 k[32];
	size_t		 mark, i;
	int		 r = 0;

	memset(k, 0x42, sizeof(k));
	tk_buf_reset(b);
	r |= tk_buf_put_cstring(b, m->name ? m->name :
	    "ssh-ed25519-cert-v01@openssh.com");
	r |= tk_buf_put_string(b, k, 32);		/* nonce */
	r |= tk_buf_put_string(b, k, 32);		/* pk */
	r |= tk_buf_put_u64(b, 7);
	r |= tk_buf_put_u32(b, m->type ? m->type : 1);
	r |= tk_buf_put_cstring(b, "id");
	r |= tk_buf_open_string(b, &mark);
	if (m->empty_first)
		r |= tk_buf_put_string(b, "", 0);
	for (i = 0; i < m->nprincipals; i++)
		r |= tk_buf_put_string(b, m->nul_principal ? "a\0b" : "user",
		    m->nul_principal ? 3 : 4);
	r |= tk_buf_close_string(b, mark);
	r |= tk_buf_put_u64(b, m->after);
	r |= tk_buf_put_u64(b, m->before ? m->before : UINT64_MAX);
	r |= tk_buf_open_string(b, &mark);		/* critical options */
	r |= tk_buf_put_cstring(b, "force-command");
	if (!m->odd_options)
		r |= tk_buf_put_cstring(b, "");
	r |= tk_buf_close_string(b, mark);
	r |= tk_buf_open_string(b, &mark);		/* extensions */
	r |= tk_buf_put_cstring(b, "permit-pty");
	tk_buf_init(&sub, m->pad + 1, 0);
	for (i = 0; i < m->pad; i++)
		r |= tk_buf_put_u8(&sub, 'x');
	r |= tk_buf_put_string(b, tk_buf_ptr(&sub), tk_buf_avail(&sub));
	tk_buf_free(&sub);
	r |= tk_buf_close_string(b, mark);
	r |= tk_buf_put_string(b, "", 0);		/* reserved */
	tk_buf_init(&sub, 1024, 0);
	r |= tk_buf_put_cstring(&sub, m->ca_is_cert ?
	    "ssh-ed25519-cert-v01@openssh.com" : "ssh-ed25519");
	r |= tk_buf_put_string(&sub, k, 32);
	r |= tk_buf_put_string(b, tk_buf_ptr(&sub), tk_buf_avail(&sub));
	tk_buf_reset(&sub);
	r |= tk_buf_put_cstring(&sub, "ssh-ed25519");
	r |= tk_buf_put_string(&sub, k, 32);
	r |= tk_buf_put_string(&sub, k, 32);
	r |= tk_buf_put_string(&sub, k, 32);
	r |= tk_buf_put_string(b, tk_buf_ptr(&sub), 4 + 11 + 4 + 64);
	tk_buf_free(&sub);
	return r;
}

static void
test_hostile(void)
{
	struct tk_sshcert	 c;
	struct tk_buf		 b, store;
	struct mk		 m;
	char			 pr[64];

	tk_buf_init(&b, 4 * TK_SSHCERT_MAX, 0);
	tk_buf_init(&store, TK_SSHCERT_MAX, 0);

	memset(&m, 0, sizeof(m));
	m.nprincipals = 1;
	ok(make(&m, &b) == 0 &&
	    tk_sshcert_parse(tk_buf_ptr(&b), tk_buf_avail(&b), &c,
	    &store) == 0 && c.nprincipals == 1,
	    "hand-made: a well-formed certificate parses");
	is_int(tk_sshcert_verify(&c), TK_ERR_SIGNATURE,
	    "hand-made: its made-up signature does not verify");

#define REFUSED(want, what) do {					\
	ok(make(&m, &b) == 0, "built: %s", what);			\
	is_int(tk_sshcert_parse(tk_buf_ptr(&b), tk_buf_avail(&b), &c,	\
	    &store), want, "refused: %s", what);			\
	ok(c.key == NULL && tk_buf_avail(&store) == 0,			\
	    "...nothing left behind");					\
	memset(&m, 0, sizeof(m));					\
} while (0)

	m.name = "ssh-dss-cert-v01@openssh.com";
	REFUSED(TK_ERR_UNSUPPORTED, "a DSA certificate");
	m.name = "sk-ssh-ed25519-cert-v01@openssh.com";
	REFUSED(TK_ERR_UNSUPPORTED, "a security key certificate");
	m.name = "ssh-ed25519";
	REFUSED(TK_ERR_UNSUPPORTED, "a plain key");
	m.type = 3;
	REFUSED(TK_ERR_UNSUPPORTED, "certificate type 3");
	m.nprincipals = TK_SSHCERT_MAX_PRINCIPALS + 1;
	REFUSED(TK_ERR_RANGE, "257 principals");
	m.nprincipals = 2;
	m.nul_principal = 1;
	REFUSED(TK_ERR_FORMAT, "a NUL in a principal");
	m.odd_options = 1;
	REFUSED(TK_ERR_FORMAT, "a critical option without its data");
	m.ca_is_cert = 1;
	REFUSED(TK_ERR_FORMAT, "a CA key that is a certificate");
	m.after = 10;
	m.before = 9;
	REFUSED(TK_ERR_FORMAT, "valid_after later than valid_before");
	m.pad = TK_SSHCERT_MAX;
	REFUSED(TK_ERR_RANGE, "a blob over 32 KiB");

	/* fuzz-sshcert found it: an empty first principal lost its comma */
	memset(&m, 0, sizeof(m));
	m.nprincipals = 1;
	m.empty_first = 1;
	ok(make(&m, &b) == 0 && tk_sshcert_parse(tk_buf_ptr(&b),
	    tk_buf_avail(&b), &c, &store) == 0 && c.nprincipals == 2 &&
	    tk_sshcert_principals(&c, pr, sizeof(pr)) == 0 &&
	    strcmp(pr, ",user") == 0,
	    "an empty principal, then user: shown as \",user\"");

	memset(&m, 0, sizeof(m));
	m.nprincipals = TK_SSHCERT_MAX_PRINCIPALS;
	ok(make(&m, &b) == 0 && tk_sshcert_parse(tk_buf_ptr(&b),
	    tk_buf_avail(&b), &c, &store) == 0 &&
	    c.nprincipals == TK_SSHCERT_MAX_PRINCIPALS,
	    "256 principals still parse");
	tk_buf_free(&b);
	tk_buf_free(&store);
}

int
main(void)
{
	test_vectors();
	test_hostile();
	return tap_done();
}
