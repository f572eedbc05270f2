/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounded byte buffers: see buf.h.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenkeys.h"
#include "common/buf.h"

#define BUF_MIN_ALLOC	256

void
tk_buf_init(struct tk_buf *b, size_t max, int flags)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
	b->flags = flags & TK_BUF_SECRET;
}

void
tk_buf_init_ro(struct tk_buf *b, const void *p, size_t len)
{
	memset(b, 0, sizeof(*b));
	b->d = (uint8_t *)(uintptr_t)p;
	b->len = b->cap = b->max = len;
	b->flags = TK_BUF_RDONLY;
}

void
tk_buf_free(struct tk_buf *b)
{
	if (b->d != NULL && !(b->flags & TK_BUF_RDONLY)) {
		explicit_bzero(b->d, b->cap);
		free(b->d);
	}
	b->d = NULL;
	b->off = b->len = b->cap = 0;
}

void
tk_buf_reset(struct tk_buf *b)
{
	if (b->flags & TK_BUF_RDONLY) {
		b->off = 0;
		return;
	}
	if (b->d != NULL && (b->flags & TK_BUF_SECRET))
		explicit_bzero(b->d, b->len);
	b->off = b->len = 0;
}

size_t
tk_buf_avail(const struct tk_buf *b)
{
	return b->len - b->off;
}

const uint8_t *
tk_buf_ptr(const struct tk_buf *b)
{
	return b->d == NULL ? (const uint8_t *)"" : b->d + b->off;
}

int
tk_buf_consume(struct tk_buf *b, size_t n)
{
	int	r = TK_ERR_FORMAT;

	if (n <= tk_buf_avail(b)) {
		b->off += n;
		r = 0;
	}
	return r;
}

void
tk_buf_compact(struct tk_buf *b)
{
	size_t	n;

	if (b->off == 0 || (b->flags & TK_BUF_RDONLY))
		return;
	n = tk_buf_avail(b);
	memmove(b->d, b->d + b->off, n);
	if (b->flags & TK_BUF_SECRET)
		explicit_bzero(b->d + n, b->len - n);
	b->off = 0;
	b->len = n;
}

int
tk_buf_reserve(struct tk_buf *b, size_t n, uint8_t **pp)
{
	uint8_t	*nd;
	size_t	 ncap;
	int	 r = TK_ERR_INTERNAL;

	if (b->flags & TK_BUF_RDONLY) {
		r = TK_ERR_INVAL;
		goto out;
	}
	if (n > b->max || b->len > b->max - n) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap < BUF_MIN_ALLOC ? BUF_MIN_ALLOC : b->cap;
		while (ncap < b->len + n)
			ncap = ncap > b->max / 2 ? b->max : ncap * 2;
		if (b->flags & TK_BUF_SECRET) {
			/* realloc could leave a copy behind: move by hand */
			if ((nd = malloc(ncap)) == NULL) {
				r = TK_ERR_NOMEM;
				goto out;
			}
			if (b->d != NULL) {
				memcpy(nd, b->d, b->len);
				explicit_bzero(b->d, b->cap);
				free(b->d);
			}
		} else if ((nd = realloc(b->d, ncap)) == NULL) {
			r = TK_ERR_NOMEM;
			goto out;
		}
		b->d = nd;
		b->cap = ncap;
	}
	/* nothing reserved yet: no memory, and NULL + 0 is undefined */
	if (pp != NULL)
		*pp = b->d == NULL ? NULL : b->d + b->len;
	b->len += n;
	r = 0;
 out:
	return r;
}

int
tk_buf_put(struct tk_buf *b, const void *p, size_t n)
{
	uint8_t	*d;
	int	 r;

	if ((r = tk_buf_reserve(b, n, &d)) == 0 && n > 0)
		memcpy(d, p, n);
	return r;
}

int
tk_buf_put_u8(struct tk_buf *b, uint8_t v)
{
	return tk_buf_put(b, &v, 1);
}

int
tk_buf_put_u32(struct tk_buf *b, uint32_t v)
{
	uint8_t	p[4];

	tk_be32_put(p, v);
	return tk_buf_put(b, p, sizeof(p));
}

int
tk_buf_put_u64(struct tk_buf *b, uint64_t v)
{
	int	r;

	if ((r = tk_buf_put_u32(b, v >> 32)) == 0)
		r = tk_buf_put_u32(b, (uint32_t)v);
	return r;
}

