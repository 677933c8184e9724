import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ensureConfiguration, SETTINGS_KEYS } from "../../state/parallel_workflow/configuration.js";
import { InputError } from "../../state/shared/errors.js";

function configError(configurable: Record<string, unknown>): InputError {
  try {
    ensureConfiguration({ configurable });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error(`expected ensureConfiguration to reject ${JSON.stringify(configurable)}`);
}

beforeEach(() => {
  // The default model depends on the environment: make it the offline one.
  vi.stubEnv("ORCHESTRA_MODEL", undefined);
  vi.stubEnv("OPENAI_API_KEY", undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
});

describe("ensureConfiguration", () => {
  it("declares the keys the CLI, the server and the tests use", () => {
    expect([...SETTINGS_KEYS].sort()).toEqual(
      [
        ...["branchTimeoutMs", "maxConcurrency", "maxRetries", "maxRevisions", "model", "qualityThreshold", "review"],
        ...["corpus", "mcp", "webSearch", "toolBudget", "toolTimeoutMs", "toolLoopTimeoutMs"],
      ].sort(),
    );
  });

  it("fills in the defaults: review always, quality threshold 0.8, the offline model without a key", () => {
    const expected = {
      model: "offline",
      review: "always",
      qualityThreshold: 0.8,
      maxRetries: 2,
      maxRevisions: 2,
      maxConcurrency: 5,
      branchTimeoutMs: 120_000,
      webSearch: false,
      toolBudget: 6,
      toolTimeoutMs: 20_000,
      toolLoopTimeoutMs: 60_000,
    };
    expect(ensureConfiguration()).toEqual(expected);
    expect(ensureConfiguration({})).toEqual(expected);
    expect(ensureConfiguration({ configurable: {} })).toEqual(expected);
  });

  it("defaults to an OpenAI model when a key is set", () => {
    vi.stubEnv("OPENAI_API_KEY", "sk-test");
    expect(ensureConfiguration().model).toMatch(/^openai:\S+$/);
  });

  it("reports an invalid ORCHESTRA_MODEL as an input error naming it, unless a model is given", () => {
    vi.stubEnv("ORCHESTRA_MODEL", "bogus");
    expect(() => ensureConfiguration()).toThrow(InputError);
    expect(() => ensureConfiguration()).toThrow(/ORCHESTRA_MODEL/);
    expect(ensureConfiguration({ configurable: { model: "offline" } }).model).toBe("offline");
  });

  it("takes the given values", () => {
    expect(
      ensureConfiguration({
        configurable: {
          model: "openai:gpt-4o-mini",
          review: "never",
          qualityThreshold: 0.65,
          maxRetries: 0,
          maxRevisions: 3,
          maxConcurrency: 2,
          branchTimeoutMs: 5_000,
          corpus: "/srv/docs",
          mcp: "/srv/mcp.json",
          toolBudget: 3,
        },
      }),
    ).toEqual({
      model: "openai:gpt-4o-mini",
      review: "never",
      qualityThreshold: 0.65,
      maxRetries: 0,
      maxRevisions: 3,
      maxConcurrency: 2,
      branchTimeoutMs: 5_000,
      corpus: "/srv/docs",
      mcp: "/srv/mcp.json",
      webSearch: false,
      toolBudget: 3,
      toolTimeoutMs: 20_000,
      toolLoopTimeoutMs: 60_000,
    });
  });

  it("treats null and undefined as not given, and ignores keys that are not settings", () => {
    const settings = ensureConfiguration({
      configurable: { review: null, qualityThreshold: undefined, thread_id: "t-1", checkpoint_ns: "" },
    });
    expect(settings.review).toBe("always");
    expect(settings.qualityThreshold).toBe(0.8);
    expect(settings).not.toHaveProperty("thread_id");
  });

  it("reads an assistant's or a run's context, which wins over configurable key by key", () => {
    const settings = ensureConfiguration({
      configurable: { review: "never", qualityThreshold: 0.5 },
      context: { qualityThreshold: 0.95, maxRetries: 0 },
    });
    expect(settings).toMatchObject({ review: "never", qualityThreshold: 0.95, maxRetries: 0 });
    expect(() => ensureConfiguration({ context: { maxConcurrency: 0 } })).toThrow(
      /^invalid configuration: maxConcurrency:/,
    );
  });

  it("rejects an invalid review value, naming review", () => {
    const error = configError({ review: "sometimes" });
    expect(error.message).toMatch(/^invalid configuration: review:/);
  });

  it("rejects an invalid model spec, naming model", () => {
    for (const model of ["gpt-4o", "anthropic:claude", "openai:", "", "OFFLINE"]) {
      expect(configError({ model }).message).toMatch(/^invalid configuration: model:/);
    }
  });

  it("rejects out-of-range numbers, naming the key", () => {
    expect(configError({ qualityThreshold: 1.5 }).message).toMatch(/qualityThreshold:/);
    expect(configError({ qualityThreshold: -0.1 }).message).toMatch(/qualityThreshold:/);
    expect(configError({ maxRetries: -1 }).message).toMatch(/maxRetries:/);
    expect(configError({ maxRetries: 1.5 }).message).toMatch(/maxRetries:/);
    expect(configError({ maxRevisions: 11 }).message).toMatch(/maxRevisions:/);
    expect(configError({ maxConcurrency: 0 }).message).toMatch(/maxConcurrency:/);
    expect(configError({ branchTimeoutMs: 10 }).message).toMatch(/branchTimeoutMs:/);
  });

  it("accepts the bounds of the ranges", () => {
    const settings = ensureConfiguration({
      configurable: { qualityThreshold: 1, maxRetries: 10, maxRevisions: 0, maxConcurrency: 1, branchTimeoutMs: 100 },
    });
    expect(settings).toMatchObject({
      qualityThreshold: 1,
      maxRetries: 10,
      maxRevisions: 0,
      maxConcurrency: 1,
      branchTimeoutMs: 100,
    });
  });
});
