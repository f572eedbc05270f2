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
int	helper_main(int, char **);

/* "tokenkeys: " + message on stderr. */
void	cli_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One line for a getopt failure; returns EXIT_USAGE. */
int	cli_bad_option(const char *cmd, int ch, const char *arg);
/* Library diagnostics to stderr. */
void	cli_log(void *, int, const char *);
/* A library PIN callback that prompts the user (askpass, terminal). */
int	cli_pin(void *, const char *, int, char *, size_t, size_t *);
/* Report a URI the library refused; returns the exit status to use. */
int	cli_uri_error(const char *uri, int err);

/* JSON string (quoted, escaped; token strings sanitised first). */
void	json_string(FILE *, const char *);
void	json_hex(FILE *, const uint8_t *, size_t);

#endif /* TK_CLI_H */
