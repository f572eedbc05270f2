/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Making a key pair on a token (tokenkeys keygen).  In order: select
 * exactly one token, check that it can make and sign with the key type
 * (before any PIN is asked), log in through the one PIN gate, generate
 * the pair, and sign a test challenge with the new private key.  Every
 * failure is said through the context's log, once, in one line.
 */
#ifndef TK_KEYGEN_H
#define TK_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

#include "tokenkeys.h"

#define TK_KEYGEN_ID_MAX	64

struct tk_keygen_spec {
	int		 type;		/* TK_KEY_RSA, _ECDSA_P*, _ED25519 */
	unsigned int	 bits;		/* RSA modulus size */
	const char	*label;		/* CKA_LABEL of both halves */
	int		 label_given;	/* refuse a label in use */
	uint8_t		 id[TK_KEYGEN_ID_MAX];
	size_t		 idlen;		/* 0: a fresh one, unused there */
	int		 always_auth;	/* CKA_ALWAYS_AUTHENTICATE */
	/*
	 * so: generate after a security-officer login with sopin (NULL:
	 * the PIN pad), then log in as the user for the test signature.
	 */
	int		 so;
	const char	*sopin;
	size_t		 sopinlen;
};

struct tk_keygen;
struct tk_p11_token;

/*
 * The one token with a present token that uri selects.  TK_ERR_NOT_FOUND
 * if none, TK_ERR_RANGE if several (each candidate's URI is said).
 */
int	tk_keygen_open(struct tk_ctx *, const char *uri, struct tk_keygen **);
void	tk_keygen_free(struct tk_keygen *);
/* The token's label, sanitised. */
const char *tk_keygen_token(const struct tk_keygen *);
/* The token itself (its flags say the state of its SO PIN). */
const struct tk_p11_token *tk_keygen_tok(const struct tk_keygen *);
/*
 * Can the token make and sign with this key type and size?  No session,
 * no login.  TK_ERR_UNSUPPORTED after saying what it can make.
 */
int	tk_keygen_check(struct tk_keygen *, const struct tk_keygen_spec *);
/*
 * Log in (the PIN gate, the context's PIN callback or the URI's
 * pin-source; with spec.so as SO first), refuse an id or label in use,
 * generate the pair.  A fresh id is filled in spec.  On success *keyuri
 * (caller frees) names the new pair; also on a failure after the pair
 * was made (the user login after an SO one), so that it can be named.
 */
int	tk_keygen_make(struct tk_keygen *, struct tk_keygen_spec *,
	    char **keyuri);
/*
 * Store a self-signed X.509 certificate for the new key pair (signed on
 * the token; CA:FALSE, keyUsage digitalSignature, CN = the label) with
 * the id and label of spec (as tk_keygen_make() left it).
 */
int	tk_keygen_cert(struct tk_keygen *, const struct tk_keygen_spec *);

/*
 * Sign data with the new private key: hash as TK_HASH_* (pkcs11/sign.h);
 * the token's raw signature in sig (sigsz bytes at most), *siglen.
 */
int	tk_keygen_sign(struct tk_keygen *, int hash, const uint8_t *data,
	    size_t datalen, uint8_t *sig, size_t sigsz, size_t *siglen);

#endif /* TK_KEYGEN_H */
