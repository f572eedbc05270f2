/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper protocol: see hproto.h.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"

int
tk_hp_frame_len(const struct tk_buf *stream, size_t max, size_t *framelen)
{
	const uint8_t	*p = tk_buf_ptr(stream);
	uint32_t	 len;
	int		 r = 0;

	*framelen = 0;
	if (tk_buf_avail(stream) < 4)
		goto out;
	len = tk_be32_get(p);
	if (len < TK_HP_HDR - 4 || len > max - 4) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if (tk_buf_avail(stream) - 4 >= len)
		*framelen = (size_t)len + 4;
 out:
	return r;
}

/* Check the frame's length word and read its type and id. */
static int
frame_open(const uint8_t *frame, size_t len, struct tk_buf *b, uint8_t *type,
    uint32_t *id)
{
	uint32_t	flen;
	int		r;

	tk_buf_init_ro(b, frame, len);
	if ((r = tk_buf_get_u32(b, &flen)) != 0)
		goto out;
	if (flen != len - 4 || flen < TK_HP_HDR - 4) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((r = tk_buf_get_u8(b, type)) != 0 ||
	    (r = tk_buf_get_u32(b, id)) != 0)
		goto out;
 out:
	return r;
}

int
tk_hp_peek(const uint8_t *frame, size_t len, uint8_t *type, uint32_t *id)
{
	struct tk_buf	b;

	return frame_open(frame, len, &b, type, id);
}

static int
frame_begin(struct tk_buf *out, uint8_t type, uint32_t id, size_t *mark)
{
	int	r;

	if ((r = tk_buf_open_string(out, mark)) != 0 ||
	    (r = tk_buf_put_u8(out, type)) != 0 ||
	    (r = tk_buf_put_u32(out, id)) != 0)
		return r;
	return 0;
}

/* Close the frame; a frame over max is taken back out of out. */
static int
frame_end(struct tk_buf *out, size_t mark, size_t max, int r)
{
	if (r == 0 && out->len - mark > max)
		r = TK_ERR_RANGE;
	if (r == 0)
		r = tk_buf_close_string(out, mark);
	if (r != 0 && mark <= out->len) {
		if (out->flags & TK_BUF_SECRET)
			explicit_bzero(out->d + mark, out->len - mark);
		out->len = mark;
	}
	return r;
}

static int
put_status(struct tk_buf *out, int status)
{
	return tk_buf_put_u32(out, (uint32_t)status);
}

static int
get_status(struct tk_buf *b, int *status)
{
	uint32_t	v;
	int32_t		s;
	int		r;

	if ((r = tk_buf_get_u32(b, &v)) != 0)
		return r;
	s = (int32_t)v;
	if (s > 0 || s < TK_ERR_LAST)
		return TK_ERR_FORMAT;
	*status = s;
	return 0;
}

static int
put_tok(struct tk_buf *out, const struct tk_htoken *tok)
{
	static const struct tk_htoken	zero;
	int				r;

	if (tok == NULL)
		tok = &zero;
	if ((r = tk_buf_put_u32(out, tok->flags)) != 0 ||
	    (r = tk_buf_put_u32(out, tok->min_pin)) != 0 ||
	    (r = tk_buf_put_u32(out, tok->max_pin)) != 0 ||
	    (r = tk_buf_put_string(out, tok->label,
	    strnlen(tok->label, sizeof(tok->label)))) != 0 ||
	    (r = tk_buf_put_string(out, tok->serial,
	    strnlen(tok->serial, sizeof(tok->serial)))) != 0)
		return r;
	return 0;
}

static int
get_tok(struct tk_buf *b, struct tk_htoken *tok)
{
	int	r;

	memset(tok, 0, sizeof(*tok));
	if ((r = tk_buf_get_u32(b, &tok->flags)) != 0 ||
	    (r = tk_buf_get_u32(b, &tok->min_pin)) != 0 ||
	    (r = tk_buf_get_u32(b, &tok->max_pin)) != 0 ||
	    (r = tk_buf_get_cstring(b, tok->label, sizeof(tok->label))) != 0 ||
	    (r = tk_buf_get_cstring(b, tok->serial, sizeof(tok->serial))) != 0)
		return r == TK_ERR_RANGE ? TK_ERR_FORMAT : r;
	return 0;
}

