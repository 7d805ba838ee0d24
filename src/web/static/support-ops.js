// iotclean support desk (operators): picking a canned answer puts its text into the answer box.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const select of document.querySelectorAll('select[data-canned-target]')) {
    const target = document.getElementById(select.getAttribute('data-canned-target') || '');
    if (!target) continue;
    select.addEventListener('change', () => {
      const option = select.selectedOptions[0];
      const body = option ? option.getAttribute('data-body') : null;
      // textContent-free: the value of a textarea is plain text, never parsed as HTML.
      if (body !== null) target.value = body;
    });
  }
});
