/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Inside the signer (sign.c, session.c, privkey.c): shared structures.
 *
 * Locking: sg->mu guards the slot table, every slot's session bookkeeping
 * and every key's location and cached handle.  It is never held across a
 * call into the module.  A slot's login_mu serialises logins on it.
 */
#ifndef TK_SIGNER_H
#define TK_SIGNER_H

#include <pthread.h>

#include <openssl/evp.h>

#include "pkcs11/sign.h"

#define TK_SIGNER_KEYS_MAX	65536

struct tk_sslot {
	CK_SLOT_ID		 id;
	char			 serial[17];	/* "" until a session opens */
	char			 label[33];
	CK_FLAGS		 tflags;	/* token flags, last read */
	CK_ULONG		 min_pin, max_pin;
	unsigned int		 gen;		/* bumped on every reset */
	int			 has_keeper;
	CK_SESSION_HANDLE	 keeper;	/* holds the login only */
	CK_SESSION_HANDLE	 idle[TK_SIGN_SESSIONS];
	size_t			 nidle;
	/*
	 * The token refused to sign for want of a login the module still
	 * reports (a PIN changed elsewhere reset the card): the next login
	 * logs out first instead of trusting the session state.
	 */
	int			 stale_login;
	pthread_mutex_t		 login_mu;
};

struct tk_skey {
	struct tk_pubkey	 pub;		/* n, e point into own */
	uint8_t			*own;
	CK_SLOT_ID		 slot;
	char			 serial[17];
	uint8_t			 id[TK_ID_MAX];
	size_t			 idlen;
	int			 have_priv;
	CK_OBJECT_HANDLE	 priv;
	unsigned int		 privgen;	/* slot gen priv belongs to */
	int			 always_auth;
};

struct tk_signer {
	struct tk_module	*mod;
	CK_FUNCTION_LIST	*f;
	pthread_mutex_t		 mu;
	struct tk_sslot		**slots;
	size_t			 nslots;
	struct tk_skey		**keys;
	size_t			 nkeys;
	EVP_MD			*md[5];		/* by TK_HASH_* */
	int			 threads;	/* module started for threads */
};

/* session.c */
struct tk_sslot	*tk_sslot_get(struct tk_signer *, CK_SLOT_ID);
int	tk_sess_get(struct tk_signer *, struct tk_sslot *, const char *serial,
	    CK_SESSION_HANDLE *, unsigned int *gen);
void	tk_sess_put(struct tk_signer *, struct tk_sslot *, CK_SESSION_HANDLE,
	    unsigned int gen, int bad);
int	tk_sess_keeper(struct tk_signer *, struct tk_sslot *,
	    const char *serial, CK_SESSION_HANDLE *, unsigned int *gen);
void	tk_sslot_reset(struct tk_signer *, struct tk_sslot *);
/* A session went stale: new generation, login kept if the token has it. */
void	tk_sslot_recover(struct tk_signer *, struct tk_sslot *,
	    const char *serial);
int	tk_sslot_check(struct tk_signer *, struct tk_sslot *,
	    const char *serial);
int	tk_sslot_logged_in(struct tk_signer *, struct tk_sslot *);
int	tk_sslot_state(struct tk_signer *, struct tk_sslot *,
	    const char *serial, struct tk_tokstate *);
void	tk_sslot_cached_state(struct tk_signer *, struct tk_sslot *,
	    struct tk_tokstate *);
int	tk_rv_session_lost(CK_RV);

/* privkey.c */
int	tk_privkey_find(struct tk_signer *, struct tk_skey *,
	    CK_SESSION_HANDLE, CK_OBJECT_HANDLE *, int *always_auth);

#endif /* TK_SIGNER_H */
