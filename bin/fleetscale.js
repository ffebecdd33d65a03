#!/usr/bin/env node
"use strict";
// Entry point for `npx fleetscale`; the TypeScript sources are compiled to dist/ by `npm install` (prepare).
if (Number(process.versions.node.split(".")[0]) < 22) process.stderr.write(`fleetscale: Node ${process.version}; Node >= 22 is required\n`);
require("../dist/cli/main.js")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
