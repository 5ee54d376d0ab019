import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { tick } from "svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "./App.svelte";
import { setLocale } from "./i18n";
import { COLOURS, OUTLINE } from "./lib/marking";
import { closePhotos, go, reset } from "./nav";
import PhotoMarker from "./screens/PhotoMarker.svelte";
import { paints, recordingContext } from "./test/fakeCanvas";
import { alley, findingDetail, idleSync, inspectionScreen, market, mockBackend, photoRecord, sitePage } from "./test/mockBackend";
import type { Position, SyncProgress } from "./types";

beforeEach(() => {
  setLocale("zh-CN");
  reset({ name: "home" });
  closePhotos();
});
afterEach(() => document.body.replaceChildren());

const HERE: Position = { lat: 30.2732, lon: 120.1621, accuracy_m: 8, source: "gps" };
const LABEL = () => new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "label.jpg", { type: "image/jpeg" });
/** 09:05 in China (UTC+8) on the app's day, whatever the time zone the tests run in. */
const NINE_OH_FIVE = Date.UTC(2026, 10, 28, 1, 5);

describe("first start", () => {
  it("asks for the server in Chinese, names the missing field, then signs in", async () => {
    const backend = mockBackend({ signed_in: false, username: null, server_url: null, default_server_url: "http://10.0.0.5:8080" });
    render(App, { props: { backend } });
    const server = (await screen.findByTestId("login-server")) as HTMLInputElement;
    expect(screen.getByText("首次使用：连接县创城办服务器")).toBeTruthy();
    expect(server.value).toBe("http://10.0.0.5:8080");
    await fireEvent.click(screen.getByTestId("login-submit"));
    expect(screen.getByTestId("login-error").textContent).toBe("账号：必填，请填写");
    expect(backend.login).not.toHaveBeenCalled();

    await fireEvent.input(screen.getByTestId("login-username"), { target: { value: "inspector1" } });
    await fireEvent.input(screen.getByTestId("login-password"), { target: { value: "pw" } });
    await fireEvent.click(screen.getByTestId("login-submit"));
    await waitFor(() => expect(backend.login).toHaveBeenCalledWith("http://10.0.0.5:8080", "inspector1", "pw"));
    expect(await screen.findByText("文庙后巷", { selector: "strong" })).toBeTruthy();
  });

  it("shows the server's refusal in plain words", async () => {
    const backend = mockBackend({ signed_in: false, username: null, server_url: null });
    backend.login.mockRejectedValueOnce({ message: "用户名或密码错误 / wrong username or password", field: null });
    render(App, { props: { backend } });
    await fireEvent.input(await screen.findByTestId("login-server"), { target: { value: "http://127.0.0.1:1" } });
    await fireEvent.input(screen.getByTestId("login-username"), { target: { value: "x" } });
    await fireEvent.input(screen.getByTestId("login-password"), { target: { value: "y" } });
    await fireEvent.click(screen.getByTestId("login-submit"));
    expect((await screen.findByTestId("login-error")).textContent).toContain("用户名或密码错误");
  });
});

describe("home", () => {
  it("lists today's sites and filters the site list by type", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    expect(await screen.findByText("重点看井盖")).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId("site-list").dataset.ready).toBe("yes"));
    await waitFor(() => expect(screen.getByTestId("site-type").querySelectorAll("option").length).toBe(3));
    await fireEvent.change(screen.getByTestId("site-type"), { target: { value: "farmers_market" } });
    await waitFor(() => expect(backend.listSites).toHaveBeenLastCalledWith("", "farmers_market"));
    await waitFor(() => expect(screen.getByTestId("site-list").querySelectorAll("li").length).toBe(1));
  });

  it("opens the site whose label the camera read, and says plainly when none was read", async () => {
    const backend = mockBackend();
    backend.currentPosition.mockResolvedValue(HERE);
    render(App, { props: { backend } });
    const photo = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "label.jpg", { type: "image/jpeg" });
    await fireEvent.change(await screen.findByTestId("scan-label"), { target: { files: [photo] } });
    await waitFor(() => expect(backend.scanLabel).toHaveBeenCalledTimes(1));
    expect(backend.scanLabel.mock.calls[0][0].byteLength).toBe(4);
    // The check-in the scan records carries where the tablet is.
    expect(backend.scanLabel.mock.calls[0][1]).toEqual(HERE);
    await waitFor(() => expect(backend.sitePage).toHaveBeenCalledWith(alley.id));

    backend.scanLabel.mockRejectedValueOnce({ message: "画面中没有找到二维码，请对准点位标签 / No QR code found", field: null });
    go({ name: "home" });
    await fireEvent.change(await screen.findByTestId("scan-label"), { target: { files: [photo] } });
    expect((await screen.findByRole("alert")).textContent).toContain("画面中没有找到二维码");
  });

  it("on a tablet scans the label live with the camera, and a closed scanner changes nothing", async () => {
    const backend = mockBackend();
    const info = await backend.appInfo();
    backend.appInfo.mockResolvedValue({ ...info, mobile: true });
    backend.currentPosition.mockResolvedValue(HERE);
    render(App, { props: { backend } });
    expect(screen.queryByTestId("scan-label")).toBeNull();
    backend.scanLabelLive.mockResolvedValueOnce(null);
    await fireEvent.click(await screen.findByTestId("scan-label-live"));
    await waitFor(() => expect(backend.scanLabelLive).toHaveBeenCalledWith(HERE));
    expect(backend.sitePage).not.toHaveBeenCalled();
    expect(screen.queryByRole("alert")).toBeNull();
    await fireEvent.click(await screen.findByTestId("scan-label-live"));
    await waitFor(() => expect(backend.sitePage).toHaveBeenCalledWith(alley.id));
    expect(backend.scanLabel).not.toHaveBeenCalled();
  });

  it("reads the lists again when a sync has ended well", async () => {
    const backend = mockBackend();
    let progress: (p: SyncProgress) => void = () => {};
    backend.onSyncProgress.mockImplementation(async (h) => {
      progress = h;
      return () => {};
    });
    render(App, { props: { backend } });
    await waitFor(() => expect(screen.getByTestId("site-list").dataset.ready).toBe("yes"));
    const before = backend.listSites.mock.calls.length;
    backend.syncStatus.mockResolvedValue({ ...idleSync, last_success_ms: 1_700_000_000_000 });
    progress(idleSync);
    await waitFor(() => expect(backend.listSites.mock.calls.length).toBeGreaterThan(before));
  });

  it("shows offline and unsynced badges", async () => {
    const backend = mockBackend();
    backend.syncStatus.mockResolvedValue({ ...idleSync, offline: true, records_pending: 4, photos_pending: 2 });
    render(App, { props: { backend } });
    expect((await screen.findByTestId("badge-offline")).textContent).toBe("离线");
    expect(screen.getByTestId("badge-unsynced").textContent).toBe("4 条记录、2 张照片未同步");
  });
});

