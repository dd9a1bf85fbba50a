"""One self-contained HTML report from ``collect``'s data: no asset, font or script is fetched, so it opens offline.

Example: ``write_report(collect(["runs/quickstart"]), "report.html")``; ``mathcoach report runs/quickstart -o r.html``.

The data is embedded as JSON and drawn by the page's own script: a leaderboard with intervals, per-cell heatmaps,
training curves against steps and minutes, the optimizer's trajectory and winning message, a sample drill-down
(wrong only, cell, error type, run, text search), two runs side by side with McNemar's exact test, tokens and
costs, versions, seeds, hashes and commands, and JSON / CSV downloads. The drill-down's filters live in the URL
fragment (``report.html#run=after&wrong=1``), so a filtered view can be linked, and tested in a headless browser.
"""

from __future__ import annotations

import csv
import io
import json

from mathcoach.io import atomic_writer

REPORT_VERSION = "1"

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px;color:#1b1b1b}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 7px;text-align:right}
th{background:#f4f4f4}td.l,th.l{text-align:left}.muted{color:#777}pre{white-space:pre-wrap;background:#f7f7f7;
padding:6px;margin:4px 0;max-height:260px;overflow:auto}.sample{border:1px solid #ddd;margin:6px 0;padding:6px}
.ok{color:#176b1a}.bad{color:#a31515}.ctl{margin:4px 8px 4px 0}svg{background:#fff;border:1px solid #eee}
.heat td{width:52px;text-align:center}
"""

_JS = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const $ = (s) => document.querySelector(s);
const esc = (t) => String(t ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const pct = (x) => (x === null || x === undefined || Number.isNaN(x)) ? '' : (100 * x).toFixed(1) + '%';
window.onerror = (m) => { $('#errors').textContent += m + '\n'; };
const evals = D.runs.filter(r => r.kind === 'eval');
const trains = D.runs.filter(r => r.kind === 'train');
const opts = D.runs.filter(r => r.kind === 'optimize');

function leaderboard() {
  const row = (r, cell, m) => `<tr data-run="${esc(r.name)}" data-cell="${esc(cell)}"><td class="l">${esc(r.name)}</td>
      <td class="l">${esc(r.model)}</td><td class="l">${esc(r.data)}</td><td class="l">${esc(r.tools)}</td>
      <td class="l">${esc(cell)}</td><td class="n">${m.items}</td><td class="em">${pct(m.exact_match)}</td>
      <td class="ci">${pct(m.ci95[0])}–${pct(m.ci95[1])}</td><td>${pct(m.flexible_match)}</td><td>${m.unscored}</td>
      <td>${m.majority_vote === undefined ? '' : pct(m.majority_vote)}</td></tr>`;
  const rows = evals.map(r => row(r, 'all', r.metrics.overall) + Object.entries(r.metrics.cells || {})
    .filter(([c]) => c !== 'all').map(([c, m]) => row(r, c, m)).join('')).join('');
  $('#leaderboard').innerHTML = `<tr><th class="l">run</th><th class="l">model</th><th class="l">data</th>
    <th class="l">tools</th><th class="l">cell</th><th>n</th><th>exact match</th><th>95% CI</th><th>flexible</th>
    <th>unscored</th><th>maj@k</th></tr>` + rows;
}

function heatmaps() {
  let html = '';
  for (const r of evals) {
    const cells = Object.entries(r.metrics.cells || {});
    const grid = {}; let maxA = 0, maxB = 0;
    for (const [c, m] of cells) { const p = c.split('x').map(Number);
      if (p.length === 2 && !p.some(Number.isNaN)) { grid[c] = m; maxA = Math.max(maxA, p[0]); maxB = Math.max(maxB, p[1]); } }
    if (!maxA) continue;
    let t = `<table class="heat"><tr><th>${esc(r.name)}</th>`;
    for (let b = 1; b <= maxB; b++) t += `<th>×${b}</th>`;
    t += '</tr>';
    for (let a = 1; a <= maxA; a++) {
      t += `<tr><th>${a} digit${a > 1 ? 's' : ''}</th>`;
      for (let b = 1; b <= maxB; b++) { const m = grid[`${a}x${b}`];
        const v = m ? m.exact_match : null; const h = v === null ? '#fff' : `hsl(${Math.round(120 * v)},65%,78%)`;
        t += `<td style="background:${h}" title="n=${m ? m.items : 0}">${m ? pct(v) : ''}</td>`; }
      t += '</tr>';
    }
    html += t + '</table>';
  }
  $('#heatmaps').innerHTML = html || '<p class="muted">no per-cell runs</p>';
}

function chart(points, xlab, ylab) {
  const W = 460, H = 220, P = 36;
  const pts = points.filter(p => p[0] !== null && p[1] !== null);
  if (!pts.length) return '';
  const xs = pts.map(p => p[0]), ys = pts.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || 1, y0 = Math.min(0, ...ys), y1 = Math.max(...ys) || 1;
  const X = x => P + (W - 2 * P) * (x - x0) / ((x1 - x0) || 1), Y = y => H - P - (H - 2 * P) * (y - y0) / ((y1 - y0) || 1);
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join('');
  const dots = pts.map(p => `<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="2.2" fill="#2a62b8"/>`).join('');
  return `<svg width="${W}" height="${H}"><path d="${path}" fill="none" stroke="#2a62b8" stroke-width="1.6"/>${dots}
    <text x="${W / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${xlab}</text>
    <text x="10" y="14" font-size="11">${ylab} (${y0.toFixed(2)}–${y1.toFixed(2)})</text>
    <text x="${P}" y="${H - P + 14}" font-size="10">${x0.toFixed(1)}</text>
    <text x="${W - P}" y="${H - P + 14}" font-size="10" text-anchor="end">${x1.toFixed(1)}</text></svg>`;
}

function curves() {
  const byMin = $('#xminutes').checked;
  $('#curves').innerHTML = trains.map(t => {
    const x = r => byMin ? (r.elapsed_s === null ? null : r.elapsed_s / 60) : r.step;
    const lab = byMin ? 'minutes' : 'step';
    return `<h3>${esc(t.name)} <span class="muted">${t.steps} steps, best validation ${pct(t.best_val_exact_match)}
      at step ${t.best_step ?? '-'}</span></h3>` +
      chart(t.curve.map(r => [x(r), r.loss]), lab, 'training loss') +
      chart(t.curve.map(r => [x(r), r.eval_exact_match]), lab, 'validation exact match');
  }).join('') || '<p class="muted">no training runs</p>';
}

function optimizer() {
  $('#optimizer').innerHTML = opts.map(o => {
    const c = o.candidates.filter(c => c.val !== null && c.val !== undefined);
    return `<h3>${esc(o.name)}</h3>` + chart(c.map(c => [c.round, c.val]), 'round', 'validation accuracy') +
      `<p>winning system message:</p><pre>${esc(o.best_prompt)}</pre>`;
  }).join('') || '<p class="muted">no optimizer runs</p>';
}

function state() {
  const s = {}; for (const kv of location.hash.slice(1).split('&')) { if (!kv) continue;
    const [k, v] = kv.split('='); s[decodeURIComponent(k)] = decodeURIComponent(v || ''); }
  return s;
}
function setState(k, v) { const s = state(); if (v) s[k] = v; else delete s[k];
  location.hash = Object.entries(s).map(([a, b]) => `${encodeURIComponent(a)}=${encodeURIComponent(b)}`).join('&'); }

function allSamples() { return D.runs.filter(r => r.samples).flatMap(r => r.samples.map(s => ({...s, run: r.name}))); }

function drill() {
  const s = state(), all = allSamples();
  for (const [id, key] of [['#f-run', 'run'], ['#f-cell', 'cell'], ['#f-error', 'error']]) $(id).value = s[key] || '';
  $('#f-wrong').checked = s.wrong === '1'; $('#f-q').value = s.q || '';
  const q = (s.q || '').toLowerCase();
  const shown = all.filter(x => (!s.run || x.run === s.run) && (!s.cell || x.cell === s.cell)
    && (!s.error || x.error_type === s.error) && (s.wrong !== '1' || x.correct === false)
    && (!q || (x.question + ' ' + x.completion).toLowerCase().includes(q)));
  $('#count').textContent = `${shown.length} of ${all.length} samples`;
  $('#samples').innerHTML = shown.slice(0, 200).map(x => `<div class="sample" data-run="${esc(x.run)}">
    <b class="${x.correct ? 'ok' : 'bad'}">${x.correct === null ? 'unscored' : x.correct ? 'right' : 'wrong'}</b>
    <span class="muted">${esc(x.run)} · ${esc(x.cell)} · ${esc(x.id)} · gold ${esc(x.gold)} · answer ${esc(x.answer)}
    ${x.error_type ? ' · ' + esc(x.error_type) + (x.step ? ' at step ' + x.step : '') : ''}</span>
    <pre>${esc(x.question)}</pre><pre>${esc(x.completion)}</pre>
    ${x.written !== null && x.written !== undefined ? `<div>wrote ${esc(x.written)}, expected ${esc(x.expected)}</div>` : ''}
    ${x.tool ? `<pre>tool: ${esc(JSON.stringify(x.tool, null, 1))}</pre>` : ''}</div>`).join('');
}

function fillFilters() {
  const all = allSamples();
  const opt = (vals) => '<option value="">all</option>' + [...new Set(vals)].filter(v => v).sort()
    .map(v => `<option>${esc(v)}</option>`).join('');
  $('#f-run').innerHTML = opt(all.map(x => x.run));
  $('#f-cell').innerHTML = opt(all.map(x => x.cell));
  $('#f-error').innerHTML = opt(all.map(x => x.error_type));
  $('#f-run').onchange = e => setState('run', e.target.value);
  $('#f-cell').onchange = e => setState('cell', e.target.value);
  $('#f-error').onchange = e => setState('error', e.target.value);
  $('#f-wrong').onchange = e => setState('wrong', e.target.checked ? '1' : '');
  $('#f-q').oninput = e => setState('q', e.target.value);
}

function binom(k, n) {  // two-sided exact McNemar: P(X <= min) * 2 under Binomial(n, 1/2), capped at 1
  if (n === 0) return 1;
  let p = 0, c = 1; const m = Math.min(k, n - k);
  for (let i = 0; i <= m; i++) { p += c; c = c * (n - i) / (i + 1); }
  return Math.min(1, 2 * p / Math.pow(2, n));
}

function compare() {
  const a = evals.find(r => r.name === $('#c-a').value), b = evals.find(r => r.name === $('#c-b').value);
  if (!a || !b) { $('#compare').innerHTML = ''; return; }
  const first = r => Object.fromEntries(r.samples.filter(s => s.sample === 0 && s.correct !== null).map(s => [s.id, s]));
  const A = first(a), B = first(b), ids = Object.keys(A).filter(i => i in B);
  let both = 0, onlyA = 0, onlyB = 0, neither = 0; const listA = [], listB = [];
  for (const i of ids) { const x = A[i].correct, y = B[i].correct;
    if (x && y) both++; else if (x) { onlyA++; listA.push(i); } else if (y) { onlyB++; listB.push(i); } else neither++; }
  const items = (l) => l.slice(0, 100).map(i => `<code>${esc(i)}</code>`).join(' ') + (l.length > 100 ? ' …' : '');
  $('#compare').innerHTML = `<table><tr><th>shared problems</th><th>both right</th><th>only A</th><th>only B</th>
    <th>neither</th><th>McNemar p</th></tr><tr><td>${ids.length}</td><td>${both}</td><td id="only-a">${onlyA}</td>
    <td id="only-b">${onlyB}</td><td>${neither}</td><td id="mcnemar">${binom(onlyA, onlyA + onlyB).toPrecision(3)}</td></tr></table>
    <p>right only in A: <span id="list-a">${items(listA) || '-'}</span></p>
    <p>right only in B: <span id="list-b">${items(listB) || '-'}</span></p>`;
}

function costs() {
  $('#costs').innerHTML = '<tr><th class="l">run</th><th>calls made</th><th>from cache</th><th>prompt tokens</th>' +
    '<th>completion tokens</th><th>USD</th><th>seconds</th></tr>' + evals.map(r => `<tr><td class="l">${esc(r.name)}</td>
    <td>${r.calls.made ?? ''}</td><td>${r.calls.cache_hits ?? ''}</td><td>${r.tokens.prompt ?? ''}</td>
    <td>${r.tokens.completion ?? ''}</td><td>${(r.cost_usd || 0).toFixed(4)}</td><td>${r.wall_s ?? ''}</td></tr>`).join('');
}

function provenance() {
  $('#provenance').innerHTML = D.runs.map(r => `<details><summary>${esc(r.kind)} ${esc(r.name)}</summary>
    <pre>${esc(r.command)}</pre><pre>seed ${esc(r.seed)}\ndata ${esc(JSON.stringify(r.data_sha256))}
versions ${esc(JSON.stringify(r.versions))}</pre></details>`).join('');
}

function exportCsv() {
  const rows = [['run', 'id', 'sample', 'cell', 'gold', 'answer', 'correct', 'error_type']];
  for (const x of allSamples()) rows.push([x.run, x.id, x.sample, x.cell, x.gold, x.answer, x.correct, x.error_type]);
  return rows.map(r => r.map(v => `"${String(v ?? '').replace(/"/g, '""')}"`).join(',')).join('\n');
}
function download(name, text, type) {
  const a = document.createElement('a'); a.href = URL.createObjectURL(new Blob([text], {type}));
  a.download = name; a.click();
}

leaderboard(); heatmaps(); curves(); optimizer(); fillFilters(); drill(); costs(); provenance();
const names = evals.map(r => `<option>${esc(r.name)}</option>`).join('');
$('#c-a').innerHTML = names; $('#c-b').innerHTML = names;
if (evals.length > 1) $('#c-b').selectedIndex = 1;
$('#c-a').onchange = compare; $('#c-b').onchange = compare; compare();
$('#xminutes').onchange = curves;
$('#dl-json').onclick = () => download('report.json', JSON.stringify(D, null, 1), 'application/json');
$('#dl-csv').onclick = () => download('samples.csv', exportCsv(), 'text/csv');
window.addEventListener('hashchange', drill);
document.body.dataset.ready = '1';
"""

_BODY = """<h1>mathcoach report</h1>
<p class="muted">built {generated} from {sources} · report format {version}</p>
<div id="errors" style="color:#a31515;white-space:pre"></div>
<h2>Leaderboard</h2><table id="leaderboard"></table>
<h2>Exact match per cell</h2><div id="heatmaps"></div>
<h2>Training</h2><label class="ctl"><input type="checkbox" id="xminutes"> against minutes</label><div id="curves"></div>
<h2>Prompt optimization</h2><div id="optimizer"></div>
<h2>Samples</h2>
<div><label class="ctl">run <select id="f-run"></select></label><label class="ctl">cell <select id="f-cell"></select></label>
<label class="ctl">error <select id="f-error"></select></label>
<label class="ctl"><input type="checkbox" id="f-wrong"> wrong only</label>
<label class="ctl">search <input id="f-q" size="24"></label> <span id="count" class="muted"></span></div>
<div id="samples"></div>
<h2>Two runs side by side</h2><label class="ctl">A <select id="c-a"></select></label>
<label class="ctl">B <select id="c-b"></select></label><div id="compare"></div>
<h2>Tokens and costs</h2><table id="costs"></table>
<h2>Versions, seeds, hashes, commands</h2><div id="provenance"></div>
<h2>Export</h2><button id="dl-json">report.json</button> <button id="dl-csv">samples.csv</button>
"""


def render(data: dict) -> str:
    import html

    # "</" inside the embedded JSON would end the script element early: escape it for the parser only.
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    body = _BODY.format(generated=html.escape(data.get("generated", "")), version=REPORT_VERSION,
                        sources=html.escape(", ".join(data.get("sources", []))))
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mathcoach report</title>"
            f"<style>{_CSS}</style></head><body>{body}<script type=\"application/json\" id=\"data\">{blob}</script>"
            f"<script>{_JS}</script></body></html>\n")


def samples_csv(data: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["run", "id", "sample", "cell", "gold", "answer", "correct", "error_type"])
    for r in data["runs"]:
        for s in r.get("samples") or []:
            w.writerow([r["name"], s["id"], s["sample"], s["cell"], s["gold"], s["answer"], s["correct"],
                        s["error_type"]])
    return out.getvalue()


def write_report(data: dict, path, json_path=None, csv_path=None) -> None:
    with atomic_writer(path) as f:
        f.write(render(data))
    if json_path:
        with atomic_writer(json_path) as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
    if csv_path:
        with atomic_writer(csv_path) as f:
            f.write(samples_csv(data))
