/**
 * A progress bar on stderr for long CLI work (cli-progress). It appears only once the work has
 * lasted a moment, never with --json; off a terminal (CI, pipes) it prints a plain line now and then.
 */
export interface Progress {
  update(done: number, total: number, label?: string): void;
  stop(): void;
}

const SHOW_AFTER_MS = 400;

export async function startProgress(title: string, options: { quiet?: boolean } = {}): Promise<Progress> {
  if (options.quiet) return { update() {}, stop() {} };
  const { SingleBar } = await import("cli-progress");
  const started = Date.now();
  let bar: InstanceType<typeof SingleBar> | undefined;
  return {
    update(done, total, label = "") {
      if (!bar) {
        if (Date.now() - started < SHOW_AFTER_MS || done >= total) return;
        bar = new SingleBar({
          format: `${title} [{bar}] {value}/{total} {label}`,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          noTTYOutput: !process.stderr.isTTY,
          notTTYSchedule: 2000,
        });
        bar.start(total, done, { label });
      }
      bar.setTotal(total);
      bar.update(done, { label });
    },
    stop() {
      bar?.stop();
    },
  };
}
