/*
 * snapshot: the alert-api state file (API_STATE_FILE), NDJSON:
 *   {"format":"alert-api-state","version":1,"in_seg":N,"in_off":N,
 *    "first_seq":N,"saved_at":"RFC 3339"}                  header line
 *   {alert record}                 the latest event of each alert, in the
 *   ...                            order of their places (oldest first)
 *   {"end":true,"alerts":N,"hash":"16 hex digits"}         trailer line
 * in_seg/in_off is the input position every event before it was applied
 * at; first_seq is the place of the first alert (places are kept, so list
 * cursors stay valid across a restart); the trailer counts the alerts and
 * hashes every byte before it (FNV-1a over 64-bit words), so a cut or altered file
 * is refused as a whole. Acknowledgements are not in it: API_ACK_FILE has
 * them and is replayed after the snapshot is loaded.
 *
 * Saved atomically: written to PATH.tmp, fsynced, renamed over PATH, and
 * the directory fsynced, so a crash leaves the old or the new file, never
 * a mix. The store is read in chunks (store_dump), so requests are not held
 * up while the file is written.
 * Owns nothing between calls. Never logs or exits; returns enum
 * snapshot_err with a one-line message in err.
 */
#ifndef ALERT_API_SNAPSHOT_H
#define ALERT_API_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "stageio.h"
#include "store.h"

enum snapshot_err {
	SNAPSHOT_OK = 0,
	SNAPSHOT_MISSING,	/* no file at path (load only) */
	SNAPSHOT_ERR_SYS,	/* open/read/write/fsync/rename: err says which */
	SNAPSHOT_ERR_FORMAT,	/* not a complete, intact state file */
	SNAPSHOT_ERR_STORE,	/* the store refused it (memory, not empty) */
};

struct snapshot_info {
	struct stage_pos pos;	/* input position saved with the alerts */
	uint64_t first_seq;	/* place of the first alert */
	size_t alerts;		/* alerts written or loaded */
	uint64_t bytes;		/* size of the file */
};

/* Saves every alert of s with the input position pos. info may be NULL. */
enum snapshot_err snapshot_save(const char *path, struct store *s,
				struct stage_pos pos,
				struct snapshot_info *info, char *err,
				size_t errsize);

/*
 * Loads path into s, which must be new (nothing applied yet). On any error
 * but SNAPSHOT_MISSING s may hold part of the file: the caller starts over
 * with a new store.
 */
enum snapshot_err snapshot_load(const char *path, struct store *s,
				struct snapshot_info *info, char *err,
				size_t errsize);

const char *snapshot_strerror(enum snapshot_err err);

#endif
