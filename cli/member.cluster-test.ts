import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalFleet } from "../test/support/fleet";
import { ProjectStack } from "../test/support/project-stack";
import { repoRoot } from "../test/support/pulumi";
import { deployment } from "../test/support/workloads";

describe("fleetscale member, with the real Pulumi CLI", () => {
  let fleet: LocalFleet;
  let stack: ProjectStack;
  const fleetscale = (...args: string[]) => {
    const run = spawnSync(process.execPath, [join(repoRoot(), "bin/fleetscale.js"), ...args, "--stack", stack.stack, "--cwd", repoRoot()], { encoding: "utf8", env: stack.env });
    return { code: run.status, stdout: run.stdout, stderr: run.stderr };
  };
  const configText = () => readFileSync(stack.configFile, "utf8");

  before(async () => {
    fleet = LocalFleet.start({ clusters: ["hub", "member-1", "member-2"] });
    for (const member of ["member-1", "member-2"]) fleet.apply(member, deployment("web", 1));
    stack = await ProjectStack.create({
      hub: { kubeconfigPath: fleet.cluster("hub").kubeconfig, namespace: "fleetscale-system", replicas: 1 },
      members: { "member-1": { kubeconfigPath: fleet.cluster("member-1").kubeconfig, weight: 1 } },
      workloads: { web: { totalTargetReplicas: 4, scaledObjectSpec: { scaleTargetRef: { name: "web" } } } },
    });
  });
  after(async () => {
    try {
      if (stack) await stack.destroy();
    } finally {
      stack?.cleanup();
      fleet?.down();
    }
  });

  it("rejects bad input naming the option, and leaves the stack config untouched", () => {
    const before = configText();
    const cases: [string[], RegExp][] = [
      [["member", "add", "Member_2", "--kubeconfig", fleet.cluster("member-2").kubeconfig], /<name>: must be a DNS-1123 label/],
      [["member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", "-1"], /--weight: must be a whole number in decimal digits, not "-1"/],
      [["member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", ""], /--weight: must be a whole number in decimal digits, not ""/],
      [["member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", "0x10"], /--weight: must be a whole number in decimal digits, not "0x10"/],
      [["member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", "1000001"], /--weight: Too big/],
      [["member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--api-url", "not a url"], /--api-url: /],
      [["member", "add", "member-2", "--kubeconfig", "/nonexistent"], /--kubeconfig: ENOENT/],
      [["member", "add", "member-1", "--kubeconfig", fleet.cluster("member-2").kubeconfig], /member "member-1" already exists/],
      [["member", "remove", "nobody"], /no member "nobody"/],
    ];
    for (const [args, expected] of cases) {
      const run = fleetscale(...args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, expected);
    }
    assert.equal(configText(), before);
  });

  it("adds a member at weight 0, to drain it, and removes it again", () => {
    const before = configText();
    const added = fleetscale("member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", "0", "--by-path");
    assert.equal(added.code, 0, added.stderr);
    assert.match(configText(), /member-2:\s+kubeconfigPath: \S+\s+weight: 0\b/);
    assert.equal(fleetscale("member", "remove", "member-2").code, 0);
    assert.equal(configText(), before);
  });

  it("add stores the kubeconfig as a secret; up onboards; list shows health, weight and workloads; remove offboards", async () => {
    const added = fleetscale("member", "add", "member-2", "--kubeconfig", fleet.cluster("member-2").kubeconfig, "--weight", "3");
    assert.equal(added.code, 0, added.stderr);
    const text = configText();
    assert.match(text, /member-2:\s+kubeconfig:\s+secure: /);
    assert.equal(text.includes(/client-key-data: (\S+)/.exec(fleet.kubeconfig("member-2"))![1]!.slice(0, 40)), false, "the kubeconfig is encrypted");
    assert.match(text, /weight: 3/);

    const listing = fleetscale("member", "list", "--output", "json");
    assert.equal(listing.code, 0, listing.stderr);
    const beforeUp = JSON.parse(listing.stdout);
    assert.equal(beforeUp.find((m: { name: string }) => m.name === "member-2").health, "not onboarded (run pulumi up)");

    await stack.up();
    const listed = fleetscale("member", "list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^member-1\s+https:\/\/127\.0\.0\.1:\d+\s+Ready\s+1\s+web$/m);
    assert.match(listed.stdout, /^member-2\s+https:\/\/127\.0\.0\.1:\d+\s+Ready\s+3\s+web$/m);

    const removed = fleetscale("member", "remove", "member-2");
    assert.equal(removed.code, 0, removed.stderr);
    assert.doesNotMatch(configText(), /member-2/);
    await stack.up();
    assert.equal(fleet.kubectl("member-2", "get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/managed-by=fleetscale", "-o", "name").trim(), "");
  });
});
