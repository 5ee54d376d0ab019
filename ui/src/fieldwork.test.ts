// Issue #17 items 1, 4 and 8 and the small ones: the 回头看 list, the finding form that
// proposes what the app knows, the checklist row that shows a recorded finding, the site list's
// empty and nearest-first states, and English standards.

import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { setLocale } from "./i18n";
import { faults, findingsByItem, propose, standardText } from "./lib/finding";
import { emptyListMessage } from "./lib/sites";
import { closePhotos, go, reset } from "./nav";
import { alley, findingDetail, inspectionScreen, mockBackend } from "./test/mockBackend";
import type { FindingSummary, RecheckEntry, Subcategory, TemplateItem } from "./types";

beforeEach(() => {
  setLocale("zh-CN");
  reset({ name: "home" });
  closePhotos();
  document.body.replaceChildren();
});

const TAXONOMY: Subcategory[] = [
  { code: "manhole_cover", category: "component", name_zh: "井盖", name_en: "Manhole cover" },
  { code: "street_vending", category: "event", name_zh: "占道经营", name_en: "Street vending" },
];
const WORDS = {
  failed: (item: string) => `${item}：不符合要求`,
  measured: (item: string, value: string, min: string) => `${item}：实测 ${value}，要求不低于 ${min}`,
};
const BA03: TemplateItem = {
  kind: "verdict",
  code: "BA-03",
  index_code: "II-24",
  index_name_zh: "公共设施",
  index_name_en: "Public facilities",
  text_zh: "井盖完好",
  title_en: "Manhole covers intact",
  standard_zh: "井盖齐全，无缺失、破损、移位。",
  standard_en: "Manhole covers all in place, not broken or shifted.",
  subcategory: "manhole_cover",
  unit: "housing",
  weight: 1.5,
  photo_required: true,
};

/** The mock inspection with BA-03 mapped like the real pack, answered 不符合. */
function ba03Screen() {
  const s = inspectionScreen();
  s.template.items = [...s.template.items.filter((i) => i.code !== "BA-03"), BA03];
  s.results = [{ inspection_id: "insp-1", item_code: "BA-03", value: { kind: "non_compliant" }, note: "", hlc: "x" }];
  return s;
}

function summary(id: string, itemCode: string | null, createdAt: number): FindingSummary {
  return {
    finding: { ...findingDetail().finding, id, item_code: itemCode, created_at: createdAt },
    status: "open",
    photos: [],
    number: null,
  };
}

describe("the finding form proposes what the app knows (#17 item 4)", () => {
  it("takes subcategory, category and unit from the item, and words from its text or measurement", () => {
    const p = propose(BA03, { kind: "non_compliant" }, TAXONOMY, "traffic_police", "zh-CN", WORDS);
    expect(p).toEqual({ category: "component", subcategory: "manhole_cover", description: "井盖完好：不符合要求", unit: "housing" });
    const lights = { ...BA03, kind: "percent", min: 95, subcategory: "street_light", unit: undefined } as TemplateItem;
    const measured = propose(lights, { kind: "percent", value: 80 }, TAXONOMY, "traffic_police", "zh-CN", WORDS);
    expect(measured.description).toBe("井盖完好：实测 80%，要求不低于 95%");
    // A subcategory the tablet does not know is not proposed; without the item's unit, the site's.
    expect(measured.subcategory).toBe("");
    expect(measured.unit).toBe("traffic_police");
    expect(propose(BA03, undefined, TAXONOMY, null, "en", WORDS).description).toBe("Manhole covers intact：不符合要求");
  });

  it("says each field's fault until that field is fixed", () => {
    expect(faults({ subcategory: "", description: " ", position: "invalid" })).toEqual({
      subcategory: "required",
      description: "required",
      position: "bad_position",
    });
    expect(faults({ subcategory: "manhole_cover", description: " ", position: null })).toEqual({ description: "required" });
  });

  it("opens from BA-03 with 井盖, a description and the housing bureau chosen, the camera first", async () => {
    const backend = mockBackend();
    backend.loadInspection.mockResolvedValue(ba03Screen());
    const catalog = await backend.catalog();
    backend.catalog.mockResolvedValue({ ...catalog, units: [...catalog.units, { code: "housing", name_zh: "住建局", name_en: "Housing bureau" }] });
    render(App, { props: { backend } });
    go({ name: "finding", siteId: alley.id, inspectionId: "insp-1", itemCode: "BA-03" });
    const sub = (await screen.findByTestId("finding-subcategory")) as HTMLSelectElement;
    await waitFor(() => expect(sub.value).toBe("manhole_cover"));
    expect((screen.getByTestId("finding-description") as HTMLTextAreaElement).value).toBe("井盖完好：不符合要求。");
    await waitFor(() => expect((screen.getByTestId("finding-unit") as HTMLSelectElement).value).toBe("housing"));
    const camera = screen.getByTestId("photo-input-before");
    expect(camera.compareDocumentPosition(sub) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it("clears a field's message as soon as the field is fixed", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "finding", siteId: alley.id, inspectionId: null, itemCode: null });
    await waitFor(() => expect(screen.getByTestId("finding-subcategory").querySelectorAll("option").length).toBe(2));
    await fireEvent.click(screen.getByTestId("finding-save"));
    expect(screen.getByTestId("finding-error-subcategory").textContent).toBe("问题小类：必填，请填写");
    expect(screen.getByTestId("finding-error-description").textContent).toBe("问题描述：必填，请填写");
    await fireEvent.change(screen.getByTestId("finding-subcategory"), { target: { value: "manhole_cover" } });
    expect(screen.queryByTestId("finding-error-subcategory")).toBeNull();
    expect(screen.getByTestId("finding-error-description")).toBeTruthy();
    await fireEvent.input(screen.getByTestId("finding-description"), { target: { value: "井盖破损" } });
    expect(screen.queryByTestId("finding-error-description")).toBeNull();
    expect(backend.addFinding).not.toHaveBeenCalled();
  });
});

