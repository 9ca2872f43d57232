import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.ts";
import { CliError, fileSystemError } from "./errors.ts";

export function buildProgram(): Command {
  const program = new Command("mpota")
    .description("Over-the-air updates for MicroPython devices")
    .version("0.1.0")
    // Options after a command name belong to that command (`mpota release --version 1.2.0`);
    // `mpota --version` still prints mpota's own.
    .enablePositionalOptions()
    // Commander's own errors (a missing or unknown option) read like ours: one line, "mpota: …".
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "mpota: ")) })
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/**
 * Runs the CLI; a CliError, a bad argument or a file-system error (EACCES, ENOTDIR, …) becomes one
 * clear line on stderr and exit code 2.
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const cliError = err instanceof CliError ? err : fileSystemError(err);
    if (cliError) {
      process.stderr.write(`mpota: ${cliError.message}\n`);
      process.exitCode = cliError.exitCode;
      return;
    }
    throw err;
  }
}
