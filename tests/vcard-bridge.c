/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * vcard-bridge: puts libcacard's emulated CAC card into pcscd's virtual
 * reader (vsmartcard-vpcd), so the real OpenSC stack can be tested without
 * hardware (see testing.md, "The real OpenSC stack with an emulated card").
 *
 * libcacard builds the card from the certificates and keys that an NSS
 * database reaches (there: a SoftHSM token added with modutil -add, its slot
 * marked removable).  vpcd listens on TCP and drives the card with frames of
 * a 2-byte big-endian length and a payload: one byte is a control code
 * (0 power off, 1 power on, 2 reset, 4 send the ATR), more is a command
 * APDU, answered by the response APDU in the same framing.
 *
 * Signals simulate the user: SIGUSR1 pulls the card (power off, which logs
 * it out, and disconnect from vpcd, which then reports an empty reader),
 * SIGUSR2 puts it back (reconnect); SIGTERM and SIGINT end the bridge.
 *
 * usage: vcard-bridge [-p port] [-r reader] nssdb-dir
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libcacard.h>

#define VPCD_PORT	35963
#define CTRL_OFF	0
#define CTRL_ON		1
#define CTRL_RESET	2
#define CTRL_ATR	4
#define FRAME_MAX	65535

static volatile sig_atomic_t want_remove, want_insert, want_quit;
static uint8_t inbuf[FRAME_MAX];
static uint8_t outbuf[2 + FRAME_MAX];

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_remove = 1;
	else if (sig == SIGUSR2)
		want_insert = 1;
	else
		want_quit = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: vcard-bridge [-p port] [-r reader] "
	    "nssdb-dir\n");
	exit(2);
}

/* The reader named name, or the first one holding a card. */
static VReader *
find_reader(const char *name)
{
	VReaderList *list;
	VReaderListEntry *e;
	VReader *r, *found = NULL;

	if (name != NULL)
		return vreader_get_reader_by_name(name);
	if ((list = vreader_get_reader_list()) == NULL)
		return NULL;
	for (e = vreader_list_get_first(list); e != NULL;
	    e = vreader_list_get_next(e)) {
		r = vreader_list_get_reader(e);
		if (vreader_card_is_present(r) == VREADER_OK) {
			found = vreader_reference(r);
			break;
		}
	}
	vreader_list_delete(list);
	return found;
}

/*
 * Read or write exactly n bytes; 0 on success, -1 on error or EOF.
 * vpcd writes a frame's length and its payload separately without
 * TCP_NODELAY, so Nagle holds the payload until the length is acknowledged:
 * acknowledge at once (TCP_QUICKACK does not stick), or every APDU waits
 * out the delayed-ACK timer (40 ms; 3 s to read the card's certificates).
 */
