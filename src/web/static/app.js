// iotclean: shared browser code. No inline script anywhere (the CSP forbids it); pages opt in to
// behaviour with data- attributes.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // <button data-confirm="text">: ask before submitting its form.
  for (const b of document.querySelectorAll('[data-confirm]')) {
    b.addEventListener('click', (e) => {
      if (!window.confirm(b.getAttribute('data-confirm') || '')) e.preventDefault();
    });
  }
});
