/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Following paths with inotify.  For each followed path P the watcher
 * keeps, in one inotify instance:
 *
 * - P itself when it exists (its attributes, writes closed, and for a
 *   directory the entries created, removed, renamed, written or changed
 *   in it), and P's parent for the name of P (P removed, renamed or
 *   replaced);
 * - else its nearest existing ancestor, for the name of the next
 *   component on the way to P (the way being made).
 *
 * When one of those names appears or goes, or a watched object goes, all
 * watches are placed again (tk_pathwatch_arm), so they move with the
 * path.  Watches of one inode are shared (inotify gives them one
 * descriptor), hence the table of names per descriptor.  Not seen: a
 * change further up (an ancestor above P's parent renamed), and changes
 * behind a symbolic link inside a followed directory; the caller's slow
 * safety look covers those.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tokenkeys.h"
#include "common/pathwatch.h"

/* On a followed path itself; on a directory above one (names only). */
#define PW_SELF		(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | \
			    IN_DELETE_SELF | IN_MOVE_SELF)
#define PW_ABOVE	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
/* Events after which the watches may be in the wrong places. */
#define PW_MOVES	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | \
			    IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | \
			    IN_IGNORED)

struct pw_watch {
	int	  wd;
	int	  self;		/* a followed path: all of it counts */
	char	**names;	/* entries on the way to a followed path */
	size_t	  nnames;
};

struct tk_pathwatch {
	int		 fd;
	char		**paths;
	size_t		 npaths;
	struct pw_watch	*w;
	size_t		 nw;
};

int
tk_pathwatch_new(struct tk_pathwatch **out)
{
	struct tk_pathwatch	*pw;
	int			 saved;

	*out = NULL;
	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		return TK_ERR_NOMEM;
	if ((pw->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		saved = errno;
		free(pw);
		errno = saved;
		return TK_ERR_SYSTEM;
	}
	*out = pw;
	return 0;
}

/* path without repeated or trailing slashes into out (PATH_MAX). */
static int
normalize(const char *path, char *out)
{
	size_t	i, n = 0;

	if (path[0] != '/')
		return TK_ERR_INVAL;
	for (i = 0; path[i] != '\0'; i++) {
		if (path[i] == '/' && n > 0 && out[n - 1] == '/')
			continue;
		if (n + 1 >= PATH_MAX)
			return TK_ERR_RANGE;
		out[n++] = path[i];
	}
	if (n > 1 && out[n - 1] == '/')
		n--;
	out[n] = '\0';
	return 0;
}

int
tk_pathwatch_add(struct tk_pathwatch *pw, const char *path)
{
	char	  norm[PATH_MAX], **nv;
	size_t	  i;
	int	  r;

	if ((r = normalize(path, norm)) != 0)
		return r;
	for (i = 0; i < pw->npaths; i++)
		if (strcmp(pw->paths[i], norm) == 0)
			return 0;
	if ((nv = reallocarray(pw->paths, pw->npaths + 1,
	    sizeof(*nv))) == NULL)
		return TK_ERR_NOMEM;
	pw->paths = nv;
	if ((pw->paths[pw->npaths] = strdup(norm)) == NULL)
		return TK_ERR_NOMEM;
	pw->npaths++;
	return 0;
}

int
tk_pathwatch_fd(const struct tk_pathwatch *pw)
{
	return pw->fd;
}

static struct pw_watch *
find(struct pw_watch *w, size_t n, int wd)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (w[i].wd == wd)
			return &w[i];
	return NULL;
}

