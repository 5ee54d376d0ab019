// The shapes the app's Rust commands send and take (src-tauri/src/commands), mirrored once.

export type PositionSource = "gps" | "manual";
export interface Position {
  lat: number;
  lon: number;
  accuracy_m: number;
  source: PositionSource;
}

export interface Site {
  id: string;
  name: string;
  site_type: string;
  district: string;
  street: string;
  address: string;
  position: Position | null;
  unit: string | null;
  qr_code: string | null;
}

export interface SiteType {
  code: string;
  name_zh: string;
  name_en: string;
}
export type Category = "component" | "event";
export interface Subcategory extends SiteType {
  category: Category;
}
export type Unit = SiteType;
export interface Catalog {
  site_types: SiteType[];
  taxonomy: Subcategory[];
  units: Unit[];
}

export interface Assignment {
  id: string;
  inspector: string;
  site_id: string;
  date: string;
  note: string;
  cancelled: boolean;
}
export interface TodaySite {
  assignment: Assignment;
  site: Site;
}

export interface AppInfo {
  signed_in: boolean;
  username: string | null;
  server_url: string | null;
  default_server_url: string | null;
  device_id: string;
  mobile: boolean;
  today: string;
  build: { dev: boolean; photo_codec: string; version: string };
}

export type ItemKind =
  | { kind: "verdict" }
  | { kind: "count"; min: number }
  | { kind: "percent"; min: number };
export type TemplateItem = ItemKind & {
  code: string;
  index_code: string;
  index_name_zh: string;
  index_name_en: string;
  text_zh: string;
  title_en: string;
  standard_zh: string;
  weight: number;
  photo_required: boolean;
};
export interface Template {
  id: string;
  version: number;
  site_type: string;
  name_zh: string;
  name_en: string;
  items: TemplateItem[];
}

export type ItemValue =
  | { kind: "compliant" }
  | { kind: "non_compliant" }
  | { kind: "not_applicable" }
  | { kind: "count"; value: number }
  | { kind: "percent"; value: number };

export interface ItemResult {
  inspection_id: string;
  item_code: string;
  value: ItemValue;
  note: string;
  hlc: string;
}

export interface Inspection {
  id: string;
  site_id: string;
  template_id: string;
  template_version: number;
  inspector: string;
  device_id: string;
  started_at: number;
  finished_at: number | null;
  position: Position | null;
}

export interface Score {
  inspections: number;
  applicable: number;
  compliant: number;
  not_applicable: number;
  pending: number;
  invalid: number;
  pass_rate: number | null;
  weighted_score: number | null;
}

export type Severity = "minor" | "major" | "critical";
export interface Finding {
  id: string;
  site_id: string;
  inspection_id: string | null;
  item_code: string | null;
  category: Category;
  subcategory: string;
  description: string;
  severity: Severity;
  position: Position | null;
  unit: string | null;
  deadline: string | null;
  same_day: boolean;
  reporter: string;
  created_at: number;
}
export type Status = "open" | "dispatched" | "rectified" | "verified" | "closed" | "sent_back";
export interface FindingSummary {
  finding: Finding;
  status: Status;
  photos: string[];
}
export interface RecheckEntry extends FindingSummary {
  site_name: string;
}

export type PhotoKind = "before" | "after" | "evidence";
export interface PhotoRecord {
  sha256: string;
  finding_id: string | null;
  inspection_id: string | null;
  kind: PhotoKind;
  width: number;
  height: number;
  size_bytes: number;
  captured_at: number;
  time_source: "trusted" | "device";
  device_clock_offset_ms: number;
  position: Position | null;
}
export interface RectificationEvent {
  id: string;
  action: "opened" | "dispatched" | "rectified" | "verified" | "closed" | "sent_back";
  actor: string;
  note: string;
  photo_sha256: string | null;
}
export interface FindingDetail {
  finding: Finding;
  site: Site;
  status: Status;
  photos: PhotoRecord[];
  log: RectificationEvent[];
}

export interface SitePage {
  site: Site;
  recent: Inspection[];
  open_findings: FindingSummary[];
  score: Score;
  has_template: boolean;
}
export interface Unfinished {
  inspection: Inspection;
  site_name: string;
}
export interface InspectionScreen {
  inspection: Inspection;
  site: Site;
  template: Template;
  results: ItemResult[];
  findings: FindingSummary[];
  score: Score;
}
export interface Answered {
  result: ItemResult;
  score: Score;
}

export interface FindingInput {
  site_id: string;
  inspection_id: string | null;
  item_code: string | null;
  category: Category;
  subcategory: string;
  description: string;
  severity: Severity;
  position: Position | null;
  unit: string | null;
  deadline: string | null;
  same_day: boolean;
}
export interface PhotoMeta {
  kind: PhotoKind;
  finding_id: string | null;
  inspection_id: string | null;
  position: Position | null;
}

export type SyncStep = "idle" | "pushing" | "photos" | "pulling";
export interface SyncProgress {
  step: SyncStep;
  records_pending: number;
  photos_pending: number;
  bytes_sent: number;
  bytes_total: number;
  last_success_ms: number | null;
  last_error: string | null;
}
export interface SyncStatus extends SyncProgress {
  offline: boolean;
  signed_in: boolean;
}
export interface StorageInfo {
  database_bytes: number;
  photo_bytes: number;
  photo_count: number;
  data_dir: string;
}

/** What a failed command sends: the message is Chinese first, then English. */
export interface CommandError {
  message: string;
  field: string | null;
}
