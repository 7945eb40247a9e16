"""The report's in-browser what-if: plain JavaScript, no library, twin of evaluation/whatif.py over the same draws.

Each race-round's draws sit in a <script type="application/json"> block; a what-if is built the first time its
<details> opens, so the page paints before any draw is decoded. Shares are the same numbers as Python's (same
draws, same arithmetic); chances are Monte Carlo in both, with different random streams."""

WHATIF_JS = r"""
(function () {
  'use strict';
  const common = JSON.parse(document.getElementById('whatif-common').textContent);
  const scale = Math.pow(10, common.decimals);

  function decode(m) {
    // A candidates x draws matrix of integers (value x 10^decimals), little-endian, base64; one row if all alike.
    const bin = atob(m.b), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const ints = m.t === 'i2' ? new Int16Array(bytes.buffer) : new Int32Array(bytes.buffer);
    const rows = [];
    for (let r = 0; r < m.r; r++) {
      const row = new Float64Array(common.draws);
      for (let d = 0; d < common.draws; d++) row[d] = ints[r * common.draws + d] / scale;
      rows.push(row);
    }
    return rows;
  }

  function matrix(m, n) {
    const rows = decode(m);
    return rows.length === n ? rows : Array.from({length: n}, () => rows[0]);
  }

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function normal(rnd) {
    let u = 0;
    while (u === 0) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  }

  function gamma(a, rnd) {
    // Marsaglia & Tsang (2000); a < 1 by the boost gamma(a + 1) * U^(1 / a).
    if (a < 1) {
      let u = 0;
      while (u === 0) u = rnd();
      return gamma(a + 1, rnd) * Math.pow(u, 1 / a);
    }
    const d = a - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x, v;
      do { x = normal(rnd); v = 1 + c * x; } while (v <= 0);
      v = v * v * v;
      const u = rnd();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  function quantile(values, q) {
    // numpy's default (linear interpolation between order statistics).
    const s = Float64Array.from(values).sort(), h = (s.length - 1) * q, lo = Math.floor(h);
    return lo + 1 < s.length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
  }

  function mean(values) {
    let t = 0;
    for (const v of values) t += v;
    return t / values.length;
  }

  function applyChange(logMoney, change) {
    const k = Math.expm1(logMoney);
    const moved = change.kind === 'pct' ? k * (1 + change.amount / 100) : k + change.amount / common.money_unit_usd;
    return Math.log1p(Math.max(moved, 0));
  }

  function summarise(eta, seed) {
    // eta: candidates x draws. Expected shares (points) and chances of the most votes, mean and 90 % interval.
    const n = eta.length, D = common.draws, sims = common.sims, rnd = mulberry32(seed);
    const share = eta.map(() => new Float64Array(D)), chance = eta.map(() => new Float64Array(D));
    const g = new Float64Array(n);
    for (let d = 0; d < D; d++) {
      let top = -Infinity, total = 0;
      for (let k = 0; k < n; k++) top = Math.max(top, eta[k][d]);
      for (let k = 0; k < n; k++) { share[k][d] = Math.exp(eta[k][d] - top); total += share[k][d]; }
      for (let k = 0; k < n; k++) share[k][d] /= total;
      for (let s = 0; s < sims; s++) {
        let best = 0;
        for (let k = 0; k < n; k++) {
          g[k] = gamma(Math.max(common.concentration[d] * share[k][d], 1e-300), rnd);
          if (g[k] > g[best]) best = k;
        }
        chance[best][d] += 1 / sims;
      }
      for (let k = 0; k < n; k++) share[k][d] *= 100;
    }
    const [qlo, qhi] = common.interval;
    return eta.map((_, k) => ({
      share: [mean(share[k]), quantile(share[k], qlo), quantile(share[k], qhi)],
      chance: [mean(chance[k]), quantile(chance[k], qlo), quantile(chance[k], qhi)],
    }));
  }

  function sliderChange(v) {
    // Slider positions below 0 cut the fitted money by that many per cent; above 0 add that many steps of dollars.
    return v < 0 ? {kind: 'pct', amount: v} : {kind: 'usd', amount: v * common.step_usd};
  }

  function fmtUsd(x) {
    if (Math.abs(x) >= 1e6) return '$' + (x / 1e6).toFixed(1) + 'M';
    if (Math.abs(x) >= 1e4) return '$' + (x / 1e3).toFixed(0) + 'k';
    return '$' + Math.round(x).toLocaleString('en-US');
  }

  function changeLabel(c) {
    if (c.amount === 0) return 'as fitted';
    if (c.kind === 'pct') return (c.amount > 0 ? '+' : '\u2212') + Math.abs(c.amount) + ' %';
    return '+' + fmtUsd(c.amount);
  }

  const fmtShare = v => v[0].toFixed(1) + ' [' + v[1].toFixed(1) + ', ' + v[2].toFixed(1) + ']';
  const fmtChance = v => v[0].toFixed(2) + ' [' + v[1].toFixed(2) + ', ' + v[2].toFixed(2) + ']';

  function build(box) {
    const data = JSON.parse(document.getElementById('wi-' + box.dataset.race).textContent);
    const n = data.candidates.length;
    const eta = matrix(data.eta, n);
    const money = {};
    for (const ch of common.channels) {
      money[ch] = {log: matrix(data['log_' + ch], n), slope: matrix(data['slope_' + ch], n)};
    }
    const fitted = summarise(eta, data.seed);
    const body = box.querySelector('.wi-body');
    const pick = document.createElement('select');
    pick.className = 'wi-candidate';
    data.candidates.forEach((c, k) => pick.add(new Option(data.names[k], c)));
    pick.value = data.default;
    const label = document.createElement('label');
    label.append('Candidate: ', pick);
    body.append(label);
    const sliders = {};
    for (const ch of common.channels) {
      const row = document.createElement('label');
      row.className = 'wi-slider';
      const input = document.createElement('input');
      Object.assign(input, {type: 'range', min: -100, max: common.max_steps, step: 1, value: 0});
      input.dataset.channel = ch;
      const shown = document.createElement('output');
      const range = ' (\u2212100 % to +' + fmtUsd(common.max_steps * common.step_usd) + '): ';
      row.append(common.words[ch] + range, input, ' ', shown);
      body.append(row);
      sliders[ch] = {input, shown};
    }
    const table = document.createElement('table');
    table.className = 'wi-table';
    table.innerHTML = '<thead><tr><th>candidate</th><th>share % as fitted [90 %]</th><th>share % what-if [90 %]</th>' +
      '<th>chance of most votes, as fitted</th><th>chance, what-if</th></tr></thead><tbody></tbody>';
    body.append(table);
    const tbody = table.querySelector('tbody');

    function update() {
      const who = data.candidates.indexOf(pick.value);
      const moved = eta.map(row => Float64Array.from(row));
      for (const ch of common.channels) {
        const c = sliderChange(Number(sliders[ch].input.value));
        sliders[ch].shown.textContent = changeLabel(c);
        if (c.amount === 0) continue;
        const lg = money[ch].log[who], sl = money[ch].slope[who];
        for (let d = 0; d < common.draws; d++) moved[who][d] += sl[d] * (applyChange(lg[d], c) - lg[d]);
      }
      const whatif = summarise(moved, data.seed + 1);
      tbody.innerHTML = '';
      data.candidates.forEach((c, k) => {
        const tr = tbody.insertRow();
        tr.dataset.candidate = c;
        if (k === who) tr.className = 'wi-chosen';
        const cells = [data.names[k], fmtShare(fitted[k].share), fmtShare(whatif[k].share),
                       fmtChance(fitted[k].chance), fmtChance(whatif[k].chance)];
        const names = ['wi-name', 'wi-fitted-share', 'wi-share', 'wi-fitted-chance', 'wi-chance'];
        cells.forEach((text, j) => { const td = tr.insertCell(); td.textContent = text; td.className = names[j]; });
      });
    }
    pick.addEventListener('change', update);
    for (const ch of common.channels) sliders[ch].input.addEventListener('input', update);
    update();
    box.dataset.ready = '1';
  }

  document.querySelectorAll('details.whatif').forEach(box => {
    box.addEventListener('toggle', () => { if (box.open && !box.dataset.ready) build(box); });
  });
})();
"""
