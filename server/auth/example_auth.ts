import { Auth, HTTPException } from "@langchain/langgraph-sdk/auth";
import { authConfigFromEnv } from "./config.js";
import { tokenVerifier } from "./tokens.js";

// An Auth module for langgraph.json's `auth.path` ("./server/auth/example_auth.ts:auth"), with
// LangGraph's custom-auth semantics: each user sees and runs only their own threads,
// writes only under their own store namespace, and only the admin role changes assistants.
// Tokens are verified as the server verifies them (ORCHESTRA_AUTH_JWKS_URL or _PUBLIC_KEY,
// _ISSUER, _AUDIENCE); a module of your own may authenticate any way it likes.

const ADMIN = "admin";
const verify = await tokenVerifier(await authConfigFromEnv());

export const auth = new Auth()
  .authenticate(async (request: Request) => {
    const token = /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!verify)
      throw new HTTPException(500, {
        message: "set ORCHESTRA_AUTH_JWKS_URL (or _PUBLIC_KEY), _ISSUER and _AUDIENCE for this module",
      });
    if (!token) throw new HTTPException(401, { message: "send Authorization: Bearer <token>" });
    return verify(token);
  })
  .on(["threads:create", "threads:create_run"], ({ value, user }) => {
    value.metadata ??= {};
    value.metadata.owner = user.identity;
    return { owner: user.identity };
  })
  .on("threads", ({ user }) => (user.permissions.includes(ADMIN) ? undefined : { owner: user.identity }))
  .on(["assistants:create", "assistants:update", "assistants:delete"], ({ user }) => user.permissions.includes(ADMIN))
  .on("store", ({ value, user }) => {
    if (value.namespace?.[0] !== user.identity)
      throw new HTTPException(403, { message: `store namespaces of ${user.identity} start with "${user.identity}"` });
  });
