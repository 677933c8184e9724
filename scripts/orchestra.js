#!/usr/bin/env node
// The `orchestra` command. Registers tsx so the TypeScript sources run as they are,
// with no build step between editing and running.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./orchestra.ts");
await main();
