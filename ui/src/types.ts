// The shapes the app's Rust commands send and take (src-tauri/src/commands). They are made
// from the Rust types into ./bindings by src-tauri's `bindings` test, which fails when the
// committed files are out of date; this file only gives them the names the screens use.

export type { Answered } from "./bindings/Answered";
export type { AppInfo } from "./bindings/AppInfo";
export type { Assignment } from "./bindings/Assignment";
export type { Catalog } from "./bindings/Catalog";
export type { Category } from "./bindings/Category";
export type { CommandErrorBody as CommandError } from "./bindings/CommandErrorBody";
export type { DraftForm } from "./bindings/DraftForm";
export type { FindingDetail } from "./bindings/FindingDetail";
export type { FindingDraft } from "./bindings/FindingDraft";
export type { FindingRecord as Finding } from "./bindings/FindingRecord";
export type { FindingSummary } from "./bindings/FindingSummary";
export type { InspectionRecord as Inspection } from "./bindings/InspectionRecord";
export type { InspectionScreen } from "./bindings/InspectionScreen";
export type { ItemResultRecord as ItemResult } from "./bindings/ItemResultRecord";
export type { ItemValue } from "./bindings/ItemValue";
export type { NewFinding as FindingInput } from "./bindings/NewFinding";
export type { PhotoKind } from "./bindings/PhotoKind";
export type { PhotoLocal } from "./bindings/PhotoLocal";
export type { PhotoMeta } from "./bindings/PhotoMeta";
export type { PhotoRecord } from "./bindings/PhotoRecord";
export type { Position } from "./bindings/Position";
export type { PositionSource } from "./bindings/PositionSource";
export type { RecheckEntry } from "./bindings/RecheckEntry";
export type { RectificationEventRecord as RectificationEvent } from "./bindings/RectificationEventRecord";
export type { Score } from "./bindings/Score";
export type { Severity } from "./bindings/Severity";
export type { Site } from "./bindings/Site";
export type { SitePage } from "./bindings/SitePage";
export type { SiteProgress } from "./bindings/SiteProgress";
export type { SiteType } from "./bindings/SiteType";
export type { Status } from "./bindings/Status";
export type { StorageInfo } from "./bindings/StorageInfo";
export type { Subcategory } from "./bindings/Subcategory";
export type { SyncProgress } from "./bindings/SyncProgress";
export type { SyncStatus } from "./bindings/SyncStatus";
export type { SyncStep } from "./bindings/SyncStep";
export type { Template } from "./bindings/Template";
export type { TemplateItem } from "./bindings/TemplateItem";
export type { TodaySite } from "./bindings/TodaySite";
export type { Unfinished } from "./bindings/Unfinished";
export type { Unit } from "./bindings/Unit";