int
tk_buf_put_string(struct tk_buf *b, const void *p, size_t n)
{
	int	r = TK_ERR_RANGE;

	if (n <= UINT32_MAX && (r = tk_buf_put_u32(b, (uint32_t)n)) == 0)
		r = tk_buf_put(b, p, n);
	return r;
}

int
tk_buf_put_cstring(struct tk_buf *b, const char *s)
{
	return tk_buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int
tk_buf_put_bignum(struct tk_buf *b, const uint8_t *p, size_t n)
{
	int	r;
	int	pad;

	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	pad = n > 0 && (*p & 0x80) != 0;
	if (n > UINT32_MAX - 1) {
		r = TK_ERR_RANGE;
		goto out;
	}
	if ((r = tk_buf_put_u32(b, (uint32_t)(n + pad))) != 0 ||
	    (pad && (r = tk_buf_put_u8(b, 0)) != 0))
		goto out;
	r = tk_buf_put(b, p, n);
 out:
	return r;
}

int
tk_buf_open_string(struct tk_buf *b, size_t *mark)
{
	int	r;

	*mark = b->len;
	r = tk_buf_put_u32(b, 0);
	return r;
}

int
tk_buf_close_string(struct tk_buf *b, size_t mark)
{
	size_t	n;
	int	r;

	if (b->flags & TK_BUF_RDONLY) {
		r = TK_ERR_INVAL;	/* the memory is the caller's */
		goto out;
	}
	if (mark > b->len || b->len - mark < 4) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	n = b->len - mark - 4;
	if (n > UINT32_MAX) {
		r = TK_ERR_RANGE;
		goto out;
	}
	tk_be32_put(b->d + mark, (uint32_t)n);
	r = 0;
 out:
	return r;
}

/* The big-endian u32 at the read offset; 4 bytes must be there. */
static uint32_t
peek_u32(const struct tk_buf *b)
{
	return tk_be32_get(b->d + b->off);
}

int
tk_buf_get_u8(struct tk_buf *b, uint8_t *v)
{
	int	r = TK_ERR_FORMAT;

	if (tk_buf_avail(b) >= 1) {
		*v = b->d[b->off++];
		r = 0;
	}
	return r;
}

int
tk_buf_get_u32(struct tk_buf *b, uint32_t *v)
{
	int	r = TK_ERR_FORMAT;

	if (tk_buf_avail(b) >= 4) {
		*v = peek_u32(b);
		b->off += 4;
		r = 0;
	}
	return r;
}

int
tk_buf_get_u64(struct tk_buf *b, uint64_t *v)
{
	uint32_t	hi, lo;
	int		r = TK_ERR_FORMAT;

	/* Checked first, so nothing is consumed when it fails. */
	if (tk_buf_avail(b) >= 8 && (r = tk_buf_get_u32(b, &hi)) == 0 &&
	    (r = tk_buf_get_u32(b, &lo)) == 0)
		*v = (uint64_t)hi << 32 | lo;
	return r;
}

int
tk_buf_get_bool(struct tk_buf *b, int *v)
{
	uint8_t	c;
	int	r;

	if ((r = tk_buf_get_u8(b, &c)) == 0)
		*v = c != 0;
	return r;
}

int
tk_buf_get_string(struct tk_buf *b, const uint8_t **p, size_t *n)
{
	uint32_t	len;
	int		r = TK_ERR_FORMAT;

	if (tk_buf_avail(b) < 4 || (len = peek_u32(b)) > tk_buf_avail(b) - 4)
		goto out;
	*p = b->d + b->off + 4;
	*n = len;
	b->off += 4 + (size_t)len;
	r = 0;
 out:
	return r;
}

int
tk_buf_get_cstring(struct tk_buf *b, char *dst, size_t dstsz)
{
	const uint8_t	*p;
	size_t		 n, save = b->off;
	int		 r;

	if ((r = tk_buf_get_string(b, &p, &n)) != 0)
		goto out;
	if (memchr(p, '\0', n) != NULL) {
		r = TK_ERR_FORMAT;
		goto out;
	}
	if (dstsz == 0 || n > dstsz - 1) {
		r = TK_ERR_RANGE;
		goto out;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
 out:
	if (r != 0)
		b->off = save;
	return r;
}

int
tk_buf_get_sub(struct tk_buf *b, struct tk_buf *sub)
{
	const uint8_t	*p;
	size_t		 n;
	int		 r;

	if ((r = tk_buf_get_string(b, &p, &n)) == 0)
		tk_buf_init_ro(sub, p, n);
	return r;
}

int
tk_buf_end(const struct tk_buf *b)
{
	return tk_buf_avail(b) == 0 ? 0 : TK_ERR_FORMAT;
}
