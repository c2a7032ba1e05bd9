// Validates every ExternalSecret and ClusterSecretStore in the given multi-document YAML
// files (rendered overlays) against the External Secrets CRD schemas (external-secrets.io/v1) that the npm package
// @kubernetes-models/external-secrets ships. kubernetes-validate knows built-in kinds only.
// Setup:  d=$(mktemp -d); (cd $d && npm init -y && npm install @kubernetes-models/external-secrets@2.0.0 js-yaml@4)
//         cp validate-externalsecrets.mjs $d/ && node $d/validate-externalsecrets.mjs rendered/*.yaml
// Not strict: the package's validator rejects missing required fields and bad enum values,
// not unknown fields (see README.md).
import fs from "fs";
import * as yaml from "js-yaml";
import { ExternalSecret, ClusterSecretStore } from "@kubernetes-models/external-secrets/external-secrets.io/v1";
const kinds = { ExternalSecret, ClusterSecretStore };
let ok = 0, bad = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
    const Kind = doc && kinds[doc.kind];
    if (!Kind) continue;
    const what = `${doc.kind}/${doc.metadata.name}`;
    try { new Kind(doc).validate(); ok++; console.log(`OK   ${file}: ${what}`); }
    catch (e) { bad++; console.log(`FAIL ${file}: ${what}: ${e.message}`); }
  }
}
console.log(`${ok} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