describe("sync status an inspector can trust (#17 item 6)", () => {
  /** 09:05 today in China (UTC+8). */
  const todayAtNineOhFive = () => {
    const china = new Date(Date.now() + 8 * 3600 * 1000);
    return Date.UTC(china.getUTCFullYear(), china.getUTCMonth(), china.getUTCDate(), 1, 5);
  };

  it("says 未登录 before sign-in, never 已同步", async () => {
    const backend = mockBackend({ signed_in: false, username: null, server_url: null });
    backend.syncStatus.mockResolvedValue({ ...idleSync, signed_in: false });
    render(App, { props: { backend } });
    expect((await screen.findByTestId("badge-signed-out")).textContent).toBe("未登录");
    expect(screen.queryByTestId("badge-synced")).toBeNull();
    expect(screen.queryByText("已同步")).toBeNull();
  });

  it("says 尚未同步 until a sync succeeds, then 已同步 and the time of the last sync", async () => {
    const backend = mockBackend();
    let progress: (p: SyncProgress) => void = () => {};
    backend.onSyncProgress.mockImplementation(async (h) => {
      progress = h;
      return () => {};
    });
    render(App, { props: { backend } });
    reset({ name: "sync" });
    expect((await screen.findByTestId("badge-never-synced")).textContent).toBe("尚未同步");
    expect(screen.queryByTestId("badge-synced")).toBeNull();
    expect((await screen.findByTestId("sync-last-success")).textContent?.trim()).toBe("尚未同步");
    expect(screen.queryByTestId("sync-all-done")).toBeNull();
    const text = screen.getByTestId("sync-screen").textContent ?? "";
    expect(text).not.toContain("空闲");
    expect(text).not.toContain("已发送");

    // A sync runs: the step and the bytes sent show, nothing says done.
    backend.syncStatus.mockResolvedValue({ ...idleSync, step: "photos", photos_pending: 1, bytes_sent: 1024, bytes_total: 2048 });
    progress(idleSync);
    expect((await screen.findByTestId("sync-step")).textContent).toBe("正在上传照片");
    expect(screen.getByTestId("sync-bytes").textContent?.trim()).toBe("已发送 1.0 KB / 2.0 KB");
    expect(screen.getByTestId("badge-unsynced").textContent).toBe("1 张照片未同步");
    expect(screen.queryByTestId("sync-all-done")).toBeNull();

    // It ends well.
    backend.syncStatus.mockResolvedValue({ ...idleSync, last_success_ms: todayAtNineOhFive() });
    progress(idleSync);
    expect(await screen.findByTestId("badge-synced")).toBeTruthy();
    expect(screen.getByTestId("sync-last-success").textContent?.trim()).toBe("上次同步 09:05");
    expect(screen.getByTestId("sync-all-done").textContent).toBe("全部已同步");
    expect(screen.queryByTestId("sync-step")).toBeNull();
    expect(screen.queryByTestId("sync-bytes")).toBeNull();
  });
});

