/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The token layer: everything that calls PKCS#11.  Modules come from
 * p11-kit (its registry, or one file path); tokens and objects are matched
 * with p11-kit's URI code.  Nothing here knows SSH: keys leave this layer
 * as decoded public key components (struct tk_pubkey).
 */
#ifndef TK_P11_H
#define TK_P11_H

#include <stddef.h>
#include <stdint.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#include "tokenkeys.h"

/* Bounds on what a token may hand us. */
#define TK_RSA_MIN_BITS		1024
#define TK_RSA_MAX_BITS		16384
#define TK_ATTR_MAX		65536	/* any single attribute */
#define TK_ID_MAX		256
#define TK_LABEL_MAX		256

struct tk_module {
	CK_FUNCTION_LIST	*f;
	char			*path;		/* file name as loaded */
	char			*rpath;		/* realpath(), or NULL */
	char			*name;		/* p11-kit name, or the path */
	int			 registered;	/* from p11-kit's registry */
	int			 trust;		/* trust-policy: never keys */
	int			 ready;		/* initialised */
	int			 ours;		/* p11_kit_module_load()ed */
	int			 threads;	/* may be called from threads */
	int			 critical;	/* p11-kit config: critical */
	int			 reported;	/* its failure was said */
	CK_RV			 initrv;	/* C_Initialize's failure */
	CK_INFO			 info;
};

struct tk_modset {
	struct tk_module	*mods;
	size_t			 n;
	CK_FUNCTION_LIST	**registry;	/* p11_kit_modules_load() */
	char			**regpaths;	/* realpaths of registered */
	size_t			 nregpaths;
	tk_log_fn		*log;
	void			*logarg;
	unsigned int		 errors;
	/* catch modules' stderr as they load and start (log err 0) */
	int			 capture;
	int			 reg_known;	/* TK_MODSET_REG_* */
	/* say which CA certificates a walk could not decide (walk.c) */
	int			 note_undecided;
};

/*
 * Whether modules loaded by path are in p11-kit's registry (which decides
 * if their URIs carry module-path): looked up by loading the registry
 * (every module in it stays mapped), unless the caller already knows.
 */
#define TK_MODSET_REG_LOOK	0
#define TK_MODSET_REG_YES	1
#define TK_MODSET_REG_NO	2

#include "common/pubkey.h"

/* One slot (and token, if present) seen during enumeration. */
struct tk_p11_token {
	struct tk_module	*mod;
	CK_SLOT_ID		 slot;
	CK_SLOT_INFO		 sinfo;
	CK_TOKEN_INFO		 tinfo;
	int			 present;
};

/* A token's identifying strings: blank padding cut, bytes raw. */
struct tk_p11_names {
	char	label[33];
	char	manuf[33];
	char	model[17];
	char	serial[17];
};

void	tk_p11_token_names(const struct tk_p11_token *, struct tk_p11_names *);
/* The token's label, sanitised for a message, in buf. */
void	tk_p11_token_label(const struct tk_p11_token *, char *buf,
	    size_t bufsz);

/* One public key or certificate object that decoded to a key. */
struct tk_p11_object {
	CK_OBJECT_CLASS		 cls;
	CK_OBJECT_HANDLE	 handle;
	uint8_t			 id[TK_ID_MAX];
	size_t			 idlen;
	char			 label[TK_LABEL_MAX + 1];
	struct tk_pubkey	 key;
};

void	tk_modset_init(struct tk_modset *, tk_log_fn *, void *);
void	tk_modset_free(struct tk_modset *);
/* Load and initialise every module of p11-kit's registry. */
int	tk_modset_load_registry(struct tk_modset *);
/* Load one module by path (no-op if that file is already loaded). */
int	tk_modset_load_path(struct tk_modset *, const char *path,
	    struct tk_module **);
