// A second signal during `train`: it stops at once, without a checkpoint, and says what is left.
import assert from 'assert';
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { readCheckpoint } from '../lib/run/checkpoint';
import { SHAKESPEARE, UNICODE_TEXT } from './helpers';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const env = { ...process.env, RNN_NATIVE_BACKEND: '' };

describe('train: a second signal', function () {
  const dir = mkdtempSync(path.join(tmpdir(), 'rnn-signals-'));
  const text = path.join(dir, 'text.txt');
  writeFileSync(text, existsSync(SHAKESPEARE) ? readFileSync(SHAKESPEARE).subarray(0, 200_000) : UNICODE_TEXT.repeat(2000));

  /** A long run in --json mode; once `ready` matches its stdout, both signals at once. */
  async function twoSignals(out: string, checkpointEvery: number, ready: RegExp): Promise<{ status: number | null; stderr: string; stdout: string }> {
    const args = [cli, 'train', '--data', text, '--hidden', '32', '--log-every', '50', '--steps', '100000000', '--checkpoint-every', String(checkpointEvery), '--out', out, '--json'];
    const child = spawn(process.execPath, args, { env });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        stdout += d;
        if (ready.test(stdout)) resolve();
      })
    );
    // Two different signals, so that the kernel cannot merge them into one; either may be
    // handled first, and the exit code is the second one's.
    child.kill('SIGINT');
    child.kill('SIGTERM');
    const status = await exited;
    const second = /a second (SIGINT|SIGTERM)/.exec(stderr)?.[1];
    assert.strictEqual(status, second === 'SIGINT' ? 130 : 143, stderr);
    return { status, stderr, stdout };
  }

  it('before any checkpoint: says there is none and nothing to resume, exit 130 / 143', async () => {
    const out = path.join(dir, 'none');
    const { stderr, stdout } = await twoSignals(out, 0, /"event":"log"/);
    const last = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.deepStrictEqual({ ...last, step: 0 }, { event: 'stopped', step: 0, signal: /a second (SIG\w+)/.exec(stderr)![1], path: null, checkpointStep: null });
    assert.match(stderr, /^rnn-native: stopped by a second SIG(INT|TERM) at step \d+ without a new checkpoint; no checkpoint had been written yet, so there is nothing to resume\n$/);
    assert.ok(!existsSync(path.join(out, 'latest.safetensors')));
  });

  it('after a checkpoint: names its step and the resume command, and writes no new one', async () => {
    const out = path.join(dir, 'some');
    const { stderr, stdout } = await twoSignals(out, 100, /"event":"checkpoint"/);
    const { training } = readCheckpoint(path.join(out, 'latest.safetensors'));
    const last = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.deepStrictEqual([last.event, last.path, last.checkpointStep], ['stopped', null, training.step]);
    const line = /^rnn-native: stopped by a second SIG(?:INT|TERM) at step (\d+) without a new checkpoint; the last checkpoint, (.*), is from step (\d+); resume with: npx rnn-native train --resume (.*)\n$/.exec(stderr);
    assert.ok(line, stderr);
    assert.strictEqual(line[2], path.join(out, 'latest.safetensors'));
    assert.strictEqual(Number(line[3]), training.step);
    assert.ok(Number(line[1]) >= training.step);
    assert.strictEqual(line[4], out);
  });
});
