// A 2D context for tests (jsdom has no canvas): records every drawing call with the stroke and
// fill style and line width in force when it was made.

import type { Ctx2D } from "../lib/marking";

export interface DrawOp {
  op: string;
  args: unknown[];
  strokeStyle: unknown;
  fillStyle: unknown;
  lineWidth: number;
}

const METHODS = [
  "save",
  "restore",
  "beginPath",
  "closePath",
  "moveTo",
  "lineTo",
  "rect",
  "ellipse",
  "stroke",
  "fill",
  "strokeText",
  "fillText",
  "drawImage",
] as const;

export type RecordingContext = Ctx2D & { ops: DrawOp[]; drawImage(...args: unknown[]): void };

/** A context whose text is 10 px wide per character. */
export function recordingContext(): RecordingContext {
  const ops: DrawOp[] = [];
  const ctx = {
    ops,
    lineWidth: 1,
    strokeStyle: "#000" as unknown,
    fillStyle: "#000" as unknown,
    lineCap: "butt",
    lineJoin: "miter",
    font: "10px sans-serif",
    textAlign: "start",
    textBaseline: "alphabetic",
    measureText: (text: string) => ({ width: Array.from(text).length * 10 }),
  } as RecordingContext;
  for (const m of METHODS) {
    (ctx as unknown as Record<string, (...args: unknown[]) => void>)[m] = (...args: unknown[]) =>
      ops.push({ op: m, args, strokeStyle: ctx.strokeStyle, fillStyle: ctx.fillStyle, lineWidth: ctx.lineWidth });
  }
  return ctx;
}

/** The strokes, fills and texts drawn, without the path building in between. */
export function paints(ops: DrawOp[]): DrawOp[] {
  return ops.filter((o) => ["stroke", "fill", "strokeText", "fillText", "drawImage"].includes(o.op));
}
