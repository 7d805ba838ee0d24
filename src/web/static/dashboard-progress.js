// iotclean dashboard: live progress of running surveys. Rows carrying data-progress-url are
// polled every few seconds; their data-field cells are updated; polling stops when the survey is
// no longer running, or after an error. No inline script: loaded by /ops as a static file.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const everyMs = 3000;
  // A bound, so a forgotten tab does not poll for ever (about 12 hours).
  const maxPolls = 14400;
  for (const row of document.querySelectorAll('[data-progress-url]')) {
    const url = row.getAttribute('data-progress-url');
    if (!url) continue;
    let polls = 0;
    const set = (field, value) => {
      const cell = row.querySelector('[data-field="' + field + '"]');
      if (cell && typeof value === 'string') cell.textContent = value;
    };
    const poll = async () => {
      polls++;
      try {
        const res = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
        if (!res.ok) return;
        const p = await res.json();
        set('status', p.statusText);
        set('probes', p.text.probes);
        set('endpoints', p.text.endpoints);
        set('rate', p.text.rate);
        set('finished', p.text.finished);
        row.setAttribute('data-status', p.status);
        if (p.done) {
          row.removeAttribute('data-progress-url');
          return;
        }
      } catch {
        return;
      }
      if (polls < maxPolls) setTimeout(poll, everyMs);
    };
    setTimeout(poll, everyMs);
  }
});
