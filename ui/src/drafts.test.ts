// Issue #17: findings' short numbers (问题编号) wherever the tablet shows a finding, calm
// before the first sync; and photos taken in the finding form before 保存 kept as a draft of
// the finding (found again after the app closed, saved with it, deleted on 取消).

import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { setLocale } from "./i18n";
import { closePhotos, current, go, reset } from "./nav";
import { alley, findingDetail, inspectionScreen, mockBackend, photoRecord, sitePage } from "./test/mockBackend";
import type { FindingSummary, RecheckEntry } from "./types";
import { get } from "svelte/store";

beforeEach(() => {
  setLocale("zh-CN");
  reset({ name: "home" });
  closePhotos();
  document.body.replaceChildren();
});

function summary(id: string, number: string | null): FindingSummary {
  return { finding: { ...findingDetail().finding, id }, status: "open", photos: [], number };
}

/** The number shown in the finding row `id`. */
async function rowNumber(id: string): Promise<string> {
  const row = await screen.findByTestId(`finding-${id}`);
  return row.querySelector('[data-testid="finding-number"]')!.textContent!.trim();
}

describe("a finding's short number (问题编号)", () => {
  it("shows on the site page's open findings, and before sync says it comes with the sync", async () => {
    const backend = mockBackend();
    backend.sitePage.mockResolvedValue({ ...sitePage(), open_findings: [summary("a", "20261201-003"), summary("b", null)] });
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    expect(await rowNumber("a")).toBe("编号 20261201-003");
    expect(await rowNumber("b")).toBe("待编号（同步后生成）");
  });

  it("shows in English too", async () => {
    setLocale("en");
    const backend = mockBackend();
    backend.sitePage.mockResolvedValue({ ...sitePage(), open_findings: [summary("a", "20261201-003"), summary("b", null)] });
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    expect(await rowNumber("a")).toBe("No. 20261201-003");
    expect(await rowNumber("b")).toBe("numbered at sync");
  });

  it("shows in the 回头看 list and on the inspection's findings", async () => {
    const backend = mockBackend();
    const entry: RecheckEntry = {
      ...summary("late", "20261128-012"),
      status: "dispatched",
      site_name: "文庙后巷",
      unit: "urban_mgmt",
      deadline: "2026-11-20",
      overdue: true,
      site_today: false,
    };
    backend.rechecks.mockResolvedValue([entry]);
    const s = inspectionScreen();
    s.findings = [summary("mine", null)];
    backend.loadInspection.mockResolvedValue(s);
    render(App, { props: { backend } });
    go({ name: "rechecks" });
    expect(await rowNumber("late")).toBe("编号 20261128-012");
    go({ name: "inspection", inspectionId: "insp-1" });
    expect(await rowNumber("mine")).toBe("待编号（同步后生成）");
  });

  it("shows on the re-check screen", async () => {
    const backend = mockBackend();
    backend.findingDetail.mockResolvedValue(findingDetail());
    backend.findingDetail.mockResolvedValueOnce({ ...findingDetail(), number: "20261201-003" });
    render(App, { props: { backend } });
    go({ name: "recheck", findingId: "finding-1" });
    expect((await screen.findByTestId("recheck-number")).textContent).toBe("编号 20261201-003");
    reset({ name: "home" });
    go({ name: "recheck", findingId: "finding-1" });
    await waitFor(() => expect(screen.getByTestId("recheck-number").textContent).toBe("待编号（同步后生成）"));
  });
});

describe("people's names on the re-check screen", () => {
  it("names the person who recorded the finding and each step, not their logins", async () => {
    const backend = mockBackend();
    const step = { id: "e1", finding_id: "finding-1", action: "dispatched" as const, actor: "office", note: "", unit: "urban_mgmt", deadline: "2026-12-08", photo_sha256: null, hlc: "x" };
    backend.findingDetail.mockResolvedValue({
      ...findingDetail(),
      log: [step],
      names: { inspector1: "张伟", office: "周敏" },
    });
    render(App, { props: { backend } });
    go({ name: "recheck", findingId: "finding-1" });
    await screen.findByTestId("recheck-number");
    await waitFor(() => expect(document.body.textContent).toContain("张伟"));
    expect(document.body.textContent).toContain("周敏");
    expect(document.body.textContent).not.toContain("inspector1");
  });
});