describe("inspection", () => {
  it("records 不符合, shows it on the row with the live score and a photo prompt", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("answer-BA-01-non_compliant"));
    await waitFor(() => expect(screen.getByTestId("item-BA-01").dataset.answer).toBe("non_compliant"));
    expect(backend.recordResult).toHaveBeenCalledWith("insp-1", "BA-01", { kind: "non_compliant" }, "");
    expect(screen.getByTestId("answer-BA-01-non_compliant").getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByTestId("photo-prompt-BA-01").textContent).toContain("须拍照取证");
    expect(screen.getAllByTestId("score-value")[0].textContent).toBe("0.0 分");
    expect(screen.getByTestId("inspection-progress").textContent).toBe("已检查 1 / 3 项");
  });

  it("refuses a percentage over 100 with the field named, sending nothing", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    const input = await screen.findByTestId("value-BA-03");
    await fireEvent.input(input, { target: { value: "120" } });
    await fireEvent.change(input);
    expect(await screen.findByText("百分比：须在 0 到 100 之间")).toBeTruthy();
    expect(backend.recordResult).not.toHaveBeenCalled();
  });

  it("saves a note while typing, without leaving the field, and says 已保存 (#17 item 2)", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("answer-BA-02-compliant"));
    await waitFor(() => expect(screen.getByTestId("item-BA-02").dataset.answer).toBe("compliant"));
    backend.recordResult.mockClear();
    vi.useFakeTimers();
    try {
      await fireEvent.input(screen.getByTestId("note-BA-02"), { target: { value: "井盖松动" } });
      await vi.advanceTimersByTimeAsync(300);
      await fireEvent.input(screen.getByTestId("note-BA-02"), { target: { value: "井盖松动，已拍照" } });
      await vi.advanceTimersByTimeAsync(599);
      expect(backend.recordResult).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(backend.recordResult).toHaveBeenCalledTimes(1);
      expect(backend.recordResult).toHaveBeenCalledWith("insp-1", "BA-02", { kind: "compliant" }, "井盖松动，已拍照");
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => expect(screen.getByTestId("note-status-BA-02").textContent).toBe("已保存"));
    // Leaving the field after the save sends nothing again.
    await fireEvent.blur(screen.getByTestId("note-BA-02"));
    expect(backend.recordResult).toHaveBeenCalledTimes(1);
  });

  it("saves a note at once on leaving the field, and says plainly when saving failed", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    await fireEvent.click(await screen.findByTestId("answer-BA-01-non_compliant"));
    await waitFor(() => expect(screen.getByTestId("item-BA-01").dataset.answer).toBe("non_compliant"));
    let fail: (e: unknown) => void = () => {};
    backend.recordResult.mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
    await fireEvent.input(screen.getByTestId("note-BA-01"), { target: { value: "破损" } });
    await fireEvent.blur(screen.getByTestId("note-BA-01"));
    expect(backend.recordResult).toHaveBeenLastCalledWith("insp-1", "BA-01", { kind: "non_compliant" }, "破损");
    expect((await screen.findByTestId("note-status-BA-01")).textContent).toBe("保存中…");
    fail({ message: "存储已满 / storage full", field: null });
    await waitFor(() => expect(screen.getByTestId("note-status-BA-01").textContent).toBe("保存失败：存储已满 / storage full"));
    // The timer set by typing does not send it a second time.
    await new Promise((r) => setTimeout(r, 700));
    expect(backend.recordResult).toHaveBeenCalledTimes(2);
  });

  it("opens the finding form at its top and returns to the item it came from (#17 item 3)", async () => {
    const scrollTo = vi.fn();
    const scrolledIntoView = vi.fn(function (this: Element) {});
    const savedScrollTo = window.scrollTo;
    const savedIntoView = Element.prototype.scrollIntoView;
    window.scrollTo = scrollTo as typeof window.scrollTo;
    Element.prototype.scrollIntoView = scrolledIntoView;
    try {
      const backend = mockBackend();
      render(App, { props: { backend } });
      go({ name: "inspection", inspectionId: "insp-1" });
      await fireEvent.click(await screen.findByTestId("answer-BA-01-non_compliant"));
      const add = await screen.findByTestId("add-finding-BA-01");
      scrollTo.mockClear();
      await fireEvent.click(add);
      expect(await screen.findByTestId("finding-form")).toBeTruthy();
      expect(scrollTo).toHaveBeenCalledWith({ top: 0, left: 0 });

      await waitFor(() => expect(screen.getByTestId("finding-subcategory").querySelectorAll("option").length).toBe(2));
      await fireEvent.change(screen.getByTestId("finding-subcategory"), { target: { value: "manhole_cover" } });
      await fireEvent.input(screen.getByTestId("finding-description"), { target: { value: "井盖破损" } });
      await fireEvent.click(screen.getByTestId("finding-save"));
      await fireEvent.click(await screen.findByTestId("finding-done"));
      expect(await screen.findByTestId("inspection-header")).toBeTruthy();
      // (Apps of earlier tests are still mounted off the page: only this page's rows count.)
      const shown = () => scrolledIntoView.mock.contexts.filter((el) => document.body.contains(el as Node)) as HTMLElement[];
      await waitFor(() => expect(shown().length).toBe(1));
      expect(shown()[0].dataset.testid).toBe("item-BA-01");
    } finally {
      window.scrollTo = savedScrollTo;
      Element.prototype.scrollIntoView = savedIntoView;
    }
  });

  it("resumes an unfinished inspection from the home screen", async () => {
    const backend = mockBackend();
    backend.unfinishedInspections.mockResolvedValue([{ inspection: inspectionScreen().inspection, site_name: "文庙后巷" }]);
    render(App, { props: { backend } });
    await fireEvent.click(await screen.findByTestId("resume-insp-1"));
    expect(await screen.findByTestId("inspection-header")).toBeTruthy();
    expect(backend.loadInspection).toHaveBeenCalledWith("insp-1");
  });
});

