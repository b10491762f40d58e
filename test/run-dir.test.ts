// Run-directory integrity: the lock under simultaneous starts, samples.txt that generated text cannot
// confuse, a text that changes while it is read, loss.csv headers, advice that keeps the user's work,
// and a report that does not check another text as the run's.
import assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import fs, { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { Corpus } from '../lib/text/corpus';
import { UserError } from '../lib/util/errors';
import { parseLossCsv } from '../lib/report/plot';
import { parseSamples, writeReport } from '../lib/report/report';
import { RUN_FILES as RUN_FILE_NAMES, RunDir, sampleRecordHeading } from '../lib/run/run-dir';
import { generatedText } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });

describe('run directory integrity', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-rundir-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, generatedText(20_000));
  let count = 0;
  /** A tiny model that logs every 10 updates, and TINY: the same without samples. */
  const TINY_SAMPLING = ['--hidden', '8', '--log-every', '10', '--quiet'];
  const TINY = [...TINY_SAMPLING, '--sample-every', '0'];
  /** A new run of `steps` updates on `data`, with a checkpoint at its end. */
  const trained = (steps: number, data = text) => {
    const out = path.join(dir, `run-${++count}`);
    const result = run(['train', '--data', data, ...TINY, '--steps', String(steps), '--out', out]);
    assert.strictEqual(result.status, 0, result.stderr);
    return out;
  };

  describe('the lock', () => {
    /** Starts `n` resumes of out together; settles when each has either exited or started training. */
    async function startTogether(out: string, n: number) {
      const children: { child: ChildProcess; stdout: string; stderr: string; status?: number | null }[] = [];
      const settled: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const child = spawn(process.execPath, [cli, 'train', '--resume', out, '--steps', '100000000', '--log-every', '1000000'], { env });
        const entry = { child, stdout: '', stderr: '' } as (typeof children)[number];
        children.push(entry);
        child.stderr!.on('data', (d) => (entry.stderr += d));
        settled.push(
          new Promise((resolve) => {
            child.stdout!.on('data', (d) => {
              entry.stdout += d;
              if (entry.stdout.includes('resuming')) resolve();
            });
            child.on('exit', (status) => {
              entry.status = status;
              resolve();
            });
          })
        );
      }
      await Promise.all(settled);
      return children;
    }

    it('backs off when another process takes a stale lock over between its reading and its takeover', async () => {
      const out = path.join(dir, `run-${++count}`);
      mkdirSync(out);
      writeFileSync(path.join(out, 'latest.safetensors'), ''); // RunDir.open only asks that it exists
      const lockPath = path.join(out, '.lock');
      writeFileSync(lockPath, '999999999');
      const rival = spawn('sleep', ['30']);
      const readFileSync = fs.readFileSync;
      let raced = false;
      // Right after this process has read the stale lock, the rival replaces it with its own.
      (fs as { readFileSync: unknown }).readFileSync = (...args: Parameters<typeof fs.readFileSync>) => {
        const content = readFileSync(...args);
        if (!raced && (args[0] === lockPath || typeof args[0] === 'number')) {
          raced = true;
          fs.unlinkSync(lockPath);
          fs.writeFileSync(lockPath, String(rival.pid));
        }
        return content;
      };
      try {
        assert.throws(
          () => RunDir.open(out),
          (e: Error) => e instanceof UserError && e.message.includes(`in use by another rnn-native process (pid ${rival.pid});`)
        );
      } finally {
        (fs as { readFileSync: unknown }).readFileSync = readFileSync;
        rival.kill();
      }
      assert.ok(raced);
      assert.strictEqual(fs.readFileSync(lockPath, 'utf8'), String(rival.pid), 'the rival keeps its lock');
    });

    const priorLocks: [string, string | undefined][] = [
      ['no lock', undefined],
      ['the lock of a dead process', '999999999'],
      ['a garbage lock file', 'not a pid\n'],
      ['an empty lock file', ''],
    ];
    for (const [what, content] of priorLocks) {
      it(`lets exactly one of 8 simultaneous resumes train, after ${what}`, async () => {
        const out = trained(10);
        if (content !== undefined) writeFileSync(path.join(out, '.lock'), content);
        const children = await startTogether(out, 8);
        const training = children.filter((c) => c.status === undefined);
        const refused = children.filter((c) => c.status === 2 && /in use by another rnn-native process/.test(c.stderr));
        for (const c of training) c.child.kill('SIGTERM');
        await Promise.all(training.map((c) => new Promise((resolve) => (c.child.exitCode !== null ? resolve(null) : c.child.on('exit', resolve)))));
        assert.strictEqual(training.length, 1, `${training.length} trained: ${children.map((c) => `${c.status} ${c.stderr}`).join(' | ')}`);
        assert.strictEqual(refused.length, 7, children.map((c) => `${c.status} ${c.stderr}`).join(' | '));
        // Stopped by the SIGTERM (143, or the signal itself when it came before the handler was installed).
        assert.ok(training[0].child.exitCode === 143 || training[0].child.signalCode === 'SIGTERM');
      });
    }
  });

  describe('samples.txt', () => {
    const record = (step: number, text: string) => `${sampleRecordHeading(step, 1, Array.from(text).length)}\n${text}\n\n`;
    const tricky = 'ab\n--- step 99, smooth loss 1.000 ---\ncd\n\n--- step 5, smooth loss 2.000, 3 characters ---\n🙂\n';

    it('reads a sample whose text holds heading-like lines as one sample', () => {
      const content = record(10, tricky) + record(20, '\n\n') + record(30, '--- step 1, smooth loss 1.000 ---');
      assert.deepStrictEqual(parseSamples(content, 's'), [
        { step: 10, smoothLoss: 1, text: tricky },
        { step: 20, smoothLoss: 1, text: '\n\n' },
        { step: 30, smoothLoss: 1, text: '--- step 1, smooth loss 1.000 ---' },
      ]);
    });

    it('round-trips heading-like text through the writer, resume truncation and the reader', () => {
      const out = path.join(dir, `run-${++count}`);
      const runDir = RunDir.create(out);
      runDir.appendSample(10, 1.5, tricky);
      runDir.appendSample(20, 1.25, '--- step 30, smooth loss 1.000 ---');
      runDir.appendSample(30, 1, tricky);
      const read = () => parseSamples(readFileSync(runDir.samplesPath, 'utf8'), 'samples.txt');
      assert.deepStrictEqual(read(), [
        { step: 10, smoothLoss: 1.5, text: tricky },
        { step: 20, smoothLoss: 1.25, text: '--- step 30, smooth loss 1.000 ---' },
        { step: 30, smoothLoss: 1, text: tricky },
      ]);
      runDir.truncateAfter(20);
      assert.deepStrictEqual(read().map((sample) => sample.step), [10, 20]);
    });

    it('reads old runs (headings without a length), also when a resume appended new samples', () => {
      const old = '--- step 10, smooth loss 5.000 ---\nab\n\n--- step 20, smooth loss 4.500 ---\ncd\n\n';
      assert.deepStrictEqual(parseSamples(old + record(30, tricky), 's'), [
        { step: 10, smoothLoss: 5, text: 'ab' },
        { step: 20, smoothLoss: 4.5, text: 'cd' },
        { step: 30, smoothLoss: 1, text: tricky },
      ]);
    });

    it('names a sample cut short or a damaged file', () => {
      const cut = (content: string, message: RegExp) =>
        assert.throws(() => parseSamples(content, 's.txt'), (e: Error) => e instanceof UserError && message.test(e.message));
      cut(record(10, 'ab') + record(20, 'abcdef').slice(0, -4), /s\.txt: the sample of step 20 is cut short/);
      cut(record(10, 'ab') + '--- step 2', /s\.txt: a sample heading is cut short/);
      cut(record(10, 'ab').replace('2 characters', '1 characters'), /s\.txt: damaged: the sample of step 10 is not 1 characters/);
    });

    it('round-trips heading-like text through resume (truncation) and report, for new and old runs', () => {
      const out = trained(20);
      const kept = record(10, tricky) + record(20, 'plain');
      writeFileSync(path.join(out, 'samples.txt'), kept + record(30, '--- step 15, smooth loss 1.000 ---\nx') + record(40, 'abc').slice(0, -3));
      let result = run(['train', '--resume', out, '--steps', '21', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(readFileSync(path.join(out, 'samples.txt'), 'utf8'), kept, 'samples after step 20 dropped, the rest byte for byte');
      const md = readFileSync(writeReport(out).markdownPath, 'utf8');
      assert.deepStrictEqual([...md.matchAll(/^### Step (\d+),/gm)].map((m) => m[1]), ['10', '20']);
      assert.ok(md.includes('```text\n' + tricky + '\n```'), 'the tricky sample in one piece');

      const oldRun = trained(20);
      const old = '--- step 10, smooth loss 5.000 ---\nab\n\n--- step 20, smooth loss 4.500 ---\ncd\n\n';
      writeFileSync(path.join(oldRun, 'samples.txt'), old + '--- step 30, smooth loss 4.000 ---\nef\n\n');
      result = run(['train', '--resume', oldRun, '--steps', '21', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(readFileSync(path.join(oldRun, 'samples.txt'), 'utf8'), old);
    });
  });

  describe('a text that changes while it is read', () => {
    /** Reads file, rewriting it with `replacement` between the two passes (the first ends at progress 0.5). */
    const readChanging = (original: string, replacement?: string) => {
      const file = path.join(dir, `changing-${++count}.txt`);
      writeFileSync(file, original);
      utimesSync(file, 1e9, 1e9); // in the past: a rewrite within the same clock tick still changes it
      let changed = false;
      return () =>
        Corpus.fromFile(file, (fraction) => {
          if (fraction === 0.5 && !changed && replacement !== undefined) {
            changed = true;
            writeFileSync(file, replacement);
          }
        });
    };
    const changedError = (e: Error) => e instanceof UserError && /changing-\d+\.txt: the file changed while it was read/.test(e.message);

    it('refuses a character the first pass did not see (never indexes it as symbol 0)', () => {
      assert.throws(readChanging('abcabc\n', 'abcabz\n'), changedError);
    });

    it('refuses the same characters in another order (the second pass hashes what it indexes)', () => {
      assert.throws(readChanging('abcabc\n', 'cbacba\n'), changedError);
    });

    it('refuses a longer or shorter text', () => {
      assert.throws(readChanging('abcabc\n', 'abcabcabc\n'), changedError);
      assert.throws(readChanging('abcabc\n', 'abc\n'), changedError);
    });

    it('refuses a file written again with the same text (its modification time changed)', () => {
      assert.throws(readChanging('abcabc\n', 'abcabc\n'), changedError);
    });

    it('reads an unchanged file as before', () => {
      const corpus = readChanging('abcabc\n')();
      assert.deepStrictEqual(Array.from(corpus.indices), [1, 2, 3, 1, 2, 3, 0]);
    });
  });

  describe('loss.csv', () => {
    const resumeTo = (out: string, steps: number) => {
      const result = run(['train', '--resume', out, '--steps', String(steps), '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      return parseLossCsv(readFileSync(path.join(out, 'loss.csv'), 'utf8'), 'loss.csv').map((row) => row.step);
    };

    it('gets its header back when a resume finds it empty', () => {
      const out = trained(20);
      writeFileSync(path.join(out, 'loss.csv'), '');
      assert.deepStrictEqual(resumeTo(out, 30), [30]);
    });

    it('gets its header back when a resume finds it without one, keeping the rows', () => {
      const out = trained(20);
      const csv = path.join(out, 'loss.csv');
      writeFileSync(csv, readFileSync(csv, 'utf8').split('\n').slice(1).join('\n'));
      assert.deepStrictEqual(resumeTo(out, 30), [10, 20, 30]);
    });

    it('drops a row cut short by a kill', () => {
      const out = trained(20);
      const csv = path.join(out, 'loss.csv');
      writeFileSync(csv, readFileSync(csv, 'utf8') + '3');
      assert.deepStrictEqual(resumeTo(out, 30), [10, 20, 30]);
    });
  });

  describe('advice for a run without latest.safetensors', () => {
    it('says how to go on from best.safetensors, and that works', () => {
      const out = trained(20);
      rmSync(path.join(out, 'latest.safetensors'));
      for (const args of [['--resume', out], ['--data', text, ...TINY, '--steps', '30', '--out', out]]) {
        const result = run(['train', ...args]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /copy best\.safetensors to latest\.safetensors and resume with --resume /);
        assert.doesNotMatch(result.stderr, /remove/);
      }
      copyFileSync(path.join(out, 'best.safetensors'), path.join(out, 'latest.safetensors'));
      const resumed = run(['train', '--resume', out, '--steps', '30', '--quiet']);
      assert.strictEqual(resumed.status, 0, resumed.stderr);
    });

    it('never says to remove a run that holds logs', () => {
      const out = trained(20);
      rmSync(path.join(out, 'latest.safetensors'));
      rmSync(path.join(out, 'best.safetensors'));
      for (const args of [['--resume', out], ['--data', text, ...TINY, '--steps', '30', '--out', out]]) {
        const result = run(['train', ...args]);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /it has no checkpoint to resume from: keep it for its logs/);
        assert.doesNotMatch(result.stderr, /remove/);
      }
    });
  });

  describe('report on a run whose text changed', () => {
    it('does not present a gradient check of the changed text as the run’s', () => {
      const own = path.join(dir, 'own.txt');
      writeFileSync(own, generatedText(5_000));
      const out = trained(20, own);
      writeFileSync(own, generatedText(5_000).toUpperCase());
      const written = writeReport(out);
      assert.strictEqual(written.warnings.length, 1, written.warnings.join('; '));
      assert.match(written.warnings[0], /^gradient check not run: .*own\.txt has changed since the run was trained on it \(SHA-256 [0-9a-f]{12}…, the run's [0-9a-f]{12}…\)/);
      const md = readFileSync(written.markdownPath, 'utf8');
      assert.doesNotMatch(md, /On the first 25 characters/);

      const given = writeReport(out, { gradcheckData: own });
      assert.match(readFileSync(given.markdownPath, 'utf8'), /own\.txt is not the text of this run \(SHA-256/);
    });
  });

  // What an adversarial test of the above found (one describe per finding).
  describe('advice never says to remove a directory in use, or one that is not (only) a run', () => {
    const onlyConfig = () => {
      const out = trained(10);
      for (const name of ['loss.csv', 'latest.safetensors', 'best.safetensors']) rmSync(path.join(out, name));
      return out;
    };
    const bothCommands = (out: string) => [
      run(['train', '--resume', out]),
      run(['train', '--data', text, ...TINY, '--steps', '30', '--out', out]),
    ];

    it('says a run that has not checkpointed yet is in use, naming the pid', () => {
      const out = onlyConfig();
      const owner = spawn('sleep', ['30']);
      writeFileSync(path.join(out, '.lock'), String(owner.pid));
      try {
        for (const result of bothCommands(out)) {
          assert.strictEqual(result.status, 2, result.stderr);
          assert.match(result.stderr, new RegExp(`in use by another rnn-native process \\(pid ${owner.pid}\\)`));
          assert.doesNotMatch(result.stderr, /remove it/);
        }
      } finally {
        owner.kill();
      }
    });

    it('says a config.json of something else is not a run, and never to remove it', () => {
      const project = path.join(dir, `project-${++count}`);
      mkdirSync(project);
      writeFileSync(path.join(project, 'config.json'), '{"name":"my-app"}');
      writeFileSync(path.join(project, 'index.js'), 'code');
      for (const result of bothCommands(project)) {
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /holds .*a config\.json of something else \(not an rnn-native run's\)/);
        assert.doesNotMatch(result.stderr, /remove/);
      }
    });

    it('names the files that are not a run’s, and never says to remove them', () => {
      const whole = trained(10);
      writeFileSync(path.join(whole, 'notes.txt'), 'mine');
      assert.match(run(['train', '--data', text, ...TINY, '--steps', '30', '--out', whole]).stderr, /resume it with --resume /);
      const out = onlyConfig();
      writeFileSync(path.join(out, 'notes.txt'), 'mine');
      for (const result of bothCommands(out)) {
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /other files than a run's \(notes\.txt\)/);
        assert.doesNotMatch(result.stderr, /remove/);
      }
    });

    it('still says to remove a run that stopped before its first checkpoint and holds only its config.json', () => {
      for (const result of bothCommands(onlyConfig())) {
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, /remove it or (start a new run|choose another --out)/);
      }
    });
  });

  describe('a cut-short or damaged sample: report and resume agree', () => {
    const withSamples = () => {
      const out = path.join(dir, `run-${++count}`);
      const result = run(['train', '--data', text, ...TINY_SAMPLING, '--sample-every', '10', '--steps', '40', '--out', out]);
      assert.strictEqual(result.status, 0, result.stderr);
      return out;
    };

    it('resume repairs a cut-short last sample of the checkpoint’s step, with one warning', () => {
      const out = withSamples();
      const samples = path.join(out, 'samples.txt');
      const whole = readFileSync(samples, 'utf8');
      writeFileSync(samples, whole.slice(0, -60));
      assert.throws(() => writeReport(out), /the sample of step 40 is cut short at byte \d+ .*truncate -s \d+ /);
      const result = run(['train', '--resume', out, '--steps', '41', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.match(result.stderr, /^rnn-native: warning: .*samples\.txt: the sample of step 40 was cut short .*dropped\n$/);
      assert.deepStrictEqual(parseSamples(readFileSync(samples, 'utf8'), 's').map((s) => s.step), [10, 20, 30]);
    });

    it('both refuse a sample in the middle whose heading is impossible, saying to fix it by hand, and nothing is written', () => {
      const out = withSamples();
      const samples = path.join(out, 'samples.txt');
      const damaged = readFileSync(samples, 'utf8').replace(/(--- step 20, smooth loss [\d.]+, )\d+/, '$199999999999999999999');
      writeFileSync(samples, damaged);
      const message = /samples\.txt: damaged at character offset \d+: the heading .* is impossible .*by hand/;
      assert.throws(() => writeReport(out), message);
      const result = run(['train', '--resume', out, '--steps', '41', '--quiet']);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /repairs/);
      assert.strictEqual(readFileSync(samples, 'utf8'), damaged);
    });
  });

  describe('loss.csv: only a last row a kill cut short is dropped', () => {
    const refused = (edit: (csv: string) => string, message: RegExp) => {
      const out = trained(40);
      const csv = path.join(out, 'loss.csv');
      const edited = edit(readFileSync(csv, 'utf8'));
      writeFileSync(csv, edited);
      const config = readFileSync(path.join(out, 'config.json'), 'utf8');
      const result = run(['train', '--resume', out, '--steps', '50', '--quiet']);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.strictEqual(result.stderr.split('\n').length, 2, 'one line');
      assert.strictEqual(readFileSync(csv, 'utf8'), edited, 'loss.csv as it was');
      assert.strictEqual(readFileSync(path.join(out, 'config.json'), 'utf8'), config, 'config.json as it was');
    };

    it('refuses a malformed row in the middle, naming its line', () => {
      refused((csv) => csv.split('\n').map((line, i) => (i === 2 ? 'this,is,garbage' : line)).join('\n'), /loss\.csv: line 3: .*"this,is,garbage"/);
    });

    it('refuses a file holding only garbage, even without a final newline', () => {
      refused(() => 'garbage', /loss\.csv: line 1: .*"garbage"/);
    });

    it('refuses rows whose steps do not increase', () => {
      refused((csv) => csv + '20,1,1,1,1\n', /loss\.csv: line 6: step 20 does not follow step 40/);
    });
  });

  describe('the lock: every refusal says how to clear it', () => {
    const resume = (out: string) => run(['train', '--resume', out, '--steps', '50', '--quiet']);

    it('names the lock file to remove when its pid is alive but may not be rnn-native', () => {
      const out = trained(10);
      writeFileSync(path.join(out, '.lock'), '1');
      const result = resume(out);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.match(result.stderr, /in use by another rnn-native process \(pid 1\); if no rnn-native process runs on .*, remove .*\/\.lock and try again\n$/);
    });

    it('names the claim file when a claim holds a live pid', () => {
      const out = trained(10);
      const lock = path.join(out, '.lock');
      writeFileSync(lock, '999999999');
      const claim = `${lock}.${fs.statSync(lock).ino}`;
      writeFileSync(claim, '1');
      const result = resume(out);
      assert.strictEqual(result.status, 2, result.stderr);
      assert.ok(result.stderr.includes(`remove ${claim} and try again`), result.stderr);
    });

    it('says a symbolic link or a directory .lock is not a lock rnn-native made (no raw codes)', () => {
      const linked = trained(10);
      fs.symlinkSync('/nonexistent', path.join(linked, '.lock'));
      const dirLock = trained(10);
      mkdirSync(path.join(dirLock, '.lock'));
      for (const [out, what] of [[linked, 'a symbolic link'], [dirLock, 'a directory']]) {
        const result = resume(out);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`\\.lock: is ${what}, not a lock rnn-native made; if no rnn-native process runs on .*, remove it`));
        // No errno code (EISDIR, ELOOP, …) in the words; the random temporary path is left out of the look.
        assert.doesNotMatch(result.stderr.split(out).join('DIR'), /\bE[A-Z]{3,}\b/);
      }
    });
  });

  describe('a run file that is a directory', () => {
    for (const name of ['loss.csv', 'samples.txt']) {
      it(`${name}: resume and report print one line and exit 2`, () => {
        const out = trained(10);
        rmSync(path.join(out, name), { force: true });
        mkdirSync(path.join(out, name));
        for (const command of [['train', '--resume', out, '--steps', '20'], ['report', out]]) {
          const result = run(command);
          assert.strictEqual(result.status, 2, result.stderr);
          assert.match(result.stderr, new RegExp(`^rnn-native: .*${name.replace('.', '\\.')}: is a directory\\n$`));
        }
      });
    }
  });

  // What the second adversarial test found (one describe per finding).
  describe('report’s advice for a cut sample or loss row works on a finished run', () => {
    for (const [name, cut] of [['samples.txt', 30], ['loss.csv', 20]] as const) {
      it(`${name}: following it gives a report`, () => {
        const out = path.join(dir, `run-${++count}`);
        const trainedRun = run(['train', '--data', text, ...TINY_SAMPLING, '--sample-every', '10', '--sample-length', '50', '--steps', '40', '--out', out]);
        assert.strictEqual(trainedRun.status, 0, trainedRun.stderr);
        const file = path.join(out, name);
        fs.truncateSync(file, fs.statSync(file).size - cut);
        const refused = run(['report', out]);
        assert.strictEqual(refused.status, 2, refused.stderr);
        const advice = /remove the cut end \(truncate -s (\d+) (.*)\) and try again\n$/.exec(refused.stderr);
        assert.ok(advice, refused.stderr);
        assert.strictEqual(advice[2], file);
        fs.truncateSync(file, Number(advice[1]));
        const reported = run(['report', out]);
        assert.strictEqual(reported.status, 0, reported.stderr);
      });
    }
  });

  describe('damaged or out-of-order samples in the middle: refused by report and resume, nothing deleted', () => {
    const withSamples = (edit: (samples: string) => string) => {
      const out = path.join(dir, `run-${++count}`);
      const result = run(['train', '--data', text, ...TINY_SAMPLING, '--sample-every', '10', '--sample-length', '50', '--steps', '40', '--out', out]);
      assert.strictEqual(result.status, 0, result.stderr);
      const samples = path.join(out, 'samples.txt');
      const original = readFileSync(samples, 'utf8');
      writeFileSync(samples, edit(original));
      return { out, samples, original, edited: readFileSync(samples, 'utf8') };
    };
    const bothRefuse = (edit: (samples: string) => string, message: RegExp) => {
      const { out, samples, original, edited } = withSamples(edit);
      assert.notStrictEqual(edited, original, 'the edit changed something');
      const report = run(['report', out]);
      assert.strictEqual(report.status, 2, report.stderr);
      assert.match(report.stderr, message);
      const resume = run(['train', '--resume', out, '--steps', '50', '--quiet']);
      assert.strictEqual(resume.status, 2, resume.stderr);
      assert.match(resume.stderr, message);
      assert.strictEqual(resume.stderr.split('\n').length, 2, 'one line');
      assert.strictEqual(readFileSync(samples, 'utf8'), edited, 'samples.txt as it was');
    };

    it('a middle heading claiming more characters than follow is damage, not a cut last sample', () => {
      bothRefuse(
        (samples) => samples.replace(/(--- step 20, smooth loss [\d.]+), 50 characters/, '$1, 5000 characters'),
        /samples\.txt: damaged: the heading of the sample of step 20 claims 5000 characters, but the whole sample of step 30 follows .*by hand\n$/
      );
    });

    it('a heading renamed to a later step in the middle', () => {
      bothRefuse((samples) => samples.replace('--- step 20,', '--- step 900,'), /samples\.txt: the sample of step 30 .*does not follow step 900; .*by hand\n$/);
    });

    it('a duplicate step', () => {
      bothRefuse((samples) => samples.replace('--- step 20,', '--- step 10,'), /samples\.txt: the sample of step 10 .*does not follow step 10; .*by hand\n$/);
    });

    it('step 0', () => {
      bothRefuse((samples) => samples.replace('--- step 10,', '--- step 0,'), /samples\.txt: the sample of step 0 .*steps start at 1; .*by hand\n$/);
    });
  });

  describe('--out that holds a file a run or its report writes', () => {
    for (const name of ['report.md', 'report.html', 'loss.svg', 'loss.png', '.lock']) {
      it(`${name}: refused, naming it, and kept as it was`, () => {
        const out = path.join(dir, `out-${++count}`);
        mkdirSync(out);
        writeFileSync(path.join(out, name), 'the user’s own');
        writeFileSync(path.join(out, 'index.js'), 'unrelated');
        const result = run(['train', '--data', text, ...TINY, '--steps', '10', '--out', out, '--report']);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.ok(result.stderr.includes(`holds ${name}, which a run or its report would overwrite`), result.stderr);
        assert.deepStrictEqual(fs.readdirSync(out).sort(), [name, 'index.js'].sort());
        assert.strictEqual(readFileSync(path.join(out, name), 'utf8'), 'the user’s own');
      });
    }

    it('an unrelated file may stay', () => {
      const out = path.join(dir, `out-${++count}`);
      mkdirSync(out);
      writeFileSync(path.join(out, 'index.js'), 'unrelated');
      const result = run(['train', '--data', text, ...TINY, '--steps', '10', '--out', out]);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.strictEqual(readFileSync(path.join(out, 'index.js'), 'utf8'), 'unrelated');
    });
  });

  describe('resume refuses a run file that is not a regular file before writing anything', () => {
    for (const name of ['best.safetensors', 'samples.txt', 'loss.csv', 'latest.safetensors', 'config.json']) {
      it(`${name} as a directory`, () => {
        const out = path.join(dir, `run-${++count}`);
        const trainedRun = run(['train', '--data', text, ...TINY_SAMPLING, '--sample-every', '10', '--steps', '20', '--out', out]);
        assert.strictEqual(trainedRun.status, 0, trainedRun.stderr);
        rmSync(path.join(out, name));
        mkdirSync(path.join(out, name));
        const before = Object.fromEntries(RUN_FILE_NAMES.filter((file) => file !== name && existsSync(path.join(out, file))).map((file) => [file, readFileSync(path.join(out, file))]));
        const result = run(['train', '--resume', out, '--steps', '30', '--quiet']);
        assert.strictEqual(result.status, 2, result.stderr);
        assert.match(result.stderr, new RegExp(`^rnn-native: .*${name.replace('.', '\\.')}: is a directory\\n$`));
        for (const [file, bytes] of Object.entries(before)) assert.ok(readFileSync(path.join(out, file)).equals(bytes), `${file} as it was`);
      });
    }
  });

  it('refuses a resume whose checkpoint is not what loss.csv logged at its step (a log of another run, or edited), naming both, changing nothing', () => {
    const [a, b] = [path.join(dir, `run-${++count}`), path.join(dir, `run-${++count}`)];
    for (const [out, eta] of [[a, '0.1'], [b, '0.05']]) assert.strictEqual(run(['train', '--data', text, ...TINY, '--steps', '20', '--eta', eta, '--out', out]).status, 0);
    copyFileSync(path.join(b, 'loss.csv'), path.join(a, 'loss.csv'));
    const before = readFileSync(path.join(a, 'loss.csv'));
    const result = run(['train', '--resume', a, '--steps', '30', '--quiet']);
    assert.strictEqual(result.status, 2, result.stderr);
    assert.match(result.stderr, /^rnn-native: .*loss\.csv and .*latest\.safetensors are not of one run: at step 20 loss\.csv has epoch 1, smooth loss [\d.]+; the checkpoint epoch 1, smooth loss [\d.]+; one of them was edited or comes from another run\n$/);
    assert.ok(readFileSync(path.join(a, 'loss.csv')).equals(before));
  });

  describe('resume warns of what it drops that is never logged again', () => {
    const resumed = (file: string, cut: number) => {
      const out = path.join(dir, `run-${++count}`);
      const trainedRun = run(['train', '--data', text, ...TINY_SAMPLING, '--sample-every', '10', '--sample-length', '50', '--steps', '40', '--out', out]);
      assert.strictEqual(trainedRun.status, 0, trainedRun.stderr);
      const target = path.join(out, file);
      fs.truncateSync(target, fs.statSync(target).size - cut);
      const result = run(['train', '--resume', out, '--steps', '41', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      return result.stderr;
    };

    it('a cut last row of loss.csv at the checkpoint’s step', () => {
      assert.match(resumed('loss.csv', 20), /^rnn-native: warning: .*loss\.csv: the row of step 40 was cut short \(line 5\): dropped\n$/);
    });

    it('a cut last row of val.csv at the checkpoint’s step: warned alike, and its evaluation done again first', () => {
      const out = path.join(dir, `run-${++count}`);
      const trained = run(['train', '--data', text, ...TINY, '--val-fraction', '0.2', '--eval-every', '20', '--steps', '40', '--out', out]);
      assert.strictEqual(trained.status, 0, trained.stderr);
      const val = path.join(out, 'val.csv');
      const whole = readFileSync(val, 'utf8');
      fs.truncateSync(val, whole.length - 3);
      const result = run(['train', '--resume', out, '--steps', '41', '--quiet']);
      assert.strictEqual(result.status, 0, result.stderr);
      assert.match(result.stderr, /^rnn-native: warning: .*val\.csv: the row of step 40 was cut short \(line 3\): dropped\nrnn-native: note: the validation of step 40 was stopped before it ended: it runs first\n$/);
      const rows = readFileSync(val, 'utf8').trim().split('\n').map((line) => line.split(',')[0]);
      assert.deepStrictEqual(rows, ['step', '20', '40', '41']);
      assert.strictEqual(readFileSync(val, 'utf8').split('\n')[2].split(',')[2], whole.split('\n')[2].split(',')[2], 'the same loss again');
    });

    it('a cut sample heading whose step is readable', () => {
      assert.match(resumed('samples.txt', 80), /^rnn-native: warning: .*samples\.txt: the sample of step 40 was cut short .*dropped\n$/);
    });
  });
});
