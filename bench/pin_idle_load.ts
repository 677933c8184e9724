// Preloaded (node --import) into the servers the bench starts: they plan runs as the bench's own process does.
import { pinIdleLoad } from "./idle_load.js";

pinIdleLoad();
