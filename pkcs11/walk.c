/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Enumeration of modules, slots, tokens and key objects.  Attributes are
 * read with one C_GetAttributeValue per object into fixed buffers; only
 * when a module answers something odd is each attribute fetched alone.
 * Every length a module reports is checked against what we gave it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "pkcs11/p11.h"
#include "pkcs11/slots.h"

#define FIND_BATCH	256

enum {
	A_KEY_TYPE, A_ID, A_LABEL, A_MODULUS, A_EXPONENT, A_EC_PARAMS,
	A_EC_POINT, A_CERT_TYPE, A_CERT_CATEGORY, A_VALUE, A_N
};

struct attrs {
	CK_ATTRIBUTE	a[A_N];
	size_t		n;		/* how many of a[] are asked */
	CK_KEY_TYPE	ktype;
	CK_CERTIFICATE_TYPE ctype;
	CK_ULONG	category;
	uint8_t		id[TK_ID_MAX];
	uint8_t		label[TK_LABEL_MAX];
	uint8_t		modulus[TK_RSA_MAX_BITS / 8 + 1];
	uint8_t		exponent[64];
	uint8_t		params[64];
	uint8_t		point[TK_EC_POINT_MAX + 8];
	uint8_t		value[8192];
	uint8_t		*big;		/* CKA_VALUE larger than value[] */
};

static void
attrs_setup(struct attrs *at, CK_OBJECT_CLASS cls)
{
	CK_ATTRIBUTE	*a = at->a;

	at->big = NULL;
	a[A_KEY_TYPE] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &at->ktype,
	    sizeof(at->ktype) };
	a[A_ID] = (CK_ATTRIBUTE){ CKA_ID, at->id, sizeof(at->id) };
	a[A_LABEL] = (CK_ATTRIBUTE){ CKA_LABEL, at->label, sizeof(at->label) };
	a[A_MODULUS] = (CK_ATTRIBUTE){ CKA_MODULUS, at->modulus,
	    sizeof(at->modulus) };
	a[A_EXPONENT] = (CK_ATTRIBUTE){ CKA_PUBLIC_EXPONENT, at->exponent,
	    sizeof(at->exponent) };
	a[A_EC_PARAMS] = (CK_ATTRIBUTE){ CKA_EC_PARAMS, at->params,
	    sizeof(at->params) };
	a[A_EC_POINT] = (CK_ATTRIBUTE){ CKA_EC_POINT, at->point,
	    sizeof(at->point) };
	a[A_CERT_TYPE] = (CK_ATTRIBUTE){ CKA_CERTIFICATE_TYPE, &at->ctype,
	    sizeof(at->ctype) };
	a[A_CERT_CATEGORY] = (CK_ATTRIBUTE){ CKA_CERTIFICATE_CATEGORY,
	    &at->category, sizeof(at->category) };
	a[A_VALUE] = (CK_ATTRIBUTE){ CKA_VALUE, at->value, sizeof(at->value) };
	if (cls == CKO_CERTIFICATE) {
		/* certificates: id, label and the cert fields only */
		a[A_KEY_TYPE] = a[A_CERT_TYPE];
		a[A_MODULUS] = a[A_CERT_CATEGORY];
		a[A_EXPONENT] = a[A_VALUE];
		at->n = 5;
	} else
		at->n = A_EC_POINT + 1;
}

/*
 * Fetch one attribute alone, allocating when it does not fit the fixed
 * buffer (only CKA_VALUE may).  Leaves ulValueLen unavailable on failure.
 */
static void
attr_fetch_one(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
    CK_ATTRIBUTE *a, CK_ULONG cap, uint8_t **big)
{
	CK_ATTRIBUTE	q = { a->type, NULL, 0 };
	CK_ULONG	len;

	if (f->C_GetAttributeValue(s, h, &q, 1) != CKR_OK ||
	    q.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    q.ulValueLen > TK_ATTR_MAX)
		goto fail;
	len = q.ulValueLen;
	if (len > cap) {
		if (big == NULL || (*big = malloc(len)) == NULL)
			goto fail;
		a->pValue = *big;
	}
	a->ulValueLen = len;
	if (f->C_GetAttributeValue(s, h, a, 1) != CKR_OK ||
	    a->ulValueLen != len)
		goto fail;
	return;
 fail:
	a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
}

