/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounded buffers: what goes in comes out, and short or lying input is
 * refused without reading out of bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "tap.h"

int
main(void)
{
	struct tk_buf	 b, r, sub;
	const uint8_t	*p;
	size_t		 n, mark;
	uint32_t	 v;
	uint64_t	 v64;
	uint8_t		 c;
	char		 s[8];
	static const uint8_t big[] = { 0x80, 0x01 };
	static const uint8_t zero[] = { 0x00, 0x00, 0x7f };
	static const uint8_t lying[] = { 0, 0, 0, 9, 'a', 'b' };
	static const uint8_t nul[] = { 0, 0, 0, 3, 'a', 0, 'b' };

	tk_buf_init(&b, 64, 0);
	ok(tk_buf_put_u32(&b, 0xdeadbeef) == 0 &&
	    tk_buf_put_u8(&b, 7) == 0 && tk_buf_put_u64(&b, 1ULL << 40) == 0 &&
	    tk_buf_put_cstring(&b, "hello") == 0, "put");
	ok(tk_buf_get_u32(&b, &v) == 0 && v == 0xdeadbeef, "u32 round trip");
	ok(tk_buf_get_u8(&b, &c) == 0 && c == 7, "u8 round trip");
	ok(tk_buf_get_u64(&b, &v64) == 0 && v64 == 1ULL << 40,
	    "u64 round trip");
	ok(tk_buf_get_string(&b, &p, &n) == 0 && n == 5 &&
	    memcmp(p, "hello", 5) == 0, "string round trip");
	is_int(tk_buf_end(&b), 0, "nothing left");
	is_int(tk_buf_get_u8(&b, &c), TK_ERR_FORMAT, "reading past the end");

	tk_buf_reset(&b);
	tk_buf_put_bignum(&b, big, sizeof(big));
	tk_buf_put_bignum(&b, zero, sizeof(zero));
	tk_buf_put_bignum(&b, zero, 2);
	ok(tk_buf_avail(&b) == 4 + 3 + 4 + 1 + 4 &&
	    memcmp(tk_buf_ptr(&b), "\0\0\0\3\0\x80\1\0\0\0\1\x7f\0\0\0\0",
	    16) == 0, "mpint: sign pad, leading zeros dropped, zero empty");

	tk_buf_reset(&b);
	is_int(tk_buf_put(&b, big, 65), TK_ERR_RANGE, "max size enforced");
	tk_buf_reset(&b);
	ok(tk_buf_open_string(&b, &mark) == 0 && tk_buf_put_u8(&b, 1) == 0 &&
	    tk_buf_put_u8(&b, 2) == 0 && tk_buf_close_string(&b, mark) == 0 &&
	    tk_buf_get_sub(&b, &sub) == 0 && tk_buf_avail(&sub) == 2,
	    "nested string");
	tk_buf_free(&b);

	tk_buf_init_ro(&r, lying, sizeof(lying));
	is_int(tk_buf_get_string(&r, &p, &n), TK_ERR_FORMAT,
	    "length beyond the data is refused");
	is_int(tk_buf_avail(&r), sizeof(lying), "and nothing was consumed");
	tk_buf_init_ro(&r, lying, 3);
	is_int(tk_buf_get_u32(&r, &v), TK_ERR_FORMAT, "short u32 refused");
	tk_buf_init_ro(&r, nul, sizeof(nul));
	is_int(tk_buf_get_cstring(&r, s, sizeof(s)), TK_ERR_FORMAT,
	    "C string with NUL refused");
	tk_buf_init_ro(&r, lying, sizeof(lying));
	ok(tk_buf_put_u8(&r, 1) != 0, "read-only buffer refuses writes");

	tk_buf_init(&b, 1 << 20, TK_BUF_SECRET);
	tk_buf_put_cstring(&b, "123456");
	ok(tk_buf_get_cstring(&b, s, 4) == TK_ERR_RANGE, "cstring too long");
	tk_buf_free(&b);
	ok(b.d == NULL && b.len == 0, "freed");
	return tap_done();
}
