// Photo marking (标注): arrows, circles, boxes and short text drawn on a copy of a photo, so an
// inspector can show which manhole cover or which wire is meant. Pure logic: shapes live in
// image pixels, and drawing goes through the small `Ctx2D` interface below (a canvas's 2D
// context fits it; tests pass a recording fake). The original photo is never touched: the
// screen draws the photo and these shapes on a canvas and exports that as a second JPEG.

/** A point in image pixels (0,0 is the photo's top-left corner). */
export interface Point {
  x: number;
  y: number;
}

/** The colours offered. Every shape also gets a dark outline, so each shows on bright and dark photos. */
export const COLOURS = {
  red: "#ff2a2a",
  yellow: "#ffd600",
  white: "#ffffff",
} as const;

export type Colour = keyof typeof COLOURS;

/** The dark outline drawn under every shape. */
export const OUTLINE = "rgba(0, 0, 0, 0.85)";

/** The drawing tools, in the order the toolbar shows them. */
export const TOOLS = ["arrow", "ellipse", "rect", "text"] as const;

export type Tool = (typeof TOOLS)[number];

/** One mark, in image pixels. */
export type Shape =
  /** An arrow from `from` (the tail, where the finger went down) to `to` (the head). */
  | { kind: "arrow"; colour: Colour; from: Point; to: Point }
  /** An ellipse inscribed in the box the finger dragged across: centre and radii. */
  | { kind: "ellipse"; colour: Colour; cx: number; cy: number; rx: number; ry: number }
  /** A box: top-left corner, width and height (never negative). */
  | { kind: "rect"; colour: Colour; x: number; y: number; w: number; h: number }
  /** Short text whose left edge and vertical middle are at `at`. */
  | { kind: "text"; colour: Colour; at: Point; text: string };

/** The most characters a text mark may have. */
export const MAX_TEXT = 20;

/** A drag shorter than this many screen (CSS) pixels is a slip of the finger, not a shape. */
export const MIN_DRAG_CSS_PX = 8;

/** The shapes drawn so far, newest last, with undo. */
export class Marking {
  #shapes: Shape[] = [];

  /** The shapes, oldest first (a copy: changing it does not change the marking). */
  get shapes(): Shape[] {
    return [...this.#shapes];
  }

  /** How many shapes there are. */
  get length(): number {
    return this.#shapes.length;
  }

  /** True while nothing is drawn: there is nothing to save. */
  get isEmpty(): boolean {
    return this.#shapes.length === 0;
  }

  /** Adds a shape; `null` (a drag too short, a blank text) adds nothing. True when one was added. */
  add(shape: Shape | null): boolean {
    if (!shape) return false;
    this.#shapes.push(shape);
    return true;
  }

  /** Removes the newest shape and returns it (undefined when there was none). */
  undo(): Shape | undefined {
    return this.#shapes.pop();
  }

  /** Removes every shape. */
  clear(): void {
    this.#shapes = [];
  }
}

/** Where an element shows the image on screen (from `getBoundingClientRect()`), in CSS pixels. */
export interface DisplayRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The image's natural size in pixels. */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Image pixels per CSS pixel for an image shown scaled to fit `rect` (keeping its aspect ratio,
 * centred, like `object-fit: contain`). 2 means every screen pixel covers two image pixels.
 */
export function imagePxPerCssPx(rect: DisplayRect, image: ImageSize): number {
  const scale = Math.min(rect.width / image.width, rect.height / image.height);
  return scale > 0 ? 1 / scale : 1;
}

/**
 * The image pixel under a pointer at (`clientX`, `clientY`) when the image is shown scaled to
 * fit `rect`; clamped to the image, so a finger that slides off the edge draws to the edge.
 */
export function toImagePoint(clientX: number, clientY: number, rect: DisplayRect, image: ImageSize): Point {
  const k = imagePxPerCssPx(rect, image);
  const shownW = image.width / k;
  const shownH = image.height / k;
  const offX = (rect.width - shownW) / 2;
  const offY = (rect.height - shownH) / 2;
  const x = (clientX - rect.left - offX) * k;
  const y = (clientY - rect.top - offY) * k;
  return { x: clamp(x, 0, image.width), y: clamp(y, 0, image.height) };
}

/**
 * The width of a shape's coloured stroke for an image of this size: a fixed share of the longer
 * side (1/250), so marks look alike on a 1600 px and on a 4000 px photo; at least 2 px.
 */
export function strokeWidth(width: number, height: number): number {
  return Math.max(2, Math.max(width, height) / 250);
}

/** The width of the dark outline drawn under a stroke: half a stroke's width shows on each side. */
export function outlineWidth(stroke: number): number {
  return stroke * 2;
}

/** The text size for an image whose strokes are `stroke` wide. */
export function fontSize(stroke: number): number {
  return Math.round(stroke * 7);
}

/** The arrow head: its tip, its two barbs, and the middle of its back where the shaft ends. */
export interface ArrowHead {
  tip: Point;
  left: Point;
  right: Point;
  base: Point;
}

/** Half the angle at an arrow's tip. */
const HEAD_HALF_ANGLE = Math.PI / 6;

/**
 * The head of an arrow from `from` to `to` drawn with strokes `stroke` wide: 5 strokes long,
 * but never more than half the arrow, so a short arrow still shows a shaft.
 */
