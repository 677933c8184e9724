/// <reference lib="dom" />
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./style.css";
// The server's own response types: erased from the bundle, they keep the page and the API in step.
import type { WorkflowMetrics } from "../../../metrics/collector.js";

// The console: plain DOM, hash routes (#/threads, #/thread/ID, #/metrics), the server's own API.

type Json = Record<string, unknown>;
const KEY_STORAGE = "orchestra-api-key";
const root = document.getElementById("app")!;

class Unauthorized extends Error {}

/** The token or API key, as a bearer credential: the server tells the two apart, and shows a token's user only their own threads. */
function headers(): Record<string, string> {
  const credential = sessionStorage.getItem(KEY_STORAGE);
  return { "content-type": "application/json", ...(credential ? { authorization: `Bearer ${credential}` } : {}) };
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, { ...init, headers: headers() });
  if (response.status === 401) throw new Unauthorized();
  const text = await response.text();
  const body = text ? (JSON.parse(text) as unknown) : null;
  if (!response.ok) throw new Error(String((body as Json | null)?.message ?? response.statusText));
  return body as T;
}

/** The server's run stream (SSE over POST): yields each event as it arrives. */
async function* runStream(threadId: string, body: Json): AsyncGenerator<{ event: string; data: unknown }> {
  const response = await fetch(`/threads/${encodeURIComponent(threadId)}/runs/stream`, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify(body),
  });
  if (response.status === 401) throw new Unauthorized();
  if (!response.ok || !response.body) throw new Error(((await response.json()) as Json).message as string);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const chunk = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of chunk.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) as unknown };
    }
  }
}

// --- tiny DOM helpers ------------------------------------------------------------------------

