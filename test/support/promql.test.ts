import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { metricNames } from "./promql";

describe("metricNames", () => {
  it("finds bare, selected and ranged names, and skips functions, aggregations, keywords, labels and strings", () => {
    assert.deepEqual(metricNames('(max(fleetscale_leader{namespace="a"}) or vector(0)) < 1'), ["fleetscale_leader"]);
    assert.deepEqual(
      metricNames('count by (member) (fleetscale_member_state{state="Excluded"} == 1 and on (instance) fleetscale_leader == 1) > 0'),
      ["fleetscale_leader", "fleetscale_member_state"],
    );
    assert.deepEqual(metricNames("sum without (le) (rate(x_bucket[5m:1m] offset 1h)) / ignoring (a) group_left (b) y"), ["x_bucket", "y"]);
    assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le) (rate(h_bucket{job=~"$job"}[$__rate_interval])))'), ["h_bucket"]);
    assert.deepEqual(metricNames('label_replace(up, "dst", "$1", "src", "(.*)") * 1e3 + sum(z) by (k)'), ["up", "z"]);
    assert.deepEqual(metricNames("a_total unless b_total or bool c"), ["a_total", "b_total", "c"]);
  });
});
