/** Every exit code the programs set, in one place: scripts branch on them, so each keeps its meaning. */

export const EXIT_OK = 0;
/** A runtime or cluster failure. */
export const EXIT_RUNTIME = 1;
/** Bad flags, arguments or input: nothing was sent to the cluster. */
export const EXIT_USAGE = 2;
/** `doctor`'s verdicts a script can branch on; 1 and 2 keep their meanings above. */
export const DOCTOR_EXIT = { healthy: EXIT_OK, warning: 3, critical: 4 } as const;
/** Ctrl-C at a prompt: 128 + SIGINT, as a shell reports a process the signal ended. */
export const EXIT_INTERRUPTED = 130;
