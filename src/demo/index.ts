/** `mpota demo`: the whole update story of one board, on a virtual board, told in plain words. */
import pc from "picocolors";
import { type StoryOptions, tellStory } from "./story.ts";

export { type BoardStatus, boardStatus } from "./board.ts";
export {
  EXAMPLE_APP,
  EXAMPLE_PROJECT,
  type ExampleVariant,
  exampleAppTree,
  exampleMain,
  exampleRelease,
} from "./example.ts";
export { DemoFailure, type StoryOptions } from "./story.ts";

/**
 * Runs the demo, printing each line through `say`: releases 1.0.0, 1.1.0 and a broken 1.2.0 of the
 * example app published to a site on 127.0.0.1, and a virtual board updating from it. Throws
 * DemoFailure when the board does not do what the story says. Leaves nothing behind.
 */
export async function runDemo(say: (line: string) => void, options: StoryOptions = {}): Promise<void> {
  const started = Date.now();
  say(pc.bold("mpota demo: one board's update story, on this machine (no hardware needed)"));
  say("");
  await tellStory(say, options);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  say("");
  say(
    pc.green(
      `Done in ${seconds} s: 1.0.0 → 1.1.0 (confirmed) → 1.2.0 (crashed, rolled back) → 1.1.0, ` +
        "all on this machine; nothing left behind.",
    ),
  );
}
