/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Signing on tokens.  A signer serves the tokens of one module: it keeps
 * a small pool of sessions per token (PKCS#11 login state is per token,
 * so one C_Login covers every session of the process), remembers each
 * key pair's private key handle, and revalidates all of that when the
 * token says a session or handle went stale, the card was pulled, or a
 * different card now sits in the slot (tracked by serial).
 *
 * Keys are named by their public half (struct tk_pubkey) and the token
 * they were seen on (slot and serial) with the CKA_ID of the public key
 * or certificate object; the private key is the object with that CKA_ID
 * that is the pair of the public key (compared where the token lets us
 * read the components).
 *
 * All functions are safe to call from several threads at once; signing
 * with keys of one token runs in parallel on different sessions.
 */
#ifndef TK_SIGN_H
#define TK_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "pkcs11/p11.h"

/* What the token signs: the message itself, or a hash of it. */
#define TK_HASH_NONE		0	/* CKM_EDDSA over the message */
#define TK_HASH_SHA1		1	/* RSA: DigestInfo || hash */
#define TK_HASH_SHA256		2	/* ECDSA: the hash */
#define TK_HASH_SHA384		3
#define TK_HASH_SHA512		4

#define TK_SIGN_MAX		(TK_RSA_MAX_BITS / 8)	/* raw signature */
#define TK_SIGN_SESSIONS	8	/* idle sessions kept per token */

/* Beyond the TK_TOKEN_* flags (tokenkeys.h). */
#define TK_TOKSTATE_LOGGED_IN	0x10000	/* this process is logged in */
#define TK_TOKSTATE_CONTEXT_PIN	0x20000	/* the key wants a PIN per use */

/* A token's state, as the agent needs it to decide about a PIN. */
struct tk_tokstate {
	uint32_t	flags;		/* TK_TOKEN_* | TK_TOKSTATE_* */
	uint32_t	min_pin, max_pin;	/* 0: unknown */
	char		label[33];	/* raw, NUL-terminated */
	char		serial[17];
};

struct tk_signer;
struct tk_skey;

/*
 * A signer for the module's tokens.  The module is started again with
 * CKF_OS_LOCKING_OK (p11-kit starts unmanaged modules for one thread);
 * tk_signer_threads() says whether that worked: if not, the caller must
 * not call into the module from more than one thread at a time.
 */
int	tk_signer_new(struct tk_module *, struct tk_signer **);
void	tk_signer_free(struct tk_signer *);
int	tk_signer_threads(const struct tk_signer *);

/*
 * The signer's entry for this public key, seen as object id on the token
 * with this serial in slot: created, or (seen before) moved there.  The
 * entry lives as long as the signer.  TK_ERR_RANGE when too many keys.
 */
int	tk_signer_add(struct tk_signer *, const struct tk_pubkey *,
	    CK_SLOT_ID, const char *serial, const uint8_t *id, size_t idlen,
	    struct tk_skey **);
/* 1 if the private key is known to want a context-specific login. */
int	tk_skey_always_auth(struct tk_signer *, const struct tk_skey *);

/*
 * A token seen in a slot (by a listing): if its serial differs from the
 * token the signer's sessions belong to, those sessions and the login
 * are dropped.
 */
void	tk_signer_seen(struct tk_signer *, CK_SLOT_ID, const char *serial);

/*
 * Sign data with the key: hash is TK_HASH_* (RSA: SHA1/256/512; ECDSA:
 * the curve's; Ed25519: NONE).  sig gets the raw signature (sigsz >=
 * TK_SIGN_MAX).  pin (may be NULL) is for a CKA_ALWAYS_AUTHENTICATE key's
 * context-specific login; with none, such a key gets
 * TK_ERR_LOGIN_REQUIRED and TK_TOKSTATE_CONTEXT_PIN, unless the token has
 * a PIN pad (then the pad is used).  At most one C_Login per call.
 *   TK_ERR_LOGIN_REQUIRED: the token is not logged in (st says why)
 *   TK_ERR_NO_TOKEN: the key's token is not in its slot
 *   TK_ERR_NOT_FOUND: no private key pairs with the public key
 * st (may be NULL) describes the token afterwards.
 */
int	tk_sign(struct tk_signer *, struct tk_skey *, int hash,
	    const uint8_t *data, size_t datalen, const char *pin,
	    size_t pinlen, uint8_t *sig, size_t sigsz, size_t *siglen,
	    struct tk_tokstate *st);

/*
 * Log in to the key's token: exactly one C_Login (pin NULL: the PIN pad,
 * C_Login with no PIN), none if the process is already logged in, the
 * PIN is locked, or the PIN's length is outside the token's bounds
 * (TK_ERR_PIN_INVALID: no try spent).  st is read afresh afterwards.
 */
int	tk_signer_login(struct tk_signer *, struct tk_skey *, const char *pin,
	    size_t pinlen, struct tk_tokstate *st);

/*
 * Log the process out of the key's token (k NULL: every token the signer
 * holds a session on): C_Logout where it is logged in, then every session
 * of the slot closed, so the next signature gets TK_ERR_LOGIN_REQUIRED.
 * Waits for a login in progress on the slot.  *n: how many tokens were
 * logged in.
 */
int	tk_signer_logout(struct tk_signer *, struct tk_skey *,
	    unsigned int *n);

/* The key's token's state, read afresh. */
int	tk_signer_state(struct tk_signer *, struct tk_skey *,
	    struct tk_tokstate *st);

#endif /* TK_SIGN_H */
