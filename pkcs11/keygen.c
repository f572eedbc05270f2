/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Making a key pair on a token (keygen.h).  The private half is made so
 * that it can never leave the token and can only sign: sensitive, never
 * extractable, no decrypt, unwrap or derive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pkcs11/ctx.h"
#include "pkcs11/keygen.h"
#include "pkcs11/onetoken.h"
#include "pkcs11/sign.h"
#include "pkcs11/x509gen.h"

#define MECH_MAX	4096	/* mechanisms we look at */
#define FRESH_ID_LEN	16
#define NOTHING		"nothing"	/* what_it_can(): no kind at all */

struct tk_keygen {
	struct tk_ctx		*ctx;
	P11KitUri		*uri;
	char			*uristr;
	struct tk_p11_token	 tok;
	char			 name[32 * 4 + 1];
	CK_MECHANISM_TYPE	*mechs;
	CK_ULONG		 nmechs;
	CK_SESSION_HANDLE	 s;
	int			 have_s;
	CK_OBJECT_HANDLE	 priv, pub;
	int			 have_priv;
	int			 type;
};

static const struct kind {
	const char		*name;
	CK_KEY_TYPE		 kt;
	CK_MECHANISM_TYPE	 gen, sign;
} kinds[] = {
	{ "rsa", CKK_RSA, CKM_RSA_PKCS_KEY_PAIR_GEN, CKM_RSA_PKCS },
	{ "ecdsa", CKK_EC, CKM_EC_KEY_PAIR_GEN, CKM_ECDSA },
	{ "ed25519", CKK_EC_EDWARDS, CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA },
};

/* Named curves as DER OBJECT IDENTIFIERs (CKA_EC_PARAMS). */
static const uint8_t oid_p256[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t oid_p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const uint8_t oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };

/* DigestInfo prefixes (RFC 8017 9.2) for CKM_RSA_PKCS. */
static const uint8_t di_sha256[] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20
};
static const uint8_t di_sha512[] = {
	0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
	0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40
};

static void
append(char *buf, const char *s, size_t bufsz)
{
	size_t	n = strlen(buf);

	if (n < bufsz)
		snprintf(buf + n, bufsz - n, "%s", s);
}

static const struct kind *
kind_of(int type)
{
	if (type == TK_KEY_RSA)
		return &kinds[0];
	if (type == TK_KEY_ED25519)
		return &kinds[2];
	return &kinds[1];
}

static unsigned int
bits_of(const struct tk_keygen_spec *sp)
{
	switch (sp->type) {
	case TK_KEY_ECDSA_P256:
		return 256;
	case TK_KEY_ECDSA_P384:
		return 384;
	case TK_KEY_ECDSA_P521:
		return 521;
	case TK_KEY_ED25519:
		return 256;
	default:
		return sp->bits;
	}
}

int
tk_keygen_open(struct tk_ctx *ctx, const char *uri, struct tk_keygen **out)
{
	struct tk_keygen	*g;
	int			 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		goto out;
	g->ctx = ctx;
	if ((g->uristr = strdup(uri)) == NULL)
		goto out;
	if ((r = tk_uri_parse(uri, &g->uri)) != 0)
		goto out;
	if ((r = tk_one_token(ctx, uri, &g->tok)) != 0)
		goto out;
	tk_p11_token_label(&g->tok, g->name, sizeof(g->name));
	*out = g;
	g = NULL;
	r = 0;
 out:
	tk_keygen_free(g);
	return r;
}

void
tk_keygen_free(struct tk_keygen *g)
{
	if (g == NULL)
		return;
	if (g->have_s)
		(void)g->tok.mod->f->C_CloseSession(g->s);
	if (g->uri != NULL)
		p11_kit_uri_free(g->uri);
	free(g->uristr);
	free(g->mechs);
	free(g);
}

const struct tk_p11_token *
tk_keygen_tok(const struct tk_keygen *g)
{
	return &g->tok;
}

const char *
tk_keygen_token(const struct tk_keygen *g)
{
	return g->name;
}

