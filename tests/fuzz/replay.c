/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fuzz target's main without libFuzzer, for make check.
 *
 *	fuzz-NAME [DIR|FILE ...]
 *
 * Without arguments (as make check runs it) the corpus is
 * $abs_top_srcdir/tests/fuzz/corpus/NAME.
 *
 * Every file in each corpus DIR runs, followed by deterministic mutations
 * of it (truncations, bit flips, byte insertions and deletions, length
 * fields smashed), so every build covers the neighbourhood of the seeds
 * and not only the machines where someone runs the fuzzers.  The PRNG is
 * seeded from the file's name: adding a seed changes no other seed's
 * inputs.  A FILE named on the command line runs once, as it is: that is
 * how a crash that libFuzzer saved is reproduced.
 *
 * Output is TAP, one test per seed file.  A target that finds a bug
 * aborts (or a sanitizer kills the process); the input it died on is
 * written to stderr in hex first, and the TAP driver reports the
 * missing tests.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define TRUNC_ALL	64	/* every truncation up to this length */
#define NRANDOM		32	/* random mutations of each kind */
#define FILE_MAX	(1024 * 1024)

/* What is running, for the crash report. */
static const char	*cur_name;
static const char	*cur_what;
static const uint8_t	*cur_data;
static size_t		 cur_len;

static void	 report(void);

/* Provided by ASan/UBSan when linked in; called before they exit. */
void	__sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

