/* stopsig.h: how `pifi train` (and each cell of `pifi experiment`) stops on
 * SIGINT, SIGTERM and SIGUSR1.
 *
 * The signals are blocked from the first statement of main (stop_block) and
 * stay blocked in every thread until the process exits, so no signal ever
 * interrupts a kernel, malloc or a write. One process: a watcher thread
 * takes them from a signalfd and acts by phase:
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
 * Under MPI (dist.h) there is no watcher: the signals are blocked the same
 * way and stop_poll takes pending ones between steps (dist_take_signal).
 *
 * Why no signal is ever lost to a default action or to a race:
 * 1. The mask. main blocks the stop signals before anything else, when its
 *    thread is the only one (no library pifi links starts a thread before
 *    main). Every other thread (the watcher, OpenMP's, oneDNN's, MPI's) is
 *    created later and inherits the mask, and pifi train never unblocks
 *    them, not even at the end (stop_end leaves them blocked). So the kernel
 *    never applies a default action: a stop signal is pending until the
 *    watcher reads it, or dropped when the process exits (one that came
 *    after stop_end: the run is complete, the status is the run's). The only
 *    exception is the parent of `pifi experiment`'s cells (and of a
 *    --seeds/--layer list), which stops the watcher, installs a forwarding
 *    handler and only then unblocks them (stop_unblock), so a pending one is
 *    forwarded, never lost. A signal that comes before main has blocked
 *    them (while the kernel and the dynamic loader start the process) gets
 *    the default action: the process has not started, there is nothing to
 *    say or save; `/proc/PID/status` shows when it can take them (SigBlk).
 * 2. The decisions. The watcher reads the phase and the request and acts in
 *    one critical section of the mutex; stop_phase changes the phase and
 *    checks the request in one critical section too. So each signal is
 *    judged by the phase current when it is taken: a phase change comes
 *    either before (the watcher sees the new phase) or after (stop_phase
 *    sees the request and exits if the new phase exits at once). A request
 *    recorded in STEPS or FINISH is seen by the next stop_poll or the next
 *    LOAD/EVAL, whichever comes first, so none is lost between the last poll
 *    and the end of the run (train_run ends in EVAL).
 * 3. Exiting. Every exit with 128 + signal writes its one-line message
 *    first: die_now (write(2), then _exit, mutex held so no phase change
 *    races with it) or the caller of a loop that stopped. stop_end wakes
 *    the watcher through an eventfd, not pthread_cancel: it returns between
 *    two signals, never in the middle of one.
 *
 * The state is process-wide (one watcher per process). */
#ifndef PIFI_STOPSIG_H
#define PIFI_STOPSIG_H

#include "train/train_run.h"

typedef enum {
    STOP_PHASE_LOAD = TRAIN_PHASE_LOAD,
    STOP_PHASE_STEPS = TRAIN_PHASE_STEPS,
    STOP_PHASE_EVAL = TRAIN_PHASE_EVAL,
    STOP_PHASE_FINISH = TRAIN_PHASE_FINISH,
} StopPhase;

/* Block the stop signals in the calling thread (main's first statement:
 * every thread started later inherits the mask). The first call keeps the
 * mask it found, for stop_unblock. */
void stop_block(void);
/* The mask the first stop_block found: for a command that does not take the
 * stop signals, or a process that has installed a handler for them (a
 * pending one is delivered now). */
void stop_unblock(void);
/* Block the stop signals (stop_block), ignore SIGXFSZ (a write past
 * `ulimit -f` then fails with EFBIG and is reported) and start the watcher
 * unless an MPI launcher started us. parent_forwards: the parent process
 * forwards stop signals (an experiment's cell), so a repeated one from it is
 * not a second request. A second call does nothing. */
void stop_begin(int parent_forwards);
/* Stop the watcher and restore SIGXFSZ. The stop signals stay blocked: one
 * that comes now stays pending, dropped when the process exits or taken by
 * the handler of whoever calls stop_unblock. */
void stop_end(void);
/* Enter a phase. msg: the line printed when a signal ends the process at
 * once in this phase, the first one in LOAD and EVAL, the second in STEPS and
 * FINISH (without "pifi: " and newline; NULL: a default). A stop requested
 * but not yet acted on when entering LOAD or EVAL exits at once. */
void stop_phase(StopPhase p, const char *msg);
/* The stop signal requested so far (0: none); under MPI it takes a pending
 * one. Each call returns the same signal once one came. */
int stop_poll(void);

/* The same as train_run's callbacks (TrainCallbacks.on_phase and
 * .stop_requested): the run's phases are these phases. */
void stop_on_phase(TrainPhase p, const char *msg, void *user);
int stop_requested(void *user);

#endif
