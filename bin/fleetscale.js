#!/usr/bin/env node
"use strict";
// Entry point for `npx fleetscale`; the TypeScript sources are compiled to dist/ by `npm install` (prepare).
const { existsSync } = require("node:fs");
const { join } = require("node:path");

// The project brings Node 22 (devDependency "node"); an older `node` on PATH hands over to it.
if (Number(process.versions.node.split(".")[0]) < 22) {
  const projectNode = join(__dirname, "../node_modules/.bin/node");
  if (!existsSync(projectNode)) {
    process.stderr.write(`fleetscale: Node ${process.version}; Node >= 22 is required (run npm ci)\n`);
    process.exit(1);
  }
  const run = require("node:child_process").spawnSync(projectNode, [__filename, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(run.status ?? 1);
}

require("../dist/cli/main.js")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