static void
put(const char *s)
{
	size_t	n = strlen(s);

	while (n > 0) {
		ssize_t	w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Async-signal-safe: it runs from a signal handler. */
static void
report(void)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 b[3];
	size_t			 i;

	if (cur_name == NULL)
		return;
	put("\nreplay: crashed on ");
	put(cur_name);
	put(" (");
	put(cur_what);
	put("), input in hex:\n");
	b[2] = '\0';
	for (i = 0; i < cur_len; i++) {
		b[0] = hex[cur_data[i] >> 4];
		b[1] = hex[cur_data[i] & 15];
		put(b);
		if (i % 32 == 31 || i + 1 == cur_len)
			put("\n");
	}
	cur_name = NULL;
}

static void
on_signal(int sig)
{
	report();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* splitmix64: small, and the same sequence on every platform. */
static uint64_t
rnd(uint64_t *st)
{
	uint64_t	z;

	z = (*st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
below(uint64_t *st, size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd(st) % n);
}

/* Run once on an exact-size copy, so reading past the end is caught. */
static void
run(const uint8_t *p, size_t n, const char *what, size_t *count)
{
	uint8_t	*d = fz_dup(p, n);

	cur_data = d;
	cur_len = n;
	cur_what = what;
	LLVMFuzzerTestOneInput(d, n);
	free(d);
	(*count)++;
}

static size_t
mutate(const char *name, const uint8_t *seed, size_t len)
{
	static const uint8_t	 bytes[] = {
		0x00, 0x01, 0x7f, 0x80, 0xff, '%', '\n', ';', '=', ' '
	};
	static const uint32_t	 lens[] = {
		0, 1, 0x7f, 0x80, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff
	};
	uint64_t		 st = 0x746f6b656e6b6579ULL;	/* fixed */
	uint8_t			*b;
	size_t			 count = 0, i, k, at, n;
	const char		*s;

	for (s = name; *s != '\0'; s++)
		st = (st ^ (uint8_t)*s) * 0x100000001b3ULL;
	if ((b = malloc(len + 8)) == NULL)
		abort();

	run(seed, len, "seed", &count);
	for (n = 0; n < len && n <= TRUNC_ALL; n++)
		run(seed, n, "truncated", &count);
	if (len > TRUNC_ALL) {
		const size_t	cut[] = { len / 2, len * 3 / 4, len - 4,
				    len - 2, len - 1 };

		for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
			run(seed, cut[i], "truncated", &count);
	}
	/* each of the first bytes, then anywhere */
	k = len < TRUNC_ALL ? len : TRUNC_ALL + 2 * NRANDOM;
	for (i = 0; i < k; i++) {
		at = i < TRUNC_ALL ? i : below(&st, len);
		memcpy(b, seed, len);
		b[at] ^= (uint8_t)(1u << below(&st, 8));
		run(b, len, "bit flipped", &count);
	}
	for (i = 0; i < NRANDOM && len > 0; i++) {
		memcpy(b, seed, len);
		b[below(&st, len)] = bytes[below(&st, sizeof(bytes))];
		run(b, len, "byte replaced", &count);
	}
	for (i = 0; i < NRANDOM; i++) {
		at = below(&st, len + 1);
		memcpy(b, seed, at);
		b[at] = i % 2 ? bytes[below(&st, sizeof(bytes))] :
		    (uint8_t)rnd(&st);
		memcpy(b + at + 1, seed + at, len - at);
		run(b, len + 1, "byte inserted", &count);
	}
	for (i = 0; i < NRANDOM && len > 0; i++) {
		at = below(&st, len);
		k = 1 + below(&st, 4);
		if (k > len - at)
			k = len - at;
		memcpy(b, seed, at);
		memcpy(b + at, seed + at + k, len - at - k);
		run(b, len - k, "bytes deleted", &count);
	}
	/* a length field claiming more, or less, than is there */
	for (i = 0; i < NRANDOM / 2 && len >= 4; i++) {
		uint32_t	v = lens[below(&st, sizeof(lens) / sizeof(lens[0]))];

		memcpy(b, seed, len);
		at = below(&st, len - 3);
		b[at] = v >> 24;
		b[at + 1] = v >> 16;
		b[at + 2] = v >> 8;
		b[at + 3] = v;
		run(b, len, "length smashed", &count);
	}
	free(b);
	return count;
}

static int
load(const char *path, uint8_t **p, size_t *n)
{
	FILE	*f;
	size_t	 r;

	*p = NULL;
	*n = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if ((*p = malloc(FILE_MAX)) == NULL)
		abort();
	r = fread(*p, 1, FILE_MAX, f);
	if (ferror(f) || !feof(f)) {
		errno = ferror(f) ? EIO : EFBIG;
		fclose(f);
		free(*p);
		*p = NULL;
		return -1;
	}
	fclose(f);
	*n = r;
	return 0;
}

static int	tests, failed;

static void
result(int ok, const char *name, size_t n, const char *what)
{
	printf("%sok %d - %s: %zu %s\n", ok ? "" : "not ", ++tests, name, n,
	    what);
	fflush(stdout);
	if (!ok)
		failed++;
}

/* name: what the TAP line says; its last part seeds the mutations */
static void
one_file(const char *path, const char *name, int mutations)
{
	uint8_t	*p;
	size_t	 n, count = 0;

	if (load(path, &p, &n) != 0) {
		printf("# %s: %s\n", path, strerror(errno));
		result(0, name, 0, "inputs");
		return;
	}
	cur_name = path;
	if (mutations)
		count = mutate(strrchr(name, '/') ? strrchr(name, '/') + 1 :
		    name, p, n);
	else
		run(p, n, "as given", &count);
	cur_name = NULL;
	free(p);
	result(1, name, count, "inputs");
}

static int
is_seed(const struct dirent *d)
{
	return d->d_name[0] != '.' && strcmp(d->d_name, "README") != 0;
}

static void
one_dir(const char *dir)
{
	struct dirent	**ents;
	const char	 *base;
	char		 *path, *name;
	int		  i, n;

	/* sorted, so the output and the order of runs never vary */
	if ((n = scandir(dir, &ents, is_seed, alphasort)) < 0) {
		printf("# %s: %s\n", dir, strerror(errno));
		result(0, dir, 0, "seeds");
		return;
	}
	if (n == 0)
		result(0, dir, 0, "seeds: an empty corpus tests nothing");
	base = strrchr(dir, '/') != NULL && strrchr(dir, '/')[1] != '\0' ?
	    strrchr(dir, '/') + 1 : dir;
	for (i = 0; i < n; i++) {
		if (asprintf(&path, "%s/%s", dir, ents[i]->d_name) == -1 ||
		    asprintf(&name, "%s/%s", base, ents[i]->d_name) == -1)
			abort();
		one_file(path, name, 1);
		free(name);
		free(path);
		free(ents[i]);
	}
	free(ents);
}

/*
 * make check runs fuzz-NAME with no arguments: its corpus is
 * tests/fuzz/corpus/NAME under $abs_top_srcdir (set by the test harness),
 * else under the current directory.
 */
static int
corpus_of(const char *prog, char *dir, size_t dirsz)
{
	const char	*base, *top;
	int		 n;

	base = strrchr(prog, '/') != NULL ? strrchr(prog, '/') + 1 : prog;
	if (strncmp(base, "fuzz-", 5) != 0 || base[5] == '\0')
		return -1;
	if ((top = getenv("abs_top_srcdir")) == NULL || *top == '\0')
		top = ".";
	n = snprintf(dir, dirsz, "%s/tests/fuzz/corpus/%s", top, base + 5);
	return n < 0 || (size_t)n >= dirsz ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct stat	 st;
	char		 def[4096], *defargv[3] = { NULL, NULL, NULL };
	int		 i;

	if (argc < 2) {
		if (corpus_of(argv[0], def, sizeof(def)) != 0) {
			fprintf(stderr, "usage: %s [corpus-dir|file ...]\n"
			    "(without arguments: $abs_top_srcdir/tests/fuzz/"
			    "corpus/NAME for fuzz-NAME)\n", argv[0]);
			return 2;
		}
		defargv[0] = argv[0];
		defargv[1] = def;
		argc = 2;
		argv = defargv;
	}
	/* a sanitizer's own fault handlers report better than ours */
	if (__sanitizer_set_death_callback != NULL)
		__sanitizer_set_death_callback(report);
	else {
		signal(SIGSEGV, on_signal);
		signal(SIGBUS, on_signal);
		signal(SIGFPE, on_signal);
	}
	signal(SIGABRT, on_signal);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			one_dir(argv[i]);
		else
			one_file(argv[i], argv[i], 0);
	}
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
