/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pkcs11: URIs (RFC 7512), parsed, matched and written by p11-kit.  What
 * is ours is the choice of attributes: a key's URI names it by id, object
 * label, token label, manufacturer and serial -- the path attributes that
 * Fedora's OpenSSH honours -- and by module-path only when p11-kit's
 * registry does not know the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11/p11.h"

int
tk_uri_parse(const char *s, P11KitUri **out)
{
	P11KitUri	*u;
	int		 pr, r = 0;

	*out = NULL;
	if ((u = p11_kit_uri_new()) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	pr = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, u);
	if (pr == P11_KIT_URI_BAD_SCHEME)
		r = TK_ERR_URI_SCHEME;
	else if (pr != P11_KIT_URI_OK || p11_kit_uri_any_unrecognized(u))
		r = TK_ERR_URI;
	if (r != 0)
		p11_kit_uri_free(u);
	else
		*out = u;
 out:
	return r;
}

int
tk_uri_match_module(P11KitUri *u, const struct tk_module *m)
{
	const char	*s;
	char		*rp;
	int		 ok = 0;

	if (!p11_kit_uri_match_module_info(u, &m->info))
		goto out;
	if ((s = p11_kit_uri_get_module_name(u)) != NULL &&
	    (m->name == NULL || strcmp(s, m->name) != 0))
		goto out;
	if ((s = p11_kit_uri_get_module_path(u)) == NULL)
		ok = 1;
	else if ((rp = realpath(s, NULL)) != NULL) {
		ok = m->rpath != NULL && strcmp(rp, m->rpath) == 0;
		free(rp);
	}
 out:
	return ok;
}

int
tk_uri_match_token(P11KitUri *u, const struct tk_p11_token *t)
{
	CK_TOKEN_INFO	empty;
	CK_SLOT_ID	id;
	int		ok = 1;

	if (t->slot == (CK_SLOT_ID)-1)
		goto out;	/* a module without slots */
	id = p11_kit_uri_get_slot_id(u);
	if ((id != (CK_SLOT_ID)-1 && id != t->slot) ||
	    !p11_kit_uri_match_slot_info(u, &t->sinfo))
		ok = 0;
	else if (!t->present) {
		/* an empty slot matches only a URI that names no token */
		memset(&empty, ' ', sizeof(empty));
		ok = p11_kit_uri_match_token_info(u, &empty);
	} else
		ok = p11_kit_uri_match_token_info(u, &t->tinfo);
 out:
	return ok;
}

static int
uri_finish(P11KitUri *u, const struct tk_module *m, P11KitUriType what,
    char **out)
{
	int	r = 0;

	if (!m->registered)
		p11_kit_uri_set_module_path(u,
		    m->rpath != NULL ? m->rpath : m->path);
	if (p11_kit_uri_format(u, what, out) != P11_KIT_URI_OK) {
		*out = NULL;
		r = TK_ERR_NOMEM;
	}
	p11_kit_uri_free(u);
	return r;
}

static void
set_token(P11KitUri *u, const CK_TOKEN_INFO *ti)
{
	CK_TOKEN_INFO	*ut = p11_kit_uri_get_token_info(u);

	/*
	 * Only label, manufacturer and serial.  p11-kit leaves out a field
	 * that starts with NUL, so blank ones stay zeroed.
	 */
	memset(ut, 0, sizeof(*ut));
	if (p11_kit_space_strlen(ti->label, sizeof(ti->label)) > 0)
		memcpy(ut->label, ti->label, sizeof(ut->label));
	if (p11_kit_space_strlen(ti->manufacturerID,
	    sizeof(ti->manufacturerID)) > 0)
		memcpy(ut->manufacturerID, ti->manufacturerID,
		    sizeof(ut->manufacturerID));
	if (p11_kit_space_strlen(ti->serialNumber,
	    sizeof(ti->serialNumber)) > 0)
		memcpy(ut->serialNumber, ti->serialNumber,
		    sizeof(ut->serialNumber));
}

int
tk_uri_for_key(const struct tk_p11_token *t, const struct tk_p11_object *o,
    char **out)
{
	P11KitUri	*u;
	CK_ATTRIBUTE	 a;
	int		 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((u = p11_kit_uri_new()) == NULL)
		goto out;
	set_token(u, &t->tinfo);
	if (o->idlen > 0) {
		a = (CK_ATTRIBUTE){ CKA_ID, (void *)o->id, o->idlen };
		if (p11_kit_uri_set_attribute(u, &a) != P11_KIT_URI_OK)
			goto out;
	}
	if (o->label[0] != '\0') {
		a = (CK_ATTRIBUTE){ CKA_LABEL, (void *)o->label,
		    strlen(o->label) };
		if (p11_kit_uri_set_attribute(u, &a) != P11_KIT_URI_OK)
			goto out;
	}
	r = uri_finish(u, t->mod, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, out);
	u = NULL;	/* freed by uri_finish */
 out:
	if (u != NULL)
		p11_kit_uri_free(u);
	return r;
}

int
tk_uri_for_token(const struct tk_p11_token *t, char **out)
{
	P11KitUri	*u;
	int		 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((u = p11_kit_uri_new()) == NULL)
		goto out;
	if (t->present) {
		set_token(u, &t->tinfo);
		r = uri_finish(u, t->mod, P11_KIT_URI_FOR_TOKEN, out);
	} else {
		p11_kit_uri_set_slot_id(u, t->slot);
		r = uri_finish(u, t->mod, P11_KIT_URI_FOR_SLOT, out);
	}
 out:
	return r;
}

int
tk_uri_module_path(const char *s, char *path, size_t pathsz)
{
	P11KitUri	*u = NULL;
	const char	*mp;
	int		 r;

	if ((r = tk_uri_parse(s, &u)) != 0)
		goto out;
	if ((mp = p11_kit_uri_get_module_path(u)) == NULL) {
		r = TK_ERR_NOT_FOUND;
		goto out;
	}
	/* p11-kit takes an empty value; it names no file */
	if (*mp == '\0') {
		r = TK_ERR_URI;
		goto out;
	}
	if (snprintf(path, pathsz, "%s", mp) >= (int)pathsz)
		r = TK_ERR_RANGE;
 out:
	if (u != NULL)
		p11_kit_uri_free(u);
	return r;
}

int
tk_uri_for_module_path(const char *path, char **out)
{
	P11KitUri	*u;
	int		 r = TK_ERR_NOMEM;

	*out = NULL;
	if ((u = p11_kit_uri_new()) == NULL)
		goto out;
	p11_kit_uri_set_module_path(u, path);
	if (p11_kit_uri_format(u, P11_KIT_URI_FOR_MODULE_WITH_VERSION,
	    out) == P11_KIT_URI_OK)
		r = 0;
	else
		*out = NULL;
	p11_kit_uri_free(u);
 out:
	return r;
}

int
tk_uri_is_pkcs11(const char *s)
{
	P11KitUri	*u;
	int		 pr;

	if ((u = p11_kit_uri_new()) == NULL)
		return 0;
	pr = p11_kit_uri_parse(s, P11_KIT_URI_FOR_ANY, u);
	p11_kit_uri_free(u);
	return pr != P11_KIT_URI_BAD_SCHEME;
}