static int
mechs_load(struct tk_keygen *g)
{
	CK_FUNCTION_LIST	*f = g->tok.mod->f;
	CK_ULONG		 n = 0;
	CK_RV			 rv;
	int			 r = 0;

	if (g->mechs != NULL)
		goto out;
	rv = f->C_GetMechanismList(g->tok.slot, NULL, &n);
	if (rv == CKR_OK && n > MECH_MAX)
		n = MECH_MAX;
	if (rv == CKR_OK && (g->mechs = calloc(n + 1,
	    sizeof(*g->mechs))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (rv == CKR_OK)
		rv = f->C_GetMechanismList(g->tok.slot, g->mechs, &n);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		tk_modset_report(&g->ctx->ms, r, "token \"%s\": cannot list "
		    "its mechanisms: %s", g->name, p11_kit_strerror(rv));
		goto out;
	}
	g->nmechs = n;
 out:
	return r;
}

/* Has the token mechanism m with flag?  Its key size range in *info. */
static int
has_mech(struct tk_keygen *g, CK_MECHANISM_TYPE m, CK_FLAGS flag,
    CK_MECHANISM_INFO *info)
{
	CK_ULONG	i;

	for (i = 0; i < g->nmechs; i++)
		if (g->mechs[i] == m)
			break;
	if (i == g->nmechs)
		return 0;
	if (g->tok.mod->f->C_GetMechanismInfo(g->tok.slot, m, info) != CKR_OK)
		return 0;
	return (info->flags & flag) != 0;
}

/* Can the token make and sign with kind k of this size (0: any)? */
static int
can_make(struct tk_keygen *g, const struct kind *k, unsigned int bits,
    CK_MECHANISM_INFO *gi)
{
	CK_MECHANISM_INFO	si;

	if (!has_mech(g, k->gen, CKF_GENERATE_KEY_PAIR, gi) ||
	    !has_mech(g, k->sign, CKF_SIGN, &si))
		return 0;
	/* a range of 0-0, or one in bytes, says nothing we can use */
	if (bits == 0 || gi->ulMaxKeySize < 256 || k->kt == CKK_EC_EDWARDS)
		return 1;
	return bits >= gi->ulMinKeySize && bits <= gi->ulMaxKeySize;
}

/* "rsa 1024-4096, ecdsa 256 384, ed25519" */
static void
what_it_can(struct tk_keygen *g, char *buf, size_t bufsz)
{
	static const unsigned int	 ecbits[] = { 256, 384, 521 };
	CK_MECHANISM_INFO		 gi;
	char				 part[64];
	size_t				 i;

	buf[0] = '\0';
	if (can_make(g, &kinds[0], 0, &gi)) {
		if (gi.ulMaxKeySize >= 256)
			snprintf(part, sizeof(part), "rsa %lu-%lu",
			    (unsigned long)gi.ulMinKeySize,
			    (unsigned long)gi.ulMaxKeySize);
		else
			snprintf(part, sizeof(part), "rsa");
		append(buf, part, bufsz);
	}
	if (can_make(g, &kinds[1], 0, &gi)) {
		append(buf, buf[0] != '\0' ? ", ecdsa" : "ecdsa", bufsz);
		for (i = 0; i < sizeof(ecbits) / sizeof(ecbits[0]); i++)
			if (can_make(g, &kinds[1], ecbits[i], &gi)) {
				snprintf(part, sizeof(part), " %u", ecbits[i]);
				append(buf, part, bufsz);
			}
	}
	if (can_make(g, &kinds[2], 0, &gi))
		append(buf, buf[0] != '\0' ? ", ed25519" : "ed25519", bufsz);
	if (buf[0] == '\0')
		append(buf, NOTHING, bufsz);
}

int
tk_keygen_check(struct tk_keygen *g, const struct tk_keygen_spec *sp)
{
	const struct kind	*k = kind_of(sp->type);
	CK_MECHANISM_INFO	 gi;
	char			 can[256], what[32];
	int			 r;

	if ((r = mechs_load(g)) != 0)
		goto out;
	if (!can_make(g, k, bits_of(sp), &gi)) {
		what_it_can(g, can, sizeof(can));
		if (sp->type == TK_KEY_ED25519)
			snprintf(what, sizeof(what), "%s", k->name);
		else
			snprintf(what, sizeof(what), "%s %u", k->name,
			    bits_of(sp));
		r = TK_ERR_UNSUPPORTED;
		if (strcmp(can, NOTHING) == 0)
			tk_modset_report(&g->ctx->ms, r, "token \"%s\" cannot "
			    "make key pairs at all (it offers no generation "
			    "of a key type it can also sign with)", g->name);
		else
			tk_modset_report(&g->ctx->ms, r, "token \"%s\" cannot "
			    "make %s keys; it can make: %s", g->name, what,
			    can);
		goto out;
	}
	if (g->tok.tinfo.flags & CKF_WRITE_PROTECTED) {
		r = TK_ERR_DENIED;
		tk_modset_report(&g->ctx->ms, r, "token \"%s\" is read-only: "
		    "it cannot store a new key", g->name);
		goto out;
	}
	r = 0;
 out:
	return r;
}

/* Is an object with this attribute on the token (as we see it)? */
static int
in_use(struct tk_keygen *g, CK_ATTRIBUTE_TYPE type, const void *v, size_t n,
    int *used)
{
	CK_FUNCTION_LIST	*f = g->tok.mod->f;
	CK_ATTRIBUTE		 a = { type, (void *)v, n };
	CK_OBJECT_HANDLE	 h;
	CK_ULONG		 cnt = 0;
	CK_RV			 rv;

	*used = 0;
	if ((rv = f->C_FindObjectsInit(g->s, &a, 1)) != CKR_OK)
		goto out;
	rv = f->C_FindObjects(g->s, &h, 1, &cnt);
	(void)f->C_FindObjectsFinal(g->s);
	*used = rv == CKR_OK && cnt > 0;
 out:
	if (rv != CKR_OK)
		tk_modset_report(&g->ctx->ms, tk_p11_rv(rv), "token \"%s\": "
		    "cannot search its objects: %s", g->name,
		    p11_kit_strerror(rv));
	return rv == CKR_OK ? 0 : tk_p11_rv(rv);
}

static int
pick_id(struct tk_keygen *g, struct tk_keygen_spec *sp)
{
	char	hex[2 * TK_KEYGEN_ID_MAX + 1];
	size_t	i;
	int	r, used, tries;

	if (sp->idlen > 0) {
		if ((r = in_use(g, CKA_ID, sp->id, sp->idlen, &used)) != 0)
			goto out;
		if (used) {
			for (i = 0; i < sp->idlen; i++)
				snprintf(hex + 2 * i, 3, "%02x", sp->id[i]);
			r = TK_ERR_DENIED;
			tk_modset_report(&g->ctx->ms, r, "token \"%s\" "
			    "already has an object with id %s", g->name, hex);
		}
		goto out;
	}
	for (tries = 0; tries < 8; tries++) {
		if (RAND_bytes(sp->id, FRESH_ID_LEN) != 1) {
			r = TK_ERR_INTERNAL;
			goto out;
		}
		if ((r = in_use(g, CKA_ID, sp->id, FRESH_ID_LEN, &used)) != 0)
			goto out;
		if (!used) {
			sp->idlen = FRESH_ID_LEN;
			goto out;
		}
	}
	r = TK_ERR_INTERNAL;
 out:
	return r;
}

static int
generate(struct tk_keygen *g, const struct tk_keygen_spec *sp,
    CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
	const struct kind	*k = kind_of(sp->type);
	static CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	static CK_BYTE		 f4[] = { 0x01, 0x00, 0x01 };
	CK_OBJECT_CLASS		 pubc = CKO_PUBLIC_KEY, privc = CKO_PRIVATE_KEY;
	CK_KEY_TYPE		 kt = k->kt;
	CK_ULONG		 bits = sp->bits;
	CK_MECHANISM		 mech = { k->gen, NULL, 0 };
	CK_ATTRIBUTE		 pt[10], kt_[16];
	CK_ULONG		 np = 0, nk = 0;
	const uint8_t		*oid = NULL;
	size_t			 oidlen = 0;
	CK_RV			 rv;

#define A(t, n, ty, v, l)	\
	((t)[(n)++] = (CK_ATTRIBUTE){ (ty), (void *)(v), (l) })
	switch (sp->type) {
	case TK_KEY_ECDSA_P256:
		oid = oid_p256, oidlen = sizeof(oid_p256);
		break;
	case TK_KEY_ECDSA_P384:
		oid = oid_p384, oidlen = sizeof(oid_p384);
		break;
	case TK_KEY_ECDSA_P521:
		oid = oid_p521, oidlen = sizeof(oid_p521);
		break;
	case TK_KEY_ED25519:
		oid = oid_ed25519, oidlen = sizeof(oid_ed25519);
		break;
	}
	/*
	 * No CKA_VERIFY: nobody verifies on the token, and the TPM's module
	 * refuses a generation whose template names it (it derives it).
	 */
	A(pt, np, CKA_CLASS, &pubc, sizeof(pubc));
	A(pt, np, CKA_KEY_TYPE, &kt, sizeof(kt));
	A(pt, np, CKA_TOKEN, &yes, sizeof(yes));
	A(pt, np, CKA_PRIVATE, &no, sizeof(no));
	A(pt, np, CKA_ID, sp->id, sp->idlen);
	A(pt, np, CKA_LABEL, sp->label, strlen(sp->label));
	if (oid != NULL)
		A(pt, np, CKA_EC_PARAMS, oid, oidlen);
	else {
		A(pt, np, CKA_MODULUS_BITS, &bits, sizeof(bits));
		A(pt, np, CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
	}
	A(kt_, nk, CKA_CLASS, &privc, sizeof(privc));
	A(kt_, nk, CKA_KEY_TYPE, &kt, sizeof(kt));
	A(kt_, nk, CKA_TOKEN, &yes, sizeof(yes));
	A(kt_, nk, CKA_PRIVATE, &yes, sizeof(yes));
	A(kt_, nk, CKA_SENSITIVE, &yes, sizeof(yes));
	A(kt_, nk, CKA_EXTRACTABLE, &no, sizeof(no));
	A(kt_, nk, CKA_SIGN, &yes, sizeof(yes));
	A(kt_, nk, CKA_DECRYPT, &no, sizeof(no));
	A(kt_, nk, CKA_UNWRAP, &no, sizeof(no));
	A(kt_, nk, CKA_DERIVE, &no, sizeof(no));
	A(kt_, nk, CKA_ID, sp->id, sp->idlen);
	A(kt_, nk, CKA_LABEL, sp->label, strlen(sp->label));
	if (sp->always_auth)
		A(kt_, nk, CKA_ALWAYS_AUTHENTICATE, &yes, sizeof(yes));
#undef A
	rv = g->tok.mod->f->C_GenerateKeyPair(g->s, &mech, pt, np, kt_, nk,
	    pub, priv);
	if (rv == CKR_USER_NOT_LOGGED_IN && !sp->so)
		tk_modset_report(&g->ctx->ms, tk_p11_rv(rv), "token \"%s\" "
		    "did not make the key pair: it wants a security-officer "
		    "login first; try tokenkeys keygen --so", g->name);
	else if (rv != CKR_OK)
		tk_modset_report(&g->ctx->ms, tk_p11_rv(rv), "token \"%s\" "
		    "did not make the key pair: %s", g->name,
		    rv == CKR_TOKEN_WRITE_PROTECTED ? "the token is read-only" :
		    p11_kit_strerror(rv));
	return rv == CKR_OK ? 0 : tk_p11_rv(rv);
}

/* The private half of the new pair, found again by its id. */
static int
find_priv(struct tk_keygen *g, const struct tk_keygen_spec *sp)
{
	CK_FUNCTION_LIST	*f = g->tok.mod->f;
	CK_OBJECT_CLASS		 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		 a[2] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)sp->id, sp->idlen }
	};
	CK_ULONG		 n = 0;
	CK_RV			 rv;

	if ((rv = f->C_FindObjectsInit(g->s, a, 2)) == CKR_OK) {
		rv = f->C_FindObjects(g->s, &g->priv, 1, &n);
		(void)f->C_FindObjectsFinal(g->s);
	}
	if (rv == CKR_OK && n == 1)
		return 0;
	tk_modset_report(&g->ctx->ms, TK_ERR_NOT_FOUND, "token \"%s\" does "
	    "not show the new private key to its user: %s", g->name,
	    rv != CKR_OK ? p11_kit_strerror(rv) : "not found");
	return TK_ERR_NOT_FOUND;
}

