import { mount } from "svelte";
import App from "./App.svelte";
import { tauriBackend } from "./backend";
import { currentLocale } from "./i18n";
import "./styles.css";

document.documentElement.lang = currentLocale();
mount(App, { target: document.getElementById("app")!, props: { backend: tauriBackend() } });
