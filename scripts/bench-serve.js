// The cost of `rnn-native serve` (Linux: reads /proc): one run training into a served directory,
// N clients on /events for 20 s; prints the server's CPU, resident memory and the bytes it sent.
// Usage: node scripts/bench-serve.js [N ...]   (default 0 10 50; needs npm run build:ts)
const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuSeconds = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 a second on Linux)
};
const rssMB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function measure(clients) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-bench-serve-'));
  const train = spawn(process.execPath, [cli, 'train', '--steps', '100000000', '--hidden', '32', '--log-every', '100', '--out', path.join(dir, 'live'), '--quiet'], { stdio: 'ignore' });
  const server = spawn(process.execPath, [cli, 'serve', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise((resolve) => {
      let out = '';
      server.stdout.on('data', (chunk) => {
        out += chunk;
        const found = / at (http\S+)/.exec(out);
        if (found) resolve(new URL(found[1]));
      });
    });
    await sleep(2000);
    let bytes = 0;
    const requests = Array.from({ length: clients }, () =>
      http.get({ host: url.hostname, port: url.port, path: '/events', agent: false }, (res) => res.on('data', (chunk) => (bytes += chunk.length)))
    );
    await sleep(1000);
    const [cpu0, bytes0] = [cpuSeconds(server.pid), bytes];
    await sleep(20000);
    const cpu = ((cpuSeconds(server.pid) - cpu0) / 20) * 100;
    console.log(`${clients} clients: server CPU ${cpu.toFixed(1)} % of a core, RSS ${rssMB(server.pid).toFixed(0)} MB, sent ${((bytes - bytes0) / 20 / 1024).toFixed(0)} KB/s in all`);
    requests.forEach((request) => request.destroy());
  } finally {
    train.kill('SIGKILL');
    server.kill('SIGTERM');
    await sleep(500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(async () => {
  const counts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [0, 10, 50];
  for (const clients of counts) await measure(clients);
})();
