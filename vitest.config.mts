import { defineConfig } from "vitest/config";

// Tests start real servers (emulator, Azurite, runner) on port 0; forks keep each file's
// servers in its own process so a crash in one file cannot leave another file's ports open.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
