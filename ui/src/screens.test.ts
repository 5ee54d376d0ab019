import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { setLocale } from "./i18n";
import { go, reset } from "./nav";
import { idleSync, inspectionScreen, mockBackend } from "./test/mockBackend";
import type { SyncProgress } from "./types";

beforeEach(() => {
  setLocale("zh-CN");
  reset({ name: "home" });
});
afterEach(() => document.body.replaceChildren());

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
    render(App, { props: { backend } });
    const photo = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "label.jpg", { type: "image/jpeg" });
    await fireEvent.change(await screen.findByTestId("scan-label"), { target: { files: [photo] } });
    await waitFor(() => expect(backend.scanLabel).toHaveBeenCalledTimes(1));
    expect(backend.scanLabel.mock.calls[0][0].byteLength).toBe(4);
    await waitFor(() => expect(backend.sitePage).toHaveBeenCalled());

    backend.scanLabel.mockRejectedValueOnce({ message: "画面中没有找到二维码，请对准点位标签 / No QR code found", field: null });
    go({ name: "home" });
    await fireEvent.change(await screen.findByTestId("scan-label"), { target: { files: [photo] } });
    expect((await screen.findByRole("alert")).textContent).toContain("画面中没有找到二维码");
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
    expect(screen.getByTestId("badge-unsynced").textContent).toBe("未同步 6");
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
  it("names the missing field, then saves and sends queued photos as raw bytes", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    go({ name: "finding", siteId: "site-alley", inspectionId: "insp-1", itemCode: "BA-01" });
    await fireEvent.click(await screen.findByTestId("finding-save"));
    expect(screen.getByTestId("finding-error").textContent).toBe("问题小类：必填，请填写");

    const file = new File([new Uint8Array([0xff, 0xd8, 0xff, 0xd9])], "a.jpg", { type: "image/jpeg" });
    await fireEvent.change(screen.getByTestId("photo-input-before"), { target: { files: [file] } });
    expect((await screen.findByText(/保存后上传/)).textContent).toContain("1");
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
    );
    await waitFor(() => expect(backend.addPhoto).toHaveBeenCalledTimes(1));
    const [bytes, meta] = backend.addPhoto.mock.calls[0];
    expect(new Uint8Array(bytes)).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    expect(meta).toEqual({ kind: "before", finding_id: "finding-1", inspection_id: "insp-1", position: null });
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

  it("switches every label to English", async () => {
    const backend = mockBackend();
    render(App, { props: { backend } });
    reset({ name: "settings" });
    await fireEvent.click(await screen.findByTestId("lang-en"));
    expect(screen.getByTestId("tab-sync").textContent).toBe("Sync");
    expect(screen.getByText("Sign out")).toBeTruthy();
    expect((await screen.findByTestId("settings-storage")).textContent).toContain("2 photos in 3.0 MB");
    await fireEvent.click(screen.getByTestId("lang-zh"));
    expect(screen.getByTestId("tab-sync").textContent).toBe("同步");
  });
});
