/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A module's slot list, read the one way PKCS#11 allows: ask the count,
 * allocate, ask again, and start over when the count changed in between
 * (a reader plugged in meanwhile).
 */
#ifndef TK_SLOTS_H
#define TK_SLOTS_H

#include <p11-kit/pkcs11.h>

#define TK_SLOTS_MAX	4096	/* more is a broken module */

/*
 * The slots of f (only those with a token when present_only), in
 * *slots (free()d by the caller; never NULL on CKR_OK) and *n.  A module
 * that claims more than TK_SLOTS_MAX slots gets CKR_GENERAL_ERROR.
 */
CK_RV	tk_p11_slot_list(CK_FUNCTION_LIST *f, int present_only,
	    CK_SLOT_ID **slots, CK_ULONG *n);

#endif /* TK_SLOTS_H */
