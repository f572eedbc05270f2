/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper protocol (src/helper/hproto.c): every message round-trips, and
 * hostile frames -- truncated, oversized, with trailing bytes, lying
 * lengths or counts, unknown types, bad statuses -- are refused without
 * reading out of bounds (run it under ASan) and without leaving a PIN
 * behind.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "helper/hproto.h"
#include "pkcs11/registry.h"
#include "tap.h"

static const uint8_t	blob[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20"
    "0123456789abcdef0123456789abcdef";
static const uint8_t	data[] = "some data to sign";

static struct tk_buf	store;
static char		pin[TK_HP_PIN_MAX];

/* Decode the single frame in b as a request. */
static int
req(const struct tk_buf *b, struct tk_hp_req *r)
{
	return tk_hp_get_req(tk_buf_ptr(b), tk_buf_avail(b), r, &store, pin,
	    sizeof(pin));
}

static void
set_len(uint8_t *frame, size_t len)
{
	uint32_t	v = (uint32_t)(len - 4);

	frame[0] = v >> 24;
	frame[1] = v >> 16;
	frame[2] = v >> 8;
	frame[3] = v;
}

static void
test_requests(void)
{
	struct tk_buf	 b;
	struct tk_hp_req r;
	int		 rc;

	tk_buf_init(&b, TK_HP_REQ_MAX, TK_BUF_SECRET);

	ok(tk_hp_put_list(&b, 7, "pkcs11:token=a%20b") == 0, "LIST encodes");
	rc = req(&b, &r);
	ok(rc == 0 && r.type == TK_HP_LIST && r.id == 7 &&
	    strcmp(r.uri, "pkcs11:token=a%20b") == 0, "LIST round-trips");

	tk_buf_reset(&b);
	ok(tk_hp_put_sign(&b, 0xfffffffe, blob, sizeof(blob) - 1, data,
	    sizeof(data), TK_SIG_RSA_SHA512, NULL, 0) == 0, "SIGN encodes");
	rc = req(&b, &r);
	ok(rc == 0 && r.type == TK_HP_SIGN && r.id == 0xfffffffe &&
	    r.bloblen == sizeof(blob) - 1 &&
	    memcmp(r.blob, blob, r.bloblen) == 0 &&
	    r.datalen == sizeof(data) && memcmp(r.data, data, r.datalen) == 0 &&
	    r.alg == TK_SIG_RSA_SHA512 && !r.has_pin && pin[0] == '\0',
	    "SIGN without a PIN round-trips");

	tk_buf_reset(&b);
	ok(tk_hp_put_sign(&b, 2, blob, sizeof(blob) - 1, data, sizeof(data),
	    0, "pin=Zq7!", 8) == 0, "SIGN with a context PIN encodes");
	rc = req(&b, &r);
	ok(rc == 0 && r.has_pin && r.pinlen == 8 &&
	    strcmp(pin, "pin=Zq7!") == 0,
	    "the PIN lands in the caller's PIN buffer");
	ok(memmem(store.d, store.cap, "pin=Zq7!", 8) == NULL,
	    "and never in the decoder's store");

	tk_buf_reset(&b);
	ok(tk_hp_put_login(&b, 3, blob, sizeof(blob) - 1, "1234", 4) == 0 &&
	    req(&b, &r) == 0 && r.type == TK_HP_LOGIN && r.has_pin &&
	    strcmp(pin, "1234") == 0, "LOGIN with a PIN round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_login(&b, 4, blob, sizeof(blob) - 1, NULL, 0) == 0 &&
	    req(&b, &r) == 0 && !r.has_pin && r.pinlen == 0,
	    "LOGIN for a PIN pad round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_token(&b, 5, blob, sizeof(blob) - 1) == 0 &&
	    req(&b, &r) == 0 && r.type == TK_HP_TOKEN &&
	    r.bloblen == sizeof(blob) - 1, "TOKEN round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_registry(&b, 6) == 0 && req(&b, &r) == 0 &&
	    r.type == TK_HP_REGISTRY && r.id == 6, "REGISTRY round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_presence(&b, 7) == 0 && req(&b, &r) == 0 &&
	    r.type == TK_HP_PRESENCE && r.id == 7, "PRESENCE round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_logout(&b, 9, blob, sizeof(blob) - 1) == 0 &&
	    req(&b, &r) == 0 && r.type == TK_HP_LOGOUT && r.id == 9 &&
	    r.bloblen == sizeof(blob) - 1 &&
	    memcmp(r.blob, blob, r.bloblen) == 0,
	    "LOGOUT of one key's token round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_logout(&b, 10, NULL, 0) == 0 && req(&b, &r) == 0 &&
	    r.type == TK_HP_LOGOUT && r.bloblen == 0,
	    "LOGOUT of every token (no blob) round-trips");
	tk_buf_reset(&b);
	is_int(tk_hp_put_logout(&b, 11, NULL, 5), TK_ERR_RANGE,
	    "a LOGOUT with a length but no blob is refused");
	ok(b.len == 0, "...and writes nothing");
	tk_buf_reset(&b);
	ok(tk_hp_put_logout(&b, 12, blob, sizeof(blob) - 1) == 0 &&
	    tk_buf_put_u8(&b, 0) == 0, "LOGOUT frame with a byte added");
	/* the added byte is outside the frame: grow the length word */
	b.d[3]++;
	is_int(req(&b, &r), TK_ERR_FORMAT,
	    "a LOGOUT request with a trailing byte is refused");

	/* limits on the encoding side */
	{
		char	longpin[TK_HP_PIN_MAX + 1];
		size_t	before;

		memset(longpin, '7', sizeof(longpin) - 1);
		longpin[sizeof(longpin) - 1] = '\0';
		tk_buf_reset(&b);
		before = b.len;
		is_int(tk_hp_put_login(&b, 8, blob, sizeof(blob) - 1, longpin,
		    TK_HP_PIN_MAX), TK_ERR_RANGE,
		    "a PIN of %d bytes is refused", TK_HP_PIN_MAX);
		ok(b.len == before, "and nothing is left in the buffer");
	}
	{
		uint8_t	*big = calloc(1, TK_HP_REQ_MAX);

		tk_buf_reset(&b);
		is_int(tk_hp_put_sign(&b, 9, blob, sizeof(blob) - 1, big,
		    TK_HP_REQ_MAX, 0, NULL, 0), TK_ERR_RANGE,
		    "a SIGN request over the frame cap is refused");
		free(big);
	}
	tk_buf_free(&b);
}

static void
test_replies(void)
{
	struct tk_buf	  b;
	struct tk_hkey	  in[2], *out = NULL;
	struct tk_htoken  tok;
	struct tk_hp_rep  rep;
	char		 *paths_in[] = { "/usr/lib/a.so", "/b.so" }, **paths;
	size_t		  n;
	int		  st;

	tk_buf_init(&b, TK_HP_REP_MAX, 0);
	memset(in, 0, sizeof(in));
	in[0].blob = (uint8_t *)blob;
	in[0].bloblen = sizeof(blob) - 1;
	in[0].uri = "pkcs11:id=%01";
	in[0].label = "key one";
	in[0].token_label = "token";
	in[0].token_serial = "0123";
	in[0].flags = TK_HKEY_ALWAYS_AUTH;
	in[1] = in[0];
	in[1].label = NULL;
	in[1].flags = 0;
	ok(tk_hp_put_keys(&b, 11, 0, in, 2) == 0, "LIST reply encodes");
	ok(tk_hp_get_keys(tk_buf_ptr(&b), tk_buf_avail(&b), &st, &out,
	    &n) == 0 && st == 0 && n == 2, "LIST reply decodes");
	ok(out != NULL && out[0].bloblen == in[0].bloblen &&
	    memcmp(out[0].blob, blob, out[0].bloblen) == 0 &&
	    strcmp(out[0].uri, "pkcs11:id=%01") == 0 &&
	    strcmp(out[0].label, "key one") == 0 &&
	    strcmp(out[0].token_label, "token") == 0 &&
	    strcmp(out[0].token_serial, "0123") == 0 &&
	    out[0].flags == TK_HKEY_ALWAYS_AUTH && out[1].label != NULL &&
	    out[1].label[0] == '\0' && out[1].flags == 0,
	    "LIST reply round-trips every field");
	tk_hkeys_free(out, n);

	tk_buf_reset(&b);
	ok(tk_hp_put_keys(&b, 12, TK_ERR_NO_TOKEN, in, 2) == 0 &&
	    tk_hp_get_keys(tk_buf_ptr(&b), tk_buf_avail(&b), &st, &out,
	    &n) == 0 && st == TK_ERR_NO_TOKEN && n == 0 && out == NULL,
	    "an error LIST reply carries no keys");

	memset(&tok, 0, sizeof(tok));
	tok.flags = TK_TOKEN_PRESENT | TK_TOKEN_PIN_FINAL_TRY |
	    TK_HTOKEN_LOGGED_IN;
	tok.min_pin = 4;
	tok.max_pin = 8;
	strcpy(tok.label, "0123456789abcdef0123456789abcdef");
	strcpy(tok.serial, "0123456789abcdef");
	tk_buf_reset(&b);
	ok(tk_hp_put_sig(&b, 13, 0, &tok, data, sizeof(data)) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.type == (TK_HP_SIGN | TK_HP_REPLY) && rep.id == 13 &&
	    rep.status == 0 && rep.siglen == sizeof(data) &&
	    memcmp(rep.sig, data, rep.siglen) == 0 &&
	    memcmp(&rep.tok, &tok, sizeof(tok)) == 0,
	    "SIGN reply round-trips, token state with 32-byte label intact");
	tk_buf_reset(&b);
	ok(tk_hp_put_sig(&b, 14, TK_ERR_LOGIN_REQUIRED, &tok, data,
	    sizeof(data)) == 0 && tk_hp_get_rep(tk_buf_ptr(&b),
	    tk_buf_avail(&b), &rep) == 0 && rep.status ==
	    TK_ERR_LOGIN_REQUIRED && rep.siglen == 0,
	    "a failed SIGN reply carries no signature");
	tk_buf_reset(&b);
	ok(tk_hp_put_status(&b, TK_HP_LOGIN, 15, TK_ERR_PIN_INCORRECT,
	    &tok) == 0 && tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b),
	    &rep) == 0 && rep.type == (TK_HP_LOGIN | TK_HP_REPLY) &&
	    rep.status == TK_ERR_PIN_INCORRECT && rep.tok.min_pin == 4,
	    "LOGIN reply round-trips");
	tk_buf_reset(&b);
	ok(tk_hp_put_status(&b, TK_HP_TOKEN, 16, 0, NULL) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.tok.flags == 0 && rep.tok.label[0] == '\0',
	    "TOKEN reply without a state");
	tk_buf_reset(&b);
	ok(tk_hp_put_paths(&b, 17, 0, paths_in, 2) == 0 &&
	    tk_hp_get_paths(tk_buf_ptr(&b), tk_buf_avail(&b), &st, &paths,
	    &n) == 0 && n == 2 && strcmp(paths[0], "/usr/lib/a.so") == 0 &&
	    strcmp(paths[1], "/b.so") == 0, "REGISTRY reply round-trips");
	tk_p11_paths_free(paths, n);
	tk_buf_reset(&b);
	ok(tk_hp_put_digest(&b, 18, 0, 0x0123456789abcdefULL) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.type == (TK_HP_PRESENCE | TK_HP_REPLY) && rep.id == 18 &&
	    rep.status == 0 && rep.digest == 0x0123456789abcdefULL,
	    "PRESENCE reply round-trips, all 64 bits of the digest");
	tk_buf_reset(&b);
	ok(tk_hp_put_digest(&b, 19, TK_ERR_MODULE, 42) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.status == TK_ERR_MODULE && rep.digest == 0,
	    "a failed PRESENCE reply carries no digest");
	tk_buf_reset(&b);
	ok(tk_hp_put_logged_out(&b, 20, 0, 3) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.type == (TK_HP_LOGOUT | TK_HP_REPLY) && rep.id == 20 &&
	    rep.status == 0 && rep.nlogout == 3,
	    "LOGOUT reply round-trips the count of tokens logged out");
	tk_buf_reset(&b);
	ok(tk_hp_put_logged_out(&b, 21, TK_ERR_MODULE, 3) == 0 &&
	    tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep) == 0 &&
	    rep.status == TK_ERR_MODULE && rep.nlogout == 0,
	    "a failed LOGOUT reply counts nothing");
	tk_buf_reset(&b);
	ok(tk_hp_put_logged_out(&b, 22, 0, 1) == 0, "LOGOUT reply encodes");
	b.d[tk_buf_avail(&b) - 5] = 0xf3;	/* status TK_ERR_-13 ... */
	b.d[tk_buf_avail(&b) - 6] = 0xff;
	b.d[tk_buf_avail(&b) - 7] = 0xff;
	b.d[tk_buf_avail(&b) - 8] = 0xff;
	is_int(tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep),
	    TK_ERR_FORMAT, "...a failed one that counts tokens is refused");
	tk_buf_free(&b);
}

