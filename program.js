"use strict";
// The Pulumi program (Pulumi.yaml `main`): index.ts as `npm run build` compiled it to dist/.
// It lives here, at the project's root, because Pulumi runs a program in the directory of
// its `main`, and kubeconfigPath values and the DistributedReplicas provider's module path
// are relative to the project's root (see bin/compiled.js for why it runs compiled).
const pulumi = require("@pulumi/pulumi");
const { requireCompiled } = require("./bin/compiled.js");

module.exports = requireCompiled(__dirname, "index.js", (message) => new pulumi.RunError(message));
