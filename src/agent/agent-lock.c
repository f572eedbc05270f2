/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ssh-add -x / -X: lock and unlock.  Only a salted PBKDF2 hash of the
 * password is kept (wiped on unlock); a wrong password delays the answer
 * to that client only, longer with each failure, so guessing is slow
 * while other clients go on being served.  Unlock attempts are taken one
 * at a time (the delay included), so guessing over many connections at
 * once is no faster than in a row.  While locked, agent-lookup.c lists
 * nothing and refuses key lookups.
 */
#include <limits.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "tokenkeys.h"
#include "agent/agent.h"

#define LOCK_KDF_ROUNDS	20000

/* One unlock attempt at a time, across all connections. */
static pthread_mutex_t	unlock_mu = PTHREAD_MUTEX_INITIALIZER;

static int
lock_hash(struct agent *a, const uint8_t *salt, const uint8_t *pw,
    size_t len, uint8_t *out)
{
	int	rounds = a->lock_rounds > 0 && a->lock_rounds < INT_MAX ?
		    (int)a->lock_rounds : LOCK_KDF_ROUNDS;

	if (len > INT_MAX || PKCS5_PBKDF2_HMAC((const char *)pw, (int)len,
	    salt, 16, rounds, EVP_sha256(), 32, out) != 1)
		return TK_ERR_INTERNAL;
	return 0;
}

int
agent_lock(struct agent *a, const uint8_t *pw, size_t len)
{
	uint8_t	salt[16], h[32];
	int	r = TK_ERR_DENIED;

	if (RAND_bytes(salt, sizeof(salt)) != 1) {
		r = TK_ERR_INTERNAL;
		goto out;
	}
	if ((r = lock_hash(a, salt, pw, len, h)) != 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	if (!a->locked) {
		memcpy(a->lock_salt, salt, sizeof(salt));
		memcpy(a->lock_hash, h, sizeof(h));
		a->locked = 1;
		a->unlock_failures = 0;
		r = 0;
	} else
		r = TK_ERR_DENIED;
	pthread_mutex_unlock(&a->lock);
 out:
	explicit_bzero(salt, sizeof(salt));
	explicit_bzero(h, sizeof(h));
	return r;
}

int
agent_unlock(struct agent *a, const uint8_t *pw, size_t len)
{
	struct timespec	ts;
	uint8_t		salt[16], h[32];
	unsigned int	fails = 0, ms;
	int		locked, r = TK_ERR_DENIED;

	pthread_mutex_lock(&unlock_mu);
	pthread_mutex_lock(&a->lock);
	locked = a->locked;
	memcpy(salt, a->lock_salt, sizeof(salt));
	pthread_mutex_unlock(&a->lock);
	if (!locked)
		goto out;
	if ((r = lock_hash(a, salt, pw, len, h)) != 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	if (a->locked && CRYPTO_memcmp(h, a->lock_hash, sizeof(h)) == 0) {
		a->locked = 0;
		a->unlock_failures = 0;
		explicit_bzero(a->lock_salt, sizeof(a->lock_salt));
		explicit_bzero(a->lock_hash, sizeof(a->lock_hash));
		r = 0;
	} else {
		fails = ++a->unlock_failures;
		r = TK_ERR_DENIED;
	}
	pthread_mutex_unlock(&a->lock);
	if (r != 0) {
		/* Slow down guessing; only this client waits. */
		ms = a->unlock_delay_ms * (fails < 10 ? fails : 10);
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
 out:
	pthread_mutex_unlock(&unlock_mu);
	explicit_bzero(salt, sizeof(salt));
	explicit_bzero(h, sizeof(h));
	return r;
}

int
agent_is_locked(struct agent *a)
{
	int	l;

	pthread_mutex_lock(&a->lock);
	l = a->locked;
	pthread_mutex_unlock(&a->lock);
	return l;
}
