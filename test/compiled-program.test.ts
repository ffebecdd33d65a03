// The Pulumi program runs from dist/ (program.js, bin/compiled.js): a build older than its
// sources, or none, stops it with what to run instead of previewing the old program.
import * as pulumi from "@pulumi/pulumi";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { repoRoot } from "./support/pulumi";

const { buildSources, staleBuild, requireCompiled } = require(path.join(repoRoot(), "bin", "compiled.js")) as {
  buildSources: (root: string) => string[];
  staleBuild: (root: string, entry: string) => string | undefined;
  requireCompiled: (root: string, entry: string, makeError?: (message: string) => Error) => unknown;
};

let root: string;
const write = (file: string, text: string, secondsAgo: number) => {
  const full = path.join(root, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  const at = Date.now() / 1000 - secondsAgo;
  fs.utimesSync(full, at, at);
};

/** A project built 60 s ago from sources written 120 s ago, with a test directory tsc excludes. */
function builtProject(): void {
  write("tsconfig.json", JSON.stringify({ include: ["index.ts", "lib/**/*.ts"], exclude: ["lib/fixtures"] }), 120);
  write("index.ts", 'export const answer = require("./lib/answer").answer;', 120);
  write("lib/answer.ts", "export const answer = 42;", 120);
  write("lib/types.d.ts", "declare const x: number;", 120);
  write("lib/fixtures/input.ts", "ignored", 0);
  write("dist/index.js", 'exports.answer = require("./lib/answer").answer;', 60);
  write("dist/lib/answer.js", "exports.answer = 42;", 60);
}

describe("running the compiled program", () => {
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-compiled-"));
    builtProject();
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("takes the sources from tsconfig.json: included files and directories, not excluded ones, not declarations", () => {
    assert.deepEqual(buildSources(root).map((file) => path.relative(root, file)).sort(), ["index.ts", path.join("lib", "answer.ts")]);
  });

  it("runs a build newer than every source", () => {
    assert.equal(staleBuild(root, "index.js"), undefined);
    assert.deepEqual(requireCompiled(root, "index.js"), { answer: 42 });
  });

  it("refuses a build older than a source, naming it", () => {
    write("lib/answer.ts", "export const answer = 43;", 0);
    assert.equal(staleBuild(root, "index.js"), `dist/ is older than its sources: ${path.join("lib", "answer.ts")} changed after the last build`);
  });

  it("refuses a source that was never built, and counts the others", () => {
    write("lib/new.ts", "export {};", 0);
    write("index.ts", "export {};", 0);
    assert.equal(staleBuild(root, "index.js"), "dist/ is older than its sources: index.ts and 1 more changed after the last build");
  });

  it("refuses a missing build, and says what to run as the error the caller makes", () => {
    fs.rmSync(path.join(root, "dist"), { recursive: true });
    assert.throws(
      () => requireCompiled(root, "index.js", (message) => new pulumi.RunError(message)),
      (error: unknown) => {
        assert.ok(pulumi.RunError.isInstance(error), "a RunError, whose stack the Pulumi CLI does not print");
        assert.equal(error.message, "dist/index.js is missing: the project is not built. Run `npm run build` (it type-checks and compiles the sources to dist/), then run the command again.");
        return true;
      },
    );
  });
});

describe("program.js, the project's Pulumi program", () => {
  it("stops before loading anything when the build is older than the sources", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "fleetscale-program-"));
    try {
      for (const file of ["program.js", "bin/compiled.js", "tsconfig.json"]) {
        fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
        fs.copyFileSync(path.join(repoRoot(), file), path.join(project, file));
      }
      fs.symlinkSync(path.join(repoRoot(), "node_modules"), path.join(project, "node_modules"), "dir");
      fs.mkdirSync(path.join(project, "dist"));
      fs.writeFileSync(path.join(project, "dist", "index.js"), 'throw new Error("the stale program ran");');
      const past = Date.now() / 1000 - 60;
      fs.utimesSync(path.join(project, "dist", "index.js"), past, past);
      fs.writeFileSync(path.join(project, "index.ts"), "export {};");
      assert.throws(
        () => require(path.join(project, "program.js")),
        (error: unknown) => {
          assert.ok(pulumi.RunError.isInstance(error), String(error));
          assert.match(error.message, /^dist\/ is older than its sources: index\.ts changed after the last build\. Run `npm run build`/);
          return true;
        },
      );
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
