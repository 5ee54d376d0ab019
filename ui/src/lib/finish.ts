// The end of an inspection: what is still open before 完成检查, and the summary after it.

import type { InspectionScreen, SyncStatus, TemplateItem } from "../types";
import { byItem, photoPrompts } from "./inspection";

/** What 完成检查 warns about: items not answered, and failed items whose required photo is missing. */
export interface FinishCheck {
  unanswered: TemplateItem[];
  missingPhotos: TemplateItem[];
}

/** Items not answered and items still missing a required photo, in checklist order. */
export function finishCheck(screen: InspectionScreen): FinishCheck {
  const answers = byItem(screen.results);
  const prompts = photoPrompts(screen.template.items, screen.results, screen.findings);
  return {
    unanswered: screen.template.items.filter((i) => !answers.has(i.code)),
    missingPhotos: screen.template.items.filter((i) => prompts.has(i.code)),
  };
}

/** Whether 完成检查 should ask first. */
export function needsConfirm(check: FinishCheck): boolean {
  return check.unanswered.length + check.missingPhotos.length > 0;
}

/** The summary shown once an inspection is finished. */
export interface FinishSummary {
  answered: number;
  total: number;
  findings: number;
  photos: number;
}

/** Counts what the finished inspection holds. */
export function finishSummary(screen: InspectionScreen): FinishSummary {
  return {
    answered: screen.results.length,
    total: screen.template.items.length,
    findings: screen.findings.length,
    photos: screen.findings.reduce((n, f) => n + f.photos.length, 0),
  };
}

/** Whether everything on the tablet has reached the server (then the inspection has too). */
export function allSent(s: SyncStatus | null): boolean {
  return s != null && s.records_pending + s.photos_pending === 0 && s.step === "idle";
}
