/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: versions of the control file.  Each version is parsed once
 * per process and shared, reference counted, by the calls that use it.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultmod.h"

struct ctl	 g_empty;	/* never freed: no control file */
/* Guarded by g_mtx. */
static struct ctl	*g_ctl;

static void
ctl_free(struct ctl *ctl)
{
	if (ctl == NULL || ctl == &g_empty)
		return;
	explicit_bzero(ctl, sizeof(*ctl));
	free(ctl);
}

/* Drops a reference taken by ctl_current(). */
void
ctl_put(struct ctl *ctl)
{
	int last = 0;

	if (ctl == NULL || ctl == &g_empty)
		return;
	pthread_mutex_lock(&g_mtx);
	last = --ctl->refs == 0;
	pthread_mutex_unlock(&g_mtx);
	if (last)
		ctl_free(ctl);
}

/* Reads and parses the control file; NULL only when out of memory. */
static struct ctl *
ctl_load(const char *stamp)
{
	struct ctl *ctl = NULL;
	char *buf = NULL, *line, *nl;
	ssize_t n;
	size_t len = 0;
	unsigned long lineno = 0;
	const char *err;
	int fd = -1;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL ||
	    (buf = malloc(MAX_CTL_SIZE + 1)) == NULL) {
		free(ctl);
		ctl = NULL;
		goto out;
	}
	snprintf(ctl->stamp, sizeof(ctl->stamp), "%s", stamp);
	/* A missing control file is an empty one. */
	if ((fd = open(g_ctl_path, O_RDONLY | O_CLOEXEC)) == -1)
		goto out;
	while (len < MAX_CTL_SIZE &&
	    (n = read(fd, buf + len, MAX_CTL_SIZE - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		len += (size_t)n;
	}
	if (len == MAX_CTL_SIZE)
		warnmsg(g_ctl_path, 0, "control file truncated");
	buf[len] = '\0';
	for (line = buf; line != NULL && *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if ((err = ctl_line(ctl, line)) != NULL)
			warnmsg(g_ctl_path, lineno, err);
	}
 out:
	if (fd != -1)
		close(fd);
	if (buf != NULL) {
		explicit_bzero(buf, MAX_CTL_SIZE + 1);
		free(buf);
	}
	return ctl;
}

/*
 * Returns a referenced parse of the control file as it is now.  Callers
 * that need one order across processes call it under the state lock.
 */
struct ctl *
ctl_current(void)
{
	struct ctl *ctl = NULL, *fresh, *old;
	struct stat sb;
	char stamp[STAMP_LEN];

	if (g_ctl_path == NULL) {
		ctl = &g_empty;
		goto out;
	}
	if (stat(g_ctl_path, &sb) == -1)
		snprintf(stamp, sizeof(stamp), "none");
	else
		snprintf(stamp, sizeof(stamp), "%ju:%ju:%jd:%jd.%09ld",
		    (uintmax_t)sb.st_dev, (uintmax_t)sb.st_ino,
		    (intmax_t)sb.st_size, (intmax_t)sb.st_mtim.tv_sec,
		    (long)sb.st_mtim.tv_nsec);
	pthread_mutex_lock(&g_mtx);
	if (g_ctl != NULL && strcmp(g_ctl->stamp, stamp) == 0) {
		ctl = g_ctl;
		ctl->refs++;
	}
	pthread_mutex_unlock(&g_mtx);
	if (ctl != NULL)
		goto out;
	/* Parse outside the lock; a racing thread's parse is as good. */
	if ((fresh = ctl_load(stamp)) == NULL) {
		ctl = &g_empty;
		goto out;
	}
	pthread_mutex_lock(&g_mtx);
	old = g_ctl;
	g_ctl = fresh;
	fresh->refs = 2;	/* g_ctl's and the caller's */
	pthread_mutex_unlock(&g_mtx);
	ctl_put(old);
	ctl = fresh;
 out:
	return ctl;
}
