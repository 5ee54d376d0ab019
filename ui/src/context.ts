// Hands the Backend to every screen through Svelte's context.

import { getContext, setContext } from "svelte";
import type { Backend } from "./backend";

const KEY = Symbol("backend");

export function provideBackend(b: Backend): void {
  setContext(KEY, b);
}

export function useBackend(): Backend {
  return getContext<Backend>(KEY);
}
