// The stylesheet and the one small client script of the report pages, served by the bot under /assets/ (the CSP
// allows scripts and styles from the bot itself only; nothing is fetched from elsewhere at view time).

/** /assets/report.css: readable on a phone (one column under 720 px), printable. */
export const REPORT_CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb}
header,main,footer{max-width:1100px;margin:0 auto;padding:12px 16px}
header h1{font-size:1.4rem;margin:8px 0 2px;overflow-wrap:anywhere}
.sub{color:#4b5563;margin:0}
h2{font-size:1.1rem;margin:24px 0 8px}
a{color:#1d4ed8}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:8px 12px}
.card b{display:block;font-size:1.25rem}
.card span{color:#4b5563;font-size:.85rem}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:8px}
img.chart{width:100%;height:auto;background:#fff;border:1px solid #e5e7eb;border-radius:8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}
th,td{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f4f6;overflow-wrap:normal}
.item th,.item td:nth-child(-n+2){overflow-wrap:normal;white-space:nowrap}
.scroll{overflow-x:auto}
.badge{display:inline-block;border-radius:999px;padding:0 8px;font-size:.8rem;font-weight:600;background:#e5e7eb}
.badge.pass{background:#dcfce7;color:#166534}.badge.fail{background:#fee2e2;color:#991b1b}
.badge.error{background:#fef3c7;color:#92400e}.badge.review{background:#e0e7ff;color:#3730a3}
.filters{display:flex;flex-wrap:wrap;gap:6px;align-items:center;position:sticky;top:0;background:#f9fafb;padding:8px 0;z-index:1}
#more,.filters button{border:1px solid #d1d5db;background:#fff;border-radius:6px;padding:6px 10px;font:inherit;cursor:pointer}
.filters button[aria-pressed=true]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}
.filters input,.filters select{font:inherit;padding:6px;border:1px solid #d1d5db;border-radius:6px;min-width:0}
.filters input{flex:1 1 160px}
.count{color:#4b5563;font-size:.9rem}
.item{background:#fff;border:1px solid #e5e7eb;border-radius:8px;margin:6px 0}
.item>summary{padding:8px 12px;cursor:pointer;display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
.item>summary .key{font-weight:600;overflow-wrap:anywhere}
.item>summary .excerpt{color:#4b5563;flex:1 1 240px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.item .body{padding:0 12px 12px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f4f6;border-radius:6px;padding:8px;margin:4px 0;max-height:24em;overflow:auto;font-size:.85rem}
.io{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:8px}
.io h3{font-size:.85rem;margin:8px 0 0;color:#4b5563}
.delta-neg{color:#991b1b;font-weight:600}.delta-pos{color:#166534;font-weight:600}
.muted{color:#6b7280}
footer{color:#6b7280;font-size:.8rem}
[hidden]{display:none!important}
@media (max-width:720px){body{font-size:14px}.charts{grid-template-columns:1fr}th,td{padding:4px}}
`;

/**
 * /assets/report.js: the filters of a run page (failing / errored / needs review / all, a metric, a search) applied
 * to the items already on the page. Each item's state and text are read once; a filter change touches only the
 * items whose visibility changes.
 */
export const REPORT_JS = `
(function () {
  var list = document.getElementById('items');
  var bar = document.getElementById('filters');
  if (!list || !bar) return;
  var rows = Array.prototype.slice.call(list.children);
  var data = rows.map(function (row) {
    return {
      row: row,
      state: row.getAttribute('data-state'),
      review: row.hasAttribute('data-review'),
      failed: ' ' + (row.getAttribute('data-failed') || '') + ' ',
      metrics: ' ' + (row.getAttribute('data-metrics') || '') + ' ',
      text: null,
      shown: !row.hidden
    };
  });
  // At most \`page\` matching items are on screen at once (the server renders the first page visible): a filter over
  // 10,000 items changes the visibility of a few hundred elements, not of thousands.
  var page = Number(list.getAttribute('data-page')) || 200;
  var limit = page;
  var more = document.getElementById('more');
  var filter = 'all';
  var metric = '';
  var query = '';
  var count = document.getElementById('count');
  var buttons = bar.querySelectorAll('button[data-filter]');
  var select = bar.querySelector('select[data-metric]');
  var search = bar.querySelector('input[data-search]');
  function textOf(d) {
    if (d.text === null) d.text = d.row.textContent.toLowerCase();
    return d.text;
  }
  function matches(d) {
    if (filter === 'failing' && d.state !== 'failed') return false;
    if (filter === 'errored' && d.state !== 'errored') return false;
    if (filter === 'review' && !d.review) return false;
    if (metric) {
      if (d.metrics.indexOf(' ' + metric + ' ') < 0) return false;
      if (filter === 'failing' && d.failed.indexOf(' ' + metric + ' ') < 0) return false;
    }
    if (query && textOf(d).indexOf(query) < 0) return false;
    return true;
  }
  function apply(keepLimit) {
    var t0 = performance.now();
    if (!keepLimit) limit = page;
    var n = 0;
    for (var i = 0; i < data.length; i++) {
      var d = data[i];
      var match = matches(d);
      if (match) n++;
      var show = match && n <= limit;
      if (show !== d.shown) {
        d.shown = show;
        d.row.hidden = !show;
      }
    }
    if (count) count.textContent = 'Showing ' + n + ' of ' + data.length + ' items';
    if (more) {
      more.hidden = n <= limit;
      more.textContent = 'Show ' + Math.min(page, n - limit) + ' more (' + Math.min(n, limit) + ' of ' + n + ' on screen)';
    }
    list.setAttribute('data-filter-ms', String(Math.round((performance.now() - t0) * 10) / 10));
  }
  for (var b = 0; b < buttons.length; b++) {
    buttons[b].addEventListener('click', function (e) {
      filter = e.currentTarget.getAttribute('data-filter');
      for (var j = 0; j < buttons.length; j++) buttons[j].setAttribute('aria-pressed', String(buttons[j] === e.currentTarget));
      apply(false);
    });
  }
  if (more) more.addEventListener('click', function () { limit += page; apply(true); });
  if (select) select.addEventListener('change', function () { metric = select.value; apply(false); });
  var timer = 0;
  if (search) search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { query = search.value.trim().toLowerCase(); apply(false); }, 120);
  });
  // The items' text for the search is read ahead in small slices while the page is idle.
  var next = 0;
  function warm() {
    var end = Math.min(data.length, next + 500);
    for (; next < end; next++) textOf(data[next]);
    if (next < data.length) setTimeout(warm, 0);
  }
  setTimeout(warm, 0);
  var initial = bar.getAttribute('data-initial');
  if (initial) {
    for (var k = 0; k < buttons.length; k++) if (buttons[k].getAttribute('data-filter') === initial) buttons[k].click();
  }
})();
`;
