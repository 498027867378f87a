// txmon live order screen: renders each frame pushed on /live/events (one
// JSON object per Server-Sent Event, several a second; see
// agent/web/live_board.h for its fields). Null figures show as "—".
'use strict';

const DASH = '—';
const EVENTS_PATH = '/live/events';
const RECONNECT_MS = 3000;

// Read by the browser test: frames received, when the first came (ms since
// navigation start) and the last one.
window.txmonLive = { frames: 0, firstFrameMs: null, last: null };

const $ = (id) => document.getElementById(id);
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function known(value) {
  return typeof value === 'number' && Number.isFinite(value);
}

// The symbol the agent's `live.currency` names (each frame carries it).
let currency = '¥';

function money(value) {
  if (!known(value)) return DASH;
  if (value >= 1e9) return currency + oneDecimal.format(value / 1e9) + 'B';
  return currency + integer.format(value);
}

function duration(seconds) {
  if (!known(seconds)) return DASH;
  if (seconds < 120) return oneDecimal.format(seconds) + '<span class="unit">s</span>';
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  return minutes + '<span class="unit">m</span>' + String(rest).padStart(2, '0') + '<span class="unit">s</span>';
}

const FIGURES = {
  orders_today: (v) => (known(v) ? integer.format(v) : DASH),
  gmv_today: money,
  orders_per_second: (v) => (known(v) ? oneDecimal.format(v) : DASH),
  conversion: (v) => (known(v) ? oneDecimal.format(v * 100) + '<span class="unit">%</span>' : DASH),
  payment_p95_seconds: duration,
};

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function renderFigures(frame) {
  for (const element of document.querySelectorAll('[data-figure]')) {
    const name = element.dataset.figure;
    const html = FIGURES[name](frame[name]);
    if (element.innerHTML === html) continue;
    element.innerHTML = html;
    fitWidth(element);
  }
}

// Shrinks a figure's font until it fits its tile (GMV grows long on a big day).
function fitWidth(element) {
  element.style.fontSize = '';
  const available = element.clientWidth;
  if (available > 0 && element.scrollWidth > available) {
    const size = parseFloat(getComputedStyle(element).fontSize);
    element.style.fontSize = `${Math.floor((size * available) / element.scrollWidth)}px`;
  }
}

function renderHeader(frame) {
  $('clock').textContent = frame.clock;
  $('day').textContent = frame.day;
  $('zone').textContent = frame.zone;
  if (typeof frame.currency === 'string') currency = frame.currency;
  $('since').textContent = frame.since;
  // One agent of a consumer group counts only its partitions: say so.
  const scope = typeof frame.scope === 'string' ? frame.scope : '';
  $('scope').hidden = scope === '';
  $('scope').textContent = scope === '' ? '' : `this agent: ${scope}`;
}

function renderShares(list, shares, withGmv) {
  if (shares.length === 0) {
    list.innerHTML = '<li><span class="empty">No orders yet today</span></li>';
    return;
  }
  const top = Math.max(...shares.map((s) => s.orders), 1);
  list.innerHTML = shares
    .map((s) => {
      const gmv = withGmv ? `<span class="num gmv">${money(s.gmv)}</span>` : '';
      const width = ((100 * s.orders) / top).toFixed(1);
      return `<li><span class="label">${escapeHtml(s.name)}</span>` +
        `<span class="track"><span class="fill" style="width:${width}%"></span></span>` +
        `<span class="num">${integer.format(s.orders)}</span>${gmv}</li>`;
    })
    .join('');
}

function renderAlerts(alerts) {
  const firing = alerts.filter((a) => a.state === 'firing').length;
  const count = $('alert-count');
  count.textContent = `${firing} firing`;
  count.classList.toggle('hot', firing > 0);
  const pending = alerts.length - firing;
  $('alert-pending').textContent = pending > 0 ? `${pending} pending` : '';
  const list = $('alerts');
  if (alerts.length === 0) {
    list.innerHTML = '<li class="calm">No alerts firing</li>';
    return;
  }
  list.innerHTML = alerts
    .map((a) => `<li class="alert ${escapeHtml(a.state)} ${escapeHtml(a.severity)}" data-alert="${escapeHtml(a.name)}">` +
      `<div class="name">${escapeHtml(a.name)}</div>` +
      `<div class="meta">${escapeHtml(a.state)} · ${escapeHtml(a.severity || 'no severity')} · since ${escapeHtml(a.since)}</div>` +
      `<div class="summary">${escapeHtml(a.summary)}</div></li>`)
    .join('');
}

// The chart: orders per second as bars (left axis), GMV per second as a
// line (right axis), the newest second on the right.
const GRID_LINES = 4;