int
tk_hp_put_list(struct tk_buf *out, uint32_t id, const char *uri)
{
	size_t	mark;
	int	r;

	if (uri == NULL || strlen(uri) >= TK_HP_URI_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_LIST, id, &mark)) == 0)
		r = tk_buf_put_cstring(out, uri);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

static int
put_pin(struct tk_buf *out, const char *pin, size_t pinlen)
{
	int	r;

	if (pin != NULL && pinlen >= TK_HP_PIN_MAX)
		return TK_ERR_RANGE;
	if ((r = tk_buf_put_u8(out, pin != NULL)) != 0)
		return r;
	return tk_buf_put_string(out, pin, pin != NULL ? pinlen : 0);
}

int
tk_hp_put_sign(struct tk_buf *out, uint32_t id, const uint8_t *blob,
    size_t bloblen, const uint8_t *data, size_t datalen, uint32_t alg,
    const char *pin, size_t pinlen)
{
	size_t	mark;
	int	r;

	if (bloblen > TK_HP_BLOB_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_SIGN, id, &mark)) == 0 &&
	    (r = tk_buf_put_string(out, blob, bloblen)) == 0 &&
	    (r = tk_buf_put_string(out, data, datalen)) == 0 &&
	    (r = tk_buf_put_u32(out, alg)) == 0)
		r = put_pin(out, pin, pinlen);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

int
tk_hp_put_login(struct tk_buf *out, uint32_t id, const uint8_t *blob,
    size_t bloblen, const char *pin, size_t pinlen)
{
	size_t	mark;
	int	r;

	if (bloblen > TK_HP_BLOB_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_LOGIN, id, &mark)) == 0 &&
	    (r = tk_buf_put_string(out, blob, bloblen)) == 0)
		r = put_pin(out, pin, pinlen);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

int
tk_hp_put_token(struct tk_buf *out, uint32_t id, const uint8_t *blob,
    size_t bloblen)
{
	size_t	mark;
	int	r;

	if (bloblen > TK_HP_BLOB_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_TOKEN, id, &mark)) == 0)
		r = tk_buf_put_string(out, blob, bloblen);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

int
tk_hp_put_registry(struct tk_buf *out, uint32_t id)
{
	size_t	mark;
	int	r;

	r = frame_begin(out, TK_HP_REGISTRY, id, &mark);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

int
tk_hp_put_presence(struct tk_buf *out, uint32_t id)
{
	size_t	mark;
	int	r;

	r = frame_begin(out, TK_HP_PRESENCE, id, &mark);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

int
tk_hp_put_logout(struct tk_buf *out, uint32_t id, const uint8_t *blob,
    size_t bloblen)
{
	size_t	mark;
	int	r;

	if (bloblen > TK_HP_BLOB_MAX || (blob == NULL && bloblen != 0))
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_LOGOUT, id, &mark)) == 0)
		r = tk_buf_put_string(out, blob, bloblen);
	return frame_end(out, mark, TK_HP_REQ_MAX, r);
}

/* A string of at most max bytes, copied into store. */
static int
get_copy(struct tk_buf *b, size_t max, struct tk_buf *store,
    const uint8_t **p, size_t *n, int cstring)
{
	const uint8_t	*s;
	uint8_t		*d;
	size_t		 len;
	int		 r;

	if ((r = tk_buf_get_string(b, &s, &len)) != 0)
		return r;
	if (len > max)
		return TK_ERR_FORMAT;
	if (cstring && memchr(s, '\0', len) != NULL)
		return TK_ERR_FORMAT;
	/* store was reserved to fit the whole frame: no reallocation */
	if ((r = tk_buf_reserve(store, len + 1, &d)) != 0)
		return r;
	memcpy(d, s, len);
	d[len] = '\0';
	*p = d;
	*n = len;
	return 0;
}

static int
get_pin(struct tk_buf *b, struct tk_hp_req *req, char *pin, size_t pinsz)
{
	int	r;

	if ((r = tk_buf_get_bool(b, &req->has_pin)) != 0)
		return r;
	if (pin == NULL || pinsz == 0)
		return TK_ERR_INVAL;
	if ((r = tk_buf_get_cstring(b, pin, pinsz)) != 0)
		return TK_ERR_FORMAT;
	req->pinlen = strlen(pin);
	if (!req->has_pin && req->pinlen != 0)
		return TK_ERR_FORMAT;
	return 0;
}

