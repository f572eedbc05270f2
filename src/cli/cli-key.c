/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One key as tokenkeys prints it: the authorized_keys line and the JSON
 * object, shared by list and keygen so that both print the same.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

/* The authorized_keys line for k with comment c, allocated in *line. */
int
cli_key_line(const struct tk_key *k, const char *c, char **line)
{
	const uint8_t	*blob;
	char		*b64 = NULL;
	size_t		 len, b64sz;
	int		 r;

	*line = NULL;
	blob = tk_key_blob(k, &len);
	b64sz = len / 3 * 4 + 8;
	if ((b64 = malloc(b64sz)) == NULL) {
		r = TK_ERR_NOMEM;
		goto out;
	}
	if ((r = tk_blob_base64(blob, len, b64, b64sz)) != 0)
		goto out;
	if (asprintf(line, "%s %s%s%s", tk_key_type_name(k), b64,
	    *c != '\0' ? " " : "", c) == -1) {
		*line = NULL;
		r = TK_ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	free(b64);
	return r;
}

int
cli_key_json(const struct tk_key *k, int fpalg, const char *comment,
    int first)
{
	int	r;

	if ((r = cli_key_json_open(k, fpalg, comment, first)) == 0)
		printf("}");
	return r;
}

int
cli_key_json_open(const struct tk_key *k, int fpalg, const char *comment,
    int first)
{
	const uint8_t	*id;
	char		*line = NULL, fp[128];
	size_t		 idlen;
	int		 r;

	if ((r = tk_key_fingerprint(k, fpalg, fp, sizeof(fp))) != 0)
		goto out;
	if ((r = cli_key_line(k, comment, &line)) != 0)
		goto out;
	id = tk_key_id(k, &idlen);
	printf("%s\n  {\"type\": \"%s\", \"bits\": %u",
	    first ? "" : ",", tk_key_type_name(k), tk_key_bits(k));
	json_field(stdout, "fingerprint", fp);
	json_field(stdout, "label", tk_key_label(k));
	printf(", \"id\": ");
	json_hex(stdout, id, idlen);
	json_field(stdout, "uri", tk_key_uri(k));
	printf(", \"token\": {\"label\": ");
	json_string(stdout, tk_key_token_label(k));
	json_field(stdout, "serial", tk_key_token_serial(k));
	json_field(stdout, "manufacturer", tk_key_token_manufacturer(k));
	json_field(stdout, "model", tk_key_token_model(k));
	printf("}");
	json_field(stdout, "module", tk_key_module_path(k));
	json_field(stdout, "line", line);
 out:
	free(line);
	return r;
}
