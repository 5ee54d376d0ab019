import { describe, expect, it } from "vitest";
import { messages, translate } from "./i18n";
import { fails, parseNumber, photoPrompts, sections } from "./lib/inspection";
import { distanceKm, manualPosition, nearestFirst } from "./lib/sites";
import { formatBytes, formatRate } from "./lib/format";
import { alley, inspectionScreen, market } from "./test/mockBackend";

describe("i18n", () => {
  it("has every message in both languages, none empty", () => {
    const zh = Object.keys(messages["zh-CN"]).sort();
    expect(Object.keys(messages.en).sort()).toEqual(zh);
    for (const l of ["zh-CN", "en"] as const) {
      for (const [k, v] of Object.entries(messages[l])) expect(v, `${l} ${k}`).not.toBe("");
    }
  });
  it("fills placeholders", () => {
    expect(translate("zh-CN", "badge.unsynced", { n: 3 })).toBe("未同步 3");
    expect(translate("en", "badge.unsynced", { n: 3 })).toBe("3 unsynced");
  });
});

describe("inspection reckoning", () => {
  const items = inspectionScreen().template.items;
  it("groups items by index in template order", () => {
    expect(sections(items).map((s) => [s.index_code, s.items.map((i) => i.code)])).toEqual([
      ["II-26", ["BA-01", "BA-02"]],
      ["II-27", ["BA-03"]],
    ]);
  });
  it("judges failures by kind and minimum", () => {
    expect(fails(items[0], { kind: "non_compliant" })).toBe(true);
    expect(fails(items[0], { kind: "compliant" })).toBe(false);
    expect(fails(items[2], { kind: "percent", value: 94.9 })).toBe(true);
    expect(fails(items[2], { kind: "percent", value: 95 })).toBe(false);
    expect(fails(items[2], undefined)).toBe(false);
  });
  it("prompts for a photo until a finding of the item has one", () => {
    const results = [{ inspection_id: "i", item_code: "BA-01", value: { kind: "non_compliant" as const }, note: "", hlc: "" }];
    expect([...photoPrompts(items, results, [])]).toEqual(["BA-01"]);
    const noPhoto = [{ finding: { item_code: "BA-01" } as never, status: "open" as const, photos: [] }];
    expect([...photoPrompts(items, results, noPhoto)]).toEqual(["BA-01"]);
    const withPhoto = [{ finding: { item_code: "BA-01" } as never, status: "open" as const, photos: ["x"] }];
    expect([...photoPrompts(items, results, withPhoto)]).toEqual([]);
  });
  it("refuses numbers that do not fit the kind", () => {
    expect(parseNumber("count", "5")).toEqual({ kind: "count", value: 5 });
    expect(parseNumber("count", "2.5")).toBeNull();
    expect(parseNumber("count", "-1")).toBeNull();
    expect(parseNumber("percent", "96.5")).toEqual({ kind: "percent", value: 96.5 });
    expect(parseNumber("percent", "101")).toBeNull();
    expect(parseNumber("percent", "abc")).toBeNull();
  });
});

describe("sites", () => {
  it("measures great-circle distances", () => {
    // One degree of latitude is about 111.2 km.
    expect(distanceKm({ lat: 30, lon: 120 }, { lat: 31, lon: 120 })).toBeCloseTo(111.2, 0);
  });
  it("orders nearest first, sites without a position last", () => {
    const nowhere = { ...alley, id: "x", name: "无位置", position: null };
    const here = { lat: 30.2742, lon: 120.155, accuracy_m: 5, source: "manual" as const };
    expect(nearestFirst([alley, nowhere, market], here).map((s) => s.id)).toEqual([market.id, alley.id, "x"]);
  });
  it("marks typed positions as manual and refuses bad ones", () => {
    expect(manualPosition("30.1", "120.2", "")).toEqual({ lat: 30.1, lon: 120.2, accuracy_m: 50, source: "manual" });
    expect(manualPosition("91", "120", "5")).toBeNull();
    expect(manualPosition("", "120", "5")).toBeNull();
  });
});

describe("format", () => {
  it("formats bytes and rates", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
    expect(formatRate(0.8123)).toBe("81.2%");
    expect(formatRate(null)).toBeNull();
  });
});
