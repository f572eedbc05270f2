/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pkcs11: URIs and token strings.  Input (fuzz.h framing):
 *	byte flags	bit 0: the key's module is in p11-kit's registry
 *	byte sansz	tk_str_sanitize buffer size (0: big enough)
 *	field id, field label, field token label, field serial,
 *	field manufacturer	a key as a hostile token could describe it
 *	rest		a URI as a user could type it
 * The typed URI is parsed and matched against a fixed token and module.
 * The URI tokenkeys prints for the key must parse and select that key
 * (and not a neighbour), or a user pasting it would sign with nothing or
 * with the wrong key.  Sanitised strings must be safe on a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "pkcs11/p11.h"

/* CK_UTF8CHAR fields are blank-padded, not NUL-terminated. */
static void
pad(unsigned char *dst, size_t dstsz, const uint8_t *src, size_t n)
{
	memset(dst, ' ', dstsz);
	memcpy(dst, src, n < dstsz ? n : dstsz);
}

static void
fixed_token(struct tk_p11_token *t, struct tk_module *m, int present,
    CK_SLOT_ID slot)
{
	static const char	label[] = "tk test";
	static const char	manuf[] = "SoftHSM project";
	static const char	model[] = "SoftHSM v2";
	static const char	serial[] = "4d2b5c3a1f0e9d8c";

	memset(t, 0, sizeof(*t));
	t->mod = m;
	t->slot = slot;
	t->present = present;
	pad(t->sinfo.slotDescription, sizeof(t->sinfo.slotDescription),
	    (const uint8_t *)"SoftHSM slot ID 0x7", 19);
	pad(t->sinfo.manufacturerID, sizeof(t->sinfo.manufacturerID),
	    (const uint8_t *)manuf, sizeof(manuf) - 1);
	pad(t->tinfo.label, sizeof(t->tinfo.label),
	    (const uint8_t *)label, sizeof(label) - 1);
	pad(t->tinfo.manufacturerID, sizeof(t->tinfo.manufacturerID),
	    (const uint8_t *)manuf, sizeof(manuf) - 1);
	pad(t->tinfo.model, sizeof(t->tinfo.model),
	    (const uint8_t *)model, sizeof(model) - 1);
	pad(t->tinfo.serialNumber, sizeof(t->tinfo.serialNumber),
	    (const uint8_t *)serial, sizeof(serial) - 1);
}

static void
fixed_module(struct tk_module *m, int registered)
{
	memset(m, 0, sizeof(*m));
	/* a path realpath() resolves to itself, so module-path can match */
	m->path = m->rpath = "/dev/null";
	m->name = registered ? "softhsm2" : m->path;
	m->registered = registered;
	m->ready = 1;
	m->info.cryptokiVersion.major = 2;
	m->info.cryptokiVersion.minor = 40;
	pad(m->info.manufacturerID, sizeof(m->info.manufacturerID),
	    (const uint8_t *)"SoftHSM", 7);
	pad(m->info.libraryDescription, sizeof(m->info.libraryDescription),
	    (const uint8_t *)"Implementation of PKCS11", 24);
	m->info.libraryVersion.major = 2;
	m->info.libraryVersion.minor = 6;
}

static int
selects(P11KitUri *u, const struct tk_p11_token *t,
    const struct tk_p11_object *o)
{
	CK_OBJECT_CLASS	cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE	a[3];

	a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	a[1] = (CK_ATTRIBUTE){ CKA_ID, (void *)o->id, o->idlen };
	a[2] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)o->label, strlen(o->label) };
	return tk_uri_match_module(u, t->mod) && tk_uri_match_token(u, t) &&
	    p11_kit_uri_match_attributes(u, a, 3);
}

