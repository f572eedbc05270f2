/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tokenkeys command: one file per subcommand, each with a *_main().
 */
#ifndef TK_CLI_H
#define TK_CLI_H

#include <stdio.h>

#include "tokenkeys.h"

#define EXIT_USAGE	2

int	list_main(int, char **);
int	tokens_main(int, char **);
int	agent_main(int, char **);
int	keygen_main(int, char **);
int	delete_main(int, char **);
int	passwd_main(int, char **);
int	unblock_main(int, char **);
int	helper_main(int, char **);
int	doctor_main(int, char **);
int	ssh_config_main(int, char **);
int	git_signing_main(int, char **);

/* "tokenkeys: " + message on stderr. */
void	cli_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One line for a getopt failure; returns EXIT_USAGE. */
int	cli_bad_option(const char *cmd, int ch, const char *arg);
/*
 * Library diagnostics to stderr; what modules wrote to stderr themselves
 * (caught with TK_CTX_CAPTURE_STDERR) only after cli_set_verbose(1).
 */
void	cli_log(void *, int, const char *);
void	cli_set_verbose(int);
/* A library PIN callback that prompts the user (askpass, terminal). */
int	cli_pin(void *, const char *, int, char *, size_t, size_t *);
/*
 * Ask for one PIN of passwd or unblock: what ("Current PIN"), the token's
 * name, tries_left as for cli_pin, the token's length range (0: none).
 * As tk_prompt_pin().
 */
int	cli_pin_what(const char *what, const char *name, int tries_left,
	    size_t min, size_t max, char *pin, size_t pinsz, size_t *len);
/*
 * A new PIN, typed twice: as cli_pin_what(), and TK_ERR_INVAL when the
 * two differ.
 */
int	cli_new_pin(const char *what, const char *name, size_t min,
	    size_t max, char *pin, size_t pinsz, size_t *len);
struct tk_p11_token;
/*
 * Load module (if set) and find the one token uri selects: 0, or the
 * exit status after saying why.
 */
int	cli_one_token(struct tk_ctx *, const char *module, const char *uri,
	    struct tk_p11_token *);
/* The line for a new or old PIN that was not given (cli_new_pin()). */
void	cli_pin_failed(const char *name, int err, size_t min, size_t max,
	    const char *what);
/* Report a URI the library refused; returns the exit status to use. */
int	cli_uri_error(const char *uri, int err);

struct tk_buf;
/*
 * cli-dest.c: agent --dest DEST (ssh-add -h syntax), host keys from the
 * known_hosts files khfiles (none: ssh-add's defaults), appended to out
 * as the body of a restrict-destination-v00@openssh.com constraint.  0,
 * or an exit status after saying why.
 */
int	cli_dest_encode(char *const *dests, size_t ndests,
	    char *const *khfiles, size_t nkh, struct tk_buf *out);
/*
 * A context logging to stderr that keeps modules' own stderr for -v;
 * by_path: the user named a module with --module, so p11-kit's registry
 * is not loaded.  0, or 1 after saying why.
 */
int	cli_ctx_new(struct tk_ctx **, int by_path);
/* --format text|json: *json set, 0; or EXIT_USAGE after saying why. */
int	cli_format(const char *arg, int *json);
/* Flush stdout: 0, or 1 after saying that the output is incomplete. */
int	cli_flush_stdout(void);

/*
 * Append the pkcs11: URIs of a file (one a line, '#' comments) to *uris
 * (*n of them, each allocated; free with cli_urifile_free() on every
 * path).  The file must be ours or root's and writable by its owner only.
 * 0, or the exit status after saying why.
 */
int	cli_urifile_read(const char *path, char ***uris, size_t *n);
void	cli_urifile_free(char **uris, size_t n);

/* "TYPE BASE64[ COMMENT]" for k, allocated in *line. */
int	cli_key_line(const struct tk_key *, const char *comment, char **line);
/* k as one JSON object of list --format json ("," first unless first). */
int	cli_key_json(const struct tk_key *, int fpalg, const char *comment,
	    int first);
/* ...without its closing brace, for list --certs to add to it. */
int	cli_key_json_open(const struct tk_key *, int fpalg,
	    const char *comment, int first);

/* list --certs: the certificates of the certs directory and --cert. */
struct cli_certs;
/* Read them (refused files and lines said on stderr). */
int	cli_certs_load(char **paths, size_t n, struct cli_certs **);
void	cli_certs_free(struct cli_certs *);
/*
 * Print the certificates of k that are valid now: key lines with
 * comment, or with fingerprint set ssh-keygen -l lines and key ID,
 * serial and validity.
 */
int	cli_certs_print(const struct cli_certs *, const struct tk_key *k,
	    const char *comment, int fingerprint, int fpalg);
/*
 * The same certificates as the JSON member `, "certificates": [...]` of
 * k's object: type, fingerprint, key ID, serial, principals, validity
 * (RFC 3339 UTC, valid_before "forever" when unbounded), uri (the key's)
 * and the line.
 */
int	cli_certs_json(const struct cli_certs *, const struct tk_key *k,
	    const char *comment, int fpalg);

/* JSON string (quoted, escaped; token strings sanitised first). */
void	json_string(FILE *, const char *);
void	json_hex(FILE *, const uint8_t *, size_t);
/* `, "name": ` and value as json_string() writes it. */
void	json_field(FILE *, const char *name, const char *value);

#endif /* TK_CLI_H */
