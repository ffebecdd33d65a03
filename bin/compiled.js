"use strict";
// Runs compiled code from dist/ only when it is as new as the TypeScript it was built from.
//
// The Pulumi program runs from dist/ (program.js), not through ts-node: ts-node type-checks
// every file it has not seen before, 6-7.5 s of CPU at the first preview after an edit. Type
// checking is `npm run build`'s job. What this file guards against is the silent failure of
// that split: sources edited since the last build, and a preview that shows the old program.
// Plain JavaScript, so that it runs before anything is built.
const fs = require("node:fs");
const path = require("node:path");

/** The .ts sources `npm run build` compiles: tsconfig.json's `include` ("dir/**\/*.ts" or a file) minus `exclude`. */
function buildSources(root) {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(root, "tsconfig.json"), "utf8"));
  const excluded = new Set((tsconfig.exclude ?? []).map((dir) => path.join(root, dir)));
  const sources = [];
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (excluded.has(full)) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) sources.push(full);
    }
  };
  for (const pattern of tsconfig.include ?? []) {
    if (pattern.endsWith("/**/*.ts")) walk(path.join(root, pattern.slice(0, -"/**/*.ts".length)));
    else if (fs.existsSync(path.join(root, pattern))) sources.push(path.join(root, pattern));
  }
  return sources;
}

/**
 * Why the build in `<root>/dist` cannot be run, in words, or undefined when it can: `entry`
 * (relative to dist/) missing, or sources changed after their compiled output was written.
 */
function staleBuild(root, entry) {
  const outDir = path.join(root, "dist");
  if (!fs.existsSync(path.join(outDir, entry))) return `dist/${entry} is missing: the project is not built`;
  const stale = [];
  for (const source of buildSources(root)) {
    const relative = path.relative(root, source);
    const compiled = path.join(outDir, relative.replace(/\.ts$/, ".js"));
    let builtAt;
    try {
      builtAt = fs.statSync(compiled).mtimeMs;
    } catch {
      stale.push(`${relative} (never built)`);
      continue;
    }
    if (fs.statSync(source).mtimeMs > builtAt) stale.push(relative);
  }
  if (stale.length === 0) return undefined;
  const more = stale.length > 1 ? ` and ${stale.length - 1} more` : "";
  return `dist/ is older than its sources: ${stale[0]}${more} changed after the last build`;
}

/** Requires `<root>/dist/<entry>`, or throws `makeError(message)` saying to build first. */
function requireCompiled(root, entry, makeError = (message) => new Error(message)) {
  const problem = staleBuild(root, entry);
  if (problem !== undefined) throw makeError(`${problem}. Run \`npm run build\` (it type-checks and compiles the sources to dist/), then run the command again.`);
  return require(path.join(root, "dist", entry));
}

module.exports = { buildSources, staleBuild, requireCompiled };
