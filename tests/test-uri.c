/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pkcs11: URIs: what we print selects exactly the key it came from, and
 * what users type is parsed (or refused) the way p11-kit does.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "pkcs11/p11.h"
#include "tap.h"

static void
fill(unsigned char *dst, size_t n, const char *s)
{
	memset(dst, ' ', n);
	memcpy(dst, s, strlen(s));
}

static void
token(struct tk_p11_token *t, struct tk_module *m, const char *label,
    const char *serial)
{
	memset(t, 0, sizeof(*t));
	t->mod = m;
	t->slot = 7;
	t->present = 1;
	fill(t->tinfo.label, sizeof(t->tinfo.label), label);
	fill(t->tinfo.manufacturerID, sizeof(t->tinfo.manufacturerID), "ACME");
	fill(t->tinfo.model, sizeof(t->tinfo.model), "M1");
	fill(t->tinfo.serialNumber, sizeof(t->tinfo.serialNumber), serial);
	fill(t->sinfo.slotDescription, sizeof(t->sinfo.slotDescription), "s");
	fill(t->sinfo.manufacturerID, sizeof(t->sinfo.manufacturerID), "s");
}

/* Does the printed URI select this token and object attributes? */
static int
selects(const char *s, const struct tk_p11_token *t, const uint8_t *id,
    size_t idlen, const char *label)
{
	P11KitUri	*u;
	CK_ATTRIBUTE	 a[2];
	CK_OBJECT_CLASS	 cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE	 c = { CKA_CLASS, &cls, sizeof(cls) };
	CK_ATTRIBUTE	 all[3];
	int		 r;

	if (tk_uri_parse(s, &u) != 0)
		return 0;
	a[0] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, idlen };
	a[1] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	all[0] = c;
	all[1] = a[0];
	all[2] = a[1];
	r = tk_uri_match_token(u, t) && p11_kit_uri_match_attributes(u, all, 3);
	p11_kit_uri_free(u);
	return r;
}

