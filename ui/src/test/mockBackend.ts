// A Backend for UI tests: canned data, every call recorded, nothing of Tauri.

import { vi } from "vitest";
import type { Backend } from "../backend";
import type {
  AppInfo,
  DraftForm,
  FindingDetail,
  FindingDraft,
  InspectionScreen,
  PhotoKind,
  PhotoLocal,
  PhotoRecord,
  Position,
  RecheckEntry,
  Site,
  SitePage,
  SiteProgress,
  SyncProgress,
  SyncStatus,
  TemplateItem,
  Unfinished,
} from "../types";

export const alley: Site = {
  id: "site-alley",
  name: "文庙后巷",
  site_type: "back_alley",
  district: "城关区",
  street: "城关街道",
  address: "文庙后巷",
  position: { lat: 30.2731, lon: 120.162, accuracy_m: 10, source: "gps" },
  unit: "urban_mgmt",
  qr_code: null,
};
export const market: Site = {
  ...alley,
  id: "site-market",
  name: "建设路菜市场",
  site_type: "farmers_market",
  position: { lat: 30.2741, lon: 120.1551, accuracy_m: 10, source: "gps" },
};

const item = (code: string, extra: Partial<TemplateItem> = {}): TemplateItem =>
  ({
    kind: "verdict",
    code,
    index_code: "II-26",
    index_name_zh: "城市规划建设",
    index_name_en: "Urban planning",
    text_zh: `井盖 ${code}`,
    title_en: `Manhole covers ${code}`,
    standard_zh: "井盖完好、平整",
    weight: 1,
    photo_required: false,
    ...extra,
  }) as TemplateItem;

export function inspectionScreen(): InspectionScreen {
  return {
    inspection: {
      id: "insp-1",
      site_id: alley.id,
      template_id: "back_alley",
      template_version: 1,
      inspector: "inspector1",
      device_id: "dev",
      started_at: 0,
      finished_at: null,
      position: null,
    },
    site: alley,
    template: {
      id: "back_alley",
      version: 1,
      site_type: "back_alley",
      name_zh: "背街小巷测评",
      name_en: "Back alley checklist",
      items: [
        item("BA-01", { photo_required: true }),
        item("BA-02"),
        { ...item("BA-03"), kind: "percent", min: 95, index_code: "II-27", index_name_zh: "市容环境" } as TemplateItem,
      ],
    },
    results: [],
    findings: [],
    score: { inspections: 1, applicable: 0, compliant: 0, not_applicable: 0, pending: 3, invalid: 0, pass_rate: null, weighted_score: null, by_index: [], by_item: [] },
    checked_in_at: null,
  };
}

export function sitePage(): SitePage {
  return {
    site: alley,
    recent: [],
    open_findings: [],
    score: inspectionScreen().score,
    has_template: true,
    checked_in_at: null,
  };
}

/** A photo record of the finding `finding-1`, taken on this tablet unless `extra` says otherwise. */
export function photoRecord(sha256: string, kind: PhotoKind, extra: Partial<PhotoRecord> = {}): PhotoRecord {
  return {
    sha256,
    finding_id: "finding-1",
    inspection_id: null,
    kind,
    width: 2048,
    height: 1536,
    size_bytes: 1000,
    captured_at: 0,
    time_source: "device",
    device_clock_offset_ms: 0,
    position: null,
    device_id: "dev",
    signature: "",
    hlc: "x",
    ...extra,
  };
}

/** The detail of finding `finding-1` at the alley, with `photos` held on the tablet as `local` says. */
export function findingDetail(photos: PhotoRecord[] = [], local: Record<string, PhotoLocal> = {}): FindingDetail {
  return {
    finding: {
      id: "finding-1",
      site_id: alley.id,
      inspection_id: null,
      item_code: "BA-01",
      category: "component",
      subcategory: "manhole_cover",
      description: "井盖破损",
      severity: "major",
      position: null,
      unit: "urban_mgmt",
      deadline: null,
      same_day: false,
      reporter: "inspector1",
      device_id: "dev",
      created_at: 0,
      hlc: "x",
    },
    site: alley,
    status: "dispatched",
    number: null,
    photos,
    photo_local: Object.fromEntries(photos.map((p) => [p.sha256, local[p.sha256] ?? "own"])),
    log: [],
    names: {},
  };
}

export const idleSync: SyncStatus = {
  step: "idle",
  records_pending: 0,
  photos_pending: 0,
  bytes_sent: 0,
  bytes_total: 0,
  last_success_ms: null,
  last_error: null,
  offline: false,
  in_line: false,
  signed_in: true,
};

