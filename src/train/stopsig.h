/* stopsig.h: how `pifi train` (and each cell of `pifi experiment`) stops on
 * SIGINT, SIGTERM and SIGUSR1.
 *
 * The signals are blocked in every thread from the start of the command
 * (stop_begin, before OpenMP or oneDNN start any thread, which inherit the
 * mask), so no signal ever interrupts a kernel, malloc or a write. One
 * process: a watcher thread takes them with sigwaitinfo and acts by phase:
 *
 *   STOP_PHASE_LOAD  loading, tokenizing, preparing the run: nothing to save,
 *                    the process exits at once with 128 + signal and a message
 *   STOP_PHASE_STEPS training: the request is recorded; the loop polls it
 *                    between steps (stop_poll), saves and exits 128 + signal
 *   STOP_PHASE_EVAL  an evaluation: exits at once (the last checkpoint stays)
 *   STOP_PHASE_FINISH an evaluation whose steps are not saved yet: says it will
 *                    stop after it, and the loop saves and exits as in STEPS
 *
 * A second signal exits at once in any phase: checkpoints are written
 * atomically (temp file + rename), so the last complete one stays intact
 * (the temp file is swept at the next start). A signal sent by the parent
 * process (`pifi experiment` forwards the user's Ctrl-C, which the terminal
 * also sends to the cell directly) never counts as the second one.
 * Under MPI (dist.h) there is no watcher: dist_init blocks the same signals
 * and stop_poll takes pending ones between steps (dist_take_signal).
 *
 * The state is process-wide (one watcher per process), like the handler it
 * replaces. */
#ifndef PIFI_STOPSIG_H
#define PIFI_STOPSIG_H

typedef enum { STOP_PHASE_LOAD, STOP_PHASE_STEPS, STOP_PHASE_EVAL, STOP_PHASE_FINISH } StopPhase;

/* Block the stop signals in this thread (call before any other thread
 * exists), ignore SIGXFSZ (a write past `ulimit -f` then fails with EFBIG and
 * is reported), and start the watcher unless an MPI launcher started us.
 * parent_forwards: the parent process forwards stop signals (an experiment's
 * cell), so a repeated one from it is not a second request. A second call
 * does nothing. */
void stop_begin(int parent_forwards);
/* Stop the watcher, drop signals that came too late to matter, restore the
 * signal mask and dispositions stop_begin changed. */
void stop_end(void);
/* Enter a phase. msg: the line printed when a signal ends the process at
 * once in this phase, the first one in LOAD and EVAL, the second in STEPS and
 * FINISH (without "pifi: " and newline; NULL: a default). A stop requested
 * but not yet acted on when entering LOAD or EVAL exits at once. */
void stop_phase(StopPhase p, const char *msg);
/* The stop signal requested so far (0: none); under MPI it takes a pending
 * one. Each call returns the same signal once one came. */
int stop_poll(void);

#endif
