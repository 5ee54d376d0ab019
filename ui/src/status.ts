// App-wide state the top bar and screens share: who is signed in, sync status, the catalog.

import { writable } from "svelte/store";
import type { Backend } from "./backend";
import type { AppInfo, Catalog, SyncStatus } from "./types";

export const appInfo = writable<AppInfo | null>(null);
export const syncStatus = writable<SyncStatus | null>(null);
export const catalog = writable<Catalog>({ site_types: [], taxonomy: [], units: [] });

/** Reads the sync status again (a local read: pending counts change with every write). */
export async function refreshSync(backend: Backend): Promise<void> {
  try {
    syncStatus.set(await backend.syncStatus());
  } catch {
    /* the badge keeps its last value */
  }
}

/** Reads the catalog again (after a sync brought new data). */
export async function refreshCatalog(backend: Backend): Promise<void> {
  try {
    catalog.set(await backend.catalog());
  } catch {
    /* screens show what they have */
  }
}

/** Bumped when a sync session ends: lists read from the store load again. */
export const dataVersion = writable(0);

/** The header's sync badge: only says 已同步 once a sync has really succeeded with nothing left. */
export type SyncBadge =
  | { kind: "signed_out" }
  | { kind: "unsynced"; records: number; photos: number }
  | { kind: "never_synced" }
  | { kind: "synced" };

/**
 * What the header says about sync, besides 离线. Work waiting is shown even when signed out
 * (it stays on the tablet); 未登录 comes first otherwise, and 已同步 needs a past success.
 */
export function syncBadges(s: SyncStatus | null): SyncBadge[] {
  if (!s) return [];
  const out: SyncBadge[] = [];
  if (!s.signed_in) out.push({ kind: "signed_out" });
  if (s.records_pending + s.photos_pending > 0) {
    out.push({ kind: "unsynced", records: s.records_pending, photos: s.photos_pending });
  } else if (s.signed_in) {
    out.push(s.last_success_ms == null ? { kind: "never_synced" } : { kind: "synced" });
  }
  return out;
}
