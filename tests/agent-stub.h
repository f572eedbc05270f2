/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A stub keystore for the agent core (src/agent/agent.h's struct agent_ops):
 * one module, one token, the keys it is given, a PIN of "1234", and
 * signatures that are a deterministic digest of what was signed.  No
 * module is loaded and no thread or process is started.  Shared by
 * tests/test-agent-proto.c and tests/fuzz/fuzz-agent.c.
 */
#ifndef TK_AGENT_STUB_H
#define TK_AGENT_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"

#define STUB_PIN		"1234"
#define STUB_MAX_KEYS		16
#define STUB_SIG_LEN		(4 + 4 + 4 + 8)	/* see stub_sig() */

struct stub_key {
	uint8_t		*blob;
	size_t		 bloblen;
	char		*uri;
};

struct stub {
	struct stub_key	 keys[STUB_MAX_KEYS];
	size_t		 nkeys;
	int		 logged_in;
	int		 nlogin, nsign, nprompt, nconfirm, nmod_new;
	int		 last_alg;
	int		 confirm_answer;	/* 0, or TK_ERR_CANCELLED */
	int		 prompt_result;		/* 0: type prompt_pin */
	const char	*prompt_pin;
	char		 last_desc[1024];
	char		 last_error[256];
	uint32_t	 token_flags;
	int		 always_auth;		/* of keys[0] */
	int		 mod_dummy;
	char		 last_mod_path[256];	/* mod_new's, last call */
};

extern struct stub		S;
extern const struct agent_ops	stub_ops;

/* Forget the counters and answers (not the keys); the PIN is STUB_PIN. */
void	stub_reset(void);
/* Serve a copy of this key (up to STUB_MAX_KEYS); 0 or TK_ERR_*. */
int	stub_key_add(const uint8_t *blob, size_t len, const char *uri);
void	stub_keys_clear(void);
/*
 * The signature the stub makes: string "stub", string 8 bytes of FNV-1a
 * over the algorithm, the key blob and the data.
 */
void	stub_sig(const uint8_t *blob, size_t bloblen, const uint8_t *data,
	    size_t datalen, int alg, uint8_t sig[STUB_SIG_LEN]);

/*
 * A stub other agent (struct agent_upstream, for -A), in tests/
 * agent-stub-up.c: it holds the keys it is given (an ADD_IDENTITY's first
 * string is taken as the key blob), signs any of them with "upsig",
 * locks, unlocks and counts session-binds, per connection.
 */
#define STUBUP_MAX_KEYS		8

struct stub_up {
	struct stub_key	 keys[STUBUP_MAX_KEYS];
	size_t		 nkeys;
	int		 fail;		/* calls return this (0: answer) */
	int		 fail_every;	/* ...or every nth call times out */
	int		 garbage;	/* listings are malformed */
	int		 locked;
	int		 nopen, nclose, ncall, nbinds;
	int		 last_conn;	/* which open() the last call used */
	uint8_t		 last_type;
	uint32_t	 last_flags;	/* of the last sign request */
};

extern struct stub_up			U;
extern const struct agent_upstream	stub_upstream;

/* Forget everything, keys too. */
void	stub_up_reset(void);
int	stub_up_key_add(const uint8_t *blob, size_t len, const char *comment);

#endif /* TK_AGENT_STUB_H */
