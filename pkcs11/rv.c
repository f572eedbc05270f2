/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one mapping of PKCS#11 return values to TK_ERR_* codes.
 */
#include "pkcs11/p11.h"

int
tk_p11_rv(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return 0;
	case CKR_HOST_MEMORY:
		return TK_ERR_NOMEM;
	case CKR_ARGUMENTS_BAD:
		return TK_ERR_INVAL;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_REMOVED:
		return TK_ERR_NO_TOKEN;
	case CKR_PIN_INCORRECT:
		return TK_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return TK_ERR_PIN_LOCKED;
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return TK_ERR_PIN_INVALID;
	case CKR_USER_NOT_LOGGED_IN:
		return TK_ERR_LOGIN_REQUIRED;
	case CKR_FUNCTION_CANCELED:
		return TK_ERR_CANCELLED;
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		return TK_ERR_SESSION;
	case CKR_MECHANISM_INVALID:
	case CKR_KEY_TYPE_INCONSISTENT:
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_FUNCTION_NOT_SUPPORTED:
		return TK_ERR_UNSUPPORTED;
	case CKR_CRYPTOKI_NOT_INITIALIZED:
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_MEMORY:
		/* the module lost its state: callers may start it again */
		return TK_ERR_MODULE;
	default:
		return TK_ERR_TOKEN;
	}
}