static void
watch_clear(struct pw_watch *w)
{
	size_t	i;

	for (i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
	w->names = NULL;
	w->nnames = 0;
}

/*
 * Watch dir (mask added to what its inode is watched for already), for
 * all of it (name NULL) or for the entry name.  errno kept on
 * TK_ERR_SYSTEM.
 */
static int
watch(struct tk_pathwatch *pw, const char *dir, uint32_t mask,
    const char *name)
{
	struct pw_watch	*e, *nv;
	char		**names;
	size_t		 i;
	int		 wd;

	if ((wd = inotify_add_watch(pw->fd, dir, mask | IN_MASK_ADD)) == -1)
		return TK_ERR_SYSTEM;
	if ((e = find(pw->w, pw->nw, wd)) == NULL) {
		if ((nv = reallocarray(pw->w, pw->nw + 1,
		    sizeof(*nv))) == NULL)
			return TK_ERR_NOMEM;
		pw->w = nv;
		e = &pw->w[pw->nw++];
		memset(e, 0, sizeof(*e));
		e->wd = wd;
	}
	if (name == NULL) {
		e->self = 1;
		return 0;
	}
	for (i = 0; i < e->nnames; i++)
		if (strcmp(e->names[i], name) == 0)
			return 0;
	if ((names = reallocarray(e->names, e->nnames + 1,
	    sizeof(*names))) == NULL)
		return TK_ERR_NOMEM;
	e->names = names;
	if ((e->names[e->nnames] = strdup(name)) == NULL)
		return TK_ERR_NOMEM;
	e->nnames++;
	return 0;
}

/* Cut path's last component into name (NAME_MAX + 1); 0 at "/". */
static int
up(char *path, char *name)
{
	char	*s;

	if ((s = strrchr(path, '/')) == NULL || strcmp(path, "/") == 0)
		return 0;
	if (strlen(s + 1) > NAME_MAX)
		return 0;
	memcpy(name, s + 1, strlen(s + 1) + 1);
	if (s == path)
		s[1] = '\0';
	else
		*s = '\0';
	return 1;
}

static int
arm_one(struct tk_pathwatch *pw, const char *path)
{
	char	cur[PATH_MAX], name[NAME_MAX + 1];
	int	r, self = 1;

	/* path came through normalize: it fits */
	memcpy(cur, path, strlen(path) + 1);
	/* the nearest of path and its ancestors that exists */
	while ((r = watch(pw, cur, self ? PW_SELF : PW_ABOVE,
	    self ? NULL : name)) == TK_ERR_SYSTEM &&
	    (errno == ENOENT || errno == ENOTDIR)) {
		if (!up(cur, name))
			return TK_ERR_SYSTEM;
		self = 0;
	}
	if (r != 0 || !self || !up(cur, name))
		return r;
	/* path exists: its parent, for path going or being replaced */
	r = watch(pw, cur, PW_ABOVE, name);
	if (r == TK_ERR_SYSTEM && (errno == ENOENT || errno == ENOTDIR))
		r = 0;	/* gone meanwhile: path's own watch says so */
	return r;
}

int
tk_pathwatch_arm(struct tk_pathwatch *pw)
{
	struct pw_watch	*old = pw->w;
	size_t		 nold = pw->nw, i;
	int		 r = 0, saved;

	pw->w = NULL;
	pw->nw = 0;
	for (i = 0; i < pw->npaths && r == 0; i++)
		r = arm_one(pw, pw->paths[i]);
	saved = errno;
	/* watches kept have the same descriptor: none is dropped a moment */
	for (i = 0; i < nold; i++) {
		if (find(pw->w, pw->nw, old[i].wd) == NULL)
			(void)inotify_rm_watch(pw->fd, old[i].wd);
		watch_clear(&old[i]);
	}
	free(old);
	errno = saved;
	return r;
}

/* What ev means: *changed, and *rearm if watches must move. */
static void
classify(struct tk_pathwatch *pw, const struct inotify_event *ev,
    size_t namelen, int *changed, int *rearm)
{
	struct pw_watch	*e;
	size_t		 i;

	if (ev->mask & IN_Q_OVERFLOW) {
		*changed = *rearm = 1;
		return;
	}
	/* descriptors removed by the last arm are not in the table */
	if ((e = find(pw->w, pw->nw, ev->wd)) == NULL)
		return;
	if (namelen == 0) {
		/* the watched object itself */
		if (ev->mask & PW_MOVES)
			*changed = *rearm = 1;
		else if (e->self)
			*changed = 1;
		return;
	}
	for (i = 0; i < e->nnames; i++) {
		if (strlen(e->names[i]) == namelen &&
		    memcmp(e->names[i], ev->name, namelen) == 0) {
			*changed = 1;
			if (ev->mask & PW_MOVES)
				*rearm = 1;
			return;
		}
	}
	/* tk_path_sig leaves out dot entries (editors' temporary files) */
	if (e->self && ev->name[0] != '.')
		*changed = 1;
}

int
tk_pathwatch_read(struct tk_pathwatch *pw)
{
	alignas(struct inotify_event) char buf[4096 + NAME_MAX + 1];
	const struct inotify_event *ev;
	size_t		 off, len;
	ssize_t		 n;
	int		 changed = 0, rearm = 0, r;

	for (;;) {
		n = read(pw->fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EAGAIN: all read */
		for (off = 0; (size_t)n - off >= sizeof(*ev);
		    off += sizeof(*ev) + len) {
			ev = (const struct inotify_event *)(buf + off);
			len = ev->len;
			if (len > (size_t)n - off - sizeof(*ev))
				break;
			classify(pw, ev, strnlen(ev->name, len), &changed,
			    &rearm);
		}
	}
	if (rearm && (r = tk_pathwatch_arm(pw)) != 0)
		return r;
	return changed;
}

void
tk_pathwatch_free(struct tk_pathwatch *pw)
{
	size_t	i;

	if (pw == NULL)
		return;
	for (i = 0; i < pw->nw; i++)
		watch_clear(&pw->w[i]);
	free(pw->w);
	for (i = 0; i < pw->npaths; i++)
		free(pw->paths[i]);
	free(pw->paths);
	close(pw->fd);
	free(pw);
}
