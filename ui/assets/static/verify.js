// wnode dashboard: the in-browser verifier, loaded by ui.js on a contract page's first
// checked call. It runs package light compiled to WebAssembly (verifier.wasm, with Go's
// wasm_exec.js) and trusts nothing from the node: only the trust root the page passes.
'use strict';
(function () {
  let ready;
  const script = (src) => new Promise((ok, bad) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = ok;
    s.onerror = () => bad(new Error(src.split('?')[0] + ' did not load'));
    document.head.appendChild(s);
  });
  const stats = (window.wnodeVerifierStats = { loadMs: 0, verifyMs: [] });
  // load fetches and starts the verifier once; it announces itself with an event after
  // installing wnodeVerifyCall.
  const load = (d) => ready || (ready = (async () => {
    const t0 = performance.now();
    await script('/ui/static/wasm_exec.js?v=' + d.wasmexec);
    const started = new Promise((ok) => window.addEventListener('wnode-verifier-ready', ok, { once: true }));
    const go = new window.Go();
    const r = await fetch('/ui/static/verifier.wasm?v=' + d.verifier);
    if (!r.ok) throw new Error('verifier.wasm: HTTP ' + r.status);
    const { instance } = await WebAssembly.instantiateStreaming(r, go.importObject);
    go.run(instance);
    await started;
    stats.loadMs = Math.round(performance.now() - t0);
  })().catch((e) => { ready = null; throw e; }));
  // The genesis document, asked once: used only when it hashes to the trust root.
  let genesis;
  const getGenesis = () => genesis || (genesis = fetch('/ui/api/genesis', { cache: 'no-store' })
    .then((r) => (r.ok ? r.text() : null)).catch(() => null));

  window.wnodeVerifier = {
    // check verifies the witness answer bundle (JSON text) of method on contract with
    // input, against root. It resolves to {ok, error, detail, output, gasUsed, height,
    // time, blockHash, rootKind, ms}.
    async check(root, bundle, contract, method, input, d) {
      try {
        await load(d);
      } catch (e) {
        return { ok: false, error: 'verifier unavailable', detail: e.message };
      }
      const g = await getGenesis();
      const t0 = performance.now();
      // Bounded: a check that never answers is a failed check, not a page stuck on "checking".
      let timer;
      const timeout = new Promise((ok) => {
        timer = setTimeout(() => ok(JSON.stringify({ ok: false, error: 'verifier did not answer', detail: 'no verdict within 60 s' })), 60000);
      });
      let res;
      try {
        res = JSON.parse(await Promise.race([window.wnodeVerifyCall(root, g, bundle, contract, method, input), timeout]));
      } catch (e) {
        res = { ok: false, error: 'verifier failed', detail: e.message };
      } finally {
        clearTimeout(timer);
      }
      res.ms = Math.round(performance.now() - t0);
      stats.verifyMs.push(res.ms);
      return res;
    },
  };
})();
