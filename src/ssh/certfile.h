/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Certificate files: OpenSSH public key lines ("TYPE BASE64 [comment]",
 * as ssh-keygen -s writes them to *-cert.pub) in one file, or in every
 * file of a directory.  What the agent serves from its certs directory
 * and --cert, and what `tokenkeys list --certs` prints.
 *
 * A file or directory owned by another user, or writable by its group or
 * by others, is refused: whoever may write it could make the agent offer
 * a certificate of their choosing.
 */
#ifndef TK_CERTFILE_H
#define TK_CERTFILE_H

#include <stddef.h>
#include <stdint.h>

#include "ssh/sshcert.h"

#define TK_CERTFILE_MAX		(256 * 1024)	/* bytes of one file */
#define TK_CERTFILE_MAX_FILES	256		/* files read in a directory */

/* One certificate found (parsed, CA signature checked). */
typedef void	tk_certfile_fn(void *arg, const char *path,
		    const struct tk_sshcert *);
/* One thing refused, why in words (path and line are in it). */
typedef void	tk_certfile_log_fn(void *arg, const char *msg);

/*
 * Read the certificates in path (a file, or a directory's files, names
 * starting with "." skipped).  Lines that are not certificates, or are
 * of a type we do not serve, or whose CA signature fails, are logged and
 * skipped.  0, TK_ERR_NOT_FOUND (path does not exist), TK_ERR_DENIED
 * (path itself refused: logged).
 */
int	tk_certfile_read(const char *path, tk_certfile_fn *,
	    tk_certfile_log_fn *, void *arg);

/*
 * The default certs directory: $XDG_CONFIG_HOME/tokenkeys/certs, else
 * $HOME/.config/tokenkeys/certs.  TK_ERR_NOT_FOUND if there is no home.
 */
int	tk_certfile_default_dir(char *buf, size_t bufsz);

#endif /* TK_CERTFILE_H */