export function arrowHead(from: Point, to: Point, stroke: number): ArrowHead {
  const dx = to.x - from.x;
  const dy = to.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const head = Math.min(stroke * 5, len / 2);
  const back = head * Math.cos(HEAD_HALF_ANGLE);
  const side = head * Math.sin(HEAD_HALF_ANGLE);
  const bx = to.x - ux * back;
  const by = to.y - uy * back;
  return {
    tip: { x: to.x, y: to.y },
    left: { x: bx - uy * side, y: by + ux * side },
    right: { x: bx + uy * side, y: by - ux * side },
    base: { x: bx, y: by },
  };
}

/**
 * The shape a drag from `from` to `to` makes with a drawing tool (not text), or null when the
 * drag is shorter than `minDrag` image pixels: a tap or a slip of the finger draws nothing.
 */
export function shapeFromDrag(tool: Exclude<Tool, "text">, colour: Colour, from: Point, to: Point, minDrag: number): Shape | null {
  if (Math.hypot(to.x - from.x, to.y - from.y) < minDrag) return null;
  const x = Math.min(from.x, to.x);
  const y = Math.min(from.y, to.y);
  const w = Math.abs(to.x - from.x);
  const h = Math.abs(to.y - from.y);
  switch (tool) {
    case "arrow":
      return { kind: "arrow", colour, from: { ...from }, to: { ...to } };
    case "ellipse":
      return { kind: "ellipse", colour, cx: x + w / 2, cy: y + h / 2, rx: w / 2, ry: h / 2 };
    case "rect":
      return { kind: "rect", colour, x, y, w, h };
  }
}

/** Typed text trimmed and cut to `MAX_TEXT` characters (counted as characters, not UTF-16 units). */
export function limitText(text: string): string {
  return Array.from(text.trim()).slice(0, MAX_TEXT).join("");
}

/** A text mark at `at`, or null when the text is blank. The text is cut to `MAX_TEXT` characters. */
export function textShape(colour: Colour, at: Point, text: string): Shape | null {
  const t = limitText(text);
  return t ? { kind: "text", colour, at: { ...at }, text: t } : null;
}

/** The part of a canvas's 2D context that `render` uses. `CanvasRenderingContext2D` fits it. */
export interface Ctx2D {
  lineWidth: number;
  strokeStyle: unknown;
  fillStyle: unknown;
  lineCap: "butt" | "round" | "square";
  lineJoin: "bevel" | "miter" | "round";
  font: string;
  textAlign: "center" | "end" | "left" | "right" | "start";
  textBaseline: "alphabetic" | "bottom" | "hanging" | "ideographic" | "middle" | "top";
  save(): void;
  restore(): void;
  beginPath(): void;
  closePath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  rect(x: number, y: number, w: number, h: number): void;
  ellipse(x: number, y: number, rx: number, ry: number, rotation: number, start: number, end: number): void;
  stroke(): void;
  fill(): void;
  strokeText(text: string, x: number, y: number): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number };
}

/** The font for text marks: bold, in the app's Chinese font stack. */
export function textFont(size: number): string {
  return `bold ${size}px "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif`;
}

/**
 * Draws `shapes` onto an image `width` × `height` pixels (the photo must be drawn already).
 * Each shape is drawn twice: first a wide dark outline, then its colour on top.
 */
export function render(ctx: Ctx2D, shapes: readonly Shape[], width: number, height: number): void {
  const stroke = strokeWidth(width, height);
  const outline = outlineWidth(stroke);
  const size = fontSize(stroke);
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of shapes) {
    for (const pass of ["outline", "colour"] as const) {
      const colour = pass === "outline" ? OUTLINE : COLOURS[s.colour];
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = pass === "outline" ? outline : stroke;
      switch (s.kind) {
        case "arrow": {
          const head = arrowHead(s.from, s.to, stroke);
          ctx.beginPath();
          ctx.moveTo(s.from.x, s.from.y);
          ctx.lineTo(head.base.x, head.base.y);
          ctx.stroke();
          ctx.beginPath();
          ctx.moveTo(head.tip.x, head.tip.y);
          ctx.lineTo(head.left.x, head.left.y);
          ctx.lineTo(head.right.x, head.right.y);
          ctx.closePath();
          if (pass === "outline") {
            // The filled head gets the same dark border as the lines: half the extra width.
            ctx.lineWidth = outline - stroke;
            ctx.stroke();
          }
          ctx.fill();
          break;
        }
        case "ellipse":
          ctx.beginPath();
          ctx.ellipse(s.cx, s.cy, Math.max(s.rx, 0.5), Math.max(s.ry, 0.5), 0, 0, Math.PI * 2);
          ctx.stroke();
          break;
        case "rect":
          ctx.beginPath();
          ctx.rect(s.x, s.y, s.w, s.h);
          ctx.stroke();
          break;
        case "text": {
          ctx.font = textFont(size);
          ctx.textAlign = "left";
          ctx.textBaseline = "middle";
          const at = textPosition(s.at, ctx.measureText(s.text).width, size, width, height);
          if (pass === "outline") {
            ctx.lineWidth = size / 4;
            ctx.strokeText(s.text, at.x, at.y);
          } else {
            ctx.fillText(s.text, at.x, at.y);
          }
          break;
        }
      }
    }
  }
  ctx.restore();
}

/** Where text `textWidth` wide is drawn so that it stays inside the image (moved in from an edge). */
export function textPosition(at: Point, textWidth: number, size: number, width: number, height: number): Point {
  const pad = size / 4;
  return {
    x: clamp(at.x, pad, Math.max(pad, width - textWidth - pad)),
    y: clamp(at.y, size / 2 + pad, Math.max(size / 2 + pad, height - size / 2 - pad)),
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
