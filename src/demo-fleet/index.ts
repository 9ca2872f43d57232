/** The demo fleet of `mpota serve --demo` (`npm start`): a demo project and virtual boards on a server. */
export { type DemoOptions, type RunningDemo, startDemo } from "./demo.ts";
export { type DemoSetup, setupDemo } from "./setup.ts";
