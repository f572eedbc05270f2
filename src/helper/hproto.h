/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper protocol: what the agent (hclient.c) and a helper process
 * (helper.c) say to each other over their socketpair.  Pure encoding and
 * decoding over struct tk_buf; no I/O, so it can be fuzzed.
 *
 * Frame:	uint32 length (of everything after it), byte type,
 *		uint32 request id, payload.
 * A reply has type (request type | TK_HP_REPLY) and the request's id; the
 * helper may answer out of order.  Every reply payload starts with
 * uint32 status: 0 or a TK_ERR_* code (two's complement).
 *
 * Requests and replies (string = uint32 length + bytes; tok = token
 * state: uint32 flags, uint32 min_pin, uint32 max_pin, string label,
 * string serial):
 *	LIST	  string uri
 *	  reply	  status, uint32 n, n x (string blob, string uri,
 *		  string label, string token_label, string token_serial,
 *		  uint32 flags)
 *	SIGN	  string blob, string data, uint32 alg, byte has_pin,
 *		  string pin (context-specific login; empty without)
 *	  reply	  status, tok, string raw signature (r||s for ECDSA, s for
 *		  RSA, R||S for Ed25519, as the token made it)
 *	LOGIN	  string blob, byte has_pin (0: the token's PIN pad),
 *		  string pin
 *	  reply	  status, tok
 *	TOKEN	  string blob
 *	  reply	  status, tok
 *	REGISTRY  (nothing)
 *	  reply	  status, uint32 n, n x string module path
 *	PRESENCE  (nothing)
 *	  reply	  status, uint64 digest of which tokens the module holds
 *		  (tk_p11_presence; 0 on error)
 *	LOGOUT	  string blob (empty: every token of the module)
 *	  reply	  status, uint32 n (tokens that were logged in; 0 on
 *		  error)
 *
 * Frames carrying a PIN must be built in and read from TK_BUF_SECRET
 * buffers; the decoder copies a PIN only into the caller's fixed buffer.
 * Trailing bytes, oversized lengths and unknown types are errors.
 */
#ifndef TK_HPROTO_H
#define TK_HPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "helper/hclient.h"

#define TK_HP_LIST		1
#define TK_HP_SIGN		2
#define TK_HP_LOGIN		3
#define TK_HP_TOKEN		4
#define TK_HP_REGISTRY		5
#define TK_HP_PRESENCE		6
#define TK_HP_LOGOUT		7
#define TK_HP_REPLY		0x80

/* Bounds.  A request carries at most one agent frame's worth of data. */
#define TK_HP_HDR		9		/* length, type, id */
#define TK_HP_REQ_MAX		(256 * 1024 + 16 * 1024)
#define TK_HP_REP_MAX		(8 * 1024 * 1024)	/* key lists */
#define TK_HP_BLOB_MAX		16384
#define TK_HP_URI_MAX		8192
#define TK_HP_LABEL_MAX		1024
#define TK_HP_SIG_MAX		4096
#define TK_HP_PIN_MAX		256		/* buffer size, NUL included */
#define TK_HP_KEYS_MAX		65536
#define TK_HP_PATHS_MAX		1024
#define TK_HP_PATH_MAX		4096

/* A decoded request; pointers point into the store given to the decoder. */
struct tk_hp_req {
	uint8_t		 type;
	uint32_t	 id;
	const uint8_t	*blob;		/* SIGN, LOGIN, TOKEN, LOGOUT */
	size_t		 bloblen;
	const uint8_t	*data;		/* SIGN */
	size_t		 datalen;
	const char	*uri;		/* LIST, NUL-terminated */
	uint32_t	 alg;		/* SIGN: TK_SIG_* */
	int		 has_pin;	/* the PIN is in the caller's buffer */
	size_t		 pinlen;
};

/*
 * A decoded SIGN, LOGIN, TOKEN, PRESENCE or LOGOUT reply; sig points
 * into the frame.  A PRESENCE reply has only status and digest, a LOGOUT
 * reply status and nlogout.
 */
struct tk_hp_rep {
	uint8_t		 type;
	uint32_t	 id;
	int		 status;
	struct tk_htoken tok;
	const uint8_t	*sig;
	size_t		 siglen;
	uint64_t	 digest;
	uint32_t	 nlogout;
};

/*
 * Is a whole frame at the start of stream?  *framelen gets its size
 * (header included) or 0 when more bytes are needed.  TK_ERR_RANGE when
 * its length is below the header or above max: the stream is garbled.
 */
int	tk_hp_frame_len(const struct tk_buf *stream, size_t max,
	    size_t *framelen);
/* Type and id of a whole frame (len bytes, header included). */
int	tk_hp_peek(const uint8_t *frame, size_t len, uint8_t *type,
	    uint32_t *id);

/* Requests (appended to out, whole frames). */
int	tk_hp_put_list(struct tk_buf *out, uint32_t id, const char *uri);
int	tk_hp_put_sign(struct tk_buf *out, uint32_t id, const uint8_t *blob,
	    size_t bloblen, const uint8_t *data, size_t datalen, uint32_t alg,
	    const char *pin, size_t pinlen);
int	tk_hp_put_login(struct tk_buf *out, uint32_t id, const uint8_t *blob,
	    size_t bloblen, const char *pin, size_t pinlen);
int	tk_hp_put_token(struct tk_buf *out, uint32_t id, const uint8_t *blob,
	    size_t bloblen);
int	tk_hp_put_registry(struct tk_buf *out, uint32_t id);
int	tk_hp_put_presence(struct tk_buf *out, uint32_t id);
/* blob NULL (bloblen 0): every token of the module. */
int	tk_hp_put_logout(struct tk_buf *out, uint32_t id, const uint8_t *blob,
	    size_t bloblen);

/*
 * Decode the request frame (len bytes).  Strings are copied into store
 * (reset first; req points into it until it changes); a PIN is copied
 * into pin (pinsz bytes, NUL-terminated) and never into store.  On error
 * pin is wiped.
 */
int	tk_hp_get_req(const uint8_t *frame, size_t len, struct tk_hp_req *req,
	    struct tk_buf *store, char *pin, size_t pinsz);

/* Replies. tok may be NULL (all zero). */
int	tk_hp_put_keys(struct tk_buf *out, uint32_t id, int status,
	    const struct tk_hkey *keys, size_t n);
int	tk_hp_put_sig(struct tk_buf *out, uint32_t id, int status,
	    const struct tk_htoken *tok, const uint8_t *sig, size_t siglen);
int	tk_hp_put_status(struct tk_buf *out, uint8_t type, uint32_t id,
	    int status, const struct tk_htoken *tok);
int	tk_hp_put_paths(struct tk_buf *out, uint32_t id, int status,
	    char *const *paths, size_t n);
/* The PRESENCE reply (digest 0 when status is not). */
int	tk_hp_put_digest(struct tk_buf *out, uint32_t id, int status,
	    uint64_t digest);

/* The LOGOUT reply (n 0 when status is not). */
int	tk_hp_put_logged_out(struct tk_buf *out, uint32_t id, int status,
	    uint32_t n);

/* SIGN, LOGIN, TOKEN, PRESENCE and LOGOUT replies. */
int	tk_hp_get_rep(const uint8_t *frame, size_t len, struct tk_hp_rep *rep);
/*
 * LIST and REGISTRY replies: *status is the helper's verdict; on 0 the
 * arrays are allocated (free with tk_hkeys_free / tk_p11_paths_free).
 */
int	tk_hp_get_keys(const uint8_t *frame, size_t len, int *status,
	    struct tk_hkey **keys, size_t *n);
int	tk_hp_get_paths(const uint8_t *frame, size_t len, int *status,
	    char ***paths, size_t *n);

#endif /* TK_HPROTO_H */
