/* SPDX-License-Identifier: BSD-2-Clause */
#include <stdlib.h>

#include "pkcs11/slots.h"

CK_RV
tk_p11_slot_list(CK_FUNCTION_LIST *f, int present_only, CK_SLOT_ID **slotsp,
    CK_ULONG *np)
{
	CK_SLOT_ID	*slots = NULL;
	CK_BBOOL	 present = present_only ? CK_TRUE : CK_FALSE;
	CK_ULONG	 n = 0, cap;
	CK_RV		 rv;

	*slotsp = NULL;
	*np = 0;
	rv = f->C_GetSlotList(present, NULL, &n);
	while (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL) {
		if (n > TK_SLOTS_MAX) {
			rv = CKR_GENERAL_ERROR;
			break;
		}
		free(slots);
		cap = n;
		if ((slots = calloc(cap + 1, sizeof(*slots))) == NULL) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		rv = f->C_GetSlotList(present, slots, &n);
		if (rv == CKR_OK && n <= cap)
			break;
		if (rv == CKR_OK)
			rv = CKR_BUFFER_TOO_SMALL;
	}
	if (rv == CKR_OK) {
		*slotsp = slots;
		*np = n;
		slots = NULL;
	}
	free(slots);
	return rv;
}
