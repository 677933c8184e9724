// Runs the LangGraph API server on langgraph.json, the way upstream tests it
// (libs/langgraph-api/tests/utils.server.mts), for tests/server_api.test.ts:
//   node --import tsx tests/support/langgraph_server_child.ts <port> <storageDir>
// prints "ready <port>" once it listens (port 0: one the OS picks). startServer cannot be
// closed: the test ends this process.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { startServer } from "@langchain/langgraph-api/server";
import { PROJECT_ROOT } from "./cli.js";

const [port, storageDir] = process.argv.slice(2);
const config = JSON.parse(await readFile(path.join(PROJECT_ROOT, "langgraph.json"), "utf8")) as {
  graphs: Record<string, string>;
  env: Record<string, string>;
};
Object.assign(process.env, config.env);

// The server resolves graph paths and keeps its file storage under cwd: absolute graph
// paths let cwd be a temporary directory, so no test run leaves state in the repository.
const graphs = Object.fromEntries(
  Object.entries(config.graphs).map(([id, spec]) => [id, path.resolve(PROJECT_ROOT, spec)]),
);
const { host } = await startServer({ port: Number(port), nWorkers: 2, host: "127.0.0.1", cwd: storageDir!, graphs });
console.log(`ready ${host.split(":").at(-1)}`);
