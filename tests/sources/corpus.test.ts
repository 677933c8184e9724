import { appendFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { htmlAsText, openCorpus, passagesOf } from "../../nodes/shared/sources/corpus.js";
import { CORPUS, tempDir } from "../support/sources.js";

describe("local corpus", () => {
  it("finds passages by meaning of their words, each with its file and line range as on disk", async () => {
    const corpus = await openCorpus(CORPUS, tempDir("cache"));
    expect(corpus.documents).toBe(20);
    const [first] = corpus.search("Kestrel battery freezing");
    expect(first?.sourceId).toMatch(/^corpus:.*kestrel-(winter-trial|battery-notes)/);
    const [path, range] = first!.location.split(":") as [string, string];
    const [from, to] = range.split("-").map(Number) as [number, number];
    const lines = readFileSync(join(CORPUS, path), "utf8")
      .split("\n")
      .slice(from - 1, to)
      .join("\n");
    expect(lines.trim()).toBe(first!.text);
  });

  it("reads HTML as its text, line for line, without markup or scripts", async () => {
    const html = readFileSync(join(CORPUS, "reference/kestrel-installation.html"), "utf8");
    expect(htmlAsText(html).split("\n")).toHaveLength(html.split("\n").length);
    const passages = passagesOf("x.html", html);
    expect(passages[0]!.title).toBe("Installing a Kestrel sensor");
    expect(passages.map((p) => p.text).join(" ")).not.toMatch(/<|tracking/);
    const mount = passages.find((p) => p.text.includes("Mount the Kestrel"))!;
    expect(
      html
        .split("\n")
        .slice(mount.startLine - 1, mount.endLine)
        .join("\n"),
    ).toContain("Mount the Kestrel");
  });

  it("caches its index and rebuilds it when a file is added or changed", async () => {
    const dir = tempDir("corpus");
    cpSync(CORPUS, dir, { recursive: true });
    const cache = tempDir("cache");
    expect((await openCorpus(dir, cache)).loadedFrom).toBe("files");
    const cached = await openCorpus(dir, cache);
    expect(cached.loadedFrom).toBe("cache");
    expect(cached.search("sourdough starter")[0]?.sourceId).toBe("corpus:reference/sourdough.md");

    writeFileSync(join(dir, "glacier.md"), "# Glaciers\n\nThe Aletsch glacier lost a record volume of ice.\n");
    const added = await openCorpus(dir, cache);
    expect(added.loadedFrom).toBe("files");
    expect(added.search("Aletsch glacier")[0]?.sourceId).toBe("corpus:glacier.md");

    appendFileSync(join(dir, "reference/tax-filing.md"), "\nLate filers pay a zeppelin surcharge.\n");
    const changed = await openCorpus(dir, cache);
    expect(changed.loadedFrom).toBe("files");
    expect(changed.search("zeppelin surcharge")[0]?.sourceId).toBe("corpus:reference/tax-filing.md");
    expect((await openCorpus(dir, cache)).loadedFrom).toBe("cache");
  });
});
