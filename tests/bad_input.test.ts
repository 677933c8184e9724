import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.js";
import { createTestSchema, type TestSchema } from "./support/database.js";
import { type ServerProcess, startServer } from "./server/support.js";

// Bad input, the same at every door: the CLI exits 2 and the API answers 4xx, each with one line
// naming the problem, and nothing is written (every table's rows counted before and after).

let db: TestSchema;
let sql: pg.Client;
let server: ServerProcess;
let dir: string;
let env: NodeJS.ProcessEnv;

const LONG_ID = "x".repeat(201);
const SIX_MB = 6 * 1024 * 1024;

beforeAll(async () => {
  db = await createTestSchema();
  sql = new pg.Client({ connectionString: db.databaseUrl });
  await sql.connect();
  server = await startServer(db.schema);
  env = { ORCHESTRA_DB_SCHEMA: db.schema, ORCHESTRA_MODEL: "offline" };
  dir = await mkdtemp(path.join(os.tmpdir(), "orchestra-bad-input-"));
  await writeFile(path.join(dir, "six_mb.json"), `[${" ".repeat(SIX_MB)}]`);
  await writeFile(path.join(dir, "unreadable.json"), "[]");
  await chmod(path.join(dir, "unreadable.json"), 0o000);
  await mkdir(path.join(dir, "folder.json"));
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await sql?.end();
  await db?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Rows of every table in the test's schema. */
async function rowCounts(): Promise<Record<string, number>> {
  const { rows: tables } = await sql.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    [db.schema],
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    counts[name] = (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${db.schema}"."${name}"`))
      .rows[0]!.n;
  }
  return counts;
}

const file = (name: string) => path.join(dir, name);
const ID_RULE = /a thread id is 1 to 200 characters without control characters/;
const TOO_LARGE = /is larger than 5 MB: give a smaller file$/;

// [case, argv, the one line on stderr]. NUL cannot be passed on a command line at all: the API rows test it.
const CLI: [string, () => string[], RegExp][] = [
  ["id with a newline", () => ["run", "x", "--thread", "a\nb"], ID_RULE],
  ["id with a tab", () => ["run", "x", "--thread", "a\tb"], ID_RULE],
  ["id with an escape", () => ["show", "a\u001b[31mb"], ID_RULE],
  ["id of 201 characters", () => ["run", "x", "--thread", LONG_ID], ID_RULE],
  ["empty id", () => ["resume", "", "--approve"], ID_RULE],
  [
    "engine id with a newline",
    () => ["workflow", "run", "financial_transaction", "--input", '{"amount": 1}', "--thread", "a\nb"],
    ID_RULE,
  ],
  ["report of a 201-character id", () => ["report", LONG_ID], ID_RULE],
  ["task file /dev/zero", () => ["run", "--task-file", "/dev/zero"], TOO_LARGE],
  ["task file /dev/urandom", () => ["run", "--task-file", "/dev/urandom"], TOO_LARGE],
  ["task file of 6 MB", () => ["run", "--task-file", file("six_mb.json")], TOO_LARGE],
  ["task file a directory", () => ["run", "--task-file", file("folder.json")], /is a directory: give a file$/],
  ["task file missing", () => ["run", "--task-file", file("missing.json")], /does not exist: check the path$/],
  [
    "dynamic_agents task file /dev/zero",
    () => ["run", "--workflow", "dynamic_agents", "--task-file", "/dev/zero"],
    TOO_LARGE,
  ],
  ["definition /dev/zero", () => ["workflow", "validate", "/dev/zero"], TOO_LARGE],
  ["definition of 6 MB", () => ["workflow", "run", file("six_mb.json")], TOO_LARGE],
  [
    "engine --input @/dev/urandom",
    () => ["workflow", "run", "financial_transaction", "--input", "@/dev/urandom"],
    TOO_LARGE,
  ],
];

describe("the CLI refuses bad input: exit 2, one line, nothing written", () => {
  it.each(CLI)("%s", async (_, args, message) => {
    const before = await rowCounts();
    const result = await runCli(args(), env);
    expect(result.code, result.stderr).toBe(2);
    const line = result.stderr.trim();
    expect(line.split("\n"), line).toHaveLength(1);
    expect(line).toMatch(message);
    expect(await rowCounts()).toEqual(before);
  });

  // Root reads any file, whatever its mode: the case holds for every other user.
  it.skipIf(process.getuid?.() === 0)("a task file it may not read", async () => {
    const before = await rowCounts();
    const result = await runCli(["run", "--task-file", file("unreadable.json")], env);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toMatch(/cannot be read \(permission denied\): check its permissions$/);
    expect(await rowCounts()).toEqual(before);
  });

  it("accepts a legal unicode id and prints it whole", async () => {
    const id = "分析 café ☕ q3";
    const result = await runCli(
      [
        "run",
        "Choose a message broker for an event-sourced billing system",
        "--review",
        "never",
        "--thread",
        id,
        "--json",
      ],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout.trim()).threadId).toBe(id);
  });
});

type ApiCase = [string, string, string, () => { body?: BodyInit; headers?: Record<string, string> }, number, RegExp];
const json = (value: unknown) => () => ({
  body: JSON.stringify(value),
  headers: { "content-type": "application/json" },
});

const API: ApiCase[] = [
  ["thread_id with a newline", "POST", "/threads", json({ thread_id: "a\nb" }), 422, ID_RULE],
  ["thread_id with NUL", "POST", "/threads", json({ thread_id: "a\u0000b" }), 422, ID_RULE],
  ["thread_id of 201 characters", "POST", "/threads", json({ thread_id: LONG_ID }), 422, ID_RULE],
  ["empty thread_id", "POST", "/threads", json({ thread_id: "" }), 422, ID_RULE],
  ["thread id with a newline in the path", "GET", "/threads/a%0Ab", () => ({}), 422, ID_RULE],
  [
    "body over 5 MB",
    "POST",
    "/threads/search",
    () => ({ body: `{"limit": 1${" ".repeat(SIX_MB)}}`, headers: { "content-type": "application/json" } }),
    413,
    /larger than 5242880 bytes/,
  ],
  [
    "body over 5 MB without a length",
    "POST",
    "/threads",
    () => ({
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 6; i++) controller.enqueue(new Uint8Array(1024 * 1024).fill(32));
          controller.close();
        },
      }),
      headers: { "content-type": "application/json" },
    }),
    413,
    /larger than 5242880 bytes/,
  ],
  [
    "text/plain body",
    "POST",
    "/threads",
    () => ({ body: "{}", headers: { "content-type": "text/plain" } }),
    415,
    /request bodies are JSON, not text\/plain/,
  ],
  [
    "form body",
    "POST",
    "/threads",
    () => ({ body: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" } }),
    415,
    /not application\/x-www-form-urlencoded/,
  ],
  ["multipart body", "POST", "/runs", () => ({ body: new FormData() }), 415, /not multipart\/form-data/],
];

/**
 * A large body sent with its length, as curl sends one: headers first, then the body only if no
 * answer has come within a second (curl's Expect wait). The server answers 413 from the length and
 * closes without reading the rest; writing the body into that closed socket would race the answer
 * (EPIPE before the response is parsed), so the body goes out only when the server asked for it.
 */
function sendWithLength(
  url: string,
  method: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; json(): Promise<unknown> }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = http.request(
      url,
      { method, headers: { ...headers, "content-length": Buffer.byteLength(body), connection: "close" } },
      (response) => {
        answered = true;
        let text = "";
        response.on("data", (chunk: Buffer) => (text += chunk));
        response.on("end", () => {
          request.destroy();
          resolve({ status: response.statusCode ?? 0, json: async () => JSON.parse(text) });
        });
      },
    );
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    request.flushHeaders();
    setTimeout(() => {
      if (!answered) request.end(body);
    }, 1_000);
  });
}

describe("the API refuses bad input: 4xx, one line, nothing written", () => {
  it.each(API)("%s", async (_, method, route, request, status, message) => {
    const before = await rowCounts();
    const { body, headers } = request();
    // A refused body is not read: the server answers and the connection is not reused.
    const response =
      typeof body === "string" && body.length > 1024 * 1024
        ? await sendWithLength(`${server.url}${route}`, method, body, headers as Record<string, string>)
        : await fetch(`${server.url}${route}`, {
            method,
            headers: { ...headers, connection: "close" },
            body,
            ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
          } as RequestInit);
    const answer = (await response.json()) as { message: string };
    expect(response.status, answer.message).toBe(status);
    expect(answer.message.split("\n")).toHaveLength(1);
    expect(answer.message).toMatch(message);
    expect(await rowCounts()).toEqual(before);
  });

  it("accepts a legal unicode thread id", async () => {
    const response = await fetch(`${server.url}/threads`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ thread_id: "分析 café ☕ q3" }),
    });
    expect(response.status).toBe(200);
    const read = await fetch(`${server.url}/threads/${encodeURIComponent("分析 café ☕ q3")}`);
    expect(((await read.json()) as { thread_id: string }).thread_id).toBe("分析 café ☕ q3");
  });
});