describe("finding", () => {
  it("names the missing field, then saves; a photo before 保存 is sent at once as raw bytes, as a draft", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "finding", siteId: "site-alley", inspectionId: "insp-1", itemCode: "BA-01" });
    await fireEvent.click(await screen.findByTestId("finding-save"));
    expect(screen.getByTestId("finding-error-subcategory").textContent).toBe("问题小类：必填，请填写");

    const file = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "a.jpg", { type: "image/jpeg" });
    await fireEvent.change(screen.getByTestId("photo-input-before"), { target: { files: [file] } });
    expect((await screen.findByText(/保存后上传/)).textContent).toContain("1");
    expect(backend.addFinding).not.toHaveBeenCalled();
    await waitFor(() => expect(screen.getByTestId("finding-subcategory").querySelectorAll("option").length).toBe(2));
    await fireEvent.change(screen.getByTestId("finding-subcategory"), { target: { value: "manhole_cover" } });
    await fireEvent.input(screen.getByTestId("finding-description"), { target: { value: "井盖破损" } });
    await fireEvent.input(screen.getByTestId("finding-lat"), { target: { value: "30.27" } });
    await fireEvent.input(screen.getByTestId("finding-lon"), { target: { value: "120.16" } });
    await fireEvent.click(screen.getByTestId("finding-same-day"));
    await fireEvent.click(screen.getByTestId("finding-save"));
    await screen.findByTestId("finding-saved");
    expect(backend.addFinding).toHaveBeenCalledWith(
      expect.objectContaining({
        subcategory: "manhole_cover",
        item_code: "BA-01",
        same_day: true,
        unit: "urban_mgmt",
        position: { lat: 30.27, lon: 120.16, accuracy_m: 50, source: "manual" },
      }),
      "draft-1",
    );
    expect(backend.addPhoto).toHaveBeenCalledTimes(1);
    const [bytes, meta] = backend.addPhoto.mock.calls[0];
    expect(new Uint8Array(bytes)).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    expect(meta).toEqual({
      kind: "before",
      finding_id: "draft-1",
      inspection_id: "insp-1",
      position: null,
      draft: { site_id: "site-alley", inspection_id: "insp-1", item_code: "BA-01" },
    });
    expect((await screen.findByTestId("photo-thumb")).getAttribute("src")).toBe(`photo://localhost/t-${"a".repeat(64)}`);
  });
});

describe("sync and settings", () => {
  it("shows pending work, the error in plain words, and asks for a sync", async () => {
    const backend = mockBackend();
    backend.syncStatus.mockResolvedValue({
      ...idleSync,
      records_pending: 12,
      photos_pending: 2,
      last_error: "没有网络信号或服务器无法连接 / no signal",
      offline: true,
    });
    render(App, { props: { backend } });
    reset({ name: "sync" });
    expect((await screen.findByTestId("sync-records")).textContent).toBe("12");
    expect(screen.getByTestId("sync-photos").textContent).toBe("2");
    expect(screen.getByTestId("sync-error").textContent).toContain("没有网络信号");
    await fireEvent.click(screen.getByTestId("sync-now"));
    expect(backend.syncNow).toHaveBeenCalled();
  });

  it("shows a number in the server's line as waiting, not as a problem", async () => {
    const backend = mockBackend();
    backend.syncStatus.mockResolvedValue({
      ...idleSync,
      records_pending: 1020,
      last_error: "正在排队：前面还有 37 台平板，约 3 秒后自动继续 / in line: 37 tablets ahead, continuing in about 3 s",
      in_line: true,
    });
    render(App, { props: { backend } });
    reset({ name: "sync" });
    expect((await screen.findByTestId("sync-in-line")).textContent).toContain("前面还有 37 台平板");
    expect(screen.getByText("服务器繁忙，已排队，轮到时自动继续")).toBeTruthy();
    expect(screen.queryByTestId("sync-error")).toBeNull();
    expect(screen.queryByText("上次同步问题")).toBeNull();
  });

  it("switches every label to English", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    reset({ name: "settings" });
    await fireEvent.click(await screen.findByTestId("lang-en"));
    expect(screen.getByTestId("tab-sync").textContent).toBe("Sync");
    expect(screen.getByText("Sign out")).toBeTruthy();
    expect((await screen.findByTestId("settings-storage")).textContent).toContain("2 photos in 3.0 MB");
    expect(screen.getByText("App version")).toBeTruthy();
    expect(screen.getByTestId("settings-version").textContent).toBe("0.1.0 (0123456789)");
    await fireEvent.click(screen.getByTestId("lang-zh"));
    expect(screen.getByTestId("tab-sync").textContent).toBe("同步");
  });
});

describe("photo cache setting", () => {
  it("shows the cache's use and cap, refuses a cap under 100 MB and saves a valid one", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    reset({ name: "settings" });
    expect((await screen.findByTestId("settings-cache")).textContent).toContain("5.0 MB");
    expect(screen.getByTestId("settings-cache").textContent).toContain("1.0 GB");
    const input = screen.getByTestId("cache-cap") as HTMLInputElement;
    await fireEvent.input(input, { target: { value: "50" } });
    await fireEvent.click(screen.getByTestId("cache-cap-save"));
    expect(backend.setPhotoCacheCap).not.toHaveBeenCalled();
    expect((await screen.findByRole("alert")).textContent).toContain("不小于 100");
    await fireEvent.input(input, { target: { value: "2000" } });
    await fireEvent.click(screen.getByTestId("cache-cap-save"));
    expect(backend.setPhotoCacheCap).toHaveBeenCalledWith(2000);
    expect((await screen.findByTestId("cache-cap-saved")).textContent).toContain("不会被删除");
  });
});

