// /ops/plans: a chosen plan file is shown in the text box before it is proposed (the form also
// sends the file itself, so proposing works without this script).
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var file = document.getElementById('plan-file');
  var text = document.getElementById('plan-yaml');
  if (!file || !text) return;
  file.addEventListener('change', function () {
    var f = file.files && file.files[0];
    if (!f || f.size > 256 * 1024) return;
    f.text().then(function (s) {
      text.value = s;
    });
  });
});
