// The page of a web export, index.html: a generator of text from model.safetensors on the browser
// module (rnn-native.mjs) in this folder, the text streamed as it is drawn.
export const WEB_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rnn-native: text generator</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
  main { max-width: 54rem; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.3rem; margin: 0.5rem 0; }
  #model { color: #5b6570; margin: 0 0 1rem; }
  form { display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: 0.6rem 0.8rem; align-items: end; }
  label { display: flex; flex-direction: column; font-size: 0.85rem; color: #39424c; }
  label.wide { grid-column: 1 / -1; }
  input, textarea { font: inherit; padding: 0.3rem 0.4rem; border: 1px solid #b9c0c8; border-radius: 4px; background: #fff; }
  textarea { font-family: ui-monospace, monospace; resize: vertical; }
  .buttons { display: flex; gap: 0.5rem; }
  button { font: inherit; padding: 0.4rem 0.9rem; border-radius: 4px; border: 1px solid #2b5d8a; background: #2f6ea5; color: #fff; cursor: pointer; }
  button[type=button] { background: #fff; color: #2b5d8a; }
  button:disabled { opacity: 0.5; cursor: default; }
  pre { white-space: pre-wrap; word-break: break-word; background: #fff; border: 1px solid #d5dae0; border-radius: 4px; padding: 0.8rem; min-height: 12rem; font: 14px/1.4 ui-monospace, monospace; }
  #status { color: #5b6570; font-size: 0.85rem; }
  #status.error { color: #a3261b; }
</style>
</head>
<body>
<main>
<h1>Text generator</h1>
<p id="model">Loading the model…</p>
<form id="form">
  <label class="wide">Prime (the text starts with it; may be empty)<textarea id="prime" rows="2"></textarea></label>
  <label>Length<input id="length" type="number" min="1" max="1000000" value="1000" required></label>
  <label>Temperature<input id="temperature" type="number" min="0" max="100" step="any" value="1" required></label>
  <label>Top-k (0: all)<input id="topK" type="number" min="0" max="65536" value="0" required></label>
  <label>Top-p (1: all)<input id="topP" type="number" min="0.000001" max="1" step="any" value="1" required></label>
  <label>Seed<input id="seed" type="number" step="1" value="42" required></label>
  <div class="buttons"><button id="generate" disabled>Generate</button><button id="stop" type="button" disabled>Stop</button></div>
</form>
<pre id="output" aria-live="polite"></pre>
<p id="status"></p>
</main>
<script>
  // From file:// the browser loads neither the module nor the engine: say how to serve the folder instead.
  if (location.protocol === 'file:') {
    document.getElementById('model').textContent = 'The model did not load.';
    document.getElementById('status').textContent = 'Browsers load modules and WebAssembly only over http: serve this folder, e.g. python3 -m http.server -d THIS_FOLDER, then open http://127.0.0.1:8000/';
    document.getElementById('status').className = 'error';
    document.body.dataset.state = 'failed';
  }
</script>
<script type="module">
import { loadModel } from './rnn-native.mjs';

const $ = (id) => document.getElementById(id);
const status = (text, error = false) => { $('status').textContent = text; $('status').className = error ? 'error' : ''; };
let stopped = false;

function options() {
  const number = (id) => Number($(id).value);
  const prime = $('prime').value;
  return { prime: prime === '' ? undefined : prime, length: number('length'), temperature: number('temperature'), topK: number('topK'), topP: number('topP'), seed: number('seed') };
}

async function generate(model) {
  const output = $('output');
  output.textContent = '';
  stopped = false;
  $('generate').disabled = true;
  $('stop').disabled = false;
  document.body.dataset.state = 'generating';
  const start = performance.now();
  try {
    let characters = 0;
    for await (const piece of model.generate(options())) {
      output.textContent += piece;
      characters += [...piece].length;
      if (stopped) break;
    }
    const seconds = (performance.now() - start) / 1000;
    status(\`\${characters} character\${characters === 1 ? '' : 's'} in \${seconds.toFixed(2)} s\${stopped ? ' (stopped)' : ''}\`);
  } catch (error) {
    status(error.message, true);
  } finally {
    $('generate').disabled = false;
    $('stop').disabled = true;
    document.body.dataset.state = 'done';
  }
}

try {
  const model = await loadModel('./model.safetensors');
  const { cell, layers, hidden, vocabulary } = model.info;
  $('model').textContent = \`\${cell.toUpperCase()}, \${layers} × \${hidden} units, \${vocabulary.length} characters — computed in this page (WebAssembly)\`;
  $('generate').disabled = false;
  document.body.dataset.state = 'ready';
  $('form').addEventListener('submit', (event) => { event.preventDefault(); generate(model); });
  $('stop').addEventListener('click', () => { stopped = true; });
} catch (error) {
  $('model').textContent = 'The model did not load.';
  status(error.message, true);
  document.body.dataset.state = 'failed';
}
</script>
</body>
</html>
`;
