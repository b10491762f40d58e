// rnn-native serve: a local web page of the runs under some directories, live (lib/serve/).
import { existsSync, statSync } from 'fs';
import { isIP } from 'net';
import { UserError } from '../util/errors';
import { optionHelp, parseCommandLine } from '../util/options';
import { OptionSpecs } from '../util/option-values';
import { note, printLine, warn } from '../util/output';
import { servedRoots } from '../serve/runs';
import { newToken, startServer } from '../serve/server';

const OPTIONS = {
  port: { kind: 'integer', min: 0, max: 65535, short: 'p', help: 'the port to listen on (default 0: a free port the system chooses)' },
  host: {
    kind: 'string',
    help: 'the address to listen on (default 127.0.0.1, this machine only); any other makes the URL carry a random token that every request must give',
  },
} satisfies OptionSpecs;

const USAGE = `usage: rnn-native serve [DIR ...] [--port N] [--host ADDRESS]

A page of the runs under each DIR (default: runs), live as they train: their options, curves, latest
sample and state, a compare view and a text generator. Ctrl-C stops the server.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { options: o, operands } = parseCommandLine(argv, OPTIONS, 1000);
  if (o.help) {
    printLine(`${USAGE}\n\n${optionHelp(OPTIONS)}`);
    return 0;
  }
  const dirs = operands.length > 0 ? operands : ['runs'];
  for (const dir of dirs) {
    if (!existsSync(dir)) note(`${dir}: does not exist yet; its runs appear when it does`);
    else if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: is not a directory (give directories that hold runs or sweeps)`);
  }
  const host = o.host ?? '127.0.0.1';
  if (o.host !== undefined && isIP(host) === 0) throw new UserError(`--host ${host}: give an IP address to listen on (e.g. 127.0.0.1, 0.0.0.0 or ::)`);
  const token = o.host !== undefined ? newToken() : undefined;
  if (o.host !== undefined) {
    warn(`--host ${host}: the page may be reachable from other machines, over plain http; the URL below holds a random token that every request must give: share it only with whom may read these runs`);
  }
  let server;
  try {
    server = await startServer({ roots: servedRoots(dirs), host, port: o.port ?? 0, token });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UserError(`--port ${o.port}: in use by another program; choose another or leave --port out`);
    if (code === 'EADDRNOTAVAIL' || code === 'EACCES') throw new UserError(`cannot listen on ${host}:${o.port ?? 0} (${code})`);
    throw error;
  }
  printLine(`serving ${dirs.join(', ')} at ${server.url}`);
  printLine('Ctrl-C stops the server');
  const running = server;
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      running.close().then(() => resolve(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
