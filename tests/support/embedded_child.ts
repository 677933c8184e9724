// Starts the embedded Postgres in a process of its own, for tests/embedded_postgres.test.ts:
//   node --import tsx tests/support/embedded_child.ts <dataDir> <port> <mode>
// prints "ready" once the server is up, then
//   stay:       idles until signalled;
//   leave:      ends at once, with exit code 3;
//   own-sigint: idles, and on SIGINT its own handler lets the process end with exit code 4.
import { startEmbeddedPostgres } from "../../db/embedded.js";

const [dataDir, port, mode] = process.argv.slice(2);
await startEmbeddedPostgres({ dataDir, port: Number(port) });
console.log("ready");
if (mode === "leave") {
  process.exitCode = 3;
} else {
  const idle = setInterval(() => {}, 60_000);
  if (mode === "own-sigint") {
    process.on("SIGINT", () => {
      process.exitCode = 4;
      clearInterval(idle);
    });
  }
}
