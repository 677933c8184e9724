// A stand-in for $EDITOR: rewrites the first branch's summary and claims (or the research synthesis's
// summary) in the file it is given, as a reviewer correcting the content would.
import { readFileSync, writeFileSync } from "node:fs";

const file = process.argv[2];
const doc = JSON.parse(readFileSync(file, "utf8"));
if (doc.branches) {
  const first = doc.branches[Object.keys(doc.branches)[0]];
  first.summary = "Edited by the reviewer";
  first.findings = first.findings.map((f, i) => ({ ...f, claim: `Reviewer's corrected claim ${i + 1}` }));
} else {
  doc.research.summary = "Edited by the reviewer";
}
writeFileSync(file, JSON.stringify(doc, null, 2));
