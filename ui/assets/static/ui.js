// wnode dashboard: live updates from the newHeads subscription and read-only calls
// through /fn/. Plain DOM: every value from the node is set with textContent, never as
// HTML. Loaded from 'self' only (the page's Content-Security-Policy forbids inline script).
'use strict';
(function () {
  const body = document.body;
  const page = body.dataset.page;
  let height = Number(body.dataset.height) || 0;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const link = (href, text, cls) => { const a = el('a', cls, text); a.href = href; return a; };
  const short = (s) => s.length > 14 ? s.slice(0, 8) + '…' + s.slice(-6) : s;
  const pad = (n, w) => String(n).padStart(w, '0');
  const fmtTime = (ms) => {
    const d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1, 2) + '-' + pad(d.getUTCDate(), 2) + ' ' +
      pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) + '.' +
      pad(d.getUTCMilliseconds(), 3) + ' UTC';
  };

  // ---- live head: wn_subscribe("newHeads") over the node's WebSocket ----
  const setHead = (h) => {
    if (h <= height) return;
    height = h;
    const a = $('#head');
    if (a) { a.textContent = String(h); a.href = '/ui/block/' + h; }
    if (page === 'overview') refresh();
  };
  let retry = 1000;
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/');
    ws.onopen = () => {
      retry = 1000;
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'wn_subscribe', params: ['newHeads'] }));
      const live = $('#live');
      if (live) live.classList.add('on');
    };
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.method === 'wn_subscription' && msg.params && msg.params.result) {
        setHead(parseInt(msg.params.result.height, 16));
      }
    };
    ws.onclose = () => {
      const live = $('#live');
      if (live) live.classList.remove('on');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();

  // ---- overview: one status request at a time, for the blocks above the last shown ----
  let shown = 0;
  let busy = false, again = false;
  const points = [];
  const chart = $('#chart');
  if (chart) {
    try { for (const p of JSON.parse(chart.dataset.points || '[]')) points.push(p); } catch (e) { /* none */ }
    draw();
  }
  const firstRow = $('#blocks tbody tr');
  if (firstRow) shown = Number(firstRow.dataset.height) || 0;

  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const r = await fetch('/ui/api/status?since=' + shown, { cache: 'no-store' });
      if (r.ok) apply(await r.json());
    } catch (e) { /* the next head retries */ }
    busy = false;
    if (again) { again = false; refresh(); }
  }

  function apply(st) {
    const set = (id, v) => { const e = $('#' + id); if (e) e.textContent = String(v); };
    set('ov-height', st.height);
    set('ov-pending', st.mempoolPending);
    set('ov-queued', st.mempoolQueued);
    set('ov-peers', st.peers);
    const tbody = $('#blocks tbody');
    const blocks = (st.blocks || []).filter((b) => b.height > shown).reverse(); // oldest first
    for (const b of blocks) {
      if (tbody) {
        const tr = el('tr', 'new');
        tr.dataset.height = String(b.height);
        const td = (child, cls) => { const c = el('td', cls); c.append(child); tr.append(c); };
        td(link('/ui/block/' + b.height, b.height));
        td(link('/ui/block/' + b.hash, short(b.hash)), 'mono');
        td(document.createTextNode(fmtTime(b.time)));
        td(document.createTextNode(String(b.txs)));
        td(link('/ui/address/' + b.proposer, short(b.proposer)), 'mono');
        tbody.prepend(tr);
        while (tbody.rows.length > 20) tbody.deleteRow(-1);
      }
      points.push([b.height, b.time, b.txs]);
      shown = Math.max(shown, b.height);
    }
    // Keep five minutes of points, at most 600.
    const last = points.length ? points[points.length - 1][1] : 0;
    while (points.length > 2 && (points.length > 600 || last - points[0][1] > 300000)) points.shift();
    stats();
    draw();
    const vt = $('#validators tbody');
    if (vt && st.validators) {
      for (const v of st.validators) {
        const row = vt.querySelector('tr[data-validator="' + CSS.escape(v.address) + '"]');
        if (!row) continue;
        const marks = row.querySelector('.marks');
        marks.replaceChildren();
        v.signed.forEach((s, i) => {
          const m = el('span', s ? 'yes' : 'no', s ? '■' : '□');
          m.title = 'block ' + st.signedHeights[i];
          marks.append(m);
        });
      }
    }
  }

  function stats() {
    if (points.length < 2) return;
    const a = points[0], b = points[points.length - 1];
    const span = b[1] - a[1];
    if (span <= 0) return;
    let txs = 0;
    for (const p of points.slice(1)) txs += p[2];
    const iv = $('#ov-interval'), tr = $('#ov-txrate');
    if (iv) iv.textContent = String(Math.round(span / (points.length - 1)));
    if (tr) tr.textContent = (txs * 1000 / span).toFixed(1);
  }

  // draw renders the points as an SVG: bars of txs per block, a line of block intervals.
  function draw() {
    if (!chart) return;
    const NS = 'http://www.w3.org/2000/svg';
    const W = 600, H = 120, n = points.length;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('preserveAspectRatio', 'none');
    const mk = (tag, attrs) => {
      const e = document.createElementNS(NS, tag);
      for (const k in attrs) e.setAttribute(k, String(attrs[k]));
      svg.append(e);
      return e;
    };
    if (n > 0) {
      const maxTx = Math.max(1, ...points.map((p) => p[2]));
      const bw = W / Math.max(n, 20);
      points.forEach((p, i) => {
        const h = (p[2] / maxTx) * (H - 16);
        mk('rect', { class: 'bar', x: i * bw, y: H - h, width: Math.max(bw - 1, 1), height: h });
      });
      if (n > 1) {
        const iv = points.slice(1).map((p, i) => p[1] - points[i][1]);
        const maxIv = Math.max(1, ...iv);
        const pts = iv.map((v, i) => ((i + 1) * bw + bw / 2).toFixed(1) + ',' + (H - (v / maxIv) * (H - 16)).toFixed(1));
        mk('polyline', { class: 'line', points: pts.join(' ') });
        const legend = $('#chart-legend');
        if (legend) legend.textContent = n + ' blocks · bars: txs per block (max ' + maxTx + ') · line: block interval (max ' + maxIv + ' ms)';
      }
    }
    chart.replaceChildren(svg);
  }

  // The contract page's call forms are in contract.js, loaded by that page only.
  window.wnodeUI = { $, el, short, fmtTime };
})();
