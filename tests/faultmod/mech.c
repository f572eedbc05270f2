/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: the mechanism list (the no_mech directive), for a token that
 * cannot make or sign with some key types.
 */

#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

static int
hidden(const struct ctl *ctl, CK_MECHANISM_TYPE t)
{
	size_t i;

	for (i = 0; ctl != NULL && i < ctl->nnomech; i++)
		if (ctl->nomech[i] == t)
			return 1;
	return 0;
}

static CK_RV
w_GetMechanismList(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR p, CK_ULONG_PTR n)
{
	struct call c;
	CK_MECHANISM_TYPE_PTR all = NULL;
	CK_ULONG cnt = 0, i, kept = 0;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetMechanismList, K_SLOT, NULL)) != CKR_OK)
		goto out;
	if (c.ctl == NULL || c.ctl->nnomech == 0) {
		rv = g_real->C_GetMechanismList(id, p, n);
		goto out;
	}
	if ((rv = g_real->C_GetMechanismList(id, NULL, &cnt)) != CKR_OK)
		goto out;
	if ((all = calloc(cnt + 1, sizeof(*all))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = g_real->C_GetMechanismList(id, all, &cnt)) != CKR_OK)
		goto out;
	for (i = 0; i < cnt; i++)
		if (!hidden(c.ctl, all[i]))
			all[kept++] = all[i];
	if (p != NULL && *n < kept)
		rv = CKR_BUFFER_TOO_SMALL;
	else if (p != NULL)
		memcpy(p, all, kept * sizeof(*all));
	*n = kept;
 out:
	free(all);
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetMechanismInfo(CK_SLOT_ID id, CK_MECHANISM_TYPE t,
    CK_MECHANISM_INFO_PTR p)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetMechanismInfo, K_SLOT, NULL)) != CKR_OK)
		goto out;
	rv = hidden(c.ctl, t) ? CKR_MECHANISM_INVALID :
	    g_real->C_GetMechanismInfo(id, t, p);
 out:
	call_leave(&c);
	return rv;
}

void
wrap_mech(CK_FUNCTION_LIST *l)
{
	FM_SET(l, GetMechanismList);
	FM_SET(l, GetMechanismInfo);
}