export function mockBackend(info: Partial<AppInfo> = {}) {
  const appInfo: AppInfo = {
    signed_in: true,
    username: "inspector1",
    server_url: "http://127.0.0.1:8080",
    default_server_url: null,
    device_id: "dev",
    mobile: false,
    today: "2026-11-28",
    build: { dev: false, photo_codec: "libjpeg-turbo", version: "0.1.0", commit: "0123456789" },
    ...info,
  };
  const b = {
    appInfo: vi.fn(async () => appInfo),
    login: vi.fn(async () => ({ ...appInfo, signed_in: true })),
    logout: vi.fn(async () => {}),
    storageInfo: vi.fn(async () => ({
      database_bytes: 2048,
      photo_bytes: 3 * 1024 * 1024,
      photo_count: 2,
      cache_bytes: 5 * 1024 * 1024,
      cache_cap_bytes: 1024 * 1024 * 1024,
      data_dir: "/d",
    })),
    setPhotoCacheCap: vi.fn(async () => {}),
    catalog: vi.fn(async () => ({
      site_types: [
        { code: "back_alley", name_zh: "背街小巷", name_en: "Back alley" },
        { code: "farmers_market", name_zh: "集贸市场", name_en: "Farmers' market" },
      ],
      taxonomy: [
        { code: "manhole_cover", category: "component" as const, name_zh: "井盖", name_en: "Manhole cover" },
        { code: "street_vending", category: "event" as const, name_zh: "占道经营", name_en: "Street vending" },
      ],
      units: [{ code: "urban_mgmt", name_zh: "城管局", name_en: "Urban management" }],
    })),
    todaySites: vi.fn(async () => [
      {
        assignment: { id: "a1", inspector: "inspector1", site_id: alley.id, date: "2026-11-28", note: "重点看井盖", cancelled: false },
        site: alley,
        progress: "not_started" as SiteProgress,
      },
    ]),
    listSites: vi.fn(async (text: string, siteType: string) =>
      [market, alley].filter((s) => (!siteType || s.site_type === siteType) && (!text || s.name.includes(text))),
    ),
    sitePage: vi.fn(async (_siteId: string) => sitePage()),
    startInspection: vi.fn(async () => "insp-1"),
    unfinishedInspections: vi.fn(async (): Promise<Unfinished[]> => []),
    loadInspection: vi.fn(async () => inspectionScreen()),
    recordResult: vi.fn(async (inspection_id: string, item_code: string, value, note: string) => ({
      result: { inspection_id, item_code, value, note, hlc: "x" },
      score: { ...inspectionScreen().score, applicable: 1, pass_rate: 0, weighted_score: 0 },
    })),
    finishInspection: vi.fn(async () => {}),
    discardInspection: vi.fn(async (_inspectionId: string) => {}),
    addFinding: vi.fn(async (f, draftId?: string | null) => ({
      ...f,
      id: draftId ?? "finding-1",
      reporter: "inspector1",
      created_at: 0,
    })),
    findingDraft: vi.fn(async (_form: DraftForm): Promise<FindingDraft> => ({ finding_id: "draft-1", photos: [] })),
    discardFindingDraft: vi.fn(async (_findingId: string) => {}),
    scanLabel: vi.fn(async (_bytes: ArrayBuffer, _position: Position | null) => alley),
    scanLabelLive: vi.fn(async (_position: Position | null): Promise<Site | null> => alley),
    addPhoto: vi.fn(async (_bytes: ArrayBuffer, meta) => ({
      sha256: "a".repeat(64),
      ...meta,
      width: 2048,
      height: 1536,
      size_bytes: 1000,
      captured_at: 0,
      time_source: "device" as const,
      device_clock_offset_ms: 0,
    })),
    // A marked copy: its own hash (not the original's), linked to the original it was drawn on.
    markPhoto: vi.fn(
      async (originalSha256: string, _jpeg: ArrayBuffer) =>
        ({
          sha256: "b".repeat(64),
          finding_id: "finding-1",
          inspection_id: null,
          kind: "after",
          width: 2048,
          height: 1536,
          size_bytes: 900,
          captured_at: 0,
          time_source: "device",
          device_clock_offset_ms: 0,
          position: null,
          device_id: "dev",
          signature: "",
          hlc: "x",
          marked_from: originalSha256,
        }) as PhotoRecord,
    ),
    findingDetail: vi.fn<(findingId: string) => Promise<FindingDetail>>(),
    fetchPhoto: vi.fn(async (_sha256: string) => {}),
    rechecks: vi.fn(async (): Promise<RecheckEntry[]> => []),
    recheck: vi.fn(async () => "rectified" as const),
    syncStatus: vi.fn(async () => idleSync),
    syncNow: vi.fn(async () => {}),
    onSyncProgress: vi.fn(async (_handler: (p: SyncProgress) => void) => () => {}),
    photoUrl: (sha: string, thumb: boolean) => `photo://localhost/${thumb ? "t" : "p"}-${sha}`,
    currentPosition: vi.fn(async (): Promise<Position | null> => null),
  } satisfies Backend;
  return b;
}
