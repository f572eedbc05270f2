/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: which login this process holds, for what a card does and
 * SoftHSM does not: a PIN changed by another process ends this one's login
 * (setpin_logout), and a token generates keys only after an SO login
 * (so_keygen).  C_Logout and C_GetSessionInfo live here since both must
 * know.
 */

#include <string.h>

#include "faultmod.h"

/* Guarded by g_mtx; reset on C_Finalize and C_Logout. */
static int		 g_user_in;	/* a user login succeeded */
static unsigned long	 g_user_epoch;	/* the pin_epoch it saw */
static int		 g_so_in;	/* an emulated so_keygen SO login */
/* Guarded by g_mtx; kept across C_Logout: the PIN the real module knows. */
static int		 g_real_known;
static unsigned long	 g_real_epoch;
static unsigned char	 g_realpin[MAX_STR];
static size_t		 g_realpinlen;

void
login_forget_locked(void)
{
	g_user_in = 0;
	g_user_epoch = 0;
	g_so_in = 0;
}

/* A real user login with pin worked. */
void
login_user(const struct call *c, const unsigned char *pin, size_t len)
{
	pthread_mutex_lock(&g_mtx);
	g_user_in = 1;
	g_user_epoch = c->pin_epoch;
	if (pin != NULL && len <= sizeof(g_realpin)) {
		explicit_bzero(g_realpin, sizeof(g_realpin));
		memcpy(g_realpin, pin, len);
		g_realpinlen = len;
		g_real_known = 1;
		g_real_epoch = c->pin_epoch;
	}
	pthread_mutex_unlock(&g_mtx);
}

/*
 * setpin_logout: another process changed the PIN after this process's
 * real module learnt it, which SoftHSM never notices.  Check pin against
 * the new PIN's hash and log in with the one the real module knows.  1
 * (with *rv) if so, 0 if the real login is the right one.
 */
int
login_moved(const struct call *c, const unsigned char *pin, size_t len,
    CK_RV *rv, CK_SESSION_HANDLE s)
{
	unsigned char real[MAX_STR];
	size_t reallen;

	pthread_mutex_lock(&g_mtx);
	if (!c->ctl->setpin_logout || !g_real_known || c->pin_hash == 0 ||
	    g_real_epoch == c->pin_epoch) {
		pthread_mutex_unlock(&g_mtx);
		return 0;
	}
	memcpy(real, g_realpin, sizeof(real));
	reallen = g_realpinlen;
	pthread_mutex_unlock(&g_mtx);
	if (pin == NULL || hash_bytes(pin, len) != c->pin_hash)
		*rv = CKR_PIN_INCORRECT;
	else
		*rv = g_real->C_Login(s, CKU_USER, real, reallen);
	explicit_bzero(real, sizeof(real));
	if (*rv == CKR_OK) {
		pthread_mutex_lock(&g_mtx);
		g_user_in = 1;
		g_user_epoch = c->pin_epoch;
		pthread_mutex_unlock(&g_mtx);
	}
	return 1;
}

void
login_so(void)
{
	pthread_mutex_lock(&g_mtx);
	g_so_in = 1;
	pthread_mutex_unlock(&g_mtx);
}

/* setpin_logout: the PIN changed since this process logged in. */
int
login_stale(const struct call *c)
{
	int r;

	pthread_mutex_lock(&g_mtx);
	r = c->ctl->setpin_logout && g_user_in &&
	    g_user_epoch != c->pin_epoch;
	pthread_mutex_unlock(&g_mtx);
	return r;
}

int
login_is_so(void)
{
	int r;

	pthread_mutex_lock(&g_mtx);
	r = g_so_in;
	pthread_mutex_unlock(&g_mtx);
	return r;
}

static CK_RV
w_Logout(CK_SESSION_HANDLE s)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_Logout, K_SESSION, &s)) != CKR_OK)
		goto out;
	rv = g_real->C_Logout(s);
	pthread_mutex_lock(&g_mtx);
	login_forget_locked();
	pthread_mutex_unlock(&g_mtx);
 out:
	call_leave(&c);
	return rv;
}

static CK_RV
w_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR p)
{
	struct call c;
	CK_RV rv;

	if ((rv = call_enter(&c, F_GetSessionInfo, K_SESSION, &s)) != CKR_OK)
		goto out;
	rv = g_real->C_GetSessionInfo(s, p);
	if (rv == CKR_OK && p != NULL && p->state == CKS_RW_USER_FUNCTIONS &&
	    login_is_so())
		p->state = CKS_RW_SO_FUNCTIONS;
 out:
	call_leave(&c);
	return rv;
}

void
wrap_login(CK_FUNCTION_LIST *l)
{
	FM_SET(l, Logout);
	FM_SET(l, GetSessionInfo);
}
