// A local webhook receiver for trying the engine's webhook steps:
//   npx tsx scripts/dev_receiver.ts --port 8787
// It logs each request (method, path, idempotency key, body; header values are not logged, they
// may be secrets), acts once per Idempotency-Key and answers repeats with the first answer.
// GET /_received lists what it received, for scripts and tests. `orchestra dev-receiver` runs the same.
import http from "node:http";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";

interface Received {
  method: string;
  path: string;
  idempotencyKey: string | null;
  /** False when the key was seen before: the receiver answered without acting again. */
  acted: boolean;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  at: string;
}

export interface DevReceiverOptions {
  port: number;
  host: string;
  delayMs: number;
  failStatus?: number;
  json: boolean;
}

const integer = (name: string, min: number, max: number) => (text: string) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
  return value;
};

/** The receiver's options on `command`: the script's own program and `orchestra dev-receiver` take the same. */
export function withReceiverOptions(command: Command): Command {
  return command
    .description("Receive webhook calls locally: log them, act once per Idempotency-Key, replay the answer to repeats")
    .option("--port <n>", "port to listen on; 0 picks a free one", integer("--port", 0, 65535), 8787)
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option(
      "--delay-ms <n>",
      "wait this long after acting before answering (a slow endpoint)",
      integer("--delay-ms", 0, 600_000),
      0,
    )
    .option(
      "--fail-status <code>",
      "answer every call with this status without acting (a failing endpoint)",
      integer("--fail-status", 400, 599),
    )
    .option("--json", "log one JSON object per line", false);
}

/** Listens until SIGINT or SIGTERM, then exits 0; a port in use exits 2 with one line. */
export function startDevReceiver(options: DevReceiverOptions): http.Server {
  const received: Received[] = [];
  const answers = new Map<string, Promise<{ status: number; body: unknown }>>();
  let actions = 0;

  function log(entry: Record<string, unknown>, line: string) {
    console.log(options.json ? JSON.stringify(entry) : line);
  }

  function readBody(request: http.IncomingMessage): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let text = "";
      request.setEncoding("utf8");
      request.on("data", (chunk: string) => (text += chunk));
      request.on("error", reject);
      request.on("end", () => {
        try {
          resolve(text ? JSON.parse(text) : null);
        } catch {
          resolve(text);
        }
      });
    });
  }

  const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const server = http.createServer(async (request, response) => {
    const path = request.url ?? "/";
    if (request.method === "GET" && path === "/_received") {
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received));
      return;
    }
    const body = await readBody(request);
    const header = request.headers["idempotency-key"];
    const key = typeof header === "string" && header !== "" ? header : null;
    const method = request.method ?? "GET";
    const at = new Date().toISOString();
    if (options.failStatus !== undefined) {
      received.push({ method, path, idempotencyKey: key, acted: false, headers: request.headers, body, at });
      log(
        { at, method, path, idempotencyKey: key, status: options.failStatus },
        `${at} ${method} ${path} key=${key ?? "-"} → ${options.failStatus} (failing on purpose)`,
      );
      response
        .writeHead(options.failStatus, { "content-type": "application/json" })
        .end(JSON.stringify({ error: "failing on purpose" }));
      return;
    }
    const repeat = key !== null && answers.has(key);
    received.push({ method, path, idempotencyKey: key, acted: !repeat, headers: request.headers, body, at });
    log(
      { at, method, path, idempotencyKey: key, repeat, body },
      `${at} ${method} ${path} key=${key ?? "-"} ${repeat ? "repeat: answered as before" : "acted"} ${JSON.stringify(body)}`,
    );
    let answer: Promise<{ status: number; body: unknown }>;
    if (repeat) answer = answers.get(key)!;
    else {
      const actionId = ++actions;
      answer = delay(options.delayMs).then(() => ({ status: 200, body: { accepted: true, actionId } }));
      if (key !== null) answers.set(key, answer);
    }
    const { status, body: answerBody } = await answer;
    response
      .writeHead(status, { "content-type": "application/json", ...(repeat ? { "idempotent-replayed": "true" } : {}) })
      .end(JSON.stringify(answerBody));
  });

  server.on("error", (error: NodeJS.ErrnoException) => {
    console.error(
      `dev-receiver: cannot listen on ${options.host}:${options.port} (${error.code ?? error.message}); choose another --port`,
    );
    process.exit(2);
  });
  server.listen(options.port, options.host, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    const url = `http://${options.host}:${port}`;
    log({ listening: url }, `dev-receiver listening on ${url} (Ctrl-C to stop)`);
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)));
  return server;
}

// Run as a script (npx tsx scripts/dev_receiver.ts): parse its own arguments.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const program = withReceiverOptions(new Command("dev-receiver"))
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, "dev-receiver: ")) })
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse();
  startDevReceiver(program.opts<DevReceiverOptions>());
}
