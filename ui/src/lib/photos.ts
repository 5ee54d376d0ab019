// How the re-check screen lists a finding's photos: what the tablet holds of each, marked
// copies first.

import type { PhotoLocal, PhotoRecord } from "../types";

/** One photo as a column lists it. */
export interface ListedPhoto {
  sha: string;
  /** What the tablet holds of it. */
  local: PhotoLocal;
  /** For a marked copy, the photo it was drawn on. */
  markedFrom: string | null;
}

/**
 * The photos `records` names, each once (the first record of a hash wins), with what the tablet
 * holds of each (`local`; a photo it does not name was taken here): marked copies first, then the
 * photos as captured, each group in the order given.
 */
export function listPhotos(records: PhotoRecord[], local: Record<string, PhotoLocal | undefined>): ListedPhoto[] {
  const seen = new Set<string>();
  const listed: ListedPhoto[] = [];
  for (const r of records) {
    if (seen.has(r.sha256)) continue;
    seen.add(r.sha256);
    listed.push({ sha: r.sha256, local: local[r.sha256] ?? "own", markedFrom: r.marked_from ?? null });
  }
  return [...listed.filter((p) => p.markedFrom !== null), ...listed.filter((p) => p.markedFrom === null)];
}

/** Whether the tablet holds the whole photo, so the viewer can show it. */
export function holdsWhole(local: PhotoLocal): boolean {
  return local === "own" || local === "full";
}