/*
 * Every way of damaging a valid request frame fails cleanly, and a PIN
 * is never left behind in the PIN buffer on failure.
 */
static void
test_hostile_requests(void)
{
	struct tk_buf	 b;
	struct tk_hp_req r;
	uint8_t		*f;
	size_t		 len, i, cut;
	int		 bad = 0, leak = 0, rc, v;

	tk_buf_init(&b, TK_HP_REQ_MAX, TK_BUF_SECRET);
	tk_hp_put_sign(&b, 1, blob, sizeof(blob) - 1, data, sizeof(data), 0,
	    "87654321", 8);
	len = tk_buf_avail(&b);
	f = malloc(len + 16);
	memcpy(f, tk_buf_ptr(&b), len);

	/* truncated, with the length word telling the truth or not */
	for (cut = 0; cut < len; cut++) {
		if (tk_hp_get_req(f, cut, &r, &store, pin, sizeof(pin)) == 0)
			bad++;
		leak += !all_zero(pin, sizeof(pin));
		if (cut >= 4) {
			uint8_t	*t = malloc(cut);

			memcpy(t, f, cut);
			set_len(t, cut);
			if (tk_hp_get_req(t, cut, &r, &store, pin,
			    sizeof(pin)) == 0)
				bad++;
			leak += !all_zero(pin, sizeof(pin));
			free(t);
		}
	}
	ok(bad == 0, "every truncation of a SIGN frame is refused (%d "
	    "accepted)", bad);
	ok(leak == 0, "no failed decode leaves the PIN in the PIN buffer");

	/* trailing bytes */
	f[len] = 0;
	set_len(f, len + 1);
	is_int(tk_hp_get_req(f, len + 1, &r, &store, pin, sizeof(pin)),
	    TK_ERR_FORMAT, "a trailing byte is refused");
	set_len(f, len);

	/* a length word that disagrees with the frame */
	set_len(f, len + 1);
	is_int(tk_hp_get_req(f, len, &r, &store, pin, sizeof(pin)),
	    TK_ERR_FORMAT, "a length word longer than the frame is refused");
	set_len(f, len);

	/* the blob's length made huge */
	f[9] = 0x7f;
	is_int(tk_hp_get_req(f, len, &r, &store, pin, sizeof(pin)),
	    TK_ERR_FORMAT, "a string length past the end is refused");
	f[9] = 0;

	/* an unknown type */
	f[4] = 0x42;
	is_int(tk_hp_get_req(f, len, &r, &store, pin, sizeof(pin)),
	    TK_ERR_UNSUPPORTED, "an unknown request type is refused");
	ok(r.type == 0x42 && r.id == 1, "and its type and id are known, to "
	    "answer it");
	f[4] = TK_HP_SIGN;

	/* every byte of the frame changed: never a crash */
	for (i = 0; i < len; i++) {
		for (v = 0; v < 256; v += 51) {
			uint8_t	o = f[i];

			f[i] = (uint8_t)(o ^ (v | 1));
			rc = tk_hp_get_req(f, len, &r, &store, pin,
			    sizeof(pin));
			if (rc != 0)
				leak += !all_zero(pin, sizeof(pin));
			f[i] = o;
		}
	}
	ok(leak == 0, "byte flips over the whole frame: no crash, no PIN "
	    "left on failure");
	free(f);

	/* a PIN longer than the buffer */
	{
		struct tk_buf	h;
		char		lp[300];
		size_t		mark;

		memset(lp, 'x', sizeof(lp));
		tk_buf_init(&h, TK_HP_REQ_MAX, TK_BUF_SECRET);
		tk_buf_open_string(&h, &mark);
		tk_buf_put_u8(&h, TK_HP_LOGIN);
		tk_buf_put_u32(&h, 9);
		tk_buf_put_string(&h, blob, sizeof(blob) - 1);
		tk_buf_put_u8(&h, 1);
		tk_buf_put_string(&h, lp, sizeof(lp));
		tk_buf_close_string(&h, mark);
		ok(req(&h, &r) != 0 && all_zero(pin, sizeof(pin)),
		    "a 300-byte PIN is refused, nothing copied");

		/* has_pin 0 but a PIN anyway */
		tk_buf_reset(&h);
		tk_buf_open_string(&h, &mark);
		tk_buf_put_u8(&h, TK_HP_LOGIN);
		tk_buf_put_u32(&h, 9);
		tk_buf_put_string(&h, blob, sizeof(blob) - 1);
		tk_buf_put_u8(&h, 0);
		tk_buf_put_string(&h, "1234", 4);
		tk_buf_close_string(&h, mark);
		is_int(req(&h, &r), TK_ERR_FORMAT,
		    "a PIN pad login carrying a PIN is refused");

		/* a PIN with a NUL in it */
		tk_buf_reset(&h);
		tk_buf_open_string(&h, &mark);
		tk_buf_put_u8(&h, TK_HP_LOGIN);
		tk_buf_put_u32(&h, 9);
		tk_buf_put_string(&h, blob, sizeof(blob) - 1);
		tk_buf_put_u8(&h, 1);
		tk_buf_put_string(&h, "12\0004", 4);
		tk_buf_close_string(&h, mark);
		ok(req(&h, &r) != 0 && all_zero(pin, sizeof(pin)),
		    "a PIN with a NUL byte is refused");

		/* a URI with a NUL in it */
		tk_buf_reset(&h);
		tk_buf_open_string(&h, &mark);
		tk_buf_put_u8(&h, TK_HP_LIST);
		tk_buf_put_u32(&h, 9);
		tk_buf_put_string(&h, "pkcs11:\0id=%01", 14);
		tk_buf_close_string(&h, mark);
		is_int(req(&h, &r), TK_ERR_FORMAT,
		    "a URI with a NUL byte is refused");
		tk_buf_free(&h);
	}
	tk_buf_free(&b);
}

