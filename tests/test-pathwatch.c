/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * src/common/pathwatch.c: what wakes the agent for its files.  A
 * followed directory made a level at a time after the watch began, files
 * written, changed and removed in it, the directory removed and made
 * again; and what must not wake it: entries beside the way to a followed
 * path, dot files (editors' temporary files).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/pathwatch.h"
#include "tap.h"

static char	top[256];

static const char *
at(const char *rel)
{
	static char	p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/%s", top, rel) >= (int)sizeof(p))
		p[0] = '\0';
	return p;
}

static void
put(const char *rel)
{
	int	fd;

	if ((fd = open(at(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1)
		return;
	if (write(fd, "x\n", 2) != 2)
		printf("# writing %s failed\n", rel);
	close(fd);
}

int
main(void)
{
	struct tk_pathwatch	*pw;
	const char		*tmp = getenv("TMPDIR");
	char			 cmd[PATH_MAX + 16];

	if (snprintf(top, sizeof(top), "%s/tk-pathwatch.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp") >= (int)sizeof(top) ||
	    mkdtemp(top) == NULL) {
		printf("Bail out! mkdtemp failed\n");
		return 1;
	}
	if (tk_pathwatch_new(&pw) != 0) {
		printf("1..0 # SKIP no inotify here\n");
		rmdir(top);
		return 0;
	}
	is_int(tk_pathwatch_add(pw, "relative/path"), TK_ERR_INVAL,
	    "a relative path is refused");
	is_int(tk_pathwatch_add(pw, at("a/b/certs/")), 0,
	    "a directory that does not exist yet is followed");
	is_int(tk_pathwatch_add(pw, at("one.pub")), 0, "...and a file");
	is_int(tk_pathwatch_arm(pw), 0, "the watches are placed");
	is_int(tk_pathwatch_read(pw), 0, "nothing happened: nothing to say");

	put("other");
	is_int(tk_pathwatch_read(pw), 0,
	    "a file beside the way to the followed paths: nothing");
	mkdir(at("a"), 0755);
	is_int(tk_pathwatch_read(pw), 1, "the first directory on the way made");
	mkdir(at("a/elsewhere"), 0755);
	is_int(tk_pathwatch_read(pw), 0, "...a directory beside it: nothing");
	mkdir(at("a/b"), 0755);
	mkdir(at("a/b/certs"), 0755);
	is_int(tk_pathwatch_read(pw), 1, "the rest of the way made");
	put("a/b/certs/id-cert.pub");
	is_int(tk_pathwatch_read(pw), 1,
	    "a file written in the directory made last");
	put("a/b/certs/.id-cert.pub.swp");
	is_int(tk_pathwatch_read(pw), 0, "...a dot file there: nothing");
	chmod(at("a/b/certs/id-cert.pub"), 0666);
	is_int(tk_pathwatch_read(pw), 1, "...its mode changed");
	put("a/b/beside");
	is_int(tk_pathwatch_read(pw), 0,
	    "a file beside the followed directory: nothing");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", at("a/b/certs"));
	if (system(cmd) != 0)
		printf("# %s failed\n", cmd);
	is_int(tk_pathwatch_read(pw), 1, "the followed directory removed");
	mkdir(at("a/b/certs"), 0755);
	is_int(tk_pathwatch_read(pw), 1, "...made again");
	put("a/b/certs/id-cert.pub");
	is_int(tk_pathwatch_read(pw), 1,
	    "...and a file written in the new one");

	put("one.pub");
	is_int(tk_pathwatch_read(pw), 1, "the followed file made");
	put("one.pub");
	is_int(tk_pathwatch_read(pw), 1, "...written again");
	snprintf(cmd, sizeof(cmd), "%s", at("other"));
	if (rename(cmd, at("one.pub")) != 0)
		printf("# rename failed\n");
	is_int(tk_pathwatch_read(pw), 1, "...replaced by a rename");
	put("one.pub");
	is_int(tk_pathwatch_read(pw), 1, "...and the new one written");

	tk_pathwatch_free(pw);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# %s failed\n", cmd);
	return tap_done();
}
