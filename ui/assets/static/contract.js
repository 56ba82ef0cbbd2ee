// wnode dashboard, contract page: read-only calls through the /fn/ gateway, each answer
// checked in this browser (verify.js, loaded at the first checked call) unless the user
// turns the check off. Loaded by the contract page only, after ui.js (whose helpers it
// uses). Every value from the node is set with textContent, never as HTML.
'use strict';
(function () {
  const { $, short, fmtTime } = window.wnodeUI;
  // ---- contract page: read-only calls through the /fn/ gateway ----
  const hexToBytes = (s) => {
    s = s.trim().replace(/^0x/i, '');
    if (s.length % 2 || /[^0-9a-f]/i.test(s)) throw new Error('input is not hex');
    const b = new Uint8Array(s.length / 2);
    for (let i = 0; i < b.length; i++) b[i] = parseInt(s.substr(2 * i, 2), 16);
    return b;
  };
  const show = (bytes) => {
    try {
      const t = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      // eslint-disable-next-line no-control-regex
      if (t.length && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(t)) return t;
    } catch (e) { /* not UTF-8 */ }
    return toHex(bytes);
  };
  const toHex = (bytes) => '0x' + Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join('');
  // Big-endian unsigned integer of n bytes from a decimal (or 0x hex) string.
  const uintBytes = (v, n) => {
    let x = BigInt(v.trim());
    if (x < 0n || x >= (1n << BigInt(8 * n))) throw new Error('number out of range for ' + n + ' bytes');
    const b = new Uint8Array(n);
    for (let i = n - 1; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
    return b;
  };
  const uintOf = (bytes) => bytes.reduce((x, b) => (x << 8n) | BigInt(b), 0n).toString();
  // encode turns the form's input into bytes as the metadata's input format says.
  const encode = (form) => {
    const field = form.elements.input;
    if (!field) return new Uint8Array(0);
    const v = field.value;
    const hex = $('.hexmode', form);
    switch (form.dataset.input) {
      case 'u64': return hex.checked ? hexToBytes(v) : uintBytes(v, 8);
      case 'u256': return hex.checked ? hexToBytes(v) : uintBytes(v, 32);
    }
    return hex.checked ? hexToBytes(v) : new TextEncoder().encode(v);
  };
  // decode shows output bytes as the metadata's output format says (else text or hex).
  const decode = (bytes, format) => {
    try {
      switch (format) {
        case 'none': return bytes.length ? toHex(bytes) : '(empty)';
        case 'bytes': case 'address': return toHex(bytes);
        case 'u64': if (bytes.length === 8) return uintOf(bytes); break;
        case 'u256': if (bytes.length === 32) return uintOf(bytes); break;
      }
    } catch (e) { /* shown raw below */ }
    return show(bytes);
  };
  // ---- the trust root of answers checked in this browser (contract page) ----
  // Kept in localStorage per chain id: {root, from: 'you' | 'node'}. Taken from this
  // node's own genesis hash on first use when the user gave none, and marked as such.
  const vbox = $('#verify-box');
  const trustKey = vbox ? 'wnode.trust.' + vbox.dataset.chain : '';
  const getTrust = () => {
    try { return JSON.parse(localStorage.getItem(trustKey)) || null; } catch (e) { return null; }
  };
  const setTrust = (t) => {
    try { localStorage.setItem(trustKey, JSON.stringify(t)); } catch (e) { /* private mode: this page only */ }
    showTrust(t);
  };
  const showTrust = (t) => {
    const note = $('#trust-note');
    if (!note) return;
    if (t) $('#trust-root').value = t.root;
    note.className = 'meta' + (t && t.from === 'node' ? ' warn' : '');
    note.textContent = !t ? 'No trust root yet: give the genesis hash you got from a source you trust (wnode genesis hash FILE); otherwise the first check takes this node\'s own, which is weaker.'
      : t.from === 'node' ? 'Trust root taken from this node itself on first use: weaker — a node that lies about everything can give its own. Compare it with the genesis hash you know, and press "trust this".'
        : 'Trust root given by you.';
  };
  if ($('#trust-save')) {
    showTrust(getTrust());
    $('#trust-save').addEventListener('click', () => {
      const v = $('#trust-root').value.trim();
      if (!/^0x[0-9a-fA-F]{64}$/.test(v)) { $('#trust-note').textContent = 'A trust root is a 0x hash of 64 hex digits.'; return; }
      setTrust({ root: v.toLowerCase(), from: 'you' });
    });
  }
  // verify.js (and through it the WebAssembly verifier) loads on the first checked call.
  let verifyJS;
  const loadVerifyJS = () => verifyJS || (verifyJS = new Promise((ok, bad) => {
    const s = document.createElement('script');
    s.src = '/ui/static/verify.js?v=' + vbox.dataset.verifyjs;
    s.onload = ok;
    s.onerror = () => { verifyJS = null; bad(new Error('verify.js did not load')); };
    document.head.appendChild(s);
  }));
  const hexBytes = (s) => hexToBytes(s || '0x');

  for (const form of document.querySelectorAll('form.call')) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const res = $('.result', form);
      const out = $('.out', form);
      res.hidden = false;
      out.textContent = '…';
      for (const c of ['.status', '.gas', '.rheight', '.signer', '.sig', '.verified', '.vdetail']) $(c, form).textContent = '';
      $('.verified', form).className = 'verified';
      let input;
      try {
        input = encode(form);
      } catch (e) {
        out.textContent = e.message;
        return;
      }
      const check = $('#verify-on') && $('#verify-on').checked;
      try {
        const r = await fetch(form.getAttribute('action'), {
          method: 'POST', body: input, cache: 'no-store', headers: check ? { 'X-Wnode-Witness': '1' } : {},
        });
        const bytes = new Uint8Array(await r.arrayBuffer());
        const h = (k) => r.headers.get(k) || '';
        $('.status', form).textContent = r.ok ? 'ok' : 'HTTP ' + r.status;
        $('.gas', form).textContent = h('X-Wnode-Gas-Used') || '–';
        $('.rheight', form).textContent = h('X-Wnode-Height') || '–';
        if (!check) {
          $('.signer', form).textContent = h('X-Wnode-Signer') || '–';
          $('.sig', form).textContent = h('X-Wnode-Signature') || '–';
          out.textContent = r.ok ? decode(bytes, form.dataset.output) : new TextDecoder().decode(bytes);
          return;
        }
        $('.signer', form).textContent = '–';
        $('.sig', form).textContent = 'none: a witness answer is checked here, not signed';
        const mark = $('.verified', form);
        const fail = (name, detail) => {
          mark.textContent = 'NOT verified: ' + name;
          mark.className = 'verified failed';
          $('.vdetail', form).textContent = detail || '';
        };
        const text = new TextDecoder().decode(bytes);
        if (!r.ok) { out.textContent = text; fail('no witness', 'the node answered HTTP ' + r.status); return; }
        let claim;
        try {
          const b = JSON.parse(text);
          claim = b.result;
          out.textContent = decode(hexBytes(claim.output), form.dataset.output);
          if (claim.error) $('.status', form).textContent = 'call failed: ' + claim.error;
        } catch (e) {
          out.textContent = text.slice(0, 4096);
          fail('malformed bundle', 'the answer is not a call bundle: ' + e.message);
          return;
        }
        mark.textContent = 'checking in this browser…';
        let t = getTrust();
        if (!t) {
          t = { root: vbox.dataset.genesis, from: 'node' };
          setTrust(t);
        }
        await loadVerifyJS();
        const v = await window.wnodeVerifier.check(t.root, text, vbox.dataset.contract, form.dataset.method, input, vbox.dataset);
        if (!v.ok) {
          // A kept root this node no longer reports: another chain (a dev chain made anew)
          // or a node lying now. Never replaced silently: that is what the root is for.
          const other = t.root.toLowerCase() !== vbox.dataset.genesis.toLowerCase();
          fail(v.error, (v.detail || '') + (other ? ' — this node now reports genesis hash ' + vbox.dataset.genesis +
            ', not your trust root: another chain, or a node that lies. If you made your chain anew, give its genesis hash as the trust root.' : ''));
          return;
        }
        out.textContent = decode(hexBytes(v.output), form.dataset.output);
        $('.gas', form).textContent = String(v.gasUsed);
        $('.rheight', form).textContent = String(v.height);
        mark.textContent = 'verified';
        mark.className = 'verified ok';
        $('.vdetail', form).textContent = 'by this browser in ' + v.ms + ' ms: block ' + v.height + ' (' + short(v.blockHash) + ', ' +
          fmtTime(v.time) + ') signed by the validators of your trust root (' + (v.rootKind === 'genesis' ? 'genesis hash' : 'validator set hash') +
          (t.from === 'node' ? ', taken from this node on first use: weaker' : '') + ')';
      } catch (e) {
        out.textContent = 'request failed: ' + e.message;
        if (check) {
          $('.verified', form).textContent = 'NOT verified: ' + e.message;
          $('.verified', form).className = 'verified failed';
        }
      }
    });
  }
})();
