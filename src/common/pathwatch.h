/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Being told when paths may have changed (inotify), so that a sleeping
 * thread need not look at them now and then: p11-kit's configuration,
 * the certificate files.  What counts as a change is what tk_path_sig
 * (pathsig.h) sees: the path itself and, for a directory, its entries
 * not starting with a dot.  The watcher only says "look again"; the
 * caller's signatures decide whether anything changed.
 */
#ifndef TK_PATHWATCH_H
#define TK_PATHWATCH_H

struct tk_pathwatch;

/* An empty watcher; TK_ERR_SYSTEM (errno) without inotify. */
int	tk_pathwatch_new(struct tk_pathwatch **);
/*
 * Follow path (absolute; links followed, as stat does).  A path that
 * does not exist yet is followed through its nearest existing ancestor.
 * Watches are placed by tk_pathwatch_arm.  TK_ERR_INVAL: not absolute.
 */
int	tk_pathwatch_add(struct tk_pathwatch *, const char *path);
/*
 * Place the watches for every path added (again: paths that appeared or
 * went are then watched where they are now).  TK_ERR_SYSTEM (errno):
 * a watch could not be had (the per-user limit, no permission); the
 * watcher is then not to be relied on.
 */
int	tk_pathwatch_arm(struct tk_pathwatch *);
/* Readable when tk_pathwatch_read has something to read. */
int	tk_pathwatch_fd(const struct tk_pathwatch *);
/*
 * Read what is pending without blocking: 1 when a followed path may have
 * changed (the watches re-armed where things appeared or went), 0 when
 * nothing that concerns them happened, TK_ERR_SYSTEM when re-arming
 * failed (as tk_pathwatch_arm).  Events that happen while the caller
 * then looks are read next time: none is lost between a read and a look.
 */
int	tk_pathwatch_read(struct tk_pathwatch *);
void	tk_pathwatch_free(struct tk_pathwatch *);

#endif /* TK_PATHWATCH_H */
