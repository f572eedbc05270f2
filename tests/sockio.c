/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockio: AF_UNIX sockets and whole reads and writes for test programs.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "sockio.h"

/* A stream socket and the address of path; -1 if path does not fit. */
static int
sio_socket(const char *path, struct sockaddr_un *sun)
{
	int fd = -1;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		goto out;
	memcpy(sun->sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
 out:
	return fd;
}

int
sio_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = sio_socket(path, &sun)) != -1 &&
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
sio_listen(const char *path, int backlog)
{
	struct sockaddr_un sun;
	int fd;

	if ((fd = sio_socket(path, &sun)) != -1 &&
	    (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, backlog) != 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
sio_write(int fd, const void *p, size_t n)
{
	const uint8_t *u = p;
	ssize_t w;
	int r = 0;

	while (n > 0 && r == 0) {
		w = send(fd, u, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			r = SIO_EOF;
		else {
			u += w;
			n -= (size_t)w;
		}
	}
	return r;
}

int
sio_read(int fd, void *p, size_t n, int timeout_ms)
{
	struct pollfd pfd;
	uint8_t *u = p;
	ssize_t got;
	int e, r = 0;

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n > 0 && r == 0) {
		pfd.revents = 0;
		if ((e = poll(&pfd, 1, timeout_ms)) == 0)
			r = SIO_TIMEOUT;
		else if (e < 0 && errno != EINTR)
			r = SIO_EOF;
		else if (e > 0) {
			got = read(fd, u, n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				r = SIO_EOF;
			else {
				u += got;
				n -= (size_t)got;
			}
		}
	}
	return r;
}
