import { createHash, randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { extname, join, relative, resolve, sep } from "node:path";
import MiniSearch from "minisearch";
import type { SourcePassage } from "../../../state/shared/citations.js";

/** The kinds of file a corpus is read from; everything else in the folder is left alone. */
export const CORPUS_EXTENSIONS = [".md", ".markdown", ".txt", ".html", ".htm"] as const;

/** Bumped whenever passages or the index options change shape, so old caches are rebuilt. */
const INDEX_FORMAT = 1;
/** A paragraph longer than this is cut into windows, so a citation's line range stays readable. */
const MAX_PASSAGE_LINES = 12;

interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

interface StoredPassage {
  id: string;
  path: string;
  title: string;
  startLine: number;
  endLine: number;
  text: string;
}

interface CachedIndex {
  format: number;
  root: string;
  files: FileStamp[];
  index: unknown;
}

const INDEX_OPTIONS = {
  fields: ["title", "text"],
  storeFields: ["path", "title", "startLine", "endLine", "text"],
  searchOptions: { boost: { title: 2 }, prefix: true, fuzzy: 0.2 },
};

/** Where indexes are cached unless told: ORCHESTRA_CACHE_DIR, else the user's cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORCHESTRA_CACHE_DIR) return env.ORCHESTRA_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "orchestra", "corpus");
}

async function corpusFiles(root: string, dir = root): Promise<FileStamp[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const found: FileStamp[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    // Hidden folders (.git, caches) and installed packages are never part of what the user wrote.
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await corpusFiles(root, path)));
    else if (entry.isFile() && (CORPUS_EXTENSIONS as readonly string[]).includes(extname(entry.name).toLowerCase())) {
      const info = await stat(path);
      found.push({ path: relative(root, path).split(sep).join("/"), size: info.size, mtimeMs: info.mtimeMs });
    }
  }
  return found;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/**
 * HTML as text, line for line: markup and script or style bodies are blanked but their newlines
 * kept, so a passage's line range points into the file as it is on disk.
 */
export function htmlAsText(html: string): string {
  const blank = (block: string) => block.replace(/[^\n]/g, "");
  return html
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, blank)
    .replace(/<!--[\s\S]*?-->/g, blank)
    .replace(/<[^>]*>/g, (tag) => blank(tag) || " ")
    .replace(/&(#\d+|[a-z]+);/gi, (whole, name: string) =>
      name.startsWith("#") ? String.fromCodePoint(Number(name.slice(1))) : (ENTITIES[name.toLowerCase()] ?? whole),
    )
    .split("\n")
    .map((line) => line.replace(/[ \t]+/g, " ").trim())
    .join("\n");
}

function titleOf(path: string, raw: string, text: string): string {
  const html = /<title[^>]*>([^<]+)<\/title>/i.exec(raw)?.[1];
  const heading = /^#\s+(.+)$/m.exec(text)?.[1] ?? /^\s*(\S.{0,100})$/m.exec(text)?.[1];
  return (html ?? heading ?? path).trim();
}

/** The file's paragraphs (runs of non-blank lines), long ones cut into windows, with 1-based line ranges. */
export function passagesOf(path: string, raw: string): StoredPassage[] {
  const text = /\.html?$/i.test(path) ? htmlAsText(raw) : raw;
  const title = titleOf(path, raw, text);
  const lines = text.split(/\r?\n/);
  const passages: StoredPassage[] = [];
  let start = -1;
  const close = (end: number) => {
    for (let from = start; from < end; from += MAX_PASSAGE_LINES) {
      const to = Math.min(end, from + MAX_PASSAGE_LINES);
      const body = lines.slice(from, to).join("\n").trim();
      if (body)
        passages.push({ id: `${path}:${from + 1}-${to}`, path, title, startLine: from + 1, endLine: to, text: body });
    }
    start = -1;
  };
  lines.forEach((line, i) => {
    if (line.trim() === "") {
      if (start >= 0) close(i);
    } else if (start < 0) start = i;
  });
  if (start >= 0) close(lines.length);
  return passages;
}

/** A folder of documents, searchable by passage. */
export interface Corpus {
  root: string;
  /** How the index was obtained this time: read from the cache or built from the files. */
  loadedFrom: "cache" | "files";
  documents: number;
  search(query: string, limit?: number): SourcePassage[];
}

function toSourcePassage(hit: Record<string, unknown>): SourcePassage {
  const path = String(hit.path);
  return {
    sourceId: `corpus:${path}`,
    title: String(hit.title),
    location: `${path}:${Number(hit.startLine)}-${Number(hit.endLine)}`,
    text: String(hit.text),
  };
}

const sameFiles = (a: FileStamp[], b: FileStamp[]) =>
  a.length === b.length &&
  a.every((f, i) => f.path === b[i]!.path && f.size === b[i]!.size && f.mtimeMs === b[i]!.mtimeMs);

async function readCache(file: string): Promise<CachedIndex | undefined> {
  try {
    const cached = JSON.parse(await readFile(file, "utf8")) as CachedIndex;
    return cached.format === INDEX_FORMAT ? cached : undefined;
  } catch {
    // Missing or unreadable: either way the files are the truth and the index is rebuilt.
    return undefined;
  }
}

/**
 * Opens a corpus, from its cached index when no file was added, removed or changed (by size or
 * modification time) since the index was built, else by indexing the files and caching the result.
 * The cache lives outside the corpus, keyed by the folder's absolute path, so a read-only or shared
 * folder works and the user's files are never touched.
 */
export async function openCorpus(dir: string, cacheDir = defaultCacheDir()): Promise<Corpus> {
  const root = resolve(dir);
  const files = await corpusFiles(root);
  const cacheFile = join(cacheDir, `${createHash("sha256").update(root).digest("hex").slice(0, 24)}.json`);
  const cached = await readCache(cacheFile);
  let index: MiniSearch;
  let loadedFrom: Corpus["loadedFrom"];
  if (cached && cached.root === root && sameFiles(cached.files, files)) {
    index = MiniSearch.loadJSON(JSON.stringify(cached.index), INDEX_OPTIONS);
    loadedFrom = "cache";
  } else {
    index = new MiniSearch(INDEX_OPTIONS);
    for (const file of files) index.addAll(passagesOf(file.path, await readFile(join(root, file.path), "utf8")));
    await mkdir(cacheDir, { recursive: true });
    // Written aside and renamed, so a reader never sees half an index; a name of its own per
    // write, since a run's branches open the same corpus at once and each may rebuild it.
    const partial = `${cacheFile}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(partial, JSON.stringify({ format: INDEX_FORMAT, root, files, index } satisfies CachedIndex));
    await rename(partial, cacheFile);
    loadedFrom = "files";
  }
  return {
    root,
    loadedFrom,
    documents: files.length,
    search: (query, limit = 5) => index.search(query).slice(0, limit).map(toSourcePassage),
  };
}