/* The security officer's login, once, never retried. */
static int
so_login(struct tk_keygen *g, const struct tk_keygen_spec *sp)
{
	CK_RV	rv;

	rv = g->tok.mod->f->C_Login(g->s, CKU_SO, (CK_UTF8CHAR *)sp->sopin,
	    sp->sopin != NULL ? sp->sopinlen : 0);
	if (rv == CKR_OK)
		return 0;
	tk_modset_report(&g->ctx->ms, tk_p11_rv(rv), "token \"%s\": SO "
	    "login failed: %s", g->name, rv == CKR_PIN_INCORRECT ?
	    "wrong PIN" : rv == CKR_PIN_LOCKED ? "the SO PIN is locked" :
	    p11_kit_strerror(rv));
	return TK_ERR_DENIED;
}

int
tk_keygen_make(struct tk_keygen *g, struct tk_keygen_spec *sp,
    char **keyuri)
{
	CK_FUNCTION_LIST	*f = g->tok.mod->f;
	struct tk_p11_object	 o;
	CK_OBJECT_HANDLE	 pub, priv;
	CK_RV			 rv;
	int			 r = 0, used = 0;

	*keyuri = NULL;
	rv = f->C_OpenSession(g->tok.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &g->s);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		tk_modset_report(&g->ctx->ms, r, "token \"%s\": cannot open a "
		    "session to write: %s", g->name,
		    rv == CKR_TOKEN_WRITE_PROTECTED ? "the token is read-only" :
		    p11_kit_strerror(rv));
		goto out;
	}
	g->have_s = 1;
	if (sp->so)
		r = so_login(g, sp);
	else if (tk_ctx_login(g->ctx, g->uri, g->uristr, &g->tok, g->s) != 0)
		r = TK_ERR_DENIED;
	if (r != 0)
		goto out;
	if ((r = pick_id(g, sp)) != 0)
		goto out;
	if (sp->label_given && (r = in_use(g, CKA_LABEL, sp->label,
	    strlen(sp->label), &used)) != 0)
		goto out;
	if (sp->label_given && used) {
		r = TK_ERR_DENIED;
		tk_modset_report(&g->ctx->ms, r, "token \"%s\" already has an "
		    "object labelled \"%s\"", g->name, sp->label);
		goto out;
	}
	if ((r = generate(g, sp, &pub, &priv)) != 0)
		goto out;
	if (sp->so)
		(void)f->C_Logout(g->s);	/* the SO is done */
	g->priv = priv;
	g->pub = pub;
	g->have_priv = 1;
	g->type = sp->type;
	memset(&o, 0, sizeof(o));
	o.cls = CKO_PUBLIC_KEY;
	memcpy(o.id, sp->id, sp->idlen);
	o.idlen = sp->idlen;
	snprintf(o.label, sizeof(o.label), "%s", sp->label);
	if ((r = tk_uri_for_key(&g->tok, &o, keyuri)) != 0)
		goto out;
	/*
	 * The test signature is the user's; the SO's logout may have
	 * invalidated the handle of the (private) new key.
	 */
	if (sp->so && (tk_ctx_login(g->ctx, g->uri, g->uristr, &g->tok,
	    g->s) != 0 || find_priv(g, sp) != 0))
		r = TK_ERR_DENIED;
 out:
	if (sp->so && r != 0 && !g->have_priv && g->have_s)
		(void)f->C_Logout(g->s);
	return r;
}