describe("check-in (到场核验)", () => {
  it("tells on the site page that the tablet has not checked in, and turns ✓ after the label is scanned", async () => {
    const backend = mockBackend();
    backend.currentPosition.mockResolvedValue(HERE);
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    const tag = await screen.findByTestId("checkin");
    expect(tag.textContent).toBe("未扫码核验");
    expect(screen.getByTestId("checkin-hint").textContent).toBe("扫点位二维码完成到场核验");

    backend.sitePage.mockResolvedValue({ ...sitePage(), checked_in_at: NINE_OH_FIVE });
    await fireEvent.change(screen.getByTestId("site-scan-label"), { target: { files: [LABEL()] } });
    await waitFor(() => expect(screen.getByTestId("checkin").textContent).toBe("到场核验 ✓ 09:05"));
    expect(backend.scanLabel).toHaveBeenCalledTimes(1);
    expect(backend.scanLabel.mock.calls[0][0].byteLength).toBe(4);
    expect(backend.scanLabel.mock.calls[0][1]).toEqual(HERE);
    expect(backend.sitePage).toHaveBeenCalledTimes(2);
    expect(screen.queryByTestId("checkin-hint")).toBeNull();
  });

  it("opens the other site when the label scanned on a site page is another site's, and says why a scan failed", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "site", siteId: alley.id });
    await screen.findByTestId("checkin");
    backend.scanLabel.mockRejectedValueOnce({ message: "本平板上还没有这个点位，请先同步后再扫码 / this site is not on the tablet yet", field: null });
    await fireEvent.change(screen.getByTestId("site-scan-label"), { target: { files: [LABEL()] } });
    expect((await screen.findByRole("alert")).textContent).toContain("本平板上还没有这个点位");
    expect(screen.getByTestId("checkin").textContent).toBe("未扫码核验");

    backend.scanLabel.mockResolvedValueOnce(market);
    await fireEvent.change(screen.getByTestId("site-scan-label"), { target: { files: [LABEL()] } });
    await waitFor(() => expect(backend.sitePage).toHaveBeenLastCalledWith(market.id));
  });

  it("shows on the inspection screen whether the tablet checked in, in both languages", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "inspection", inspectionId: "insp-1" });
    expect((await screen.findByTestId("checkin")).textContent).toBe("未扫码核验");
    expect(screen.getByTestId("checkin-hint").textContent).toBe("请在站点页扫点位二维码完成到场核验");
    setLocale("en");
    await tick();
    expect(screen.getByTestId("checkin").textContent).toBe("Not checked in");
    setLocale("zh-CN");

    backend.loadInspection.mockResolvedValue({ ...inspectionScreen(), checked_in_at: NINE_OH_FIVE });
    go({ name: "home" });
    go({ name: "inspection", inspectionId: "insp-2" });
    await waitFor(() => expect(screen.getByTestId("checkin").textContent).toBe("到场核验 ✓ 09:05"));
    expect(screen.getByTestId("checkin").dataset.checkedIn).toBe("yes");
    expect(screen.queryByTestId("checkin-hint")).toBeNull();
  });
});

