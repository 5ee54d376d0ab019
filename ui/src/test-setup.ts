// jsdom lacks a few things the app uses.
import { randomFillSync } from "node:crypto";

if (!globalThis.crypto?.getRandomValues) {
  Object.defineProperty(globalThis, "crypto", {
    value: { getRandomValues: (a: Uint8Array) => randomFillSync(a) },
  });
}
if (!performance.mark) {
  Object.defineProperty(performance, "mark", { value: () => undefined });
}
// jsdom has no layout: scrolling does nothing (tests that check it put a vi.fn in its place).
if (typeof window !== "undefined") {
  window.scrollTo = () => {};
  Element.prototype.scrollIntoView = function () {};
}
