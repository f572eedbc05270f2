/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The agent's side of a helper process.  Each PKCS#11 module lives in its
 * own helper (`tokenkeys __helper`), which loads it and makes every token
 * call; the agent never loads a module.  These calls are safe from several
 * threads at once: requests are tagged and replies matched, so a slow
 * signature does not hold up others.  A helper that dies is restarted on
 * the next call; one that does not answer in time gets TK_ERR_TIMEOUT
 * (and is killed and restarted, since a hung module never recovers).
 */
#ifndef TK_HCLIENT_H
#define TK_HCLIENT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "tokenkeys.h"
#include "ssh/sshsig.h"

struct tk_hclient;

/* Key flags. */
#define TK_HKEY_ALWAYS_AUTH	0x01	/* CKA_ALWAYS_AUTHENTICATE */

/* A key pair a helper can sign with. */
struct tk_hkey {
	uint8_t		*blob;		/* OpenSSH public key blob */
	size_t		 bloblen;
	char		*uri;		/* the key's pkcs11: URI */
	char		*label;		/* raw (untrusted) object label */
	char		*token_label;	/* raw token label */
	char		*token_serial;
	uint32_t	 flags;		/* TK_HKEY_* */
};

/*
 * Token state flags beyond TK_TOKEN_* (tokenkeys.h), in tk_htoken.flags:
 *   TK_HTOKEN_LOGGED_IN	the helper holds a login on this token.
 *   TK_HTOKEN_CONTEXT_PIN	this key is CKA_ALWAYS_AUTHENTICATE: every
 *				signature needs a PIN (pass ctx_pin).  Set
 *				with TK_ERR_LOGIN_REQUIRED from
 *				tk_hclient_sign when the key is first found
 *				to be one (the listing may not have known).
 */
#define TK_HTOKEN_LOGGED_IN	0x10000
#define TK_HTOKEN_CONTEXT_PIN	0x20000

/* What the agent needs to decide how (and whether) to ask for a PIN. */
struct tk_htoken {
	uint32_t	 flags;		/* TK_TOKEN_* | TK_HTOKEN_* */
	uint32_t	 min_pin, max_pin;	/* 0: unknown */
	char		 label[33];	/* raw, NUL-terminated */
	char		 serial[17];
};

/*
 * Start a helper for the module at path (the caller has already applied
 * its allowlist).  env: SOFTHSM2_CONF etc. are inherited.
 */
int	tk_hclient_new(const char *module_path, struct tk_hclient **);
/*
 * The same, telling the helper whether module_path is in p11-kit's
 * registry (1) or not (0), so that it need not load every registry
 * module to find out (-1: it does).
 */
int	tk_hclient_start(const char *module_path, int registered,
	    struct tk_hclient **);
void	tk_hclient_free(struct tk_hclient *);
/*
 * Where the helpers' stderr goes (their module's own output, their own
 * messages): each line, from a thread of the helper's own, to fn with
 * the module's path ("(registry)" for a registry helper).  Set before the
 * first helper starts; without it helpers share this process's stderr.
 */
typedef void	tk_hclient_errlog_fn(void *arg, const char *module,
		    const char *line);
void	tk_hclient_set_errlog(tk_hclient_errlog_fn *, void *);
const char *tk_hclient_module(const struct tk_hclient *);

/*
 * Paths of the modules in p11-kit's registry, found by a short-lived
 * helper (so this process loads nothing).  Free with tk_p11_paths_free.
 */
int	tk_hclient_registry(char ***paths, size_t *n);

/* Keys matching uri on present tokens; free with tk_hkeys_free. */
int	tk_hclient_list(struct tk_hclient *, const char *uri,
	    struct tk_hkey **keys, size_t *n);
void	tk_hkeys_free(struct tk_hkey *, size_t);

/*
 * Sign data with the key whose blob is given.  On success sig holds the
 * OpenSSH signature blob (string alg, string sig), already verified
 * against the public key in this process.
 *   TK_ERR_LOGIN_REQUIRED: log in first (tok describes the token); for an
 *	always-authenticate key, call again with ctx_pin set.
 *   TK_ERR_NO_TOKEN: the token is gone; TK_ERR_NOT_FOUND: key not there.
 *   TK_ERR_SIGNATURE: the token produced a bad signature (not returned).
 *   TK_ERR_TIMEOUT, TK_ERR_CONNECTION: the helper hung or died.
 * ctx_pin (may be NULL) is used for a context-specific login and wiped by
 * the caller.
 */
int	tk_hclient_sign(struct tk_hclient *, const uint8_t *blob,
	    size_t bloblen, const uint8_t *data, size_t datalen, int alg,
	    const char *ctx_pin, size_t ctx_pinlen, uint8_t *sig, size_t sigsz,
	    size_t *siglen,
	    struct tk_htoken *tok, int timeout_ms);

/*
 * One C_Login with this PIN on the token holding the key (pin NULL: the
 * token's PIN pad).  Exactly one login attempt is made; no retry.  tok is
 * refreshed afterwards (tries left).
 */
int	tk_hclient_login(struct tk_hclient *, const uint8_t *blob,
	    size_t bloblen, const char *pin, size_t pinlen,
	    struct tk_htoken *tok, int timeout_ms);

/* The state of the token holding this key, read fresh. */
int	tk_hclient_token(struct tk_hclient *, const uint8_t *blob,
	    size_t bloblen, struct tk_htoken *tok);

/*
 * A digest of which tokens the module holds (tk_p11_presence): slots and
 * token information only, cheap enough to ask often.  A change
 * means a card was pulled, put in or swapped: list again.
 */
int	tk_hclient_presence(struct tk_hclient *, uint64_t *digest);
/*
 * A descriptor that becomes readable when the helper says the module's
 * tokens may have changed (a slot event, or a change it saw looking);
 * read it empty (it is non-blocking), then list again.  End of file: the
 * helper died (the next call starts another, with a new pipe behind the
 * same descriptor).  The same for the client's life; -1 for a registry
 * client.
 */
int	tk_hclient_events_fd(const struct tk_hclient *);

/*
 * Log the helper out of the token holding this key (blob NULL: of every
 * token of the module) and close its sessions there; the next signature
 * gets TK_ERR_LOGIN_REQUIRED.  *n: how many tokens were logged in.
 */
int	tk_hclient_logout(struct tk_hclient *, const uint8_t *blob,
	    size_t bloblen, unsigned int *n);

/* The running helper's process id, or -1 (for tests and -d output). */
pid_t	tk_hclient_pid(struct tk_hclient *);

#endif /* TK_HCLIENT_H */
