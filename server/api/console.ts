import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Hono } from "hono";

/**
 * The web console at /console: a page, a script and a stylesheet bundled by esbuild from
 * server/console/web/ sources and npm packages (uPlot), once per process in memory, so nothing is
 * fetched from a CDN and no build output lands in the working tree. The page and its assets
 * hold no data and are served without the API key; every call the console makes to the API
 * sends the key the user typed in.
 */
const WEB = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "console", "web");
// The sources under tsx; their compiled copy when `orchestra` runs from the build in dist/.
const ENTRY =
  ["main.ts", "main.js"].map((file) => path.join(WEB, file)).find((file) => existsSync(file)) ??
  path.join(WEB, "main.ts");

interface Bundle {
  script: string;
  style: string;
}

let bundling: Promise<Bundle> | undefined;

export function consoleBundle(): Promise<Bundle> {
  return (bundling ??= build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    outdir: "/console",
    logLevel: "silent",
  }).then(
    (result) => {
      const text = (ext: string) => result.outputFiles.find((file) => file.path.endsWith(ext))?.text ?? "";
      return { script: text(".js"), style: text(".css") };
    },
    (error: unknown) => {
      bundling = undefined;
      throw error;
    },
  ));
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>orchestra console</title><link rel="stylesheet" href="/console/app.css"></head>
<body><div id="app"></div><script type="module" src="/console/app.js"></script></body></html>`;

export function consoleApi(): Hono {
  const api = new Hono();
  api.get("/console", (c) => c.html(PAGE));
  api.get("/console/", (c) => c.html(PAGE));
  api.get("/console/app.js", async (c) =>
    c.body((await consoleBundle()).script, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  api.get("/console/app.css", async (c) =>
    c.body((await consoleBundle()).style, 200, { "content-type": "text/css; charset=utf-8" }),
  );
  return api;
}