type Child = Node | string | null | undefined | false;
function h(
  tag: string,
  attrs: Record<string, string | boolean | ((event: Event) => void)> = {},
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") element.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

const seconds = (ms: number) =>
  ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
function age(iso: string): string {
  const ms = Date.now() - Date.parse(iso);
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m ago`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)}h ago`;
  return `${Math.round(ms / 86_400_000)}d ago`;
}
const badge = (status: string) => h("span", { class: `badge ${status}` }, status);

function shell(active: string, ...content: Child[]): void {
  const link = (href: string, label: string) => h("a", { href, class: active === label ? "active" : "" }, label);
  root.replaceChildren(
    h(
      "header",
      {},
      h("strong", {}, "orchestra"),
      h("nav", {}, link("#/threads", "Threads"), link("#/metrics", "Metrics")),
    ),
    h("main", {}, ...content),
  );
}

function loginPage(): void {
  const input = h("input", {
    type: "password",
    id: "api-key",
    placeholder: "access token or ORCHESTRA_API_KEY",
    autocomplete: "off",
  }) as HTMLInputElement;
  shell(
    "",
    h(
      "form",
      {
        class: "card login",
        onsubmit: (event) => {
          event.preventDefault();
          sessionStorage.setItem(KEY_STORAGE, input.value);
          void route();
        },
      },
      h("h2", {}, "Sign in"),
      h(
        "p",
        {},
        "This server asks who you are: paste an access token from your identity provider, or the API key. It is kept in this tab only and sent with each request.",
      ),
      input,
      h("button", { type: "submit" }, "Continue"),
    ),
  );
}

// --- threads ---------------------------------------------------------------------------------

interface ThreadView {
  thread_id: string;
  status: string;
  created_at: string;
  updated_at: string;
  metadata: Json;
  values: Json | null;
  interrupts: Record<string, { value?: Json }[]>;
}

const reviewOf = (thread: Pick<ThreadView, "interrupts">): Json | undefined =>
  Object.values(thread.interrupts ?? {}).flat()[0]?.value;
const reviewLabel = (value: Json | undefined) => (value ? String(value.point ?? value.stepId ?? "review") : "");
const workflowOf = (thread: ThreadView) => String(thread.values?.workflowName ?? thread.metadata?.graph_id ?? "");

const pendingRuns = new Map<string, Json>();

async function threadsPage(status: string): Promise<void> {
  const [threads, workflows] = await Promise.all([
    api<ThreadView[]>("/threads/search", {
      method: "POST",
      body: JSON.stringify({ limit: 100, ...(status ? { status } : {}) }),
    }),
    api<{ graphs: string[]; definitions: string[] }>("/orchestra/workflows"),
  ]);
  const choice = h(
    "select",
    { id: "new-workflow" },
    h("option", { value: "parallel_workflow" }, "parallel_workflow (research)"),
    ...workflows.definitions.map((name) =>
      h("option", { value: `enterprise:${name}` }, `enterprise_workflow: ${name}`),
    ),
  ) as HTMLSelectElement;
  const task = h("input", {
    id: "new-task",
    placeholder: "Task, e.g. Compare message brokers for an event-sourced billing system",
  }) as HTMLInputElement;
  const start = async (event: Event) => {
    event.preventDefault();
    const enterprise = choice.value.startsWith("enterprise:");
    const graph = enterprise ? "enterprise_workflow" : "parallel_workflow";
    if (!enterprise && !task.value.trim()) {
      task.focus();
      return;
    }
    const thread = await api<ThreadView>("/threads", {
      method: "POST",
      body: JSON.stringify({ metadata: { graph_id: graph } }),
    });
    const input = enterprise
      ? { definition: choice.value.slice("enterprise:".length), input: {} }
      : { task: task.value.trim() };
    pendingRuns.set(thread.thread_id, { assistant_id: graph, input });
    location.hash = `#/thread/${encodeURIComponent(thread.thread_id)}`;
  };
  const filter = h(
    "select",
    {
      id: "status-filter",
      onchange: (event) =>
        (location.hash = `#/threads${(event.target as HTMLSelectElement).value ? `?status=${(event.target as HTMLSelectElement).value}` : ""}`),
    },
    ...["", "idle", "busy", "interrupted", "error"].map((value) =>
      h("option", { value, ...(value === status ? { selected: true } : {}) }, value || "all statuses"),
    ),
  );
  const rows = threads.map((thread) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/thread/${encodeURIComponent(thread.thread_id)}` }, thread.thread_id)),
      h("td", {}, badge(thread.status)),
      h("td", {}, workflowOf(thread)),
      h("td", {}, reviewLabel(reviewOf(thread))),
      h("td", { title: thread.created_at }, age(thread.created_at)),
      h("td", { class: "muted" }, String(thread.values?.task ?? "").slice(0, 80)),
    ),
  );
  shell(
    "Threads",
    h(
      "form",
      { class: "card start", id: "start-form", onsubmit: (event) => void start(event).catch(showError) },
      h("h2", {}, "Start a run"),
      h("div", { class: "row" }, choice, task, h("button", { type: "submit", id: "start-run" }, "Start")),
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "row spread" }, h("h2", {}, `Threads (${threads.length})`), filter),
      threads.length
        ? h(
            "table",
            { id: "threads" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ...["Thread", "Status", "Workflow", "Review point", "Age", "Task"].map((t) => h("th", {}, t)),
              ),
            ),
            h("tbody", {}, ...rows),
          )
        : h("p", { class: "muted" }, "No threads yet: start a run above."),
    ),
  );
}

// --- one thread ------------------------------------------------------------------------------

interface Snapshot {
  values: Json;
  next: string[];
  created_at: string;
  metadata: Json | null;
  checkpoint: { checkpoint_id: string };
  parent_checkpoint: { checkpoint_id: string } | null;
  tasks: { name: string; interrupts: unknown[] }[];
}

interface NodeState {
  status: "pending" | "running" | "done" | "review" | "failed";
  ms?: number;
  runs: number;
}

interface GraphShape {
  nodes: string[];
  edges: [string, string][];
}

/** Layers by longest distance from the start, back edges (the graph's loops) left out of the layering. */
function layout(shape: GraphShape): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>([[shape.nodes[0]!, 0]]);
  const order = [shape.nodes[0]!];
  for (let i = 0; i < order.length; i++) {
    const from = order[i]!;
    for (const [a, b] of shape.edges) {
      if (a !== from || depth.has(b)) continue;
      depth.set(b, depth.get(from)! + 1);
      order.push(b);
    }
  }
  for (const node of shape.nodes) if (!depth.has(node)) depth.set(node, 0);
  const layers = new Map<number, string[]>();
  for (const node of shape.nodes) layers.set(depth.get(node)!, [...(layers.get(depth.get(node)!) ?? []), node]);
  const out = new Map<string, { x: number; y: number }>();
  const widest = Math.max(...[...layers.values()].map((layer) => layer.length));
  for (const [level, layer] of layers)
    layer.forEach((node, i) => out.set(node, { x: (i + (widest - layer.length) / 2) * 190 + 20, y: level * 74 + 16 }));
  return out;
}

function drawGraph(shape: GraphShape, states: Map<string, NodeState>): SVGElement {
  const at = layout(shape);
  const width = Math.max(...[...at.values()].map((p) => p.x)) + 190;
  const height = Math.max(...[...at.values()].map((p) => p.y)) + 70;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "graph", id: "graph" });
  const defs = s("defs", {});
  const marker = s("marker", {
    id: "arrow",
    viewBox: "0 0 10 10",
    refX: 10,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#9aa3b2" }));
  defs.append(marker);
  svg.append(defs);
  for (const [a, b] of shape.edges) {
    const p = at.get(a);
    const q = at.get(b);
    if (!p || !q) continue;
    const back = q.y <= p.y;
    const d = back
      ? `M ${p.x + 170} ${p.y + 22} C ${p.x + 200} ${p.y + 22}, ${q.x + 200} ${q.y + 22}, ${q.x + 170} ${q.y + 22}`
      : `M ${p.x + 85} ${p.y + 44} C ${p.x + 85} ${p.y + 60}, ${q.x + 85} ${q.y - 16}, ${q.x + 85} ${q.y}`;
    svg.append(s("path", { d, class: back ? "edge back" : "edge", "marker-end": "url(#arrow)" }));
  }
  for (const node of shape.nodes) {
    const p = at.get(node)!;
    const state = states.get(node);
    const group = s("g", {
      class: `node ${state?.status ?? "pending"}`,
      "data-node": node,
      transform: `translate(${p.x} ${p.y})`,
    });
    group.append(s("rect", { width: 170, height: 44, rx: 8 }));
    group.append(
      s(
        "text",
        { x: 85, y: 19, "text-anchor": "middle", class: "name" },
        node.length > 24 ? `${node.slice(0, 23)}…` : node,
      ),
    );
    const detail = state
      ? `${state.status}${state.ms !== undefined ? ` · ${seconds(state.ms)}` : ""}${state.runs > 1 ? ` · ×${state.runs}` : ""}`
      : "";
    group.append(s("text", { x: 85, y: 35, "text-anchor": "middle", class: "detail" }, detail));
    svg.append(group);
  }
  return svg;
}

/** Node timing from the thread's history: a step's time is between its checkpoint and the one before, unless a person was answering. */
function statesFromHistory(history: Snapshot[]): Map<string, NodeState> {
  const states = new Map<string, NodeState>();
  const byId = new Map(history.map((snap) => [snap.checkpoint.checkpoint_id, snap]));
  for (const snap of [...history].reverse()) {
    const parent = snap.parent_checkpoint ? byId.get(snap.parent_checkpoint.checkpoint_id) : undefined;
    if (!parent || snap.metadata?.source !== "loop") continue;
    const waited = parent.tasks.some((task) => task.interrupts.length > 0);
    const ms = Date.parse(snap.created_at) - Date.parse(parent.created_at);
    for (const node of parent.next) {
      const previous = states.get(node);
      states.set(node, {
        status: "done",
        runs: (previous?.runs ?? 0) + 1,
        ...(waited ? (previous?.ms !== undefined ? { ms: previous.ms } : {}) : { ms: (previous?.ms ?? 0) + ms }),
      });
    }
  }
  const head = history[0];
  for (const task of head?.tasks ?? []) {
    const previous = states.get(task.name);
    states.set(task.name, {
      ...previous,
      runs: previous?.runs ?? 0,
      status: task.interrupts.length ? "review" : "pending",
    });
  }
  return states;
}

/** An engine thread draws its definition's steps, with each step's own record. */
function engineGraph(values: Json): { shape: GraphShape; states: Map<string, NodeState> } {
  const workflow = values.workflow as { steps: { stepId: string; dependencies: string[] }[] } | undefined;
  const steps = workflow?.steps ?? [];
  const shape: GraphShape = {
    nodes: ["start", ...steps.map((step) => step.stepId)],
    edges: steps.flatMap((step) =>
      step.dependencies.length
        ? step.dependencies.map((d): [string, string] => [d, step.stepId])
        : [["start", step.stepId] as [string, string]],
    ),
  };
  const records = (values.steps ?? {}) as Record<string, { status: string; durationMs?: number }>;
  const states = new Map<string, NodeState>([["start", { status: "done", runs: 1 }]]);
  const map: Record<string, NodeState["status"]> = {
    COMPLETED: "done",
    FAILED: "failed",
    RUNNING: "running",
    WAITING: "review",
    RETRYING: "running",
    SKIPPED: "done",
  };
  for (const step of steps) {
    const record = records[step.stepId];
    states.set(step.stepId, {
      status: map[record?.status ?? ""] ?? "pending",
      runs: record ? 1 : 0,
      ...(record?.durationMs !== undefined ? { ms: record.durationMs } : {}),
    });
  }
  return { shape, states };
}

async function graphShape(graphId: string): Promise<GraphShape> {
  const graph = await api<{ nodes: { id: string }[]; edges: { source: string; target: string }[] }>(
    `/assistants/${graphId}/graph`,
  );
  return { nodes: graph.nodes.map((n) => n.id), edges: graph.edges.map((e) => [e.source, e.target]) };
}

function timeline(values: Json): HTMLElement {
  const audit = (values.auditTrail ?? values.executionTimeline ?? []) as Json[];
  const rows = audit.slice(-60).map((entry) => {
    const at = String(entry.at ?? entry.timestamp ?? "");
    const { at: _a, timestamp: _t, event, ...rest } = entry;
    const detail = Object.entries(rest)
      .filter(([, v]) => v !== undefined && v !== null && typeof v !== "object")
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join(" · ");
    return h(
      "tr",
      {},
      h("td", { class: "muted nowrap" }, at ? new Date(at).toLocaleTimeString() : ""),
      h("td", {}, String(event ?? "")),
      h("td", { class: "muted" }, detail),
    );
  });
  return h("table", { id: "timeline", class: "compact" }, h("tbody", {}, ...rows));
}

function reviewPanel(threadId: string, graphId: string, value: Json, onResume: (command: Json) => void): HTMLElement {
  const reviewer = h("input", {
    id: "reviewer",
    value: localStorage.getItem("orchestra-reviewer") ?? "console",
    placeholder: "your name",
  }) as HTMLInputElement;
  const remember = () => localStorage.setItem("orchestra-reviewer", reviewer.value);
  if (value.kind === "approval") {
    const approvers = (value.approvers ?? []) as string[];
    const role = h(
      "select",
      { id: "approval-role" },
      ...(approvers.length ? approvers : ["(any)"]).map((r) => h("option", { value: r }, r)),
    ) as HTMLSelectElement;
    const comment = h("input", { id: "approval-comment", placeholder: "comment (optional)" }) as HTMLInputElement;
    const decide = (decision: string) => () => {
      remember();
      onResume({
        decision,
        reviewer: reviewer.value,
        ...(approvers.length ? { role: role.value } : {}),
        ...(comment.value ? { comment: comment.value } : {}),
      });
    };
    return h(
      "section",
      { class: "card review", id: "review" },
      h("h2", {}, `Approval: ${String(value.name ?? value.stepId)}`),
      h("p", {}, String(value.question ?? "")),
      value.lastRefusal ? h("p", { class: "error" }, String(value.lastRefusal)) : null,
      h(
        "div",
        { class: "form" },
        h("label", {}, "Reviewer", reviewer),
        h("label", {}, "Role", role),
        h("label", {}, "Comment", comment),
      ),
      h(
        "div",
        { class: "row" },
        h("button", { id: "approve", onclick: decide("approve") }, "Approve"),
        h("button", { class: "danger", id: "reject", onclick: decide("reject") }, "Reject"),
      ),
    );
  }
  const feedback = h("textarea", {
    id: "feedback",
    rows: "2",
    placeholder: "What should change? (sends the run back for a revision)",
  }) as HTMLTextAreaElement;
  const send = (action: string) => () => {
    remember();
    onResume({ action, reviewer: reviewer.value, ...(action === "feedback" ? { feedback: feedback.value } : {}) });
  };
  return h(
    "section",
    { class: "card review", id: "review" },
    h("h2", {}, `Review at ${String(value.point ?? "")}`),
    h("p", {}, String(value.question ?? "")),
    value.error ? h("p", { class: "error" }, String(value.error)) : null,
    h("label", {}, "Reviewer", reviewer),
    feedback,
    h(
      "div",
      { class: "row" },
      h("button", { id: "approve", onclick: send("approve") }, "Approve"),
      h("button", { class: "secondary", id: "send-feedback", onclick: send("feedback") }, "Send feedback"),
      h("button", { class: "danger", id: "reject", onclick: send("reject") }, "Reject"),
    ),
    h("p", { class: "muted small" }, `thread ${threadId} · ${graphId}`),
  );
}

function reportSection(values: Json): HTMLElement | null {
  const report = values.finalReport;
  const quality = (values.integrationResult as Json | undefined)?.qualityMetrics as Json | undefined;
  if (typeof report === "string") {
    return h(
      "section",
      { class: "card", id: "report" },
      h("h2", {}, "Report"),
      quality
        ? h(
            "p",
            { class: "muted" },
            Object.entries(quality)
              .filter(([, v]) => typeof v === "number")
              .map(([k, v]) => `${k} ${(v as number).toFixed(2)}`)
              .join(" · "),
          )
        : null,
      h("pre", { class: "report" }, report),
    );
  }
  if (values.finalResult !== undefined && values.finalResult !== null) {
    return h(
      "section",
      { class: "card", id: "report" },
      h("h2", {}, "Result"),
      h("pre", { class: "report" }, JSON.stringify(values.finalResult, null, 2)),
    );
  }
  return null;
}

async function threadPage(threadId: string): Promise<void> {
  const load = async () => {
    const [thread, history] = await Promise.all([
      api<ThreadView>(`/threads/${encodeURIComponent(threadId)}`),
      api<Snapshot[]>(`/threads/${encodeURIComponent(threadId)}/history?limit=1000`),
    ]);
    return { thread, history };
  };
  let { thread, history } = await load();
  const graphId = String(thread.metadata?.graph_id ?? "parallel_workflow");
  const parallelShape = graphId === "enterprise_workflow" ? undefined : await graphShape(graphId);
  const graphBox = h("div", { class: "graph-box" });
  const live = new Map<string, { started: number }>();
  let states = new Map<string, NodeState>();
  let shape: GraphShape = parallelShape ?? { nodes: [], edges: [] };
  let streaming = false;

  const redraw = () => graphBox.replaceChildren(drawGraph(shape, states));
  const render = () => {
    const values = thread.values ?? {};
    if (parallelShape) states = statesFromHistory(history);
    else ({ shape, states } = engineGraph(values));
    const review = streaming ? undefined : reviewOf(thread);
    const status = streaming ? "busy" : thread.status;
    const done = ["completed", "COMPLETED"].includes(String(values.status ?? ""));
    shell(
      "Threads",
      h(
        "div",
        { class: "row spread title" },
        h("h1", {}, threadId),
        h(
          "div",
          { class: "row" },
          badge(status),
          // The workflow's own status, when it says more than the thread's (completed, failed, rejected).
          h(
            "span",
            { id: "run-status", class: `badge ${done ? "completed" : ""}` },
            String(values.status ?? "") === status ? "" : String(values.status ?? ""),
          ),
          h("span", { class: "muted" }, workflowOf(thread)),
        ),
      ),
      review
        ? reviewPanel(
            threadId,
            graphId,
            review,
            (resume) => void follow({ assistant_id: graphId, command: { resume } }).catch(showError),
          )
        : null,
      h("section", { class: "card" }, h("h2", {}, "Graph"), graphBox),
      reportSection(values),
      h("section", { class: "card" }, h("h2", {}, values.auditTrail ? "Audit trail" : "Timeline"), timeline(values)),
    );
    redraw();
  };

  const follow = async (body: Json) => {
    streaming = true;
    render();
    const modes = parallelShape ? ["updates", "tasks"] : ["updates"];
    for await (const { event, data } of runStream(threadId, { ...body, stream_mode: modes })) {
      if (event === "error") throw new Error(String((data as Json).message ?? "the run failed"));
      if (event === "tasks" && parallelShape) {
        const task = data as {
          id: string;
          name: string;
          interrupts?: unknown[];
          result?: unknown;
          error?: string;
          input?: unknown;
        };
        const previous = states.get(task.name);
        if ("input" in task) {
          live.set(task.id, { started: performance.now() });
          states.set(task.name, { ...previous, runs: (previous?.runs ?? 0) + 1, status: "running" });
        } else {
          const started = live.get(task.id)?.started;
          const status: NodeState["status"] = task.error ? "failed" : task.interrupts?.length ? "review" : "done";
          states.set(task.name, {
            runs: previous?.runs ?? 1,
            status,
            ...(started !== undefined ? { ms: performance.now() - started } : {}),
          });
        }
        redraw();
      } else if (event === "updates" && !parallelShape) {
        thread = await api<ThreadView>(`/threads/${encodeURIComponent(threadId)}`);
        ({ shape, states } = engineGraph(thread.values ?? {}));
        redraw();
      }
    }
    streaming = false;
    ({ thread, history } = await load());
    render();
  };

  render();
  const pending = pendingRuns.get(threadId);
  if (pending) {
    pendingRuns.delete(threadId);
    await follow(pending);
  }
}

// --- metrics ---------------------------------------------------------------------------------

interface Recommendation {
  id: string;
  type: string;
  priority: number;
  description: string;
  expectedImprovement: number;
  implementationEffort: string;
  riskLevel: string;
  specificChanges: Json[];
}
interface Optimization {
  version?: number;
  bottlenecks: { stepId: string; reasons: string[]; severity: number }[];
  recommendations: Recommendation[];
  applied?: { version: number; changes: { path: string }[] };
}

const PALETTE = [
  "#3b6fd8",
  "#2a9d8f",
  "#8a6fd1",
  "#e9a23b",
  "#5aa0c8",
  "#7b8794",
  "#b07d48",
  "#4f9d5d",
  "#c47fb5",
  "#6a7fdb",
];

function durationChart(m: WorkflowMetrics, bottlenecks: Set<string>): HTMLElement {
  const box = h("div", { class: "chart" });
  const steps = m.steps.filter((step) => step.count > 0).map((step) => step.stepId);
  const runs = m.observations;
  if (!runs.length || !steps.length) return h("p", { class: "muted" }, "No finished runs with step timings yet.");
  const xs = runs.map((_, i) => i + 1);
  const series = steps.map((id) =>
    runs.map((run) => {
      const timing = run.steps[id];
      return timing ? (timing.durationMs ?? timing.finishedAt - timing.startedAt) : null;
    }),
  );
  const options: uPlot.Options = {
    width: Math.min(1040, Math.max(480, root.clientWidth - 120)),
    height: 240,
    scales: { x: { time: false, range: [0.5, runs.length + 0.5] } },
    axes: [
      { label: "run", stroke: "#55607a", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] },
      { label: "ms", stroke: "#55607a", size: 60 },
    ],
    legend: { show: true },
    series: [
      { label: "run" },
      ...steps.map((id, i) => ({
        label: bottlenecks.has(id) ? `${id} ⚠` : id,
        stroke: bottlenecks.has(id) ? "#d1495b" : PALETTE[i % PALETTE.length]!,
        width: bottlenecks.has(id) ? 3 : 1.5,
        points: { show: runs.length < 40 },
        spanGaps: true,
      })),
    ],
  };
  requestAnimationFrame(() => new uPlot(options, [xs, ...series] as uPlot.AlignedData, box));
  return box;
}

async function metricsPage(): Promise<void> {
  const all = await api<WorkflowMetrics[]>("/orchestra/metrics");
  const { graphs } = await api<{ graphs: string[] }>("/orchestra/workflows");
  const cards = await Promise.all(
    all.map(async (m) => {
      const optimization = await api<Optimization>(`/orchestra/optimize/${encodeURIComponent(m.workflow)}`);
      const flagged = new Map(optimization.bottlenecks.map((b) => [b.stepId, b]));
      const rows = m.steps.map((step) =>
        h(
          "tr",
          { class: flagged.has(step.stepId) ? "bottleneck" : "" },
          h(
            "td",
            {},
            step.stepId,
            flagged.has(step.stepId)
              ? h("span", { class: "badge failed" }, flagged.get(step.stepId)!.reasons.join(" + "))
              : null,
          ),
          ...[
            String(step.count),
            ...(step.count ? [seconds(step.meanMs)] : ["–"]),
            ...(step.count ? [seconds(step.p50Ms), seconds(step.p95Ms), seconds(step.stdDevMs)] : ["–", "–", "–"]),
            `${Math.round(step.successRate * 100)}%`,
            String(step.retries),
            String(step.timeouts),
            String(step.modelCalls),
          ].map((text) => h("td", { class: "num" }, text)),
        ),
      );
      const applyStatus = h("span", { class: "muted" });
      const recommendations = optimization.recommendations.map((r) =>
        h(
          "li",
          { class: "recommendation" },
          h("div", {}, h("span", { class: `badge ${r.type}` }, `${r.type} · ${r.priority}`), " ", r.description),
          h(
            "div",
            { class: "muted small" },
            `expected ${r.expectedImprovement}% faster · effort ${r.implementationEffort} · risk ${r.riskLevel}`,
          ),
        ),
      );
      const canApply = !graphs.includes(m.workflow) && optimization.recommendations.some((r) => r.type !== "caching");
      const apply = async () => {
        const result = await api<Optimization>(`/orchestra/optimize/${encodeURIComponent(m.workflow)}/apply`, {
          method: "POST",
        });
        applyStatus.textContent = `wrote ${m.workflow} v${result.applied?.version ?? "?"}: ${result.applied?.changes.map((c) => c.path).join(", ") ?? ""}`;
      };
      return h(
        "section",
        { class: "card metrics", "data-workflow": m.workflow },
        h(
          "div",
          { class: "row spread" },
          h(
            "h2",
            {},
            m.workflow,
            optimization.version ? h("span", { class: "muted" }, ` v${optimization.version}`) : null,
          ),
          h(
            "span",
            { class: "muted" },
            `${m.threads} threads · ${m.completed} completed · ${m.failed} failed · wall p50 ${seconds(m.duration.p50Ms)}, p95 ${seconds(m.duration.p95Ms)}`,
          ),
        ),
        durationChart(m, new Set(flagged.keys())),
        h(
          "table",
          { class: "compact" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ...["Step", "Timed", "Mean", "P50", "P95", "σ", "OK", "Retries", "Timeouts", "Model calls"].map((t) =>
                h("th", {}, t),
              ),
            ),
          ),
          h("tbody", {}, ...rows),
        ),
        h("h3", {}, "Recommendations"),
        recommendations.length
          ? h("ul", { class: "recommendations" }, ...recommendations)
          : h("p", { class: "muted" }, "None from the runs measured so far."),
        canApply
          ? h(
              "div",
              { class: "row" },
              h("button", { class: "apply", onclick: () => void apply().catch(showError) }, "Apply as a new version"),
              applyStatus,
            )
          : null,
      );
    }),
  );
  shell("Metrics", h("h1", {}, "Metrics"), ...(cards.length ? cards : [h("p", { class: "muted" }, "No runs yet.")]));
}

// --- routing ---------------------------------------------------------------------------------

function showError(error: unknown): void {
  if (error instanceof Unauthorized) {
    loginPage();
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  document.querySelector(".toast")?.remove();
  document.body.append(h("div", { class: "toast", role: "alert" }, message));
}

async function route(): Promise<void> {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query ?? "");
  try {
    if (path?.startsWith("/thread/")) await threadPage(decodeURIComponent(path.slice("/thread/".length)));
    else if (path === "/metrics") await metricsPage();
    else await threadsPage(params.get("status") ?? "");
  } catch (error) {
    showError(error);
  }
}

window.addEventListener("hashchange", () => void route());
void route();
