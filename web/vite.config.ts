/** Builds the dashboard into web/dist (git-ignored), served by `mpota serve` at `/`. */
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  // Preact's JSX through Vite's own transform: no Babel plugin needed.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: resolve(import.meta.dirname, "dist"),
    emptyOutDir: true,
    assetsDir: "assets",
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
