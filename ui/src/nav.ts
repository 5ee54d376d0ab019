// Which screen is showing: a small stack, no router library needed for a handful of screens.

import { derived, get, writable } from "svelte/store";

/**
 * A screen; `anchor` names the part of it to scroll back to when the inspector returns to it
 * (e.g. the checklist item a finding was recorded from).
 */
export type Screen = (
  | { name: "login" }
  | { name: "home" }
  | { name: "sites" }
  | { name: "site"; siteId: string }
  | { name: "inspection"; inspectionId: string }
  | { name: "finding"; siteId: string; inspectionId: string | null; itemCode: string | null }
  | { name: "rechecks" }
  | { name: "recheck"; findingId: string }
  | { name: "sync" }
  | { name: "settings" }
) & { anchor?: string };

const stack = writable<Screen[]>([{ name: "home" }]);

/** The screen on top. */
export const current = derived(stack, (s) => s[s.length - 1]);

/**
 * Opens a screen on top of the current one. `anchor`, when given, is noted on the screen left
 * behind, which scrolls back to it on return.
 */
export function go(screen: Screen, anchor?: string): void {
  stack.update((s) => {
    const below = anchor === undefined ? s : [...s.slice(0, -1), { ...s[s.length - 1], anchor }];
    return [...below, screen];
  });
}

/** Replaces the whole stack: for the tabs and after sign-in. */
export function reset(screen: Screen): void {
  stack.set([screen]);
}

/** Back to the previous screen (stays on the first). */
export function back(): void {
  stack.update((s) => (s.length > 1 ? s.slice(0, -1) : s));
}

/** How many screens are stacked (a back button shows when more than one). */
export function depth(): number {
  return get(stack).length;
}

export const canGoBack = derived(stack, (s) => s.length > 1);

/** The photo viewer, shown over the current screen (which keeps its state underneath). */
export const viewer = writable<{ shas: string[]; index: number } | null>(null);

/** Opens the photo viewer on photo `index` of `shas`. */
export function openPhotos(shas: string[], index: number): void {
  viewer.set({ shas, index });
}

/** Closes the photo viewer. */
export function closePhotos(): void {
  viewer.set(null);
}