int
tk_keygen_sign(struct tk_keygen *g, int hash, const uint8_t *data,
    size_t datalen, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	CK_FUNCTION_LIST	*f = g->tok.mod->f;
	CK_MECHANISM		 mech = { CKM_ECDSA, NULL, 0 };
	const EVP_MD		*md = NULL;
	const uint8_t		*pre = NULL;
	uint8_t			 in[19 + EVP_MAX_MD_SIZE];
	const uint8_t		*p = in;
	size_t			 prelen = 0, len;
	unsigned int		 mdlen = 0;
	CK_ULONG		 n = sigsz;
	CK_RV			 rv;
	int			 r = TK_ERR_UNSUPPORTED;

	if (!g->have_priv)
		goto out;
	if (hash == TK_HASH_SHA256)
		md = EVP_sha256();
	else if (hash == TK_HASH_SHA384)
		md = EVP_sha384();
	else if (hash == TK_HASH_SHA512)
		md = EVP_sha512();
	if (g->type == TK_KEY_ED25519) {
		mech.mechanism = CKM_EDDSA;
		p = data;
		len = datalen;
	} else {
		if (md == NULL)
			goto out;
		if (g->type == TK_KEY_RSA) {
			mech.mechanism = CKM_RSA_PKCS;
			pre = hash == TK_HASH_SHA256 ? di_sha256 :
			    hash == TK_HASH_SHA512 ? di_sha512 : NULL;
			prelen = pre == di_sha256 ? sizeof(di_sha256) :
			    pre == di_sha512 ? sizeof(di_sha512) : 0;
			if (pre == NULL)
				goto out;
			memcpy(in, pre, prelen);
		}
		if (EVP_Digest(data, datalen, in + prelen, &mdlen, md,
		    NULL) != 1) {
			r = TK_ERR_INTERNAL;
			goto out;
		}
		len = prelen + mdlen;
	}
	if ((rv = f->C_SignInit(g->s, &mech, g->priv)) == CKR_OK)
		rv = f->C_Sign(g->s, (CK_BYTE *)p, len, sig, &n);
	if (rv != CKR_OK || n > sigsz) {
		r = rv != CKR_OK ? tk_p11_rv(rv) : TK_ERR_RANGE;
		tk_modset_report(&g->ctx->ms, r, "token \"%s\" could not sign "
		    "with the new key: %s", g->name, rv != CKR_OK ?
		    p11_kit_strerror(rv) : "signature too long");
		goto out;
	}
	*siglen = n;
	r = 0;
 out:
	return r;
}

