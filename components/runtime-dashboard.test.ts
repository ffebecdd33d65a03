/**
 * dashboards/fleetscale-runtime.json is a Grafana dashboard that imports as is: it parses, its
 * panels query the data source chosen in its variable, each has its own place on the 24-column
 * grid, and every variable an expression uses is defined. (That its metric names are exported:
 * runtime-metric-names.cluster-test.ts.)
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { repoRoot } from "../test/support/fleet";

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
}

const dashboard = JSON.parse(readFileSync(join(repoRoot, "dashboards", "fleetscale-runtime.json"), "utf8")) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string }> };
};
const GRAFANA_VARIABLES = new Set(["__rate_interval", "__interval", "__range"]);

describe("the Grafana dashboard", () => {
  it("has a uid, a title and panels with unique ids", () => {
    assert.equal(dashboard.uid, "fleetscale-runtime");
    assert.ok(dashboard.title.length > 0);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it("queries in every panel through the data source variable, with unique refIds", () => {
    assert.ok(dashboard.templating.list.some((v) => v.name === "datasource" && v.type === "datasource"));
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: no query`);
      assert.equal(panel.datasource?.uid, "${datasource}", panel.title);
      const refIds = panel.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: refIds repeat`);
      for (const target of panel.targets) assert.ok(target.expr.trim().length > 0, `${panel.title} ${target.refId}: empty expression`);
    }
  });

  it("places panels inside the 24-column grid without overlaps", () => {
    const panels = dashboard.panels;
    for (const { title, gridPos: g } of panels) assert.ok(g.x >= 0 && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${title}: ${JSON.stringify(g)}`);
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h;
        assert.ok(!overlap, `${a.title} overlaps ${b.title}`);
      }
    }
  });

  it("defines every variable its expressions use", () => {
    const defined = new Set(dashboard.templating.list.map((v) => v.name));
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        for (const [, name] of expr.matchAll(/\$\{?(\w+)\}?/g)) assert.ok(defined.has(name!) || GRAFANA_VARIABLES.has(name!), `${panel.title}: $${name} is not defined`);
      }
    }
  });
});
