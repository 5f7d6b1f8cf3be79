// Custodes: the little behaviour the pages need, without inline script (the CSP forbids it).
"use strict";

// "Select all" for bulk triage: a checkbox with data-select-all="NAME" toggles every
// checkbox named NAME in the same form.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  const form = box.closest("form") || document;
  form.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)
    .forEach((item) => { item.checked = box.checked; });
});

// After an HTMX swap, move focus to the message it brought, so screen readers announce it.
document.addEventListener("htmx:afterSwap", () => {
  const message = document.querySelector("[data-focus-after-swap]");
  if (message instanceof HTMLElement) message.focus();
});
