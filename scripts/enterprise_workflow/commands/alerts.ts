import type { Command } from "commander";
import {
  examples,
  JSON_OPTION,
  printJson,
  subcommand,
  withCheckpointer,
  type JsonOption,
} from "../../commands/shared.js";

/**
 * `orchestra alerts list` and `orchestra alerts test`: the SLA alerts' states in the database, and a
 * test alert through the configured channels (the log, and ORCHESTRA_ALERT_WEBHOOK when set).
 */

async function listAlerts(options: JsonOption): Promise<void> {
  const { migrateEnterpriseControls, listSlaAlerts } = await import(
    "../../../checkpoints/enterprise_workflow/controls.js"
  );
  const alerts = await withCheckpointer(async (db) => {
    await migrateEnterpriseControls(db.pool, db.schema);
    return listSlaAlerts(db.pool, db.schema);
  });
  if (options.json) {
    printJson(alerts);
    return;
  }
  if (!alerts.length) {
    process.stdout.write("no SLA alert has fired\n");
    return;
  }
  const width = Math.max(...alerts.map((alert) => alert.key.length), 3);
  const lines = alerts.map(
    (alert) => `${alert.key.padEnd(width)}  ${(alert.firing ? "FIRING" : "resolved").padEnd(8)}  ${alert.changedAt}`,
  );
  process.stdout.write([`${"KEY".padEnd(width)}  ${"STATE".padEnd(8)}  SINCE`, ...lines].join("\n") + "\n");
}

async function testAlert(options: JsonOption): Promise<void> {
  const { alertSettings, deliverAlert } = await import("../../../nodes/enterprise_workflow/sla.js");
  // Checked first: a bad setting is one line and exit 2, before anything is sent.
  alertSettings(process.env);
  const alert = {
    status: "firing" as const,
    key: "orchestra/(test)/test",
    workflow: "orchestra",
    detail: "a test alert from 'orchestra alerts test'",
    at: new Date().toISOString(),
  };
  const deliveries = await deliverAlert(alert, process.env);
  if (options.json) printJson({ alert, deliveries });
  else
    for (const delivery of deliveries)
      process.stdout.write(`${delivery.channel}: ${delivery.ok ? "sent" : `failed: ${delivery.error}`}\n`);
  if (deliveries.some((delivery) => !delivery.ok)) process.exitCode = 1;
}

export function register(program: Command): void {
  const alerts = subcommand(program, "alerts")
    .description(
      "SLA alerts of engine workflows: which fired and are firing, and a test through the configured channels.",
    )
    .addHelpText("after", examples("orchestra alerts list", "orchestra alerts test --json"));
  subcommand(alerts, "list")
    .description("Each SLA alert that has fired (workflow/step/target), FIRING or resolved, and since when.")
    .option(...JSON_OPTION)
    .addHelpText("after", examples("orchestra alerts list", "orchestra alerts list --json"))
    .action(listAlerts);
  subcommand(alerts, "test")
    .description(
      "Sends a test alert to the log and, when ORCHESTRA_ALERT_WEBHOOK is set, to the webhook, signed with ORCHESTRA_ALERT_SECRET; exits 1 when a channel failed.",
    )
    .option(...JSON_OPTION)
    .addHelpText(
      "after",
      examples(
        "orchestra alerts test",
        "ORCHESTRA_ALERT_WEBHOOK=https://hooks.example.com/orchestra orchestra alerts test --json",
      ),
    )
    .action(testAlert);
}