static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t got;
	int one = 1;

	while (n > 0) {
		got = read(fd, p, n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

static int
write_full(int fd, const uint8_t *p, size_t n)
{
	ssize_t put;

	while (n > 0) {
		put = write(fd, p, n);
		if (put == -1 && errno == EINTR)
			continue;
		if (put <= 0)
			return -1;
		p += put;
		n -= (size_t)put;
	}
	return 0;
}

static int
send_frame(int fd, size_t len)
{
	outbuf[0] = (uint8_t)(len >> 8);
	outbuf[1] = (uint8_t)len;
	return write_full(fd, outbuf, 2 + len);
}

/* A connected socket to vpcd, or -1 (vpcd not listening yet). */
static int
vpcd_connect(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * Serve one frame from vpcd.  Returns 0, or -1 when the connection is gone
 * or unusable.
 */
static int
serve_frame(int fd, VReader *reader)
{
	size_t len;
	int outlen, r = -1;

	if (read_full(fd, inbuf, 2) == -1)
		goto out;
	len = ((size_t)inbuf[0] << 8) | inbuf[1];
	if (len == 0 || read_full(fd, inbuf, len) == -1)
		goto out;
	if (len == 1) {
		switch (inbuf[0]) {
		case CTRL_OFF:
			(void)vreader_power_off(reader);
			break;
		case CTRL_ON:
		case CTRL_RESET:
			/* libcacard logs the card out on either. */
			(void)vreader_power_on(reader, NULL, NULL);
			break;
		case CTRL_ATR:
			outlen = FRAME_MAX;
			vcard_emul_get_atr(NULL, outbuf + 2, &outlen);
			if (send_frame(fd, (size_t)outlen) == -1)
				goto out;
			break;
		default:
			fprintf(stderr, "vcard-bridge: unknown control code "
			    "%u\n", inbuf[0]);
			break;
		}
		r = 0;
		goto out;
	}
	outlen = FRAME_MAX;
	if (vreader_xfr_bytes(reader, inbuf, (int)len, outbuf + 2,
	    &outlen) != VREADER_OK || outlen < 2 || outlen > FRAME_MAX) {
		/* a card that cannot answer: "no precise diagnosis" */
		outbuf[2] = 0x6f;
		outbuf[3] = 0x00;
		outlen = 2;
	}
	if (send_frame(fd, (size_t)outlen) == -1)
		goto out;
	r = 0;
 out:
	return r;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct pollfd pfd;
	struct timespec tick = { 0, 100 * 1000 * 1000 };
	sigset_t block, orig;
	VCardEmulOptions *opts;
	VReader *reader = NULL;
	const char *readername = NULL;
	char *spec = NULL;
	int ch, port = VPCD_PORT, fd = -1, present = 1, n, ret = 1;

	while ((ch = getopt(argc, argv, "p:r:")) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			if (port <= 0 || port > 65535)
				usage();
			break;
		case 'r':
			readername = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (strchr(argv[optind], '"') != NULL) {
		fprintf(stderr, "vcard-bridge: the NSS database path may not "
		    "contain a double quote\n");
		return 2;
	}

	/* Signals are only delivered inside ppoll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (asprintf(&spec, "db=\"sql:%s\" use_hw=removable",
	    argv[optind]) == -1)
		goto out;
	if ((opts = vcard_emul_options(spec)) == NULL ||
	    vcard_emul_init(opts) != VCARD_EMUL_OK) {
		fprintf(stderr, "vcard-bridge: cannot open the NSS database "
		    "%s\n", argv[optind]);
		goto out;
	}
	if ((reader = find_reader(readername)) == NULL ||
	    vreader_card_is_present(reader) != VREADER_OK) {
		fprintf(stderr, "vcard-bridge: no emulated card (a removable "
		    "slot with certificates and their keys) in %s\n",
		    argv[optind]);
		goto out;
	}
	fprintf(stderr, "vcard-bridge: card in reader \"%s\", vpcd port %d\n",
	    vreader_get_name(reader), port);

	while (!want_quit) {
		if (want_remove) {
			want_remove = 0;
			present = 0;
			(void)vreader_power_off(reader);
			if (fd != -1) {
				close(fd);
				fd = -1;
			}
			fprintf(stderr, "vcard-bridge: card removed\n");
		}
		if (want_insert) {
			want_insert = 0;
			present = 1;
			fprintf(stderr, "vcard-bridge: card inserted\n");
		}
		if (present && fd == -1 && (fd = vpcd_connect(port)) != -1)
			fprintf(stderr, "vcard-bridge: connected to vpcd\n");
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = ppoll(&pfd, 1, fd == -1 ? &tick : NULL, &orig);
		if (n == -1 && errno != EINTR) {
			perror("vcard-bridge: ppoll");
			goto out;
		}
		if (n <= 0 || fd == -1 || pfd.revents == 0)
			continue;
		if (serve_frame(fd, reader) == -1) {
			/* vpcd went away (pcscd restarted): dial again */
			fprintf(stderr, "vcard-bridge: vpcd closed the "
			    "connection\n");
			close(fd);
			fd = -1;
		}
	}
	ret = 0;
 out:
	if (fd != -1)
		close(fd);
	if (reader != NULL) {
		(void)vreader_power_off(reader);
		vreader_free(reader);
	}
	free(spec);
	return ret;
}
