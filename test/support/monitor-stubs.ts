/** GateMonitor stubs for the Durable Object tests (workerd), one fresh object per call, with their alarms drained. */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { GateMonitorRpc } from "../../src/monitoring/monitor-contract";

export type MonitorStub = ReturnType<typeof env.GATE_MONITOR.get>;

/** `monitor(label)` gives a new object named `gate-<prefix>-<label>-<n>`; `drain()` runs every alarm they left. */
export function monitorStubs(prefix: string) {
  let counter = 0;
  const stubs: MonitorStub[] = [];
  return {
    monitor(label: string) {
      counter += 1;
      const gateId = `gate-${prefix}-${label}-${counter}`;
      const stub = env.GATE_MONITOR.get(env.GATE_MONITOR.idFromName(gateId));
      stubs.push(stub);
      return { gateId, stub, rpc: stub as unknown as GateMonitorRpc };
    },
    /** Alarms are not reset between tests: run any that is left so none fires into a later test. */
    async drain() {
      for (const s of stubs.splice(0)) while (await runDurableObjectAlarm(s)) {}
    },
  };
}