static void
test_hostile_replies(void)
{
	struct tk_buf	  b;
	struct tk_hkey	  k, *out;
	struct tk_hp_rep  rep;
	uint8_t		 *f;
	size_t		  len, cut, n, i;
	int		  st, bad = 0, v;

	tk_buf_init(&b, TK_HP_REP_MAX, 0);
	memset(&k, 0, sizeof(k));
	k.blob = (uint8_t *)blob;
	k.bloblen = sizeof(blob) - 1;
	k.uri = "pkcs11:";
	tk_hp_put_keys(&b, 1, 0, &k, 1);
	len = tk_buf_avail(&b);
	f = malloc(len);
	memcpy(f, tk_buf_ptr(&b), len);
	for (cut = 4; cut < len; cut++) {
		set_len(f, cut);
		if (tk_hp_get_keys(f, cut, &st, &out, &n) == 0)
			bad++;
	}
	set_len(f, len);
	ok(bad == 0, "every truncation of a LIST reply is refused");

	/* a key count that lies */
	f[13] = 0x10;
	is_int(tk_hp_get_keys(f, len, &st, &out, &n), TK_ERR_FORMAT,
	    "a key count far beyond the frame is refused before allocating");
	f[13] = 0;
	for (i = 0; i < len; i++) {
		for (v = 1; v < 256; v += 64) {
			uint8_t	o = f[i];

			f[i] ^= (uint8_t)v;
			if (tk_hp_get_keys(f, len, &st, &out, &n) == 0)
				tk_hkeys_free(out, n);
			f[i] = o;
		}
	}
	ok(1, "byte flips over a LIST reply: no crash");
	free(f);

	/* statuses that are no TK_ERR_* */
	tk_buf_reset(&b);
	tk_hp_put_status(&b, TK_HP_TOKEN, 2, 0, NULL);
	f = (uint8_t *)tk_buf_ptr(&b);
	f[12] = 5;
	is_int(tk_hp_get_rep(f, tk_buf_avail(&b), &rep), TK_ERR_FORMAT,
	    "a positive status is refused");
	f[9] = f[10] = f[11] = f[12] = 0xf0;
	is_int(tk_hp_get_rep(f, tk_buf_avail(&b), &rep), TK_ERR_FORMAT,
	    "a status below TK_ERR_LAST is refused");

	/* a successful SIGN reply without a signature */
	tk_buf_reset(&b);
	tk_hp_put_sig(&b, 3, 0, NULL, NULL, 0);
	is_int(tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep),
	    TK_ERR_FORMAT, "a successful SIGN reply with no signature is "
	    "refused");

	/* a token label that does not fit */
	tk_buf_reset(&b);
	{
		size_t	mark;

		tk_buf_open_string(&b, &mark);
		tk_buf_put_u8(&b, TK_HP_TOKEN | TK_HP_REPLY);
		tk_buf_put_u32(&b, 4);
		tk_buf_put_u32(&b, 0);
		tk_buf_put_u32(&b, 0);
		tk_buf_put_u32(&b, 0);
		tk_buf_put_u32(&b, 0);
		tk_buf_put_cstring(&b, "0123456789abcdef0123456789abcdefX");
		tk_buf_put_cstring(&b, "");
		tk_buf_close_string(&b, mark);
	}
	is_int(tk_hp_get_rep(tk_buf_ptr(&b), tk_buf_avail(&b), &rep),
	    TK_ERR_FORMAT, "a 33-byte token label is refused");
	tk_buf_free(&b);
}

