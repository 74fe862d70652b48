// A table wider than the screen scrolls inside its box (.table-responsive, site.css). Such a box is
// made reachable from the keyboard (Tab, then the arrow keys scroll it); one that fits is not a
// stop on the way. Rechecked when the window changes size.
(function () {
  function mark() {
    document.querySelectorAll("main .table-responsive, main table.table").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth && getComputedStyle(box).overflowX !== "visible";
      if (scrolls) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", mark);
  window.addEventListener("resize", mark);
})();
