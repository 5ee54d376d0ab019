// Print buttons (打印): the content policy forbids inline handlers, so a button marked
// data-print asks the browser to print the page from here.
document.querySelectorAll("button[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
