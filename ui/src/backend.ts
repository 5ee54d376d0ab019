// The one module that talks to Tauri. Every screen calls a `Backend`; tests pass a mock.

import { convertFileSrc, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { get } from "svelte/store";
import { t } from "./i18n";
import type {
  Answered,
  AppInfo,
  Catalog,
  CommandError,
  DraftForm,
  Finding,
  FindingDetail,
  FindingDraft,
  FindingInput,
  InspectionScreen,
  ItemValue,
  PhotoMeta,
  PhotoRecord,
  Position,
  RecheckEntry,
  Site,
  SitePage,
  Status,
  StorageInfo,
  SyncProgress,
  SyncStatus,
  TodaySite,
  Unfinished,
} from "./types";

export interface Backend {
  appInfo(): Promise<AppInfo>;
  login(serverUrl: string, username: string, password: string): Promise<AppInfo>;
  logout(): Promise<void>;
  storageInfo(): Promise<StorageInfo>;
  /** Sets the photo cache's cap in megabytes (at least 100). */
  setPhotoCacheCap(megabytes: number): Promise<void>;
  catalog(): Promise<Catalog>;
  todaySites(date: string): Promise<TodaySite[]>;
  listSites(text: string, siteType: string): Promise<Site[]>;
  sitePage(siteId: string): Promise<SitePage>;
  startInspection(siteId: string, position: Position | null): Promise<string>;
  unfinishedInspections(): Promise<Unfinished[]>;
  loadInspection(inspectionId: string): Promise<InspectionScreen>;
  recordResult(inspectionId: string, itemCode: string, value: ItemValue, note: string): Promise<Answered>;
  finishInspection(inspectionId: string): Promise<void>;
  /** Discards an unfinished inspection (放弃本次检查); refused once it recorded a problem. */
  discardInspection(inspectionId: string): Promise<void>;
  /**
   * Saves a finding; under `draftId` (the id its form got from `findingDraft`) the photos taken
   * for it before are saved with it.
   */
  addFinding(finding: FindingInput, draftId?: string | null): Promise<Finding>;
  /** The finding being recorded in a form: the photos taken before the app closed, or a new id. */
  findingDraft(form: DraftForm): Promise<FindingDraft>;
  /** Discards the photos taken for a finding that will not be saved (取消). */
  discardFindingDraft(findingId: string): Promise<void>;
  /** Sends the image file's bytes as a raw IPC body (not base64), the metadata in a header. */
  addPhoto(bytes: ArrayBuffer, meta: PhotoMeta): Promise<PhotoRecord>;
  /** Stores a marked copy of a photo (the original stays as captured); raw JPEG bytes as the IPC body. */
  markPhoto(originalSha256: string, jpeg: ArrayBuffer): Promise<PhotoRecord>;
  /**
   * Reads a site's QR label from a picture (raw bytes), records the check-in there (到场核验,
   * with `position` in a header when known) and returns that site.
   */
  scanLabel(bytes: ArrayBuffer, position: Position | null): Promise<Site>;
  /**
   * Tablets: scans a site's QR label live with the camera (Tauri's barcode scanner) and checks
   * in there like `scanLabel`; null when the inspector closed the scanner.
   */
  scanLabelLive(position: Position | null): Promise<Site | null>;
  findingDetail(findingId: string): Promise<FindingDetail>;
  /**
   * Fetches another tablet's photo whole into the cache (needs the network); rejects with a
   * plain "中文 / English" message offline or when the server does not have it.
   */
  fetchPhoto(sha256: string): Promise<void>;
  rechecks(): Promise<RecheckEntry[]>;
  recheck(findingId: string, fixed: boolean, note: string, photoSha256: string | null): Promise<Status>;
  syncStatus(): Promise<SyncStatus>;
  syncNow(): Promise<void>;
  /** Calls `handler` with each sync progress snapshot; returns the function that stops it. */
  onSyncProgress(handler: (p: SyncProgress) => void): Promise<() => void>;
  /** URL of a stored photo (`thumb`: its 320 px thumbnail) for an `<img>`. */
  photoUrl(sha256: string, thumb: boolean): string;
  /** The device position from the geolocation plugin (tablets); null where there is none. */
  currentPosition(): Promise<Position | null>;
}

/** The real backend: the app's Rust commands through Tauri's IPC. */
export function tauriBackend(): Backend {
  let mobile: boolean | null = null;
  return {
    appInfo: async () => {
      const info = await invoke<AppInfo>("app_info");
      mobile = info.mobile;
      return info;
    },
    login: (server_url, username, password) => invoke("login", { server_url, username, password }),
    logout: () => invoke("logout"),
    storageInfo: () => invoke("storage_info"),
    setPhotoCacheCap: (megabytes) => invoke("set_photo_cache_cap", { megabytes }),
    catalog: () => invoke("catalog"),
    todaySites: (date) => invoke("today_sites", { date }),
    listSites: (text, siteType) => invoke("list_sites", { text: text || null, site_type: siteType || null }),
    sitePage: (site_id) => invoke("site_page", { site_id }),
    startInspection: (site_id, position) => invoke("start_inspection", { site_id, position }),
    unfinishedInspections: () => invoke("unfinished_inspections"),
    loadInspection: (inspection_id) => invoke("load_inspection", { inspection_id }),
    recordResult: (inspection_id, item_code, value, note) =>
      invoke("record_result", { inspection_id, item_code, value, note }),
    finishInspection: (inspection_id) => invoke("finish_inspection", { inspection_id }),
    discardInspection: (inspection_id) => invoke("discard_inspection", { inspection_id }),
    addFinding: (finding, draftId) => invoke("add_finding", { finding, draft_id: draftId ?? null }),
    findingDraft: (form) => invoke("finding_draft", { form }),
    discardFindingDraft: (finding_id) => invoke("discard_finding_draft", { finding_id }),
    addPhoto: (bytes, meta) =>
      invoke("add_photo", new Uint8Array(bytes), { headers: { "x-photo": JSON.stringify(meta) } }),
    markPhoto: (originalSha256, jpeg) =>
      invoke("mark_photo", new Uint8Array(jpeg), { headers: { "x-photo-original": originalSha256 } }),
    scanLabel: (bytes, position) =>
      position
        ? invoke("scan_label", new Uint8Array(bytes), { headers: { "x-position": JSON.stringify(position) } })
        : invoke("scan_label", new Uint8Array(bytes)),
    scanLabelLive: async (position) => {
      const scanner = await import("@tauri-apps/plugin-barcode-scanner");
      let perm = await scanner.checkPermissions();
      if (perm !== "granted") perm = await scanner.requestPermissions();
      if (perm !== "granted") throw new Error(get(t)("checkin.camera_denied"));
      let text: string;
      try {
        text = (await scanner.scan({ formats: [scanner.Format.QRCode], windowed: false })).content;
      } catch (e) {
        // Closing the scanner rejects with "cancelled"; anything else is a real failure.
        if (String(e).toLowerCase().includes("cancel")) return null;
        throw e;
      }
      return invoke<Site>("scan_label_text", { text, position });
    },
    findingDetail: (finding_id) => invoke("finding_detail", { finding_id }),
    fetchPhoto: (sha256) => invoke("fetch_photo", { sha256 }),
    rechecks: () => invoke("rechecks"),
    recheck: (finding_id, fixed, note, photo_sha256) =>
      invoke("recheck", { finding_id, fixed, note, photo_sha256 }),
    syncStatus: () => invoke("sync_status"),
    syncNow: () => invoke("sync_now"),
    onSyncProgress: (handler) => listen<SyncProgress>("sync-progress", (e) => handler(e.payload)),
    photoUrl: (sha256, thumb) => convertFileSrc(`${thumb ? "t" : "p"}-${sha256}`, "photo"),
    currentPosition: async () => {
      if (!mobile) return null;
      try {
        const geo = await import("@tauri-apps/plugin-geolocation");
        let perm = await geo.checkPermissions();
        if (perm.location !== "granted") perm = await geo.requestPermissions(["location"]);
        if (perm.location !== "granted") return null;
        const p = await geo.getCurrentPosition({ enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
        return { lat: p.coords.latitude, lon: p.coords.longitude, accuracy_m: p.coords.accuracy, source: "gps" };
      } catch {
        return null;
      }
    },
  };
}

export { errorMessage } from "./lib/errors";