int
tk_hp_get_req(const uint8_t *frame, size_t len, struct tk_hp_req *req,
    struct tk_buf *store, char *pin, size_t pinsz)
{
	struct tk_buf	 b;
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	memset(req, 0, sizeof(*req));
	if (pin != NULL && pinsz > 0)
		pin[0] = '\0';
	tk_buf_reset(store);
	if ((r = frame_open(frame, len, &b, &req->type, &req->id)) != 0)
		goto out;
	/* room for every string plus its NUL: pointers stay put */
	if ((r = tk_buf_reserve(store, len + 8, NULL)) != 0)
		goto out;
	store->len = 0;
	switch (req->type) {
	case TK_HP_LIST:
		if ((r = get_copy(&b, TK_HP_URI_MAX, store, &p, &n, 1)) != 0)
			goto out;
		req->uri = (const char *)p;
		break;
	case TK_HP_SIGN:
		if ((r = get_copy(&b, TK_HP_BLOB_MAX, store, &req->blob,
		    &req->bloblen, 0)) != 0 ||
		    (r = get_copy(&b, TK_HP_REQ_MAX, store, &req->data,
		    &req->datalen, 0)) != 0 ||
		    (r = tk_buf_get_u32(&b, &req->alg)) != 0 ||
		    (r = get_pin(&b, req, pin, pinsz)) != 0)
			goto out;
		break;
	case TK_HP_LOGIN:
		if ((r = get_copy(&b, TK_HP_BLOB_MAX, store, &req->blob,
		    &req->bloblen, 0)) != 0 ||
		    (r = get_pin(&b, req, pin, pinsz)) != 0)
			goto out;
		break;
	case TK_HP_TOKEN:
	case TK_HP_LOGOUT:
		if ((r = get_copy(&b, TK_HP_BLOB_MAX, store, &req->blob,
		    &req->bloblen, 0)) != 0)
			goto out;
		break;
	case TK_HP_REGISTRY:
	case TK_HP_PRESENCE:
		break;
	default:
		r = TK_ERR_UNSUPPORTED;
		goto out;
	}
	r = tk_buf_end(&b);
 out:
	if (r != 0) {
		if (pin != NULL && pinsz > 0)
			explicit_bzero(pin, pinsz);
		req->has_pin = 0;
		req->pinlen = 0;
	}
	return r;
}

static int
put_opt_cstring(struct tk_buf *out, const char *s)
{
	return tk_buf_put_cstring(out, s != NULL ? s : "");
}