describe("photos taken before 保存 are kept as the finding's draft", () => {
  const form = { site_id: alley.id, inspection_id: "insp-1", item_code: "BA-01" };
  const jpeg = () => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "a.jpg", { type: "image/jpeg" });

  it("stores a photo at once as a draft of the id the form picked, and saves the finding under that id", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "finding", siteId: alley.id, inspectionId: "insp-1", itemCode: "BA-01" });
    await fireEvent.change(await screen.findByTestId("photo-input-before"), { target: { files: [jpeg()] } });
    await waitFor(() => expect(backend.addPhoto).toHaveBeenCalledTimes(1));
    expect(backend.findingDraft).toHaveBeenCalledWith(form);
    const [, meta] = backend.addPhoto.mock.calls[0];
    expect(meta).toEqual({ kind: "before", finding_id: "draft-1", inspection_id: "insp-1", position: null, draft: form });
    expect((await screen.findByTestId("photo-pending")).textContent).toBe("1 · 保存后上传");
    expect(backend.addFinding).not.toHaveBeenCalled();

    await fireEvent.change(screen.getByTestId("finding-subcategory"), { target: { value: "manhole_cover" } });
    await fireEvent.input(screen.getByTestId("finding-description"), { target: { value: "井盖破损" } });
    await fireEvent.click(screen.getByTestId("finding-save"));
    await screen.findByTestId("finding-saved");
    expect(backend.addFinding).toHaveBeenCalledWith(expect.objectContaining({ item_code: "BA-01" }), "draft-1");
    expect(backend.addPhoto).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("photo-pending")).toBeNull();
    // After 保存 a photo is the saved finding's, no draft.
    backend.addPhoto.mockResolvedValueOnce(photoRecord("d".repeat(64), "before"));
    await fireEvent.change(screen.getByTestId("photo-input-before"), { target: { files: [jpeg()] } });
    await waitFor(() => expect(backend.addPhoto).toHaveBeenCalledTimes(2));
    expect(backend.addPhoto.mock.calls[1][1]).toEqual({ kind: "before", finding_id: "draft-1", inspection_id: "insp-1", position: null });
  });

  it("shows the photos taken before the app closed when the form opens again", async () => {
    const backend = mockBackend();
    backend.findingDraft.mockResolvedValue({ finding_id: "draft-9", photos: [photoRecord("c".repeat(64), "before")] });
    render(App, { props: { backend } });
    go({ name: "finding", siteId: alley.id, inspectionId: "insp-1", itemCode: "BA-01" });
    expect((await screen.findByTestId("finding-draft-restored")).textContent).toContain("已找回上次未保存的 1 张照片");
    expect((await screen.findByTestId("photo-thumb")).getAttribute("src")).toBe(`photo://localhost/t-${"c".repeat(64)}`);
    expect(screen.getByTestId("photo-pending").textContent).toBe("1 · 保存后上传");
    await fireEvent.change(screen.getByTestId("finding-subcategory"), { target: { value: "manhole_cover" } });
    await fireEvent.input(screen.getByTestId("finding-description"), { target: { value: "井盖破损" } });
    await fireEvent.click(screen.getByTestId("finding-save"));
    await screen.findByTestId("finding-saved");
    expect(backend.addFinding).toHaveBeenCalledWith(expect.anything(), "draft-9");
  });

  it("取消 asks before deleting the photos taken, then deletes them and goes back", async () => {
    const backend = mockBackend();
    backend.findingDraft.mockResolvedValue({ finding_id: "draft-9", photos: [photoRecord("c".repeat(64), "before")] });
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    go({ name: "finding", siteId: alley.id, inspectionId: "insp-1", itemCode: "BA-01" });
    await screen.findByTestId("finding-draft-restored");
    await fireEvent.click(screen.getByTestId("finding-discard"));
    expect(screen.getByTestId("finding-discard-confirm").textContent).toBe("确定取消？已拍的 1 张照片将被删除");
    await fireEvent.click(screen.getByTestId("finding-discard-no"));
    expect(backend.discardFindingDraft).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId("finding-discard"));
    await fireEvent.click(screen.getByTestId("finding-discard-yes"));
    await waitFor(() => expect(backend.discardFindingDraft).toHaveBeenCalledWith("draft-9"));
    await waitFor(() => expect(get(current).name).toBe("inspection"));
    expect(backend.addFinding).not.toHaveBeenCalled();
  });

  it("取消 with no photo taken just goes back", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    go({ name: "finding", siteId: alley.id, inspectionId: "insp-1", itemCode: "BA-01" });
    await fireEvent.click(await screen.findByTestId("finding-discard"));
    await waitFor(() => expect(get(current).name).toBe("inspection"));
    expect(backend.discardFindingDraft).not.toHaveBeenCalled();
  });
});
