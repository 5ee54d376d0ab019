// The inspection screen's reckoning: sections by index, progress, what fails, photo prompts.

import type { FindingSummary, ItemResult, ItemValue, TemplateItem } from "../types";

export interface Section {
  index_code: string;
  index_name_zh: string;
  index_name_en: string;
  items: TemplateItem[];
}

/** Items grouped by index (测评项目), in template order. */
export function sections(items: TemplateItem[]): Section[] {
  const out: Section[] = [];
  for (const item of items) {
    let s = out.find((x) => x.index_code === item.index_code);
    if (!s) {
      s = { index_code: item.index_code, index_name_zh: item.index_name_zh, index_name_en: item.index_name_en, items: [] };
      out.push(s);
    }
    s.items.push(item);
  }
  return out;
}

/** Whether an answer fails its item (不符合, or a count or percentage under its minimum). */
export function fails(item: TemplateItem, value: ItemValue | undefined): boolean {
  if (!value) return false;
  switch (value.kind) {
    case "non_compliant":
      return true;
    case "count":
      return item.kind === "count" && value.value < item.min;
    case "percent":
      return item.kind === "percent" && value.value < item.min;
    default:
      return false;
  }
}

/** Answers by item code. */
export function byItem(results: ItemResult[]): Map<string, ItemResult> {
  return new Map(results.map((r) => [r.item_code, r]));
}

/** Items that fail, need a photo, and have no finding with a photo yet. */
export function photoPrompts(items: TemplateItem[], results: ItemResult[], findings: FindingSummary[]): Set<string> {
  const answers = byItem(results);
  const photographed = new Set(findings.filter((f) => f.photos.length > 0).map((f) => f.finding.item_code));
  return new Set(
    items
      .filter((i) => i.photo_required && fails(i, answers.get(i.code)?.value) && !photographed.has(i.code))
      .map((i) => i.code),
  );
}

/** Parses a typed count or percentage; null when it is not valid for the kind. */
export function parseNumber(kind: "count" | "percent", text: string): ItemValue | null {
  const s = text.trim();
  if (s === "") return null;
  const n = Number(s);
  if (kind === "count") return Number.isInteger(n) && n >= 0 && n <= 1_000_000 ? { kind: "count", value: n } : null;
  return Number.isFinite(n) && n >= 0 && n <= 100 ? { kind: "percent", value: n } : null;
}
