import { invoke } from "@tauri-apps/api/core";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { tauriBackend } from "./backend";
import { messages, translate } from "./i18n";
import { fails, parseNumber, photoPrompts, sections } from "./lib/inspection";
import { distanceKm, manualPosition, nearestFirst } from "./lib/sites";
import { formatBytes, formatClock, formatRate, formatTime, formatWhen } from "./lib/format";
import { syncBadges } from "./status";
import { holdsWhole, listPhotos } from "./lib/photos";
import { alley, idleSync, inspectionScreen, market, photoRecord } from "./test/mockBackend";

vi.mock("@tauri-apps/plugin-barcode-scanner", () => ({
  Format: { QRCode: "QR_CODE" },
  checkPermissions: vi.fn(),
  requestPermissions: vi.fn(),
  scan: vi.fn(),
}));
vi.mock("@tauri-apps/api/core", () => ({
  invoke: vi.fn(async () => ({ sha256: "b".repeat(64) })),
  convertFileSrc: (path: string, protocol: string) => `${protocol}://localhost/${path}`,
}));

describe("i18n", () => {
  it("has every message in both languages, none empty", () => {
    const zh = Object.keys(messages["zh-CN"]).sort();
    expect(Object.keys(messages.en).sort()).toEqual(zh);
    for (const l of ["zh-CN", "en"] as const) {
      for (const [k, v] of Object.entries(messages[l])) expect(v, `${l} ${k}`).not.toBe("");
    }
  });
  it("fills placeholders", () => {
    expect(translate("zh-CN", "badge.unsynced_both", { records: 3, photos: 2 })).toBe("3 条记录、2 张照片未同步");
    expect(translate("en", "badge.unsynced_both", { records: 3, photos: 2 })).toBe("Not synced: 3 records, 2 photos");
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
    const noPhoto = [{ finding: { item_code: "BA-01" } as never, status: "open" as const, photos: [], number: null }];
    expect([...photoPrompts(items, results, noPhoto)]).toEqual(["BA-01"]);
    const withPhoto = [{ finding: { item_code: "BA-01" } as never, status: "open" as const, photos: ["x"], number: null }];
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
  it("gives the time of day as HH:MM in China time, whatever the device's time zone", () => {
    // 01:05:59 UTC is 09:05:59 in China.
    const ms = Date.UTC(2026, 10, 28, 1, 5, 59);
    expect(formatClock(ms)).toBe("09:05");
    expect(formatTime(ms)).toBe("2026-11-28 09:05:59");
    // 16:00 UTC is already the next day in China.
    expect(formatTime(Date.UTC(2026, 10, 28, 16, 0))).toBe("2026-11-29 00:00:00");
  });
});

describe("re-check photo lists", () => {
  const sha = (c: string) => c.repeat(64);
  it("puts marked copies first, keeps each hash once, and takes an unnamed photo as taken here", () => {
    const records = [
      photoRecord(sha("1"), "after"),
      photoRecord(sha("2"), "after", { marked_from: sha("1") }),
      photoRecord(sha("3"), "after"),
      photoRecord(sha("1"), "after"),
    ];
    expect(listPhotos(records, { [sha("1")]: "thumb", [sha("2")]: "full" })).toEqual([
      { sha: sha("2"), local: "full", markedFrom: sha("1") },
      { sha: sha("1"), local: "thumb", markedFrom: null },
      { sha: sha("3"), local: "own", markedFrom: null },
    ]);
  });
  it("lets the viewer show only photos held whole", () => {
    expect((["own", "full", "thumb", "missing"] as const).map(holdsWhole)).toEqual([true, true, false, false]);
  });
});

describe("backend", () => {
  beforeEach(() => vi.mocked(invoke).mockClear());

  it("sends a marked photo as the raw IPC body, the original's hash in a header", async () => {
    const original = "a".repeat(64);
    const jpeg = new Uint8Array([0xff, 0xd8, 0x07, 0xff, 0xd9]).buffer;
    const record = await tauriBackend().markPhoto(original, jpeg);
    expect(record.sha256).toBe("b".repeat(64));
    expect(invoke).toHaveBeenCalledTimes(1);
    const [command, body, options] = vi.mocked(invoke).mock.calls[0];
    expect(command).toBe("mark_photo");
    expect(body).toBeInstanceOf(Uint8Array);
    expect(Array.from(body as Uint8Array)).toEqual([0xff, 0xd8, 0x07, 0xff, 0xd9]);
    expect(options).toEqual({ headers: { "x-photo-original": original } });
  });

  it("scans live on a tablet: the label's text to scan_label_text, a closed scanner to null, no permission to a plain error", async () => {
    const here = { lat: 30.2732, lon: 120.1621, accuracy_m: 8, source: "gps" as const };
    const scanner = await import("@tauri-apps/plugin-barcode-scanner");
    vi.mocked(scanner.checkPermissions).mockResolvedValue("granted");
    vi.mocked(scanner.scan).mockResolvedValueOnce({ content: "FCSITE1:c:s", format: scanner.Format.QRCode, bounds: null });
    vi.mocked(invoke).mockResolvedValueOnce(alley);
    expect(await tauriBackend().scanLabelLive(here)).toEqual(alley);
    expect(scanner.scan).toHaveBeenCalledWith({ formats: [scanner.Format.QRCode], windowed: false });
    expect(invoke).toHaveBeenCalledWith("scan_label_text", { text: "FCSITE1:c:s", position: here });

    vi.mocked(invoke).mockClear();
    vi.mocked(scanner.scan).mockRejectedValueOnce("cancelled");
    expect(await tauriBackend().scanLabelLive(here)).toBeNull();
    expect(invoke).not.toHaveBeenCalled();

    vi.mocked(scanner.checkPermissions).mockResolvedValue("denied");
    vi.mocked(scanner.requestPermissions).mockResolvedValue("denied");
    await expect(tauriBackend().scanLabelLive(here)).rejects.toThrow("没有相机权限");
    expect(invoke).not.toHaveBeenCalled();
  });

  it("sends a scanned label as the raw IPC body, the position for the check-in in a header", async () => {
    vi.mocked(invoke).mockResolvedValueOnce(alley);
    const here = { lat: 30.2732, lon: 120.1621, accuracy_m: 8, source: "gps" as const };
    const picture = new Uint8Array([0xff, 0xd8, 0x05, 0xff, 0xd9]).buffer;
    expect(await tauriBackend().scanLabel(picture, here)).toEqual(alley);
    expect(invoke).toHaveBeenCalledTimes(1);
    const [command, body, options] = vi.mocked(invoke).mock.calls[0];
    expect(command).toBe("scan_label");
    expect(body).toBeInstanceOf(Uint8Array);
    expect(Array.from(body as Uint8Array)).toEqual([0xff, 0xd8, 0x05, 0xff, 0xd9]);
    expect(options).toEqual({ headers: { "x-position": JSON.stringify(here) } });
    expect(JSON.parse((options as { headers: Record<string, string> }).headers["x-position"])).toEqual(here);
  });

  it("sends no position header when the position is unknown", async () => {
    vi.mocked(invoke).mockResolvedValueOnce(alley);
    await tauriBackend().scanLabel(new Uint8Array([1, 2]).buffer, null);
    const [command, body, options] = vi.mocked(invoke).mock.calls[0];
    expect(command).toBe("scan_label");
    expect(Array.from(body as Uint8Array)).toEqual([1, 2]);
    expect(options).toBeUndefined();
  });

  it("asks for another tablet's photo by its hash, passing a refusal on as is", async () => {
    vi.mocked(invoke).mockResolvedValueOnce(null);
    await tauriBackend().fetchPhoto("c".repeat(64));
    expect(vi.mocked(invoke).mock.calls[0]).toEqual(["fetch_photo", { sha256: "c".repeat(64) }]);
    const offline = { message: "没有网络信号 / no signal", field: null };
    vi.mocked(invoke).mockRejectedValueOnce(offline);
    await expect(tauriBackend().fetchPhoto("c".repeat(64))).rejects.toBe(offline);
  });
});

describe("sync badge (#17 item 6)", () => {
  it("never says 已同步 before sign-in or before the first successful sync", () => {
    expect(syncBadges(null)).toEqual([]);
    expect(syncBadges({ ...idleSync, signed_in: false })).toEqual([{ kind: "signed_out" }]);
    expect(syncBadges({ ...idleSync, last_success_ms: null })).toEqual([{ kind: "never_synced" }]);
    expect(syncBadges({ ...idleSync, last_success_ms: 1 })).toEqual([{ kind: "synced" }]);
  });
  it("counts records and photos apart, and keeps them in view when signed out", () => {
    expect(syncBadges({ ...idleSync, last_success_ms: 1, records_pending: 4, photos_pending: 2 })).toEqual([
      { kind: "unsynced", records: 4, photos: 2 },
    ]);
    expect(syncBadges({ ...idleSync, signed_in: false, records_pending: 1, photos_pending: 0 })).toEqual([
      { kind: "signed_out" },
      { kind: "unsynced", records: 1, photos: 0 },
    ]);
  });
});

describe("formatWhen", () => {
  it("gives the time of day for today and the date before that", () => {
    // China time: UTC+8.
    const now = Date.UTC(2026, 10, 28, 7, 0);
    expect(formatWhen(Date.UTC(2026, 10, 28, 1, 5), now)).toBe("09:05");
    expect(formatWhen(Date.UTC(2026, 10, 27, 1, 5), now)).toBe("2026-11-27 09:05");
  });
});
