/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A self-signed X.509 certificate for a key pair whose private half is on
 * a token (keygen --cert): CA:FALSE, keyUsage digitalSignature, subject
 * and issuer CN = the label, signed by a callback that signs on the
 * token.
 */
#ifndef TK_X509GEN_H
#define TK_X509GEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/pubkey.h"

/*
 * Sign data: hash as TK_HASH_* (pkcs11/sign.h); the token's raw signature
 * (RSA: s; ECDSA: r||s; Ed25519: 64 bytes) in sig, *siglen.
 */
typedef int tk_x509_sign_fn(void *, int hash, const uint8_t *data,
    size_t datalen, uint8_t *sig, size_t sigsz, size_t *siglen);

/*
 * The DER certificate (caller frees *der) and its subject name, DER
 * (caller frees *subj).  The signature is checked before it is returned:
 * TK_ERR_SIGNATURE if the token's does not verify.
 */
int	tk_x509_selfsigned(const struct tk_pubkey *, const char *cn,
	    tk_x509_sign_fn *, void *, uint8_t **der, size_t *derlen,
	    uint8_t **subj, size_t *subjlen);

#endif /* TK_X509GEN_H */
