import { describe, expect, it } from "vitest";
import {
  COLOURS,
  MAX_TEXT,
  Marking,
  OUTLINE,
  arrowHead,
  imagePxPerCssPx,
  limitText,
  outlineWidth,
  render,
  shapeFromDrag,
  strokeWidth,
  textPosition,
  textShape,
  toImagePoint,
  type Shape,
} from "./lib/marking";
import { paints, recordingContext } from "./test/fakeCanvas";

const arrow: Shape = { kind: "arrow", colour: "red", from: { x: 100, y: 100 }, to: { x: 400, y: 300 } };
const box: Shape = { kind: "rect", colour: "yellow", x: 10, y: 20, w: 300, h: 200 };

describe("marking model", () => {
  it("adds, undoes newest first, clears, and says when it is empty", () => {
    const m = new Marking();
    expect(m.isEmpty).toBe(true);
    expect(m.undo()).toBeUndefined();
    expect(m.add(arrow)).toBe(true);
    expect(m.add(box)).toBe(true);
    expect(m.add(null)).toBe(false);
    expect(m.length).toBe(2);
    expect(m.isEmpty).toBe(false);
    expect(m.undo()).toEqual(box);
    expect(m.shapes).toEqual([arrow]);
    m.clear();
    expect(m.isEmpty).toBe(true);
    expect(m.shapes).toEqual([]);
  });

  it("hands out a copy of its shapes", () => {
    const m = new Marking();
    m.add(arrow);
    m.shapes.push(box);
    expect(m.length).toBe(1);
  });

  it("makes no shape from a tap or a tiny drag", () => {
    const from = { x: 100, y: 100 };
    for (const tool of ["arrow", "ellipse", "rect"] as const) {
      expect(shapeFromDrag(tool, "red", from, { x: 100, y: 100 }, 16), tool).toBeNull();
      expect(shapeFromDrag(tool, "red", from, { x: 110, y: 108 }, 16), tool).toBeNull();
      expect(shapeFromDrag(tool, "red", from, { x: 120, y: 100 }, 16), tool).not.toBeNull();
    }
  });

  it("makes boxes and ellipses from the dragged corners, whichever way the drag went", () => {
    const from = { x: 400, y: 300 };
    const to = { x: 100, y: 100 };
    expect(shapeFromDrag("rect", "white", from, to, 8)).toEqual({ kind: "rect", colour: "white", x: 100, y: 100, w: 300, h: 200 });
    expect(shapeFromDrag("ellipse", "red", from, to, 8)).toEqual({ kind: "ellipse", colour: "red", cx: 250, cy: 200, rx: 150, ry: 100 });
    expect(shapeFromDrag("arrow", "yellow", to, from, 8)).toEqual({ kind: "arrow", colour: "yellow", from: to, to: from });
  });

  it("maps a pointer on a scaled-down display to image pixels", () => {
    // A 4000 × 3000 photo shown 800 × 600 at (100, 50): one CSS pixel is five image pixels.
    const rect = { left: 100, top: 50, width: 800, height: 600 };
    const image = { width: 4000, height: 3000 };
    expect(imagePxPerCssPx(rect, image)).toBe(5);
    expect(toImagePoint(100, 50, rect, image)).toEqual({ x: 0, y: 0 });
    expect(toImagePoint(500, 350, rect, image)).toEqual({ x: 2000, y: 1500 });
    expect(toImagePoint(900, 650, rect, image)).toEqual({ x: 4000, y: 3000 });
    // A finger that slides off the photo draws to its edge.
    expect(toImagePoint(0, 1000, rect, image)).toEqual({ x: 0, y: 3000 });
  });

  it("allows for the bars of a photo shown letterboxed", () => {
    // 1600 × 1200 in a 1000 × 600 box: shown 800 × 600, 100 px bars left and right.
    const rect = { left: 0, top: 0, width: 1000, height: 600 };
    const image = { width: 1600, height: 1200 };
    expect(imagePxPerCssPx(rect, image)).toBe(2);
    expect(toImagePoint(100, 0, rect, image)).toEqual({ x: 0, y: 0 });
    expect(toImagePoint(500, 300, rect, image)).toEqual({ x: 800, y: 600 });
  });

  it("scales the stroke with the photo, so marks look alike on small and large photos", () => {
    const small = strokeWidth(1600, 1200);
    const large = strokeWidth(4000, 3000);
    expect(large).toBeGreaterThan(small);
    expect(small / 1600).toBeCloseTo(large / 4000, 6);
    expect(strokeWidth(1200, 1600)).toBe(small);
    expect(strokeWidth(100, 80)).toBe(2);
    expect(outlineWidth(small)).toBeGreaterThan(small);
  });

  it("limits text to the maximum, trims it, and refuses blank text", () => {
    expect(MAX_TEXT).toBe(20);
    const long = "井盖破损下沉存在安全隐患请尽快更换井盖并设置警示标志";
    expect(Array.from(long).length).toBeGreaterThan(MAX_TEXT);
    expect(limitText(long)).toBe(long.slice(0, MAX_TEXT));
    expect(limitText("  井盖  ")).toBe("井盖");
    // Characters, not UTF-16 units: an emoji counts once and is never cut in half.
    expect(Array.from(limitText("⚠".repeat(5) + "🚧".repeat(30)))).toHaveLength(MAX_TEXT);
    expect(textShape("red", { x: 5, y: 6 }, long)).toEqual({ kind: "text", colour: "red", at: { x: 5, y: 6 }, text: long.slice(0, MAX_TEXT) });
    expect(textShape("red", { x: 5, y: 6 }, "   ")).toBeNull();
  });

  it("points the arrow head at the end of the drag, symmetric, never longer than half the arrow", () => {
    const head = arrowHead({ x: 0, y: 0 }, { x: 200, y: 0 }, 4);
    expect(head.tip).toEqual({ x: 200, y: 0 });
    expect(head.left.x).toBeCloseTo(head.right.x, 9);
    expect(head.left.y).toBeCloseTo(-head.right.y, 9);
    expect(Math.abs(head.left.y)).toBeGreaterThan(0);
    expect(head.left.x).toBeLessThan(200);
    expect(head.base.x).toBeCloseTo(head.left.x, 9);
    expect(head.base.y).toBeCloseTo(0, 9);

    const short = arrowHead({ x: 0, y: 0 }, { x: 0, y: 10 }, 4);
    expect(Math.hypot(short.left.x - short.tip.x, short.left.y - short.tip.y)).toBeCloseTo(5, 9);
  });

  it("keeps text inside the photo", () => {
    // 100 px of text tapped 20 px from the right edge of a 1000 px photo moves left.
    const at = textPosition({ x: 980, y: 500 }, 100, 40, 1000, 800);
    expect(at.x + 100).toBeLessThanOrEqual(1000);
    expect(at.y).toBe(500);
    expect(textPosition({ x: 300, y: 0 }, 100, 40, 1000, 800).y).toBeGreaterThanOrEqual(20);
  });
});