static void
test_framing(void)
{
	struct tk_buf	s;
	size_t		fl, i, len;
	int		rc, incomplete = 1;

	tk_buf_init(&s, TK_HP_REQ_MAX * 2, 0);
	tk_hp_put_token(&s, 1, blob, sizeof(blob) - 1);
	len = tk_buf_avail(&s);
	tk_hp_put_registry(&s, 2);
	rc = tk_hp_frame_len(&s, TK_HP_REQ_MAX, &fl);
	ok(rc == 0 && fl == len, "the first of two frames is found whole");
	for (i = 0; i < len; i++) {
		struct tk_buf	part;

		tk_buf_init_ro(&part, tk_buf_ptr(&s), i);
		if (tk_hp_frame_len(&part, TK_HP_REQ_MAX, &fl) != 0 ||
		    fl != 0)
			incomplete = 0;
	}
	ok(incomplete, "every prefix of a frame asks for more bytes");

	tk_buf_reset(&s);
	tk_buf_put_u32(&s, TK_HP_REQ_MAX);
	is_int(tk_hp_frame_len(&s, TK_HP_REQ_MAX, &fl), TK_ERR_RANGE,
	    "a frame over the cap garbles the stream");
	tk_buf_reset(&s);
	tk_buf_put_u32(&s, TK_HP_HDR - 5);
	is_int(tk_hp_frame_len(&s, TK_HP_REQ_MAX, &fl), TK_ERR_RANGE,
	    "a frame too short for its header garbles the stream");
	tk_buf_reset(&s);
	tk_buf_put_u32(&s, 0xffffffff);
	is_int(tk_hp_frame_len(&s, TK_HP_REP_MAX, &fl), TK_ERR_RANGE,
	    "a 4 GiB length garbles the stream");
	tk_buf_free(&s);
}

int
main(void)
{
	uint8_t	*p;

	/*
	 * The store at its full size from the start, zeroed: it never moves,
	 * and the scan for a PIN left behind reads only defined bytes (the
	 * whole capacity, not just what is in use).
	 */
	tk_buf_init(&store, TK_HP_REQ_MAX + 64, 0);
	if (tk_buf_reserve(&store, TK_HP_REQ_MAX + 64, &p) != 0)
		return 1;
	memset(p, 0, TK_HP_REQ_MAX + 64);
	tk_buf_reset(&store);
	test_requests();
	test_replies();
	test_hostile_requests();
	test_hostile_replies();
	test_framing();
	tk_buf_free(&store);
	return tap_done();
}
