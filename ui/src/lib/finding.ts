// The finding form's reckoning: what it proposes from the failed checklist item, and which
// fields still need the inspector.

import type { Category, FindingSummary, ItemValue, Position, Subcategory, TemplateItem } from "../types";
import type { Locale } from "../i18n";

/** What the form fills in from the failed item; the inspector can change each. */
export interface Proposal {
  category: Category;
  /** Subcategory code, or "" when the item names none the tablet knows. */
  subcategory: string;
  /** The item's wording and what was seen (a count or percentage and its minimum). */
  description: string;
  /** Unit code: the item's (the unit that fixes this kind of problem), else the site's; "". */
  unit: string;
}

/** The words a proposal's description is made of, in the screen's language. */
export interface DescriptionWords {
  /** "{item}：不符合要求". */
  failed: (item: string) => string;
  /** "{item}：实测 {value}，要求不少于 {min}" (count or percentage). */
  measured: (item: string, value: string, min: string) => string;
}

/** The item's title in `locale`: its English title, or its Chinese wording. */
export function itemTitle(item: Pick<TemplateItem, "text_zh" | "title_en">, locale: Locale): string {
  return locale === "en" ? item.title_en : item.text_zh;
}

/** The item's standard in `locale`: English where the pack gives it, else Chinese. */
export function standardText(item: TemplateItem, locale: Locale): string {
  return locale === "en" && item.standard_en ? item.standard_en : item.standard_zh;
}

/** What to prefill from `item` failed with `value`, at a site whose own unit is `siteUnit`. */
export function propose(
  item: TemplateItem,
  value: ItemValue | undefined,
  taxonomy: Subcategory[],
  siteUnit: string | null,
  locale: Locale,
  words: DescriptionWords,
): Proposal {
  const sub = taxonomy.find((s) => s.code === item.subcategory);
  const name = itemTitle(item, locale);
  const suffix = item.kind === "percent" ? "%" : "";
  const description =
    value && (value.kind === "count" || value.kind === "percent") && item.kind !== "verdict"
      ? words.measured(name, `${value.value}${suffix}`, `${item.min}${suffix}`)
      : words.failed(name);
  return {
    category: sub?.category ?? "component",
    subcategory: sub?.code ?? "",
    description,
    unit: item.unit ?? siteUnit ?? "",
  };
}

/** The form's fields that a rule applies to. */
export type CheckedField = "subcategory" | "description" | "position";

/** A field's fault: which message to show. */
export type Fault = "required" | "bad_position";

/** What the form checks before saving. */
export interface FindingFields {
  subcategory: string;
  description: string;
  /** The position as typed or known: a position, none, or typed and not valid. */
  position: Position | null | "invalid";
}

/** Each field's fault; a field that is fine has none, so its message goes once it is fixed. */
export function faults(fields: FindingFields): Partial<Record<CheckedField, Fault>> {
  const out: Partial<Record<CheckedField, Fault>> = {};
  if (!fields.subcategory) out.subcategory = "required";
  if (!fields.description.trim()) out.description = "required";
  if (fields.position === "invalid") out.position = "bad_position";
  return out;
}

/** The findings recorded from each checklist item, oldest first. */
export function findingsByItem(findings: FindingSummary[]): Map<string, FindingSummary[]> {
  const out = new Map<string, FindingSummary[]>();
  for (const f of [...findings].sort((a, b) => a.finding.created_at - b.finding.created_at)) {
    const code = f.finding.item_code;
    if (!code) continue;
    out.set(code, [...(out.get(code) ?? []), f]);
  }
  return out;
}
