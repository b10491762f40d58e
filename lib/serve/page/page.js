// The page of `rnn-native serve`: the runs from /events (Server-Sent Events), a card per run with
// its curves (uPlot), a compare view of the runs ticked, and a generator on the browser module.
// Everything from the runs' files is put into the page as text (textContent), never as HTML.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const LN2 = Math.log(2);
  const COLORS = ['#2f6ea5', '#c0392b', '#27ae60', '#8e44ad', '#d68910', '#16a085', '#7f8c8d', '#b03a7a', '#1f3a93', '#6e2c00'];
  /** Options not worth showing in a run's list (the text's digest, when it was made). */
  const HIDDEN_OPTIONS = new Set(['version', 'corpus', 'created', 'resumed', 'initFrom']);
  const MAX_ROWS = 8192;
  const runs = new Map(); // id -> { view, card, chart, dirty }
  const selected = new Set();
  let units = 'nats';

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  }

  const perChar = (view, smoothLoss) => smoothLoss / (Number(view.config && view.config.seqLength) || 25);
  const inUnits = (nats) => (nats == null || !Number.isFinite(nats) ? null : units === 'bits' ? nats / LN2 : nats);
  const unitName = () => (units === 'bits' ? 'bits/char' : 'nats/char');
  const fmt = (value, digits = 3) => (value == null || !Number.isFinite(value) ? '–' : value.toFixed(digits));
  const fileUrl = (id, name) => `files/${id.split('/').map(encodeURIComponent).join('/')}/${encodeURIComponent(name)}`;

  /** Seconds as h:mm:ss, or m:ss under an hour. */
  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
    const two = (n) => String(n).padStart(2, '0');
    return h > 0 ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
  }

  /** Updates per second over the last stretch of loss.csv (the last rows' steps over their elapsed seconds). */
  function speed(loss) {
    if (loss.length < 2) return loss.length === 1 && loss[0][4] > 0 ? loss[0][0] / loss[0][4] : null;
    const last = loss[loss.length - 1];
    const earlier = loss[Math.max(0, loss.length - 10)];
    const seconds = last[4] - earlier[4];
    return seconds > 0 ? (last[0] - earlier[0]) / seconds : null;
  }

  /** A run's curves as uPlot data: the steps of both files, the smooth loss and the validation loss per character. */
  function curves(view) {
    const xs = [];
    const smooth = [];
    const val = [];
    let i = 0;
    let j = 0;
    const loss = view.loss;
    const v = view.val;
    while (i < loss.length || j < v.length) {
      const a = i < loss.length ? loss[i][0] : Infinity;
      const b = j < v.length ? v[j][0] : Infinity;
      const step = Math.min(a, b);
      xs.push(step);
      smooth.push(a === step ? inUnits(perChar(view, loss[i++][3])) : null);
      val.push(b === step ? inUnits(v[j++][2]) : null);
    }
    return [xs, smooth, val];
  }

  function chartSize(container) {
    const width = Math.max(200, container.clientWidth || 300);
    return { width, height: Math.round(Math.min(260, Math.max(160, width * 0.45))) };
  }

  function makeChart(container, series, data) {
    const opts = {
      ...chartSize(container),
      scales: { x: { time: false } },
      legend: { live: false },
      axes: [{ label: 'step' }, { label: unitName(), size: 55 }],
      series: [{ label: 'step' }, ...series],
    };
    return new uPlot(opts, data, container);
  }

  function runSeries() {
    return [
      { label: 'smooth loss', stroke: COLORS[0], width: 1.5, spanGaps: true, points: { show: false } },
      { label: 'validation', stroke: COLORS[1], width: 1.5, spanGaps: true, points: { show: true, size: 4 } },
    ];
  }

  // --- cards -------------------------------------------------------------------------------

  function groupOf(view) {
    const key = view.sweep || '';
    let group = document.querySelector(`[data-group="${CSS.escape(key)}"]`);
    if (!group) {
      const wrap = el('div', { 'data-group-wrap': key });
      const heading = el('h3', { text: key ? `sweep ${key} ` : 'runs' });
      wrap.append(heading);
      group = el('div', { class: 'group', 'data-group': key });
      if (key) {
        // A sweep is compared whole: every run of it ticked.
        const all = el('button', { type: 'button', class: 'compare-sweep', text: 'compare all' });
        const members = group;
        all.addEventListener('click', () => {
          for (const card of members.querySelectorAll('.run')) {
            selected.add(card.dataset.id);
            card.querySelector('input[type=checkbox]').checked = true;
          }
          renderCompare();
        });
        heading.append(all);
      }
      wrap.append(group);
      const all = [...$('runs').querySelectorAll('[data-group-wrap]')];
      const after = all.find((other) => other.dataset.groupWrap.localeCompare(key) > 0);
      $('runs').insertBefore(wrap, after || null);
    }
    return group;
  }

  function addRun(view) {
    removeRun(view.id);
    $('no-runs').hidden = true;
    const card = el('article', { class: 'run', 'data-id': view.id });
    const pick = el('input', { type: 'checkbox' });
    pick.checked = selected.has(view.id);
    pick.addEventListener('change', () => {
      if (pick.checked) selected.add(view.id);
      else selected.delete(view.id);
      renderCompare();
    });
    card.append(
      el('div', { class: 'run-head' }, el('span', { class: 'run-name', text: view.name }), el('span', { class: 'state' }), el('label', { class: 'pick' }, pick, ' compare')),
      el('div', { class: 'stats' }),
      el('div', { class: 'chart' }),
      el('details', { class: 'options-box' }, el('summary', { text: 'options' }), el('dl', { class: 'options' })),
      el('div', { class: 'sample-head' }),
      el('pre', { class: 'sample', hidden: '' }),
      el('div', { class: 'files' })
    );
    const group = groupOf(view);
    const after = [...group.children].find((other) => runs.get(other.dataset.id) && runs.get(other.dataset.id).view.name.localeCompare(view.name) > 0);
    group.insertBefore(card, after || null);
    const entry = { view, card, chart: null, dirty: true };
    runs.set(view.id, entry);
    entry.chart = makeChart(card.querySelector('.chart'), runSeries(), curves(view));
    renderStatus(entry);
    renderSample(entry);
    renderCheckpoints();
    schedule();
  }

  function removeRun(id) {
    const entry = runs.get(id);
    if (!entry) return;
    entry.chart.destroy();
    const group = entry.card.parentElement;
    entry.card.remove();
    if (group && group.children.length === 0) group.parentElement.remove();
    runs.delete(id);
    selected.delete(id);
    $('no-runs').hidden = runs.size > 0;
  }

  function renderStats(entry) {
    const { view, card } = entry;
    const last = view.loss[view.loss.length - 1];
    const steps = view.config && Number(view.config.steps);
    const stepText = last ? (steps && steps < 1e12 ? `${last[0]} / ${steps}` : String(last[0])) : '0';
    const bestVal = view.val.reduce((best, row) => (Number.isFinite(row[2]) && (best === null || row[2] < best[2]) ? row : best), null);
    const rate = speed(view.loss);
    // Time left, while it trains to a step limit at the recent speed.
    const left = view.state === 'training' && last && steps && steps < 1e12 && rate ? (steps - last[0]) / rate : null;
    const items = [
      ['step', stepText],
      ['epoch', last ? String(last[1]) : '–'],
      ['speed', rate === null ? '–' : `${rate.toFixed(rate < 10 ? 2 : 0)} updates/s`],
      ...(left !== null ? [['ETA', clock(left)]] : []),
      ['smooth loss', last ? `${fmt(inUnits(perChar(view, last[3])))} ${unitName()}` : '–'],
      ['best validation', bestVal ? `${fmt(inUnits(bestVal[2]))} ${unitName()} (step ${bestVal[0]})` : '–'],
    ];
    const stats = card.querySelector('.stats');
    stats.replaceChildren(...items.map(([name, value]) => el('span', {}, `${name} `, el('b', { text: value }))));
    card.dataset.step = last ? String(last[0]) : '0';
    card.dataset.points = String(view.loss.length + view.val.length);
  }

  function renderStatus(entry) {
    const { view, card } = entry;
    const badge = card.querySelector('.state');
    badge.className = `state ${view.state.replace(' ', '-')}`;
    badge.textContent = view.state;
    badge.title = view.why || '';
    card.dataset.state = view.state;
    const list = card.querySelector('dl.options');
    const config = view.config || {};
    list.replaceChildren(
      ...Object.entries(config)
        .filter(([key]) => !HIDDEN_OPTIONS.has(key))
        .flatMap(([key, value]) => [el('dt', { text: key }), el('dd', { text: typeof value === 'string' ? value : JSON.stringify(value) })])
    );
    const files = ['config.json', 'loss.csv', 'val.csv', 'samples.txt', ...view.checkpoints.map((name) => `${name}.safetensors`)];
    card.querySelector('.files').replaceChildren(...files.map((name) => el('a', { href: fileUrl(view.id, name), text: name, download: '' })));
  }

  function renderSample(entry) {
    const { view, card } = entry;
    const pre = card.querySelector('pre.sample');
    pre.hidden = !view.sample;
    pre.textContent = view.sample ? view.sample.text : '';
    card.querySelector('.sample-head').textContent = view.sample ? `latest sample: step ${view.sample.step}, smooth loss ${fmt(inUnits(perChar(view, view.sample.smoothLoss)))} ${unitName()}` : '';
  }

  // Charts and numbers are redrawn once per frame, however many rows arrived.
  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      for (const entry of runs.values()) {
        if (!entry.dirty) continue;
        entry.dirty = false;
        entry.chart.setData(curves(entry.view));
        entry.card.dataset.chartPoints = String(entry.chart.data[0].length);
        renderStats(entry);
      }
      renderCompare();
    });
  }

  // --- compare -----------------------------------------------------------------------------

  let compareChart = null;
  let compareKey = '';
  // The compare table's order: a column (its index) and direction, chosen by clicking its heading.
  let sortColumn = -1;
  let sortDescending = false;

  function renderCompare() {
    const chosen = [...selected].map((id) => runs.get(id)).filter(Boolean);
    $('compare').hidden = chosen.length === 0;
    $('compare-count').textContent = chosen.length === 1 ? '(1 run: tick more)' : `(${chosen.length} runs)`;
    if (chosen.length === 0) {
      if (compareChart) compareChart.destroy();
      compareChart = null;
      compareKey = '';
      return;
    }
    // One x axis for all: every step any run logged.
    const steps = [...new Set(chosen.flatMap(({ view }) => [...view.loss.map((row) => row[0]), ...view.val.map((row) => row[0])]))].sort((a, b) => a - b);
    const index = new Map(steps.map((step, i) => [step, i]));
    const data = [steps];
    const series = [];
    chosen.forEach(({ view }, n) => {
      const color = COLORS[n % COLORS.length];
      const smooth = new Array(steps.length).fill(null);
      for (const row of view.loss) smooth[index.get(row[0])] = inUnits(perChar(view, row[3]));
      data.push(smooth);
      series.push({ label: `${view.name} smooth`, stroke: color, width: 1.5, spanGaps: true, points: { show: false } });
      if (view.val.length > 0) {
        const val = new Array(steps.length).fill(null);
        for (const row of view.val) val[index.get(row[0])] = inUnits(row[2]);
        data.push(val);
        series.push({ label: `${view.name} validation`, stroke: color, width: 1, dash: [5, 4], spanGaps: true, points: { show: true, size: 4 } });
      }
    });
    const key = `${units}|${series.map((s) => s.label).join('|')}`;
    if (!compareChart || key !== compareKey) {
      if (compareChart) compareChart.destroy();
      compareChart = makeChart($('compare-chart'), series, data);
      compareKey = key;
    } else compareChart.setData(data);
    renderCompareTable(chosen);
  }

  function renderCompareTable(chosen) {
    const shown = (value) => (value === undefined ? '–' : typeof value === 'string' ? value : JSON.stringify(value));
    const keys = [...new Set(chosen.flatMap(({ view }) => Object.keys(view.config || {})))].filter((key) => !HIDDEN_OPTIONS.has(key) && key !== 'time');
    const differing = keys.filter((key) => new Set(chosen.map(({ view }) => shown((view.config || {})[key]))).size > 1);
    const titles = ['run', 'state', 'step', `smooth ${unitName()}`, `best val ${unitName()}`, ...differing];
    const head = el(
      'tr',
      {},
      ...titles.map((title, column) => {
        const arrow = column === sortColumn ? (sortDescending ? ' ▾' : ' ▴') : '';
        const th = el('th', { text: title + arrow, class: 'sortable', title: 'sort by this column' });
        th.addEventListener('click', () => {
          sortDescending = column === sortColumn ? !sortDescending : false;
          sortColumn = column;
          renderCompareTable(chosen);
        });
        return th;
      })
    );
    // Each run keeps its colour (its place among the chosen) whatever the order.
    const table = chosen.map(({ view }, n) => {
      const last = view.loss[view.loss.length - 1];
      const bestVal = view.val.reduce((best, row) => (Number.isFinite(row[2]) && (best === null || row[2] < best) ? row[2] : best), null);
      const cells = [
        view.name,
        view.state,
        last ? String(last[0]) : '0',
        last ? fmt(inUnits(perChar(view, last[3]))) : '–',
        fmt(inUnits(bestVal)),
        ...differing.map((key) => shown((view.config || {})[key])),
      ];
      return { cells, color: COLORS[n % COLORS.length] };
    });
    if (sortColumn >= 0 && sortColumn < titles.length) {
      const value = (text) => (text !== '' && Number.isFinite(Number(text)) ? Number(text) : text);
      table.sort((a, b) => {
        const [x, y] = [value(a.cells[sortColumn]), value(b.cells[sortColumn])];
        const order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return sortDescending ? -order : order;
      });
    }
    const rows = table.map(({ cells, color }) =>
      el('tr', {}, el('td', {}, el('span', { class: 'swatch', style: `background:${color}` }), cells[0]), ...cells.slice(1).map((text) => el('td', { text })))
    );
    const note = differing.length === 0 && chosen.length > 1 ? el('caption', { text: 'no option differs' }) : null;
    $('compare-table').replaceChildren(...(note ? [note] : []), el('thead', {}, head), el('tbody', {}, ...rows));
  }

  // --- generator ---------------------------------------------------------------------------

  function renderCheckpoints() {
    const select = $('checkpoint');
    const current = select.value;
    const choices = [...runs.values()]
      .map(({ view }) => view)
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((view) => view.checkpoints.map((name) => ({ value: `model/${view.id.split('/').map(encodeURIComponent).join('/')}/${name}.safetensors`, label: `${view.name} — ${name}` })));
    const same = choices.length === select.options.length && choices.every((choice, i) => select.options[i].value === choice.value);
    if (same) return;
    select.replaceChildren(...choices.map((choice) => el('option', { value: choice.value, text: choice.label })));
    if (choices.some((choice) => choice.value === current)) select.value = current;
    $('generate').disabled = choices.length === 0;
  }

  let browserModule = null;
  let stopped = false;
  async function generate() {
    const status = (text) => ($('generate-status').textContent = text);
    const output = $('generated');
    $('generate').disabled = true;
    $('stop').disabled = false;
    stopped = false;
    document.body.dataset.generating = 'yes';
    try {
      browserModule = browserModule || (await import(new URL('wasm/rnn-native.mjs', location.href).href));
      status('loading the checkpoint…');
      const model = await browserModule.loadModel(new URL($('checkpoint').value, location.href).href);
      output.hidden = false;
      output.textContent = '';
      const prime = $('prime').value;
      const options = { prime: prime === '' ? undefined : prime, length: Number($('length').value), temperature: Number($('temperature').value), seed: Number($('seed').value) };
      const start = performance.now();
      let characters = 0;
      for await (const piece of model.generate(options)) {
        output.textContent += piece;
        characters += [...piece].length;
        if (stopped) break;
      }
      const { cell, layers, hidden } = model.info;
      status(`${characters} characters in ${((performance.now() - start) / 1000).toFixed(2)} s from ${cell.toUpperCase()} ${layers} × ${hidden}${stopped ? ' (stopped)' : ''}`);
    } catch (error) {
      status(`could not generate: ${error.message}`);
    } finally {
      $('generate').disabled = false;
      $('stop').disabled = true;
      document.body.dataset.generating = 'done';
    }
  }

  // --- events ------------------------------------------------------------------------------

  function onEvent(type, event) {
    const entry = event.id !== undefined ? runs.get(event.id) : undefined;
    if (type === 'run') return addRun(event.run);
    if (type === 'gone') {
      removeRun(event.id);
      renderCheckpoints();
      return schedule();
    }
    if (!entry) return;
    if (type === 'rows') {
      if (event.reset) entry.view[event.file] = [];
      entry.view[event.file].push(...event.rows);
      // As the server does (lib/serve/runs.ts, MAX_ROWS): every other row, the last and the lowest of a long log.
      while (entry.view[event.file].length > MAX_ROWS) {
        const rows = entry.view[event.file];
        const column = event.file === 'loss' ? 3 : 2;
        const lowest = rows.reduce((best, row, i) => (row[column] < rows[best][column] ? i : best), 0);
        entry.view[event.file] = rows.filter((_, i) => i % 2 === 0 || i === rows.length - 1 || i === lowest);
      }
      entry.dirty = true;
      schedule();
    } else if (type === 'sample') {
      entry.view.sample = event.sample;
      renderSample(entry);
    } else if (type === 'status') {
      Object.assign(entry.view, { state: event.state, why: event.why, config: event.config, checkpoints: event.checkpoints });
      renderStatus(entry);
      renderCheckpoints();
      entry.dirty = true;
      schedule();
    }
  }

  function connect() {
    const source = new EventSource('events');
    source.addEventListener('hello', (message) => {
      const hello = JSON.parse(message.data);
      $('roots').textContent = `serving ${hello.roots.join(', ')}`;
      // A reconnect starts over from the server's runs; the runs ticked for comparison stay ticked.
      const ticked = new Set(selected);
      for (const id of [...runs.keys()]) removeRun(id);
      for (const id of ticked) selected.add(id);
      for (const view of hello.runs) addRun(view);
      for (const id of ticked) if (!runs.has(id)) selected.delete(id);
      $('connection').textContent = 'live';
      document.body.dataset.connected = 'yes';
      renderCompare();
    });
    for (const type of ['run', 'gone', 'rows', 'sample', 'status']) {
      source.addEventListener(type, (message) => {
        try {
          onEvent(type, JSON.parse(message.data));
        } catch (error) {
          console.warn(`event ${type}: ${error.message}`);
        }
      });
    }
    source.onerror = () => {
      $('connection').textContent = 'disconnected: retrying…';
      document.body.dataset.connected = 'no';
    };
  }

  function redrawAll() {
    for (const entry of runs.values()) {
      entry.chart.destroy();
      entry.chart = makeChart(entry.card.querySelector('.chart'), runSeries(), curves(entry.view));
      renderStats(entry);
      renderSample(entry);
    }
    compareKey = '';
    renderCompare();
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const entry of runs.values()) entry.chart.setSize(chartSize(entry.card.querySelector('.chart')));
      if (compareChart) compareChart.setSize(chartSize($('compare-chart')));
    }, 150);
  });
  $('units').addEventListener('change', () => {
    units = $('units').value;
    redrawAll();
  });
  $('compare-clear').addEventListener('click', () => {
    selected.clear();
    for (const box of document.querySelectorAll('.run input[type=checkbox]')) box.checked = false;
    renderCompare();
  });
  $('generate-form').addEventListener('submit', (event) => {
    event.preventDefault();
    generate();
  });
  $('stop').addEventListener('click', () => (stopped = true));
  $('generate').disabled = true;
  connect();
})();
