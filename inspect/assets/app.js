/* eosin inspect report: plain JavaScript, no framework, no network. Records arrive as
   data/<kind>-NNNN.js scripts that call EOSIN.put(kind, n, value). */
(function () {
  'use strict';

  // ---------- data loading ----------
  var store = {};
  var waiting = {};
  var E = window.EOSIN = {
    put: function (kind, n, value) {
      var key = kind + ':' + n;
      store[key] = value;
      var w = waiting[key];
      if (w) {
        delete waiting[key];
        w.forEach(function (p) { p.ok(value); });
      }
    },
    state: 'loading',
    errors: []
  };
  window.addEventListener('error', function (e) { E.errors.push(String(e.message || e)); });
  window.addEventListener('unhandledrejection', function (e) { E.errors.push(String(e.reason && e.reason.message || e.reason)); });

  function pad4(n) { return ('000' + n).slice(-4); }

  function load(kind, n) {
    var key = kind + ':' + n;
    if (key in store) return Promise.resolve(store[key]);
    return new Promise(function (ok, fail) {
      if (waiting[key]) { waiting[key].push({ ok: ok, fail: fail }); return; }
      waiting[key] = [{ ok: ok, fail: fail }];
      var s = document.createElement('script');
      s.src = 'data/' + kind + '-' + pad4(n) + '.js';
      s.async = true;
      s.onerror = function () {
        var w = waiting[key] || [];
        delete waiting[key];
        w.forEach(function (p) { p.fail(new Error('cannot load ' + s.src)); });
      };
      document.head.appendChild(s);
    });
  }

  // loadMany loads chunks with a bounded number in flight, reporting progress.
  function loadMany(kind, ns, progress) {
    var i = 0, done = 0, out = new Array(ns.length);
    return new Promise(function (ok, fail) {
      if (!ns.length) { ok(out); return; }
      var failed = false;
      function next() {
        if (failed || i >= ns.length) return;
        var k = i++;
        load(kind, ns[k]).then(function (v) {
          out[k] = v; done++;
          if (progress) progress(done, ns.length);
          if (done === ns.length) ok(out); else next();
        }, function (e) { failed = true; fail(e); });
      }
      for (var j = 0; j < 6; j++) next();
    });
  }

  function range(n) { var a = []; for (var i = 0; i < n; i++) a.push(i); return a; }

  // ---------- DOM helpers ----------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        var v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'text') el.textContent = v;
        else if (k === 'class') el.className = v;
        else if (k === 'style') el.setAttribute('style', v);
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : v);
      }
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c == null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  var SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs) {
    var el = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) {
      if (k === 'text') el.textContent = attrs[k]; else el.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i]) el.appendChild(arguments[i]);
    return el;
  }
  function $(id) { return document.getElementById(id); }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function plural(n, w) { return fmt(n) + ' ' + w + (n === 1 ? '' : 's'); }
  function fmt(n) { return n == null ? '–' : Number(n).toLocaleString('en-US'); }
  function pct(x) { return x == null ? '–' : (100 * x).toFixed(x < 0.1 && x > 0 ? 1 : 0) + '%'; }
  function setState(view, st) {
    E.state = st;
    if (st === 'ready' && window.performance && performance.mark) performance.mark('eosin:ready:' + view);
    document.documentElement.setAttribute('data-view', view);
    document.documentElement.setAttribute('data-state', st);
  }

  // ---------- index ----------
  var I, pages, N, chunk;
  // docIndex maps a document's id (sha256, else URI) to its index in I.docs: links and
  // filters name documents by id, so they still mean the same document in the next report.
  var docIndex = {};
  function docOf(id) { return id != null && id !== '' && Object.prototype.hasOwnProperty.call(docIndex, id) ? docIndex[id] : -1; }
  // figKey is what links name a figure by (#figure/<key>): its id, stable across reports.
  function figKey(f) { return f.key || f.id; }
  function figHref(f) { return '#figure/' + encodeURIComponent(figKey(f)); }
  // keys of every figure in gallery order (data/ids-0000.js), loaded when a link needs them.
  var keyList = null, keyIndex = null;
  function figureKeys() {
    if (keyList) return Promise.resolve(keyList);
    if (!N) { keyList = []; keyIndex = {}; return Promise.resolve(keyList); }
    return load('ids', 0).then(function (ks) {
      if (!keyList) {
        keyList = ks; keyIndex = {};
        for (var i = 0; i < ks.length; i++) keyIndex[ks[i]] = i;
      }
      return keyList;
    });
  }
  function docName(d) {
    if (!d) return 'unknown document';
    if (d.title) return d.title;
    var u = d.uri || d.sha || '';
    var base = u.split(/[\\/]/).pop();
    return base || u;
  }

  // ---------- routing ----------
  function parseHash() {
    var raw = location.hash.replace(/^#/, '');
    var q = raw.indexOf('?');
    var path = q < 0 ? raw : raw.slice(0, q);
    var params = {};
    if (q >= 0) {
      raw.slice(q + 1).split('&').forEach(function (kv) {
        if (!kv) return;
        var i = kv.indexOf('=');
        var k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
        params[k] = i < 0 ? '' : decodeURIComponent(kv.slice(i + 1).replace(/\+/g, ' '));
      });
    }
    return { path: path || 'overview', params: params };
  }
  function hashOf(path, params) {
    var parts = [];
    for (var k in params) {
      if (params[k] !== '' && params[k] != null) parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(params[k]));
    }
    return '#' + path + (parts.length ? '?' + parts.join('&') : '');
  }

  var lastGallery = '#figures';
  var routeSeq = 0;
  function route() {
    var r = parseHash();
    var seq = ++routeSeq;
    E.routes = seq;
    var top = r.path.split('/')[0];
    var tab = top === 'figure' ? 'figures' : top;
    Array.prototype.forEach.call(document.querySelectorAll('.view'), function (v) { v.hidden = true; });
    Array.prototype.forEach.call(document.querySelectorAll('#tabs a'), function (a) {
      a.classList.toggle('active', a.getAttribute('data-tab') === tab);
    });
    var done = function () { if (seq === routeSeq) setState(top, 'ready'); };
    var failed = function (e) {
      if (seq !== routeSeq) return;
      setState(top, 'error');
      showError(top, e);
    };
    setState(top, 'loading');
    var p;
    if (top === 'figures') { lastGallery = location.hash || '#figures'; p = showGallery(r.params, seq); }
    else if (top === 'figure') p = showFigure(decodeKey(r.path.slice('figure/'.length)), seq);
    else if (top === 'rejects') p = showRejects(r.params, seq);
    else if (top === 'samples') p = showSamples(r.params, seq);
    else { p = showOverview(); top = 'overview'; }
    Promise.resolve(p).then(done, failed);
  }
  function decodeKey(k) { try { return decodeURIComponent(k); } catch (e) { return k; } }
  function showError(view, e) {
    var el = $('view-' + view) || $('view-overview');
    el.hidden = false;
    el.insertBefore(h('div', { class: 'note error', text: 'Could not show this view: ' + (e && e.message || e) }), el.firstChild);
  }

  // ---------- charts ----------
  function bars(rows, opts) {
    opts = opts || {};
    var maxv = 0;
    rows.forEach(function (r) { if (r.count > maxv) maxv = r.count; });
    var box = h('div', { class: 'bars' });
    var limit = opts.limit || rows.length;
    rows.slice(0, limit).forEach(function (r) {
      var w = maxv ? Math.max(0.5, 100 * r.count / maxv) : 0;
      var label = r.href ? h('a', { href: r.href, text: r.name, title: r.title || r.name }) : h('span', { text: r.name, title: r.title || r.name });
      box.appendChild(h('div', { class: 'bar-row' },
        h('div', { class: 'bar-label' }, label),
        h('div', { class: 'bar-track' }, h('div', { class: 'bar ' + (opts.tone || ''), style: 'width:' + w.toFixed(2) + '%' })),
        h('div', { class: 'bar-value', text: fmt(r.count) + (r.extra ? ' ' + r.extra : '') })));
    });
    if (rows.length > limit) box.appendChild(h('div', { class: 'muted small', text: '… and ' + fmt(rows.length - limit) + ' more' }));
    if (!rows.length) box.appendChild(h('div', { class: 'muted', text: opts.empty || 'none' }));
    return box;
  }
  function histogram(hst) {
    var W = 260, H = 80, n = hst.bins.length, maxv = Math.max.apply(null, hst.bins.concat([1]));
    var svg = s('svg', { viewBox: '0 0 ' + W + ' ' + (H + 16), class: 'hist', role: 'img', 'aria-label': hst.name + ' histogram' });
    hst.bins.forEach(function (c, k) {
      var bh = H * c / maxv, bw = W / n;
      svg.appendChild(s('rect', { x: (k * bw + 1).toFixed(1), y: (H - bh).toFixed(1), width: (bw - 2).toFixed(1), height: bh.toFixed(1), class: 'hbar' },
        s('title', { text: hst.edges[k] + ' – ' + hst.edges[k + 1] + ': ' + c })));
    });
    svg.appendChild(s('line', { x1: 0, y1: H + 0.5, x2: W, y2: H + 0.5, class: 'axis' }));
    svg.appendChild(s('text', { x: 0, y: H + 13, class: 'tick', text: String(hst.edges[0]) }));
    svg.appendChild(s('text', { x: W, y: H + 13, class: 'tick', 'text-anchor': 'end', text: String(hst.edges[n]) }));
    return h('div', { class: 'hist-box' },
      h('div', { class: 'hist-title' }, h('strong', { text: hst.name }), h('span', { class: 'muted', text: ' mean ' + hst.mean + ' · n ' + fmt(hst.n) })),
      svg);
  }
  function tile(label, value, sub) {
    return h('div', { class: 'tile' }, h('div', { class: 'tile-value', text: value }), h('div', { class: 'tile-label', text: label }),
      sub ? h('div', { class: 'tile-sub', text: sub }) : null);
  }
  function panel(title, body, cls) {
    return h('section', { class: 'panel ' + (cls || '') }, h('h2', { text: title }), body);
  }

  // ---------- overview ----------
  var overviewBuilt = false;
  function showOverview() {
    var el = $('view-overview');
    el.hidden = false;
    if (overviewBuilt) return;
    overviewBuilt = true;
    var T = I.totals;
    var tiles = h('div', { class: 'tiles' },
      tile('Documents', fmt(T.documents)),
      tile('Pages', fmt(T.pages), 'with figures · ' + (T.pagesRendered ? fmt(T.pagesRendered) + ' rendered' : 'not rendered')),
      tile('Figures', fmt(T.figures), T.withSubfig ? fmt(T.withSubfig) + ' multi-panel · ' + fmt(T.subfigures) + ' panels' : null),
      tile('OCR share', T.figures ? pct(T.ocrShare || 0) : '–', fmt(T.ocr) + ' figures' + (T.ocrConfidence ? ' · mean conf. ' + T.ocrConfidence : '')),
      tile('Flagged', fmt(T.flagged), T.figures ? pct(T.flagged / T.figures) + ' of figures' : null),
      tile('Rejects', fmt(T.rejects), I.reasons.length ? plural(I.reasons.length, 'reason') : null),
      tile('Dedup removals', fmt(T.dedup), T.dedupStats ? fmt(T.dedupStats) + ' in manifest stats' : null),
      tile('CoT samples', fmt(T.samples), T.samples ? fmt(T.kept) + ' kept' : null));
    el.appendChild(tiles);
    if (T.missingImages) el.appendChild(h('div', { class: 'note warn', text: fmt(T.missingImages) + ' figure(s) have no crop image in the input.' }));
    // Manifests and agreement reports come first: they say what the inputs are.
    if (I.manifests.length) {
      var mbox = h('div', { class: 'manifests' });
      I.manifests.forEach(function (m, k) {
        var rows = [];
        function addObj(prefix, o) {
          Object.keys(o || {}).sort().forEach(function (k) {
            var v = o[k];
            if (v && typeof v === 'object' && !Array.isArray(v)) { addObj(prefix + k + '.', v); return; }
            rows.push(h('tr', null, h('td', { class: 'key', text: prefix + k }),
              typeof v === 'number' ? h('td', { class: 'num', text: fmt(v) }) : h('td', { class: 'val', text: typeof v === 'string' ? v : JSON.stringify(v) })));
          });
        }
        addObj('', m.counts); addObj('rejects: ', m.rejects); addObj('stats: ', m.stats);
        mbox.appendChild(h('div', { class: 'manifest' },
          h('div', { class: 'manifest-head' }, h('code', { text: m.source }), m.version ? h('span', { class: 'badge blue', text: m.version }) : null),
          h('div', { class: 'manifest-body' }, h('table', { class: 'table compact manifest-table', id: 'manifest-' + k }, h('tbody', null, rows)))));
      });
      el.appendChild(panel('Dataset manifests', mbox));
    }
    (I.agreements || []).forEach(function (a, k) { el.appendChild(agreementPanel(a, k)); });

    var docs = I.docs.map(function (d, k) { return { d: d, k: k }; });
    var byFig = docs.slice().sort(function (a, b) { return b.d.figures - a.d.figures || a.k - b.k; });
    var grid = h('div', { class: 'grid2' });
    grid.appendChild(panel('Figures per document', bars(byFig.filter(function (x) { return x.d.figures > 0; }).map(function (x) {
      return { name: docName(x.d), title: x.d.uri, count: x.d.figures, href: hashOf('figures', { doc: x.d.id }) };
    }), { limit: 25, empty: 'no figures' })));
    grid.appendChild(panel('Rejects by reason', bars(I.reasons.map(function (r) {
      return { name: r.name, count: r.count, href: hashOf('rejects', { reason: r.name }) };
    }), { tone: 'warm', limit: 25, empty: 'no rejects' })));
    grid.appendChild(panel('Quality flags', bars(I.flags.map(function (f) {
      return { name: f.name, count: f.count, href: hashOf('figures', { flag: f.name }) };
    }), { tone: 'amber', empty: 'no flags raised' })));
    var misc = h('div');
    misc.appendChild(h('h3', { text: 'Image source' }));
    misc.appendChild(bars(I.imgSources, { empty: 'unknown' }));
    misc.appendChild(h('h3', { text: 'Rejects by stage' }));
    misc.appendChild(bars(I.stages.map(function (r) { return { name: r.name, count: r.count, href: hashOf('rejects', { stage: r.name }) }; }), { tone: 'warm', empty: 'no rejects' }));
    if (I.kinds.length > 1) { misc.appendChild(h('h3', { text: 'Record kind' })); misc.appendChild(bars(I.kinds)); }
    grid.appendChild(panel('Sources and stages', misc));
    el.appendChild(grid);

    // per-document table
    var tbody = h('tbody');
    var maxFig = Math.max.apply(null, I.docs.map(function (d) { return d.figures; }).concat([1]));
    docs.forEach(function (x) {
      var d = x.d;
      tbody.appendChild(h('tr', null,
        h('td', { class: 'doc' }, d.figures ? h('a', { href: hashOf('figures', { doc: d.id }), text: docName(d), title: d.uri || d.sha || '' }) : h('span', { text: docName(d), title: d.uri || d.sha || '' }),
          d.note ? h('div', { class: 'muted small', text: d.note }) : null),
        h('td', { class: 'num' }, h('div', { class: 'cellbar' }, h('span', { style: 'width:' + (100 * d.figures / maxFig).toFixed(1) + '%' })), h('span', { class: 'cellnum', text: fmt(d.figures) })),
        h('td', { class: 'num', text: fmt(d.pages) }),
        h('td', { class: 'num', text: d.figures ? pct(d.ocr / d.figures) : '–' }),
        h('td', { class: 'num', text: fmt(d.flagged) }),
        h('td', { class: 'num' }, d.rejects ? h('a', { href: hashOf('rejects', { doc: d.id }), text: fmt(d.rejects) }) : '0'),
        h('td', { class: 'num', text: fmt(d.dedup) })));
    });
    el.appendChild(panel('Documents', h('div', { class: 'table-wrap doc-scroll' }, h('table', { class: 'table', id: 'doc-table' },
      h('thead', null, h('tr', null, h('th', { text: 'Document' }), h('th', { class: 'num', text: 'Figures' }), h('th', { class: 'num', text: 'Pages' }),
        h('th', { class: 'num', text: 'OCR' }), h('th', { class: 'num', text: 'Flagged' }), h('th', { class: 'num', text: 'Rejects' }), h('th', { class: 'num', text: 'Dedup' }))),
      tbody))));

    el.appendChild(h('p', { class: 'muted small foot', text: 'Inputs: ' + I.sources.join(', ') + ' · generated ' + I.generated }));
  }

  // agreementPanel shows how an extraction's PDF-only figures agreed with the article XML.
  function agreementPanel(a, k) {
    function row(name, sc, cls) {
      return h('tr', { class: cls || null }, h('td', { text: name }), h('td', { class: 'num', text: fmt(sc.articles) }),
        h('td', { class: 'num', text: fmt(sc.xml_figures) }), h('td', { class: 'num', text: fmt(sc.pdf_figures) }),
        h('td', { class: 'num', text: fmt(sc.matched) }), h('td', { class: 'num', text: pct(sc.recall) }), h('td', { class: 'num', text: pct(sc.precision) }));
    }
    var body = h('tbody', null, a.journals.map(function (j) { return row(j.journal, j); }), row('All journals', a.total, 'total'));
    return panel('PDF extraction against the article XML', [
      h('div', { class: 'manifest-head' }, h('code', { text: a.source })),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'agreement-' + k },
        h('thead', null, h('tr', null, ['Journal', 'Articles', 'XML figures', 'PDF figures', 'Matched', 'Recall', 'Precision'].map(function (t, c) {
          return h('th', { class: c ? 'num' : null, text: t });
        }))), body)),
      a.metric ? h('p', { class: 'muted small', text: 'Captions match by ' + a.metric + '.' }) : null], 'agreement');
  }

  // ---------- gallery ----------
  var docLists = {};
  function docMembers(d) {
    if (!docLists[d]) {
      var a = [];
      for (var i = 0; i < N; i++) if (I.fdoc[i] === d) a.push(i);
      docLists[d] = a;
    }
    return docLists[d];
  }
  function flagMembers(name) {
    if (name === '-') {
      var any = new Uint8Array(N), out = [];
      I.flags.forEach(function (f) { f.members.forEach(function (i) { any[i] = 1; }); });
      for (var i = 0; i < N; i++) if (!any[i]) out.push(i);
      return out;
    }
    for (var k = 0; k < I.flags.length; k++) if (I.flags[k].name === name) return I.flags[k].members;
    return [];
  }
  function intersect(a, b) {
    var set = new Uint8Array(N), out = [];
    b.forEach(function (i) { set[i] = 1; });
    a.forEach(function (i) { if (set[i]) out.push(i); });
    return out;
  }
  // textChunks loads the search text of every figure.
  function textChunks(progress) {
    return loadMany('text', range(Math.ceil(N / I.textChunk)), progress).then(function (cs) {
      return cs.map(function (c, k) {
        if (typeof c !== 'string') return c;
        var lines = c.split('\n');
        store['text:' + k] = lines; // split once
        return lines;
      });
    });
  }
  // matchFigures returns the indexes matching the filters, in order.
  function matchFigures(p, progress) {
    var list = null;
    if (p.doc !== undefined && p.doc !== '') { var dk = docOf(p.doc); list = dk < 0 ? [] : docMembers(dk); }
    if (p.flag) list = list ? intersect(list, flagMembers(p.flag)) : flagMembers(p.flag);
    var terms = (p.q || '').toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) return Promise.resolve(list || range(N));
    return textChunks(progress).then(function (chunks) {
      var base = list || range(N), out = [], tc = I.textChunk;
      base.forEach(function (i) {
        var t = chunks[Math.floor(i / tc)][i % tc];
        for (var k = 0; k < terms.length; k++) if (t.indexOf(terms[k]) < 0) return;
        out.push(i);
      });
      return out;
    });
  }
  function figures(ids) {
    var need = {};
    ids.forEach(function (i) { need[Math.floor(i / chunk)] = 1; });
    var ns = Object.keys(need).map(Number);
    return loadMany('figures', ns).then(function () {
      return ids.map(function (i) { return store['figures:' + Math.floor(i / chunk)][i % chunk]; });
    });
  }

  var galleryInit = false, lastMatches = [], lastKey = null;
  function initGallery() {
    if (galleryInit) return;
    galleryInit = true;
    var sel = $('f-doc');
    sel.appendChild(h('option', { value: '', text: 'All documents (' + fmt(I.docs.length) + ')' }));
    I.docs.forEach(function (d, k) {
      if (d.figures) sel.appendChild(h('option', { value: d.id, text: docName(d) + ' (' + fmt(d.figures) + ')' }));
    });
    var fs = $('f-flag');
    fs.appendChild(h('option', { value: '', text: 'Any flags' }));
    fs.appendChild(h('option', { value: '-', text: 'No flags' }));
    I.flags.forEach(function (f) { fs.appendChild(h('option', { value: f.name, text: f.name + ' (' + fmt(f.count) + ')' })); });
    var timer = null;
    function update(resetPage) {
      var p = parseHash().params;
      p.q = $('q').value.trim();
      p.doc = $('f-doc').value;
      p.flag = $('f-flag').value;
      p.per = $('f-per').value === '48' ? '' : $('f-per').value;
      if (resetPage) delete p.page;
      location.hash = hashOf('figures', p);
    }
    $('q').addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(function () { update(true); }, 220); });
    $('q').addEventListener('keydown', function (e) { if (e.key === 'Enter') { clearTimeout(timer); update(true); } });
    ['f-doc', 'f-flag', 'f-per'].forEach(function (id) { $(id).addEventListener('change', function () { update(true); }); });
  }

  // highlight returns text as nodes with the query terms marked; a long text starts shortly
  // before the first match so that the match is visible in the clamped caption.
  function highlight(text, terms) {
    if (!terms.length || !text) return text;
    var lower = text.toLowerCase(), first = -1;
    terms.forEach(function (t) { var k = lower.indexOf(t); if (k >= 0 && (first < 0 || k < first)) first = k; });
    if (first > 90) { var cut = text.lastIndexOf(' ', first - 40); cut = cut > 0 ? cut + 1 : first - 40; text = '…' + text.slice(cut); lower = text.toLowerCase(); }
    var re = new RegExp(terms.map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }).join('|'), 'gi');
    var out = [], last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (m[0] === '') { re.lastIndex++; continue; }
      out.push(text.slice(last, m.index), h('mark', { text: m[0] }));
      last = m.index + m[0].length;
    }
    out.push(text.slice(last));
    return out;
  }

  function card(f, terms) {
    var d = I.docs[f.doc];
    var img = f.img
      ? h('img', { src: f.img, loading: 'lazy', decoding: 'async', alt: f.label || 'figure', width: f.iw || null, height: f.ih || null,
        onerror: function () { this.classList.add('broken'); this.parentNode.classList.add('broken'); } })
      : h('div', { class: 'noimg', text: 'no crop image' });
    var badges = [];
    if (f.kind && f.kind !== 'figure') badges.push(h('span', { class: 'badge', text: f.kind }));
    if (f.sub && f.sub.length) badges.push(h('span', { class: 'badge blue', text: f.sub.length + ' panels' }));
    if (f.ocr) badges.push(h('span', { class: 'badge violet', text: 'OCR' }));
    return h('article', { class: 'card', 'data-i': f.i, 'data-id': f.id },
      h('a', { class: 'thumb', href: figHref(f), title: 'Show on its page' }, img),
      h('div', { class: 'card-body' },
        h('div', { class: 'card-head' }, h('a', { class: 'label', href: figHref(f), text: f.label || '(no label)' }), badges),
        h('p', { class: 'caption', title: f.caption || '' }, f.caption ? highlight(f.caption, terms || []) : '(no caption)'),
        h('div', { class: 'src', title: d && d.uri || '' }, h('span', { class: 'docname', text: docName(d) }), h('span', { text: ' · p. ' + f.page })),
        f.flags && f.flags.length ? h('div', { class: 'chips' }, f.flags.map(function (x) { return h('span', { class: 'chip', text: x }); })) : null));
  }

  function showGallery(p, seq) {
    initGallery();
    $('view-figures').hidden = false;
    $('q').value = p.q || '';
    $('f-doc').value = docOf(p.doc) >= 0 ? p.doc : '';
    $('f-flag').value = p.flag || '';
    $('f-per').value = p.per || '48';
    var per = p.per === 'all' ? Infinity : (parseInt(p.per, 10) || 48);
    var gal = $('gallery');
    var key = [p.q || '', p.doc || '', p.flag || ''].join('\u0001');
    var result = $('result');
    var pr = key === lastKey ? Promise.resolve(lastMatches) : matchFigures(p, function (k, n) {
      if (seq === routeSeq) result.textContent = 'searching… ' + Math.round(100 * k / n) + '%';
    });
    return pr.then(function (ids) {
      if (seq !== routeSeq) return;
      lastMatches = ids; lastKey = key;
      var npages = Math.max(1, Math.ceil(ids.length / per));
      var pg = Math.min(Math.max(1, parseInt(p.page, 10) || 1), npages);
      var slice = per === Infinity ? ids : ids.slice((pg - 1) * per, pg * per);
      var filtered = ids.length !== N;
      result.textContent = fmt(ids.length) + (filtered ? ' of ' + fmt(N) : '') + ' figure' + (ids.length === 1 ? '' : 's');
      result.setAttribute('data-count', ids.length);
      return figures(slice).then(function (fs) {
        if (seq !== routeSeq) return;
        clear(gal);
        if (!fs.length) gal.appendChild(h('div', { class: 'empty', text: N ? 'No figure matches these filters.' : 'This input holds no figures.' }));
        var frag = document.createDocumentFragment();
        var terms = (p.q || '').toLowerCase().split(/\s+/).filter(Boolean);
        fs.forEach(function (f) { frag.appendChild(card(f, terms)); });
        gal.appendChild(frag);
        pager($('pager'), pg, npages, function (k) { var q = Object.assign({}, p); q.page = k > 1 ? k : ''; return hashOf('figures', q); });
      });
    });
  }

  function pager(el, pg, npages, href) {
    clear(el);
    if (npages <= 1) return;
    function link(k, text, cls) {
      return k === pg && !text ? h('span', { class: 'pg current', text: String(k) })
        : h('a', { class: 'pg ' + (cls || ''), href: href(k), text: text || String(k) });
    }
    if (pg > 1) el.appendChild(link(pg - 1, '‹ Prev', 'nav'));
    var shown = {};
    [1, 2, pg - 2, pg - 1, pg, pg + 1, pg + 2, npages - 1, npages].forEach(function (k) { if (k >= 1 && k <= npages) shown[k] = 1; });
    var last = 0;
    Object.keys(shown).map(Number).sort(function (a, b) { return a - b; }).forEach(function (k) {
      if (k > last + 1) el.appendChild(h('span', { class: 'pg gap', text: '…' }));
      el.appendChild(link(k));
      last = k;
    });
    if (pg < npages) el.appendChild(link(pg + 1, 'Next ›', 'nav'));
  }

  // ---------- one figure on its page ----------
  function box(b) { return b && (b[2] - b[0]) > 0 && (b[3] - b[1]) > 0; }
  function showFigure(key, seq) {
    var el = clear($('view-figure'));
    el.hidden = false;
    return figureKeys().then(function (keys) {
      if (seq !== routeSeq) return;
      var i = Object.prototype.hasOwnProperty.call(keyIndex, key) ? keyIndex[key] : -1;
      if (i < 0) { el.appendChild(h('div', { class: 'note error', id: 'no-figure', text: 'No figure ' + key + ' in this report.' })); return; }
      return showFigureAt(el, i, keys, seq);
    });
  }
  function showFigureAt(el, i, keys, seq) {
    return figures([i]).then(function (fs) {
      if (seq !== routeSeq) return;
      var f = fs[0], d = I.docs[f.doc];
      var pos = lastMatches.indexOf(i);
      var prev = pos > 0 ? lastMatches[pos - 1] : (pos < 0 && i > 0 ? i - 1 : null);
      var next = pos >= 0 ? (pos + 1 < lastMatches.length ? lastMatches[pos + 1] : null) : (i + 1 < N ? i + 1 : null);
      var keyHref = function (k) { return '#figure/' + encodeURIComponent(keys[k]); };
      el.appendChild(h('div', { class: 'crumbs' },
        h('a', { href: lastGallery, class: 'back', text: '← Gallery' }),
        h('span', { class: 'muted', text: pos >= 0 ? (pos + 1) + ' of ' + fmt(lastMatches.length) : '#' + (i + 1) + ' of ' + fmt(N) }),
        h('span', { class: 'spacer' }),
        prev != null ? h('a', { href: keyHref(prev), class: 'btn', id: 'prev', text: '‹ Previous' }) : h('span', { class: 'btn disabled', text: '‹ Previous' }),
        next != null ? h('a', { href: keyHref(next), class: 'btn', id: 'next', text: 'Next ›' }) : h('span', { class: 'btn disabled', text: 'Next ›' })));

      // neighbours on the same page, drawn faintly
      var others = [];
      var ch = store['figures:' + Math.floor(i / chunk)] || [];
      ch.forEach(function (g) { if (g.i !== f.i && g.doc === f.doc && g.page === f.page) others.push(g); });

      var pg = pages[f.pk];
      var pw = f.ps[0] || 612, ph = f.ps[1] || 792;
      var svg = s('svg', { class: 'overlay', viewBox: '0 0 ' + pw + ' ' + ph, preserveAspectRatio: 'none' });
      others.forEach(function (g) {
        if (box(g.bbox)) svg.appendChild(s('a', { href: figHref(g) }, s('rect', rectAttrs(g.bbox, 'other'), s('title', { text: (g.label || 'figure') + ' (another figure on this page)' }))));
      });
      if (box(f.cb)) svg.appendChild(s('rect', rectAttrs(f.cb, 'cap'), s('title', { text: 'caption box' })));
      if (box(f.bbox)) svg.appendChild(s('rect', rectAttrs(f.bbox, 'fig'), s('title', { text: 'figure box' })));
      (f.sub || []).forEach(function (sf) {
        if (!box(sf.bbox)) return;
        svg.appendChild(s('rect', rectAttrs(sf.bbox, 'panel'), s('title', { text: 'panel ' + (sf.label || '') })));
        if (sf.label) svg.appendChild(s('text', { x: sf.bbox[0] + 3, y: sf.bbox[1] + 11, class: 'panel-label', text: sf.label }));
      });
      var legend = h('div', { class: 'legend' },
        h('span', null, h('i', { class: 'sw fig' }), 'figure'),
        h('span', null, h('i', { class: 'sw cap' }), 'caption'),
        f.sub && f.sub.length ? h('span', null, h('i', { class: 'sw panel' }), 'panels') : null,
        others.length ? h('span', null, h('i', { class: 'sw other' }), 'other figures') : null);
      // The whole page fits the window height.
      var pageStyle = 'aspect-ratio:' + pw + ' / ' + ph + ';max-width:calc((100vh - 170px) * ' + (pw / ph).toFixed(4) + ')';
      var left;
      if (pg) {
        left = h('div', { class: 'page-wrap' },
          h('div', { class: 'page', style: pageStyle },
            h('img', { src: pg.src, alt: 'page ' + f.page, class: 'page-img', width: pg.w, height: pg.h }), svg),
          legend);
      } else {
        // No page image: the boxes on an empty page of the right size still show the layout.
        left = h('div', { class: 'page-wrap missing' },
          h('div', { class: 'note', id: 'page-missing' },
            h('strong', { text: 'Page ' + f.page + ' is not shown. ' }), (d && d.note) || 'The source document was not available when this report was built: the crop is shown alone.'),
          h('div', { class: 'page schematic', style: pageStyle, title: 'page outline (' + pw + ' × ' + ph + ' pt) with the recorded boxes' }, svg),
          legend);
      }

      var meta = h('dl', { class: 'meta-list' });
      function row(k, v) { if (v !== '' && v != null) { meta.appendChild(h('dt', { text: k })); meta.appendChild(h('dd', null, v)); } }
      row('Document', h('span', { title: d.uri || '', text: docName(d) }));
      row('URI', d.uri ? h('code', { text: d.uri }) : null);
      row('Page', String(f.page));
      row('Figure id', h('code', { text: f.id }));
      row('Image', [f.iw && f.ih ? f.iw + '×' + f.ih + ' px' : '', f.fmt, f.src, f.dpi ? f.dpi + ' dpi' : ''].filter(Boolean).join(' · '));
      row('Figure box', f.bbox.map(function (v) { return v.toFixed(1); }).join(', ') + ' pt');
      row('Caption box', box(f.cb) ? f.cb.map(function (v) { return v.toFixed(1); }).join(', ') + ' pt' : '');
      row('OCR', f.ocr ? 'yes' + (f.conf ? ' · mean confidence ' + f.conf : '') : 'no');
      row('pHash', f.phash ? h('code', { text: f.phash }) : '');
      row('Flags', f.flags && f.flags.length ? h('span', { class: 'chips' }, f.flags.map(function (x) { return h('a', { class: 'chip', href: hashOf('figures', { flag: x }), text: x }); })) : 'none');

      var right = h('div', { class: 'fig-detail' },
        h('h1', { class: 'fig-title', text: f.label || '(no label)' }),
        h('div', { class: 'src' }, h('a', { href: hashOf('figures', { doc: d.id }), text: docName(d) }), ' · page ' + f.page),
        f.img ? h('div', { class: 'crop' }, h('img', { src: f.img, alt: f.label || 'figure crop', id: 'crop', width: f.iw || null, height: f.ih || null,
          onerror: function () { this.classList.add('broken'); } })) : h('div', { class: 'noimg big', text: 'no crop image' }),
        h('h3', { text: 'Caption' }), h('p', { class: 'full-caption', text: f.caption || '(no caption)' }),
        f.sub && f.sub.length ? [h('h3', { text: 'Panels' }), h('ul', { class: 'panels' }, f.sub.map(function (sf) {
          return h('li', null, h('strong', { text: sf.label || '?' }), ' ', sf.caption || h('span', { class: 'muted', text: '(no panel caption)' }));
        }))] : null,
        f.men && f.men.length ? [h('h3', { text: 'Mentions in the text' }), h('ul', { class: 'mentions' }, f.men.map(function (m) { return h('li', { text: m }); }))] : null,
        h('h3', { text: 'Record' }), meta);
      el.appendChild(h('div', { class: 'figure-view' }, left, right));
      window.scrollTo(0, 0);
    });
  }
  function rectAttrs(b, cls) {
    return { x: b[0], y: b[1], width: Math.max(0, b[2] - b[0]), height: Math.max(0, b[3] - b[1]), class: cls };
  }

  // ---------- rejects ----------
  function showRejects(p, seq) {
    var el = clear($('view-rejects'));
    el.hidden = false;
    var total = I.totals.rejects;
    var head = h('div', { class: 'toolbar' });
    var sel = h('select', { id: 'r-reason', 'aria-label': 'Reason' }, h('option', { value: '', text: 'All reasons (' + fmt(total) + ')' }),
      I.reasons.map(function (r) { return h('option', { value: r.name, text: r.name + ' (' + fmt(r.count) + ')' }); }));
    sel.value = p.reason || '';
    var st = h('select', { id: 'r-stage', 'aria-label': 'Stage' }, h('option', { value: '', text: 'All stages' }),
      I.stages.map(function (r) { return h('option', { value: r.name, text: r.name + ' (' + fmt(r.count) + ')' }); }));
    st.value = p.stage || '';
    var ds = h('select', { id: 'r-doc', 'aria-label': 'Document' }, h('option', { value: '', text: 'All documents' }),
      I.docs.map(function (d) { return d.rejects ? h('option', { value: d.id, text: docName(d) + ' (' + fmt(d.rejects) + ')' }) : null; }));
    ds.value = docOf(p.doc) >= 0 ? p.doc : '';
    var rdoc = p.doc ? docOf(p.doc) : null;
    function go() { location.hash = hashOf('rejects', { reason: sel.value, stage: st.value, doc: ds.value }); }
    [sel, st, ds].forEach(function (x) { x.addEventListener('change', go); });
    var res = h('span', { class: 'result' });
    add(head, [sel, st, ds, res]);
    el.appendChild(head);
    if (!total) { el.appendChild(h('div', { class: 'empty', text: 'Nothing was rejected.' })); return; }
    var table = h('tbody');
    el.appendChild(h('div', { class: 'table-wrap panel flush' }, h('table', { class: 'table', id: 'reject-table' },
      h('thead', null, h('tr', null, ['Stage', 'Kind', 'Document', 'Page', 'Reason', 'Detail'].map(function (t) { return h('th', { text: t }); }))), table)));
    var pgEl = h('nav', { class: 'pager' });
    el.appendChild(pgEl);
    return loadMany('rejects', range(Math.ceil(total / chunk))).then(function (chunks) {
      if (seq !== routeSeq) return;
      var all = [].concat.apply([], chunks).filter(function (r) {
        return (!p.reason || r.reason === p.reason) && (!p.stage || (r.stage || '(none)') === p.stage) && (rdoc === null || (rdoc >= 0 && r.doc === rdoc));
      });
      res.textContent = fmt(all.length) + ' reject' + (all.length === 1 ? '' : 's');
      res.setAttribute('data-count', all.length);
      var per = 100, npages = Math.max(1, Math.ceil(all.length / per));
      var pg = Math.min(Math.max(1, parseInt(p.page, 10) || 1), npages);
      all.slice((pg - 1) * per, pg * per).forEach(function (r) {
        var d = r.doc >= 0 ? I.docs[r.doc] : null;
        table.appendChild(h('tr', null, h('td', { text: r.stage || '' }), h('td', { text: r.kind || '' }),
          h('td', { class: 'doc', title: r.uri || (d && d.uri) || '' }, d ? docName(d) : (r.uri || r.id || '')),
          h('td', { class: 'num', text: r.page || '' }), h('td', null, h('span', { class: 'chip warm', text: r.reason })),
          h('td', { class: 'detail', text: r.detail || '' })));
      });
      pager(pgEl, pg, npages, function (k) { var q = Object.assign({}, p); q.page = k > 1 ? k : ''; return hashOf('rejects', q); });
    });
  }

  // ---------- CoT samples ----------
  function optionLetter(k) { return String.fromCharCode(65 + k); }
  function isCorrect(opt, k, answer) {
    if (!answer) return false;
    var a = answer.trim().toLowerCase(), L = optionLetter(k).toLowerCase();
    var o = opt.trim().toLowerCase(), bare = o.replace(/^[a-z][.):]\s*/, '');
    return a === L || a.indexOf(L + '.') === 0 || a.indexOf(L + ')') === 0 || a.indexOf('(' + L + ')') === 0 || a === o || a === bare;
  }
  // lettered reports whether every option already starts with its letter ("A. …").
  function lettered(opts) {
    return opts.every(function (o, k) { return new RegExp('^\\(?' + optionLetter(k) + '[.):]\\s', 'i').test(o.trim() + ' '); });
  }
  function sameAnswer(a, b) {
    var n = function (x) { return x.trim().toLowerCase().replace(/[\s.():]+/g, ' ').trim(); };
    return n(a) === n(b);
  }
  function showSamples(p, seq) {
    var el = clear($('view-samples'));
    el.hidden = false;
    var total = I.totals.samples;
    if (!total) { el.appendChild(h('div', { class: 'empty', text: 'No chain-of-thought samples in these inputs. Pass a CoT dataset (PREFIX[@VERSION]) to `eosin inspect` to see them here.' })); return; }
    var top = h('div', { class: 'grid2 start' });
    top.appendChild(panel('Tasks', bars(I.tasks), ''));
    var scoreBox = h('div', { class: 'hists' }, I.scores.map(histogram));
    top.appendChild(panel('Reward scores', I.scores.length ? scoreBox : h('div', { class: 'muted', text: 'no scores' })));
    el.appendChild(top);
    if (I.verdictReasons.length) el.appendChild(panel('Why samples were dropped', bars(I.verdictReasons, { tone: 'warm', limit: 15 })));
    var task = h('select', { id: 's-task', 'aria-label': 'Task' }, h('option', { value: '', text: 'All tasks' }), I.tasks.map(function (t) { return h('option', { value: t.name, text: t.name + ' (' + fmt(t.count) + ')' }); }));
    task.value = p.task || '';
    var keep = h('select', { id: 's-keep', 'aria-label': 'Verdict' }, h('option', { value: '', text: 'Kept and dropped' }), h('option', { value: '1', text: 'Kept (' + fmt(I.totals.kept) + ')' }), h('option', { value: '0', text: 'Dropped (' + fmt(total - I.totals.kept) + ')' }));
    keep.value = p.keep || '';
    function go() { location.hash = hashOf('samples', { task: task.value, keep: keep.value }); }
    task.addEventListener('change', go); keep.addEventListener('change', go);
    var res = h('span', { class: 'result' });
    el.appendChild(h('div', { class: 'toolbar' }, task, keep, res));
    var list = h('div', { class: 'samples' });
    var pgEl = h('nav', { class: 'pager' });
    el.appendChild(list); el.appendChild(pgEl);
    var filtered = !!(p.task || p.keep);
    var per = 20;
    var loadAll = filtered ? loadMany('samples', range(Math.ceil(total / chunk))).then(function (cs) { return [].concat.apply([], cs); }) : null;
    return Promise.resolve(loadAll).then(function (all) {
      if (seq !== routeSeq) return;
      var ids;
      if (all) {
        ids = all.filter(function (x) { return (!p.task || (x.task || '(none)') === p.task) && (!p.keep || (x.keep ? '1' : '0') === p.keep); }).map(function (x) { return x.i; });
      } else ids = range(total);
      res.textContent = fmt(ids.length) + ' sample' + (ids.length === 1 ? '' : 's');
      res.setAttribute('data-count', ids.length);
      var npages = Math.max(1, Math.ceil(ids.length / per));
      var pg = Math.min(Math.max(1, parseInt(p.page, 10) || 1), npages);
      var slice = ids.slice((pg - 1) * per, pg * per);
      var need = {};
      slice.forEach(function (i) { need[Math.floor(i / chunk)] = 1; });
      return loadMany('samples', Object.keys(need).map(Number)).then(function () {
        var smp = slice.map(function (i) { return store['samples:' + Math.floor(i / chunk)][i % chunk]; });
        // Every card links to its figure: load the figures of all of them, whatever view
        // was opened before.
        var figIds = smp.filter(function (x) { return x.fig >= 0 && x.fig < N; }).map(function (x) { return x.fig; });
        return figures(figIds).then(function () { return smp; });
      }).then(function (smp) {
        if (seq !== routeSeq) return;
        smp.forEach(function (x) { list.appendChild(sampleCard(x)); });
        pager(pgEl, pg, npages, function (k) { var q = Object.assign({}, p); q.page = k > 1 ? k : ''; return hashOf('samples', q); });
      });
    });
  }
  function sampleCard(x) {
    var imgs = (x.imgs || []).slice();
    var fch = x.fig >= 0 ? store['figures:' + Math.floor(x.fig / chunk)] : null;
    var fig = fch ? fch[x.fig % chunk] || null : null;
    if (!imgs.length && fig && fig.img) imgs.push(fig.img);
    var scores = Object.keys(x.scores || {}).sort().map(function (k) {
      var v = x.scores[k], w = Math.max(0, Math.min(1, v));
      return h('div', { class: 'score' }, h('span', { class: 'score-name', text: k }),
        h('span', { class: 'bar-track small' }, h('span', { class: 'bar' + (v < 0.5 ? ' warm' : ''), style: 'width:' + (100 * w).toFixed(0) + '%' })),
        h('span', { class: 'score-val', text: (Math.round(v * 1000) / 1000).toString() }));
    });
    return h('article', { class: 'sample', 'data-id': x.id },
      h('div', { class: 'sample-head' },
        h('span', { class: 'badge blue', text: x.task || 'sample' }),
        h('span', { class: 'badge ' + (x.keep ? 'green' : 'red'), text: x.keep ? 'kept' : 'dropped' }),
        (x.reasons || []).map(function (r) { return h('span', { class: 'chip warm', text: r }); }),
        h('span', { class: 'spacer' }),
        fig ? h('a', { href: figHref(fig), class: 'muted small', text: (fig.label || 'figure') + ' →' }) : (x.figId ? h('code', { class: 'muted small', text: x.figId }) : null),
        h('code', { class: 'muted small', text: x.id })),
      h('div', { class: 'sample-body' },
        imgs.length ? h('div', { class: 'sample-imgs' }, imgs.map(function (src) { return h('img', { src: src, loading: 'lazy', alt: 'sample image' }); })) : null,
        h('div', { class: 'sample-text' },
          (x.msgs || []).length && !x.problem ? (x.msgs || []).map(function (m) { return h('div', { class: 'msg ' + m.role }, h('span', { class: 'role', text: m.role }), h('div', { text: m.content })); }) : null,
          x.problem ? [h('h4', { text: 'Question' }), h('p', { class: 'problem', text: x.problem })] : null,
          x.options && x.options.length ? h('ol', { class: 'options' + (lettered(x.options) ? ' lettered' : ''), type: 'A' }, x.options.map(function (o, k) {
            return h('li', { class: isCorrect(o, k, x.answer) ? 'correct' : '', text: o });
          })) : null,
          x.think ? h('details', { class: 'think', open: x.think.length < 1500 }, h('summary', { text: 'Reasoning (' + fmt(x.think.length) + ' characters)' }), h('div', { class: 'think-body', text: x.think })) : null,
          h('div', { class: 'answers' },
            h('div', { class: x.final && x.answer ? (sameAnswer(x.final, x.answer) ? 'match' : 'mismatch') : '' },
              h('span', { class: 'k', text: 'Model answer' }), h('span', { class: 'v', text: x.final || '–' })),
            h('div', null, h('span', { class: 'k', text: 'Reference' }), h('span', { class: 'v', text: x.answer || '–' }))),
          scores.length ? h('div', { class: 'scores' }, scores) : null,
          x.model ? h('div', { class: 'muted small', text: 'generator: ' + x.model }) : null)));
  }

  // ---------- start ----------
  function start() {
    I = store['index:0'];
    pages = store['pages:0'] || {};
    if (!I) {
      document.getElementById('main').appendChild(h('div', { class: 'note error', text: 'data/index.js is missing: rebuild the report with `eosin inspect`.' }));
      setState('overview', 'error');
      return;
    }
    N = I.totals.figures; chunk = I.chunk;
    I.docs.forEach(function (d, k) { if (!Object.prototype.hasOwnProperty.call(docIndex, d.id)) docIndex[d.id] = k; });
    E.index = I; E.pages = pages;
    document.title = I.title;
    $('title').textContent = I.title;
    $('n-figures').textContent = fmt(N);
    $('n-rejects').textContent = fmt(I.totals.rejects);
    $('n-samples').textContent = fmt(I.totals.samples);
    $('meta').textContent = fmt(I.docs.length) + ' documents · ' + I.generated.replace('T', ' ').replace('Z', ' UTC');
    document.addEventListener('keydown', function (e) {
      if (parseHash().path.indexOf('figure/') !== 0 || e.target.tagName === 'INPUT') return;
      var a = e.key === 'ArrowLeft' ? $('prev') : e.key === 'ArrowRight' ? $('next') : null;
      if (a) location.hash = a.getAttribute('href');
      if (e.key === 'Escape') location.hash = lastGallery;
    });
    window.addEventListener('hashchange', route);
    route();
  }
  E.load = load;
  document.addEventListener('DOMContentLoaded', start);
})();
