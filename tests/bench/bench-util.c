/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Clock, latency statistics and argument parsing for the benchmarks.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int
lat_push(struct lat_vec *lv, uint64_t ns)
{
	uint64_t *nv;
	size_t ncap;
	int r = -1;

	if (lv->n == lv->cap) {
		ncap = lv->cap == 0 ? 4096 : lv->cap * 2;
		if (ncap < lv->cap || ncap > SIZE_MAX / sizeof(*nv))
			goto out;
		if ((nv = realloc(lv->v, ncap * sizeof(*nv))) == NULL)
			goto out;
		lv->v = nv;
		lv->cap = ncap;
	}
	lv->v[lv->n++] = ns;
	r = 0;
 out:
	return r;
}

int
lat_append(struct lat_vec *dst, const struct lat_vec *src)
{
	size_t i;
	int r = 0;

	for (i = 0; i < src->n && r == 0; i++)
		r = lat_push(dst, src->v[i]);
	return r;
}

void
lat_free(struct lat_vec *lv)
{
	free(lv->v);
	lv->v = NULL;
	lv->n = lv->cap = 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank quantile: the smallest value >= pm per mille of samples. */
static uint64_t
rank(const struct lat_vec *lv, unsigned int pm)
{
	size_t k;

	k = (lv->n * pm + 999) / 1000;
	if (k == 0)
		k = 1;
	return lv->v[k - 1];
}

void
lat_stats(struct lat_vec *lv, struct lat_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (lv->n == 0)
		return;
	qsort(lv->v, lv->n, sizeof(*lv->v), cmp_u64);
	st->n = lv->n;
	st->p50 = rank(lv, 500);
	st->p99 = rank(lv, 990);
	st->p999 = rank(lv, 999);
	st->max = lv->v[lv->n - 1];
}

int
bench_parse_ull(const char *what, const char *s, unsigned long long min,
    unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;
	int r = -1;

	if (*s == '\0' || !isdigit((unsigned char)*s)) {
		fprintf(stderr, "%s: \"%s\" is not a number\n", what, s);
		goto out;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0) {
		fprintf(stderr, "%s: \"%s\" is not a number\n", what, s);
		goto out;
	}
	if (v < min || v > max) {
		fprintf(stderr, "%s: %llu is outside %llu..%llu\n", what, v,
		    min, max);
		goto out;
	}
	*out = v;
	r = 0;
 out:
	return r;
}

int
bench_parse_secs(const char *what, const char *s, double *out)
{
	double v;
	char *end;
	int r = -1;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= 0.0) ||
	    v > 86400.0) {
		fprintf(stderr, "%s: \"%s\" is not a number of seconds "
		    "(0..86400)\n", what, s);
		goto out;
	}
	*out = v;
	r = 0;
 out:
	return r;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
bench_unhex(const char *s, unsigned char *buf, size_t len)
{
	size_t i, n;
	int hi, lo, r = -1;

	n = strlen(s);
	if (n % 2 != 0 || n / 2 > len || n / 2 > INT32_MAX)
		goto out;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)s[2 * i + 1])) < 0)
			goto out;
		buf[i] = (unsigned char)(hi << 4 | lo);
	}
	r = (int)(n / 2);
 out:
	return r;
}
