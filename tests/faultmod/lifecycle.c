/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: C_Initialize and C_Finalize, opening and closing sessions.
 */


#include <stdio.h>
#include <unistd.h>

#include "faultmod.h"

/* Guarded by g_mtx. */
int		 g_init;

static CK_RV
w_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	return C_GetFunctionList(pp);
}

/*
 * Like the TPM's module without a TPM: lines of a library's own logging on
 * fd 2, straight, as its logger writes them (an escape sequence in each,
 * which nobody's terminal should receive).
 */
static void
chatter(long n)
{
	char	line[128];
	long	i;
	int	len;

	for (i = 1; i <= n; i++) {
		len = snprintf(line, sizeof(line), "WARNING:faultmod:chatter "
		    "line %ld of %ld \033[31mno device\033[0m\n", i, n);
		if (len > 0 && write(2, line, (size_t)len) < 0)
			break;
	}
}

static CK_RV
w_Initialize(CK_VOID_PTR args)
{
	struct call c;
	CK_RV rv;

	rv = call_enter(&c, F_Initialize, K_PLAIN, NULL);
	chatter(c.ctl->chatter);
	if (rv != CKR_OK)
		goto out;
	if ((rv = g_real->C_Initialize(args)) != CKR_OK)
		goto out;
	/* Re-inserts before this point do not concern this process. */
	pthread_mutex_lock(&g_mtx);
	g_init = 1;
	if (c.have_gen)
		g_seen_gen = c.gen;
	g_ev_absent = c.ctl->absent;
	g_ev_gen = c.gen;
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_Finalize(CK_VOID_PTR reserved)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Finalize, K_PLAIN, NULL)) != CKR_OK)
		goto out;
	if ((rv = g_real->C_Finalize(reserved)) != CKR_OK)
		goto out;
	pthread_mutex_lock(&g_mtx);
	g_init = 0;
	sess_clear_locked();
	pin_forget_locked();
	login_forget_locked();
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_OpenSession(CK_SLOT_ID id, CK_FLAGS flags, CK_VOID_PTR app,
    CK_NOTIFY notify, CK_SESSION_HANDLE_PTR ps)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_OpenSession, K_SLOT, NULL)) != CKR_OK)
		goto out;
	if (c.ctl->read_only && (flags & CKF_RW_SESSION)) {
		rv = CKR_TOKEN_WRITE_PROTECTED;
		goto out;
	}
	rv = g_real->C_OpenSession(id, flags, app, notify, ps);
	if (rv == CKR_OK)
		*ps = tag(&c, *ps);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CloseSession(CK_SESSION_HANDLE s)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CloseSession, K_CLOSE, &s)) != CKR_OK)
		goto out;
	rv = g_real->C_CloseSession(s);
	sess_drop(s);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_CloseAllSessions(CK_SLOT_ID id)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_CloseAllSessions, K_PLAIN, NULL)) !=
	    CKR_OK)
		goto out;
	rv = g_real->C_CloseAllSessions(id);
	/* The table does not know slots; forgetting too much is harmless. */
	pthread_mutex_lock(&g_mtx);
	sess_clear_locked();
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

void
wrap_lifecycle(CK_FUNCTION_LIST *l)
{
	FM_SET(l, GetFunctionList);
	FM_SET(l, Initialize);
	FM_SET(l, Finalize);
	FM_SET(l, OpenSession);
	FM_SET(l, CloseSession);
	FM_SET(l, CloseAllSessions);
}
