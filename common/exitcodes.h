/*
 * exitcodes: the exit statuses of every sensorpipe program (sysexits(3)).
 * Owns: the mapping from a module's failure to a process exit status.
 * Only main() chooses an exit status; modules return their own error enums.
 *
 *   0  EX_OK           end of input, or stopped by SIGTERM/SIGINT
 *   64 EX_USAGE        bad command line              supervisor: do not restart
 *   65 EX_DATAERR      bad input line with --strict  supervisor: do not restart
 *   66 EX_NOINPUT      --in cannot be opened         restart with backoff
 *   73 EX_CANTCREAT    --out, the dead-letter file or a state file cannot be
 *                      created                       restart with backoff
 *   69 EX_UNAVAILABLE  server unreachable after the retry budget: restart
 *   70 EX_SOFTWARE     internal error (a bug)        restart with backoff, alert
 *   71 EX_OSERR        allocation, fork, pipe failed restart with backoff
 *   74 EX_IOERR        output or journal write failed (EPIPE too): restart
 *   75 EX_TEMPFAIL     other transient failure       restart with backoff
 *   78 EX_CONFIG       bad or missing configuration  supervisor: do not restart
 */
#ifndef SENSORPIPE_EXITCODES_H
#define SENSORPIPE_EXITCODES_H

#include <sysexits.h>

/*
 * Whether the supervisor may restart a stage that exited with status `ex`.
 * 66 and 73 stay transient on purpose: under a supervisor they usually mean
 * a journal directory or a disk that is not ready yet, which a restart after
 * a backoff fixes; a wrong path shows up in the stage's log line each time.
 */
static inline int
exit_is_permanent(int ex)
{
	return ex == EX_USAGE || ex == EX_CONFIG || ex == EX_DATAERR;
}

#endif
