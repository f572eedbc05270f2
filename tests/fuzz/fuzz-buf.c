/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The bounded buffers every parser reads through, driven by the input as
 * a sequence of operations on two buffers: W, growable up to a limit, and
 * R, a reader over bytes of the input.  Each is shadowed by a plain model
 * of what it must hold; after every operation the buffer and its model
 * must agree.  That checks more than memory safety: a getter that fails
 * must not move the read position (callers retry or report), a write must
 * never exceed the limit, a reader must never write to what it borrows,
 * and a secret buffer must leave no bytes behind when reset or compacted.
 *
 * Input: uint16 max, byte flags (bit 0: W is secret), field R's bytes,
 * then operations: a byte (bit 0 picks R, the rest the operation) and the
 * operation's arguments.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"
#include "fuzz.h"

#define MAX_OPS		4096
#define MAX_MARKS	8

struct shadow {
	struct tk_buf	 b;
	uint8_t		*m;		/* what b must hold, m[0..len) */
	size_t		 len, off, max;
	int		 ro;
	size_t		 marks[MAX_MARKS];
	size_t		 nmarks;
};

static void
check(const struct shadow *s)
{
	const struct tk_buf	*b = &s->b;

	if (b->off > b->len || b->len > b->max || b->len > b->cap ||
	    b->len != s->len || b->off != s->off ||
	    tk_buf_avail(b) != s->len - s->off ||
	    memcmp(tk_buf_ptr(b), s->m + s->off, s->len - s->off) != 0)
		abort();
	if (s->len > 0 && memcmp(b->d, s->m, s->len) != 0)
		abort();
}

static void
shadow_init(struct shadow *s, size_t max, int flags)
{
	memset(s, 0, sizeof(*s));
	tk_buf_init(&s->b, max, flags);
	s->max = max;
	if ((s->m = malloc(max == 0 ? 1 : max)) == NULL)
		abort();
}

static void
shadow_init_ro(struct shadow *s, uint8_t *p, size_t n)
{
	memset(s, 0, sizeof(*s));
	tk_buf_init_ro(&s->b, p, n);
	s->m = fz_dup(p, n);
	s->len = s->max = n;
	s->ro = 1;
}

static void
shadow_free(struct shadow *s)
{
	tk_buf_free(&s->b);
	if (s->b.d != NULL || tk_buf_avail(&s->b) != 0)
		abort();
	free(s->m);
}

/*
 * After a write: on success the model grows by want[0..n); on failure
 * the buffer was full (or read-only), and whatever was there before is
 * intact.  A failed write may leave part of itself behind: callers
 * discard a buffer whose write failed, so the model follows the buffer.
 */
