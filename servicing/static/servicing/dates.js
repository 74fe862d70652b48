// A calendar button beside each YYYY-MM-DD box (forms.IsoDateInput). The box stays the field: the
// browser's own date input shows the user's locale, so it is only the picker, hidden behind the button.
"use strict";
document.querySelectorAll("input[data-iso-date]").forEach(function (box) {
  var picker = document.createElement("input");
  picker.type = "date";
  picker.className = "iso-date-picker";
  picker.tabIndex = -1;
  picker.setAttribute("aria-hidden", "true");
  var button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-outline-secondary iso-date-button";
  button.textContent = "Pick";
  button.setAttribute("aria-label", "Pick a date for " + (box.labels.length ? box.labels[0].textContent.replace("*", "").trim() : box.getAttribute("aria-label") || box.name));
  button.addEventListener("click", function () {
    picker.value = /^\d{4}-\d{2}-\d{2}$/.test(box.value) ? box.value : "";
    try {
      picker.showPicker();
    } catch (e) {
      picker.focus();
      picker.click();
    }
  });
  picker.addEventListener("change", function () {
    if (picker.value) {
      box.value = picker.value; // always YYYY-MM-DD, whatever the locale shows
      box.dispatchEvent(new Event("change", { bubbles: true }));
      box.focus();
    }
  });
  box.after(button, picker);
});
