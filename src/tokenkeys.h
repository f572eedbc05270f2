/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libtokenkeys: keys on PKCS#11 tokens as OpenSSH identities.
 *
 * Every function returning int returns 0 (TK_OK) on success or a negative
 * TK_ERR_* code; tk_strerror() turns one into a line of text.  Objects are
 * opaque; strings they return live as long as the object.  Token strings
 * (labels, serials) are untrusted and returned raw: sanitise them with
 * tk_str_sanitize() before showing them on a terminal.
 */
#ifndef TOKENKEYS_H
#define TOKENKEYS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TK_OK			0
#define TK_ERR_INTERNAL		-1	/* a bug: should never happen */
#define TK_ERR_NOMEM		-2
#define TK_ERR_INVAL		-3	/* bad argument from the caller */
#define TK_ERR_FORMAT		-4	/* malformed bytes, DER or frame */
#define TK_ERR_RANGE		-5	/* a length or value out of bounds */
#define TK_ERR_URI		-6	/* malformed pkcs11: URI */
#define TK_ERR_URI_SCHEME	-7	/* not a pkcs11: URI */
#define TK_ERR_NOT_FOUND	-8	/* nothing matches */
#define TK_ERR_UNSUPPORTED	-9	/* key type, mechanism or request */
#define TK_ERR_MODULE		-10	/* module failed to load or start */
#define TK_ERR_TOKEN		-11	/* the token reported an error */
#define TK_ERR_NO_TOKEN		-12	/* token absent or removed */
#define TK_ERR_PIN_INCORRECT	-13
#define TK_ERR_PIN_LOCKED	-14
#define TK_ERR_PIN_INVALID	-15	/* PIN length or characters refused */
#define TK_ERR_LOGIN_REQUIRED	-16
#define TK_ERR_CANCELLED	-17	/* the user declined */
#define TK_ERR_SESSION		-18	/* session or handle gone: reopen */
#define TK_ERR_SIGNATURE	-19	/* a signature did not verify */
#define TK_ERR_SYSTEM		-20	/* a system call failed (errno) */
#define TK_ERR_TIMEOUT		-21
#define TK_ERR_DENIED		-22	/* refused by policy */
#define TK_ERR_CONNECTION	-23	/* peer closed or garbled a stream */
#define TK_ERR_BAD_KEY		-24	/* key attributes out of bounds */
#define TK_ERR_NO_PROMPT	-25	/* no way to ask the user */
#define TK_ERR_BUSY		-26
#define TK_ERR_LAST		-26

const char	*tk_strerror(int);

/* Key types. */
#define TK_KEY_RSA		1
#define TK_KEY_ECDSA_P256	2
#define TK_KEY_ECDSA_P384	3
#define TK_KEY_ECDSA_P521	4
#define TK_KEY_ED25519		5

/* Fingerprint hashes. */
#define TK_FP_SHA256		0
#define TK_FP_MD5		1

struct tk_ctx;
struct tk_key;
struct tk_keylist;

/* tk_ctx_new() flags. */
#define TK_CTX_NO_REGISTRY	0x01	/* load no p11-kit registered module */
#define TK_CTX_NO_URI_MODULES	0x02	/* refuse ?module-path= in URIs */
/* catch what modules write to fd 2 as they load and start: log err 0 */
#define TK_CTX_CAPTURE_STDERR	0x04

/*
 * Diagnostics about one module or token while the rest goes on (a module
 * that fails to load, a token that errors).  msg is one line, sanitised.
 * err TK_ERR_LOGIN_REQUIRED is a note, not an error: CA certificates a
 * search left out because only a login can tell whether they are keys.
 * err TK_ERR_MODULE from a registered module that failed to start and was
 * skipped is a warning, not counted by tk_ctx_errors() either.  err 0 is
 * one line a module wrote to stderr ("module NAME: line"), caught with
 * TK_CTX_CAPTURE_STDERR: chatter to show only when asked.
 */
typedef void	tk_log_fn(void *arg, int err, const char *msg);

int		 tk_ctx_new(struct tk_ctx **, int flags);
void		 tk_ctx_free(struct tk_ctx *);
void		 tk_ctx_set_log(struct tk_ctx *, tk_log_fn *, void *);
/* Load one (unregistered) module by file path. */
int		 tk_ctx_add_module(struct tk_ctx *, const char *path);

/*
 * Where a login needs a PIN and the URI has no pin-source: fill pin
 * (pinsz bytes, NUL-terminated) and *len, or return TK_ERR_CANCELLED.
 * desc is the token's name (its label, sanitised), for the callback to
 * build its prompt around; tries_left is -1 when unknown, 1 on the final
 * try (say so: cancelling then keeps the last try).
 */
typedef int	tk_pin_fn(void *arg, const char *desc, int tries_left,
		    char *pin, size_t pinsz, size_t *len);
