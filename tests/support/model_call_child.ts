// One model call in a process of its own, for the breaker test: the model endpoint, database and
// breaker settings come from the environment.
//   node --import tsx tests/support/model_call_child.ts
// Prints {ok: true} or {ok: false, error} as JSON.
import { createChatModel } from "../../models/index.js";

try {
  await createChatModel("openai:gpt-4o-mini").invoke("Say hello.");
  console.log(JSON.stringify({ ok: true }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: (error as Error).message }));
}
