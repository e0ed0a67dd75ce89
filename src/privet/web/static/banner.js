/*
 * privet consent banner. One file, no dependencies, no build step.
 *
 * Embed once per page, with defer or async:
 *   <script src="https://PRIVET/banner.js" data-privet="https://PRIVET" data-site="SITEKEY" defer></script>
 *
 * Page API:
 *   privet.consent.get(consentKey) -> boolean
 *   privet.consent.all() -> {consentKey: boolean}
 *   privet.consent.onChange(callback) -> unsubscribe function; callback({choices, gpc})
 *   privet.openSettings()
 *   document event "privet:consent" with detail {choices, gpc}
 * Tags that need consent wait as placeholders until it is given:
 *   <script type="text/plain" data-privet-consent="cookies_analytics" data-src="https://..."></script>
 */
(() => {
  "use strict";
  if (window.privet && window.privet.consent) return; // embedded twice: the first copy wins

  const script = document.currentScript || document.querySelector("script[data-privet]");
  if (!script) return;
  const base = ((script && script.getAttribute("data-privet")) || new URL(script.src).origin).replace(/\/+$/, "");
  const site = script.getAttribute("data-site") || "";
  const signal = navigator.globalPrivacyControl === true;
  const YEAR = 365 * 24 * 3600;
  const PLACEHOLDER = 'script[type="text/plain"][data-privet-consent]';

  const DEFAULT_LABELS = {
    title: "Your privacy choices",
    description:
      "Some cookies keep this site working and are always on. Others help us measure visits or show " +
      "advertising; we only use them if you agree. You can change your mind at any time.",
    notice_link: "Privacy notice",
    accept_all: "Accept all",
    reject_all: "Reject all",
    settings: "Settings",
    settings_title: "Privacy settings",
    save: "Save choices",
    close: "Close",
    always_on: "Always on",
    gpc_notice:
      "Your browser sent a Global Privacy Control signal, so we will not sell or share your data: " +
      "those categories stay off unless you switch them on yourself.",
  };

  let config = null; // the site's configuration, once loaded
  let labels = DEFAULT_LABELS;
  let optional = []; // categories the visitor decides about
  let choices = {}; // consent_key -> boolean, as currently in force
  let previous = null; // choices made for an earlier version, offered again in the settings
  let ui = null;
  let settingsWanted = false;
  const listeners = [];

  // ---- cookies (first-party, on the page's own site) ----

  function readCookie(name) {
    const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    if (!hit) return null;
    try {
      return decodeURIComponent(hit.slice(name.length + 1));
    } catch (e) {
      return null;
    }
  }

  function writeCookie(name, value) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${name}=${encodeURIComponent(value)}; Max-Age=${YEAR}; Path=/; SameSite=Lax${secure}`;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function browserId() {
    let id = readCookie("privet_bid");
    if (!id || !/^[0-9a-f-]{36}$/i.test(id)) id = uuid();
    writeCookie("privet_bid", id);
    return id;
  }

  // The stored choice: {v: config version, c: choices, g: whether GPC was on when it was made}.
  function readStored() {
    try {
      const stored = JSON.parse(readCookie("privet_consent"));
      return stored && typeof stored.c === "object" ? stored : null;
    } catch (e) {
      return null;
    }
  }

  // ---- choices ----

  const gpcApplies = () => signal && config.gpc_honoured !== false;
  const blockedByGpc = (category) => gpcApplies() && category.sale_or_sharing === true;

  // Only the keys the current configuration asks about, and only an explicit true counts.
  function known(raw) {
    const result = {};
    for (const category of optional) result[category.consent_key] = !!raw && raw[category.consent_key] === true;
    return result;
  }

  function everything(value) {
    const result = {};
    for (const category of optional) result[category.consent_key] = value && !blockedByGpc(category);
    return result;
  }

  function decide(next) {
    writeCookie("privet_consent", JSON.stringify({ v: config.version, c: next, g: signal }));
    const body = { site, browser_id: browserId(), choices: next, gpc: signal, source: "cookie_banner" };
    // keepalive lets the request outlive a navigation that follows the click; nobody waits for it.
    fetch(`${base}/api/v1/consent/choices`, {
      method: "POST",
      keepalive: true,
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then((r) => r.ok || console.warn(`privet: choice not recorded (HTTP ${r.status})`))
      .catch(() => console.warn("privet: choice not recorded (network)"));
    if (ui) ui.banner.hidden = true;
    apply(next);
  }

  function apply(next) {
    choices = next;
    activate(document.querySelectorAll(PLACEHOLDER));
    document.dispatchEvent(new CustomEvent("privet:consent", { detail: { choices: { ...choices }, gpc: signal } }));
    for (const callback of listeners.slice()) {
      try {
        callback({ choices: { ...choices }, gpc: signal });
      } catch (e) {
        console.error(e);
      }
    }
  }

  // ---- placeholders: <script type="text/plain" data-privet-consent="key [key...]"> ----

  function activate(placeholders) {
    for (const placeholder of placeholders) {
      const keys = placeholder.getAttribute("data-privet-consent").split(/\s+/).filter(Boolean);
      if (!keys.length || !keys.every((key) => choices[key] === true) || !placeholder.parentNode) continue;
      const tag = document.createElement("script");
      for (const { name, value } of Array.from(placeholder.attributes)) {
        if (!["type", "data-type", "data-src", "data-privet-consent"].includes(name)) tag.setAttribute(name, value);
      }
      if (placeholder.dataset.type) tag.type = placeholder.dataset.type;
      if (placeholder.nonce) tag.nonce = placeholder.nonce; // the attribute reads empty once the browser hides it
      if (placeholder.dataset.src) {
        tag.async = placeholder.hasAttribute("async"); // otherwise keep the page's order between tags
        tag.src = placeholder.dataset.src;
      } else {
        tag.text = placeholder.text;
      }
      placeholder.replaceWith(tag);
    }
  }

  function watchPlaceholders() {
    new MutationObserver((records) => {
      const found = [];
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node.nodeType !== 1) continue;
          if (node.matches(PLACEHOLDER)) found.push(node);
          else found.push(...node.querySelectorAll(PLACEHOLDER));
        }
      }
      if (found.length) activate(found);
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  // ---- interface ----

  const CSS = `
:host { all: initial; }
* { box-sizing: border-box; }
.banner, dialog { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a;
  background: #fff; }
.banner { position: fixed; z-index: 2147483647; left: 0; right: 0; bottom: 0; margin: 0 auto; max-width: 64rem;
  max-height: 85vh; overflow: auto; padding: 1rem 1.25rem; border: 1px solid #767676; border-bottom: 0;
  border-radius: 10px 10px 0 0; box-shadow: 0 -4px 24px rgba(0, 0, 0, .25); }
.banner[hidden] { display: none; }
h2 { margin: 0 0 .5rem; font-size: 1.25rem; line-height: 1.3; }
p { margin: 0 0 .75rem; }
a { color: #1d4ed8; text-decoration: underline; }
.gpc { padding: .5rem .75rem; border-left: 4px solid #1d4ed8; background: #eef2ff; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; }
button { font: inherit; font-weight: 600; min-height: 44px; padding: .5rem 1.25rem; border-radius: 6px;
  border: 2px solid #1d4ed8; background: #1d4ed8; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #1d4ed8; }
button:hover { background: #1e3a8a; border-color: #1e3a8a; color: #fff; }
:focus-visible { outline: 3px solid #111; outline-offset: 2px; }
dialog { width: min(36rem, calc(100vw - 1rem)); max-height: calc(100vh - 1rem); overflow: auto; padding: 1.25rem;
  border: 1px solid #767676; border-radius: 10px; }
dialog::backdrop { background: rgba(0, 0, 0, .55); }
ul { list-style: none; margin: 0 0 1rem; padding: 0; }
li { padding: .75rem 0; border-top: 1px solid #d4d4d4; }
label { display: flex; align-items: center; gap: .75rem; font-weight: 600; cursor: pointer; }
input { width: 1.5rem; height: 1.5rem; margin: 0; flex: none; accent-color: #1d4ed8; }
.always { margin-left: auto; font-weight: 400; font-size: .875rem; color: #404040; }
li p { margin: .25rem 0 0 2.25rem; color: #404040; }
@media (max-width: 480px) { .actions button { flex: 1 1 100%; } .banner { padding: .75rem 1rem; } }
`;

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value == null) continue;
      if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (name === "text") node.textContent = value; // text only: labels come from the network
      else node.setAttribute(name, value === true ? "" : value);
    }
    node.append(...children.filter(Boolean));
    return node;
  }

  function noticeLink() {
    const url = config.notice_url;
    if (!/^https?:\/\//i.test(url || "")) return null; // no javascript: links from a configuration
    return el("a", { href: url, target: "_blank", rel: "noopener", text: labels.notice_link });
  }

  function gpcNotice(id) {
    return gpcApplies() && optional.some((c) => c.sale_or_sharing === true)
      ? el("p", { class: "gpc", id, role: "note", text: labels.gpc_notice })
      : null;
  }

  function build() {
    const host = el("div", { id: "privet-consent", lang: config.lang });
    const root = host.attachShadow({ mode: "open" });
    // A constructed sheet is CSSOM, so a page whose CSP forbids inline styles still shows the banner.
    if (root.adoptedStyleSheets && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(el("style", { text: CSS }));
    }

    const banner = el(
      "section",
      { class: "banner", role: "dialog", "aria-modal": "false", "aria-labelledby": "pv-title",
        "aria-describedby": "pv-text", hidden: true },
      el("h2", { id: "pv-title", text: labels.title }),
      el("p", { id: "pv-text" }, labels.description + " ", noticeLink()),
      gpcNotice("pv-gpc"),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", onclick: () => decide(everything(true)), text: labels.accept_all }),
        el("button", { type: "button", onclick: () => decide(everything(false)), text: labels.reject_all }),
        el("button", { type: "button", class: "secondary", onclick: openSettings, text: labels.settings }),
      ),
    );

    const toggles = {};
    const rows = config.categories.map((category, i) => {
      const locked = category.required || !category.consent_key;
      const input = el("input", { type: "checkbox", role: "switch", "aria-describedby": `pv-d${i}`,
        checked: locked, disabled: locked, onkeydown: enterToggles });
      if (!locked) toggles[category.consent_key] = input;
      return el(
        "li",
        {},
        el("label", {}, input, category.name, locked ? el("span", { class: "always", text: labels.always_on }) : null),
        el("p", { id: `pv-d${i}`, text: category.description || "" }),
      );
    });

    const dialog = el(
      "dialog",
      { "aria-labelledby": "pv-settings-title", onclose: restoreFocus },
      el("h2", { id: "pv-settings-title", text: labels.settings_title }),
      gpcNotice(),
      el("ul", {}, ...rows),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", onclick: save, text: labels.save }),
        el("button", { type: "button", class: "secondary", onclick: () => dialog.close(), text: labels.close }),
      ),
    );

    root.append(banner, dialog);
    // First in the body, so the banner is also first in the keyboard's Tab order.
    document.body.prepend(host);
    return { host, root, banner, dialog, toggles, opener: null };
  }

  // Space toggles a checkbox natively; Enter should too.
  function enterToggles(event) {
    if (event.key === "Enter") {
      event.preventDefault();
      event.target.click();
    }
  }

  function openSettings() {
    if (!config) {
      settingsWanted = true;
      return;
    }
    if (!optional.length) return;
    if (!ui) ui = build();
    if (ui.dialog.open) return;
    let current = choices;
    if (!Object.keys(current).length && previous) {
      // An earlier version's answer, except an opt-in to sale or sharing that GPC now overrides.
      current = known(previous);
      for (const category of optional) if (blockedByGpc(category)) current[category.consent_key] = false;
    }
    for (const category of optional) {
      const key = category.consent_key;
      ui.toggles[key].checked = key in current ? current[key] : false;
    }
    ui.opener = ui.root.activeElement || document.activeElement;
    ui.dialog.showModal();
  }

  function save() {
    const next = {};
    for (const [key, input] of Object.entries(ui.toggles)) next[key] = input.checked;
    ui.dialog.close();
    decide(next);
  }

  function restoreFocus() {
    const opener = ui.opener;
    ui.opener = null;
    if (opener && opener.isConnected && opener.getClientRects().length && opener.focus) opener.focus();
  }

  // ---- start ----

  function start(loaded) {
    config = loaded;
    config.categories = config.categories || [];
    labels = { ...DEFAULT_LABELS, ...(config.labels || {}) };
    optional = config.categories.filter((c) => !c.required && c.consent_key);
    watchPlaceholders();
    if (!optional.length) return apply({}); // nothing to ask about

    const stored = readStored();
    if (stored && stored.v === config.version) {
      const current = known(stored.c);
      // A GPC signal that arrives after an opt-in wins over it; an opt-out needs no confirmation.
      const overridden = !stored.g && optional.some((c) => blockedByGpc(c) && current[c.consent_key]);
      if (overridden) {
        for (const category of optional) if (blockedByGpc(category)) current[category.consent_key] = false;
        decide(current);
      } else {
        apply(current);
      }
    } else {
      // No choice yet, or one made under an earlier version: ask (again); nothing optional runs meanwhile.
      previous = stored && stored.c;
      ui = build();
      ui.banner.hidden = false;
    }
    if (settingsWanted) openSettings();
  }

  window.privet = {
    ...(window.privet || {}),
    consent: {
      get: (key) => choices[key] === true,
      all: () => ({ ...choices }),
      onChange(callback) {
        listeners.push(callback);
        return () => {
          const i = listeners.indexOf(callback);
          if (i >= 0) listeners.splice(i, 1);
        };
      },
    },
    openSettings,
  };

  const configLoaded = fetch(`${base}/api/v1/consent/config?site=${encodeURIComponent(site)}`, {
    credentials: "omit",
  }).then((r) => {
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  });
  const domReady = new Promise((resolve) => {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", resolve, { once: true });
    else resolve();
  });
  // Fail closed: without a configuration nothing optional runs and no banner appears.
  Promise.all([configLoaded, domReady]).then(
    ([loaded]) => start(loaded),
    (error) => console.warn(`privet: consent configuration not loaded (${error.message})`),
  );
})();
