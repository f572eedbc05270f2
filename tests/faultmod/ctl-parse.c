/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * faultmod: control file syntax (fields, quoting, escapes) and what
 * each directive does to a parsed control (see faultmod.h).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "faultmod.h"

static int
hexval(int ch)
{
	int v = -1;

	if (ch >= '0' && ch <= '9')
		v = ch - '0';
	else if (ch >= 'a' && ch <= 'f')
		v = ch - 'a' + 10;
	else if (ch >= 'A' && ch <= 'F')
		v = ch - 'A' + 10;
	return v;
}

/*
 * Takes the next field from *pp into out (NUL terminated; *outlen excludes
 * the NUL and counts embedded NULs from \x00).  Returns 1 for a field, 0 at
 * the end of the line, -1 for a malformed one.
 */
static int
next_field(const char **pp, unsigned char *out, size_t outsz, size_t *outlen)
{
	const char *p = *pp;
	size_t n = 0;
	int quoted = 0, ch, hi, lo, r = -1;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0') {
		r = 0;
		goto out;
	}
	if (*p == '"') {
		quoted = 1;
		p++;
	}
	for (;;) {
		ch = (unsigned char)*p;
		if (ch == '\0') {
			if (quoted)
				goto out;
			break;
		}
		if (quoted && ch == '"') {
			p++;
			break;
		}
		if (!quoted && (ch == ' ' || ch == '\t' || ch == '\r'))
			break;
		p++;
		if (ch == '\\') {
			switch (*p++) {
			case '\\':
				ch = '\\';
				break;
			case '"':
				ch = '"';
				break;
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case 'r':
				ch = '\r';
				break;
			case 'e':
				ch = 0x1b;
				break;
			case 'x':
				if ((hi = hexval((unsigned char)*p)) == -1)
					goto out;
				p++;
				if ((lo = hexval((unsigned char)*p)) == -1)
					ch = hi;
				else {
					ch = hi * 16 + lo;
					p++;
				}
				break;
			default:
				goto out;
			}
		}
		if (n + 1 >= outsz)
			goto out;
		out[n++] = (unsigned char)ch;
	}
	out[n] = '\0';
	*outlen = n;
	r = 1;
 out:
	*pp = p;
	return r;
}

