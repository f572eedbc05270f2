/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper protocol (src/helper/hproto.h): the agent reads what a helper that
 * loaded an arbitrary vendor module writes, and a helper reads what the
 * agent writes.  Input: a selector byte, then one frame or a stream:
 *	0 request  1 SIGN/LOGIN/TOKEN/PRESENCE/LOGOUT reply  2 LIST reply
 *	3 REGISTRY reply
 *	4 a stream cut into frames
 * Whatever decodes must encode again and decode to the same thing, so
 * both sides agree on every frame either can produce.  A request's PIN
 * stays NUL-terminated in its buffer and is wiped on error.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "fuzz.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"

#define SAME(a, an, b, bn)	((an) == (bn) && \
	((an) == 0 || memcmp((a), (b), (an)) == 0))

static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
same_tok(const struct tk_htoken *a, const struct tk_htoken *b)
{
	return a->flags == b->flags && a->min_pin == b->min_pin &&
	    a->max_pin == b->max_pin && strcmp(a->label, b->label) == 0 &&
	    strcmp(a->serial, b->serial) == 0;
}

static void
request(const uint8_t *frame, size_t len)
{
	struct tk_hp_req	 q, q2;
	struct tk_buf		 store, store2, out;
	char			*pin, *pin2;
	size_t			 i;
	int			 r;

	pin = malloc(TK_HP_PIN_MAX);
	pin2 = malloc(TK_HP_PIN_MAX);
	if (pin == NULL || pin2 == NULL)
		abort();
	tk_buf_init(&store, 2 * TK_HP_REQ_MAX, TK_BUF_SECRET);
	tk_buf_init(&store2, 2 * TK_HP_REQ_MAX, TK_BUF_SECRET);
	tk_buf_init(&out, 2 * TK_HP_REQ_MAX, TK_BUF_SECRET);
	memset(pin, 'x', TK_HP_PIN_MAX);
	if ((r = tk_hp_get_req(frame, len, &q, &store, pin,
	    TK_HP_PIN_MAX)) != 0) {
		for (i = 0; i < TK_HP_PIN_MAX; i++)
			if (pin[i] != 0)
				abort();
		goto out;
	}
	if (q.pinlen >= TK_HP_PIN_MAX || strlen(pin) != q.pinlen ||
	    (!q.has_pin && q.pinlen != 0))
		abort();
	switch (q.type) {
	case TK_HP_LIST:
		r = tk_hp_put_list(&out, q.id, q.uri);
		break;
	case TK_HP_SIGN:
		r = tk_hp_put_sign(&out, q.id, q.blob, q.bloblen, q.data,
		    q.datalen, q.alg, q.has_pin ? pin : NULL, q.pinlen);
		break;
	case TK_HP_LOGIN:
		r = tk_hp_put_login(&out, q.id, q.blob, q.bloblen,
		    q.has_pin ? pin : NULL, q.pinlen);
		break;
	case TK_HP_TOKEN:
		r = tk_hp_put_token(&out, q.id, q.blob, q.bloblen);
		break;
	case TK_HP_REGISTRY:
		r = tk_hp_put_registry(&out, q.id);
		break;
	case TK_HP_PRESENCE:
		r = tk_hp_put_presence(&out, q.id);
		break;
	case TK_HP_LOGOUT:
		r = tk_hp_put_logout(&out, q.id, q.bloblen ? q.blob : NULL,
		    q.bloblen);
		break;
	default:
		abort();	/* decoded a type it does not know */
	}
	if (r != 0 || tk_hp_get_req(tk_buf_ptr(&out), tk_buf_avail(&out),
	    &q2, &store2, pin2, TK_HP_PIN_MAX) != 0)
		abort();
	if (q2.type != q.type || q2.id != q.id || q2.alg != q.alg ||
	    q2.has_pin != q.has_pin || q2.pinlen != q.pinlen ||
	    strcmp(pin, pin2) != 0 || !same_str(q.uri, q2.uri) ||
	    !SAME(q.blob, q.bloblen, q2.blob, q2.bloblen) ||
	    !SAME(q.data, q.datalen, q2.data, q2.datalen))
		abort();
 out:
	tk_buf_free(&out);
	tk_buf_free(&store2);
	tk_buf_free(&store);
	free(pin2);
	free(pin);
}