int
tk_hp_put_keys(struct tk_buf *out, uint32_t id, int status,
    const struct tk_hkey *keys, size_t n)
{
	const struct tk_hkey	*k;
	size_t			 mark, i;
	int			 r;

	if (status != 0)
		n = 0;
	if (n > TK_HP_KEYS_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_LIST | TK_HP_REPLY, id, &mark)) != 0 ||
	    (r = put_status(out, status)) != 0 ||
	    (r = tk_buf_put_u32(out, (uint32_t)n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		k = &keys[i];
		if (k->bloblen > TK_HP_BLOB_MAX ||
		    (k->uri != NULL && strlen(k->uri) > TK_HP_URI_MAX) ||
		    (k->label != NULL && strlen(k->label) > TK_HP_LABEL_MAX) ||
		    (k->token_label != NULL &&
		    strlen(k->token_label) > TK_HP_LABEL_MAX) ||
		    (k->token_serial != NULL &&
		    strlen(k->token_serial) > TK_HP_LABEL_MAX)) {
			r = TK_ERR_RANGE;
			goto out;
		}
		if ((r = tk_buf_put_string(out, k->blob, k->bloblen)) != 0 ||
		    (r = put_opt_cstring(out, k->uri)) != 0 ||
		    (r = put_opt_cstring(out, k->label)) != 0 ||
		    (r = put_opt_cstring(out, k->token_label)) != 0 ||
		    (r = put_opt_cstring(out, k->token_serial)) != 0 ||
		    (r = tk_buf_put_u32(out, k->flags)) != 0)
			goto out;
	}
 out:
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_put_sig(struct tk_buf *out, uint32_t id, int status,
    const struct tk_htoken *tok, const uint8_t *sig, size_t siglen)
{
	size_t	mark;
	int	r;

	if (status != 0)
		siglen = 0;
	if (siglen > TK_HP_SIG_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_SIGN | TK_HP_REPLY, id, &mark)) == 0 &&
	    (r = put_status(out, status)) == 0 &&
	    (r = put_tok(out, tok)) == 0)
		r = tk_buf_put_string(out, sig, siglen);
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_put_status(struct tk_buf *out, uint8_t type, uint32_t id, int status,
    const struct tk_htoken *tok)
{
	size_t	mark;
	int	r;

	if (type != TK_HP_LOGIN && type != TK_HP_TOKEN)
		return TK_ERR_INVAL;
	if ((r = frame_begin(out, type | TK_HP_REPLY, id, &mark)) == 0 &&
	    (r = put_status(out, status)) == 0)
		r = put_tok(out, tok);
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_put_paths(struct tk_buf *out, uint32_t id, int status,
    char *const *paths, size_t n)
{
	size_t	mark, i;
	int	r;

	if (status != 0)
		n = 0;
	if (n > TK_HP_PATHS_MAX)
		return TK_ERR_RANGE;
	if ((r = frame_begin(out, TK_HP_REGISTRY | TK_HP_REPLY, id,
	    &mark)) != 0 ||
	    (r = put_status(out, status)) != 0 ||
	    (r = tk_buf_put_u32(out, (uint32_t)n)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		if (strlen(paths[i]) > TK_HP_PATH_MAX)
			r = TK_ERR_RANGE;
		else
			r = tk_buf_put_cstring(out, paths[i]);
	}
 out:
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_put_digest(struct tk_buf *out, uint32_t id, int status,
    uint64_t digest)
{
	size_t	mark;
	int	r;

	if (status != 0)
		digest = 0;
	if ((r = frame_begin(out, TK_HP_PRESENCE | TK_HP_REPLY, id,
	    &mark)) == 0 && (r = put_status(out, status)) == 0)
		r = tk_buf_put_u64(out, digest);
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_put_logged_out(struct tk_buf *out, uint32_t id, int status, uint32_t n)
{
	size_t	mark;
	int	r;

	if (status != 0)
		n = 0;
	if ((r = frame_begin(out, TK_HP_LOGOUT | TK_HP_REPLY, id,
	    &mark)) == 0 && (r = put_status(out, status)) == 0)
		r = tk_buf_put_u32(out, n);
	return frame_end(out, mark, TK_HP_REP_MAX, r);
}

int
tk_hp_get_rep(const uint8_t *frame, size_t len, struct tk_hp_rep *rep)
{
	struct tk_buf	b;
	int		r;

	memset(rep, 0, sizeof(*rep));
	if ((r = frame_open(frame, len, &b, &rep->type, &rep->id)) != 0)
		goto out;
	switch (rep->type) {
	case TK_HP_SIGN | TK_HP_REPLY:
		if ((r = get_status(&b, &rep->status)) != 0 ||
		    (r = get_tok(&b, &rep->tok)) != 0 ||
		    (r = tk_buf_get_string(&b, &rep->sig, &rep->siglen)) != 0)
			goto out;
		if (rep->siglen > TK_HP_SIG_MAX ||
		    (rep->status != 0 && rep->siglen != 0) ||
		    (rep->status == 0 && rep->siglen == 0)) {
			r = TK_ERR_FORMAT;
			goto out;
		}
		break;
	case TK_HP_LOGIN | TK_HP_REPLY:
	case TK_HP_TOKEN | TK_HP_REPLY:
		if ((r = get_status(&b, &rep->status)) != 0 ||
		    (r = get_tok(&b, &rep->tok)) != 0)
			goto out;
		break;
	case TK_HP_PRESENCE | TK_HP_REPLY:
		if ((r = get_status(&b, &rep->status)) != 0 ||
		    (r = tk_buf_get_u64(&b, &rep->digest)) != 0)
			goto out;
		if (rep->status != 0 && rep->digest != 0) {
			r = TK_ERR_FORMAT;
			goto out;
		}
		break;
	case TK_HP_LOGOUT | TK_HP_REPLY:
		if ((r = get_status(&b, &rep->status)) != 0 ||
		    (r = tk_buf_get_u32(&b, &rep->nlogout)) != 0)
			goto out;
		if (rep->status != 0 && rep->nlogout != 0) {
			r = TK_ERR_FORMAT;
			goto out;
		}
		break;
	default:
		r = TK_ERR_FORMAT;
		goto out;
	}
	r = tk_buf_end(&b);
 out:
	return r;
}

void
tk_hkeys_free(struct tk_hkey *keys, size_t n)
{
	size_t	i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(keys[i].blob);
		free(keys[i].uri);
		free(keys[i].label);
		free(keys[i].token_label);
		free(keys[i].token_serial);
	}
	free(keys);
}

/* A NUL-free string of at most max bytes, as a new C string. */
static int
get_dup(struct tk_buf *b, size_t max, char **out)
{
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	*out = NULL;
	if ((r = tk_buf_get_string(b, &p, &n)) != 0)
		return r;
	if (n > max || memchr(p, '\0', n) != NULL)
		return TK_ERR_FORMAT;
	if ((*out = malloc(n + 1)) == NULL)
		return TK_ERR_NOMEM;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

static int
get_key(struct tk_buf *b, struct tk_hkey *k)
{
	const uint8_t	*p;
	int		 r;

	if ((r = tk_buf_get_string(b, &p, &k->bloblen)) != 0)
		return r;
	if (k->bloblen == 0 || k->bloblen > TK_HP_BLOB_MAX)
		return TK_ERR_FORMAT;
	if ((k->blob = malloc(k->bloblen)) == NULL)
		return TK_ERR_NOMEM;
	memcpy(k->blob, p, k->bloblen);
	if ((r = get_dup(b, TK_HP_URI_MAX, &k->uri)) != 0 ||
	    (r = get_dup(b, TK_HP_LABEL_MAX, &k->label)) != 0 ||
	    (r = get_dup(b, TK_HP_LABEL_MAX, &k->token_label)) != 0 ||
	    (r = get_dup(b, TK_HP_LABEL_MAX, &k->token_serial)) != 0 ||
	    (r = tk_buf_get_u32(b, &k->flags)) != 0)
		return r;
	return 0;
}

int
tk_hp_get_keys(const uint8_t *frame, size_t len, int *status,
    struct tk_hkey **keysp, size_t *np)
{
	struct tk_buf	 b;
	struct tk_hkey	*keys = NULL;
	uint32_t	 id, n = 0, i;
	uint8_t		 type;
	int		 r;

	*keysp = NULL;
	*np = 0;
	*status = 0;
	if ((r = frame_open(frame, len, &b, &type, &id)) != 0)
		goto out;
	if (type != (TK_HP_LIST | TK_HP_REPLY)) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((r = get_status(&b, status)) != 0 ||
	    (r = tk_buf_get_u32(&b, &n)) != 0)
		goto out;
	/* each key takes at least 25 bytes: a count cannot lie much */
	if (n > TK_HP_KEYS_MAX || n > tk_buf_avail(&b) / 25 ||
	    (*status != 0 && n != 0)) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if (n > 0 && (keys = calloc(n, sizeof(*keys))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = get_key(&b, &keys[i])) != 0)
			goto out;
	if ((r = tk_buf_end(&b)) != 0)
		goto out;
	*keysp = keys;
	*np = n;
	keys = NULL;
 out:
	tk_hkeys_free(keys, n);
	return r;
}

int
tk_hp_get_paths(const uint8_t *frame, size_t len, int *status,
    char ***pathsp, size_t *np)
{
	struct tk_buf	  b;
	char		**paths = NULL;
	uint32_t	  id, n = 0, i;
	uint8_t		  type;
	int		  r;

	*pathsp = NULL;
	*np = 0;
	*status = 0;
	if ((r = frame_open(frame, len, &b, &type, &id)) != 0)
		goto out;
	if (type != (TK_HP_REGISTRY | TK_HP_REPLY)) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if ((r = get_status(&b, status)) != 0 ||
	    (r = tk_buf_get_u32(&b, &n)) != 0)
		goto out;
	if (n > TK_HP_PATHS_MAX || n > tk_buf_avail(&b) / 4 ||
	    (*status != 0 && n != 0)) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	/* one spare slot: an empty list is still a valid array */
	if ((paths = calloc(n + 1, sizeof(*paths))) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = get_dup(&b, TK_HP_PATH_MAX, &paths[i])) != 0)
			goto out;
		if (paths[i][0] == '\0') {
			r = TK_ERR_FORMAT;
			goto out;
		}
	}
	if ((r = tk_buf_end(&b)) != 0)
		goto out;
	*pathsp = paths;
	*np = n;
	paths = NULL;
 out:
	tk_p11_paths_free(paths, n);
	return r;
}
