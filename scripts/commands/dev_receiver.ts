import type { Command } from "commander";
import { withReceiverOptions, type DevReceiverOptions } from "../dev_receiver.js";
import { examples, subcommand } from "./shared.js";

export function register(program: Command): void {
  withReceiverOptions(subcommand(program, "dev-receiver"))
    .addHelpText(
      "after",
      examples(
        "orchestra dev-receiver --port 8787",
        "orchestra dev-receiver --port 0 --json   # a free port, JSON lines",
      ),
    )
    .action(async (options: DevReceiverOptions) => {
      const { startDevReceiver } = await import("../dev_receiver.js");
      const server = startDevReceiver(options);
      // Runs until Ctrl-C: the receiver exits the process itself.
      await new Promise((resolve) => server.on("close", resolve));
    });
}