/* Is this file (by realpath) a module p11-kit's registry names? */
int	tk_modset_is_registered(struct tk_modset *, const char *path);
void	tk_modset_report(struct tk_modset *, int err, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * A registered module that failed to start is skipped with a warning
 * (p11-kit's convention), not counted as an error, unless its config
 * marks it critical or the walk's URI names it by module-name.  Modules
 * loaded by path (--module, module-path) that fail are errors at once.
 * The walk says it once per module; with all_slots, tokfn sees it as a
 * slotless token of a module that is not ready.
 */
void	tk_modset_failed(struct tk_modset *, P11KitUri *,
	    struct tk_module *);
/* Why m failed to start, and what to do where we can tell; sanitised. */
void	tk_module_cause(const struct tk_module *, char *buf, size_t bufsz);

/* One CK_RV to TK_ERR_* mapping for the whole project. */
int	tk_p11_rv(CK_RV);

/* Parse a URI with p11-kit; TK_ERR_URI / TK_ERR_URI_SCHEME on failure. */
int	tk_uri_parse(const char *, P11KitUri **);
int	tk_uri_match_module(P11KitUri *, const struct tk_module *);
int	tk_uri_match_token(P11KitUri *, const struct tk_p11_token *);
/* The URI naming exactly this object's key pair; caller frees. */
int	tk_uri_for_key(const struct tk_p11_token *,
	    const struct tk_p11_object *,
	    char **);
/* The URI naming this token; caller frees. */
int	tk_uri_for_token(const struct tk_p11_token *, char **);
/*
 * The module-path a URI names, as p11-kit reads it (any case of the
 * scheme; of a repeated attribute, the last).  0, TK_ERR_NOT_FOUND (it
 * names none), TK_ERR_URI_SCHEME, TK_ERR_URI (malformed, or an empty
 * module-path), TK_ERR_RANGE (longer than pathsz), TK_ERR_NOMEM.
 */
int	tk_uri_module_path(const char *uri, char *path, size_t pathsz);
/* Has s the pkcs11: scheme (as p11-kit sees it), well-formed or not? */
int	tk_uri_is_pkcs11(const char *s);
/* "pkcs11:?module-path=..." naming just this module file; caller frees. */
int	tk_uri_for_module_path(const char *path, char **out);

/* Decoding of untrusted attribute bytes (decode.c). */
int	tk_decode_rsa(const uint8_t *n, size_t nlen, const uint8_t *e,
	    size_t elen, struct tk_pubkey *);
int	tk_decode_ec(const uint8_t *params, size_t plen,
	    const uint8_t *point,
	    size_t qlen, struct tk_pubkey *);
/* X.509 DER: TK_ERR_DENIED for a CA certificate. */
int	tk_decode_cert(const uint8_t *der, size_t len, struct tk_pubkey *);
/*
 * X.509 DER, CA certificates (basicConstraints CA:TRUE) included: *ca
 * says which.  Whether such a certificate is a key is the caller's to
 * decide (a self-signed certificate for a key made with openssl req -x509
 * says CA:TRUE too).
 */
int	tk_decode_cert_ca(const uint8_t *der, size_t len, struct tk_pubkey *,
	    int *ca);
void	tk_pubkey_clear(struct tk_pubkey *);
int	tk_pubkey_equal(const struct tk_pubkey *, const struct tk_pubkey *);

/* Is an attribute a module filled in usable: present, and within cap? */
static inline int
tk_attr_ok(const CK_ATTRIBUTE *a, CK_ULONG cap)
{
	return a->ulValueLen != CK_UNAVAILABLE_INFORMATION &&
	    a->ulValueLen <= cap;
}

/*
 * Walk every token matching uri (modules, slots) and every public key and
 * certificate object on it matching uri's attributes.  tokfn (may be
 * NULL) sees each matching slot, objfn each decodable key object.  With
 * all_slots, empty slots and modules without slots reach tokfn too.
 * loginfn, if set, is called with an open session before objects are
 * searched.  A module or token that fails is reported through the
 * modset's log and skipped.  Callbacks return 0 to go on, nonzero to stop
 * the walk (that value is returned).  With retry_lost, a token whose
 * session is lost in the middle is walked once more on a new session, so
 * objfn may see an object twice: set it only if objfn tolerates that.
 * A CA:TRUE certificate is a key only when the token shows a private key
 * with its CKA_ID; one the token may hide until a login is left out, and
 * with the modset's note_undecided the walk says once per token how many
 * were, through the modset's log, as a note not counted as an error.
 */
typedef int tk_token_cb(void *, const struct tk_p11_token *);
typedef int tk_object_cb(void *, const struct tk_p11_token *,
    const struct tk_p11_object *);
typedef int tk_login_cb(void *, const struct tk_p11_token *,
    CK_SESSION_HANDLE);

struct tk_walk {
	P11KitUri	*uri;
	int		 all_slots;
	tk_token_cb	*tokfn;
	tk_object_cb	*objfn;
	tk_login_cb	*loginfn;
	void		*arg;
	int		 retry_lost;
};

int	tk_p11_walk(struct tk_modset *, const struct tk_walk *);

/*
 * A digest of which tokens module m holds: slot ids with a token present
 * and each token's label, manufacturer, model, serial and whether it is
 * initialised.  Equal digests: nothing was pulled, put in or swapped
 * (a card pulled and put back in between looks the same).  Slot and
 * token information only: no session, no object (presence.c).
 */
int	tk_p11_presence(struct tk_module *, uint64_t *digest);
/*
 * C_WaitForSlotEvent: block (until a slot event, or C_Finalize) or just
 * look.  0: an event (a card went in or out); TK_ERR_NOT_FOUND: none
 * yet (only when not blocking); TK_ERR_UNSUPPORTED: the module has no
 * slot events (SoftHSM); another error: none to be had now (OpenSC
 * without pcscd), try later.
 */
int	tk_p11_slot_event(struct tk_module *, int block);

#endif /* TK_P11_H */