static int
attrs_read(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
    struct attrs *at)
{
	CK_ULONG	cap[A_N];
	CK_RV		rv;
	size_t		i;
	int		slow, r = 0;

	for (i = 0; i < at->n; i++)
		cap[i] = at->a[i].ulValueLen;
	rv = f->C_GetAttributeValue(s, h, at->a, at->n);
	switch (rv) {
	case CKR_OK:
	case CKR_ATTRIBUTE_TYPE_INVALID:
	case CKR_ATTRIBUTE_SENSITIVE:
		slow = 0;
		break;
	case CKR_BUFFER_TOO_SMALL:
		slow = 1;
		break;
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_ERROR:
		r = tk_p11_rv(rv);
		goto out;
	default:
		/* an odd module: ask for each attribute on its own */
		slow = 1;
		for (i = 0; i < at->n; i++)
			at->a[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
		break;
	}
	for (i = 0; i < at->n; i++) {
		if (at->a[i].ulValueLen != CK_UNAVAILABLE_INFORMATION &&
		    at->a[i].ulValueLen > cap[i]) {
			/* the module claims to have written past our buffer */
			if (rv != CKR_BUFFER_TOO_SMALL) {
				r = TK_ERR_BAD_KEY;
				goto out;
			}
			at->a[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
		}
		if (slow && at->a[i].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
			at->a[i].ulValueLen = cap[i];
			attr_fetch_one(f, s, h, &at->a[i], cap[i],
			    at->a[i].type == CKA_VALUE ? &at->big : NULL);
		}
	}
 out:
	return r;
}

static void
copy_label(char *dst, const CK_ATTRIBUTE *a)
{
	size_t	n = 0;

	if (tk_attr_ok(a, TK_LABEL_MAX))
		n = a->ulValueLen;
	memcpy(dst, a->pValue, n);
	dst[n] = '\0';
	/* a label with an embedded NUL is cut there */
}

/* *ca: a certificate that says CA:TRUE, decoded all the same. */
static int
decode_object(CK_OBJECT_CLASS cls, struct attrs *at, struct tk_p11_object *o,
    int *ca)
{
	const CK_ATTRIBUTE	*a = at->a;
	int			 r = TK_ERR_UNSUPPORTED;

	*ca = 0;
	o->cls = cls;
	o->idlen = tk_attr_ok(&a[A_ID], TK_ID_MAX) ? a[A_ID].ulValueLen : 0;
	memcpy(o->id, at->id, o->idlen);
	copy_label(o->label, &a[A_LABEL]);
	if (cls == CKO_CERTIFICATE) {
		/* slots: 0 cert type, 1 id, 2 label... see attrs_setup */
		if (!tk_attr_ok(&a[A_KEY_TYPE], sizeof(CK_ULONG)) ||
		    a[A_KEY_TYPE].ulValueLen != sizeof(CK_ULONG) ||
		    at->ctype != CKC_X_509)
			goto out;
		if (tk_attr_ok(&a[A_MODULUS], sizeof(CK_ULONG)) &&
		    a[A_MODULUS].ulValueLen == sizeof(CK_ULONG) &&
		    at->category == 2) {
			r = TK_ERR_DENIED;	/* an authority */
			goto out;
		}
		if (a[A_EXPONENT].ulValueLen == CK_UNAVAILABLE_INFORMATION) {
			r = TK_ERR_FORMAT;
			goto out;
		}
		r = tk_decode_cert_ca(a[A_EXPONENT].pValue,
		    a[A_EXPONENT].ulValueLen, &o->key, ca);
		goto out;
	}
	if (!tk_attr_ok(&a[A_KEY_TYPE], sizeof(CK_KEY_TYPE)) ||
	    a[A_KEY_TYPE].ulValueLen != sizeof(CK_KEY_TYPE))
		goto out;
	switch (at->ktype) {
	case CKK_RSA:
		r = TK_ERR_BAD_KEY;
		if (!tk_attr_ok(&a[A_MODULUS], sizeof(at->modulus)) ||
		    !tk_attr_ok(&a[A_EXPONENT], sizeof(at->exponent)))
			goto out;
		r = tk_decode_rsa(at->modulus, a[A_MODULUS].ulValueLen,
		    at->exponent, a[A_EXPONENT].ulValueLen, &o->key);
		break;
	case CKK_EC:
	case CKK_EC_EDWARDS:
		r = TK_ERR_BAD_KEY;
		if (!tk_attr_ok(&a[A_EC_PARAMS], sizeof(at->params)) ||
		    !tk_attr_ok(&a[A_EC_POINT], sizeof(at->point)))
			goto out;
		r = tk_decode_ec(at->params, a[A_EC_PARAMS].ulValueLen,
		    at->point, a[A_EC_POINT].ulValueLen, &o->key);
		if (r == 0 && (at->ktype == CKK_EC) !=
		    (o->key.type != TK_KEY_ED25519))
			r = TK_ERR_BAD_KEY;	/* wrong curve family */
		break;
	default:
		break;
	}
 out:
	return r;
}

void
tk_p11_token_names(const struct tk_p11_token *t, struct tk_p11_names *nm)
{
	const CK_TOKEN_INFO	*ti = &t->tinfo;

	tk_fixed_string(nm->label, sizeof(nm->label), ti->label,
	    sizeof(ti->label));
	tk_fixed_string(nm->manuf, sizeof(nm->manuf), ti->manufacturerID,
	    sizeof(ti->manufacturerID));
	tk_fixed_string(nm->model, sizeof(nm->model), ti->model,
	    sizeof(ti->model));
	tk_fixed_string(nm->serial, sizeof(nm->serial), ti->serialNumber,
	    sizeof(ti->serialNumber));
}

void
tk_p11_token_label(const struct tk_p11_token *t, char *buf, size_t bufsz)
{
	char	raw[sizeof(t->tinfo.label) + 1];

	tk_fixed_string(raw, sizeof(raw), t->tinfo.label,
	    sizeof(t->tinfo.label));
	tk_str_sanitize(raw, buf, bufsz);
}

static const char *
classname(CK_OBJECT_CLASS cls)
{
	return cls == CKO_CERTIFICATE ? "certificate" : "public key";
}

static void
report_object(struct tk_modset *ms, const struct tk_p11_token *t,
    CK_OBJECT_CLASS cls, const struct tk_p11_object *o, int err)
{
	char	lab[TK_LABEL_MAX * 4 + 1], tok[32 * 4 + 1];

	tk_p11_token_label(t, tok, sizeof(tok));
	tk_str_sanitize(o->label, lab, sizeof(lab));
	tk_modset_report(ms, err, "token \"%s\": skipping %s \"%s\": %s",
	    tok, classname(cls), lab, tk_strerror(err));
}

/* Up to cap handles of objects of class cls with CKA_ID id, in *n. */
static int
find_by_id(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    uint8_t *id, size_t idlen, CK_OBJECT_HANDLE *hs, CK_ULONG cap,
    CK_ULONG *n)
{
	CK_ATTRIBUTE	tmpl[2];
	CK_RV		rv;
	int		r;

	*n = 0;
	tmpl[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	tmpl[1] = (CK_ATTRIBUTE){ CKA_ID, id, idlen };
	if ((rv = f->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK) {
		r = tk_p11_rv(rv);
		goto out;
	}
	rv = f->C_FindObjects(s, hs, cap, n);
	(void)f->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		r = tk_p11_rv(rv);
	else if (*n > cap)
		r = TK_ERR_TOKEN;	/* a lying module */
	else
		r = 0;
 out:
	return r;
}

/* Does a public key object with o's CKA_ID hold o's key? */
static int
public_twin(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
    struct tk_p11_object *o, int *twin)
{
	CK_OBJECT_HANDLE	 hs[4];
	CK_ULONG		 n, i;
	struct attrs		*at = NULL;
	struct tk_p11_object	*po = NULL;
	int			 r, ca;

	*twin = 0;
	if ((r = find_by_id(f, s, CKO_PUBLIC_KEY, o->id, o->idlen, hs, 4,
	    &n)) != 0 || n == 0)
		goto out;
	if ((at = malloc(sizeof(*at))) == NULL ||
	    (po = malloc(sizeof(*po))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n && !*twin; i++) {
		attrs_setup(at, CKO_PUBLIC_KEY);
		memset(po, 0, sizeof(*po));
		if (attrs_read(f, s, hs[i], at) == 0 &&
		    decode_object(CKO_PUBLIC_KEY, at, po, &ca) == 0)
			*twin = tk_pubkey_equal(&po->key, &o->key);
		tk_pubkey_clear(&po->key);
		free(at->big);
	}
 out:
	free(po);
	free(at);
	return r;
}

/*
 * A certificate that says CA:TRUE is also what openssl req -x509 makes
 * for a key of one's own: it is that key's when the token shows a private
 * key with its CKA_ID, an authority's when it shows none and would (the
 * session is logged in, or the token needs no login).  0: a key;
 * TK_ERR_DENIED: not one to list; TK_ERR_LOGIN_REQUIRED: undecided until
 * a login shows the private keys.  A certificate whose key a public key
 * object with its CKA_ID already carries is not undecided: that object
 * stands for the pair either way.
 */
static int
ca_cert_kind(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s,
    const struct tk_p11_token *t, struct tk_p11_object *o)
{
	CK_OBJECT_HANDLE	h;
	CK_SESSION_INFO		si;
	CK_ULONG		n;
	int			r = TK_ERR_DENIED, twin;

	if (o->idlen == 0)
		goto out;	/* pairs with no private key */
	if ((r = find_by_id(f, s, CKO_PRIVATE_KEY, o->id, o->idlen, &h, 1,
	    &n)) != 0)
		goto out;
	if (n == 1)
		goto out;	/* r = 0: a key */
	r = TK_ERR_DENIED;
	if (!(t->tinfo.flags & CKF_LOGIN_REQUIRED) ||
	    (f->C_GetSessionInfo(s, &si) == CKR_OK &&
	    (si.state == CKS_RO_USER_FUNCTIONS ||
	    si.state == CKS_RW_USER_FUNCTIONS)))
		goto out;
	if ((r = public_twin(f, s, o, &twin)) != 0)
		goto out;
	r = twin ? TK_ERR_DENIED : TK_ERR_LOGIN_REQUIRED;
 out:
	return r;
}

/* Objects of one class on one token, matching the URI's id and label. */
static int
walk_class(struct tk_modset *ms, const struct tk_walk *w,
    const struct tk_p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    int *lost, size_t *undecided)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_CERTIFICATE_TYPE	 x509 = CKC_X_509;
	CK_ATTRIBUTE		 tmpl[4], *ua;
	CK_OBJECT_HANDLE	*hs = NULL, *nh;
	CK_ULONG		 got, nt = 0;
	struct attrs		*at = NULL;
	struct tk_p11_object	*o = NULL;
	size_t			 nhs = 0, caph = 0, i;
	CK_RV			 rv;
	int			 r = 0, dr, ca;

	tmpl[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	if (cls == CKO_CERTIFICATE)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_CERTIFICATE_TYPE, &x509,
		    sizeof(x509) };
	if ((ua = p11_kit_uri_get_attribute(w->uri, CKA_ID)) != NULL)
		tmpl[nt++] = *ua;
	if ((ua = p11_kit_uri_get_attribute(w->uri, CKA_LABEL)) != NULL)
		tmpl[nt++] = *ua;
	rv = f->C_FindObjectsInit(s, tmpl, nt);
	if (rv != CKR_OK) {
		r = tk_p11_rv(rv);
		goto fail;
	}
	for (;;) {
		if (caph - nhs < FIND_BATCH) {
			nh = reallocarray(hs, caph + FIND_BATCH * 4,
			    sizeof(*hs));
			if (nh == NULL) {
				r = TK_ERR_NOMEM;
				break;
			}
			hs = nh;
			caph += FIND_BATCH * 4;
		}
		got = 0;
		rv = f->C_FindObjects(s, hs + nhs, FIND_BATCH, &got);
		if (rv != CKR_OK) {
			r = tk_p11_rv(rv);
			break;
		}
		if (got == 0)
			break;
		if (got > FIND_BATCH) {
			r = TK_ERR_TOKEN;	/* a lying module */
			break;
		}
		nhs += got;
	}
	(void)f->C_FindObjectsFinal(s);
	if (r != 0)
		goto fail;
	if ((at = malloc(sizeof(*at))) == NULL ||
	    (o = malloc(sizeof(*o))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nhs && r == 0; i++) {
		attrs_setup(at, cls);
		memset(o, 0, sizeof(*o));
		o->handle = hs[i];
		ca = 0;
		if ((dr = attrs_read(f, s, hs[i], at)) == 0)
			dr = decode_object(cls, at, o, &ca);
		free(at->big);
		at->big = NULL;
		if (dr == 0 && ca)
			dr = ca_cert_kind(f, s, t, o);
		if (dr == TK_ERR_SESSION || dr == TK_ERR_NO_TOKEN ||
		    dr == TK_ERR_TOKEN || dr == TK_ERR_MODULE) {
			tk_pubkey_clear(&o->key);
			r = dr;
			goto fail;
		}
		if (dr == 0 && w->objfn != NULL)
			r = w->objfn(w->arg, t, o);
		else if (dr == TK_ERR_LOGIN_REQUIRED)
			(*undecided)++;
		else if (dr != 0 && dr != TK_ERR_UNSUPPORTED &&
		    dr != TK_ERR_DENIED)
			report_object(ms, t, cls, o, dr);
		tk_pubkey_clear(&o->key);
	}
	goto out;
 fail:
	if (lost != NULL && (r == TK_ERR_SESSION || r == TK_ERR_NO_TOKEN))
		*lost = 1;	/* the caller tries once more, then says so */
	else
		tk_modset_report(ms, r, "module %s, slot %lu: cannot list %s "
		    "objects: %s", t->mod->path, (unsigned long)t->slot,
		    classname(cls), tk_strerror(r));
	r = 0;
 out:
	free(o);
	free(at);
	free(hs);
	return r;
}

/*
 * Certificates left out until a login decides them: said once per token,
 * as a note (the listing is as complete as the token lets it be, so it is
 * not counted as an error).
 */
static void
report_undecided(struct tk_modset *ms, const struct tk_p11_token *t,
    size_t n)
{
	char	tok[32 * 4 + 1], msg[512];

	if (ms->log == NULL)
		return;
	tk_p11_token_label(t, tok, sizeof(tok));
	snprintf(msg, sizeof(msg), "%zu CA certificate%s on token \"%s\" "
	    "left out: %s be a key's own self-signed certificate; run with "
	    "--login to decide", n, n == 1 ? "" : "s", tok,
	    n == 1 ? "it may" : "they may");
	ms->log(ms->logarg, TK_ERR_LOGIN_REQUIRED, msg);
}

/* One session's worth of walk_objects; *lost (if asked) as walk_class. */
static int
walk_session(struct tk_modset *ms, const struct tk_walk *w,
    const struct tk_p11_token *t, int *lost)
{
	CK_FUNCTION_LIST	*f = t->mod->f;
	CK_SESSION_HANDLE	 s;
	CK_ATTRIBUTE		*ua;
	CK_OBJECT_CLASS		 want = (CK_OBJECT_CLASS)-1;
	CK_RV			 rv;
	size_t			 undecided = 0;
	int			 r = 0;

	rv = f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK) {
		tk_modset_report(ms, tk_p11_rv(rv), "module %s, slot %lu: "
		    "cannot open a session: %s", t->mod->path,
		    (unsigned long)t->slot, p11_kit_strerror(rv));
		goto out;	/* reported: on to the next token */
	}
	if (w->loginfn != NULL && (r = w->loginfn(w->arg, t, s)) != 0) {
		if (r < 0)
			r = 0;	/* reported by the callback */
		goto out;
	}
	/* type=public or type=cert narrows; other types name the pair */
	if ((ua = p11_kit_uri_get_attribute(w->uri, CKA_CLASS)) != NULL &&
	    ua->ulValueLen == sizeof(want))
		memcpy(&want, ua->pValue, sizeof(want));
	if (want != CKO_CERTIFICATE)
		r = walk_class(ms, w, t, s, CKO_PUBLIC_KEY, lost, &undecided);
	if (r == 0 && (lost == NULL || !*lost) && want != CKO_PUBLIC_KEY)
		r = walk_class(ms, w, t, s, CKO_CERTIFICATE, lost,
		    &undecided);
	if (r == 0 && (lost == NULL || !*lost) && undecided > 0 &&
	    ms->note_undecided)
		report_undecided(ms, t, undecided);
 out:
	if (rv == CKR_OK)
		(void)f->C_CloseSession(s);
	return r;
}

/*
 * The token's objects.  A session can be lost under the walk when it is
 * the first call to see a card put back (the module drops every session
 * it had then): with retry_lost the token is walked once more on a new
 * session rather than listed without its keys until the next walk.
 */
static int
walk_objects(struct tk_modset *ms, const struct tk_walk *w,
    const struct tk_p11_token *t)
{
	int	lost = 0, r;

	r = walk_session(ms, w, t, w->retry_lost ? &lost : NULL);
	if (r == 0 && lost)
		r = walk_session(ms, w, t, NULL);
	return r;
}

static int
walk_slot(struct tk_modset *ms, const struct tk_walk *w, struct tk_module *m,
    CK_SLOT_ID slot)
{
	struct tk_p11_token	t;
	CK_RV			rv;
	int			r = 0;

	memset(&t, 0, sizeof(t));
	t.mod = m;
	t.slot = slot;
	if ((rv = m->f->C_GetSlotInfo(slot, &t.sinfo)) != CKR_OK) {
		tk_modset_report(ms, tk_p11_rv(rv), "module %s, slot %lu: %s",
		    m->path, (unsigned long)slot, p11_kit_strerror(rv));
		goto out;
	}
	/* after removal, C_GetTokenInfo may still answer with stale data */
	if (t.sinfo.flags & CKF_TOKEN_PRESENT) {
		rv = m->f->C_GetTokenInfo(slot, &t.tinfo);
		if (rv == CKR_OK)
			t.present = 1;
		else if (rv != CKR_TOKEN_NOT_PRESENT &&
		    rv != CKR_DEVICE_REMOVED) {
			tk_modset_report(ms, tk_p11_rv(rv), "module %s, slot "
			    "%lu: cannot read token information: %s", m->path,
			    (unsigned long)slot, p11_kit_strerror(rv));
			goto out;
		}
	}
	if (!tk_uri_match_token(w->uri, &t))
		goto out;
	if (!t.present && !w->all_slots)
		goto out;
	if (w->tokfn != NULL && (r = w->tokfn(w->arg, &t)) != 0)
		goto out;
	/* an uninitialised token holds nothing and refuses sessions */
	if (t.present && w->objfn != NULL && !m->trust &&
	    (t.tinfo.flags & CKF_TOKEN_INITIALIZED))
		r = walk_objects(ms, w, &t);
 out:
	return r;
}

static int
walk_module(struct tk_modset *ms, const struct tk_walk *w, struct tk_module *m)
{
	struct tk_p11_token	 t;
	CK_SLOT_ID		*slots = NULL;
	CK_ULONG		 n = 0, i;
	CK_RV			 rv;
	int			 r = 0;

	rv = tk_p11_slot_list(m->f, !w->all_slots, &slots, &n);
	if (rv == CKR_HOST_MEMORY) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if (rv != CKR_OK) {
		tk_modset_report(ms, tk_p11_rv(rv), "module %s: cannot list "
		    "slots: %s", m->path, p11_kit_strerror(rv));
		goto out;
	}
	if (n == 0 && w->all_slots && w->tokfn != NULL) {
		/* a module with no slot at all is still worth a line */
		memset(&t, 0, sizeof(t));
		t.mod = m;
		t.slot = (CK_SLOT_ID)-1;
		r = w->tokfn(w->arg, &t);
	}
	for (i = 0; i < n && r == 0; i++)
		r = walk_slot(ms, w, m, slots[i]);
 out:
	free(slots);
	return r;
}

int
tk_p11_walk(struct tk_modset *ms, const struct tk_walk *w)
{
	struct tk_p11_token	 t;
	struct tk_module	*m;
	size_t			 i;
	int			 r = 0;

	for (i = 0; i < ms->n && r == 0; i++) {
		m = &ms->mods[i];
		if (!tk_uri_match_module(w->uri, m))
			continue;
		if (m->ready)
			r = walk_module(ms, w, m);
		else if (m->initrv != CKR_OK) {
			tk_modset_failed(ms, w->uri, m);
			if (w->all_slots && w->tokfn != NULL) {
				memset(&t, 0, sizeof(t));
				t.mod = m;
				t.slot = (CK_SLOT_ID)-1;
				r = w->tokfn(w->arg, &t);
			}
		}
	}
	return r;
}
