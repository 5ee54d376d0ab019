// Issue #17 items 5, 7 and 9: plain error messages behind one component, the end of an
// inspection (what is still open, a summary), today's progress per site, and discarding an
// accidental start.

import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { setLocale } from "./i18n";
import { explainError } from "./lib/errors";
import { allSent, finishCheck, finishSummary } from "./lib/finish";
import { closePhotos, go, reset } from "./nav";
import { alley, idleSync, inspectionScreen, mockBackend } from "./test/mockBackend";
import type { InspectionScreen } from "./types";

beforeEach(() => {
  setLocale("zh-CN");
  reset({ name: "home" });
  closePhotos();
  document.body.replaceChildren();
});

/** What core says when the server cannot be reached at sign-in (SyncError::Unreachable). */
const UNREACHABLE = {
  message:
    "无法连接服务器 http://10.0.0.9:8080，请检查网络和服务器地址 / cannot reach the server http://10.0.0.9:8080: check the network and the server address\nerror sending request for url (http://10.0.0.9:8080/api/v1/login)",
  field: null,
};

describe("errors say one sentence in the current language (#17 item 5)", () => {
  it("splits a message into the sentence and its details", () => {
    expect(explainError(UNREACHABLE, "zh-CN")).toEqual({
      sentence: "无法连接服务器 http://10.0.0.9:8080，请检查网络和服务器地址",
      details: [
        "cannot reach the server http://10.0.0.9:8080: check the network and the server address",
        "error sending request for url (http://10.0.0.9:8080/api/v1/login)",
      ],
    });
    expect(explainError(UNREACHABLE, "en").sentence).toBe(
      "cannot reach the server http://10.0.0.9:8080: check the network and the server address",
    );
    expect(explainError("账号：必填，请填写", "zh-CN")).toEqual({ sentence: "账号：必填，请填写", details: [] });
    expect(explainError(new Error("boom"), "zh-CN").sentence).toBe("boom");
  });

  it("at sign-in names the unreachable server and hides the technical words behind 详情", async () => {
    const backend = mockBackend({ signed_in: false, username: null, server_url: null });
    backend.login.mockRejectedValueOnce(UNREACHABLE);
    render(App, { props: { backend } });
    await fireEvent.input(await screen.findByTestId("login-server"), { target: { value: "http://10.0.0.9:8080" } });
    await fireEvent.input(screen.getByTestId("login-username"), { target: { value: "x" } });
    await fireEvent.input(screen.getByTestId("login-password"), { target: { value: "y" } });
    await fireEvent.click(screen.getByTestId("login-submit"));
    const text = await screen.findByTestId("login-error-text");
    expect(text.textContent).toBe("无法连接服务器 http://10.0.0.9:8080，请检查网络和服务器地址");
    expect(screen.getByTestId("login-error").textContent).not.toContain("已安全保存");
    expect(screen.getByTestId("login-error").textContent).not.toContain("api/v1");
    await fireEvent.click(screen.getByTestId("login-error-details-toggle"));
    expect(screen.getByTestId("login-error-details").textContent).toContain("api/v1/login");
    expect(screen.getByTestId("login-error").className).toBe("notice");
  });
});

/** The mock inspection with BA-01 failed (photo required, none yet) and BA-03 unanswered. */
function halfDone(): InspectionScreen {
  const s = inspectionScreen();
  s.results = [
    { inspection_id: "insp-1", item_code: "BA-01", value: { kind: "non_compliant" }, note: "", hlc: "1" },
    { inspection_id: "insp-1", item_code: "BA-02", value: { kind: "compliant" }, note: "", hlc: "2" },
  ];
  return s;
}