void		 tk_ctx_set_pin_fn(struct tk_ctx *, tk_pin_fn *, void *);
/* How many module or token errors were reported so far. */
unsigned int	 tk_ctx_errors(const struct tk_ctx *);

/* tk_find_keys() flags. */
#define TK_FIND_LOGIN		0x01	/* log in first (pin-source, pin fn) */

/*
 * Append to *list (created if NULL) every key pair whose objects match
 * uri ("pkcs11:" for all), once per distinct public key.  Returns
 * TK_ERR_NOT_FOUND when no object matched at all.
 */
int		 tk_find_keys(struct tk_ctx *, const char *uri, int flags,
		    struct tk_keylist **list);
size_t		 tk_keylist_count(const struct tk_keylist *);
const struct tk_key *tk_keylist_get(const struct tk_keylist *, size_t);
void		 tk_keylist_free(struct tk_keylist *);

int		 tk_key_type(const struct tk_key *);
const char	*tk_key_type_name(const struct tk_key *);	/* "ssh-rsa" */
const char	*tk_key_type_short(const struct tk_key *);	/* "RSA" */
unsigned int	 tk_key_bits(const struct tk_key *);
/* The OpenSSH public key blob. */
const uint8_t	*tk_key_blob(const struct tk_key *, size_t *);
/* The pkcs11: URI that selects exactly this key. */
const char	*tk_key_uri(const struct tk_key *);
const char	*tk_key_label(const struct tk_key *);
const uint8_t	*tk_key_id(const struct tk_key *, size_t *);
const char	*tk_key_token_label(const struct tk_key *);
const char	*tk_key_token_serial(const struct tk_key *);
const char	*tk_key_token_manufacturer(const struct tk_key *);
const char	*tk_key_token_model(const struct tk_key *);
const char	*tk_key_module_path(const struct tk_key *);
/* "SHA256:..." or "MD5:aa:bb:...", NUL-terminated into buf. */
int		 tk_key_fingerprint(const struct tk_key *, int alg, char *buf,
		    size_t bufsz);

/*
 * Public key blob helpers, independent of any token.
 */
/* base64 of blob (no newlines) into buf. */
int		 tk_blob_base64(const uint8_t *, size_t, char *buf,
		    size_t bufsz);
int		 tk_blob_fingerprint(const uint8_t *, size_t, int alg,
		    char *buf, size_t bufsz);

/*
 * Tokens, modules and slots, as `tokenkeys tokens` shows them: one entry
 * per slot (with or without a token), and per module that has no slot.
 */
struct tk_token;
struct tk_tokenlist;

#define TK_TOKEN_PRESENT	0x0001
#define TK_TOKEN_LOGIN_REQUIRED	0x0002
#define TK_TOKEN_PROTECTED_AUTH	0x0004	/* PIN pad */
#define TK_TOKEN_PIN_COUNT_LOW	0x0008
#define TK_TOKEN_PIN_FINAL_TRY	0x0010
#define TK_TOKEN_PIN_LOCKED	0x0020
#define TK_TOKEN_NOT_INITIALIZED 0x0040
#define TK_TOKEN_NO_SLOT	0x0080	/* a module without slots */
#define TK_TOKEN_TRUST_MODULE	0x0100	/* trust policy: holds no keys */
#define TK_TOKEN_MODULE_FAILED	0x0200	/* the module failed to start */

int		 tk_find_tokens(struct tk_ctx *, const char *uri,
		    struct tk_tokenlist **);
size_t		 tk_tokenlist_count(const struct tk_tokenlist *);
const struct tk_token *tk_tokenlist_get(const struct tk_tokenlist *, size_t);
void		 tk_tokenlist_free(struct tk_tokenlist *);
const char	*tk_token_uri(const struct tk_token *);
const char	*tk_token_module_path(const struct tk_token *);
const char	*tk_token_module_name(const struct tk_token *);
unsigned long	 tk_token_slot_id(const struct tk_token *);
const char	*tk_token_slot_description(const struct tk_token *);
const char	*tk_token_label(const struct tk_token *);
const char	*tk_token_manufacturer(const struct tk_token *);
const char	*tk_token_model(const struct tk_token *);
const char	*tk_token_serial(const struct tk_token *);
unsigned int	 tk_token_flags(const struct tk_token *);
size_t		 tk_token_nkeys(const struct tk_token *);
/* Why the module failed to start (TK_TOKEN_MODULE_FAILED), else "". */
const char	*tk_token_module_error(const struct tk_token *);

/* Copy s into buf with control characters and bad UTF-8 escaped. */
int		 tk_str_sanitize(const char *s, char *buf, size_t bufsz);

#ifdef __cplusplus
}
#endif

#endif /* TOKENKEYS_H */