describe("re-check photos", () => {
  const sha = (c: string) => c.repeat(64);
  const column = (which: "before" | "after") => within(screen.getByTestId(`recheck-${which}`));
  const tiles = (which: "before" | "after") => column(which).queryAllByTestId("recheck-photo");
  const OFFLINE = { message: "没有网络信号或服务器无法连接 / no signal or the server cannot be reached", field: null };

  async function openRecheck(backend: ReturnType<typeof mockBackend>) {
    render(App, { props: { backend } });
    go({ name: "recheck", findingId: "finding-1" });
    await screen.findByTestId("recheck");
  }

  it("will not confirm a fix without the after-photo taken here (#17 item 1)", async () => {
    const backend = mockBackend();
    backend.findingDetail.mockResolvedValue(findingDetail([photoRecord(sha("1"), "before")]));
    await openRecheck(backend);
    await fireEvent.click(screen.getByTestId("recheck-fixed"));
    expect((await screen.findByRole("alert")).textContent).toContain("须先拍整改后照片");
    expect(backend.recheck).not.toHaveBeenCalled();
  });

  it("shows the before and after photos in two columns, a photo not cached as a placeholder, never an image", async () => {
    const backend = mockBackend();
    backend.findingDetail.mockResolvedValue(
      findingDetail(
        [photoRecord(sha("1"), "before"), photoRecord(sha("2"), "before", { device_id: "other" }), photoRecord(sha("3"), "after", { device_id: "other" })],
        { [sha("2")]: "missing", [sha("3")]: "full" },
      ),
    );
    await openRecheck(backend);
    expect(column("before").getByRole("heading").textContent).toBe("整改前");
    expect(column("after").getByRole("heading").textContent).toBe("整改后");
    expect(tiles("before").map((t) => t.dataset.sha)).toEqual([sha("1"), sha("2")]);
    expect(tiles("after").map((t) => t.dataset.sha)).toEqual([sha("3")]);

    const missing = column("before").getByTestId("photo-missing");
    expect(missing.textContent).toContain("照片未缓存（离线）");
    expect(within(missing).getByTestId("photo-download").textContent).toBe("下载");
    expect(tiles("before")[1].querySelector("img")).toBeNull();
    const srcs = Array.from(document.querySelectorAll("img")).map((i) => i.getAttribute("src"));
    expect(srcs.filter((s) => s?.includes(sha("2")))).toEqual([]);
    expect(column("after").getByTestId("recheck-thumb").getAttribute("src")).toBe(`photo://localhost/t-${sha("3")}`);

    // A photo held opens at once; the viewer pages through the photos held, not the placeholder.
    await fireEvent.click(column("before").getByTestId("recheck-thumb").closest("button")!);
    expect(screen.getByTestId("photo-full").getAttribute("src")).toBe(`photo://localhost/p-${sha("1")}`);
    expect(screen.getByText("第 1 / 1 张")).toBeTruthy();
    expect(backend.fetchPhoto).not.toHaveBeenCalled();

    setLocale("en");
    await tick();
    expect(column("before").getByRole("heading").textContent).toBe("Before");
    expect(column("before").getByTestId("photo-missing").textContent).toContain("Photo not cached (offline)");
  });

  it("downloads a photo not cached: says plainly why it failed, then shows it once fetched", async () => {
    const backend = mockBackend();
    const photos = [photoRecord(sha("4"), "before", { device_id: "other" })];
    backend.findingDetail.mockResolvedValue(findingDetail(photos, { [sha("4")]: "missing" }));
    backend.fetchPhoto.mockRejectedValueOnce(OFFLINE);
    await openRecheck(backend);

    await fireEvent.click(screen.getByTestId("photo-download"));
    expect(backend.fetchPhoto).toHaveBeenCalledWith(sha("4"));
    expect((await screen.findByTestId("photo-error")).textContent).toBe(`照片尚未下载，联网后可再试：${OFFLINE.message}`);
    expect(screen.getByTestId("photo-missing")).toBeTruthy();
    expect(tiles("before")[0].querySelector("img")).toBeNull();
    expect(backend.findingDetail).toHaveBeenCalledTimes(1);

    backend.findingDetail.mockResolvedValue(findingDetail(photos, { [sha("4")]: "full" }));
    await fireEvent.click(screen.getByTestId("photo-download"));
    await waitFor(() => expect(backend.findingDetail).toHaveBeenCalledTimes(2));
    await waitFor(() => expect(screen.queryByTestId("photo-missing")).toBeNull());
    expect(screen.queryByTestId("photo-error")).toBeNull();
    expect(column("before").getByTestId("recheck-thumb").getAttribute("src")).toBe(`photo://localhost/t-${sha("4")}`);
  });

  it("fetches a photo held only as a thumbnail before opening it, keeping the thumbnail when that fails", async () => {
    const backend = mockBackend();
    backend.findingDetail.mockResolvedValue(findingDetail([photoRecord(sha("5"), "after", { device_id: "other" })], { [sha("5")]: "thumb" }));
    backend.fetchPhoto.mockRejectedValueOnce(OFFLINE);
    await openRecheck(backend);
    expect(column("after").getByTestId("photo-thumb-only").textContent).toBe("仅缩略图");
    const thumb = column("after").getByTestId("recheck-thumb");
    expect(thumb.getAttribute("src")).toBe(`photo://localhost/t-${sha("5")}`);

    await fireEvent.click(thumb.closest("button")!);
    expect((await screen.findByTestId("photo-error")).textContent).toBe(`原图尚未下载，联网后可查看：${OFFLINE.message}`);
    expect(screen.queryByTestId("photo-viewer")).toBeNull();
    expect(column("after").getByTestId("recheck-thumb").getAttribute("src")).toBe(`photo://localhost/t-${sha("5")}`);

    let arrive: () => void = () => {};
    backend.fetchPhoto.mockImplementationOnce(() => new Promise<void>((r) => (arrive = r)));
    await fireEvent.click(column("after").getByTestId("recheck-thumb").closest("button")!);
    const button = column("after").getByTestId("recheck-thumb").closest("button")!;
    expect(button.disabled).toBe(true);
    expect(button.getAttribute("aria-busy")).toBe("true");
    expect(column("after").getByText("正在下载…")).toBeTruthy();
    expect(screen.queryByTestId("photo-viewer")).toBeNull();
    arrive();
    expect((await screen.findByTestId("photo-full")).getAttribute("src")).toBe(`photo://localhost/p-${sha("5")}`);
    expect(backend.fetchPhoto).toHaveBeenCalledTimes(2);
    expect(backend.fetchPhoto).toHaveBeenLastCalledWith(sha("5"));
    expect(column("after").queryByTestId("photo-thumb-only")).toBeNull();
    expect(screen.queryByTestId("photo-error")).toBeNull();
  });

  it("lists a marked copy first with its label, the original one tap away", async () => {
    const backend = mockBackend();
    backend.findingDetail.mockResolvedValue(
      findingDetail([
        photoRecord(sha("6"), "before"),
        photoRecord(sha("7"), "after"),
        photoRecord(sha("8"), "after", { marked_from: sha("7") }),
      ]),
    );
    await openRecheck(backend);
    expect(tiles("after").map((t) => t.dataset.sha)).toEqual([sha("8"), sha("7")]);
    const [marked, original] = tiles("after");
    expect(within(marked).getByTestId("photo-marked").textContent).toBe("已标注");
    expect(within(marked).getByTestId("recheck-marked-thumb").getAttribute("src")).toBe(`photo://localhost/t-${sha("8")}`);
    expect(within(original).queryByTestId("photo-marked")).toBeNull();
    expect(column("before").queryByTestId("photo-marked")).toBeNull();

    await fireEvent.click(within(marked).getByTestId("photo-original"));
    expect(screen.getByTestId("photo-full").getAttribute("src")).toBe(`photo://localhost/p-${sha("7")}`);
    expect(screen.getByText("第 2 / 2 张")).toBeTruthy();
  });
});

// jsdom has neither canvas nor pointer events: a recording 2D context stands in for the canvas,
// an 800 × 600 display for the layout, and mouse events carrying a pointerId for the finger.
const JPEG_BYTES = [0xff, 0xd8, 0x01, 0x02, 0xff, 0xd9];

function fakeCanvas(jpeg: Blob = new Blob([new Uint8Array(JPEG_BYTES)], { type: "image/jpeg" })) {
  const ctx = recordingContext();
  vi.spyOn(HTMLCanvasElement.prototype, "getContext").mockReturnValue(ctx as never);
  const toBlob = vi.spyOn(HTMLCanvasElement.prototype, "toBlob").mockImplementation((cb) => cb(jpeg));
  return { ctx, toBlob, jpeg };
}

