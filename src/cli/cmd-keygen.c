/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tokenkeys keygen: make a key pair on a token, with ssh-keygen's -t, -b
 * and -C, check that it signs, and print its authorized_keys line as
 * tokenkeys list prints it.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli-agent.h"
#include "common/buf.h"
#include "common/secret.h"
#include "pkcs11/keygen.h"
#include "pkcs11/pingate.h"
#include "pkcs11/pinset.h"
#include "pkcs11/sign.h"
#include "prompt/prompt-text.h"
#include "ssh/sshsig.h"

#define SO_PIN_BUF	256

enum {
	OPT_MODULE = 256, OPT_FORMAT, OPT_ID, OPT_ALWAYS_AUTH, OPT_CERT,
	OPT_SO
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: tokenkeys keygen [-v] [-t rsa|ecdsa|ed25519] "
	    "[-b bits] [-C label] [--id HEX]\n"
	    "                        [--always-auth] [--cert] [--so] "
	    "[--module PATH]\n"
	    "                        [--format text|json] [URI]\n"
	    "Make a key pair on the one token the pkcs11: URI selects "
	    "(default: pkcs11:)\nand print its authorized_keys line.\n");
}

static int
parse_hex(const char *s, uint8_t *out, size_t outsz, size_t *len)
{
	size_t		n = strlen(s), i;
	unsigned int	v;

	if (n == 0 || n % 2 != 0 || n / 2 > outsz)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (strspn(s + 2 * i, "0123456789abcdefABCDEF") < 2 ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

/* -t and -b as ssh-keygen takes them; EXIT_USAGE after saying why. */
static int
key_type(const char *t, const char *b, struct tk_keygen_spec *sp)
{
	char		*end;
	unsigned long	 bits = 0;

	if (b != NULL) {
		bits = strtoul(b, &end, 10);
		if (*b == '\0' || *end != '\0' || bits > 65536) {
			cli_warnx("-b: not a number of bits: \"%s\"", b);
			return EXIT_USAGE;
		}
	}
	if (strcmp(t, "rsa") == 0) {
		sp->type = TK_KEY_RSA;
		sp->bits = bits == 0 ? 3072 : bits;
		if (sp->bits != 2048 && sp->bits != 3072 && sp->bits != 4096) {
			cli_warnx("-b: RSA keys are 2048, 3072 or 4096 bits");
			return EXIT_USAGE;
		}
	} else if (strcmp(t, "ecdsa") == 0) {
		sp->type = bits == 0 || bits == 256 ? TK_KEY_ECDSA_P256 :
		    bits == 384 ? TK_KEY_ECDSA_P384 :
		    bits == 521 ? TK_KEY_ECDSA_P521 : 0;
		if (sp->type == 0) {
			cli_warnx("-b: ECDSA keys are 256, 384 or 521 bits");
			return EXIT_USAGE;
		}
	} else if (strcmp(t, "ed25519") == 0) {
		sp->type = TK_KEY_ED25519;
		if (bits != 0 && bits != 256) {
			cli_warnx("-b: Ed25519 keys have 256 bits");
			return EXIT_USAGE;
		}
	} else {
		cli_warnx("-t: unknown key type \"%s\" (rsa, ecdsa or "
		    "ed25519)", t);
		return EXIT_USAGE;
	}
	return 0;
}

/* Sign a fresh challenge on the token and verify it with the key found. */
static int
check_key(struct tk_keygen *g, const struct tk_key *k)
{
	struct tk_sshsig_key	*vk = NULL;
	struct tk_buf		 sig;
	const uint8_t		*blob;
	const char		*name;
	uint8_t			 chal[32], raw[TK_SIGN_MAX];
	size_t			 len, rawlen;
	int			 r, hash;

	tk_buf_init(&sig, TK_SSHSIG_MAX, 0);
	arc4random_buf(chal, sizeof(chal));
	blob = tk_key_blob(k, &len);
	if ((r = tk_sshsig_key_new(blob, len, &vk)) != 0 ||
	    (r = tk_sshsig_alg(tk_key_type(k), TK_SIG_RSA_SHA256, &name,
	    &hash)) != 0)
		goto out;
	if ((r = tk_keygen_sign(g, hash, chal, sizeof(chal), raw, sizeof(raw),
	    &rawlen)) != 0)
		goto out;
	if ((r = tk_sshsig_encode(vk, TK_SIG_RSA_SHA256, raw, rawlen,
	    &sig)) != 0)
		goto out;
	r = tk_sshsig_verify(vk, TK_SIG_RSA_SHA256, chal, sizeof(chal),
	    tk_buf_ptr(&sig), tk_buf_avail(&sig));
 out:
	tk_sshsig_key_free(vk);
	tk_buf_free(&sig);
	return r;
}

/*
 * Find the new key as list would, check it, print it; on failure say
 * why, naming what was left on the token.
 */
static int
show_key(struct tk_ctx *ctx, struct tk_keygen *g, const char *keyuri,
    const struct tk_keygen_spec *sp, int json)
{
	struct tk_keylist	*list = NULL;
	const struct tk_key	*k;
	char			*line = NULL;
	int			 r;

	if ((r = tk_find_keys(ctx, keyuri, 0, &list)) != 0) {
		cli_warnx("the new public key on token \"%s\" cannot be read "
		    "back (%s); the key pair is still on the token: %s",
		    tk_keygen_token(g), tk_strerror(r), keyuri);
		goto out;
	}
	k = tk_keylist_get(list, 0);
	if (!sp->always_auth && (r = check_key(g, k)) != 0) {
		cli_warnx("the new key on token \"%s\" failed its test "
		    "signature (%s); it is still on the token: %s",
		    tk_keygen_token(g), tk_strerror(r), keyuri);
		goto out;
	}
	if (json) {
		printf("[");
		r = cli_key_json(k, TK_FP_SHA256, tk_key_uri(k), 1);
		printf("\n]\n");
	} else if ((r = cli_key_line(k, tk_key_uri(k), &line)) == 0)
		printf("%s\n", line);
	if (r != 0)
		cli_warnx("%s", tk_strerror(r));
 out:
	free(line);
	tk_keylist_free(list);
	return r;
}

/*
 * --so: the SO PIN (or the PIN pad) for generation, through the PIN gate
 * as unblock asks it.  0, or 1 after saying why.
 */
static int
ask_so(struct tk_keygen *g, struct tk_keygen_spec *sp, char *pin)
{
	const struct tk_p11_token	*t = tk_keygen_tok(g);
	const char			*name = tk_keygen_token(g);
	char				 msg[256];
	size_t				 min, max;
	unsigned int			 flags;
	int				 r;

	flags = tk_pin_state(t, 1, &min, &max);
	switch (tk_pin_gate(flags, TK_PIN_FROM_PROMPT)) {
	case TK_PIN_REFUSE_LOCKED:
		cli_warnx("token \"%s\": the SO PIN is locked; no key can be "
		    "made as SO", name);
		return 1;
	case TK_PIN_USE_PAD:
		tk_ptext_pinpad_set(msg, sizeof(msg), name, "the SO PIN");
		fprintf(stderr, "%s\n", msg);
		sp->sopin = NULL;
		return 0;
	case TK_PIN_USE_LOW:
		cli_warnx("token \"%s\": few SO PIN tries left", name);
		break;
	default:
		break;
	}
	r = cli_pin_what("SO PIN", name, (flags & TK_TOKEN_PIN_FINAL_TRY) ?
	    1 : -1, 0, 0, pin, SO_PIN_BUF, &sp->sopinlen);
	if (r != 0) {
		cli_warnx("token \"%s\": no SO PIN: %s", name, tk_strerror(r));
		return 1;
	}
	sp->sopin = pin;
	return 0;
}

static void
default_label(char *buf, size_t bufsz)
{
	struct passwd	*pw = getpwuid(getuid());
	char		 host[256];

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, bufsz, "%s@%s", pw != NULL ? pw->pw_name : "user", host);
}

int
keygen_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "id", required_argument, NULL, OPT_ID },
		{ "always-auth", no_argument, NULL, OPT_ALWAYS_AUTH },
		{ "cert", no_argument, NULL, OPT_CERT },
		{ "so", no_argument, NULL, OPT_SO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct tk_keygen_spec	 sp;
	struct tk_ctx		*ctx = NULL;
	struct tk_keygen	*g = NULL;
	const char		*type = "ecdsa", *bits = NULL, *module = NULL;
	const char		*uri = "pkcs11:";
	char			 label[TK_LABEL_MAX + 1], safe[1024];
	char			*keyuri = NULL, *sopin = NULL;
	int			 ch, ex = 0, json = 0, cert = 0, made, r = 0;

	memset(&sp, 0, sizeof(sp));
	default_label(label, sizeof(label));
	opterr = 0;
	optind = 1;
	while (ex == 0 && (ch = getopt_long(argc, argv, "+:t:b:C:vh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 't':
			type = optarg;
			break;
		case 'b':
			bits = optarg;
			break;
		case 'C':
			if (strlen(optarg) > TK_LABEL_MAX || *optarg == '\0') {
				cli_warnx("-C: a label is 1 to %d bytes",
				    TK_LABEL_MAX);
				ex = EXIT_USAGE;
			}
			snprintf(label, sizeof(label), "%s", optarg);
			sp.label_given = 1;
			break;
		case 'v':
			cli_set_verbose(1);
			break;
		case OPT_MODULE:
			module = optarg;
			break;
		case OPT_FORMAT:
			ex = cli_format(optarg, &json);
			break;
		case OPT_ID:
			if (parse_hex(optarg, sp.id, sizeof(sp.id),
			    &sp.idlen) != 0) {
				cli_warnx("--id: expected 1 to %d bytes in hex",
				    TK_KEYGEN_ID_MAX);
				ex = EXIT_USAGE;
			}
			break;
		case OPT_ALWAYS_AUTH:
			sp.always_auth = 1;
			break;
		case OPT_CERT:
			cert = 1;
			break;
		case OPT_SO:
			sp.so = 1;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			ex = cli_bad_option("keygen", ch, argv[optind - 1]);
			break;
		}
	}
	if (ex == 0 && argc - optind > 1) {
		cli_warnx("keygen: one URI at most; see 'tokenkeys keygen "
		    "--help'");
		ex = EXIT_USAGE;
	}
	if (ex != 0 || (ex = key_type(type, bits, &sp)) != 0)
		goto out;
	if (optind < argc)
		uri = argv[optind];
	sp.label = label;
	if ((ex = cli_ctx_new(&ctx, module != NULL)) != 0)
		goto out;
	tk_ctx_set_pin_fn(ctx, cli_pin, NULL);
	ex = 1;
	if (module != NULL && tk_ctx_add_module(ctx, module) != 0)
		goto out;
	if ((r = tk_keygen_open(ctx, uri, &g)) != 0) {
		if (r == TK_ERR_NOT_FOUND) {
			tk_str_sanitize(uri, safe, sizeof(safe));
			cli_warnx("no token matches URI %s", safe);
		} else if (r != TK_ERR_RANGE)
			ex = cli_uri_error(uri, r);
		goto out;
	}
	if (tk_keygen_check(g, &sp) != 0)
		goto out;
	if (sp.so && ((r = tk_secret_alloc((void **)&sopin,
	    SO_PIN_BUF)) != 0 || ask_so(g, &sp, sopin) != 0)) {
		if (r != 0)
			cli_warnx("%s", tk_strerror(r));
		goto out;
	}
	r = tk_keygen_make(g, &sp, &keyuri);
	tk_secret_free(sopin, SO_PIN_BUF);
	sopin = NULL;
	if (r != 0) {
		if (keyuri != NULL)
			cli_warnx("the new key pair, not tested, is on the "
			    "token: %s", keyuri);
		goto out;
	}
	if (cert && tk_keygen_cert(g, &sp) != 0) {
		cli_warnx("the key pair without a certificate is on the token: "
		    "%s", keyuri);
		goto out;
	}
	if (show_key(ctx, g, keyuri, &sp, json) != 0)
		goto out;
	ex = cli_flush_stdout();
 out:
	made = keyuri != NULL;
	free(keyuri);
	tk_secret_free(sopin, SO_PIN_BUF);
	tk_keygen_free(g);
	tk_ctx_free(ctx);
	/* a key on the token, even one not tested: the agent may serve it */
	if (made)
		cli_agent_tell_write();
	return ex;
}
