// iotclean public site: the self-check form says it is working while the check runs (a few
// seconds) and cannot be sent twice (each send counts against the address's hourly limit).
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('check-form');
  if (!form) return;
  form.addEventListener('submit', () => {
    const button = form.querySelector('button[type="submit"]');
    if (!button) return;
    button.disabled = true;
    button.textContent = form.getAttribute('data-checking') || '…';
    form.setAttribute('aria-busy', 'true');
  });
});
