// Validates every ExternalSecret in the given multi-document YAML files (rendered overlays)
// against the External Secrets CRD schema (external-secrets.io/v1) that the npm package
// @kubernetes-models/external-secrets ships. kubernetes-validate knows built-in kinds only.
// Setup:  d=$(mktemp -d); (cd $d && npm init -y && npm install @kubernetes-models/external-secrets@2.0.0 js-yaml@4)
//         cp validate-externalsecrets.mjs $d/ && node $d/validate-externalsecrets.mjs rendered/*.yaml
// Not strict: the package's validator rejects missing required fields and bad enum values,
// not unknown fields (see README.md).
import fs from "fs";
import * as yaml from "js-yaml";
import { ExternalSecret } from "@kubernetes-models/external-secrets/external-secrets.io/v1";
let ok = 0, bad = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    if (!doc || doc.kind !== "ExternalSecret") continue;
    try { new ExternalSecret(doc).validate(); ok++; console.log(`OK   ${file}: ExternalSecret/${doc.metadata.name}`); }
    catch (e) { bad++; console.log(`FAIL ${file}: ExternalSecret/${doc.metadata.name}: ${e.message}`); }
  }
}
console.log(`${ok} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
