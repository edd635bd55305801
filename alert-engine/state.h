/*
 * state: the alert-engine state file (ALERT_STATE_FILE), NDJSON:
 *   {"version":1,"clock":NS,"in_seg":N,"in_off":N}          header line
 *   {"rule":"temp-high","measurement":"env","tags":{...},"phase":"pending",
 *    "held":false,"flap_count":0,"since":NS,"last_t":NS,"flap_start":NS,
 *    "stable_since":NS|null,"recent":[...],"hist":[[NS,V],...]}   per state
 * Saved atomically: written to PATH.tmp, fsynced, renamed over PATH, and the
 * directory fsynced, so a crash leaves the old or the new file, never a mix.
 * Owns nothing between calls. Never logs or exits; returns enum state_err
 * with a one-line message in err.
 */
#ifndef SENSORPIPE_STATE_H
#define SENSORPIPE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eval.h"
#include "stageio.h"

enum state_err {
	STATE_OK = 0,
	STATE_ERR_SYS,		/* open/write/fsync/rename failed: err says which */
	STATE_ERR_FORMAT,	/* the file is not a state file */
	STATE_ERR_NOMEM,
};

struct state_info {
	int64_t clock;		/* engine clock when saved */
	struct stage_pos pos;	/* input position saved with the states */
	size_t restored;	/* states put back */
	size_t dropped;		/* states of rules that are gone or changed */
};

/* Saves every state worth keeping, with the input position pos. */
enum state_err state_save(const char *path, const struct eval *e,
			  struct stage_pos pos, char *err, size_t errsize);

/* Restores path into e; a missing file is STATE_OK with nothing restored. */
enum state_err state_load(const char *path, struct eval *e,
			  struct state_info *info, char *err, size_t errsize);

const char *state_strerror(enum state_err err);

#endif