describe("the checklist row shows a recorded finding (#17 item 8)", () => {
  it("groups findings by item, oldest first", () => {
    const m = findingsByItem([summary("b", "BA-01", 2), summary("free", null, 0), summary("a", "BA-01", 1)]);
    expect([...m.keys()]).toEqual(["BA-01"]);
    expect(m.get("BA-01")!.map((f) => f.finding.id)).toEqual(["a", "b"]);
  });

  it("says 已记录问题 1, opens it, and records a second only when asked twice", async () => {
    const backend = mockBackend();
    const s = inspectionScreen();
    s.results = [{ inspection_id: "insp-1", item_code: "BA-01", value: { kind: "non_compliant" }, note: "", hlc: "x" }];
    s.findings = [summary("finding-1", "BA-01", 1)];
    backend.loadInspection.mockResolvedValue(s);
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    const badge = await screen.findByTestId("recorded-BA-01");
    expect(badge.textContent).toContain("已记录问题 1");
    expect(screen.queryByTestId("add-finding-BA-01")).toBeNull();
    await fireEvent.click(screen.getByTestId("add-another-BA-01"));
    expect(screen.getByRole("alert").textContent).toContain("这一项已记录 1 个问题");
    await fireEvent.click(screen.getByTestId("add-finding-BA-01"));
    expect(await screen.findByTestId("finding-form")).toBeTruthy();

    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("recorded-BA-01"));
    await waitFor(() => expect(backend.findingDetail).toHaveBeenCalledWith("finding-1"));
  });

  it("shows the English standard in English, the Chinese one where the pack has none", async () => {
    expect(standardText(BA03, "en")).toBe("Manhole covers all in place, not broken or shifted.");
    expect(standardText({ ...BA03, standard_en: undefined }, "en")).toBe(BA03.standard_zh);
    expect(standardText(BA03, "zh-CN")).toBe(BA03.standard_zh);
    setLocale("en");
    const backend = mockBackend();
    backend.loadInspection.mockResolvedValue(ba03Screen());
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    expect((await screen.findByTestId("item-BA-03")).textContent).toContain("Manhole covers all in place");
  });
});

describe("回头看 lists what the inspector re-checks (#17 item 1)", () => {
  it("shows each finding's unit and deadline, and marks the overdue", async () => {
    const entry = (id: string, extra: Partial<RecheckEntry>): RecheckEntry => ({
      ...summary(id, "BA-01", 1),
      status: "dispatched",
      site_name: "文庙后巷",
      unit: "urban_mgmt",
      deadline: "2026-11-20",
      overdue: false,
      site_today: false,
      ...extra,
    });
    const backend = mockBackend();
    backend.rechecks.mockResolvedValue([
      entry("late", { overdue: true }),
      entry("reported", { status: "rectified", unit: null, deadline: null, site_today: true }),
    ]);
    render(App, { props: { backend } });
    go({ name: "rechecks" });
    const late = await screen.findByTestId("recheck-entry-late");
    expect(late.dataset.overdue).toBe("yes");
    expect(late.textContent).toContain("已超期");
    expect(late.textContent).toContain("责任单位：城管局");
    expect(late.textContent).toContain("整改期限 2026-11-20");
    const reported = screen.getByTestId("recheck-entry-reported");
    expect(reported.dataset.overdue).toBe("no");
    expect(reported.textContent).toContain("未指定责任单位");
    expect(reported.textContent).toContain("今日点位");
    expect(late.compareDocumentPosition(reported) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });
});

describe("the site list (#17, also)", () => {
  it("says no site matches the search when sites exist, and the first-sync sentence only with none", async () => {
    expect(emptyListMessage("  文庙 ", "")).toEqual({ key: "home.no_match", text: "文庙" });
    expect(emptyListMessage("", "shop")).toEqual({ key: "home.no_match_type" });
    expect(emptyListMessage("", "")).toEqual({ key: "home.no_sites" });
    const backend = mockBackend();
    render(App, { props: { backend } });
    await waitFor(() => expect(screen.getByTestId("site-list").dataset.ready).toBe("yes"));
    backend.listSites.mockResolvedValue([]);
    await fireEvent.input(screen.getByTestId("site-search"), { target: { value: "火星" } });
    expect((await screen.findByTestId("sites-empty")).textContent).toBe("没有找到符合“火星”的站点");
  });

  it("asks for typed coordinates only once the device said it has no position", async () => {
    const backend = mockBackend();
    let answer: (p: null) => void = () => {};
    backend.currentPosition.mockImplementation(() => new Promise((resolve) => (answer = resolve)));
    render(App, { props: { backend } });
    await fireEvent.click(await screen.findByTestId("nearest"));
    expect(screen.getByTestId("locating")).toBeTruthy();
    expect(screen.queryByTestId("here-lat")).toBeNull();
    answer(null);
    expect(await screen.findByTestId("here-lat")).toBeTruthy();
  });
});
