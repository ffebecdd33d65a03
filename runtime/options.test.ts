import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_OPTIONS, parseOptions } from "./options";

describe("runtime options", () => {
  it("defaults to what the ScalerHub Deployment expects", () => {
    const options = parseOptions([]);
    assert.equal(options.kubeconfig, undefined);
    assert.deepEqual(
      [options.probeIntervalMs, options.notReadyDeadlineMs, options.healthPort, options.metricsPort, options.leaseName],
      [2_000, 300_000, 8080, 9090, DEFAULT_OPTIONS.leaseName],
    );
    assert.match(options.identity, new RegExp(`-${process.pid}$`));
  });

  it("takes flags over environment variables over defaults", () => {
    process.env.FLEETSCALE_NAMESPACE = "from-env";
    process.env.FLEETSCALE_PROBE_INTERVAL = "3s";
    try {
      const fromEnv = parseOptions([]);
      assert.deepEqual([fromEnv.namespace, fromEnv.probeIntervalMs], ["from-env", 3_000]);
      const fromFlags = parseOptions(["--namespace", "from-flag", "--probe-interval", "500ms", "--kubeconfig", "/tmp/hub", "--identity", "r1"]);
      assert.deepEqual([fromFlags.namespace, fromFlags.probeIntervalMs, fromFlags.kubeconfig, fromFlags.identity], ["from-flag", 500, "/tmp/hub", "r1"]);
    } finally {
      delete process.env.FLEETSCALE_NAMESPACE;
      delete process.env.FLEETSCALE_PROBE_INTERVAL;
    }
  });

  it("rejects a bad duration or port instead of running with it", () => {
    assert.throws(() => parseOptions(["--probe-interval", "soon"]), /positive duration/);
    assert.throws(() => parseOptions(["--health-port", "70000"]), /port number/);
    assert.throws(() => parseOptions(["--workers", "0"]), /--workers.*whole number of at least 1/);
    assert.throws(() => parseOptions(["--hub-burst", "1.5"]), /--hub-burst.*whole number/);
    assert.throws(() => parseOptions(["--member-qps", "0"]), /--member-qps.*positive number/);
    assert.throws(() => parseOptions(["--member-qps", "lots"]), /--member-qps.*positive number/);
  });

  it("bounds the work: workers and per-cluster rate limits, by flag or environment", () => {
    assert.deepEqual(
      (({ workers, memberQps, memberBurst, hubQps, hubBurst }) => [workers, memberQps, memberBurst, hubQps, hubBurst])(parseOptions([])),
      [16, 50, 100, 50, 100],
    );
    process.env.FLEETSCALE_MEMBER_QPS = "7.5";
    try {
      const o = parseOptions(["--workers", "4", "--hub-qps", "20", "--hub-burst", "40", "--member-burst", "15"]);
      assert.deepEqual([o.workers, o.memberQps, o.memberBurst, o.hubQps, o.hubBurst], [4, 7.5, 15, 20, 40]);
    } finally {
      delete process.env.FLEETSCALE_MEMBER_QPS;
    }
  });
});
