import { readFileSync } from "node:fs";
import { Command, CommanderError, type Option } from "commander";
import { commands } from "./commands/index.ts";
import { cliErrorOf } from "./errors.ts";

/** How every option's help line ends: required, choices and default said one way, "(…; …)". */
function optionDescription(option: Option): string {
  const notes: string[] = [];
  if (option.mandatory) notes.push("required");
  if (option.argChoices) notes.push(`one of: ${option.argChoices.join(", ")}`);
  const value = option.defaultValue as unknown;
  const shown =
    option.defaultValueDescription ??
    (value === undefined || typeof value === "boolean"
      ? undefined
      : Array.isArray(value)
        ? value.join(",")
        : String(value));
  if (shown !== undefined) notes.push(`default: ${shown}`);
  return notes.length > 0 ? `${option.description} (${notes.join("; ")})` : option.description;
}

/** Commander's own error methods, which it calls while parsing (not in its typings). */
interface CommanderErrors {
  unknownOption(flag: string): void;
  missingMandatoryOptionValue(option: Option): void;
}

/** `mpota`'s commands: subcommands come from createCommand, so every one behaves the same. */
class MpotaCommand extends Command {
  override createCommand(name?: string): Command {
    return new MpotaCommand(name);
  }

  /**
   * Commander checks required options before unknown ones, so a typo (`--projct x`) would read
   * "required option '--project' not specified". The unknown option, with commander's suggestion of
   * the nearest known one, is what the person needs to hear.
   */
  missingMandatoryOptionValue(option: Option): void {
    const base = Command.prototype as unknown as CommanderErrors;
    const unknown = this.args.find((arg) => /^-[^-]|^--./.test(arg));
    if (unknown !== undefined) base.unknownOption.call(this, unknown);
    base.missingMandatoryOptionValue.call(this, option);
  }
}

/** mpota's version: package.json's, the one number npm and `mpota --version` say. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

export function buildProgram(): Command {
  const program = new MpotaCommand("mpota")
    .description("Over-the-air updates for MicroPython devices")
    .version(packageVersion())
    // Options after a command name belong to that command (`mpota release --version 1.2.0`);
    // `mpota --version` still prints mpota's own.
    .enablePositionalOptions()
    .configureHelp({ optionDescription })
    // Commander's own errors (a missing or unknown option) read like ours: one line, "mpota: …".
    .configureOutput({
      outputError: (text, write) =>
        write(text.replace(/^error: /, "mpota: ").replace(/\n\(Did you mean (.*)\?\)/, "; did you mean $1?")),
    })
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
    const cliError = cliErrorOf(err);
    if (cliError) {
      process.stderr.write(`mpota: ${cliError.message}\n`);
      process.exitCode = cliError.exitCode;
      return;
    }
    throw err;
  }
}