describe("marking render", () => {
  it("draws each shape with a wide dark outline first, then its colour on top", () => {
    const ctx = recordingContext();
    const shapes: Shape[] = [
      arrow,
      { kind: "ellipse", colour: "white", cx: 500, cy: 400, rx: 100, ry: 60 },
      box,
      { kind: "text", colour: "yellow", at: { x: 50, y: 700 }, text: "井盖" },
    ];
    render(ctx, shapes, 1600, 1200);
    const stroke = strokeWidth(1600, 1200);
    const drawn = paints(ctx.ops);

    // Every paint is either the outline (dark, wider) or a shape's colour.
    const colours = new Set(Object.values(COLOURS));
    for (const p of drawn) {
      const style = p.op.startsWith("fill") ? p.fillStyle : p.strokeStyle;
      expect(style === OUTLINE || colours.has(style as never), `${p.op} ${String(style)}`).toBe(true);
    }
    // An ellipse alone: the dark stroke, wider than the coloured one, comes first.
    const one = recordingContext();
    render(one, [shapes[1]], 1600, 1200);
    expect(paints(one.ops).map((p) => [p.op, p.strokeStyle, p.lineWidth])).toEqual([
      ["stroke", OUTLINE, outlineWidth(stroke)],
      ["stroke", COLOURS.white, stroke],
    ]);

    // Per shape, in order: all of its outline before any of its colour, and shapes one after another.
    const order = drawn.map((p) => {
      const style = p.op.startsWith("fill") ? p.fillStyle : p.strokeStyle;
      return style === OUTLINE ? "outline" : String(style);
    });
    expect(order).toEqual([
      // arrow: shaft, head border, head fill; then shaft and head in red
      "outline", "outline", "outline", COLOURS.red, COLOURS.red,
      "outline", COLOURS.white,
      "outline", COLOURS.yellow,
      "outline", COLOURS.yellow,
    ]);
    const text = drawn.slice(-2);
    expect(text.map((p) => [p.op, p.args[0]])).toEqual([
      ["strokeText", "井盖"],
      ["fillText", "井盖"],
    ]);
  });

  it("draws the same marks proportionally wider on a larger photo", () => {
    const widths = (w: number, h: number) => {
      const ctx = recordingContext();
      render(ctx, [box], w, h);
      return paints(ctx.ops).map((p) => p.lineWidth / w);
    };
    const small = widths(1600, 1200);
    const large = widths(4000, 3000);
    expect(small).toHaveLength(2);
    small.forEach((s, i) => expect(large[i]).toBeCloseTo(s, 9));
  });

  it("draws nothing but leaves the context as it was for no shapes", () => {
    const ctx = recordingContext();
    render(ctx, [], 1600, 1200);
    expect(paints(ctx.ops)).toEqual([]);
    expect(ctx.ops.map((o) => o.op)).toEqual(["save", "restore"]);
  });
});
