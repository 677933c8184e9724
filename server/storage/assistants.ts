import { createHash } from "node:crypto";
import type pg from "pg";
import type * as schemas from "../schemas.js";

export interface AssistantRow {
  assistant_id: string;
  graph_id: string;
  name: string;
  description: string | null;
  config: Record<string, unknown>;
  context: Record<string, unknown>;
  metadata: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

// @langchain/langgraph-api's namespace for the assistant it makes per graph: the same graph
// gets the same assistant id on both servers, so clients that stored one keep working.
const GRAPH_ASSISTANT_NAMESPACE = "6ba7b821-9dad-11d1-80b4-00c04fd430c8";

/** RFC 4122 version-5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash("sha1")
    .update(Buffer.from(namespace.replace(/-/g, ""), "hex"))
    .update(name)
    .digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const graphAssistantId = (graphId: string) => uuidV5(graphId, GRAPH_ASSISTANT_NAMESPACE);

/** The assistants and their saved versions. */
export class AssistantsRepo {
  /**
   * Assistants as last read, for queueing runs without reading the assistant again: the statement
   * that queues a run checks the row is still this version (see RunsRepo.queue).
   */
  private readonly recent = new Map<string, AssistantRow>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  private table(name: string): string {
    return `"${this.schema}".${name}`;
  }

  async get(assistantId: string): Promise<AssistantRow | undefined> {
    const { rows } = await this.pool.query<AssistantRow>(
      `SELECT * FROM ${this.table("assistants")} WHERE assistant_id = $1`,
      [assistantId],
    );
    if (rows[0]) this.recent.set(assistantId, rows[0]);
    else this.recent.delete(assistantId);
    return rows[0];
  }

  /** The assistant as last read by this process, else read now. */
  async recentOrGet(assistantId: string): Promise<AssistantRow | undefined> {
    return this.recent.get(assistantId) ?? this.get(assistantId);
  }

  forget(assistantId: string): void {
    this.recent.delete(assistantId);
  }

  /** The assistant each served graph has from the start, named after it. */
  async ensureForGraph(graphId: string, description: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table("assistants")} (assistant_id, graph_id, name, description, metadata)
       VALUES ($1, $2, $2, $3, '{"created_by": "system"}') ON CONFLICT DO NOTHING`,
      [graphAssistantId(graphId), graphId, description],
    );
  }

  /** The new assistant, or undefined when one of that id exists. */
  async create(assistantId: string, payload: schemas.AssistantCreate): Promise<AssistantRow | undefined> {
    const { rows } = await this.pool.query<AssistantRow>(
      `INSERT INTO ${this.table("assistants")} (assistant_id, graph_id, name, description, config, context, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (assistant_id) DO NOTHING RETURNING *`,
      [
        assistantId,
        payload.graph_id,
        payload.name ?? "Untitled",
        payload.description ?? null,
        payload.config ?? {},
        payload.context ?? {},
        payload.metadata ?? {},
      ],
    );
    if (rows[0]) await this.saveVersion(rows[0]);
    return rows[0];
  }

  private async saveVersion(row: AssistantRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.table("assistant_versions")} (assistant_id, version, graph_id, name, description, config, context, metadata)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
      [row.assistant_id, row.version, row.graph_id, row.name, row.description, row.config, row.context, row.metadata],
    );
  }

  /** One page of the assistants matching `payload`, and how many match in all. */
  async search(payload: schemas.AssistantSearch): Promise<{ rows: AssistantRow[]; total: number }> {
    const sortBy = payload.sort_by ?? "created_at";
    const { rows } = await this.pool.query<AssistantRow & { total: number }>(
      `SELECT *, count(*) OVER ()::int AS total FROM ${this.table("assistants")}
       WHERE ($1::text IS NULL OR graph_id = $1) AND ($2::text IS NULL OR name ILIKE '%' || $2 || '%') AND metadata @> $3
       ORDER BY ${sortBy} ${payload.sort_order === "asc" ? "ASC" : "DESC"} LIMIT $4 OFFSET $5`,
      [payload.graph_id ?? null, payload.name ?? null, payload.metadata ?? {}, payload.limit, payload.offset],
    );
    return { rows: rows.map(({ total: _, ...row }) => row), total: rows[0]?.total ?? 0 };
  }

  /** The next version of `current`: the fields `payload` gives replace its own, its metadata merges. */
  async update(current: AssistantRow, payload: schemas.AssistantPatch): Promise<AssistantRow> {
    const { rows } = await this.pool.query<AssistantRow>(
      `UPDATE ${this.table("assistants")} SET graph_id = $2, name = $3, description = $4, config = $5, context = $6,
         metadata = metadata || $7, updated_at = now(),
         -- After the next version of all, not of the current one: setLatest may have gone back.
         version = (SELECT max(version) + 1 FROM ${this.table("assistant_versions")} WHERE assistant_id = $1)
       WHERE assistant_id = $1 RETURNING *`,
      [
        current.assistant_id,
        payload.graph_id ?? current.graph_id,
        payload.name ?? current.name,
        payload.description === undefined ? current.description : payload.description,
        payload.config ?? current.config,
        payload.context ?? current.context,
        payload.metadata ?? {},
      ],
    );
    this.recent.delete(current.assistant_id);
    await this.saveVersion(rows[0]!);
    return rows[0]!;
  }

  async delete(assistantId: string): Promise<void> {
    this.recent.delete(assistantId);
    await this.pool.query(`DELETE FROM ${this.table("assistants")} WHERE assistant_id = $1`, [assistantId]);
  }

  /** Makes version `version` the assistant's current one, as it was saved; undefined when there is no such version. */
  async setLatest(assistantId: string, version: number): Promise<AssistantRow | undefined> {
    const { rows } = await this.pool.query<AssistantRow>(
      `UPDATE ${this.table("assistants")} a SET graph_id = v.graph_id, name = v.name, description = v.description, config = v.config,
         context = v.context, metadata = v.metadata, version = v.version, updated_at = now()
       FROM ${this.table("assistant_versions")} v WHERE a.assistant_id = $1 AND v.assistant_id = $1 AND v.version = $2 RETURNING a.*`,
      [assistantId, version],
    );
    this.recent.delete(assistantId);
    return rows[0];
  }

  /** The assistant's versions, newest first, those whose metadata holds `query.metadata`. */
  async versions(assistantId: string, query: schemas.AssistantVersions): Promise<unknown[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.table("assistant_versions")} WHERE assistant_id = $1 AND metadata @> $2 ORDER BY version DESC LIMIT $3 OFFSET $4`,
      [assistantId, query.metadata ?? {}, query.limit, query.offset],
    );
    return rows;
  }
}
