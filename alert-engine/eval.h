/*
 * eval: the rule engine. Keeps one state machine per (rule, series) and
 * turns readings into alert events (fired, resolved) on event time.
 * Owns: the series table, every state, and the strings of an event it hands
 * to the emit callback (valid during the callback only).
 * Never logs, writes or exits; returns enum eval_err.
 *
 * Index: a series (measurement + sorted tags, record_series_key) is looked
 * up in a hash table by record_series_hash (the parser computes it with the
 * reading: reading.series_hash); when it is first seen, the rules whose
 * measurement and `where` match it are listed once, grouped by field. A reading then costs
 * one hash lookup plus, per field of the reading, a scan of that series'
 * field groups (a few strcmp) and one step per rule of the matching group.
 * Nothing is allocated per reading in steady state.
 *
 * States: ok -> pending (condition holds, `for` not yet reached) -> firing
 * -> ok. `for` fires on the first reading whose time is >= pending start +
 * for. A reading without the rule's field (or with a string value) leaves
 * the state as it is; booleans count as 0 and 1.
 *
 * Time: every duration is event time (reading timestamps). The engine clock
 * is the newest reading time seen. A reading older than its series' newest
 * by more than the lateness is counted (too_late) and ignored; a reading
 * older by less is applied to threshold rules as if it came at the state's
 * newest time (durations never run backwards) and skipped by rate rules.
 *
 * Rate: samples (t, v) are kept at least per/8 apart, for the last `per` of
 * event time. For a reading (t, v) the base is the oldest kept sample with
 * t - per <= t_b < t, and rate = (v - v_b) / (t - t_b) * per. With no base
 * the state is left as it is.
 *
 * Deadman: a state per (rule, series) remembers when the series was last
 * seen; it fires when the engine clock reaches last_seen + deadman (the
 * episode's start), checked after readings at most every deadman/8 of event
 * time, and by eval_tick with the wall time the input has been silent added
 * to the clock. The next reading of the series resolves it.
 *
 * Flapping: when the flap_count-th episode started within flap_window of
 * the first one would resolve, the alert is held firing instead, and
 * resolves once its condition has stayed clear for a whole flap_window.
 *
 * Ids: id = UUID v5 in the RFC 4122 URL namespace of the bytes
 * "<rule>\n<series key>\n<started_at ns as decimal>"; event_id is random.
 */
#ifndef SENSORPIPE_EVAL_H
#define SENSORPIPE_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "rules.h"

enum eval_err {
	EVAL_OK = 0,
	EVAL_TOO_LATE,		/* the reading was older than the lateness */
	EVAL_ERR_NOMEM,
	EVAL_ERR_UNKNOWN,	/* restore: the rule is gone or no longer matches */
};

enum eval_phase { EVAL_OK_PHASE = 0, EVAL_PENDING, EVAL_FIRING };

struct eval_opts {
	int64_t lateness_ns;
	unsigned flap_count;	/* 0: no flap detection */
	int64_t flap_window_ns;
	bool keep_recent;	/* keep the last values of each state (LLM) */
};

#define EVAL_RECENT 4
#define EVAL_HIST 10

/* An event as handed to the emit callback: the alert (summary = fallback)
 * and what an LLM prompt needs. Every pointer is valid during the call. */
struct eval_event {
	struct alert alert;
	const struct rule *rule;
	const char *series;		/* series key */
	double recent[EVAL_RECENT];	/* last values, oldest first */
	size_t nrecent;
	const void *episode;		/* for eval_episode_firing */
};

typedef void (*eval_emit_fn)(void *ctx, const struct eval_event *ev);

struct eval_stats {
	uint64_t readings, too_late, late, steps, ignored_values;
	uint64_t fired, resolved, held, series, states;
};

/* A state as saved in and restored from the state file. */
struct eval_state_view {
	const char *rule;
	const char *measurement;
	const struct tag *tags;
	size_t ntags;
	const char *series;
	enum eval_phase phase;
	bool held;
	unsigned flap_count;
	int64_t since, last_t, flap_start, stable_since;
	double recent[EVAL_RECENT];
	size_t nrecent;
	int64_t hist_t[EVAL_HIST];
	double hist_v[EVAL_HIST];
	size_t nhist;
};

typedef int (*eval_visit_fn)(void *ctx, const struct eval_state_view *v);

struct eval;

/* rules must outlive the engine. */
enum eval_err eval_new(struct eval **e, const struct rules *rules,
		       const struct eval_opts *opts);
void eval_free(struct eval *e);

/* Applies one reading; events go to emit (in a deterministic order). */
enum eval_err eval_reading(struct eval *e, const struct reading *r,
			   eval_emit_fn emit, void *ctx);

/*
 * Hints that change nothing but let cache misses overlap with other work:
 * eval_prefetch_slot starts loading the table slot of r's series; some
 * time later, eval_prefetch the first lines of the series found there
 * (which reads the slot); some time later still, eval_reading(r).
 */
void eval_prefetch_slot(const struct eval *e, const struct reading *r);
void eval_prefetch(const struct eval *e, const struct reading *r);

/* The input has been silent for idle_ns of wall time: fires the deadman
 * states that are due at clock + idle_ns. */
enum eval_err eval_tick(struct eval *e, int64_t idle_ns, eval_emit_fn emit,
			void *ctx);

/* Whether the episode of an event is still firing (the LLM summary of an
 * episode that has resolved meanwhile says so). */
bool eval_episode_firing(const struct eval *e, const void *episode,
			 int64_t started_at_ns);

int64_t eval_clock(const struct eval *e);
void eval_set_clock(struct eval *e, int64_t clock_ns);
const struct eval_stats *eval_stats(const struct eval *e);
/* Bytes held by series and states (an estimate from the allocations). */
size_t eval_memory(const struct eval *e);

/* Visits every state worth saving (not ok, held, flap counting, deadman,
 * rate samples); stops at and returns the first non-zero result. */
int eval_foreach_state(const struct eval *e, eval_visit_fn fn, void *ctx);
/* Restores one saved state (series created as needed). */
enum eval_err eval_restore(struct eval *e, const struct eval_state_view *v);

/* The episode id: UUID v5 as described above, lower-case text. */
int eval_episode_id(const char *rule, const char *series, int64_t start_ns,
		    char out[UUID_STR_LEN_]);

/* A random (v4) UUID for an event_id, cheaper than uuid_generate_random. */
void eval_event_id(struct eval *e, char out[UUID_STR_LEN_]);

const char *eval_phase_name(enum eval_phase p);
const char *eval_strerror(enum eval_err err);

#endif
