// Crash and resume, over and over: the long run of harness/crash-resume.ts (npm test runs 5 kills).
//   npx ts-node -P tsconfig.json scripts/crash-resume.ts [--kills N] [--seed S] [--keep] [--json]
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { crashResume } from '../harness/crash-resume';

const argv = process.argv.slice(2);
const value = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`crash-resume: ${name} must be a non-negative integer`);
    process.exit(2);
  }
  return n;
};
const kills = value('--kills', 50);
const seed = value('--seed', 1);
const json = argv.includes('--json');
const keep = argv.includes('--keep');
const work = keep ? mkdtempSync(path.join(tmpdir(), 'rnn-crash-')) : undefined;
crashResume({ kills, seed, work, keep, log: json ? undefined : (line) => console.log(line) }).then((f) => {
  if (json) {
    console.log(JSON.stringify(f));
  } else {
    console.log(
      [
        `kills: ${f.kills} (start-up ${f.moments.startup}, running ${f.moments.running}, right after a checkpoint event ${f.moments.afterCheckpoint})`,
        `resumes: ${f.resumes} started, ${f.resumesSeenTraining} seen training before the kill`,
        `killed before the first checkpoint: ${f.killedBeforeFirstCheckpoint}${f.beforeFirstCheckpointMessages.map((m) => `\n  ${m}`).join('')}`,
        `checkpoints verified: ${f.checkpointsVerified} (latest and best after each kill); unreadable: ${f.unreadable}`,
        `steps: ${f.firstStep} after the first kill with a checkpoint, ${f.lastStep} after the last; progressed at ${f.progressed} kills; never backwards: ${!f.failures.some((x) => x.includes('went back'))}`,
        `leftover temp files: ${f.tempFiles} at the end (most at once: ${f.tempFilesMax})${f.tempFileNames.length ? `: ${f.tempFileNames.join(' ')}` : ''}`,
        `final resume to completion: ${f.finalResumeOk ? 'ok' : 'FAILED'}; loss.csv reads as one run: ${f.lossCsvOk ? 'yes' : 'NO'}`,
        `failures: ${f.failures.length}; ${f.seconds.toFixed(1)} s${keep ? `; kept ${work}` : ''}`,
      ].join('\n')
    );
  }
  process.exit(f.failures.length === 0 ? 0 : 1);
});
