/**
 * The `regstack` command's exit codes: one table, used by every command and documented in docs/cli.md, so a script
 * can tell "it failed" from "you called it wrong" from "another instance is doing it".
 */
export const EXIT = {
  /** Done; for `doctor` and `validate`, no check failed (warnings allowed). */
  ok: 0,
  /** Failed: one line on stderr (a configuration error lists every problem); `doctor`/`validate`: a check failed. */
  failure: 1,
  /** Called wrong: an unknown command or option, a missing or invalid argument. Nothing was done. */
  usage: 2,
  /** `purge` only: another instance holds the purge lock right now; nothing was done. */
  locked: 3,
  /** Interrupted: Ctrl-C at a prompt (`init`, `create-admin`); 128 + SIGINT, as a shell reports it. Nothing was done. */
  interrupted: 130,
} as const;

/** Thrown when the user interrupts a prompt (Ctrl-C): the command ends with EXIT.interrupted, nothing done. */
export class Interrupted extends Error {}

/** The table as `--help` shows it. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT.ok}  done (doctor, validate: no check failed)`,
  `  ${EXIT.failure}  failed, or a doctor/validate check failed (the reason is printed on stderr)`,
  `  ${EXIT.usage}  usage error: unknown command or option, bad argument; nothing was done`,
  `  ${EXIT.locked}  purge: another instance is purging right now; nothing was done`,
  `  ${EXIT.interrupted}  interrupted at a prompt (Ctrl-C); nothing was done`,
].join('\n');