static void
wrote(struct shadow *s, int r, const uint8_t *want, size_t n)
{
	size_t	old = s->len;

	if (s->ro) {
		if (r != TK_ERR_INVAL || s->b.len != old)
			abort();
		return;
	}
	if (r == 0) {
		if (n > s->max - old)
			abort();
		memcpy(s->m + old, want, n);
		s->len += n;
		return;
	}
	if (r != TK_ERR_RANGE || n <= s->max - old || s->b.len < old ||
	    s->b.len > s->max || (old > 0 && memcmp(s->b.d, s->m, old) != 0))
		abort();
	if (s->b.len > old)
		memcpy(s->m + old, s->b.d + old, s->b.len - old);
	s->len = s->b.len;
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* A getter's verdict: ok iff n bytes were there; failure moves nothing. */
static void
got(struct shadow *s, int r, int want_ok, size_t n)
{
	if (want_ok) {
		if (r != 0)
			abort();
		s->off += n;
	} else if (r != TK_ERR_FORMAT)
		abort();
}

static int
secret_wiped(const struct tk_buf *b, size_t from, size_t to)
{
	size_t	i;

	if (!(b->flags & TK_BUF_SECRET) || b->d == NULL)
		return 1;
	for (i = from; i < to; i++)
		if (b->d[i] != 0)
			return 0;
	return 1;
}

/* The nested reader of get_sub, drained one way or another. */
static void
drain_sub(struct tk_buf *sub, const uint8_t *want, size_t n, struct fz *f)
{
	const uint8_t	*p;
	size_t		 len, off = 0;
	uint32_t	 v;
	uint8_t		 c;

	if (tk_buf_avail(sub) != n || memcmp(tk_buf_ptr(sub), want, n) != 0 ||
	    tk_buf_put_u8(sub, 0) != TK_ERR_INVAL)
		abort();
	while (off < n) {
		switch (fz_u8(f) % 3) {
		case 0:
			if (tk_buf_get_u8(sub, &c) != 0 || c != want[off])
				abort();
			off++;
			break;
		case 1:
			if (n - off < 4) {
				if (tk_buf_get_u32(sub, &v) != TK_ERR_FORMAT)
					abort();
				off = n;
				if (tk_buf_consume(sub, tk_buf_avail(sub)) != 0)
					abort();
				break;
			}
			if (tk_buf_get_u32(sub, &v) != 0 ||
			    v != get32(want + off))
				abort();
			off += 4;
			break;
		default:
			if (tk_buf_get_string(sub, &p, &len) != 0) {
				off = n;
				if (tk_buf_consume(sub, tk_buf_avail(sub)) != 0)
					abort();
				break;
			}
			if (p != tk_buf_ptr(sub) - len)
				abort();
			off += 4 + len;
			break;
		}
	}
	if (tk_buf_end(sub) != 0 || off != n)
		abort();
}

static void
op(struct shadow *s, int code, struct fz *f)
{
	struct tk_buf	 sub;
	uint8_t		 tmp[8], *d, *pp;
	const uint8_t	*p;
	char		*cs;
	size_t		 n, avail = s->len - s->off, mark, i, old;
	uint64_t	 v64;
	uint32_t	 v32;
	uint8_t		 v8;
	int		 r, vb;

	switch (code) {
	case 0:
		v8 = fz_u8(f);
		wrote(s, tk_buf_put_u8(&s->b, v8), &v8, 1);
		break;
	case 1:
		v32 = fz_u32(f);
		be32(tmp, v32);
		wrote(s, tk_buf_put_u32(&s->b, v32), tmp, 4);
		break;
	case 2:
		v64 = (uint64_t)fz_u32(f) << 32;
		v64 |= fz_u32(f);
		be32(tmp, v64 >> 32);
		be32(tmp + 4, (uint32_t)v64);
		wrote(s, tk_buf_put_u64(&s->b, v64), tmp, 8);
		break;
	case 3:
	case 4:
		p = fz_take(f, fz_u8(f), &n);
		if (code == 4) {
			/* a C string: up to its NUL */
			cs = fz_strdup(p, n);
			n = strlen(cs);
			r = tk_buf_put_cstring(&s->b, cs);
		} else {
			cs = (char *)fz_dup(p, n);
			r = tk_buf_put_string(&s->b, cs, n);
		}
		if ((d = malloc(n + 4)) == NULL)
			abort();
		be32(d, (uint32_t)n);
		memcpy(d + 4, cs, n);
		wrote(s, r, d, n + 4);
		free(d);
		free(cs);
		break;
	case 5:
		p = fz_take(f, fz_u8(f), &n);
		cs = (char *)fz_dup(p, n);
		r = tk_buf_put_bignum(&s->b, (uint8_t *)cs, n);
		/* minimal two's complement: no zero lead, 00 before a high bit */
		for (i = 0; i < n && p[i] == 0; i++)
			;
		if ((d = malloc(n - i + 5)) == NULL)
			abort();
		old = (i < n && (p[i] & 0x80)) ? 1 : 0;
		be32(d, (uint32_t)(n - i + old));
		d[4] = 0;
		memcpy(d + 4 + old, p + i, n - i);
		wrote(s, r, d, n - i + old + 4);
		free(d);
		free(cs);
		break;
	case 6:
		r = tk_buf_open_string(&s->b, &mark);
		memset(tmp, 0, 4);
		if (r == 0 && (mark != s->len || s->ro))
			abort();
		wrote(s, r, tmp, 4);
		if (r == 0 && s->nmarks < MAX_MARKS)
			s->marks[s->nmarks++] = mark;
		break;
	case 7:
		/* a mark we made, or any offset at all */
		if (s->nmarks > 0 && (fz_u8(f) & 1))
			mark = s->marks[--s->nmarks];
		else
			mark = fz_u16(f);
		r = tk_buf_close_string(&s->b, mark);
		if (s->ro) {
			if (r == 0)
				abort();	/* wrote to borrowed memory */
		} else if (mark > s->len || s->len - mark < 4) {
			if (r != TK_ERR_INTERNAL)
				abort();
		} else {
			if (r != 0)
				abort();
			be32(s->m + mark, (uint32_t)(s->len - mark - 4));
		}
		break;
	case 8:
		n = fz_u16(f);
		if (fz_u8(f) == 0xff)
			n = SIZE_MAX - n;	/* length arithmetic overflow */
		v8 = fz_u8(f);
		pp = NULL;
		r = tk_buf_reserve(&s->b, n, &pp);
		if (r == 0) {
			/* nothing reserved in an empty buffer: no memory yet */
			if (n > 0 && pp != s->b.d + s->len)
				abort();
			if (n > 0)
				memset(pp, v8, n);
			if ((d = malloc(n == 0 ? 1 : n)) == NULL)
				abort();
			memset(d, v8, n);
			wrote(s, r, d, n);
			free(d);
		} else if (s->ro ? r != TK_ERR_INVAL :
		    (r != TK_ERR_RANGE || n <= s->max - s->len ||
		    s->b.len != s->len))
			abort();
		break;
	case 9:
		n = fz_u16(f);
		r = tk_buf_consume(&s->b, n);
		if (n <= avail ? r != 0 : r != TK_ERR_FORMAT)
			abort();
		if (r == 0)
			s->off += n;
		break;
	case 10:
		old = s->len;
		tk_buf_compact(&s->b);
		if (!s->ro && s->off > 0) {
			memmove(s->m, s->m + s->off, avail);
			s->len = avail;
			s->off = 0;
			if (!secret_wiped(&s->b, s->len, old))
				abort();
		}
		s->nmarks = 0;
		break;
	case 11:
		old = s->len;
		tk_buf_reset(&s->b);
		s->off = 0;
		if (!s->ro) {
			s->len = 0;
			if (!secret_wiped(&s->b, 0, old))
				abort();
		}
		s->nmarks = 0;
		break;
	case 12:
		r = tk_buf_get_u8(&s->b, &v8);
		if (r == 0 && v8 != s->m[s->off])
			abort();
		got(s, r, avail >= 1, 1);
		break;
	case 13:
		r = tk_buf_get_u32(&s->b, &v32);
		if (r == 0 && v32 != get32(s->m + s->off))
			abort();
		got(s, r, avail >= 4, 4);
		break;
	case 14:
		r = tk_buf_get_u64(&s->b, &v64);
		if (r == 0 && v64 != ((uint64_t)get32(s->m + s->off) << 32 |
		    get32(s->m + s->off + 4)))
			abort();
		got(s, r, avail >= 8, 8);
		break;
	case 15:
		r = tk_buf_get_bool(&s->b, &vb);
		if (r == 0 && vb != (s->m[s->off] != 0))
			abort();
		got(s, r, avail >= 1, 1);
		break;
	case 16:
	case 17:
		n = avail >= 4 ? get32(s->m + s->off) : 0;
		vb = avail >= 4 && n <= avail - 4;
		if (code == 16) {
			r = tk_buf_get_string(&s->b, &p, &i);
			if (r == 0 && (i != n || p != s->b.d + s->off + 4))
				abort();
		} else {
			r = tk_buf_get_sub(&s->b, &sub);
			if (r == 0)
				drain_sub(&sub, s->m + s->off + 4, n, f);
		}
		got(s, r, vb, 4 + n);
		break;
	case 18:
		/* dst sized exactly, so ASan sees a byte written past it */
		i = fz_u16(f) % 1024;
		if ((cs = malloc(i == 0 ? 1 : i)) == NULL)
			abort();
		r = tk_buf_get_cstring(&s->b, cs, i);
		n = avail >= 4 ? get32(s->m + s->off) : 0;
		if (avail < 4 || n > avail - 4 ||
		    memchr(s->m + s->off + 4, '\0', n) != NULL) {
			if (r != TK_ERR_FORMAT)
				abort();
		} else if (i == 0 || n > i - 1) {
			if (r != TK_ERR_RANGE)
				abort();
		} else {
			if (r != 0 || strlen(cs) != n ||
			    memcmp(cs, s->m + s->off + 4, n) != 0)
				abort();
			s->off += 4 + n;
		}
		free(cs);
		break;
	case 19:
		r = tk_buf_end(&s->b);
		if (avail == 0 ? r != 0 : r != TK_ERR_FORMAT)
			abort();
		break;
	default:
		/* start over with another limit */
		if (s->ro)
			break;
		n = fz_u16(f);
		vb = s->b.flags & TK_BUF_SECRET;
		shadow_free(s);
		shadow_init(s, n, vb);
		break;
	}
	check(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz	 f = { data, size };
	struct shadow	 w, r;
	const uint8_t	*p;
	uint8_t		*rbytes;
	size_t		 max, n, ops;
	int		 flags, c;

	max = fz_u16(&f);
	flags = fz_u8(&f) & 1 ? TK_BUF_SECRET : 0;
	p = fz_field(&f, &n);
	rbytes = fz_dup(p, n);
	shadow_init(&w, max, flags);
	shadow_init_ro(&r, rbytes, n);
	for (ops = 0; f.n > 0 && ops < MAX_OPS; ops++) {
		c = fz_u8(&f);
		op(c & 1 ? &r : &w, (c >> 1) % 21, &f);
	}
	/* the reader never wrote to the bytes it borrowed */
	if (memcmp(rbytes, r.m, n) != 0)
		abort();
	shadow_free(&w);
	shadow_free(&r);
	free(rbytes);
	return 0;
}
