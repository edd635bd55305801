/*
 * mqttflood: the fastest MQTT 3.1.1 publisher this benchmark can think of,
 * to measure what the broker itself can take (bench/publish.sh).
 *
 *	mqttflood PORT TOPIC QOS WINDOW <lines
 *
 * Connects to 127.0.0.1:PORT, publishes each stdin line as one message on
 * TOPIC at QOS (0 or 1), with up to WINDOW QoS 1 messages awaiting their
 * PUBACK, then disconnects once every one was acknowledged. No library, no
 * copies beyond one output buffer: many PUBLISH packets go out in one
 * write(), PUBACKs are read in bulk. No TLS, no reconnect, no queue: it
 * exits 1 on any error. Prints "sent N acked N" on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "banned.h"

#define OUT_CAP (1 << 20)
#define IN_CAP (1 << 16)

static size_t
put_varint(unsigned char *p, size_t n)
{
	size_t i = 0;

	do {
		unsigned char b = (unsigned char)(n % 128);

		n /= 128;
		if (n)
			b |= 128;
		p[i++] = b;
	} while (n);
	return i;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
flood_connect(int port)
{
	static const unsigned char hdr[] = { 0, 4, 'M', 'Q', 'T', 'T', 4, 2,
					     0, 60 };
	const char *cid = "sp-bench-mqttflood";
	unsigned char pkt[64], ack[4];
	struct sockaddr_in a;
	size_t n = 0, cl = strlen(cid);
	int s, one = 1;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0)
		goto fail;
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pkt[n++] = 0x10;		/* CONNECT, clean session */
	n += put_varint(pkt + n, sizeof(hdr) + 2 + cl);
	memcpy(pkt + n, hdr, sizeof(hdr));
	n += sizeof(hdr);
	pkt[n++] = 0;
	pkt[n++] = (unsigned char)cl;
	memcpy(pkt + n, cid, cl);
	n += cl;
	if (write_all(s, pkt, n) != 0 || read(s, ack, 4) != 4 ||
	    ack[0] != 0x20 || ack[3] != 0)
		goto fail;
	return s;
fail:
	close(s);
	return -1;
}

int
main(int argc, char *argv[])
{
	unsigned char *out, in[IN_CAP];
	char *buf = NULL, *p, *end;
	size_t cap = 0, len = 0, tl, il = 0;
	long sent = 0, acked = 0, window;
	unsigned id = 0;
	int s, qos;
	ssize_t r;

	if (argc != 5 || strcmp(argv[1], "--help") == 0) {
		fprintf(stderr, "usage: mqttflood PORT TOPIC QOS WINDOW <lines\n");
		return argc == 2 ? 0 : 2;
	}
	qos = argv[3][0] == '1';
	window = strtol(argv[4], NULL, 10);
	tl = strlen(argv[2]);
	if (window < 1 || tl > 1000)
		return 2;
	/* the whole input first: reading is not what is measured */
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap ? 2 * cap : 1 << 20);

			if (!nb)
				return 1;
			buf = nb;
			cap = cap ? 2 * cap : 1 << 20;
		}
		r = read(0, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return 1;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	out = malloc(OUT_CAP);
	s = flood_connect((int)strtol(argv[1], NULL, 10));
	if (!out || s < 0) {
		fprintf(stderr, "mqttflood: cannot connect to 127.0.0.1:%s\n",
			argv[1]);
		return 1;
	}
	p = buf;
	end = buf + len;
	while (p < end || acked < sent) {
		size_t o = 0;

		while (p < end && (!qos || sent - acked < window)) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t pl = (size_t)((nl ? nl : end) - p);

			if (o + pl + tl + 16 > OUT_CAP)
				break;
			out[o++] = qos ? 0x32 : 0x30;
			o += put_varint(out + o, 2 + tl + (qos ? 2 : 0) + pl);
			out[o++] = (unsigned char)(tl >> 8);
			out[o++] = (unsigned char)tl;
			memcpy(out + o, argv[2], tl);
			o += tl;
			if (qos) {
				id = id % 65535 + 1;
				out[o++] = (unsigned char)(id >> 8);
				out[o++] = (unsigned char)id;
			}
			memcpy(out + o, p, pl);
			o += pl;
			p += pl + 1;
			sent++;
		}
		if (write_all(s, out, o) != 0)
			goto fail;
		if (!qos) {
			acked = sent;	/* QoS 0: done once written */
			continue;
		}
		if (acked < sent) {
			size_t i = 0;

			r = read(s, in + il, sizeof(in) - il);
			if (r <= 0)
				goto fail;
			il += (size_t)r;
			for (; il - i >= 4; i += 4) {
				if (in[i] != 0x40)
					goto fail;
				acked++;
			}
			memmove(in, in + i, il - i);
			il -= i;
		}
	}
	out[0] = 0xe0;			/* DISCONNECT */
	out[1] = 0;
	(void)write_all(s, out, 2);
	close(s);
	fprintf(stderr, "sent %ld acked %ld\n", sent, acked);
	free(out);
	free(buf);
	return 0;
fail:
	fprintf(stderr, "mqttflood: connection failed after %ld sent, %ld acked\n",
		sent, acked);
	return 1;
}