/** Lets the marker's photo "load" at `width` × `height`, shown 800 × 600 on screen. */
async function loadPhoto(width = 1600, height = 1200): Promise<HTMLCanvasElement> {
  const img = (await screen.findByTestId("marker-source")) as HTMLImageElement;
  Object.defineProperty(img, "naturalWidth", { value: width });
  Object.defineProperty(img, "naturalHeight", { value: height });
  const canvas = screen.getByTestId("marker-canvas") as HTMLCanvasElement;
  vi.spyOn(canvas, "getBoundingClientRect").mockReturnValue({ left: 0, top: 0, width: 800, height: 600 } as DOMRect);
  await fireEvent.load(img);
  return canvas;
}

function pointer(el: Element, type: string, x: number, y: number, pointerId = 1) {
  const e = new MouseEvent(type, { clientX: x, clientY: y, bubbles: true, cancelable: true });
  Object.defineProperty(e, "pointerId", { value: pointerId });
  el.dispatchEvent(e);
}

/** A finger drag across the canvas, in screen pixels. */
async function drag(canvas: Element, from: [number, number], to: [number, number]) {
  pointer(canvas, "pointerdown", ...from);
  pointer(canvas, "pointermove", (from[0] + to[0]) / 2, (from[1] + to[1]) / 2);
  pointer(canvas, "pointermove", ...to);
  pointer(canvas, "pointerup", ...to);
  await tick();
}

/** The drawing calls since the photo was last drawn: what the canvas shows now. */
function lastFrame(ops: ReturnType<typeof recordingContext>["ops"]) {
  const i = ops.map((o) => o.op).lastIndexOf("drawImage");
  expect(i, "the photo was drawn").toBeGreaterThanOrEqual(0);
  return ops.slice(i);
}

const saveButton = () => screen.getByTestId("marker-save") as HTMLButtonElement;
const undoButton = () => screen.getByTestId("marker-undo") as HTMLButtonElement;