/* Applies one line; returns NULL or what is wrong with it. */
const char *
ctl_line(struct ctl *ctl, const char *line)
{
	unsigned char f[MAX_FIELDS + 1][MAX_STR];
	size_t len[MAX_FIELDS + 1];
	const char *p = line, *err = NULL;
	const char *k, *a1, *a2;
	struct attr_rule *ar;
	struct fail_rule *fr;
	size_t nf = 0;
	int r = 0, fn = -1;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#')
		goto out;
	while (nf <= MAX_FIELDS &&
	    (r = next_field(&p, f[nf], sizeof(f[nf]), &len[nf])) == 1)
		nf++;
	if (nf > MAX_FIELDS) {
		err = "too many fields";
		goto out;
	}
	if (r == -1) {
		err = "bad quoting, escape or overlong field";
		goto out;
	}
	if (nf == 0)
		goto out;
	k = (const char *)f[0];
	a1 = (const char *)f[1];
	a2 = (const char *)f[2];
	if (nf >= 2 && strncmp(a1, "C_", 2) == 0)
		fn = lookup_fn(a1);

	if (strcmp(k, "absent") == 0 && nf == 1)
		ctl->absent = 1;
	else if (strcmp(k, "absent") == 0 && nf == 2 &&
	    strcmp(a1, "stale") == 0) {
		ctl->absent = 1;
		ctl->stale = 1;
	} else if (strcmp(k, "card") == 0 && nf == 2)
		ctl->card = hash_bytes(f[1], len[1]);
	else if (strcmp(k, "fail") == 0 && (nf == 3 || nf == 4)) {
		if (fn == -1) {
			err = "unknown function";
			goto out;
		}
		if (ctl->nfail == MAX_FAIL) {
			err = "too many fail lines";
			goto out;
		}
		fr = &ctl->fails[ctl->nfail];
		fr->fn = fn;
		fr->count = 1;
		if (lookup_rv(a2, &fr->rv) == -1) {
			err = "unknown CKR value";
			goto out;
		}
		if (nf == 4 && strcmp((const char *)f[3], "always") == 0)
			fr->count = -1;
		else if (nf == 4 &&
		    strcmp((const char *)f[3], "until_init") == 0)
			fr->count = FAIL_UNTIL_INIT;
		else if (nf == 4 &&
		    parse_count((const char *)f[3], &fr->count) == -1) {
			err = "bad count";
			goto out;
		}
		ctl->nfail++;
	} else if (strcmp(k, "delay") == 0 && nf == 3) {
		if (fn == -1 || parse_count(a2, &ctl->delay_ms[fn]) == -1) {
			err = "expected delay C_Function MILLISECONDS";
			goto out;
		}
	} else if ((strcmp(k, "hang") == 0 || strcmp(k, "crash") == 0) &&
	    nf == 2) {
		if (fn == -1) {
			err = "unknown function";
			goto out;
		}
		if (k[0] == 'h')
			ctl->hang[fn] = 1;
		else
			ctl->crash[fn] = 1;
	} else if (strcmp(k, "pin_tries") == 0 && nf == 2) {
		if (parse_count(a1, &ctl->pin_tries) == -1 ||
		    ctl->pin_tries == 0) {
			ctl->pin_tries = 0;
			err = "expected pin_tries N, N > 0";
			goto out;
		}
	} else if (strcmp(k, "chatter") == 0 && nf == 2) {
		if (parse_count(a1, &ctl->chatter) == -1 ||
		    ctl->chatter > 10000) {
			ctl->chatter = 0;
			err = "expected chatter N, N <= 10000";
			goto out;
		}
	} else if (strcmp(k, "pin_reset") == 0 && nf == 1)
		ctl->pin_reset = 1;
	else if (strcmp(k, "count_reset") == 0 && nf == 1)
		ctl->count_reset = 1;
	else if (strcmp(k, "login_error") == 0 && nf == 2) {
		if (lookup_rv(a1, &ctl->login_error) == -1) {
			err = "unknown CKR value";
			goto out;
		}
		ctl->has_login_error = 1;
	} else if (strcmp(k, "pin") == 0 && nf == 2) {
		memcpy(ctl->pin, f[1], len[1]);
		ctl->pinlen = len[1];
		ctl->has_pin = 1;
	} else if (strcmp(k, "serial") == 0 && nf == 2) {
		if (len[1] == 0 || len[1] > sizeof(ctl->serial)) {
			err = "expected serial VALUE, 1 to 16 bytes";
			goto out;
		}
		memset(ctl->serial, ' ', sizeof(ctl->serial));
		memcpy(ctl->serial, f[1], len[1]);
		ctl->has_serial = 1;
	} else if (strcmp(k, "token_label") == 0 && nf == 2) {
		if (len[1] == 0 || len[1] > sizeof(ctl->tlabel)) {
			err = "expected token_label VALUE, 1 to 32 bytes";
			goto out;
		}
		memset(ctl->tlabel, ' ', sizeof(ctl->tlabel));
		memcpy(ctl->tlabel, f[1], len[1]);
		ctl->has_tlabel = 1;
	} else if (strcmp(k, "always_auth") == 0 && nf == 1)
		ctl->always_auth = 1;
	else if (strcmp(k, "corrupt_sig") == 0 && nf == 1)
		ctl->corrupt_sig = 1;
	else if (strcmp(k, "protected_auth") == 0 && nf == 1)
		ctl->protected_auth = 1;
	else if (strcmp(k, "read_only") == 0 && nf == 1)
		ctl->read_only = 1;
	else if (strcmp(k, "setpin_logout") == 0 && nf == 1)
		ctl->setpin_logout = 1;
	else if (strcmp(k, "so_keygen") == 0 && nf == 1)
		ctl->so_keygen = 1;
	else if (strcmp(k, "so_pin") == 0 && nf == 2) {
		memcpy(ctl->so_pin, f[1], len[1]);
		ctl->so_pinlen = len[1];
		ctl->has_so_pin = 1;
	} else if (strcmp(k, "pad_new") == 0 && nf == 2) {
		memcpy(ctl->pad_new, f[1], len[1]);
		ctl->pad_newlen = len[1];
		ctl->has_pad_new = 1;
	}
	else if (strcmp(k, "no_mech") == 0 && nf == 2) {
		if (ctl->nnomech == MAX_NOMECH) {
			err = "too many no_mech lines";
			goto out;
		}
		char *end;

		errno = 0;
		ctl->nomech[ctl->nnomech] = strtoul(a1, &end, 0);
		if (errno != 0 || *a1 == '\0' || *end != '\0') {
			err = "expected no_mech NUMBER";
			goto out;
		}
		ctl->nnomech++;
	}
	else if (strcmp(k, "attr") == 0 && nf == 4) {
		if (ctl->nattr == MAX_ATTR) {
			err = "too many attr lines";
			goto out;
		}
		ar = &ctl->attrs[ctl->nattr];
		memcpy(ar->label, f[1], len[1]);
		ar->labellen = len[1];
		if (strcmp(a2, "label") == 0) {
			ar->kind = A_LABEL;
			ar->type = CKA_LABEL;
			memcpy(ar->value, f[3], len[3]);
			ar->valuelen = len[3];
		} else {
			if (strcmp(a2, "empty") == 0)
				ar->kind = A_EMPTY;
			else if (strcmp(a2, "huge") == 0)
				ar->kind = A_HUGE;
			else if (strcmp(a2, "unavailable") == 0)
				ar->kind = A_UNAVAILABLE;
			else if (strcmp(a2, "baddata") == 0)
				ar->kind = A_BADDATA;
			else {
				err = "unknown attr mutation";
				goto out;
			}
			if (lookup_attr((const char *)f[3], &ar->type) == -1) {
				err = "unknown attribute";
				goto out;
			}
		}
		ctl->nattr++;
	} else
		err = "unknown directive or wrong number of fields";
 out:
	explicit_bzero(f, sizeof(f));
	return err;
}
