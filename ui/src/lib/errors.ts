// How an error is shown: one sentence in the current language, the rest behind 详情.

import type { Locale } from "../i18n";
import type { CommandError } from "../types";

/** An error as the screens show it. */
export interface Explained {
  /** The one sentence shown, in the current language. */
  sentence: string;
  /** The other language and any technical words (addresses, the network's own message). */
  details: string[];
}

/**
 * Explains a failed command (a `CommandError`), a thrown value or a message. Messages from the
 * app's Rust side are `中文 / English`, with technical details on the lines after the first
 * (see core's `SyncError`); a message typed in the UI is already in one language.
 */
export function explainError(error: unknown, locale: Locale): Explained {
  const [head, ...technical] = errorMessage(error).split("\n");
  const details = technical.map((line) => line.trim()).filter((line) => line !== "");
  const cut = head.indexOf(" / ");
  if (cut < 0) return { sentence: head.trim(), details };
  const zh = head.slice(0, cut).trim();
  const en = head.slice(cut + 3).trim();
  return locale === "en" ? { sentence: en, details: [zh, ...details] } : { sentence: zh, details: [en, ...details] };
}

/** The message of a failed command (a `CommandError`), or of any thrown value. */
export function errorMessage(e: unknown): string {
  if (typeof e === "string") return e;
  if (e && typeof e === "object" && "message" in e) return String((e as CommandError).message);
  return String(e);
}
