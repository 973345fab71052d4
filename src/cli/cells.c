/* cells.c: the command line's side of running an experiment's cells in
 * processes of their own (exp/runner.h ExpProcess): each cell's process
 * takes its stop signals itself (stopsig.h) and ends with _exit once it has
 * reported; the grid's process blocks the stop signals around the
 * forwarding handler the runner installs. */
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/stopsig.h"

static void cell_begin(void) { stop_begin(1); /* the parent forwards: a repeat from it is not a second signal */ }

static void cell_end(void) { _exit(0); /* a fork()ed child: no atexit handlers, no stdio of the parent's */ }

static void cells_block(void) {
    stop_end(); /* this process forwards with a handler; each cell watches its own */
    stop_block();
}

const ExpProcess *cli_cell_processes(void) {
    static const ExpProcess P = {cell_begin, cell_end, cells_block, stop_unblock};
    return &P;
}
