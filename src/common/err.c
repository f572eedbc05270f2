/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tk_strerror(): the one table of error texts.
 */
#include "tokenkeys.h"

static const char *const errtab[] = {
	"success",					/* 0 */
	"internal error",				/* -1 */
	"out of memory",
	"invalid argument",
	"malformed data",
	"value out of range",
	"malformed pkcs11: URI",
	"not a pkcs11: URI",
	"not found",
	"not supported",
	"PKCS#11 module failed",			/* -10 */
	"token error",
	"token not present",
	"incorrect PIN",
	"PIN locked",
	"PIN length or characters not accepted by the token",
	"login required",
	"cancelled",
	"token session lost",
	"signature verification failed",
	"system error",					/* -20 */
	"timed out",
	"refused by policy",
	"connection closed or garbled",
	"key attributes out of bounds",
	"no way to ask for a PIN (no pinentry, askpass or terminal)",
	"busy",						/* -26 */
};

const char *
tk_strerror(int err)
{
	return (err > 0 || err < TK_ERR_LAST) ? "unknown error" :
	    errtab[-err];
}
