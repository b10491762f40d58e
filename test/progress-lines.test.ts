// Progress lines other than training's live line (gradcheck's, the big-text reading line) fit
// the terminal: columns − 1 at most, shortened, never wrapped into a copy per redraw.
import assert from 'assert';
import { mkdirSync, mkdtempSync, openSync, writeSync, closeSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import { progressLine } from '../lib/cli/gradcheck';
import { fitLine } from '../lib/util/output';
import { loadTrainingText } from '../lib/text/training-text';

const COLUMNS = [50, 40, 20];

/** What one redraw leaves on the screen: the text after its last carriage return, without escapes. */
const drawn = (write: string) => write.split('\r').pop()!.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\n$/, '');

describe('progress lines fit the terminal', function () {
  it('fitLine takes the first form that fits in columns − 1, else cuts the last', () => {
    const forms = ['a long form of the line', 'short form', 'tiny'];
    assert.strictEqual(fitLine(forms, 50), 'a long form of the line');
    assert.strictEqual(fitLine(forms, 24), 'a long form of the line');
    assert.strictEqual(fitLine(forms, 23), 'short form');
    assert.strictEqual(fitLine(forms, 5), 'tiny');
    assert.strictEqual(fitLine(forms, 4), 'tin');
    assert.strictEqual(fitLine(['ü🙂ü🙂'], 3), 'ü🙂', 'cut between code points');
    assert.strictEqual(fitLine(forms, undefined), 'a long form of the line', '80 columns when unknown');
  });

  for (const columns of COLUMNS) {
    it(`gradcheck's line at ${columns} columns`, () => {
      const written: string[] = [];
      let now = 0;
      const progress = progressLine({ isTTY: true, columns, write: (s: string) => written.push(s) }, () => now);
      now = 2000;
      progress.update(455, 1065);
      assert.strictEqual(written.length, 1);
      const line = drawn(written[0]);
      assert.ok(line.length <= columns - 1, `${line.length} characters: "${line}"`);
      assert.match(line, /42%/, 'the percentage is kept');
    });
  }

  it("gradcheck's line keeps its full wording where it fits", () => {
    const written: string[] = [];
    let now = 0;
    const progress = progressLine({ isTTY: true, columns: 80, write: (s: string) => written.push(s) }, () => now);
    now = 2000;
    progress.update(455, 1065);
    assert.strictEqual(drawn(written[0]), 'gradient check: 455/1065 entries (42%), about 3 s left');
  });

  describe('the big-text reading line', function () {
    // Over the 32 MB from which the line shows, under a long directory name.
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'rnn-progress-')), 'a-rather-long-directory-name-for-testing');
    const big = path.join(dir, 'big-text.txt');
    before(function () {
      mkdirSync(dir);
      const fd = openSync(big, 'w');
      const block = Buffer.from('to be or not to be\n'.repeat(55_000));
      for (let written = 0; written <= 33 << 20; written += block.length) writeSync(fd, block);
      closeSync(fd);
    });

    for (const columns of COLUMNS) {
      it(`fits ${columns} columns`, () => {
        const writes: string[] = [];
        const stderr = process.stderr;
        const saved = { write: stderr.write, columns: stderr.columns };
        stderr.write = ((s: string) => writes.push(s) > 0) as typeof stderr.write;
        stderr.columns = columns;
        try {
          // A cache of its own: a hit by an earlier test's entry would read nothing (and draw no line).
          loadTrainingText(big, { showProgress: true, cacheDir: mkdtempSync(path.join(tmpdir(), 'rnn-progress-cache-')) });
        } finally {
          stderr.write = saved.write;
          stderr.columns = saved.columns;
        }
        assert.ok(writes.length > 2, 'the progress line was drawn');
        for (const write of writes) {
          const line = drawn(write);
          assert.ok(line.length <= columns - 1, `${line.length} characters: "${line}"`);
        }
        assert.match(drawn(writes[writes.length - 1]), /done$/);
      });
    }
  });
});
