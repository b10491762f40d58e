// Boundary fuzz of the native addon, the long run (npm test runs a short one): every export called
// with seeded random arguments in a child process (harness/fuzz-native.ts).
//   npx ts-node -P tsconfig.json scripts/fuzz-native.ts    # RNN_FUZZ_CALLS (default 200,000), RNN_FUZZ_SEED
import { runInChild } from '../harness/fuzz-native';

function main(): void {
  const seed = Number(process.env.RNN_FUZZ_SEED ?? 1);
  const calls = Number(process.env.RNN_FUZZ_CALLS ?? 200_000);
  console.log(`fuzzing the native addon: seed ${seed}, ${calls} calls, in a child process`);
  const result = runInChild(seed, calls);
  if (result.report) {
    const rate = Math.round(result.report.calls / result.report.seconds);
    console.log(`${result.report.calls} calls in ${result.report.seconds.toFixed(1)} s (${rate}/s); outcomes:`);
    for (const [key, n] of Object.entries(result.report.outcomes).sort()) console.log(`  ${key.padEnd(32)} ${n}`);
  }
  console.log(result.summary);
  process.exitCode = result.report?.ok && result.status === 0 ? 0 : 1;
}

main();