static void
reply(const uint8_t *frame, size_t len)
{
	struct tk_hp_rep	 p, p2;
	struct tk_buf		 out;
	int			 r;

	if (tk_hp_get_rep(frame, len, &p) != 0)
		return;
	tk_buf_init(&out, 2 * TK_HP_REP_MAX, 0);
	if (p.type == (TK_HP_SIGN | TK_HP_REPLY))
		r = tk_hp_put_sig(&out, p.id, p.status, &p.tok, p.sig,
		    p.siglen);
	else if (p.type == (TK_HP_PRESENCE | TK_HP_REPLY))
		r = tk_hp_put_digest(&out, p.id, p.status, p.digest);
	else if (p.type == (TK_HP_LOGOUT | TK_HP_REPLY))
		r = tk_hp_put_logged_out(&out, p.id, p.status, p.nlogout);
	else
		r = tk_hp_put_status(&out, p.type & ~TK_HP_REPLY, p.id,
		    p.status, &p.tok);
	if (r != 0 || tk_hp_get_rep(tk_buf_ptr(&out), tk_buf_avail(&out),
	    &p2) != 0)
		abort();
	if (p2.type != p.type || p2.id != p.id || p2.status != p.status ||
	    !same_tok(&p.tok, &p2.tok) || p2.digest != p.digest ||
	    p2.nlogout != p.nlogout ||
	    !SAME(p.sig, p.siglen, p2.sig, p2.siglen))
		abort();
	tk_buf_free(&out);
}

static void
keys(const uint8_t *frame, size_t len)
{
	struct tk_hkey	*k = NULL, *k2 = NULL;
	struct tk_buf	 out;
	uint32_t	 id;
	size_t		 n, n2, i;
	uint8_t		 type;
	int		 status, status2;

	if (tk_hp_get_keys(frame, len, &status, &k, &n) != 0)
		return;
	if (tk_hp_peek(frame, len, &type, &id) != 0)
		abort();
	tk_buf_init(&out, 2 * TK_HP_REP_MAX, 0);
	if (tk_hp_put_keys(&out, id, status, k, n) != 0 ||
	    tk_hp_get_keys(tk_buf_ptr(&out), tk_buf_avail(&out), &status2,
	    &k2, &n2) != 0)
		abort();
	if (status2 != status || n2 != n)
		abort();
	for (i = 0; i < n; i++)
		if (!SAME(k[i].blob, k[i].bloblen, k2[i].blob,
		    k2[i].bloblen) || k[i].flags != k2[i].flags ||
		    !same_str(k[i].uri, k2[i].uri) ||
		    !same_str(k[i].label, k2[i].label) ||
		    !same_str(k[i].token_label, k2[i].token_label) ||
		    !same_str(k[i].token_serial, k2[i].token_serial))
			abort();
	tk_hkeys_free(k2, n2);
	tk_hkeys_free(k, n);
	tk_buf_free(&out);
}

static void
paths(const uint8_t *frame, size_t len)
{
	char		**p = NULL, **p2 = NULL;
	struct tk_buf	 out;
	uint32_t	 id;
	size_t		 n, n2, i;
	uint8_t		 type;
	int		 status, status2;

	if (tk_hp_get_paths(frame, len, &status, &p, &n) != 0)
		return;
	if (tk_hp_peek(frame, len, &type, &id) != 0)
		abort();
	tk_buf_init(&out, 2 * TK_HP_REP_MAX, 0);
	if (tk_hp_put_paths(&out, id, status, p, n) != 0 ||
	    tk_hp_get_paths(tk_buf_ptr(&out), tk_buf_avail(&out), &status2,
	    &p2, &n2) != 0 || status2 != status || n2 != n)
		abort();
	for (i = 0; i < n; i++)
		if (!same_str(p[i], p2[i]))
			abort();
	tk_p11_paths_free(p2, n2);
	tk_p11_paths_free(p, n);
	tk_buf_free(&out);
}

/* The reader's loop: whole frames only, never past what arrived. */
static void
stream(const uint8_t *data, size_t size)
{
	struct tk_buf	 b;
	uint32_t	 id;
	size_t		 flen;
	uint8_t		 type;

	tk_buf_init_ro(&b, data, size);
	while (tk_hp_frame_len(&b, TK_HP_REP_MAX, &flen) == 0 && flen > 0) {
		if (flen > tk_buf_avail(&b) || flen < TK_HP_HDR ||
		    tk_hp_peek(tk_buf_ptr(&b), flen, &type, &id) != 0)
			abort();
		request(tk_buf_ptr(&b), flen);
		reply(tk_buf_ptr(&b), flen);
		if (tk_buf_consume(&b, flen) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	const uint8_t	*p;
	uint8_t		*frame;
	size_t		 n;
	int		 op;

	op = fz_u8(&f) % 5;
	p = fz_rest(&f, &n);
	frame = fz_dup(p, n);
	switch (op) {
	case 0:
		request(frame, n);
		break;
	case 1:
		reply(frame, n);
		break;
	case 2:
		keys(frame, n);
		break;
	case 3:
		paths(frame, n);
		break;
	default:
		stream(frame, n);
		break;
	}
	free(frame);
	return 0;
}
