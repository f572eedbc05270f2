/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The helper process (tokenkeys __helper): one PKCS#11 module, loaded
 * here and nowhere else, served over the helper protocol (hproto.h) on a
 * socket the agent passes as fd 3.
 *
 *   helper.c       the server: threads, framing, dispatch
 *   helper-keys.c  the keys of the module: listing, and the blob -> key
 *                  table the signer is driven through
 *   helper-watch.c telling the agent when the tokens may have changed
 *                  (slot events, or a slow look), on the events pipe
 */
#ifndef TK_HELPER_H
#define TK_HELPER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "common/blobidx.h"
#include "helper/hclient.h"
#include "pkcs11/p11.h"
#include "pkcs11/sign.h"

#define TK_HELPER_FD		3
#define TK_HELPER_EVENTS_FD	4	/* with --events: the events pipe */
#define TK_HELPER_THREADS	4

/* One key the helper has seen, by its OpenSSH blob. */
struct hk_ent {
	uint8_t		*blob;
	size_t		 bloblen;
	uint64_t	 hash;
	int		 type;		/* TK_KEY_* */
	struct tk_skey	*sk;
	unsigned int	 listgen;	/* last listing that reported it */
};

struct hk_table {
	pthread_mutex_t	 mu;		/* the table */
	pthread_mutex_t	 walk_mu;	/* one walk of the module at a time */
	struct hk_ent	*ents;
	size_t		 n, cap;
	struct tk_blobidx idx;		/* ents by blob */
	unsigned int	 listgen;
};

struct helper {
	int		 fd;
	struct tk_modset ms;
	struct tk_module *mod;
	struct tk_signer *sg;
	struct hk_table	 keys;
	unsigned int	 lost;		/* module-lost-state reports (atomic) */
	int		 evfd;		/* the events pipe, or -1 */
	int		 serial;	/* module not made for threads: */
	pthread_mutex_t	 modmu;		/* ...one call at a time */
	pthread_t	 wt;		/* the watcher (helper-watch.c) */
	int		 watching;
	pthread_mutex_t	 wmu;		/* wstop, in_wait */
	pthread_cond_t	 wcv;
	int		 wstop;
	int		 in_wait;	/* blocked in C_WaitForSlotEvent */
	uint64_t	 known;		/* presence the agent last saw */
	int		 have_known;
};

/*
 * Serve the module at path on fd until the peer closes it.  reg_known:
 * TK_MODSET_REG_* (whether path is a registry module, if the agent knows).
 * evfd: the write end of the events pipe (helper-watch.c), or -1.
 */
int	tk_helper_run(int fd, const char *path, int reg_known, int evfd);
/* Answer REGISTRY requests on fd; fd -1: print the paths on stdout. */
int	tk_helper_registry(int fd);

/* helper-keys.c */
int	hk_init(struct hk_table *);
void	hk_free(struct hk_table *);
/* LIST: keys matching uri (allocated, free with tk_hkeys_free). */
int	hk_list(struct helper *, const char *uri, struct tk_hkey **, size_t *);
/*
 * The key with this blob: from the table, else after walking every token
 * of the module again (rescan also forces that walk).
 */
int	hk_lookup(struct helper *, const uint8_t *blob, size_t bloblen,
	    int rescan, struct hk_ent *out);
/* PRESENCE: the digest of which tokens the module holds. */
int	hk_presence(struct helper *, uint64_t *digest);
/* Registry module paths (trust-policy modules left out). */
int	hk_registry_paths(char ***paths, size_t *n);

/* helper-watch.c */
/* Start watching the module's tokens (nothing to do without evfd). */
int	hw_start(struct helper *);
/*
 * Stop watching; -1 when the watcher is blocked in the module's
 * C_WaitForSlotEvent (then only C_Finalize or the exit ends it).
 */
int	hw_stop(struct helper *);
/*
 * A listing is about to walk the module (module calls allowed): what it
 * will see is what the agent knows, so the next look compares with that.
 */
void	hw_listing(struct helper *);

#endif /* TK_HELPER_H */