static int
sign_cb(void *arg, int hash, const uint8_t *data, size_t datalen,
    uint8_t *sig, size_t sigsz, size_t *siglen)
{
	return tk_keygen_sign(arg, hash, data, datalen, sig, sigsz, siglen);
}

/* The new public key, read back from its object. */
static int
pub_read(struct tk_keygen *g, struct tk_pubkey *k, uint8_t *a, size_t asz,
    uint8_t *b, size_t bsz)
{
	CK_ATTRIBUTE	t[2];
	CK_RV		rv;
	int		r = TK_ERR_BAD_KEY;

	memset(k, 0, sizeof(*k));
	if (g->type == TK_KEY_RSA) {
		t[0] = (CK_ATTRIBUTE){ CKA_MODULUS, a, asz };
		t[1] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, b, bsz };
	} else {
		t[0] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, a, asz };
		t[1] = (CK_ATTRIBUTE){ CKA_EC_POINT, b, bsz };
	}
	rv = g->tok.mod->f->C_GetAttributeValue(g->s, g->pub, t, 2);
	if (rv != CKR_OK || !tk_attr_ok(&t[0], asz) || !tk_attr_ok(&t[1], bsz))
		goto out;
	r = g->type == TK_KEY_RSA ?
	    tk_decode_rsa(a, t[0].ulValueLen, b, t[1].ulValueLen, k) :
	    tk_decode_ec(a, t[0].ulValueLen, b, t[1].ulValueLen, k);
 out:
	return r;
}

