/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: names of functions, return values and attributes, and
 * the numbers the control file spells them with.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

const char *const fn_names[F_COUNT] = {
	FM_FUNCTIONS(FM_NAME)
};

#define RV(n)	{ #n, n }
static const struct {
	const char	*name;
	CK_RV		 rv;
} rv_names[] = {
	RV(CKR_OK), RV(CKR_CANCEL), RV(CKR_HOST_MEMORY),
	RV(CKR_SLOT_ID_INVALID), RV(CKR_GENERAL_ERROR),
	RV(CKR_FUNCTION_FAILED), RV(CKR_ARGUMENTS_BAD), RV(CKR_NO_EVENT),
	RV(CKR_NEED_TO_CREATE_THREADS), RV(CKR_CANT_LOCK),
	RV(CKR_ATTRIBUTE_SENSITIVE), RV(CKR_ATTRIBUTE_TYPE_INVALID),
	RV(CKR_ATTRIBUTE_VALUE_INVALID), RV(CKR_DATA_INVALID),
	RV(CKR_DATA_LEN_RANGE), RV(CKR_DEVICE_ERROR), RV(CKR_DEVICE_MEMORY),
	RV(CKR_DEVICE_REMOVED), RV(CKR_FUNCTION_CANCELED),
	RV(CKR_FUNCTION_NOT_SUPPORTED), RV(CKR_KEY_HANDLE_INVALID),
	RV(CKR_KEY_TYPE_INCONSISTENT), RV(CKR_KEY_FUNCTION_NOT_PERMITTED),
	RV(CKR_MECHANISM_INVALID), RV(CKR_MECHANISM_PARAM_INVALID),
	RV(CKR_OBJECT_HANDLE_INVALID), RV(CKR_OPERATION_ACTIVE),
	RV(CKR_OPERATION_NOT_INITIALIZED), RV(CKR_PIN_INCORRECT),
	RV(CKR_PIN_INVALID), RV(CKR_PIN_LEN_RANGE), RV(CKR_PIN_EXPIRED),
	RV(CKR_PIN_LOCKED), RV(CKR_SESSION_CLOSED), RV(CKR_SESSION_COUNT),
	RV(CKR_SESSION_HANDLE_INVALID), RV(CKR_SESSION_READ_ONLY),
	RV(CKR_SESSION_EXISTS), RV(CKR_SIGNATURE_INVALID),
	RV(CKR_SIGNATURE_LEN_RANGE), RV(CKR_TOKEN_NOT_PRESENT),
	RV(CKR_TOKEN_NOT_RECOGNIZED), RV(CKR_TOKEN_WRITE_PROTECTED),
	RV(CKR_USER_ALREADY_LOGGED_IN), RV(CKR_USER_NOT_LOGGED_IN),
	RV(CKR_USER_PIN_NOT_INITIALIZED), RV(CKR_USER_TYPE_INVALID),
	RV(CKR_BUFFER_TOO_SMALL), RV(CKR_CRYPTOKI_NOT_INITIALIZED),
	RV(CKR_CRYPTOKI_ALREADY_INITIALIZED), RV(CKR_FUNCTION_REJECTED),
};
#undef RV

#define AT(n)	{ #n, n }
static const struct {
	const char	*name;
	CK_ATTRIBUTE_TYPE type;
} attr_names[] = {
	AT(CKA_CLASS), AT(CKA_KEY_TYPE), AT(CKA_LABEL), AT(CKA_ID),
	AT(CKA_VALUE), AT(CKA_MODULUS), AT(CKA_MODULUS_BITS),
	AT(CKA_PUBLIC_EXPONENT), AT(CKA_EC_PARAMS), AT(CKA_EC_POINT),
	AT(CKA_ALWAYS_AUTHENTICATE), AT(CKA_PRIVATE), AT(CKA_SIGN),
	AT(CKA_SENSITIVE), AT(CKA_EXTRACTABLE), AT(CKA_TOKEN),
	AT(CKA_CERTIFICATE_TYPE), AT(CKA_SUBJECT),
};
#undef AT

/* Function index of a "C_Name", or -1. */
int
lookup_fn(const char *name)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strcmp(fn_names[i], name) == 0)
			break;
	return i < F_COUNT ? i : -1;
}

/* Decimal, 0x hex or 0 octal, nothing after it; -1 if not that. */
static int
parse_ulong(const char *s, unsigned long *v)
{
	char *end;
	int r = -1;

	if (*s == '\0' || *s == '-')
		goto out;
	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno == 0 && *end == '\0')
		r = 0;
 out:
	return r;
}

int
lookup_rv(const char *name, CK_RV *rv)
{
	unsigned long v;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(rv_names) / sizeof(rv_names[0]); i++)
		if (strcmp(rv_names[i].name, name) == 0)
			break;
	if (i < sizeof(rv_names) / sizeof(rv_names[0]))
		*rv = rv_names[i].rv;
	else if ((r = parse_ulong(name, &v)) == 0)
		*rv = v;
	return r;
}

int
lookup_attr(const char *name, CK_ATTRIBUTE_TYPE *type)
{
	unsigned long v;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (strcmp(attr_names[i].name, name) == 0)
			break;
	if (i < sizeof(attr_names) / sizeof(attr_names[0]))
		*type = attr_names[i].type;
	else if ((r = parse_ulong(name, &v)) == 0)
		*type = v;
	return r;
}

int
parse_count(const char *s, long *v)
{
	unsigned long u;
	int r = -1;

	if (parse_ulong(s, &u) == 0 && u <= LONG_MAX) {
		*v = (long)u;
		r = 0;
	}
	return r;
}
