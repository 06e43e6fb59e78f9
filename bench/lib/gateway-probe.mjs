/**
 * Preloaded (`node --expose-gc --import ./bench/lib/gateway-probe.mjs dist/main.js`) into the
 * gateway for the memory and profile runs only, never for the latency/throughput runs.
 * Over the IPC channel: {cmd:"mem"} -> full GC, then {type:"mem", ...process.memoryUsage()};
 * {cmd:"exit"} -> process.exit(0), so `--cpu-prof` gets to write its profile (Nest's shutdown
 * hooks re-raise the signal, which kills the process before the profile is written).
 */
process.on('message', (msg) => {
  if (msg?.cmd === 'mem') {
    globalThis.gc?.();
    process.send({ type: 'mem', ...process.memoryUsage() });
  } else if (msg?.cmd === 'exit') {
    process.exit(0);
  }
});