int
tk_keygen_cert(struct tk_keygen *g, const struct tk_keygen_spec *sp)
{
	static CK_BBOOL		 yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS		 cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE	 ct = CKC_X_509;
	struct tk_pubkey	 k;
	CK_ATTRIBUTE		 t[9];
	CK_OBJECT_HANDLE	 h;
	uint8_t			 a[TK_RSA_MAX_BITS / 8 + 1];
	uint8_t			 b[TK_EC_POINT_MAX + 8];
	uint8_t			*der = NULL, *subj = NULL;
	size_t			 derlen = 0, subjlen = 0;
	CK_RV			 rv;
	int			 r;

	memset(&k, 0, sizeof(k));
	if (!g->have_priv) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if ((r = pub_read(g, &k, a, sizeof(a), b, sizeof(b))) != 0) {
		tk_modset_report(&g->ctx->ms, r, "token \"%s\": cannot read "
		    "back the new public key: %s", g->name, tk_strerror(r));
		goto out;
	}
	if ((r = tk_x509_selfsigned(&k, sp->label, sign_cb, g, &der, &derlen,
	    &subj, &subjlen)) != 0) {
		tk_modset_report(&g->ctx->ms, r, "token \"%s\": cannot make "
		    "the certificate: %s", g->name, tk_strerror(r));
		goto out;
	}
	t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	t[1] = (CK_ATTRIBUTE){ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) };
	t[2] = (CK_ATTRIBUTE){ CKA_TOKEN, &yes, sizeof(yes) };
	t[3] = (CK_ATTRIBUTE){ CKA_PRIVATE, &no, sizeof(no) };
	t[4] = (CK_ATTRIBUTE){ CKA_ID, (void *)sp->id, sp->idlen };
	t[5] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)sp->label,
	    strlen(sp->label) };
	t[6] = (CK_ATTRIBUTE){ CKA_SUBJECT, subj, subjlen };
	t[7] = (CK_ATTRIBUTE){ CKA_VALUE, der, derlen };
	rv = g->tok.mod->f->C_CreateObject(g->s, t, 8, &h);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		tk_modset_report(&g->ctx->ms, r, "token \"%s\" did not store "
		    "the certificate: %s", g->name, p11_kit_strerror(rv));
		goto out;
	}
	r = 0;
 out:
	tk_pubkey_clear(&k);
	free(der);
	free(subj);
	return r;
}
