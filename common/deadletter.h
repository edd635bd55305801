/*
 * deadletter: appends rejected input, with the reason, to DEAD_LETTER_FILE.
 * Owns: the file descriptor. Each entry is one NDJSON line written with one
 * write(2) on an O_APPEND descriptor, so entries from several stages sharing
 * a file never interleave:
 *   {"time":"...","stage":"mqtt-ingest","reason":"bad_json",
 *    "detail":"line 1: ...","topic":"sensors/x","payload":"..."}
 * The payload is "payload" when it is valid UTF-8 without NUL bytes (many
 * JSON readers refuse "\u0000"), else "payload_b64"
 * (standard base64). "detail" and "topic" are left out when NULL, "line"
 * when 0. The file is opened O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, mode 0644.
 * Never logs or exits; returns enum deadletter_err. A NULL struct deadletter
 * (no file configured) accepts every entry and does nothing.
 * Thread-safe: threads of one stage may share a struct deadletter.
 */
#ifndef SENSORPIPE_DEADLETTER_H
#define SENSORPIPE_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

enum deadletter_err {
	DEADLETTER_OK = 0,
	DEADLETTER_ERR_SYS,	/* open or write failed: errno */
	DEADLETTER_ERR_NOMEM,
};

struct deadletter;

struct deadletter_entry {
	const char *reason;	/* short token: "bad_json", "no_fields" */
	const char *detail;	/* human text, may be NULL */
	const char *topic;	/* MQTT topic, may be NULL */
	uint64_t line;		/* input line number, 0 when not from a stream */
	const char *data;	/* the rejected bytes */
	size_t len;
};

/* path NULL or "": *dl = NULL, DEADLETTER_OK. */
enum deadletter_err deadletter_open(struct deadletter **dl, const char *path,
				    const char *stage);
enum deadletter_err deadletter_write(struct deadletter *dl,
				     const struct deadletter_entry *e);
/* Entries written since open (0 for NULL). */
uint64_t deadletter_count(const struct deadletter *dl);
void deadletter_close(struct deadletter *dl);
const char *deadletter_strerror(enum deadletter_err err);

#endif