describe("the end of an inspection (#17 item 7)", () => {
  it("reckons unanswered items, missing photos and the summary", () => {
    const s = halfDone();
    const check = finishCheck(s);
    expect(check.unanswered.map((i) => i.code)).toEqual(["BA-03"]);
    expect(check.missingPhotos.map((i) => i.code)).toEqual(["BA-01"]);
    s.findings = [
      {
        finding: { item_code: "BA-01" } as InspectionScreen["findings"][number]["finding"],
        status: "open",
        photos: ["a".repeat(64), "b".repeat(64)],
      } as InspectionScreen["findings"][number],
    ];
    expect(finishCheck(s).missingPhotos).toEqual([]);
    expect(finishSummary(s)).toEqual({ answered: 2, total: 3, findings: 1, photos: 2 });
    expect(allSent(idleSync)).toBe(true);
    expect(allSent({ ...idleSync, records_pending: 1 })).toBe(false);
    expect(allSent(null)).toBe(false);
  });

  it("lists what is open before finishing, jumps to an item, then shows a summary before returning", async () => {
    const backend = mockBackend();
    backend.loadInspection.mockResolvedValue(halfDone());
    backend.syncStatus.mockResolvedValue({ ...idleSync, records_pending: 5 });
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("finish-inspection"));
    expect(backend.finishInspection).not.toHaveBeenCalled();
    expect(screen.getByTestId("unanswered-BA-03").textContent).toBe("BA-03 井盖 BA-03");
    expect(screen.getByTestId("missing-photo-BA-01").textContent).toContain("BA-01");
    const row = screen.getByTestId("item-BA-03");
    let scrolled = false;
    row.scrollIntoView = () => void (scrolled = true);
    await fireEvent.click(screen.getByTestId("unanswered-BA-03"));
    expect(scrolled).toBe(true);

    await fireEvent.click(screen.getByTestId("finish-inspection"));
    await waitFor(() => expect(backend.finishInspection).toHaveBeenCalledWith("insp-1"));
    expect((await screen.findByTestId("summary-answered")).textContent).toBe("已检查 2 / 3 项");
    expect(screen.getByTestId("summary-findings").textContent).toBe("记录问题 0 个");
    expect(screen.getByTestId("summary-upload").textContent).toBe("将在下次同步时上传到创城办");
    // Still on the inspection until the inspector has read it.
    expect(screen.getByTestId("inspection-header")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("summary-done"));
    expect(await screen.findByTestId("site-page")).toBeTruthy();
  });

  it("marks today's sites 未开始 / 进行中 / 已完成", async () => {
    const backend = mockBackend();
    const [one] = await backend.todaySites();
    const other = { ...alley, id: "site-other", name: "和平巷" };
    const third = { ...alley, id: "site-third", name: "光明巷" };
    backend.todaySites.mockResolvedValue([
      { ...one, progress: "done" },
      { ...one, site: other, progress: "in_progress" },
      { ...one, site: third, progress: "not_started" },
    ]);
    render(App, { props: { backend } });
    expect((await screen.findByTestId(`today-progress-${alley.id}`)).textContent).toBe("已完成");
    expect(screen.getByTestId("today-progress-site-other").textContent).toBe("进行中");
    expect(screen.getByTestId("today-progress-site-third").textContent).toBe("未开始");
    expect(backend.todaySites).toHaveBeenCalledWith("2026-11-28");
  });
});

describe("discarding an accidental start (#17 item 9)", () => {
  it("asks first, saying what is lost, then discards and goes back", async () => {
    const backend = mockBackend();
    backend.loadInspection.mockResolvedValue(halfDone());
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("discard-inspection"));
    expect(screen.getByTestId("discard-dialog").textContent).toContain("已检查的 2 项结果将作废，不计入成绩");
    await fireEvent.click(screen.getByTestId("discard-keep"));
    expect(screen.queryByTestId("discard-dialog")).toBeNull();
    expect(backend.discardInspection).not.toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId("discard-inspection"));
    await fireEvent.click(screen.getByTestId("discard-confirm"));
    await waitFor(() => expect(backend.discardInspection).toHaveBeenCalledWith("insp-1"));
    expect(await screen.findByTestId("site-page")).toBeTruthy();
  });

  it("does not offer to discard an inspection that recorded a problem", async () => {
    const backend = mockBackend();
    const s = halfDone();
    s.findings = [{ finding: { id: "f1", item_code: "BA-01" }, status: "open", photos: [] } as unknown as InspectionScreen["findings"][number]];
    backend.loadInspection.mockResolvedValue(s);
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("discard-inspection"));
    expect(screen.getByTestId("discard-blocked").textContent).toContain("已记录 1 个问题，不能放弃");
    expect(screen.queryByTestId("discard-confirm")).toBeNull();
  });

  it("shows a refused discard as one plain sentence", async () => {
    const backend = mockBackend();
    backend.discardInspection.mockRejectedValueOnce({
      message: "这次检查已放弃，不能再修改 / this inspection was discarded and can no longer change",
      field: null,
    });
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("discard-inspection"));
    await fireEvent.click(screen.getByTestId("discard-confirm"));
    expect((await screen.findByTestId("finish-error-text")).textContent).toBe("这次检查已放弃，不能再修改");
  });
});
