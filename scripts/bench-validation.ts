// npx ts-node -P tsconfig.json scripts/bench-validation.ts [--backend native|wasm|ts] [--reps N]
// The validation pass of a 2×128 LSTM (B = 50, T = 50) on tinyshakespeare's last 10 %, held out:
// one stream (--val-streams 1, the reading before 0.6.0) against 50 streams side by side (the default
// of a new run, --batch's), in held-out characters per second (median of N passes after a warm-up),
// on the same weights (the same seed, and 200 updates trained first so the states are not trivial).
import path from 'path';
import { Corpus, Trainer } from '../lib';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const backend = option('--backend', 'native') as 'native' | 'wasm' | 'ts';
const reps = Number(option('--reps', '3'));
const shakespeare = path.join(__dirname, '..', '..', 'shared', 'data', 'tinyshakespeare.txt');
const corpus = Corpus.fromFile(shakespeare);
const model = { cell: 'lstm', layers: 2, hidden: 128, batch: 50, seqLength: 50, optimizer: 'adam', valFraction: 0.1, backend } as const;

/** The median pass's wall seconds, and its CPU seconds (this process's threads: on a shared machine the fairer figure). */
function timed(trainer: Trainer): { loss: number; seconds: number; cpu: number } {
  trainer.validationLoss(); // warm-up
  const times: { seconds: number; cpu: number }[] = [];
  let loss = NaN;
  for (let r = 0; r < reps; r++) {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    loss = trainer.validationLoss()!;
    const used = process.cpuUsage(cpu);
    times.push({ seconds: Number(process.hrtime.bigint() - start) / 1e9, cpu: (used.user + used.system) / 1e6 });
  }
  return { loss, ...times.sort((a, b) => a.seconds - b.seconds)[Math.floor(times.length / 2)] };
}

const rows = [1, 50].map((valStreams) => {
  const trainer = new Trainer(corpus, { ...model, valStreams });
  trainer.train(200);
  const characters = trainer.heldOutText.length;
  const { loss, seconds, cpu } = timed(trainer);
  return { valStreams, characters, loss, seconds, cpu, perSecond: characters / seconds };
});
for (const r of rows) {
  console.log(`${backend}  --val-streams ${String(r.valStreams).padStart(2)}: ${r.characters} characters in ${r.seconds.toFixed(3)} s = ${Math.round(r.perSecond)} characters/s (CPU ${r.cpu.toFixed(3)} s), validation loss ${r.loss.toFixed(4)}`);
}
console.log(`speed-up: ${(rows[1].perSecond / rows[0].perSecond).toFixed(1)}× in wall time, ${(rows[0].cpu / rows[1].cpu).toFixed(1)}× in CPU time`);