// The smallest round top of an axis with GRID_LINES round steps.
function niceMax(value) {
  if (!(value > 0)) return GRID_LINES;
  const step = value / GRID_LINES;
  const power = Math.pow(10, Math.floor(Math.log10(step)));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10]) {
    if (m * power >= step) return GRID_LINES * m * power;
  }
  return GRID_LINES * 10 * power;
}

function drawChart(chart) {
  const canvas = $('chart');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);

  const font = Math.max(11, Math.min(16, width / 70));
  g.font = `${font}px "DejaVu Sans", Arial, sans-serif`;
  const left = font * 3.2;
  const right = font * 5.2;
  const top = font * 0.8;
  const bottom = font * 2;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const orders = chart.orders;
  const gmv = chart.gmv;
  const n = orders.length;
  if (n === 0 || plotW <= 0 || plotH <= 0) return;
  const maxOrders = niceMax(Math.max(...orders));
  const maxGmv = niceMax(Math.max(...gmv));

  // Grid and axes labels.
  g.strokeStyle = 'rgba(125, 139, 161, 0.18)';
  g.lineWidth = 1;
  g.textBaseline = 'middle';
  for (let i = 0; i <= GRID_LINES; i++) {
    const y = top + plotH - (plotH * i) / GRID_LINES;
    g.beginPath();
    g.moveTo(left, Math.round(y) + 0.5);
    g.lineTo(left + plotW, Math.round(y) + 0.5);
    g.stroke();
    g.fillStyle = '#35d0ff';
    g.textAlign = 'right';
    g.fillText(integer.format((maxOrders * i) / GRID_LINES), left - font * 0.5, y);
    g.fillStyle = '#ffb547';
    g.textAlign = 'left';
    g.fillText(money((maxGmv * i) / GRID_LINES), left + plotW + font * 0.5, y);
  }
  g.fillStyle = '#7d8ba1';
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (let back = 0; back < n; back += 30) {
    const x = left + plotW - ((back + 0.5) * plotW) / n;
    const minutes = Math.floor(back / 60);
    const seconds = back % 60;
    const label = back === 0 ? 'now' : '−' + (minutes ? `${minutes}m` : '') + (seconds ? `${seconds}s` : '');
    g.fillText(label, x, top + plotH + font * 0.5);
  }

  // Orders: bars.
  const slot = plotW / n;
  const bar = Math.max(1, slot * 0.7);
  g.fillStyle = 'rgba(53, 208, 255, 0.85)';
  for (let i = 0; i < n; i++) {
    const h = (orders[i] / maxOrders) * plotH;
    if (h > 0) g.fillRect(left + i * slot + (slot - bar) / 2, top + plotH - h, bar, h);
  }

  // GMV: a line with a soft fill under it.
  const points = gmv.map((v, i) => [left + (i + 0.5) * slot, top + plotH - (v / maxGmv) * plotH]);
  g.beginPath();
  points.forEach(([x, y], i) => (i === 0 ? g.moveTo(x, y) : g.lineTo(x, y)));
  g.strokeStyle = '#ffb547';
  g.lineWidth = 2;
  g.lineJoin = 'round';
  g.stroke();
  g.lineTo(points[n - 1][0], top + plotH);
  g.lineTo(points[0][0], top + plotH);
  g.closePath();
  g.fillStyle = 'rgba(255, 181, 71, 0.10)';
  g.fill();
}

let lastFrame = null;

function render(frame) {
  lastFrame = frame;
  renderHeader(frame);
  renderFigures(frame);
  drawChart(frame.chart);
  renderShares($('channels'), frame.channels, true);
  renderShares($('provinces'), frame.provinces, false);
  renderAlerts(frame.alerts);
}

function setLink(live) {
  const link = $('link');
  link.classList.toggle('live', live);
  link.classList.toggle('offline', !live);
  $('link-text').textContent = live ? 'live' : 'offline';
}

function connect() {
  const source = new EventSource(EVENTS_PATH);
  source.onopen = () => setLink(true);
  source.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    window.txmonLive.frames += 1;
    if (window.txmonLive.firstFrameMs === null) window.txmonLive.firstFrameMs = performance.now();
    window.txmonLive.last = frame;
    render(frame);
  };
  source.onerror = () => {
    setLink(false);
    // The browser retries by itself unless the server refused the stream
    // (e.g. 503: too many screens open); then try again a little later.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  };
}

window.addEventListener('resize', () => {
  document.querySelectorAll('[data-figure]').forEach(fitWidth);
  if (lastFrame) drawChart(lastFrame.chart);
});
connect();
