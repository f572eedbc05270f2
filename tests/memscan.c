/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * memscan: search a process's memory for a string.
 *
 *	memscan PID STRING
 *
 * Reads every readable mapping listed in /proc/PID/maps through
 * /proc/PID/mem (which needs ptrace access: root, or the same uid on a
 * dumpable process) and prints one line per occurrence:
 *
 *	hit ADDRESS PERMS OFFSET-IN-MAPPING NAME
 *
 * NAME is the mapping's path, [heap], [stack] or "anon".  Mappings over
 * 4 GiB are skipped (and named on stderr).  Exit 0 when the
 * string is nowhere, 1 when it was found, 2 when the memory cannot be read
 * at all (process gone, or access refused: the message says which).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK	(1024 * 1024)
/*
 * Larger mappings are reservations, not data: AddressSanitizer's shadow
 * (terabytes of untouched zero pages) would take hours to read.  They are
 * named on stderr, not scanned.
 */
#define MAX_REGION	(4ULL << 30)

static int
scan_region(int fd, uint64_t lo, uint64_t hi, const char *perms,
    const char *name, const char *needle, size_t nlen, char *buf,
    unsigned long *hits)
{
	uint64_t	 pos = lo, base;
	size_t		 keep = 0, want, i;
	ssize_t		 n;
	char		*p;

	while (pos < hi) {
		want = CHUNK;
		if (hi - pos < want)
			want = (size_t)(hi - pos);
		n = pread(fd, buf + keep, want, (off_t)pos);
		if (n <= 0)
			return n == 0 || errno == EIO ? 0 : -1;
		base = pos - keep;
		want = keep + (size_t)n;
		for (i = 0; i + nlen <= want; i = (size_t)(p - buf) + 1) {
			p = memmem(buf + i, want - i, needle, nlen);
			if (p == NULL)
				break;
			printf("hit 0x%" PRIx64 " %s +0x%" PRIx64 " %s\n",
			    base + (uint64_t)(p - buf), perms,
			    base + (uint64_t)(p - buf) - lo, name);
			(*hits)++;
		}
		/* an occurrence may straddle two chunks */
		keep = want < nlen - 1 ? want : nlen - 1;
		memmove(buf, buf + want - keep, keep);
		pos += (uint64_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char		 path[64], line[4096], perms[8], name[4096];
	char		*buf = NULL;
	FILE		*maps = NULL;
	uint64_t	 lo, hi;
	unsigned long	 hits = 0;
	size_t		 nlen;
	int		 fd = -1, rc = 2, k;

	if (argc != 3 || argv[2][0] == '\0') {
		fprintf(stderr, "usage: memscan PID STRING\n");
		return 2;
	}
	nlen = strlen(argv[2]);
	if ((buf = malloc(CHUNK + nlen)) == NULL)
		goto out;
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	if ((maps = fopen(path, "r")) == NULL) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	if ((fd = open(path, O_RDONLY)) == -1) {
		fprintf(stderr, "memscan: %s: %s\n", path, strerror(errno));
		goto out;
	}
	while (fgets(line, sizeof(line), maps) != NULL) {
		name[0] = '\0';
		k = sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s "
		    "%4095[^\n]", &lo, &hi, perms, name);
		if (k < 3 || perms[0] != 'r' || strcmp(name, "[vvar]") == 0 ||
		    strcmp(name, "[vsyscall]") == 0)
			continue;
		if (hi - lo > MAX_REGION) {
			fprintf(stderr, "memscan: skipped %" PRIx64 "-%" PRIx64
			    " (%" PRIu64 " MiB reserved)\n", lo, hi,
			    (hi - lo) >> 20);
			continue;
		}
		if (scan_region(fd, lo, hi, perms, name[0] != '\0' ? name :
		    "anon", argv[2], nlen, buf, &hits) != 0) {
			fprintf(stderr, "memscan: reading %s at 0x%" PRIx64
			    ": %s\n", path, lo, strerror(errno));
			goto out;
		}
	}
	rc = hits > 0 ? 1 : 0;
 out:
	if (fd != -1)
		close(fd);
	if (maps != NULL)
		fclose(maps);
	free(buf);
	return rc;
}