int
main(void)
{
	struct tk_module	 m, unreg;
	struct tk_p11_token	 t1, t2;
	struct tk_p11_object	 o;
	P11KitUri		*u;
	char			*s = NULL, path[64];
	static const uint8_t	 bin[] = { 0x00, 0xff, 0x3b, 0x25 };

	memset(&m, 0, sizeof(m));
	m.registered = 1;
	m.path = "/usr/lib/x/mod.so";
	memset(&unreg, 0, sizeof(unreg));
	unreg.path = "/opt/x y/mod.so";

	is_int(tk_uri_parse("pkcs11:", &u), 0, "bare pkcs11: parses");
	p11_kit_uri_free(u);
	is_int(tk_uri_parse("http://x", &u), TK_ERR_URI_SCHEME, "wrong scheme");
	is_int(tk_uri_parse("pkcs11:id=%zz", &u), TK_ERR_URI,
	    "bad percent-encoding");
	is_int(tk_uri_parse("pkcs11:lable=x", &u), TK_ERR_URI,
	    "unknown attribute refused");
	is_int(tk_uri_parse("", &u), TK_ERR_URI_SCHEME, "empty string");
	is_int(tk_uri_parse("pkcs11:object=a?pin-source=file:/x", &u), 0,
	    "pin-source query accepted");
	p11_kit_uri_free(u);

	token(&t1, &m, "tk; 100% \xc3\xa9", "0001");
	token(&t2, &m, "tk; 100% \xc3\xa9", "0002");
	memset(&o, 0, sizeof(o));
	memcpy(o.id, bin, sizeof(bin));
	o.idlen = sizeof(bin);
	strcpy(o.label, "my key; 50%");
	is_int(tk_uri_for_key(&t1, &o, &s), 0, "URI for a key");
	printf("# %s\n", s ? s : "(null)");
	ok(s != NULL && strstr(s, "serial=0001") != NULL &&
	    strstr(s, "id=%00%FF%3B%25") != NULL &&
	    strstr(s, "token=tk%3B%20100%25%20%C3%A9") != NULL &&
	    strstr(s, "object=my%20key%3B%2050%25") != NULL,
	    "serial, binary id, token and object label percent-encoded");
	ok(s != NULL && strstr(s, "model=") == NULL &&
	    strstr(s, "module-path") == NULL && strstr(s, "type=") == NULL,
	    "no model, type or module-path for a registered module");
	ok(s != NULL && selects(s, &t1, bin, sizeof(bin), o.label),
	    "the URI selects its own key");
	ok(s != NULL && !selects(s, &t2, bin, sizeof(bin), o.label),
	    "but not the same id and label on a same-named token");
	ok(s != NULL && !selects(s, &t1, bin, 3, o.label),
	    "nor a key whose id is a prefix");
	free(s);

	o.label[0] = '\0';
	o.idlen = 0;
	t1.mod = &unreg;
	is_int(tk_uri_for_key(&t1, &o, &s), 0, "URI for an unlabelled key");
	ok(s != NULL && strstr(s, "?module-path=%2Fopt%2Fx%20y%2Fmod.so") !=
	    NULL, "module-path for an unregistered module");
	ok(s != NULL && strstr(s, "object=") == NULL &&
	    strstr(s, "id=") == NULL, "no empty id or object");
	free(s);

	/* module-path, read and written the way p11-kit does */
	is_int(tk_uri_module_path("pkcs11:?module-path=/usr/lib/m.so", path,
	    sizeof(path)), 0, "module-path found");
	is_str(path, "/usr/lib/m.so", "...as given");
	path[0] = '\0';
	is_int(tk_uri_module_path("PKCS11:token=t?module-path=/usr/lib/m.so",
	    path, sizeof(path)), 0, "upper-case scheme: as p11-kit, a URI");
	is_str(path, "/usr/lib/m.so", "...with its module-path");
	is_int(tk_uri_module_path("Pkcs11:", path, sizeof(path)),
	    TK_ERR_NOT_FOUND, "mixed-case scheme without module-path");
	path[0] = '\0';
	is_int(tk_uri_module_path("pkcs11:?module-path=/a/one.so&"
	    "module-path=/b/two.so", path, sizeof(path)), 0,
	    "repeated module-path");
	is_str(path, "/b/two.so", "...the last one counts, as in p11-kit");
	path[0] = '\0';
	is_int(tk_uri_module_path("pkcs11:token=a;token=b?module-path="
	    "%2Fopt%2Fx%20y%2Fm%26n.so", path, sizeof(path)), 0,
	    "percent-encoded module-path, repeated path attribute");
	is_str(path, "/opt/x y/m&n.so", "...decoded");
	is_int(tk_uri_module_path("pkcs11:token=x", path, sizeof(path)),
	    TK_ERR_NOT_FOUND, "no module-path");
	is_int(tk_uri_module_path("/usr/lib/m.so", path, sizeof(path)),
	    TK_ERR_URI_SCHEME, "a file name is not a URI");
	is_int(tk_uri_module_path("pkcs11:?module-path=/a%zz", path,
	    sizeof(path)), TK_ERR_URI, "bad percent-encoding");
	is_int(tk_uri_module_path("pkcs11:?module-path=%2", path,
	    sizeof(path)), TK_ERR_URI, "truncated percent-encoding");
	is_int(tk_uri_module_path("pkcs11:lable=x?module-path=/a", path,
	    sizeof(path)), TK_ERR_URI, "unknown path attribute");
	is_int(tk_uri_module_path("pkcs11:?module-path=", path, sizeof(path)),
	    TK_ERR_URI, "empty module-path");
	is_int(tk_uri_module_path("pkcs11:?module-path=/usr/lib/m.so", path,
	    5), TK_ERR_RANGE, "module-path longer than the buffer");

	is_int(tk_uri_for_module_path("/opt/x y/m&n%.so", &s), 0,
	    "URI for a module path");
	printf("# %s\n", s ? s : "(null)");
	ok(s != NULL && strncmp(s, "pkcs11:?module-path=", 20) == 0 &&
	    strchr(s + 20, '&') == NULL && strchr(s + 20, ' ') == NULL,
	    "just module-path, percent-encoded");
	path[0] = '\0';
	ok(s != NULL && tk_uri_module_path(s, path, sizeof(path)) == 0 &&
	    strcmp(path, "/opt/x y/m&n%.so") == 0, "...which reads back");
	free(s);
	return tap_done();
}
