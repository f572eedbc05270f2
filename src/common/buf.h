/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Bounded byte buffers.  Every parser of untrusted bytes (agent frames,
 * helper frames, key blobs) reads through these: each getter checks the
 * remaining length first, so a short or lying input yields TK_ERR_FORMAT
 * and never a read out of bounds.  A buffer may be marked secret; its
 * memory is wiped whenever it is freed, reset or moved by growth.
 */
#ifndef TK_BUF_H
#define TK_BUF_H

#include <stddef.h>
#include <stdint.h>

#define TK_BUF_SECRET	0x01	/* wipe on free/reset/realloc */
#define TK_BUF_RDONLY	0x02	/* borrows caller memory: no writes */

struct tk_buf {
	uint8_t		*d;
	size_t		 off;	/* read position */
	size_t		 len;	/* end of data */
	size_t		 cap;	/* allocated */
	size_t		 max;	/* hard limit on len */
	int		 flags;
};

/* A growable buffer that will never hold more than max bytes. */
void		 tk_buf_init(struct tk_buf *, size_t max, int flags);
/* A reader over len bytes the caller owns and keeps alive. */
void		 tk_buf_init_ro(struct tk_buf *, const void *, size_t len);
void		 tk_buf_free(struct tk_buf *);
void		 tk_buf_reset(struct tk_buf *);

size_t		 tk_buf_avail(const struct tk_buf *);	/* unread bytes */
const uint8_t	*tk_buf_ptr(const struct tk_buf *);	/* first unread */
int		 tk_buf_consume(struct tk_buf *, size_t);
/* Drop the consumed prefix so the buffer can be reused for a stream. */
void		 tk_buf_compact(struct tk_buf *);

int	tk_buf_reserve(struct tk_buf *, size_t, uint8_t **);
int	tk_buf_put(struct tk_buf *, const void *, size_t);
int	tk_buf_put_u8(struct tk_buf *, uint8_t);
int	tk_buf_put_u32(struct tk_buf *, uint32_t);
int	tk_buf_put_u64(struct tk_buf *, uint64_t);
int	tk_buf_put_string(struct tk_buf *, const void *, size_t);
int	tk_buf_put_cstring(struct tk_buf *, const char *);
/* SSH mpint from an unsigned big-endian magnitude (leading zeros ok). */
int	tk_buf_put_bignum(struct tk_buf *, const uint8_t *, size_t);
/* Reserve a uint32 length now, fill it in when the body is written. */
int	tk_buf_open_string(struct tk_buf *, size_t *mark);
int	tk_buf_close_string(struct tk_buf *, size_t mark);

int	tk_buf_get_u8(struct tk_buf *, uint8_t *);
int	tk_buf_get_u32(struct tk_buf *, uint32_t *);
int	tk_buf_get_u64(struct tk_buf *, uint64_t *);
int	tk_buf_get_bool(struct tk_buf *, int *);
/* Borrow a string: *p points into the buffer, valid until it changes. */
int	tk_buf_get_string(struct tk_buf *, const uint8_t **, size_t *);
/*
 * Copy a string into dst (size dstsz, NUL-terminated).  TK_ERR_FORMAT if
 * it contains a NUL, TK_ERR_RANGE if it does not fit.  Callers holding
 * secrets pass their own locked buffer.
 */
int	tk_buf_get_cstring(struct tk_buf *, char *dst, size_t dstsz);
/* A string whose contents are parsed as a nested reader. */
int	tk_buf_get_sub(struct tk_buf *, struct tk_buf *);
/* TK_ERR_FORMAT if anything is left unread. */
int	tk_buf_end(const struct tk_buf *);

/*
 * The 32-bit big-endian integers of the SSH and helper wire formats, for
 * frame headers outside a buffer.  p must hold 4 bytes.
 */
static inline uint32_t
tk_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
tk_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* TK_BUF_H */
