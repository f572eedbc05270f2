/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: slot and token presence (absent, stale, serial, the PIN
 * counter flags) and slot events.
 */

#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

/* Guarded by g_mtx: what C_WaitForSlotEvent last reported. */
int		 g_ev_absent;
unsigned long	 g_ev_gen;

static CK_RV
w_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	struct call c;
	CK_ULONG n;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetSlotList, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (!present || !c.ctl->absent) {
		rv = g_real->C_GetSlotList(present, list, count);
		goto out;
	}
	if (count == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	/* Let the real module say whether it is initialised at all. */
	if ((rv = g_real->C_GetSlotList(CK_FALSE, NULL, &n)) == CKR_OK)
		*count = 0;
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetSlotInfo(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetSlotInfo, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	rv = g_real->C_GetSlotInfo(id, info);
	if (rv == CKR_OK && c.ctl->absent)
		info->flags &= ~CKF_TOKEN_PRESENT;
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetTokenInfo(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetTokenInfo, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (c.ctl->absent && !c.ctl->stale) {
		rv = CKR_TOKEN_NOT_PRESENT;
		goto out;
	}
	if ((rv = g_real->C_GetTokenInfo(id, info)) != CKR_OK)
		goto out;
	if (c.pin_max > 0) {
		info->flags &= ~(CKF_USER_PIN_COUNT_LOW |
		    CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED);
		if (c.pin_left < c.pin_max)
			info->flags |= CKF_USER_PIN_COUNT_LOW;
		if (c.pin_left == 1)
			info->flags |= CKF_USER_PIN_FINAL_TRY;
		if (c.pin_left <= 0)
			info->flags |= CKF_USER_PIN_LOCKED;
	}
	if (c.ctl->protected_auth)
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
	if (c.ctl->read_only)
		info->flags |= CKF_WRITE_PROTECTED;
	if (c.ctl->has_serial)
		memcpy(info->serialNumber, c.ctl->serial,
		    sizeof(info->serialNumber));
	if (c.ctl->has_tlabel)
		memcpy(info->label, c.ctl->tlabel, sizeof(info->label));
 out:
	call_leave(&c);
	return rv;
}

/*
 * Whether the card was pulled or put back since the last report; the
 * generation catches a remove and re-insert that happened in between.
 */
static int
slot_event(void)
{
	struct call c;
	int ev;

	memset(&c, 0, sizeof(c));
	state_txn(&c, -1, PIN_NONE);
	pthread_mutex_lock(&g_mtx);
	ev = c.ctl->absent != g_ev_absent || (c.have_gen && c.gen != g_ev_gen);
	g_ev_absent = c.ctl->absent;
	if (c.have_gen)
		g_ev_gen = c.gen;
	pthread_mutex_unlock(&g_mtx);
	call_leave(&c);
	return ev;
}

static CK_RV
w_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	struct call c;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	int init;

	if ((rv = call_enter(&c, F_WaitForSlotEvent, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if (g_ctl_path == NULL) {
		rv = g_real->C_WaitForSlotEvent(flags, slot, reserved);
		goto out;
	}
	if (slot == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&g_mtx);
		init = g_init;
		pthread_mutex_unlock(&g_mtx);
		/* C_Finalize must release a blocked waiter. */
		if (!init) {
			rv = CKR_CRYPTOKI_NOT_INITIALIZED;
			goto out;
		}
		if (slot_event())
			break;
		if (flags & CKF_DONT_BLOCK) {
			rv = CKR_NO_EVENT;
			goto out;
		}
		sleep_ms(100);
	}
	if ((rv = g_real->C_GetSlotList(CK_FALSE, NULL, &n)) != CKR_OK)
		goto out;
	if (n == 0 || (slots = calloc(n, sizeof(*slots))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = g_real->C_GetSlotList(CK_FALSE, slots, &n)) == CKR_OK)
		*slot = slots[0];
 out:
	free(slots);
	call_leave(&c);
	return rv;
}

void
wrap_slot(CK_FUNCTION_LIST *l)
{
	FM_SET(l, GetSlotList);
	FM_SET(l, GetSlotInfo);
	FM_SET(l, GetTokenInfo);
	FM_SET(l, WaitForSlotEvent);
}
