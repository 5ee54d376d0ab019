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
