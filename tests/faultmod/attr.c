/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: attribute mutation (the attr and always_auth directives).
 */

#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

/*
 * Stands for "a DER structure": a SEQUENCE whose length runs far past the
 * end, then a truncated OID.  Any parser that trusts lengths trips on it.
 */
static const unsigned char baddata[] = {
	0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0, 0x06, 0x08, 0x2a, 0x86, 0x48
};

/* Fetches one attribute of at most cap bytes; -1 if absent or bigger. */
static int
real_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    void *buf, CK_ULONG cap, CK_ULONG *len)
{
	CK_ATTRIBUTE a;
	int r = -1;

	a.type = type;
	a.pValue = NULL;
	a.ulValueLen = 0;
	if (g_real->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap)
		goto out;
	a.pValue = buf;
	if (g_real->C_GetAttributeValue(s, o, &a, 1) != CKR_OK)
		goto out;
	*len = a.ulValueLen;
	r = 0;
 out:
	return r;
}

int
is_private_key(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o)
{
	CK_OBJECT_CLASS cls;
	CK_ULONG len;

	return real_attr(s, o, CKA_CLASS, &cls, sizeof(cls), &len) == 0 &&
	    len == sizeof(cls) && cls == CKO_PRIVATE_KEY;
}

/*
 * Stores a mutated value the way C_GetAttributeValue would: a length
 * query, a copy, or "too small".  cap is the caller's buffer size (the
 * real call has overwritten ulValueLen); src NULL means HUGE_LEN bytes of
 * 'A'.
 */
static void
put_value(CK_ATTRIBUTE *a, CK_ULONG cap, const void *src, CK_ULONG len,
    int *small)
{
	if (a->pValue == NULL)
		a->ulValueLen = len;
	else if (cap < len) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		*small = 1;
	} else {
		if (src != NULL)
			memcpy(a->pValue, src, len);
		else
			memset(a->pValue, 0x41, len);
		a->ulValueLen = len;
	}
}

/* Applies one attr directive to a template entry of buffer size cap. */
static void
apply_rule(CK_ATTRIBUTE *a, CK_ULONG cap, const struct attr_rule *ar,
    int *invalid, int *small)
{
	switch (ar->kind) {
	case A_EMPTY:
		put_value(a, cap, "", 0, small);
		break;
	case A_HUGE:
		put_value(a, cap, NULL, HUGE_LEN, small);
		break;
	case A_UNAVAILABLE:
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		*invalid = 1;
		break;
	case A_BADDATA:
		put_value(a, cap, baddata, sizeof(baddata), small);
		break;
	case A_LABEL:
		put_value(a, cap, ar->value, ar->valuelen, small);
		break;
	}
}

/*
 * Applies always_auth and attr directives to a filled template and works
 * out the return value again: an attribute the directives made
 * unavailable or too big is an error, one they made available is not.
 */
static CK_RV
attr_mutate(const struct call *c, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, const CK_ULONG *caps, CK_ULONG n, CK_RV rv)
{
	unsigned char label[MAX_STR], *touched = NULL;
	const struct attr_rule *ar;
	CK_ULONG labellen = 0, i;
	CK_BBOOL yes = CK_TRUE;
	size_t j;
	int have_label, priv = -1, invalid = 0, small = 0, other = 0, any = 0;

	if (caps == NULL ||
	    (rv != CKR_OK && rv != CKR_ATTRIBUTE_SENSITIVE &&
	    rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_BUFFER_TOO_SMALL) ||
	    (touched = calloc(n, 1)) == NULL)
		goto out;
	have_label = c->ctl->nattr > 0 &&
	    real_attr(s, o, CKA_LABEL, label, sizeof(label), &labellen) == 0;
	for (i = 0; i < n; i++) {
		if (c->ctl->always_auth &&
		    t[i].type == CKA_ALWAYS_AUTHENTICATE) {
			if (priv == -1)
				priv = is_private_key(s, o);
			if (priv) {
				put_value(&t[i], caps[i], &yes, sizeof(yes),
				    &small);
				touched[i] = 1;
			}
		}
		/* The first directive for this label and attribute wins. */
		for (j = 0; have_label && j < c->ctl->nattr; j++) {
			ar = &c->ctl->attrs[j];
			if (ar->type == t[i].type && ar->labellen == labellen &&
			    memcmp(ar->label, label, labellen) == 0) {
				apply_rule(&t[i], caps[i], ar, &invalid,
				    &small);
				touched[i] = 1;
				break;
			}
		}
	}
	for (i = 0; i < n; i++) {
		any |= touched[i];
		if (!touched[i] &&
		    t[i].ulValueLen == CK_UNAVAILABLE_INFORMATION)
			other = 1;
	}
	if (!any)
		goto out;
	/* The real error stands only if an attribute we left caused it. */
	if (!other)
		rv = CKR_OK;
	if (rv == CKR_OK && invalid)
		rv = CKR_ATTRIBUTE_TYPE_INVALID;
	if (rv == CKR_OK && small)
		rv = CKR_BUFFER_TOO_SMALL;
 out:
	free(touched);
	return rv;
}

static CK_RV
w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
    CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	struct call c;
	CK_ULONG *caps = NULL, i;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetAttributeValue, K_SESSION, &s)) !=
	    CKR_OK ||
	    (rv = untag(&c, &o, CKR_OBJECT_HANDLE_INVALID)) != CKR_OK)
		goto out;
	if ((c.ctl->nattr > 0 || c.ctl->always_auth) && t != NULL && n > 0 &&
	    (caps = calloc(n, sizeof(*caps))) != NULL)
		for (i = 0; i < n; i++)
			caps[i] = t[i].ulValueLen;
	rv = g_real->C_GetAttributeValue(s, o, t, n);
	rv = attr_mutate(&c, s, o, t, caps, n, rv);
 out:
	free(caps);
	call_leave(&c);
	return rv;
}

void
wrap_attr(CK_FUNCTION_LIST *l)
{
	FM_SET(l, GetAttributeValue);
}