describe("photo marking", () => {
  afterEach(() => {
    cleanup();
    vi.restoreAllMocks();
  });

  it("marks the after photo on the re-check screen and stores the copy linked to the original", async () => {
    const backend = mockBackend();
    const detail = findingDetail([photoRecord("c".repeat(64), "before")]);
    backend.findingDetail.mockResolvedValue(detail);
    fakeCanvas();
    render(App, { props: { backend } });
    go({ name: "recheck", findingId: "finding-1" });
    await screen.findByTestId("recheck");
    expect(screen.queryByTestId("recheck-mark")).toBeNull();

    const file = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "after.jpg", { type: "image/jpeg" });
    await fireEvent.change(screen.getByTestId("photo-input-after"), { target: { files: [file] } });
    const original = "a".repeat(64);
    await fireEvent.click(await screen.findByTestId("recheck-mark"));
    expect(screen.getByTestId("photo-marker").getAttribute("aria-label")).toBe("标注照片");
    expect(screen.getByTestId("marker-source").getAttribute("src")).toBe(`photo://localhost/p-${original}`);
    expect(saveButton().disabled).toBe(true);

    const canvas = await loadPhoto();
    await drag(canvas, [100, 100], [300, 250]);
    expect(saveButton().disabled).toBe(false);
    await fireEvent.click(saveButton());

    await waitFor(() => expect(backend.markPhoto).toHaveBeenCalledTimes(1));
    const [sha, bytes] = backend.markPhoto.mock.calls[0];
    expect(sha).toBe(original);
    expect(Array.from(new Uint8Array(bytes))).toEqual(JPEG_BYTES);
    await waitFor(() => expect(screen.queryByTestId("photo-marker")).toBeNull());
    expect(screen.getByTestId("recheck-marked-thumb").getAttribute("src")).toBe(`photo://localhost/t-${"b".repeat(64)}`);
    // The marked copy sits first in the after column, labelled, the photo as taken after it.
    const after = within(screen.getByTestId("recheck-after"));
    expect(after.getAllByTestId("recheck-photo").map((t) => t.dataset.sha)).toEqual(["b".repeat(64), original]);
    expect(after.getByTestId("photo-marked").textContent).toBe("已标注");
    expect(within(screen.getByTestId("recheck-before")).queryByTestId("recheck-marked-thumb")).toBeNull();

    // The photo as taken, not the marked copy, stays the evidence of the verdict.
    await fireEvent.click(screen.getByTestId("recheck-fixed"));
    await waitFor(() => expect(backend.recheck).toHaveBeenCalledWith("finding-1", true, "", original));
  });

  it("ignores a tiny drag, draws an outlined arrow and box, and undoes the newest first", async () => {
    const { ctx } = fakeCanvas();
    render(PhotoMarker, { props: { src: "photo://localhost/p-x", onsave: vi.fn(), oncancel: vi.fn() } });
    const canvas = await loadPhoto(1600, 1200);
    expect(canvas.width).toBe(1600);
    expect(canvas.height).toBe(1200);
    expect(undoButton().disabled).toBe(true);

    // 5 screen pixels: a slip of the finger.
    await drag(canvas, [100, 100], [104, 103]);
    expect(saveButton().disabled).toBe(true);
    expect(undoButton().disabled).toBe(true);

    // The arrow tool is chosen first; screen (100,100) is image (200,200) at this scale.
    expect(screen.getByTestId("marker-tool-arrow").getAttribute("aria-pressed")).toBe("true");
    await drag(canvas, [100, 100], [300, 250]);
    expect(saveButton().disabled).toBe(false);
    await waitFor(() => expect(lastFrame(ctx.ops).some((o) => o.op === "moveTo" && o.args[0] === 200 && o.args[1] === 200)).toBe(true));
    const arrowPaints = paints(lastFrame(ctx.ops)).slice(1);
    expect(arrowPaints[0].strokeStyle).toBe(OUTLINE);
    expect(arrowPaints.at(-1)?.fillStyle).toBe(COLOURS.red);

    await fireEvent.click(screen.getByTestId("marker-tool-rect"));
    await fireEvent.click(screen.getByTestId("marker-colour-yellow"));
    expect(screen.getByTestId("marker-colour-yellow").getAttribute("aria-pressed")).toBe("true");
    await drag(canvas, [300, 250], [100, 100]);
    await waitFor(() => expect(lastFrame(ctx.ops).filter((o) => o.op === "rect").map((o) => o.args)).toEqual([[200, 200, 400, 300], [200, 200, 400, 300]]));
    const rectPaints = paints(lastFrame(ctx.ops)).slice(-2);
    expect(rectPaints.map((o) => o.strokeStyle)).toEqual([OUTLINE, COLOURS.yellow]);

    await fireEvent.click(undoButton());
    await waitFor(() => expect(lastFrame(ctx.ops).some((o) => o.op === "rect")).toBe(false));
    expect(lastFrame(ctx.ops).some((o) => o.op === "moveTo" && o.args[0] === 200)).toBe(true);
    expect(saveButton().disabled).toBe(false);
    await fireEvent.click(undoButton());
    expect(saveButton().disabled).toBe(true);
    expect(undoButton().disabled).toBe(true);
  });

  it("places text where the photo was tapped, at most 20 characters", async () => {
    const { ctx } = fakeCanvas();
    render(PhotoMarker, { props: { src: "photo://localhost/p-x", onsave: vi.fn(), oncancel: vi.fn() } });
    const canvas = await loadPhoto();
    await fireEvent.click(screen.getByTestId("marker-tool-text"));
    expect(screen.getByTestId("marker-hint").textContent).toBe("在照片上点一下要写字的位置");
    expect(screen.queryByTestId("marker-text")).toBeNull();
    pointer(canvas, "pointerdown", 400, 300);
    pointer(canvas, "pointerup", 400, 300);
    const input = (await screen.findByTestId("marker-text")) as HTMLInputElement;
    expect(input.maxLength).toBe(20);
    expect((screen.getByTestId("marker-text-ok") as HTMLButtonElement).disabled).toBe(true);
    expect(saveButton().disabled).toBe(true);
    await fireEvent.input(input, { target: { value: "井盖破损" } });
    // Typed but not yet confirmed: saving would confirm it, so it may save.
    expect(saveButton().disabled).toBe(false);
    await fireEvent.click(screen.getByTestId("marker-text-ok"));
    expect(screen.queryByTestId("marker-text")).toBeNull();
    expect(saveButton().disabled).toBe(false);
    await waitFor(() => {
      const texts = lastFrame(ctx.ops).filter((o) => o.op === "strokeText" || o.op === "fillText");
      expect(texts.map((o) => [o.op, o.args[0], o.args[1], o.args[2]])).toEqual([
        ["strokeText", "井盖破损", 800, 600],
        ["fillText", "井盖破损", 800, 600],
      ]);
    });
  });

  it("says why saving failed and keeps the marks, so saving again works", async () => {
    const { toBlob, jpeg } = fakeCanvas();
    const onsave = vi.fn<(b: Blob) => Promise<void>>().mockRejectedValueOnce({ message: "存储空间不足", field: null });
    render(PhotoMarker, { props: { src: "photo://localhost/p-x", onsave, oncancel: vi.fn() } });
    const canvas = await loadPhoto();
    await drag(canvas, [100, 100], [300, 250]);

    await fireEvent.click(saveButton());
    expect((await screen.findByTestId("marker-error")).textContent).toBe("保存标注失败：存储空间不足。标注仍保留，可再试一次。");
    expect(onsave).toHaveBeenCalledWith(jpeg);
    expect(toBlob.mock.calls[0].slice(1)).toEqual(["image/jpeg", 0.9]);
    expect(saveButton().disabled).toBe(false);
    expect(undoButton().disabled).toBe(false);

    // A canvas the browser will not export (a photo served without CORS) fails the same plain way.
    toBlob.mockImplementationOnce(() => {
      throw new DOMException("Tainted canvases may not be exported.", "SecurityError");
    });
    await fireEvent.click(saveButton());
    await waitFor(() => expect(screen.getByTestId("marker-error").textContent).toContain("Tainted canvases"));
    expect(onsave).toHaveBeenCalledTimes(1);

    onsave.mockResolvedValueOnce(undefined);
    await fireEvent.click(saveButton());
    await waitFor(() => expect(onsave).toHaveBeenCalledTimes(2));
    await waitFor(() => expect(screen.queryByTestId("marker-error")).toBeNull());
  });

  it("cancels without saving, and reports a photo that cannot be opened", async () => {
    fakeCanvas();
    const onsave = vi.fn();
    const oncancel = vi.fn();
    render(PhotoMarker, { props: { src: "photo://localhost/p-x", onsave, oncancel } });
    const img = screen.getByTestId("marker-source");
    expect(img.getAttribute("crossorigin")).toBe("anonymous");
    await fireEvent.error(img);
    // Tried again without CORS before giving up.
    expect(img.getAttribute("crossorigin")).toBeNull();
    expect(screen.queryByTestId("marker-load-error")).toBeNull();
    await fireEvent.error(img);
    expect(screen.getByTestId("marker-load-error").textContent).toBe("照片无法打开，不能标注");
    expect(saveButton().disabled).toBe(true);

    await fireEvent.click(screen.getByTestId("marker-cancel"));
    expect(oncancel).toHaveBeenCalledTimes(1);
    expect(onsave).not.toHaveBeenCalled();
  });
});
