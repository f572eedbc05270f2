/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helpers of the benchmark programs: a monotonic clock, growable
 * latency vectors and their percentiles, and strict number parsing.
 * Benchmarks print figures; nothing here decides pass or fail.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct lat_vec {
	uint64_t	*v;	/* latencies in nanoseconds */
	size_t		 n;
	size_t		 cap;
};

struct lat_stats {
	size_t		 n;
	uint64_t	 p50;	/* nanoseconds, nearest-rank */
	uint64_t	 p99;
	uint64_t	 p999;
	uint64_t	 max;
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t	bench_now_ns(void);

/* Append one latency; returns 0, or -1 when out of memory. */
int		lat_push(struct lat_vec *, uint64_t);
/* Move every entry of src to the end of dst; src stays owned by caller. */
int		lat_append(struct lat_vec *, const struct lat_vec *);
void		lat_free(struct lat_vec *);
/* Sorts the vector in place and fills st; an empty vector gives zeros. */
void		lat_stats(struct lat_vec *, struct lat_stats *);

/*
 * Parse a decimal in [min, max] into *out; returns 0, or -1 after
 * printing "what: reason" to stderr.
 */
int		bench_parse_ull(const char *, const char *, unsigned long long,
		    unsigned long long, unsigned long long *);
/* Parse a non-negative decimal number of seconds such as "2.5". */
int		bench_parse_secs(const char *, const char *, double *);

/*
 * Decode a hex string (no separators, even length) into buf; returns the
 * number of bytes, or -1 when it is not hex or does not fit.
 */
int		bench_unhex(const char *, unsigned char *, size_t);

#endif /* BENCH_UTIL_H */