/* A typed URI: must not crash, whatever it matches. */
static void
typed(const uint8_t *p, size_t n)
{
	struct tk_module	 reg, unreg;
	struct tk_p11_token	 t;
	P11KitUri		*u;
	char			*s;
	CK_OBJECT_CLASS		 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE		 a[3];

	s = fz_strdup(p, n);
	if (tk_uri_parse(s, &u) == 0) {
		fixed_module(&reg, 1);
		fixed_module(&unreg, 0);
		(void)tk_uri_match_module(u, &reg);
		(void)tk_uri_match_module(u, &unreg);
		fixed_token(&t, &reg, 1, 7);
		(void)tk_uri_match_token(u, &t);
		fixed_token(&t, &reg, 0, 7);		/* empty slot */
		(void)tk_uri_match_token(u, &t);
		fixed_token(&t, &reg, 1, (CK_SLOT_ID)-1); /* no slots */
		if (tk_uri_match_token(u, &t) != 1)
			abort();
		a[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
		a[1] = (CK_ATTRIBUTE){ CKA_ID, "\x01", 1 };
		a[2] = (CK_ATTRIBUTE){ CKA_LABEL, "ec256", 5 };
		(void)p11_kit_uri_match_attributes(u, a, 3);
		p11_kit_uri_free(u);
	}
	free(s);
}

/* The URI we print for a key selects it, and not its neighbours. */
static void
printed(int flags, const uint8_t *id, size_t idlen, const uint8_t *label,
    size_t labellen, const uint8_t *tlabel, size_t tlabellen,
    const uint8_t *serial, size_t seriallen, const uint8_t *manuf,
    size_t manuflen)
{
	struct tk_module	 m;
	struct tk_p11_token	 t;
	struct tk_p11_object	 o, other;
	P11KitUri		*u;
	char			*s, *cs;

	fixed_module(&m, flags & 1);
	fixed_token(&t, &m, 1, 3);
	pad(t.tinfo.label, sizeof(t.tinfo.label), tlabel, tlabellen);
	pad(t.tinfo.serialNumber, sizeof(t.tinfo.serialNumber), serial,
	    seriallen);
	pad(t.tinfo.manufacturerID, sizeof(t.tinfo.manufacturerID), manuf,
	    manuflen);
	memset(&o, 0, sizeof(o));
	o.cls = CKO_PUBLIC_KEY;
	o.idlen = idlen < sizeof(o.id) ? idlen : sizeof(o.id);
	memcpy(o.id, id, o.idlen);
	/* the walker stores labels as C strings: cut at a NUL, as it does */
	cs = fz_strdup(label, labellen < TK_LABEL_MAX ? labellen : TK_LABEL_MAX);
	memcpy(o.label, cs, strlen(cs) + 1);
	free(cs);

	if (tk_uri_for_key(&t, &o, &s) != 0 || s == NULL)
		abort();
	if (tk_uri_parse(s, &u) != 0)
		abort();
	if (!selects(u, &t, &o))
		abort();
	/* a longer id, another label, another serial: not this key */
	if (o.idlen > 0 && o.idlen < sizeof(o.id)) {
		other = o;
		other.id[other.idlen++] = 0;
		if (selects(u, &t, &other))
			abort();
	}
	if (o.label[0] != '\0') {
		other = o;
		other.label[0] ^= 0x01;
		if (selects(u, &t, &other))
			abort();
	}
	/* p11-kit leaves a field out when it starts with NUL */
	if (t.tinfo.serialNumber[0] != '\0' &&
	    p11_kit_space_strlen(t.tinfo.serialNumber,
	    sizeof(t.tinfo.serialNumber)) > 0) {
		t.tinfo.serialNumber[0] ^= 0x01;
		if (selects(u, &t, &o))
			abort();
	}
	p11_kit_uri_free(u);
	free(s);
}

static void
sanitize(const uint8_t *p, size_t n, size_t small)
{
	char	*in, *full, *cut;
	size_t	 fullsz, i, len;

	in = fz_strdup(p, n);
	n = strlen(in);
	/* the worst case is \xNN for every byte */
	fullsz = 4 * n + 1;
	if ((full = malloc(fullsz)) == NULL)
		abort();
	if (tk_str_sanitize(in, full, fullsz) != 0)
		abort();
	len = strlen(full);
	if (!fz_utf8_printable((const uint8_t *)full, len))
		abort();
	/* printable ASCII passes through unchanged */
	for (i = 0; i < n && in[i] >= 0x20 && in[i] < 0x7f; i++)
		;
	if (i == n && strcmp(in, full) != 0)
		abort();
	/* a short buffer holds a prefix, cut between characters */
	if (small > 0) {
		if ((cut = malloc(small)) == NULL)
			abort();
		(void)tk_str_sanitize(in, cut, small);
		i = strlen(cut);
		if (i >= small || strncmp(cut, full, i) != 0 ||
		    !fz_utf8_printable((const uint8_t *)cut, i))
			abort();
		free(cut);
	}
	free(full);
	free(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	const uint8_t	*id, *label, *tlabel, *serial, *manuf, *uri;
	size_t		 idlen, labellen, tlabellen, seriallen, manuflen, urilen;
	int		 flags, sansz;

	flags = fz_u8(&f);
	sansz = fz_u8(&f);
	id = fz_field(&f, &idlen);
	label = fz_field(&f, &labellen);
	tlabel = fz_field(&f, &tlabellen);
	serial = fz_field(&f, &seriallen);
	manuf = fz_field(&f, &manuflen);
	uri = fz_rest(&f, &urilen);

	typed(uri, urilen);
	printed(flags, id, idlen, label, labellen, tlabel, tlabellen,
	    serial, seriallen, manuf, manuflen);
	sanitize(uri, urilen, sansz);
	sanitize(label, labellen, sansz);
	sanitize(tlabel, tlabellen, sansz);
	return 0;
}
