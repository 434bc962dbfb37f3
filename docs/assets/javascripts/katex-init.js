// Renders the math of every page with the vendored KaTeX (docs/assets/katex): no CDN.
// * Markdown pages: pymdownx.arithmatex (generic mode) wraps math in .arithmatex elements
//   as \( ... \) and \[ ... \].
// * Notebook pages (mkdocs-jupyter): markdown cells keep $ ... $ and $$ ... $$.
(function () {
  function render(root) {
    if (typeof renderMathInElement !== "function") return;
    var options = {
      delimiters: [
        { left: "$$", right: "$$", display: true },
        { left: "\\[", right: "\\]", display: true },
        { left: "\\(", right: "\\)", display: false },
        { left: "$", right: "$", display: false },
      ],
      throwOnError: false,
    };
    root.querySelectorAll(".arithmatex").forEach(function (el) {
      renderMathInElement(el, options);
    });
    root.querySelectorAll(".jupyter-wrapper .jp-RenderedMarkdown").forEach(function (el) {
      renderMathInElement(el, options);
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { render(document); });  // Material, also after instant navigation
  } else {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  }
})();
