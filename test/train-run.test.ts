// The train and sample commands end to end, in child processes: run directories, exact resume,
// signals, divergence, and bad input that must never cost the user what was already written.
import assert from 'assert';
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { encodeSafetensors } from '../lib/run/safetensors';
import { SHAKESPEARE, UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env });
const events = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));

describe('train and sample, end to end', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-run-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, existsSync(SHAKESPEARE) ? readFileSync(SHAKESPEARE).subarray(0, 200_000) : UNICODE_TEXT.repeat(2000));
  let count = 0;
  const fresh = () => path.join(dir, `run-${++count}`);
  const base = ['--data', text, '--hidden', '32', '--log-every', '50', '--sample-every', '100', '--sample-length', '40', '--json'];

  /** Fails with the child's stderr when it did not exit as expected. */
  const expectStatus = (result: { status: number | null; stderr: string }, status: number) =>
    assert.strictEqual(result.status, status, `exit ${result.status}: ${result.stderr}`);

  it('writes config.json, loss.csv, samples.txt, latest and best checkpoints', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '300', '--checkpoint-every', '100', '--out', out]), 0);
    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    assert.strictEqual(config.hidden, 32);
    assert.strictEqual(config.steps, 300);
    assert.strictEqual(config.data, path.resolve(text));
    const csv = readFileSync(path.join(out, 'loss.csv'), 'utf8').trim().split('\n');
    assert.strictEqual(csv[0], 'step,epoch,loss,smooth_loss,elapsed_s');
    assert.deepStrictEqual(csv.slice(1).map((row) => Number(row.split(',')[0])), [50, 100, 150, 200, 250, 300]);
    const samples = readFileSync(path.join(out, 'samples.txt'), 'utf8');
    assert.deepStrictEqual([...samples.matchAll(/^--- step (\d+), smooth loss [\d.]+, 40 characters ---$/gm)].map((m) => m[1]), ['100', '200', '300']);
    const latest = readCheckpoint(path.join(out, 'latest.safetensors'));
    const best = readCheckpoint(path.join(out, 'best.safetensors'));
    assert.strictEqual(latest.training.step, 300);
    assert.ok(best.run.bestSmoothLoss! <= latest.training.smoothLoss!);
    assert.strictEqual(best.training.smoothLoss, best.run.bestSmoothLoss);
  });

  for (const backend of ['native', 'ts']) {
    it(`resumes exactly (${backend}): 2N updates equal N updates resumed to 2N, byte for byte`, () => {
      const args = ['train', ...base, '--backend', backend, '--checkpoint-every', '70'];
      const whole = fresh();
      const halves = fresh();
      const a = run([...args, '--steps', '240', '--out', whole]);
      expectStatus(a, 0);
      expectStatus(run([...args, '--steps', '120', '--out', halves]), 0);
      const b = run(['train', '--resume', halves, '--steps', '240', '--json']);
      expectStatus(b, 0);
      const losses = (out: string) =>
        events(out).filter((e) => e.event === 'log' && e.step > 120).map(({ step, epoch, loss, smoothLoss }) => ({ step, epoch, loss, smoothLoss }));
      assert.deepStrictEqual(losses(b.stdout), losses(a.stdout));
      assert.strictEqual(losses(a.stdout).length, 3);
      const tensors = (file: string) => {
        const { training } = readCheckpoint(file);
        return { ...training, bytes: [training.params, training.accum, training.state].map((t) => Buffer.from(t.buffer).toString('base64')) };
      };
      assert.deepStrictEqual(tensors(path.join(halves, 'latest.safetensors')), tensors(path.join(whole, 'latest.safetensors')));
      const rows = (out: string) => readFileSync(path.join(out, 'loss.csv'), 'utf8').split('\n').map((r) => r.split(',').slice(0, 4).join(','));
      // The first half also logged its last step (120), which the whole run did not.
      assert.deepStrictEqual(rows(halves).filter((row) => !row.startsWith('120,')), rows(whole));
      assert.strictEqual(readFileSync(path.join(halves, 'samples.txt'), 'utf8'), readFileSync(path.join(whole, 'samples.txt'), 'utf8'));
    });
  }

  it('refuses to resume on another text or with another model, saying what differs', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '60', '--out', out]), 0);
    const other = path.join(dir, 'other.txt');
    writeFileSync(other, readFileSync(text, 'utf8').replace(/e/g, 'a'));
    let result = run(['train', '--resume', out, '--data', other]);
    expectStatus(result, 2);
    assert.match(result.stderr, /is not the text this run was trained on \(SHA-256 [0-9a-f]{12}…, the run's [0-9a-f]{12}…\)/);
    result = run(['train', '--resume', out, '--hidden', '64', '--eta', '0.05']);
    expectStatus(result, 2);
    assert.match(result.stderr, /cannot change the model of a resumed run: --hidden 64 \(the run has 32\), --eta 0.05 \(the run has 0.1\)/);
    result = run(['train', '--resume', path.join(dir, 'nothing-here')]);
    expectStatus(result, 2);
    assert.match(result.stderr, /no such directory/);
  });

  it('never overwrites a run: an --out that holds one is refused', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '50', '--out', out]), 0);
    const before = readFileSync(path.join(out, 'latest.safetensors'));
    const result = run(['train', ...base, '--steps', '50', '--out', out]);
    expectStatus(result, 2);
    assert.match(result.stderr, /already holds a run .*--resume/);
    assert.ok(before.equals(readFileSync(path.join(out, 'latest.safetensors'))));
  });

  it('refuses an --out that cannot be a directory before training', () => {
    const file = path.join(dir, 'plain-file');
    writeFileSync(file, 'x');
    let result = run(['train', ...base, '--steps', '10', '--out', file]);
    expectStatus(result, 2);
    assert.match(result.stderr, /exists and is not a directory/);
    result = run(['train', ...base, '--steps', '10', '--out', path.join(file, 'sub')]);
    expectStatus(result, 2);
    assert.match(result.stderr, /cannot create the directory/);
  });

  /** Starts a long run and resolves once its first log line is out. */
  function startLongRun(out: string): Promise<{ child: ChildProcess; stdout: () => string; stderr: () => string }> {
    const child = spawn(process.execPath, [cli, 'train', ...base, '--steps', '100000000', '--checkpoint-every', '1000000', '--out', out], { env });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
      child.stdout!.on('data', (d) => {
        stdout += d;
        if (stdout.includes('"event":"log"')) resolve({ child, stdout: () => stdout, stderr: () => stderr });
      });
    });
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`stops on ${signal} within a second, saves a loadable checkpoint and exits ${code}`, async () => {
      const out = fresh();
      const { child, stderr } = await startLongRun(out);
      child.removeAllListeners('exit');
      const sent = Date.now();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
      child.kill(signal);
      const status = await exited;
      assert.ok(Date.now() - sent < 1500, `took ${Date.now() - sent} ms`);
      assert.strictEqual(status, code, stderr());
      assert.match(stderr(), new RegExp(`stopped by ${signal} at step \\d+; saved .*latest.safetensors\\n.*resume with: npx rnn-native train --resume `));
      const { training } = readCheckpoint(path.join(out, 'latest.safetensors'));
      assert.ok(training.step >= 50);
      // The printed command, as printed, goes on from the checkpoint (stopped again once it has).
      const printed = /resume with: npx rnn-native (.*)\n/.exec(stderr())![1].split(' ');
      const again = spawn(process.execPath, [cli, ...printed], { env });
      let said = '';
      again.stdout!.on('data', (d) => (said += d));
      again.stderr!.on('data', (d) => (said += d));
      await new Promise<void>((resolve) => again.stdout!.on('data', () => /^step \d+|"event":"log"/m.test(said) && resolve()));
      const againExited = new Promise<number | null>((resolve) => again.on('exit', resolve));
      again.kill(signal);
      assert.strictEqual(await againExited, code, said);
      assert.ok(readCheckpoint(path.join(out, 'latest.safetensors')).training.step > training.step, said);
    });
  }

  it('stops when the loss turns NaN, keeps the last good checkpoint and suggests a lower --eta', () => {
    const out = fresh();
    const result = run(['train', ...base, '--backend', 'native', '--eta', '1e37', '--steps', '100', '--checkpoint-every', '1', '--out', out]);
    expectStatus(result, 1);
    // Depending on where a chunk ends, the weights' overflow or the NaN loss it causes is seen first.
    assert.match(result.stderr, /(the loss became NaN|the weights overflowed) at step (\d+); training stopped and the last good checkpoint, .*latest.safetensors, is from step \d+\. Try a new run with a lower --eta/);
    const [, bad] = /at step (\d+)/.exec(result.stderr)!;
    const { training } = readCheckpoint(path.join(out, 'latest.safetensors'));
    assert.strictEqual(training.step, Number(bad) - 1);
    assert.ok(Number.isFinite(training.smoothLoss));
  });

  it('rejects a binary file, and a vocabulary over the limit', () => {
    const binary = path.join(dir, 'binary.bin');
    writeFileSync(binary, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]));
    let result = run(['train', '--data', binary]);
    expectStatus(result, 2);
    assert.match(result.stderr, /looks like a binary file \(a NUL byte at offset 6\)/);
    const huge = path.join(dir, 'huge-vocab.txt');
    writeFileSync(huge, String.fromCodePoint(...Array.from({ length: 65537 }, (_, i) => 0x20000 + i)));
    result = run(['train', '--data', huge]);
    expectStatus(result, 2);
    assert.match(result.stderr, /65537 distinct characters; at most 65536 are supported/);
  });

  it('rejects truncated, corrupted and foreign checkpoints in sample and --resume', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '50', '--out', out]), 0);
    const good = readFileSync(path.join(out, 'latest.safetensors'));
    const cases: [string, Buffer, RegExp][] = [
      ['truncated', good.subarray(0, good.length - 100), /not a valid safetensors file/],
      ['corrupted', Buffer.concat([good.subarray(0, 8), Buffer.from('#'), good.subarray(9)]), /not a valid safetensors file/],
      ['foreign', encodeSafetensors({ weight: { dtype: 'F32', shape: [1], data: new Float32Array(1) } }), /not an rnn-native checkpoint/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, `${name}.safetensors`);
      writeFileSync(file, bytes);
      const result = run(['sample', '--model', file]);
      expectStatus(result, 2);
      assert.match(result.stderr, message, name);
      assert.strictEqual(result.stderr.trim().split('\n').length, 1);
      const broken = fresh();
      mkdirSync(broken);
      writeFileSync(path.join(broken, 'latest.safetensors'), bytes);
      assert.match(run(['train', '--resume', broken]).stderr, message, name);
    }
  });

  it('samples: same seed, same text; a prime warms up; unknown characters are listed', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '100', '--out', out]), 0);
    const sample = (...args: string[]) => run(['sample', '--model', out, '--length', '80', ...args]);
    const a = sample('--seed', '7');
    expectStatus(a, 0);
    assert.strictEqual(Array.from(a.stdout).length, 81); // the text and a newline
    assert.strictEqual(sample('--seed', '7').stdout, a.stdout);
    assert.notStrictEqual(sample('--seed', '8').stdout, a.stdout);
    const primed = sample('--prime', 'the ', '--argmax');
    assert.ok(primed.stdout.startsWith('the '));
    assert.strictEqual(sample('--prime', 'the ', '--argmax', '--seed', '99').stdout, primed.stdout);
    const unknown = sample('--prime', 'the ✓ 🙃');
    expectStatus(unknown, 2);
    assert.match(unknown.stderr, /characters not in the vocabulary: "✓", "🙃"/);
    const file = path.join(dir, 'sample.txt');
    expectStatus(sample('--seed', '7', '--out', file), 0);
    assert.strictEqual(readFileSync(file, 'utf8') + '\n', a.stdout);
    expectStatus(run(['sample']), 2);
    assert.match(run(['sample', '--model', out, '--argmax', '--temperature', '0.5']).stderr, /either --argmax or --temperature/);
  });

  it('sample --out never replaces the model, a link or an existing file without --force', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '20', '--out', out]), 0);
    const model = path.join(out, 'best.safetensors');
    const before = readFileSync(model);
    let result = run(['sample', '--model', out, '--length', '5', '--out', model, '--force']);
    expectStatus(result, 2);
    assert.match(result.stderr, /is the model itself/);
    assert.ok(before.equals(readFileSync(model)));
    const existing = path.join(dir, 'existing.txt');
    writeFileSync(existing, 'keep me');
    result = run(['sample', '--model', out, '--length', '5', '--out', existing]);
    expectStatus(result, 2);
    assert.match(result.stderr, /exists; add --force to replace it/);
    assert.strictEqual(readFileSync(existing, 'utf8'), 'keep me');
    expectStatus(run(['sample', '--model', out, '--length', '5', '--out', existing, '--force']), 0);
    assert.strictEqual(Array.from(readFileSync(existing, 'utf8')).length, 5);
  });

  it('refuses a resume with nothing to do, or a damaged config.json, writing nothing', () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '60', '--out', out]), 0);
    const files = () => ['config.json', 'loss.csv', 'latest.safetensors'].map((f) => readFileSync(path.join(out, f)).toString('base64'));
    const before = files();
    let result = run(['train', '--resume', out]);
    expectStatus(result, 2);
    assert.match(result.stderr, /is already at step 60; give --steps \(or --epochs\) beyond it/);
    result = run(['train', '--resume', out, '--steps', '40']);
    expectStatus(result, 2);
    assert.deepStrictEqual(files(), before);

    const config = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, logEvery: 0.5 }));
    result = run(['train', '--resume', out, '--steps', '100']);
    expectStatus(result, 2);
    assert.match(result.stderr, /config.json: logEvery must be an integer from 1 to/);
    writeFileSync(path.join(out, 'config.json'), '{"data": ');
    result = run(['train', '--resume', out, '--steps', '100']);
    expectStatus(result, 2);
    assert.match(result.stderr, /config.json: damaged \(not a JSON object\)/);
    assert.strictEqual(readFileSync(path.join(out, 'config.json'), 'utf8'), '{"data": ');
  });

  it('stops on a closed output (train | head) with a checkpoint, exit 141', async () => {
    const out = fresh();
    const child = spawn(process.execPath, [cli, 'train', ...base, '--steps', '100000000', '--checkpoint-every', '1000000', '--out', out], { env });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.strictEqual(status, 141, stderr);
    assert.match(stderr, /the output was closed at step \d+; saved/);
    assert.ok(readCheckpoint(path.join(out, 'latest.safetensors')).training.step > 0);
  });

  it('locks a run directory, and cleans the temporary files of killed writes on resume', async () => {
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '50', '--out', out]), 0);
    assert.ok(!existsSync(path.join(out, '.lock')), 'the lock is released at exit');
    const leftover = path.join(out, '.latest.safetensors.99999.tmp');
    writeFileSync(leftover, 'half a checkpoint');
    writeFileSync(path.join(out, '.lock'), '999999999'); // a process that is gone
    const child = spawn(process.execPath, [cli, 'train', '--resume', out, '--steps', '100000000', '--json'], { env });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    assert.ok(!existsSync(leftover), 'leftover temporary file removed');
    const second = run(['train', '--resume', out, '--steps', '100000000']);
    expectStatus(second, 2);
    assert.match(second.stderr, new RegExp(`in use by another rnn-native process \\(pid ${child.pid}\\)`));
    child.kill('SIGTERM');
    assert.strictEqual(await new Promise((resolve) => child.on('exit', resolve)), 143);
  });

  it('says what to do with a run killed before its first checkpoint', () => {
    // What a run writes first, its config.json, alone (another program's config.json is told apart:
    // test/run-dir.test.ts).
    const out = fresh();
    expectStatus(run(['train', ...base, '--steps', '10', '--out', out]), 0);
    for (const name of readdirSync(out)) if (name !== 'config.json') rmSync(path.join(out, name));
    let result = run(['train', '--resume', out]);
    expectStatus(result, 2);
    assert.match(result.stderr, /stopped before its first checkpoint\); remove it or start a new run/);
    result = run(['train', ...base, '--steps', '10', '--out', out]);
    expectStatus(result, 2);
    assert.match(result.stderr, /nothing to resume: remove it or choose another --out/);
  });

  it('refuses a pipe as --data with a clear line', () => {
    const result = spawnSync('bash', ['-c', `echo hello world | ${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} train --data /dev/stdin`], { encoding: 'utf8', env });
    expectStatus(result, 2);
    assert.match(result.stderr, /not a regular file \(the text is read twice, so save it to a file first\)/);
  });

  it('keeps the previous checkpoint intact when the disk fills up', function () {
    const probe = fresh();
    expectStatus(run(['train', ...base, '--steps', '10', '--out', probe]), 0);
    const checkpointBytes = readFileSync(path.join(probe, 'latest.safetensors')).length;
    const mount = path.join(dir, 'small-disk');
    mkdirSync(mount);
    // Room for latest and best (2 checkpoints) and the small files (config.json, loss.csv,
    // samples.txt, .lock: a block each, and two to spare), not for the temporary file of a third.
    const blocks = Math.ceil(checkpointBytes / 4096);
    const size = (2 * blocks + 6 + Math.floor(blocks / 2)) * 4096;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount], { stdio: 'pipe' });
    } catch (error) {
      console.warn(`      SKIPPED LOUDLY: cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]})`);
      this.skip();
    }
    try {
      const out = path.join(mount, 'run');
      const result = run(['train', ...base, '--steps', '1000', '--checkpoint-every', '100', '--out', out]);
      assert.notStrictEqual(result.status, 0);
      assert.match(result.stderr, /(latest|best).safetensors: could not write \(no space left on the device\); the previous file, if any, is intact/);
      const { training, run: record } = readCheckpoint(path.join(out, 'latest.safetensors'));
      assert.ok(training.step >= 100 && training.step < 1000, `step ${training.step}`);
      // best is written before latest, so latest never names a best checkpoint that is not there.
      assert.strictEqual(readCheckpoint(path.join(out, 'best.safetensors')).training.smoothLoss, record.bestSmoothLoss);
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});
